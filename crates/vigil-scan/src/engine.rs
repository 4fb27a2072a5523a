//! The detection engine over one buffer: keyword automata pick rules and windows, regexes run
//! only there, then the generic rule's code and file-type checks (`generic.rs`), entropy,
//! placeholders, structural checks, allowlists and composite rules (`[[rules.required]]`) decide
//! what is kept, overlaps are merged, and inline markers (`gitleaks:allow`, `vigil:allow`,
//! detect-secrets's `pragma: allowlist [nextline] secret`) drop what their lines allow.

use crate::entropy::shannon;
use crate::finding::Finding;
use crate::generic::{self, FileKind};
use crate::placeholder::is_placeholder;
use crate::rule::Window;
use crate::ruleset::{Candidate, Rule, Ruleset};
use memchr::{memchr, memrchr};
use std::cell::Cell;
use vigil_core::Secret;

const MULTILINE_SPAN: usize = 64 * 1024;
/// How far a secret is widened each way to the encrypted value it may be part of.
const CIPHERTEXT_SPAN: usize = 4096;
/// How many `=` before a secret are tried as the start of an encrypted value (`KEY=vseal:…`).
const CIPHERTEXT_STARTS: usize = 4;
const PREFIX_SPAN: usize = 1024;

#[cfg(test)]
thread_local! {
    /// Bytes the engine's own loops looked at (line bounds, widening, markers), for the tests
    /// that check the work grows linearly with the input.
    pub(crate) static WORK: Cell<u64> = const { Cell::new(0) };
}

/// Counts `n` bytes of work (tests only).
#[inline]
pub(crate) fn charge(n: usize) {
    #[cfg(test)]
    WORK.with(|w| w.set(w.get() + n as u64));
    let _ = n;
}

thread_local! {
    /// Per-thread scratch: the keyword hits of the buffer being searched, before sorting.
    static HITS: std::cell::RefCell<Vec<(usize, u32)>> = const { std::cell::RefCell::new(Vec::new()) };
    /// Per-thread scratch: the lowercased window a rule's case-sensitive twin runs over.
    static LOWERED: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// A lowercased window kept for the next rule up to this size (a larger one is freed).
const LOWERED_KEPT: usize = 1 << 20;

/// The most keywords in one window a rule read from them is run at, anchored, one by one (more
/// and the window is read once, unanchored).
const ANCHORED_RUNS: usize = 16;

/// A match the rules kept, before inline markers and positions: byte offsets into the buffer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Hit {
    /// The rule (index into [`Ruleset::rules`]).
    pub(crate) rule: u32,
    /// The secret.
    pub(crate) start: usize,
    /// End of the secret.
    pub(crate) end: usize,
    /// The whole regex match, whose lines inline markers are looked for on.
    pub(crate) m_start: usize,
    /// End of the whole match.
    pub(crate) m_end: usize,
}

impl Ruleset {
    /// Scans one buffer that came from `path` (and `commit`, for history), appending findings.
    /// Lines marked `gitleaks:allow`, `vigil:allow` or `pragma: allowlist secret` (or after a
    /// line marked `pragma: allowlist nextline secret`) report nothing. Decoding and archives
    /// are the content scanner's (`content.rs`); this reads the bytes as they are.
    pub fn scan_bytes(
        &self,
        path: &str,
        commit: Option<&str>,
        data: &[u8],
        out: &mut Vec<Finding>,
    ) {
        if self.skips_path(path) {
            return;
        }
        self.path_findings(path, commit, out);
        let hits = self.hits(path, commit, data);
        if hits.is_empty() {
            return;
        }
        let lines = LineIndex::new(data);
        let markers = Markers::new(data, &lines);
        for h in hits {
            if !markers.allows(&lines, h.m_start, h.m_end) {
                out.push(self.finding_at(&h, path, commit, data, &lines));
            }
        }
    }

