//! The detection engine over one buffer: keyword automata pick rules and windows, regexes run
//! only there, then entropy, placeholders, structural checks, allowlists and inline
//! `gitleaks:allow` / `vigil:allow` comments decide what is reported, and overlaps are merged.

use crate::entropy::shannon;
use crate::finding::Finding;
use crate::placeholder::is_placeholder;
use crate::rule::Window;
use crate::ruleset::{Candidate, Rule, Ruleset};
use aho_corasick::Input;
use memchr::{memchr, memrchr};
use vigil_core::Secret;

const MULTILINE_SPAN: usize = 64 * 1024;
const PREFIX_SPAN: usize = 1024;
/// Scratch buffers larger than this are freed after use rather than kept per thread.
const KEEP_SCRATCH: usize = 16 << 20;

thread_local! {
    /// Per-thread scratch: the ASCII-lowercased copy of the buffer being scanned.
    static LOWER: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// A finding before line numbers are computed, with byte offsets into the buffer.
struct Raw {
    rule: u32,
    start: usize,
    end: usize,
}

impl Ruleset {
    /// Scans one buffer that came from `path` (and `commit`, for history), appending findings.
    pub fn scan_bytes(
        &self,
        path: &str,
        commit: Option<&str>,
        data: &[u8],
        out: &mut Vec<Finding>,
    ) {
        if self.global.iter().any(|a| a.allows_path(path)) {
            return;
        }
        let mut windows: Vec<(u32, usize, usize)> = Vec::new();
        let mut file_wide = vec![false; 0];
        let mut path_ok: Vec<Option<bool>> = vec![None; self.rules.len()];
        let mut path_allowed = |r: &Rule, i: u32| -> bool {
            *path_ok[i as usize]
                .get_or_insert_with(|| r.path.as_ref().is_none_or(|p| p.is_match(path.as_bytes())))
        };
        for &i in &self.path_only {
            let r = &self.rules[i as usize];
            if path_allowed(r, i) && !r.skip_report {
                out.push(self.finding(r, path, commit, b"").seal());
            }
        }
        if data.is_empty() {
            return;
        }
        let mut on_hit = |rule: u32, s: usize, e: usize, windows: &mut Vec<(u32, usize, usize)>| {
            let r = &self.rules[rule as usize];
            if r.regex.is_none() || !path_allowed(r, rule) {
                return;
            }
            match r.window {
                Window::File => {
                    if file_wide.is_empty() {
                        file_wide = vec![false; self.rules.len()];
                    }
                    if !std::mem::replace(&mut file_wide[rule as usize], true) {
                        windows.push((rule, 0, data.len()));
                    }
                }
                Window::Line => windows.push((rule, line_start(data, s), line_end(data, e))),
                Window::Multiline => {
                    let end = line_end(data, (s + MULTILINE_SPAN).min(data.len()));
                    windows.push((rule, line_start(data, s), end));
                }
                Window::Prefix => {
                    if s > 0 && is_word(data[s - 1]) {
                        return;
                    }
                    let end = (s + PREFIX_SPAN).min(data.len());
                    let end = memchr(b'\n', &data[e.min(end)..end]).map_or(end, |p| e.min(end) + p);
                    windows.push((rule, s, end));
                }
            }
        };
        if let Some(ac) = &self.keywords {
            LOWER.with_borrow_mut(|lower| {
                lower.clear();
                lower.extend(data.iter().map(u8::to_ascii_lowercase));
                let mut at = 0;
                while at < lower.len() {
                    let Some(m) = ac.find(Input::new(&lower[..]).span(at..lower.len())) else {
                        break;
                    };
                    let (pat, ms, me) = (m.pattern().as_usize(), m.start(), m.end());
                    for t in &self.keyword_rules[pat] {
                        let end = match &t.exact {
                            Some(k) if !data[ms..].starts_with(k) => continue,
                            Some(k) => ms + k.len(),
                            None => me,
                        };
                        on_hit(t.rule, ms, end, &mut windows);
                    }
                    at = ms + 1;
                }
                if lower.capacity() > KEEP_SCRATCH {
                    *lower = Vec::new();
                }
            });
        }
        for &r in &self.always {
            if path_allowed(&self.rules[r as usize], r) {
                windows.push((r, 0, data.len()));
            }
        }
        if windows.is_empty() {
            return;
        }
        windows.sort_unstable();
        let mut raws: Vec<Raw> = Vec::new();
        let mut i = 0;
        while i < windows.len() {
            let (rule, s, mut e) = windows[i];
            i += 1;
            while i < windows.len() && windows[i].0 == rule && windows[i].1 <= e {
                e = e.max(windows[i].2);
                i += 1;
            }
            self.run_rule(rule, path, commit, data, s, e, &mut raws);
        }
        if raws.is_empty() {
            return;
        }
        let raws = self.merge(raws);
        let lines = LineIndex::new(data);
        for raw in raws {
            let r = &self.rules[raw.rule as usize];
            let (line, col) = lines.position(raw.start);
            let (end_line, end_col) = lines.position(raw.end);
            let secret = &data[raw.start..raw.end];
            let mut f = self.finding(r, path, commit, secret);
            f.line = line;
            f.column = col;
            f.end_line = end_line;
            f.end_column = end_col;
            out.push(f.seal());
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn run_rule(
        &self,
        idx: u32,
        path: &str,
        commit: Option<&str>,
        data: &[u8],
        s: usize,
        e: usize,
        raws: &mut Vec<Raw>,
    ) {
        let rule = &self.rules[idx as usize];
        let Some(re) = &rule.regex else { return };
        let hay = &data[s..e];
        let mut locs = re.capture_locations();
        let mut at = 0;
        while at <= hay.len() {
            let Some(m) = re.captures_read_at(&mut locs, hay, at) else {
                break;
            };
            at = if m.end() > m.start() {
                m.end()
            } else {
                m.end() + 1
            };
            let Some((gs, ge)) = locs.get(rule.secret_group) else {
                continue;
            };
            let (ms, me) = (s + m.start(), s + m.end());
            let (ss, se) = (s + gs, s + ge);
            if se <= ss {
                continue;
            }
            if self.keep(rule, path, commit, data, (ms, me), (ss, se)) {
                raws.push(Raw {
                    rule: idx,
                    start: ss,
                    end: se,
                });
            }
        }
    }

    fn keep(
        &self,
        rule: &Rule,
        path: &str,
        commit: Option<&str>,
        data: &[u8],
        m: (usize, usize),
        sec: (usize, usize),
    ) -> bool {
        let secret = &data[sec.0..sec.1];
        if let Some(min) = rule.entropy {
            if shannon(secret) < min {
                return false;
            }
        }
        if is_placeholder(secret) || is_ciphertext(data, sec) {
            return false;
        }
        if let Some(v) = rule.validate {
            if !v.check(secret) {
                return false;
            }
        }
        if rule.generic && (!generic_ok(secret) || key_is_file_name(&data[m.0..sec.0])) {
            return false;
        }
        let line = &data[line_start(data, m.0)..line_end(data, m.1)];
        if memchr::memmem::find(line, b"gitleaks:allow").is_some()
            || memchr::memmem::find(line, b"vigil:allow").is_some()
        {
            return false;
        }
        let c = Candidate {
            rule: &rule.id,
            path,
            commit,
            secret,
            matched: &data[m.0..m.1],
            line,
        };
        if rule.allowlists.iter().any(|a| a.allows(&c)) || self.global.iter().any(|a| a.allows(&c))
        {
            return false;
        }
        !rule.skip_report
    }

    /// Report each secret once per location: of overlapping findings keep a specific rule over a
    /// generic one, then the earlier rule.
    fn merge(&self, mut raws: Vec<Raw>) -> Vec<Raw> {
        raws.sort_by_key(|r| (r.start, r.rule));
        let mut out: Vec<Raw> = Vec::with_capacity(raws.len());
        for r in raws {
            if let Some(last) = out.last_mut() {
                if r.start < last.end {
                    let better = |a: &Raw, b: &Raw| {
                        let (ga, gb) = (
                            self.rules[a.rule as usize].generic,
                            self.rules[b.rule as usize].generic,
                        );
                        (ga, a.rule) < (gb, b.rule)
                    };
                    if better(&r, last) {
                        *last = r;
                    }
                    continue;
                }
            }
            out.push(r);
        }
        out
    }

    /// A finding at line 1, column 1; the caller sets the position, then seals it once.
    fn finding(&self, r: &Rule, path: &str, commit: Option<&str>, secret: &[u8]) -> Finding {
        Finding {
            rule: r.id.clone(),
            description: r.description.clone(),
            file: path.to_owned(),
            line: 1,
            column: 1,
            end_line: 1,
            end_column: 1,
            secret: Secret::new(String::from_utf8_lossy(secret).into_owned()),
            entropy: (shannon(secret) * 1000.0).round() / 1000.0,
            tags: r.tags.clone(),
            fingerprint: String::new(),
            hash: String::new(),
            commit: commit.map(str::to_owned),
            author: None,
            email: None,
            date: None,
            message: None,
        }
    }
}

/// Whether the secret is (part of) a value that is already encrypted: a `vseal:` value, a
/// Fernet token, SOPS or dotenvx ciphertext (`vigil_core::ciphertext`). The match is widened to
/// the value token around it (up to quotes, whitespace or other separators), which may start
/// after any `=` before the match (`KEY=vseal:…`, SOPS's `data:…=,iv:…`).
fn is_ciphertext(data: &[u8], sec: (usize, usize)) -> bool {
    let token = |b: u8| b.is_ascii_alphanumeric() || b"+/-_:.,[]=".contains(&b);
    let sealed = |b: &[u8]| {
        let b = b.strip_suffix(b",").unwrap_or(b);
        std::str::from_utf8(b)
            .ok()
            .and_then(vigil_core::ciphertext::sealed)
            .is_some()
    };
    if sealed(&data[sec.0..sec.1]) {
        return true;
    }
    let mut s = sec.0;
    while s > 0 && token(data[s - 1]) {
        s -= 1;
    }
    let mut e = sec.1;
    while e < data.len() && token(data[e]) {
        e += 1;
    }
    std::iter::once(s)
        .chain((s..sec.0).filter(|&i| data[i] == b'=').map(|i| i + 1))
        .any(|start| sealed(&data[start..e]))
}

/// The generic rule's extra bar: letters with digits (or, for 16+ characters, upper and lower
/// case with no word-length run of lower case, as random strings have), and not a dotted
/// identifier path.
fn generic_ok(secret: &[u8]) -> bool {
    let digits = secret.iter().any(u8::is_ascii_digit);
    let letters = secret.iter().any(u8::is_ascii_alphabetic);
    let random_case = secret.len() >= 16
        && secret.iter().any(u8::is_ascii_uppercase)
        && secret.iter().any(u8::is_ascii_lowercase)
        && max_run(secret, u8::is_ascii_lowercase) <= 6;
    if !(letters && (digits || random_case)) {
        return false;
    }
    if is_identifier(secret) {
        return false;
    }
    // `config.auth.secret_key_v2`, `self.token2`: identifiers joined by dots.
    let dotted = secret.contains(&b'.')
        && secret.split(|&b| b == b'.').all(|p| {
            !p.is_empty()
                && p.iter().all(|&b| b == b'_' || b.is_ascii_alphanumeric())
                && !p[0].is_ascii_digit()
        });
    !dotted
}

/// `_S_token_char_class_name`, `BCryptDestroySecretFn`, `MI_UserCredentials_0`: names made of
/// word-like pieces (all lower, all upper, or capitalised; short numbers allowed), split at `_`,
/// at lower-to-upper changes and at the end of an acronym, with at most one single-letter piece.
/// Random strings break into pieces that mix letters and digits, or into many single letters.
fn is_identifier(s: &[u8]) -> bool {
    if !s.iter().all(|&b| b == b'_' || b.is_ascii_alphanumeric()) {
        return false;
    }
    let mut pieces: Vec<&[u8]> = Vec::new();
    for part in s.split(|&b| b == b'_').filter(|p| !p.is_empty()) {
        let mut start = 0;
        for i in 1..part.len() {
            let camel = part[i].is_ascii_uppercase() && part[i - 1].is_ascii_lowercase();
            let acronym_end = part[i].is_ascii_uppercase()
                && part[i - 1].is_ascii_uppercase()
                && part.get(i + 1).is_some_and(u8::is_ascii_lowercase);
            if camel || acronym_end {
                pieces.push(&part[start..i]);
                start = i;
            }
        }
        pieces.push(&part[start..]);
    }
    let word_like = |p: &&[u8]| {
        p.iter().all(u8::is_ascii_lowercase)
            || p.iter().all(u8::is_ascii_uppercase)
            || (p[0].is_ascii_uppercase() && p[1..].iter().all(u8::is_ascii_lowercase))
    };
    let number = |p: &&[u8]| p.len() <= 3 && p.iter().all(u8::is_ascii_digit);
    let words = pieces.iter().filter(|p| word_like(p)).count();
    words >= 2
        && pieces.iter().all(|p| word_like(p) || number(p))
        && pieces
            .iter()
            .filter(|p| p.len() == 1 && p[0].is_ascii_alphabetic())
            .count()
            <= 1
}

/// Extensions that mark a key as a file name (`"src/token.rs": "<digest>"`), not a setting.
const FILE_EXTENSIONS: &[&str] = &[
    "rs", "py", "js", "ts", "tsx", "jsx", "go", "rb", "java", "kt", "c", "h", "cc", "cpp", "hpp",
    "cs", "json", "yaml", "yml", "toml", "md", "txt", "html", "css", "sh", "lock", "xml", "php",
    "swift", "pyi", "mjs", "cjs",
];

/// Whether the generic rule's key (the text before the separator) is a file name.
fn key_is_file_name(name: &[u8]) -> bool {
    let name = String::from_utf8_lossy(name);
    let key = name.trim_end_matches(|c: char| {
        c.is_whitespace() || matches!(c, '=' | ':' | '>' | '|' | '"' | '\'' | '`')
    });
    key.rsplit_once('.')
        .is_some_and(|(_, ext)| FILE_EXTENSIONS.contains(&ext))
}

fn max_run(s: &[u8], class: fn(&u8) -> bool) -> usize {
    let (mut best, mut run) = (0, 0);
    for b in s {
        run = if class(b) { run + 1 } else { 0 };
        best = best.max(run);
    }
    best
}

fn is_word(b: u8) -> bool {
    b == b'_' || b.is_ascii_alphanumeric()
}

fn line_start(data: &[u8], at: usize) -> usize {
    memrchr(b'\n', &data[..at.min(data.len())]).map_or(0, |p| p + 1)
}

fn line_end(data: &[u8], at: usize) -> usize {
    let at = at.min(data.len());
    memchr(b'\n', &data[at..]).map_or(data.len(), |p| at + p)
}

/// Newline offsets, built once per file that has findings.
struct LineIndex(Vec<usize>);

impl LineIndex {
    fn new(data: &[u8]) -> Self {
        LineIndex(memchr::memchr_iter(b'\n', data).collect())
    }

    /// 1-based (line, column) of a byte offset.
    fn position(&self, off: usize) -> (usize, usize) {
        let line = self.0.partition_point(|&nl| nl < off);
        let start = if line == 0 { 0 } else { self.0[line - 1] + 1 };
        (line + 1, off - start + 1)
    }
}