    /// Whether a global allowlist of paths alone drops the whole file.
    pub(crate) fn skips_path(&self, path: &str) -> bool {
        let skip = self.global.iter().any(|a| a.allows_path(path));
        if skip {
            self.allowlisted[1].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        skip
    }

    /// The findings of rules that match by path alone (once per file).
    pub(crate) fn path_findings(&self, path: &str, commit: Option<&str>, out: &mut Vec<Finding>) {
        for &i in &self.path_only {
            let r = &self.rules[i as usize];
            if r.path.as_ref().is_none_or(|p| p.is_match(path.as_bytes())) && !r.skip_report {
                out.push(self.finding(r, path, commit, b"").seal());
            }
        }
    }

    /// What the content rules find in `data`, one hit per location (overlaps merged), in order.
    /// Inline markers are not applied (see [`Markers`]).
    pub(crate) fn hits(&self, path: &str, commit: Option<&str>, data: &[u8]) -> Vec<Hit> {
        self.hits_in(path, commit, data, false).0
    }

    /// The hits in `data` as written and those only its escape view has (a view's hit where one
    /// as written is is the same secret there), in order: what `\nghp_…` or
    /// `{\"password\":\"…\"}` holds.
    pub(crate) fn hits_with_view(&self, path: &str, commit: Option<&str>, data: &[u8]) -> Vec<Hit> {
        let (mut plain, viewed) = self.hits_in(path, commit, data, true);
        if !viewed.is_empty() {
            let overlaps = |a: &Hit, b: &Hit| a.start < b.end && b.start < a.end;
            let more: Vec<Hit> = viewed
                .into_iter()
                .filter(|v| !plain.iter().any(|p| overlaps(p, v)))
                .collect();
            plain.extend(more);
            plain.sort_by_key(|h| (h.start, h.rule));
        }
        plain
    }

    /// The hits in `data` (see [`Ruleset::hits`]) and, with `escapes`, the hits in its escape
    /// view too ([`crate::redact::escape_view_within`]: the same length and line breaks, escapes
    /// blanked), at the same offsets. The keywords are found once, in `data` (blanking makes
    /// no keyword: a blank run is never one space between letters); the view is made only
    /// when some rule has a window, blanked only on the lines the windows reach, and a window
    /// it leaves as it is (with the byte before) is not run again: the rule sees the same
    /// bytes there.
    pub(crate) fn hits_in(
        &self,
        path: &str,
        commit: Option<&str>,
        data: &[u8],
        escapes: bool,
    ) -> (Vec<Hit>, Vec<Hit>) {
        if data.is_empty() {
            return (Vec::new(), Vec::new());
        }
        let mut windows: Vec<(u32, usize, usize)> = Vec::new();
        // `prefix` windows passed over in `data` for the word character before them, which a
        // blanked escape may be (`\nghp_…`).
        let mut glued: Vec<(u32, usize, usize)> = Vec::new();
        let mut file_wide = vec![false; 0];
        // Where a `line` rule read from its keywords may begin a match ([`Rule::anchored`]):
        // each of its keywords and anchors on a line it reads.
        let mut starts: Vec<(u32, usize)> = Vec::new();
        // Whether each rule with a path pattern takes this path (most rules have none).
        let mut path_ok: Vec<Option<bool>> = Vec::new();
        // Keyword hits come in order, many on one line of a long line: the line's bounds are
        // looked up once per line, not once per hit (which made long lines quadratic). The
        // view has the same line breaks, so the same bounds.
        let cache = LineCache::default();
        let mut on_hit = |rule: u32,
                          s: usize,
                          e: usize,
                          windows: &mut Vec<(u32, usize, usize)>,
                          glued: &mut Vec<(u32, usize, usize)>| {
            let r = &self.rules[rule as usize];
            if r.regex.is_none() {
                return;
            }
            if let Some(p) = &r.path {
                if path_ok.is_empty() {
                    path_ok = vec![None; self.rules.len()];
                }
                if !*path_ok[rule as usize].get_or_insert_with(|| p.is_match(path.as_bytes())) {
                    return;
                }
            }
            let push = |windows: &mut Vec<(u32, usize, usize)>, w: (u32, usize, usize)| {
                if windows.last() != Some(&w) {
                    windows.push(w);
                }
            };
            match r.window {
                Window::File => {
                    if file_wide.is_empty() {
                        file_wide = vec![false; self.rules.len()];
                    }
                    if !std::mem::replace(&mut file_wide[rule as usize], true) {
                        windows.push((rule, 0, data.len()));
                    }
                }
                // A rule whose matches all begin at its keywords reads its line from the first
                // of them: a whole-line run finds no match before it.
                Window::Line if r.from_keyword => {
                    if r.anchored.is_some() {
                        starts.push((rule, s));
                    }
                    push(windows, (rule, s, cache.end(data, e)))
                }
                Window::Line => push(windows, (rule, cache.start(data, s), cache.end(data, e))),
                Window::Multiline => {
                    let end = cache.end(data, (s + MULTILINE_SPAN).min(data.len()));
                    push(windows, (rule, cache.start(data, s), end));
                }
                Window::Prefix => {
                    let end = (s + PREFIX_SPAN).min(data.len());
                    let end = memchr(b'\n', &data[e.min(end)..end]).map_or(end, |p| e.min(end) + p);
                    if r.word_before && s > 0 && is_word(data[s - 1]) {
                        push(glued, (rule, s, end));
                    } else {
                        push(windows, (rule, s, end));
                    }
                }
            }
        };
        // Places a rule read from its keyword may begin a match at without a keyword of its
        // own (`Trigger::anchor`), in order: they move the start of a window its keywords open
        // on the same line, and open none.
        let mut anchored: Vec<(u32, usize)> = Vec::new();
        if let Some(kw) = &self.keywords {
            HITS.with_borrow_mut(|scratch| {
                kw.each(data, scratch, |ms, me, pat| {
                    for t in &self.keyword_rules[pat] {
                        if t.anchor {
                            anchored.push((t.rule, ms));
                            continue;
                        }
                        let end = match &t.exact {
                            Some(k) if !data[ms..].starts_with(k) => continue,
                            Some(k) => ms + k.len(),
                            None => me,
                        };
                        on_hit(t.rule, ms, end, &mut windows, &mut glued);
                    }
                });
            });
        }
        if !anchored.is_empty() {
            let opened: std::collections::HashSet<(u32, usize)> = windows
                .iter()
                .filter(|&&(r, _, _)| self.rules[r as usize].from_keyword)
                .map(|&(r, _, e)| (r, e))
                .collect();
            for (rule, a) in anchored {
                let e = cache.end(data, a);
                if opened.contains(&(rule, e)) {
                    windows.push((rule, a, e));
                    starts.push((rule, a));
                }
            }
        }
        for &r in &self.always {
            let rule = &self.rules[r as usize];
            if !rule
                .path
                .as_ref()
                .is_none_or(|p| p.is_match(path.as_bytes()))
            {
                continue;
            }
            if rule.shaped {
                // Only around the places its token's shape can be (blanking makes none).
                crate::validate::discord_windows(data, |s, e| windows.push((r, s, e)));
                continue;
            }
            windows.push((r, 0, data.len()));
        }
        // Each rule's windows merged where they touch (as `run_windows` runs them: one line of
        // many keywords is one window, looked at once, not once per keyword), then a `line` or
        // `multiline` window without any literal its rule's matches begin with is dropped
        // before the view is made: it holds no match, as written or in the escape view
        // (blanking makes spaces, and no such literal holds one).
        merge_windows(&mut windows);
        windows.retain(|&(r, s, e)| {
            let rule = &self.rules[r as usize];
            rule.from_keyword
                || !matches!(rule.window, Window::Line | Window::Multiline)
                || rule.starts.as_ref().is_none_or(|g| {
                    charge(e - s);
                    g.find(&data[s..e]).is_some()
                })
        });
        if windows.is_empty() && glued.is_empty() {
            return (Vec::new(), Vec::new());
        }
        // The escape view, blanked only on the lines the windows reach: the same windows in
        // it, and a `prefix` window passed over in `data` where the byte before it is blanked.
        let view = if escapes {
            let mut reach: Vec<(usize, usize)> = windows
                .iter()
                .chain(&glued)
                .map(|&(_, s, e)| (s.saturating_sub(1), e))
                .collect();
            reach.sort_unstable();
            crate::redact::escape_view_within(data, &reach)
        } else {
            None
        };
        let seen = match &view {
            Some(v) => {
                let mut seen = windows.clone();
                seen.extend(glued.into_iter().filter(|&(_, s, _)| !is_word(v[s - 1])));
                seen
            }
            None => Vec::new(),
        };
        // Only a buffer some rule runs on needs its kind (most need none).
        let kind = FileKind::of(path);
        starts.sort_unstable();
        starts.dedup();
        let plain = self.run_windows(path, commit, kind, data, windows, &starts, None, &cache);
        let viewed = match &view {
            Some(v) => self.run_windows(path, commit, kind, v, seen, &starts, Some(data), &cache),
            None => Vec::new(),
        };
        (plain, viewed)
    }

    /// Runs each rule over its windows in `data` (merged where they touch): the hits, with
    /// composite rules applied and overlaps merged. With `same` (the buffer `data` is a view
    /// of), a window whose bytes, and the byte before it, are those of `same` is passed over.
    #[allow(clippy::too_many_arguments)] // run_rule's inputs, and the view's twin buffer.
    fn run_windows(
        &self,
        path: &str,
        commit: Option<&str>,
        kind: FileKind,
        data: &[u8],
        mut windows: Vec<(u32, usize, usize)>,
        starts: &[(u32, usize)],
        same: Option<&[u8]>,
        cache: &LineCache,
    ) -> Vec<Hit> {
        if windows.is_empty() {
            return Vec::new();
        }
        merge_windows(&mut windows);
        let mut raws: Vec<Hit> = Vec::new();
        for (rule, s, e) in windows {
            if let Some(same) = same {
                let from = s.saturating_sub(1);
                if data[from..e] == same[from..e] {
                    continue;
                }
            }
            // The places in this window where the rule may begin a match, when it reads from
            // them and they are few (each anchored run may read to the window's end: a line of
            // many keywords is read once, unanchored, so the work stays linear).
            let from = starts.partition_point(|&(r, p)| (r, p) < (rule, s));
            let to = starts.partition_point(|&(r, p)| (r, p) < (rule, e));
            let at = (from < to && to - from <= ANCHORED_RUNS).then(|| &starts[from..to]);
            self.run_rule(
                rule, path, commit, kind, data, s, e, at, false, cache, &mut raws,
            );
        }
        if let Some(same) = same {
            // In a view, a blanked `\n` is a line break of the text as written: a generic
            // match whose key and value it separates (`"AUTH_TOKEN=\nSERVICE=svc"`) assigns
            // nothing. A rule read over lines (a Kubernetes name/value pair kept in a JSON
            // string) expects that break.
            raws.retain(|h| {
                let rule = &self.rules[h.rule as usize];
                !(rule.generic
                    && rule.window != Window::Multiline
                    && same[h.m_start..h.start]
                        .windows(2)
                        .any(|w| w == b"\\n" || w == b"\\r"))
            });
        }
        if raws.is_empty() {
            return raws;
        }
        if self.has_required {
            raws = self.composite(raws, path, commit, kind, data);
        }
        self.merge(raws)
    }

    /// A hit as a finding, with its lines and columns (`lines` indexes `data`).
    pub(crate) fn finding_at(
        &self,
        h: &Hit,
        path: &str,
        commit: Option<&str>,
        data: &[u8],
        lines: &LineIndex,
    ) -> Finding {
        let r = &self.rules[h.rule as usize];
        let (line, col) = lines.position(h.start);
        let (end_line, end_col) = lines.position(h.end);
        let mut f = self.finding(r, path, commit, &data[h.start..h.end]);
        f.line = line;
        f.column = col;
        f.end_line = end_line;
        f.end_column = end_col;
        f.columns_utf16 = lines.utf16_columns(data, h.start, h.end);
        f.seal()
    }

    /// gitleaks's composite rules (`[[rules.required]]`): a hit of a rule that requires others
    /// stays only if every required rule matches in the same buffer, within `withinLines` lines
    /// and `withinColumns` columns of it when those are set (measured between match starts).
    /// Required rules run over the whole buffer, without keywords, and count even when they
    /// are `skipReport`, as in gitleaks.
    fn composite(
        &self,
        raws: Vec<Hit>,
        path: &str,
        commit: Option<&str>,
        kind: FileKind,
        data: &[u8],
    ) -> Vec<Hit> {
        let lines = LineIndex::new(data);
        let markers = Markers::new(data, &lines);
        let cache = LineCache::default();
        let mut required: std::collections::HashMap<u32, Vec<(usize, usize)>> =
            std::collections::HashMap::new();
        let mut out = Vec::with_capacity(raws.len());
        for h in raws {
            let rule = &self.rules[h.rule as usize];
            if rule.required.is_empty() {
                out.push(h);
                continue;
            }
            let (pl, pc) = lines.position(h.m_start);
            let ok = rule.required.iter().all(|req| {
                let found = required.entry(req.rule).or_insert_with(|| {
                    let r = &self.rules[req.rule as usize];
                    let mut hits = Vec::new();
                    if r.path.as_ref().is_none_or(|p| p.is_match(path.as_bytes())) {
                        self.run_rule(
                            req.rule,
                            path,
                            commit,
                            kind,
                            data,
                            0,
                            data.len(),
                            None,
                            true,
                            &cache,
                            &mut hits,
                        );
                    }
                    hits.iter()
                        .filter(|x| !markers.allows(&lines, x.m_start, x.m_end))
                        .map(|x| lines.position(x.m_start))
                        .collect()
                });
                found.iter().any(|&(l, c)| {
                    req.within_lines
                        .is_none_or(|w| l.abs_diff(pl) <= w as usize)
                        && req
                            .within_columns
                            .is_none_or(|w| c.abs_diff(pc) <= w as usize)
                })
            });
            if ok {
                out.push(h);
            }
        }
        out
    }

    #[allow(clippy::too_many_arguments)]
    fn run_rule(
        &self,
        idx: u32,
        path: &str,
        commit: Option<&str>,
        kind: FileKind,
        data: &[u8],
        s: usize,
        e: usize,
        starts: Option<&[(u32, usize)]>,
        as_required: bool,
        cache: &LineCache,
        raws: &mut Vec<Hit>,
    ) {
        let rule = &self.rules[idx as usize];
        let Some(re) = &rule.regex else { return };
        let orig = &data[s..e];
        // A case-insensitive rule with an exact case-sensitive twin runs that over the window
        // lowercased: same matches, same offsets, the literal prefilter kept (crate::fold).
        let mut lowered = Vec::new();
        let (re, hay) = match &rule.twin {
            Some(t) => {
                LOWERED.with_borrow_mut(|l| std::mem::swap(l, &mut lowered));
                crate::fold::lower_into(orig, &mut lowered);
                (t, &lowered[..])
            }
            None => (re, orig),
        };
        // Most windows hold no match: the capture slots are made for the first one found, and
        // each capture search starts where the plain search found its match (the same leftmost
        // match: the `_at` searches read the context before `at`).
        let mut slots = None;
        let mut at = 0;
        // A rule read from its keywords, with few of them here: an anchored run at each (in
        // order, from where the last match ended) finds the matches the unanchored search finds
        // (every match begins at one of them), without reading the rest of the line for each.
        let mut places = starts
            .zip(rule.anchored.as_ref())
            .filter(|_| rule.from_keyword)
            .map(|(st, are)| (st.iter().map(move |&(_, p)| p - s), are));
        while at <= hay.len() {
            let (m, off, locs) = match &mut places {
                Some((ps, are)) => {
                    let locs = slots.get_or_insert_with(|| are.capture_locations());
                    let Some((m, p)) = ps
                        .by_ref()
                        .filter(|&p| p >= at)
                        .find_map(|p| are.captures_read(locs, &hay[p..]).map(|m| (m, p)))
                    else {
                        break;
                    };
                    (m.start() + p..m.end() + p, p, &*locs)
                }
                None => {
                    let Some(found) = re.find_at(hay, at) else {
                        break;
                    };
                    let locs = slots.get_or_insert_with(|| re.capture_locations());
                    let Some(m) = re.captures_read_at(locs, hay, found.start()) else {
                        break;
                    };
                    (m.range(), 0, &*locs)
                }
            };
            at = if m.end > m.start { m.end } else { m.end + 1 };
            // No `secretGroup` given: the first group that matched something (gitleaks), else
            // the whole match.
            let group = if rule.spec.secret_group.is_none() && rule.secret_group > 0 {
                (1..locs.len())
                    .find(|&g| locs.get(g).is_some_and(|(a, b)| b > a))
                    .unwrap_or(0)
            } else {
                rule.secret_group
            };
            let Some((gs, ge)) = locs.get(group).map(|(a, b)| (a + off, b + off)) else {
                continue;
            };
            if rule.validate == Some(crate::validate::Validator::PemBody) {
                // A header quoted in code far above a key (`"-----BEGIN RSA PRIVATE KEY-----"`
                // in a test table) starts the match and ends it inside the key's own header:
                // look again from the last header inside it. Each look starts further on.
                if let Some(p) = memchr::memmem::rfind(&orig[m.start + 1..m.end], b"-----BEGIN") {
                    at = m.start + 1 + p;
                    continue;
                }
            }
            let (ms, me) = (s + m.start, s + m.end);
            let (ss, se) = (s + gs, s + ge);
            if se <= ss {
                continue;
            }
            let c = Check {
                rule,
                path,
                commit,
                kind,
                data,
                m: (ms, me),
                lines: cache,
            };
            if let Some((ss, se)) = self.keep(&c, (ss, se), as_required) {
                // A bounded rule looks again from its shortest match's end: a token glued to
                // this one starts there at the earliest (`merge` then ends this one there).
                if rule.min_len > 0 && m.start + rule.min_len < m.end {
                    at = m.start + rule.min_len;
                }
                raws.push(Hit {
                    rule: idx,
                    start: ss,
                    end: se,
                    m_start: ms,
                    m_end: me,
                });
            } else if rule
                .validate
                .is_some_and(|v| v.bounded() && !v.check(&data[ss..se]))
            {
                // A token glued to characters its alphabet allows (`N` before a Discord token)
                // can make the leftmost match start too early and fail its check: look again
                // one byte on. The match is of bounded length, so this stays linear.
                at = m.start + 1;
            }
        }
        if rule.twin.is_some() && lowered.capacity() <= LOWERED_KEPT {
            LOWERED.with_borrow_mut(|l| *l = lowered);
        }
    }

    /// Whether a match is reported, and its secret (the generic rule may narrow it, to a URL
    /// query value).
    fn keep(
        &self,
        c: &Check<'_>,
        sec: (usize, usize),
        as_required: bool,
    ) -> Option<(usize, usize)> {
        let (rule, data, m) = (c.rule, c.data, c.m);
        let mut sec = sec;
        if rule.generic {
            sec = generic::keep(data, m, sec, c.kind, c.path, c.lines)?;
        }
        let secret = &data[sec.0..sec.1];
        // Structural checks first: they are cheap and drop most shapes that cannot be real.
        if let Some(v) = rule.validate {
            if !v.check(secret) {
                return None;
            }
        }
        if let Some(min) = rule.entropy {
            // gitleaks drops a secret whose entropy is at most the rule's; the built-in rules'
            // thresholds are minimums.
            let e = shannon(secret);
            if e < entropy_floor(rule, min, secret.len()) || (!rule.builtin && e <= min) {
                return None;
            }
        }
        // A key's body is random base64: the short placeholder words (`fake`, `xxxx`) turn up
        // in it by chance, and the `>` of a quote around it is no template's mark.
        let placeholder = if rule.validate == Some(crate::validate::Validator::PemBody) {
            crate::validate::pem_placeholder(secret)
        } else if rule.generic {
            is_placeholder(secret)
        } else {
            // A provider's shape: a marker word inside its random part is chance (F4).
            crate::placeholder::is_placeholder_token(secret)
        };
        if rule.builtin && (placeholder || is_ciphertext(data, sec)) {
            return None;
        }
        let line = &data[c.lines.start(data, m.0)..c.lines.end(data, m.1)];
        let cand = Candidate {
            rule: &rule.id,
            path: c.path,
            commit: c.commit,
            secret,
            matched: &data[m.0..m.1],
            line,
        };
        // A found configuration's patterns never drop a built-in provider shape (F8).
        let protected = self.found && rule.builtin && !rule.generic;
        let allowed =
            |a: &crate::ruleset::Allowlist| (!protected || a.by_path_only()) && a.allows(&cand);
        if rule.allowlists.iter().any(allowed) || self.global.iter().any(allowed) {
            self.allowlisted[0].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            return None;
        }
        (as_required || !rule.skip_report).then_some(sec)
    }

    /// Report each secret once per location: of overlapping findings keep a specific rule over a
    /// generic one, then the earlier rule.
    fn merge(&self, mut raws: Vec<Hit>) -> Vec<Hit> {
        raws.sort_by_key(|r| (r.start, r.rule));
        let mut out: Vec<Hit> = Vec::with_capacity(raws.len());
        for r in raws {
            if let Some(last) = out.last_mut() {
                if r.start < last.end {
                    // Two tokens glued together (two Discord tokens, a Discord token before a
                    // GitHub one): the first match ran into the second, and each reaches past
                    // the other. Both are kept; the first ends where the second starts when it
                    // still holds its rule's shortest match there.
                    if r.start > last.start && r.end > last.end {
                        let min = self.rules[last.rule as usize].min_len;
                        if min > 0 && r.start - last.m_start.min(last.start) >= min {
                            last.end = r.start;
                            last.m_end = last.m_end.min(r.m_start.min(r.start));
                        }
                        out.push(r);
                        continue;
                    }
                    if self.better(&r, last) {
                        *last = r;
                    }
                    continue;
                }
            }
            out.push(r);
        }
        out
    }

    /// Of two hits at one place, whether `a` is the one to report: a specific rule over a
    /// generic one, then the earlier rule.
    pub(crate) fn better(&self, a: &Hit, b: &Hit) -> bool {
        let (ga, gb) = (
            self.rules[a.rule as usize].generic,
            self.rules[b.rule as usize].generic,
        );
        (ga, a.rule) < (gb, b.rule)
    }

    /// A finding at line 1, column 1; the caller sets the position, then seals it once.
    pub(crate) fn finding(
        &self,
        r: &Rule,
        path: &str,
        commit: Option<&str>,
        secret: &[u8],
    ) -> Finding {
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
            decoded: Vec::new(),
            archive: Vec::new(),
            unreachable: false,
            columns_utf16: None,
            place: None,
        }
    }
}

/// One match under test, with what the checks need to know about it.
struct Check<'a> {
    rule: &'a Rule,
    path: &'a str,
    commit: Option<&'a str>,
    kind: FileKind,
    data: &'a [u8],
    /// The whole match.
    m: (usize, usize),
    /// The line bounds last looked up in `data`.
    lines: &'a LineCache,
}

/// The inline allow markers Vigil honours on the line(s) of a match: its own, gitleaks's and
/// detect-secrets's, so a team coming from either keeps its annotations.
const SAME_LINE_MARKERS: &[&[u8]] = &[
    b"gitleaks:allow",
    b"vigil:allow",
    b"pragma: allowlist secret",
];

/// detect-secrets's marker for the line after it.
const NEXT_LINE_MARKER: &[u8] = b"pragma: allowlist nextline secret";

/// Where inline markers are in one buffer, found in one pass, so that asking about each of many
/// hits costs a binary search rather than a read of its whole line.
pub(crate) struct Markers {
    /// 1-based lines holding a same-line marker, with where its `allow` is, ascending.
    same: Vec<(usize, usize)>,
    /// 1-based lines holding detect-secrets's next-line marker, with where its `allow` is,
    /// ascending.
    next: Vec<(usize, usize)>,
    /// Where the text breaks a line for the eye but not for `\n` counting (a lone `\r`, a form
    /// feed, a vertical tab, NEL, U+2028, U+2029), ascending: a marker never reaches across one
    /// (an editor shows `secret\r# gitleaks:allow` as two lines).
    breaks: Vec<usize>,
}

impl Markers {
    /// The markers of `data` (`lines` indexes it).
    pub(crate) fn new(data: &[u8], lines: &LineIndex) -> Self {
        charge(data.len());
        let (mut same, mut next) = (Vec::new(), Vec::new());
        // Every marker holds `allow`: one pass for it, then a look around each occurrence.
        for p in memchr::memmem::find_iter(data, b"allow") {
            let has = |m: &[u8]| {
                let o = memchr::memmem::find(m, b"allow").unwrap_or(0);
                p >= o && data[p - o..].starts_with(m)
            };
            let line = lines.position(p).0;
            if has(NEXT_LINE_MARKER) {
                next.push((line, p));
            } else if SAME_LINE_MARKERS.iter().any(|m| has(m)) {
                same.push((line, p));
            }
        }
        let breaks = if same.is_empty() && next.is_empty() {
            Vec::new()
        } else {
            visual_breaks(data)
        };
        Markers { same, next, breaks }
    }

    /// Whether an inline marker allows the match at `start..end`: on one of its lines, or
    /// (`pragma: allowlist nextline secret`) on the line before, with no break for the eye
    /// between the marker and the match.
    pub(crate) fn allows(&self, lines: &LineIndex, start: usize, end: usize) -> bool {
        if self.same.is_empty() && self.next.is_empty() {
            return false;
        }
        let apart = |a: usize, b: usize| {
            let k = self.breaks.partition_point(|&x| x < a);
            self.breaks.get(k).is_some_and(|&x| x < b)
        };
        let (first, last) = (lines.position(start).0, lines.position(end).0);
        let i = self.same.partition_point(|&(l, _)| l < first);
        if self.same[i..]
            .iter()
            .take_while(|&&(l, _)| l <= last)
            .any(|&(_, p)| !apart(p.min(start), p.max(end)))
        {
            return true;
        }
        first > 1
            && self
                .next
                .iter()
                .any(|&(l, p)| l == first - 1 && !apart(p, start))
    }
}

/// The offsets in `data` where a line breaks for the eye but not for `\n` counting: a `\r`
/// not followed by `\n`, a form feed, a vertical tab, and NEL, U+2028 and U+2029 in UTF-8.
fn visual_breaks(data: &[u8]) -> Vec<usize> {
    let mut out: Vec<usize> = memchr::memchr3_iter(b'\r', 0x0b, 0x0c, data)
        .filter(|&i| !(data[i] == b'\r' && data.get(i + 1) == Some(&b'\n')))
        .collect();
    for seq in [&b"\xc2\x85"[..], b"\xe2\x80\xa8", b"\xe2\x80\xa9"] {
        out.extend(memchr::memmem::find_iter(data, seq));
    }
    out.sort_unstable();
    out
}

/// Whether the secret is (part of) a value that is already encrypted: a `vseal:` value, a
/// Fernet token, SOPS or dotenvx ciphertext (`vigil_core::ciphertext`). The match is widened to
/// the value token around it (up to quotes, whitespace or other separators), which may start
/// after any `=` before the match (`KEY=vseal:…`, SOPS's `data:…=,iv:…`).
fn is_ciphertext(data: &[u8], sec: (usize, usize)) -> bool {
    let token = |b: u8| b.is_ascii_alphanumeric() || b"+/-_:.,[]=".contains(&b);
    let sealed = |b: &[u8]| {
        charge(b.len());
        let b = b.strip_suffix(b",").unwrap_or(b);
        std::str::from_utf8(b)
            .ok()
            .and_then(vigil_core::ciphertext::sealed)
            .is_some()
    };
    if sealed(&data[sec.0..sec.1]) {
        return true;
    }
    // Widened at most `CIPHERTEXT_SPAN` each way, trying the few `=` nearest the match: a line
    // of `k=k=k=…` must not make each of its matches read the whole line.
    let mut s = sec.0;
    let floor = sec.0.saturating_sub(CIPHERTEXT_SPAN);
    while s > floor && token(data[s - 1]) {
        s -= 1;
    }
    let mut e = sec.1;
    let ceil = (sec.1 + CIPHERTEXT_SPAN).min(data.len());
    while e < ceil && token(data[e]) {
        e += 1;
    }
    charge(e - s);
    std::iter::once(s)
        .chain(
            (s..sec.0)
                .rev()
                .filter(|&i| data[i] == b'=')
                .take(CIPHERTEXT_STARTS)
                .map(|i| i + 1),
        )
        .any(|start| sealed(&data[start..e]))
}

fn is_word(b: u8) -> bool {
    b == b'_' || b.is_ascii_alphanumeric()
}

pub(crate) fn line_start(data: &[u8], at: usize) -> usize {
    let at = at.min(data.len());
    let s = memrchr(b'\n', &data[..at]).map_or(0, |p| p + 1);
    charge(at - s);
    s
}

/// [`line_start`], looking back at most `span` bytes: `line_start(..).max(at - span)`.
pub(crate) fn line_start_near(data: &[u8], at: usize, span: usize) -> usize {
    let at = at.min(data.len());
    let floor = at.saturating_sub(span);
    charge(at - floor);
    memrchr(b'\n', &data[floor..at]).map_or(floor, |p| floor + p + 1)
}

/// [`line_end`], looking ahead at most `span` bytes: `line_end(..).min(at + span)`.
pub(crate) fn line_end_near(data: &[u8], at: usize, span: usize) -> usize {
    let at = at.min(data.len());
    let ceil = (at + span).min(data.len());
    charge(ceil - at);
    memchr(b'\n', &data[at..ceil]).map_or(ceil, |p| at + p)
}

pub(crate) fn line_end(data: &[u8], at: usize) -> usize {
    let at = at.min(data.len());
    let e = memchr(b'\n', &data[at..]).map_or(data.len(), |p| at + p);
    charge(e - at);
    e
}

/// The bounds of the line last asked about in one buffer: a run of questions about one (long)
/// line reads it once. Lines are `start..end`, `end` at the newline or the buffer's end.
#[derive(Default)]
pub(crate) struct LineCache {
    line: Cell<Option<(usize, usize)>>,
}

impl LineCache {
    fn bounds(&self, data: &[u8], at: usize) -> (usize, usize) {
        let at = at.min(data.len());
        if let Some((s, e)) = self.line.get() {
            if s <= at && at <= e {
                return (s, e);
            }
        }
        let b = (line_start(data, at), line_end(data, at));
        self.line.set(Some(b));
        b
    }

    /// [`line_start`], remembered.
    pub(crate) fn start(&self, data: &[u8], at: usize) -> usize {
        self.bounds(data, at).0
    }

    /// [`line_end`], remembered.
    pub(crate) fn end(&self, data: &[u8], at: usize) -> usize {
        self.bounds(data, at).1
    }
}

/// Sorts `(rule, start, end)` windows and merges each rule's windows that touch or overlap.
fn merge_windows(windows: &mut Vec<(u32, usize, usize)>) {
    windows.sort_unstable();
    windows.dedup_by(|next, kept| {
        let touch = next.0 == kept.0 && next.1 <= kept.2;
        if touch {
            kept.2 = kept.2.max(next.2);
        }
        touch
    });
}

/// Newline offsets, built once per file that has findings.
pub(crate) struct LineIndex(Vec<usize>);

impl LineIndex {
    /// The newlines of `data`.
    pub(crate) fn new(data: &[u8]) -> Self {
        LineIndex(memchr::memchr_iter(b'\n', data).collect())
    }

    /// 1-based (line, column) of a byte offset.
    pub(crate) fn position(&self, off: usize) -> (usize, usize) {
        let line = self.0.partition_point(|&nl| nl < off);
        let start = if line == 0 { 0 } else { self.0[line - 1] + 1 };
        (line + 1, off - start + 1)
    }

    /// The 1-based columns of `start` and `end` counted in UTF-16 code units, when the text
    /// before either on its line is not all ASCII (`None`: the byte columns are the same).
    /// Bytes that are not UTF-8 count one unit each, as a replacement character does; a UTF-8
    /// byte-order mark at the start counts none.
    pub(crate) fn utf16_columns(
        &self,
        data: &[u8],
        start: usize,
        end: usize,
    ) -> Option<(usize, usize)> {
        let unit = |off: usize| {
            let line = self.0.partition_point(|&nl| nl < off);
            let from = if line == 0 { 0 } else { self.0[line - 1] + 1 };
            let before = &data[from..off];
            // A UTF-8 byte-order mark is no character an editor shows or counts.
            let bom = from == 0 && before.starts_with(b"\xEF\xBB\xBF");
            let before = if bom { &before[3..] } else { before };
            if before.is_ascii() {
                return (before.len() + 1, bom);
            }
            let units: usize = before
                .utf8_chunks()
                .map(|c| c.valid().encode_utf16().count() + usize::from(!c.invalid().is_empty()))
                .sum();
            (units + 1, true)
        };
        let ((s, a), (e, b)) = (unit(start), unit(end));
        (a || b).then_some((s, e))
    }
}

/// The entropy a secret of `len` bytes must reach under `rule`, whose threshold is `min`. A
/// built-in generic rule asks less of a short value: `len` bytes have at most `log2(len)` bits
/// per byte (a 10-character password can never reach 3.5), and a random value of 12 to 20
/// characters falls below 3.5 by chance often enough to miss real passwords (bb-scan-s10:
/// `JaTUyYaccessfKlcxD`, `GGwYPnqwYo8kwQ`). From 14 bytes on, the floor is 82% of the most its
/// length allows (shorter values keep the rule's bar: on IBM/mcp-context-forge's history a lower
/// one let through `team1_refresh`, `tok-usage-1`, documented weak passwords).
fn entropy_floor(rule: &Rule, min: f64, len: usize) -> f64 {
    if rule.builtin && rule.generic && len >= 14 {
        min.min(0.82 * (len as f64).log2())
    } else {
        min
    }
}
