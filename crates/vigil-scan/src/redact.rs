//! `vigil redact`'s engine: a log stream filtered through the scan rules (and the decoders, the
//! values of named environment variables, private-key blocks, optionally PII), every secret
//! replaced by `[REDACTED:<rule>]` and every other byte kept.
//!
//! [`Redactor`] works on whole lines; [`LineStream`] feeds it from a byte stream, holding at
//! most one line plus [`LONG_LINE`] bytes: a longer line is cut (never inside a secret the rules
//! see, with [`OVERLAP`] bytes carried into the next piece so a secret near the cut is seen
//! whole). Inline `gitleaks:allow` / `vigil:allow` markers are not honoured here: a log line is
//! not reviewed code, and a marker an attacker writes into a log must not unmask a secret.
//!
//! Logs glue tokens to what precedes them (`\x1b[35m<token>`, `\n<token>` inside a JSON string,
//! `%3D<token>`), which defeats the rules' word boundaries; lines holding such escapes are also
//! scanned as a *view* with every escape blanked to spaces of the same length, so a match there
//! falls on the same bytes of the original. Multi-line rule matches are replaced only through
//! [`Redactor`]'s own PEM reader, which takes a block only while its lines look like a key: a
//! fake header in an error message never swallows the lines after it.

use crate::decode;
use crate::engine::Hit;
use crate::rule::Window;
use crate::Ruleset;
use aho_corasick::{AhoCorasick, MatchKind};
use memchr::memmem;
use regex::bytes::Regex;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use vigil_core::Secret;

/// A line longer than this is redacted in pieces instead of being held whole.
pub const LONG_LINE: usize = 1 << 20;

/// Bytes of a cut long line carried into its next piece (longer than any secret a rule finds).
pub const OVERLAP: usize = 64 << 10;

/// A JSON line with more `[` and `{` than this is redacted as text, not rebuilt.
const MAX_JSON_NESTING: usize = 256;

/// Environment values shorter than this are not redacted (`LOG_LEVEL=info` would mask every
/// `info` in the log).
pub const MIN_LITERAL: usize = 8;

/// Where a redacted span came from: its replacement names it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Label {
    /// A scan rule: (ruleset, rule) indices.
    Rule(usize, u32),
    /// A private-key block (PEM): its first line.
    PrivateKey,
    /// A later line of a private-key block (replaced by nothing).
    KeyContinued,
    /// A credential in a log-shaped pattern (`url-password`, `authorization`).
    Log(&'static str),
    /// The value of an environment variable, by index into the literal names.
    Env(usize),
    /// Personal data, replaced by its pseudonym.
    Pii(String),
    /// Found in UTF-16 or UTF-32 text: the label, and the width of a code unit (the
    /// replacement is written in the same encoding).
    Wide(Box<Label>, u8),
}

/// A span of the input to replace.
#[derive(Debug, Clone)]
struct Span {
    start: usize,
    end: usize,
    label: Label,
}

/// What to redact besides the rules' findings.
#[derive(Default)]
pub struct RedactOptions {
    /// `(variable name, value)` pairs whose values are replaced wherever they appear (values
    /// shorter than [`MIN_LITERAL`] are dropped by [`Redactor::new`]).
    pub literals: Vec<(String, Secret<String>)>,
    /// Decodings to follow (base64, hex, percent, escapes); 0 turns decoding off.
    pub max_decode_depth: u8,
    /// Also mask e-mail addresses, phone numbers, IP addresses and Discord mention ids, each
    /// by a pseudonym stable for the run (`email#1`, `ip#2`, `<@user#3>`).
    pub pii: bool,
    /// Keep JSON lines valid JSON (a line that parses before redaction parses after it).
    pub json: bool,
}

impl fmt::Debug for RedactOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedactOptions")
            .field(
                "literals",
                &self.literals.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            )
            .field("max_decode_depth", &self.max_decode_depth)
            .field("pii", &self.pii)
            .field("json", &self.json)
            .finish()
    }
}

/// Counts of what a redaction saw and did.
#[derive(Debug, Default, Clone)]
pub struct RedactStats {
    /// Lines read (a cut long line counts once).
    pub lines: u64,
    /// Bytes read.
    pub bytes: u64,
    /// Spans replaced, by what replaced them (`github-pat`, `env:DISCORD_TOKEN`, `pii:email`).
    pub by_label: BTreeMap<String, u64>,
    /// Lines whose decoding ran out of budget (an encoded secret there may have been missed).
    pub decode_budget_exhausted: u64,
}

impl RedactStats {
    /// Spans replaced in all.
    pub fn redacted(&self) -> u64 {
        self.by_label.values().sum()
    }
}

/// The PII patterns and the pseudonyms given so far.
struct Pii {
    re: Regex,
    names: HashMap<(&'static str, Vec<u8>), usize>,
    next: HashMap<&'static str, usize>,
}

/// The pseudonym table stops growing here; later new values get a shared `#many` name.
const MAX_PSEUDONYMS: usize = 1 << 20;

impl Pii {
    fn new() -> Self {
        let re = Regex::new(concat!(
            r"(?P<mention><@[!&]?\d{15,21}>|<#\d{15,21}>)",
            r"|(?P<email>[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}\.)+[A-Za-z]{2,24})",
            r"|(?P<ip4>(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9]))",
            r"|(?P<ip6>(?:[0-9A-Fa-f]{1,4}:|::?)[0-9A-Fa-f:]*:[0-9A-Fa-f:.]*[0-9A-Fa-f])",
            r"|(?P<phone>\+[1-9][0-9]{0,3}(?:[ .-]?\(?[0-9]{1,5}\)?){1,6}",
            r"|\(?[0-9]{3}\)?[ .-][0-9]{3}[ .-][0-9]{4}",
            r"|0[0-9]{1,4}(?:[ .-][0-9]{2,4}){2,4})",
        ))
        .expect("the PII patterns compile");
        Pii {
            re,
            names: HashMap::new(),
            next: HashMap::new(),
        }
    }

    /// Adds a pseudonym span for each personal datum of `data` that does not overlap a secret
    /// already in `out` (so a pseudonym's number is given only to what is shown).
    fn spans(&mut self, data: &[u8], out: &mut Vec<Span>) {
        let secrets: Vec<(usize, usize)> = out
            .iter()
            .filter(|s| !matches!(s.label, Label::Pii(_)))
            .map(|s| (s.start, s.end))
            .collect();
        for c in self.re.captures_iter(data) {
            let (kind, m, prefix, suffix) = if let Some(m) = c.name("mention") {
                let text = m.as_bytes();
                let (kind, head) = match text.get(1..3) {
                    Some(b"@!") => ("user", 3),
                    Some(b"@&") => ("role", 3),
                    _ if text.starts_with(b"<#") => ("channel", 2),
                    _ => ("user", 2),
                };
                let inner = m.start() + head..m.end() - 1;
                (kind, inner, "", "")
            } else if let Some(m) = c.name("email") {
                ("email", m.range(), "", "")
            } else if let Some(m) = c.name("ip4") {
                ("ip", m.range(), "", "")
            } else if let Some(m) = c.name("ip6") {
                let text = std::str::from_utf8(m.as_bytes()).unwrap_or("");
                if text.parse::<std::net::Ipv6Addr>().is_err() {
                    continue;
                }
                ("ip", m.range(), "", "")
            } else if let Some(m) = c.name("phone") {
                let digits = m.as_bytes().iter().filter(|b| b.is_ascii_digit()).count();
                if !(8..=15).contains(&digits) || looks_like_date_or_time(m.as_bytes()) {
                    continue;
                }
                ("phone", m.range(), "", "")
            } else {
                continue;
            };
            if kind != "user" && kind != "role" && kind != "channel" && kind != "email" {
                // Not glued to a word, a hex run, a version or another address.
                let before = m.start.checked_sub(1).map(|i| data[i]);
                let after = data.get(m.end).copied();
                let glued = |b: Option<u8>| {
                    b.is_some_and(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b':'))
                };
                let dotted = |b: Option<u8>, next: Option<u8>| {
                    b == Some(b'.') && next.is_some_and(|n| n.is_ascii_alphanumeric())
                };
                let after_ok =
                    kind == "ip" && after == Some(b':') && !data[m.clone()].contains(&b':');
                if glued(before)
                    || (glued(after) && !after_ok)
                    || dotted(before, m.start.checked_sub(2).map(|i| data[i]))
                    || dotted(after, data.get(m.end + 1).copied())
                {
                    continue;
                }
            }
            if secrets.iter().any(|&(a, b)| a < m.end && m.start < b) {
                continue;
            }
            let mut value = data[m.clone()].to_vec();
            if kind == "email" || kind == "ip" {
                value.make_ascii_lowercase(); // one person, one pseudonym: `Bob@X.org` is `bob@x.org`
            }
            let n = match self.names.get(&(kind, value.clone())) {
                Some(n) => *n,
                None if self.names.len() >= MAX_PSEUDONYMS => 0,
                None => {
                    let next = self.next.entry(kind).or_insert(0);
                    *next += 1;
                    self.names.insert((kind, value), *next);
                    *next
                }
            };
            let name = if n == 0 {
                format!("{prefix}{kind}#many{suffix}")
            } else {
                format!("{prefix}{kind}#{n}{suffix}")
            };
            out.push(Span {
                start: m.start,
                end: m.end,
                label: Label::Pii(name),
            });
        }
    }
}

/// `2026-11-29 12:30:45`-like text the phone pattern must leave alone.
fn looks_like_date_or_time(t: &[u8]) -> bool {
    let groups: Vec<usize> = t
        .split(|b| !b.is_ascii_digit())
        .filter(|g| !g.is_empty())
        .map(|g| g.len())
        .collect();
    // The separator after the first group: dates use `-`, `/`, `.` (a phone number's groups
    // are split by spaces as often).
    let sep = t
        .iter()
        .skip_while(|b| !b.is_ascii_digit())
        .find(|b| !b.is_ascii_digit())
        .copied();
    matches!(groups.as_slice(), [4, 2, ..])
        || (matches!(sep, Some(b'-' | b'/' | b'.'))
            && matches!(
                groups.as_slice(),
                [2, 2, 4, ..] | [1, 2, 4, ..] | [2, 1, 4, ..] | [1, 1, 4, ..]
            ))
}

/// Credentials logs carry in shapes no secret rule has: a URL's password (`redis://:pw@host`,
/// `https://user:pw@host`) and an `Authorization` header's credentials.
struct LogPatterns {
    url: Regex,
    auth: Regex,
    digest: Regex,
    /// The substrings each pattern needs, searched before it runs (built once: a searcher
    /// built per call costs more than the search on a short line).
    scheme: memmem::Finder<'static>,
    /// `authorization` in any case (a header name is case-insensitive: `AUTHorization:` is one).
    auth_word: AhoCorasick,
}

/// `PRIVATE KEY`, the words every PEM private-key header holds.
static PRIVATE_KEY: std::sync::LazyLock<memmem::Finder<'static>> =
    std::sync::LazyLock::new(|| memmem::Finder::new(b"PRIVATE KEY"));

impl LogPatterns {
    fn new() -> Self {
        LogPatterns {
            // The password runs from the first `:` of the user info to its *last* `@` (as
            // WHATWG, urllib and libpq split it: `pa@ss:word` is one password), never past the
            // authority's end (`/`, `?`, `#`).
            url: Regex::new(
                r"[A-Za-z][A-Za-z0-9+.-]{1,20}://[^\s/?#:@]*:([^\s/?#]{3,})@[^\s/?#@]",
            )
            .expect("URL pattern compiles"),
            // Also in a query string or a form: `authorization=Bearer%20…`, `Bearer+…`.
            auth: Regex::new(
                r#"(?i)authorization["']?\s*[:=]\s*["']?(?:bearer|basic|token|bot)(?:\s|\+|%20)+<?([A-Za-z0-9._~+/=-]{8,})"#,
            )
            .expect("authorization pattern compiles"),
            // HTTP Digest: the user name and realm are not secret, the `response` hash (of the
            // password) is.
            digest: Regex::new(
                r#"(?i)authorization["']?\s*[:=]\s*["']?digest\s[^\r\n]*?\bresponse\s*=\s*"?([0-9A-Fa-f]{16,})"#,
            )
            .expect("digest pattern compiles"),
            scheme: memmem::Finder::new(b"://"),
            auth_word: AhoCorasick::builder()
                .ascii_case_insensitive(true)
                .build(["authorization"])
                .expect("one word builds a searcher"),
        }
    }

    fn spans(&self, data: &[u8], out: &mut Vec<Span>) {
        if self.scheme.find(data).is_some() {
            for c in self.url.captures_iter(data) {
                let m = c.get(1).expect("group 1");
                out.push(Span {
                    start: m.start(),
                    end: m.end(),
                    label: Label::Log("url-password"),
                });
            }
        }
        if self.auth_word.is_match(data) {
            for c in self
                .auth
                .captures_iter(data)
                .chain(self.digest.captures_iter(data))
            {
                let m = c.get(1).expect("group 1");
                out.push(Span {
                    start: m.start(),
                    end: m.end(),
                    label: Label::Log("authorization"),
                });
            }
        }
    }
}

/// The shortest secret whose other copies in the same text are redacted with it.
const MIN_COPY: usize = 8;
/// The longest secret whose copies are looked for (a longer match is a block, not a value).
const MAX_COPY: usize = 1024;
/// The most secret values a redactor of continued inputs remembers, to redact their copies in
/// later reads.
const REMEMBERED: usize = 4096;

/// Adds a span for each other place in `data` that holds, byte for byte, a secret found there or
/// remembered from an earlier read of the same input (a value written twice and read as a
/// secret only where a rule sees its name: `value="S" password="S"`): once a value is known to
/// be a secret, no copy of it is written in clear. One automaton over the distinct values, so
/// linear in `data` however many there are. Returns the values found in `data`.
fn copies_of_found(
    data: &[u8],
    spans: &mut Vec<Span>,
    remembered: &[(Vec<u8>, Label)],
) -> Vec<(Vec<u8>, Label)> {
    let mut values: Vec<(&[u8], Label)> = spans
        .iter()
        .filter(|s| matches!(s.label, Label::Rule(..) | Label::Log(_) | Label::Env(_)))
        .filter(|s| s.end <= data.len() && (MIN_COPY..=MAX_COPY).contains(&(s.end - s.start)))
        .map(|s| (&data[s.start..s.end], s.label.clone()))
        .collect();
    let found: Vec<(Vec<u8>, Label)> = values
        .iter()
        .map(|(v, l)| (v.to_vec(), l.clone()))
        .collect();
    values.extend(remembered.iter().map(|(v, l)| (&v[..], l.clone())));
    if values.is_empty() {
        return found;
    }
    values.sort_by(|x, y| x.0.cmp(y.0));
    values.dedup_by(|x, y| x.0 == y.0);
    let Ok(ac) = AhoCorasick::builder()
        .match_kind(MatchKind::LeftmostLongest)
        .build(values.iter().map(|(v, _)| v))
    else {
        return found;
    };
    // Whether a place is inside a span already: the spans by start, with the furthest end of
    // those starting at or before each.
    let mut cover: Vec<(usize, usize)> = spans.iter().map(|s| (s.start, s.end)).collect();
    cover.sort_unstable();
    let mut reach = 0;
    for c in &mut cover {
        reach = reach.max(c.1);
        c.1 = reach;
    }
    let covered = |a: usize, b: usize| {
        let i = cover.partition_point(|&(s, _)| s <= a);
        i > 0 && cover[i - 1].1 >= b
    };
    let mut copies = Vec::new();
    for m in ac.find_iter(data) {
        if !covered(m.start(), m.end()) {
            copies.push(Span {
                start: m.start(),
                end: m.end(),
                label: values[m.pattern().as_usize()].1.clone(),
            });
        }
    }
    spans.extend(copies);
    found
}

/// Non-key lines an open PEM block tolerates in a row (another writer's lines interleaved on
/// `2>&1`, a comment) before it is taken as not a key after all.
const KEY_MISSES: u8 = 3;

/// Where the key text of a line of an open PEM block is, if the line looks like one: its last
/// field (after any prefix a logger or a YAML indent put there: `bot-1  | `, a timestamp, `> `;
/// before what a string around it closes with: `\n" +`, `\`, `",`) is base64 of 16 characters
/// or more or ends in `=` padding, or the whole line after the block's own header prefix (or
/// after comment and quote marks) is base64, or the field is a PEM header (`Proc-Type:`,
/// `DEK-Info:`). Returns the field's range in `line`.
fn key_field(line: &[u8], header_prefix: &[u8]) -> Option<std::ops::Range<usize>> {
    let is_b64 = |t: &[u8]| {
        !t.is_empty()
            && t.iter()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
    };
    let mut end = line.len();
    while end > 0 && (line[end - 1].is_ascii_whitespace()) {
        end -= 1;
    }
    let text = &line[..end];
    if let Some(t) = text.strip_prefix(header_prefix) {
        let t = t.trim_ascii_start();
        if t.starts_with(b"Proc-Type:") || t.starts_with(b"DEK-Info:") || t.starts_with(b"Comment:")
        {
            return Some(end - t.len()..end);
        }
        let from = end - t.len();
        let to = from + crate::validate::pasted_end(t);
        // Base64 as it is first: a key line may start with `/` or `//`, which are key text,
        // not a comment mark (bb-scan-s9 F16).
        if is_b64(&line[from..to]) {
            return Some(from..to);
        }
        let from = from + crate::validate::pasted_start(&line[from..to]).min(to - from);
        if is_b64(&line[from..to]) {
            return Some(from..to);
        }
    }
    // The whole line, without what a key was pasted into (`KEY="…\` continued in a shell).
    let end = crate::validate::pasted_end(text);
    if is_b64(&text[..end]) {
        return Some(0..end);
    }
    let start = crate::validate::pasted_start(&text[..end]).min(end);
    if is_b64(&text[start..end]) {
        return Some(start..end);
    }
    // The last field, without what closes the string it is in.
    let text = &line[..end];
    let mut start = end;
    while start > 0 && !text[start - 1].is_ascii_whitespace() && text[start - 1] != b'|' {
        start -= 1;
    }
    while start < end && matches!(text[start], b'"' | b'\'' | b'`' | b'>') {
        start += 1;
    }
    let field = &text[start..end];
    if is_b64(field) && (field.len() >= 16 || field.ends_with(b"=")) {
        return Some(start..end);
    }
    None
}

/// `data` with the escapes (ANSI sequences, backslash escapes, `%XX`) of the lines that `reach`
/// (ranges sorted by start) touch blanked to spaces of their length: the same length and line
/// breaks, so a hit in it sits where it sits in `data`. `None` when none of those lines holds
/// an escape.
pub(crate) fn escape_view_within(data: &[u8], reach: &[(usize, usize)]) -> Option<Vec<u8>> {
    let mut copy: Option<Vec<u8>> = None;
    // Bytes before `done` are handled (a line is blanked once).
    let mut done = 0;
    for &(s, e) in reach {
        let e = e.min(data.len());
        let mut at = s.max(done);
        // From each line that holds an escape to the next (an escape never takes a line break).
        while at < e {
            let Some(p) = memchr::memchr3(0x1b, b'\\', b'%', &data[at..e]) else {
                break;
            };
            let p = at + p;
            let from = memchr::memrchr(b'\n', &data[..p]).map_or(0, |n| n + 1);
            let to = memchr::memchr(b'\n', &data[p..]).map_or(data.len(), |n| p + n);
            let c = copy.get_or_insert_with(|| data.to_vec());
            blank_escapes(&mut c[from..to]);
            at = to;
        }
        done = done.max(at).max(e);
    }
    copy
}

/// Blanks escapes in place: `ESC [ … final`, `ESC ] … BEL|ESC \\`, `\\uXXXX`, `\\x`, `%XX`.
fn blank_escapes(line: &mut [u8]) {
    let mut i = 0;
    // From one byte that can start an escape to the next (a JSON answer is one long line).
    while let Some(p) = memchr::memchr3(0x1b, b'\\', b'%', &line[i..]) {
        i += p;
        let len = match line[i] {
            0x1b => {
                let mut j = i + 1;
                match line.get(j) {
                    Some(b'[') => {
                        j += 1;
                        while j < line.len() && !(0x40..=0x7e).contains(&line[j]) {
                            j += 1;
                        }
                        (j + 1).min(line.len()) - i
                    }
                    Some(b']') => {
                        while j < line.len() && line[j] != 0x07 && line[j] != 0x1b {
                            j += 1;
                        }
                        (j + 1).min(line.len()) - i
                    }
                    Some(_) => 2,
                    None => 1,
                }
            }
            b'\\' => match line.get(i + 1) {
                Some(b'u')
                    if line.len() >= i + 6
                        && line[i + 2..i + 6].iter().all(u8::is_ascii_hexdigit) =>
                {
                    6
                }
                Some(b'x')
                    if line.len() >= i + 4
                        && line[i + 2..i + 4].iter().all(u8::is_ascii_hexdigit) =>
                {
                    4
                }
                Some(_) => 2,
                None => 1,
            },
            b'%' if line.len() >= i + 3 && line[i + 1..i + 3].iter().all(u8::is_ascii_hexdigit) => {
                3
            }
            _ => {
                i += 1;
                continue;
            }
        };
        line[i..i + len].fill(b' ');
        i += len;
    }
}

/// One reading of a buffer as UTF-16 or UTF-32 text, little-endian from `align`: each code
/// unit that is ASCII (not NUL) is its byte, any other a space; `at[i]` is where the unit of
/// byte `i` starts. Big-endian text is the little-endian reading one byte on (`00 67 00 68` is
/// `67 00 68 00` from its second byte), so every alignment covers both orders.
struct WideView {
    text: Vec<u8>,
    at: Vec<usize>,
    width: usize,
}

/// The fewest ASCII code units in a row that make a reading worth redacting (no secret a rule
/// or an environment value gives is shorter).
const MIN_WIDE_RUN: usize = MIN_LITERAL;

/// The readings of `data` as UTF-16 (2 alignments) and UTF-32 (4) that hold a run of at least
/// [`MIN_WIDE_RUN`] ASCII code units. A unit cut by the end of `data` counts with its missing
/// bytes as zeros (a big-endian stream's last unit, read one byte on).
fn wide_views(data: &[u8]) -> Vec<WideView> {
    let mut views = Vec::new();
    for width in [2usize, 4] {
        for align in 0..width {
            let mut text = Vec::with_capacity(data.len() / width + 1);
            let mut at = Vec::with_capacity(data.len() / width + 1);
            let (mut run, mut best) = (0, 0);
            let mut i = align;
            while i < data.len() {
                let c = data[i];
                let rest = &data[i + 1..(i + width).min(data.len())];
                if (1..0x80).contains(&c) && rest.iter().all(|&b| b == 0) {
                    text.push(c);
                    run += 1;
                    best = best.max(run);
                } else {
                    text.push(b' ');
                    run = 0;
                }
                at.push(i);
                i += width;
            }
            if best >= MIN_WIDE_RUN {
                views.push(WideView { text, at, width });
            }
        }
    }
    views
}

/// Re-encodes the replacement written at `out[from..]` in code units of `width` bytes
/// (little-endian, see [`WideView`]), leaving off its last `over` zero bytes.
fn widen(out: &mut Vec<u8>, from: usize, width: usize, over: usize) {
    if width == 1 {
        return;
    }
    let narrow = out.split_off(from);
    for b in narrow {
        out.push(b);
        out.extend(std::iter::repeat_n(0, width - 1));
    }
    out.truncate(out.len() - over.min(width - 1));
}

/// Replaces secrets in whole lines of text.
pub struct Redactor<'r> {
    rulesets: Vec<&'r Ruleset>,
    literals: Option<AhoCorasick>,
    literal_names: Vec<String>,
    /// Per literal pattern, the base64 characters around it that encode its bits too.
    literal_reach: Vec<Reach>,
    depth: u8,
    pii: Option<Pii>,
    log: &'static LogPatterns,
    json: bool,
    /// The open private-key block, if any: the prefix its header line had, and the non-key
    /// lines seen in a row since its last key line.
    in_key: Option<(Vec<u8>, u8)>,
    /// The last line of the input so far (its last [`TAIL`] bytes at most): the rules read
    /// the next input after it, so a Kubernetes `name:` line and its `value:` line that arrive
    /// in two reads are still one pair. Never shown (`Debug` leaves it out).
    tail: Vec<u8>,
    /// Whether inputs continue one another (a [`LineStream`]), so the tail is kept; a
    /// redactor given one text (a gateway answer, a log line) keeps none.
    carry: bool,
    /// Secret values found in earlier reads of continued inputs ([`Redactor::carry`]): their
    /// copies in later reads are redacted too. Never shown.
    remembered: Vec<(Vec<u8>, Label)>,
    stats: RedactStats,
}

/// The longest last line carried into the next read ([`Redactor`]'s `tail`).
const TAIL: usize = 4096;

impl fmt::Debug for Redactor<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Redactor")
            .field("literals", &self.literal_names)
            .field("depth", &self.depth)
            .field("pii", &self.pii.is_some())
            .finish_non_exhaustive()
    }
}

/// The forms an environment value can take in a log besides itself: base64 (standard and
/// URL-safe, at each of the three alignments it can have inside a longer encoding, such as
/// `Basic base64(user:password)`), hex (both cases), percent-encoded and JSON-escaped. Each
/// form comes with the base64 characters around it that also encode bits of the value
/// (`Reach`), which are redacted with it when they are there.
fn literal_forms(v: &str) -> Vec<(Vec<u8>, Reach)> {
    use base64::Engine as _;
    let mut forms = vec![(v.as_bytes().to_vec(), Reach::default())];
    for engine in [
        &base64::engine::general_purpose::STANDARD,
        &base64::engine::general_purpose::URL_SAFE,
    ] {
        for pad in 0..3usize {
            let mut bytes = vec![0u8; pad];
            bytes.extend_from_slice(v.as_bytes());
            let enc = engine.encode(&bytes);
            // Characters that depend on bytes outside the value are dropped at both ends.
            let skip = [0, 2, 3][pad];
            let total = pad + v.len();
            let keep_end = (total / 3) * 4;
            let enc = enc.as_bytes();
            if keep_end > skip + 11 {
                // The character before the form holds the top bits of the value's first byte
                // (when the value does not start a group); the group after it, the value's last
                // one or two bytes.
                let reach = Reach {
                    back: u8::from(pad > 0),
                    ahead: [0, 2, 3][total % 3],
                };
                forms.push((enc[skip..keep_end].to_vec(), reach));
            }
        }
    }
    let hex: String = v.bytes().map(|b| format!("{b:02x}")).collect();
    forms.push((hex.clone().into_bytes(), Reach::default()));
    forms.push((hex.to_ascii_uppercase().into_bytes(), Reach::default()));
    let pct: String = v
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    forms.push((pct.into_bytes(), Reach::default()));
    if let Ok(json) = serde_json::to_string(v) {
        forms.push((
            json.as_bytes()[1..json.len() - 1].to_vec(),
            Reach::default(),
        ));
    }
    forms.sort();
    forms.dedup_by(|a, b| a.0 == b.0);
    forms
}

/// Base64 characters next to a base64 form of a value that also encode some of its bits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
struct Reach {
    /// Characters before the form.
    back: u8,
    /// Characters after it (then any `=` padding).
    ahead: u8,
}

impl Reach {
    /// `start..end` (a match of the form in `data`) widened over the characters it reaches.
    fn widen(self, data: &[u8], start: usize, end: usize) -> (usize, usize) {
        let b64 = |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'-' | b'_');
        let mut s = start;
        while start - s < usize::from(self.back) && s > 0 && b64(data[s - 1]) {
            s -= 1;
        }
        let mut e = end;
        while e - end < usize::from(self.ahead) && e < data.len() && b64(data[e]) {
            e += 1;
        }
        if self.ahead > 0 {
            while e - end < usize::from(self.ahead) + 2 && data.get(e) == Some(&b'=') {
                e += 1;
            }
        }
        (s, e)
    }
}

impl<'r> Redactor<'r> {
    /// A redactor with `rulesets` (each applied; the built-in rules should be one of them)
    /// and `options`.
    pub fn new(rulesets: Vec<&'r Ruleset>, options: RedactOptions) -> Self {
        let mut names = Vec::new();
        let mut values = Vec::new();
        let mut reaches = Vec::new();
        for (name, value) in options.literals {
            let v = value.expose_secret().trim();
            if v.len() >= MIN_LITERAL {
                for (form, reach) in literal_forms(v) {
                    names.push(name.clone());
                    values.push(form);
                    reaches.push(reach);
                }
            }
        }
        let literals = (!values.is_empty()).then(|| {
            AhoCorasick::builder()
                .match_kind(MatchKind::LeftmostLongest)
                .build(&values)
                .expect("literal values build an automaton")
        });
        Redactor {
            rulesets,
            literals,
            literal_names: names,
            literal_reach: reaches,
            depth: options.max_decode_depth,
            pii: options.pii.then(Pii::new),
            log: {
                static LOG: std::sync::LazyLock<LogPatterns> =
                    std::sync::LazyLock::new(LogPatterns::new);
                &LOG
            },
            json: options.json,
            in_key: None,
            tail: Vec::new(),
            carry: false,
            remembered: Vec::new(),
            stats: RedactStats::default(),
        }
    }

    /// What has been seen and replaced so far.
    pub fn stats(&self) -> &RedactStats {
        &self.stats
    }

    /// Whether text-mode redaction of `data` would find anything to replace (`false`: it would
    /// write `data` as it is), without writing it: a check before the work of redacting. It
    /// reads `data` as text whatever the options say, so a JSON message is read as written.
    pub fn finds(&mut self, data: &[u8]) -> bool {
        self.stats.bytes += data.len() as u64;
        !self.spans(data).is_empty()
    }

    /// Redacts `data` (whole lines, or the end of the input) into `out`.
    pub fn redact(&mut self, data: &[u8], out: &mut Vec<u8>) {
        self.stats.bytes += data.len() as u64;
        self.stats.lines += memchr::memchr_iter(b'\n', data).count() as u64;
        // UTF-16 or UTF-32 text (NUL bytes) is no JSON line to rebuild, and its line breaks
        // are not single bytes: it is redacted as text, wide readings and key blocks whole
        // (tester F3: a key block in UTF-16 passed `--json` in clear).
        if self.json && memchr::memchr(0, data).is_none() {
            // The rules read the lines together (a name/value pair on two lines of YAML is one
            // secret, as in text mode); each line is then redacted, and rebuilt, on its own.
            let mut text = self.read_after_tail(data);
            text.sort_by_key(|s| s.start);
            let (mut next, mut at) = (0, 0);
            // Spans that reach past the line before (a decoded run wrapped over lines).
            let mut carried: Vec<Span> = Vec::new();
            for line in data.split_inclusive(|b| *b == b'\n') {
                let end = at + line.len();
                let mut mine = std::mem::take(&mut carried);
                while next < text.len() && text[next].start < end {
                    mine.push(text[next].clone());
                    next += 1;
                }
                let mut here = Vec::with_capacity(mine.len());
                for s in mine {
                    let (a, b) = (s.start.max(at), s.end.min(end));
                    if a < b {
                        here.push(Span {
                            start: a - at,
                            end: b - at,
                            label: s.label.clone(),
                        });
                    }
                    if s.end > end {
                        carried.push(s);
                    }
                }
                self.redact_json_line(line, here, out);
                at = end;
            }
        } else {
            let spans = self.spans(data);
            self.write(data, spans, out);
        }
    }

    /// Redacts the head of an over-long line: writes the redacted part of `data` it may and
    /// returns how many bytes of `data` it consumed (the rest is carried into the next call).
    pub fn redact_head(&mut self, data: &[u8], out: &mut Vec<u8>) -> usize {
        // The rest of this line is read again with the next piece: the PEM reader's state
        // must be the one at the start of the line then.
        let in_key = self.in_key.clone();
        let spans = self.spans(data);
        self.in_key = in_key;
        // The rest of the line comes again: no piece of it is carried as the last line.
        self.tail.clear();
        let mut cut = data.len().saturating_sub(OVERLAP);
        // Never cut inside a secret: move the cut back before any span that crosses it.
        loop {
            let crossing = spans
                .iter()
                .filter(|s| s.start < cut && s.end > cut)
                .map(|s| s.start)
                .min();
            match crossing {
                Some(start) => cut = start,
                None => break,
            }
        }
        if cut == 0 {
            // One secret fills the window: redact it all rather than hold more.
            cut = data.len();
        }
        let kept: Vec<Span> = spans.into_iter().filter(|s| s.end <= cut).collect();
        self.stats.bytes += cut as u64;
        self.write(&data[..cut], kept, out);
        cut
    }

    fn spans(&mut self, data: &[u8]) -> Vec<Span> {
        let mut spans = self.read_after_tail(data);
        self.key_and_pii_spans(data, &mut spans);
        spans
    }

    /// The spans of `data` given what the rules found in it (`spans`): private-key blocks,
    /// pseudonyms and wide text added.
    fn spans_with(&mut self, data: &[u8], mut spans: Vec<Span>) -> Vec<Span> {
        self.key_and_pii_spans(data, &mut spans);
        if memchr::memchr(0, data).is_some() {
            self.wide_spans(data, &mut spans);
        }
        spans
    }

    /// Adds the private-key blocks and the pseudonyms of `data` to `spans`.
    fn key_and_pii_spans(&mut self, data: &[u8], spans: &mut Vec<Span>) {
        self.key_spans(data, spans);
        if let Some(pii) = &mut self.pii {
            pii.spans(data, spans);
        }
    }

    /// What the rules find in `data` (and in its UTF-16 and UTF-32 readings, where it has NUL
    /// bytes), read after the last line of the input before it (`tail`, then replaced by the
    /// last line of this input): only the spans in `data`.
    fn read_after_tail(&mut self, data: &[u8]) -> Vec<Span> {
        let tail = std::mem::take(&mut self.tail);
        let off = tail.len();
        let joined: std::borrow::Cow<'_, [u8]> = if off == 0 {
            std::borrow::Cow::Borrowed(data)
        } else {
            std::borrow::Cow::Owned([&tail[..], data].concat())
        };
        let mut read = self.text_spans(&joined, false);
        if memchr::memchr(0, &joined).is_some() {
            self.wide_spans(&joined, &mut read);
        }
        if self.carry {
            self.keep_tail(&joined);
        }
        if off == 0 {
            return read;
        }
        read.into_iter()
            .filter(|s| s.start >= off)
            .map(|s| Span {
                start: s.start - off,
                end: s.end - off,
                ..s
            })
            .collect()
    }

    /// Keeps the last line of `seen` (with its line break) as the tail: its last [`TAIL`] bytes
    /// when it is longer (a `name:` key at the end of a long line still pairs with the next).
    fn keep_tail(&mut self, seen: &[u8]) {
        let body = seen.strip_suffix(b"\n").unwrap_or(seen);
        let start = memchr::memrchr(b'\n', body).map_or(0, |p| p + 1);
        let start = start.max(seen.len().saturating_sub(TAIL));
        self.tail.clear();
        self.tail.extend_from_slice(&seen[start..]);
    }

    /// What UTF-16 and UTF-32 text in `data` holds (a PowerShell 5 log, one line of another
    /// writer in a UTF-8 log): each reading of it (see [`wide_views`]) is redacted as text,
    /// its multi-line key blocks whole, and the spans are placed back on their code units.
    fn wide_spans(&mut self, data: &[u8], spans: &mut Vec<Span>) {
        for view in wide_views(data) {
            let mut found = self.text_spans(&view.text, true);
            if let Some(pii) = &mut self.pii {
                pii.spans(&view.text, &mut found);
            }
            for s in found {
                if s.start >= s.end {
                    continue;
                }
                spans.push(Span {
                    start: view.at[s.start],
                    end: view.at[s.end - 1] + view.width,
                    label: Label::Wide(Box::new(s.label), view.width as u8),
                });
            }
        }
    }

    /// The spans of rule hits (as written, decoded, behind escapes), environment values and
    /// log-shaped credentials in `data`; multi-line rule matches only with `multiline`.
    fn text_spans(&mut self, data: &[u8], multiline: bool) -> Vec<Span> {
        let mut spans = Vec::new();
        for (set, rules) in self.rulesets.iter().enumerate() {
            let (plain, viewed) = rules.hits_in("-", None, data, true);
            let from_view = plain.len();
            // A hit of the escape view sits where it sits in `data` (the same line breaks).
            for (i, h) in plain.into_iter().chain(viewed).enumerate() {
                // Multi-line matches are left to the PEM reader (a fake header followed by a
                // real key far below must not swallow the lines between); the view's always.
                if (!multiline || i >= from_view)
                    && rules.rules[h.rule as usize].window == Window::Multiline
                    && memchr::memchr(b'\n', &data[h.start..h.end]).is_some()
                {
                    continue;
                }
                spans.push(Span {
                    start: h.start,
                    end: h.end,
                    label: Label::Rule(set, h.rule),
                });
            }
            if self.depth > 0 {
                let d = decode::scan(rules, "-", None, data, self.depth);
                if d.stopped {
                    self.stats.decode_budget_exhausted += 1;
                }
                for h in d.hits {
                    spans.push(Span {
                        start: h.hit.start,
                        end: h.hit.end,
                        label: Label::Rule(set, h.hit.rule),
                    });
                }
            }
        }
        if let Some(ac) = &self.literals {
            for m in ac.find_iter(data) {
                let i = m.pattern().as_usize();
                let (start, end) = self.literal_reach[i].widen(data, m.start(), m.end());
                spans.push(Span {
                    start,
                    end,
                    label: Label::Env(i),
                });
            }
            // Values behind any encoding the decoder reads (wholly percent- or `\x`-escaped,
            // base64 of base64…), not only the forms listed in advance.
            if self.depth > 0 {
                let d = decode::scan_by(data, self.depth, &mut |text| {
                    ac.find_iter(text)
                        .map(|m| Hit {
                            rule: m.pattern().as_u32(),
                            start: m.start(),
                            end: m.end(),
                            m_start: m.start(),
                            m_end: m.end(),
                        })
                        .collect()
                });
                if d.stopped {
                    self.stats.decode_budget_exhausted += 1;
                }
                for h in d.hits {
                    spans.push(Span {
                        start: h.hit.start,
                        end: h.hit.end,
                        label: Label::Env(h.hit.rule as usize),
                    });
                }
            }
        }
        self.log.spans(data, &mut spans);
        let found = copies_of_found(data, &mut spans, &self.remembered);
        if self.carry {
            // Inputs continue one another: a copy in a later read is redacted too.
            for f in found {
                if self.remembered.len() >= REMEMBERED {
                    break;
                }
                if !self.remembered.iter().any(|(v, _)| *v == f.0) {
                    self.remembered.push(f);
                }
            }
        }
        spans
    }

    /// Private-key blocks, line by line: a header line (`-----BEGIN … PRIVATE KEY-----`) opens
    /// a block; its later lines lose their key text (see [`key_field`]; a logger's prefix on
    /// each line, the line breaks and the END marker are kept) up to `-----END …-----`, also
    /// when the block arrives over several
    /// reads. Lines that do not look like a key are kept; more than [`KEY_MISSES`] of them in a
    /// row end the block, so a header quoted in an error message hides nothing after it, and a
    /// line of another writer in the middle of a key does not let the rest of the key out.
    fn key_spans(&mut self, data: &[u8], spans: &mut Vec<Span>) {
        if self.in_key.is_none() && PRIVATE_KEY.find(data).is_none() {
            return;
        }
        let mut at = 0;
        while at < data.len() {
            let le = memchr::memchr(b'\n', &data[at..]).map_or(data.len(), |p| at + p);
            let line = &data[at..le];
            let mut from = 0;
            // Several blocks can sit on one line (a JSON string with escaped newlines).
            loop {
                if let Some((prefix, misses)) = &mut self.in_key {
                    if let Some(e) = memmem::find(&line[from..], b"-----END ") {
                        let e = from + e + 9;
                        let end = memmem::find(&line[e..], b"-----")
                            .map(|p| e + p + 5)
                            .unwrap_or(line.len());
                        if from == 0 {
                            // Key text before the END marker on its line goes; the marker,
                            // the line's prefix and its line break stay.
                            let head = &line[..e - 9];
                            if let Some(r) = key_field(head.trim_ascii_end(), prefix) {
                                spans.push(Span {
                                    start: at + r.start,
                                    end: at + r.end,
                                    label: Label::KeyContinued,
                                });
                            }
                        } else {
                            spans.push(Span {
                                start: at + from,
                                end: at + end,
                                label: Label::PrivateKey,
                            });
                        }
                        self.in_key = None;
                        from = end;
                        continue;
                    }
                    if from == 0 {
                        match key_field(line, prefix) {
                            Some(r) => {
                                *misses = 0;
                                spans.push(Span {
                                    // The key text only: the line break stays, so the log
                                    // keeps its lines.
                                    start: at + r.start,
                                    end: at + r.end,
                                    label: Label::KeyContinued,
                                });
                            }
                            None => {
                                *misses += 1;
                                if *misses > KEY_MISSES {
                                    self.in_key = None;
                                    continue; // this line may open a block of its own
                                }
                            }
                        }
                    }
                    break;
                }
                let Some(b) = memmem::find(&line[from..], b"-----BEGIN ") else {
                    break;
                };
                let b = from + b;
                let head_end = memmem::find(&line[b + 11..], b"-----")
                    .map(|p| b + 11 + p + 5)
                    .unwrap_or(line.len());
                if memmem::find(&line[b..head_end], b"PRIVATE KEY").is_none() {
                    from = head_end;
                    continue;
                }
                // The header and the rest of its line (an escaped block ends on the same line:
                // the loop above finds its `-----END`).
                self.in_key = Some((line[..b].to_vec(), 0));
                let rest_end = memmem::find(&line[head_end..], b"-----END ")
                    .map(|p| head_end + p)
                    .unwrap_or(line.trim_ascii_end().len().max(head_end));
                spans.push(Span {
                    start: at + b,
                    end: at + rest_end,
                    label: Label::PrivateKey,
                });
                from = rest_end;
            }
            at = le + 1;
        }
    }

    /// Writes `data` with `spans` replaced (overlapping spans merged; a secret's label wins
    /// over a pseudonym's).
    fn write(&mut self, data: &[u8], mut spans: Vec<Span>, out: &mut Vec<u8>) {
        out.reserve(data.len());
        if spans.is_empty() {
            out.extend_from_slice(data);
            return;
        }
        // A pseudonym never grows a secret's span: an e-mail-like run that starts inside a URL
        // password (`https://u:p@ss@host`) would carry the host away with it.
        if spans.iter().any(|s| matches!(s.label, Label::Pii(_))) {
            let secrets: Vec<(usize, usize)> = spans
                .iter()
                .filter(|s| !matches!(s.label, Label::Pii(_)))
                .map(|s| (s.start, s.end))
                .collect();
            spans.retain(|s| {
                !matches!(s.label, Label::Pii(_))
                    || !secrets.iter().any(|&(a, b)| a < s.end && s.start < b)
            });
        }
        spans.sort_by_key(|s| (s.start, std::cmp::Reverse(s.end)));
        let mut at = 0;
        let mut i = 0;
        while i < spans.len() {
            let mut start = spans[i].start;
            let mut end = spans[i].end;
            let mut label = spans[i].label.clone();
            i += 1;
            while i < spans.len() && spans[i].start < end {
                end = end.max(spans[i].end);
                let generic = |l: &Label| match l {
                    Label::Rule(set, r) => self.rulesets[*set].rules[*r as usize].generic,
                    _ => false,
                };
                if (matches!(label, Label::Pii(_)) && !matches!(spans[i].label, Label::Pii(_)))
                    || (generic(&label) && matches!(spans[i].label, Label::Log(_)))
                {
                    // A secret's label wins over a pseudonym's; the log pattern's name
                    // (`authorization`, `url-password`) over a generic rule's.
                    label = spans[i].label.clone();
                }
                i += 1;
            }
            start = start.max(at);
            // A UTF-16BE or UTF-32BE unit read at the end of `data` (its zero bytes come
            // first): the replacement's last zero bytes are not written either.
            let over = end.saturating_sub(data.len());
            end = end.min(data.len());
            if start >= end {
                continue;
            }
            out.extend_from_slice(&data[at..start]);
            let mut width = 1;
            if let Label::Wide(inner, w) = label {
                (label, width) = (*inner, usize::from(w));
            }
            let from = out.len();
            let name = match &label {
                Label::Rule(set, r) => self.rulesets[*set].rules[*r as usize].id.clone(),
                Label::PrivateKey => "private-key".to_owned(),
                Label::KeyContinued => {
                    at = end;
                    continue;
                }
                Label::Log(name) => (*name).to_owned(),
                Label::Env(i) => format!("env:{}", self.literal_names[*i]),
                Label::Pii(p) => {
                    let kind = p.split('#').next().unwrap_or("pii");
                    *self
                        .stats
                        .by_label
                        .entry(format!("pii:{kind}"))
                        .or_default() += 1;
                    out.extend_from_slice(p.as_bytes());
                    widen(out, from, width, over);
                    at = end;
                    continue;
                }
                Label::Wide(..) => unreachable!("a wide label holds a narrow one"),
            };
            out.extend_from_slice(b"[REDACTED:");
            out.extend_from_slice(name.as_bytes());
            out.push(b']');
            widen(out, from, width, over);
            *self.stats.by_label.entry(name).or_default() += 1;
            at = end;
        }
        out.extend_from_slice(&data[at..]);
    }

    /// One line in JSON mode: redacted as text; then, if it was JSON, its strings are read
    /// unescaped and redacted again, and a line where that finds more (or whose text redaction
    /// broke its JSON) is rebuilt: changed strings re-encoded, everything else (keys, order,
    /// numbers as written) copied, whitespace between tokens dropped. `text` is what the rules
    /// found on the line, read with its neighbours.
    fn redact_json_line(&mut self, line: &[u8], text: Vec<Span>, out: &mut Vec<u8>) {
        let (body, nl) = match line.strip_suffix(b"\r\n") {
            Some(b) => (b, &b"\r\n"[..]),
            None => match line.strip_suffix(b"\n") {
                Some(b) => (b, &b"\n"[..]),
                None => (line, &b""[..]),
            },
        };
        // What the rules found on this line (`text`, clipped to it), off its line break.
        let text = text
            .into_iter()
            .filter(|s| s.start < body.len())
            .map(|s| Span {
                end: s.end.min(body.len()),
                ..s
            })
            .collect();
        let spans = self.spans_with(body, text);
        if spans.is_empty() && memchr::memchr(b'\\', body).is_none() && self.in_key.is_none() {
            // No escape anywhere: every string reads as it is written, so the strings hold no
            // secret the whole line did not show. Nothing to rebuild.
            out.extend_from_slice(body);
            out.extend_from_slice(nl);
            return;
        }
        let mut plain = Vec::with_capacity(body.len());
        self.write(body, spans, &mut plain);
        let first = body.iter().find(|b| !b.is_ascii_whitespace());
        // Deeply nested lines are redacted as text only: rebuilding them would cost time
        // quadratic in the depth (and serde's recursion), for no log line anyone writes.
        let nesting = memchr::memchr2_iter(b'[', b'{', body).count();
        if matches!(first, Some(b'{') | Some(b'[')) && nesting <= MAX_JSON_NESTING {
            let source = if serde_json::from_slice::<serde::de::IgnoredAny>(&plain).is_ok() {
                Some(&plain[..])
            } else if serde_json::from_slice::<serde::de::IgnoredAny>(body).is_ok() {
                Some(body) // the text redaction broke the JSON (a secret ended inside an escape)
            } else {
                None
            };
            if let Some(src) = source {
                let broke = src.as_ptr() == body.as_ptr();
                if let Ok(raw) = serde_json::from_slice::<&serde_json::value::RawValue>(src) {
                    let mut rebuilt = String::with_capacity(src.len());
                    if self.rebuild(raw, &mut rebuilt) || broke {
                        out.extend_from_slice(rebuilt.as_bytes());
                        out.extend_from_slice(nl);
                        return;
                    }
                }
            }
        }
        out.extend_from_slice(&plain);
        out.extend_from_slice(nl);
    }

    /// Writes `raw` to `out` with every string (keys too) redacted as unescaped text; whether
    /// anything changed. Numbers, literals and unchanged strings are copied as written.
    fn rebuild(&mut self, raw: &serde_json::value::RawValue, out: &mut String) -> bool {
        let text = raw.get();
        match text.as_bytes().first() {
            Some(b'"') => match serde_json::from_str::<String>(text) {
                Ok(s) => {
                    let (new, changed) = self.redact_text(&s);
                    if changed {
                        out.push_str(&serde_json::to_string(&new).unwrap_or_default());
                    } else {
                        out.push_str(text);
                    }
                    changed
                }
                Err(_) => {
                    out.push_str(text);
                    false
                }
            },
            Some(b'[') => match serde_json::from_str::<Vec<&serde_json::value::RawValue>>(text) {
                Ok(items) => {
                    let mut changed = false;
                    out.push('[');
                    for (i, item) in items.into_iter().enumerate() {
                        if i > 0 {
                            out.push(',');
                        }
                        changed |= self.rebuild(item, out);
                    }
                    out.push(']');
                    changed
                }
                Err(_) => {
                    out.push_str(text);
                    false
                }
            },
            Some(b'{') => match serde_json::from_str::<json::Entries<'_>>(text) {
                Ok(json::Entries(entries)) => {
                    let mut changed = false;
                    out.push('{');
                    for (i, (k, v)) in entries.into_iter().enumerate() {
                        if i > 0 {
                            out.push(',');
                        }
                        let (key, c) = self.redact_text(&k);
                        changed |= c;
                        out.push_str(&serde_json::to_string(&key).unwrap_or_default());
                        out.push(':');
                        changed |= self.rebuild(v, out);
                    }
                    out.push('}');
                    changed
                }
                Err(_) => {
                    out.push_str(text);
                    false
                }
            },
            _ => {
                out.push_str(text);
                false
            }
        }
    }

    /// One string redacted; whether it changed.
    fn redact_text(&mut self, s: &str) -> (String, bool) {
        // A string is read alone: the input's last line is not its context.
        let text = self.text_spans(s.as_bytes(), false);
        let spans = self.spans_with(s.as_bytes(), text);
        if spans.is_empty() {
            return (s.to_owned(), false);
        }
        let mut buf = Vec::with_capacity(s.len());
        self.write(s.as_bytes(), spans, &mut buf);
        let new = String::from_utf8_lossy(&buf).into_owned();
        let changed = new != s;
        (new, changed)
    }
}

/// Feeds a [`Redactor`] from a byte stream: whole lines at once, a line longer than
/// [`LONG_LINE`] in pieces.
#[derive(Debug)]
pub struct LineStream<'r> {
    redactor: Redactor<'r>,
    pending: Vec<u8>,
}

impl<'r> LineStream<'r> {
    /// A stream through `redactor`.
    pub fn new(mut redactor: Redactor<'r>) -> Self {
        // Inputs follow one another: each is read after the last line of the one before.
        redactor.carry = true;
        LineStream {
            redactor,
            pending: Vec::new(),
        }
    }

    /// Takes `chunk` and appends to `out` what can be written: every complete line, and the
    /// head of a line longer than [`LONG_LINE`].
    pub fn push(&mut self, chunk: &[u8], out: &mut Vec<u8>) {
        self.pending.extend_from_slice(chunk);
        if let Some(nl) = memchr::memrchr(b'\n', &self.pending) {
            // Only the new bytes can hold the last newline if `pending` held no newline before.
            let rest = self.pending.split_off(nl + 1);
            let lines = std::mem::replace(&mut self.pending, rest);
            self.redactor.redact(&lines, out);
        }
        while self.pending.len() > LONG_LINE {
            let used = self.redactor.redact_head(&self.pending, out);
            self.pending.drain(..used);
        }
    }

    /// The input ended: redacts what is held (a last line without a newline).
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        if !self.pending.is_empty() {
            let last = std::mem::take(&mut self.pending);
            self.redactor.redact(&last, out);
            self.redactor.stats.lines += 1;
        }
    }

    /// What has been seen and replaced so far.
    pub fn stats(&self) -> &RedactStats {
        self.redactor.stats()
    }
}

/// A JSON object's entries in order, values left raw.
mod json {
    use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
    use serde_json::value::RawValue;
    use std::fmt;

    /// An object's `(key, raw value)` pairs as written.
    pub(super) struct Entries<'a>(pub(super) Vec<(String, &'a RawValue)>);

    impl<'de> Deserialize<'de> for Entries<'de> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_map(V)
        }
    }

    struct V;

    impl<'de> Visitor<'de> for V {
        type Value = Entries<'de>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Entries<'de>, A::Error> {
            let mut v = Vec::new();
            while let Some((k, x)) = a.next_entry::<String, &'de RawValue>()? {
                v.push((k, x));
            }
            Ok(Entries(v))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(input: &[u8], options: RedactOptions) -> (Vec<u8>, RedactStats) {
        let rules = Ruleset::builtin();
        let mut s = LineStream::new(Redactor::new(vec![&rules], options));
        let mut out = Vec::new();
        for chunk in input.chunks(7) {
            s.push(chunk, &mut out);
        }
        s.finish(&mut out);
        let stats = s.stats().clone();
        (out, stats)
    }

    fn gh() -> String {
        let ex =
            crate::examples::expand("«ghp_{alnum:30}{ghcrc}»", &mut crate::examples::Gen::new(3))
                .unwrap();
        ex.text[ex.secret].to_owned()
    }

    #[test]
    fn a_rule_secret_is_replaced_and_other_bytes_kept() {
        let line = format!("INFO starting bot token={} in guild\nnext line\n", gh());
        let (out, stats) = run(line.as_bytes(), RedactOptions::default());
        let out = String::from_utf8(out).unwrap();
        assert!(!out.contains(&gh()), "{out}");
        assert!(
            out.starts_with("INFO starting bot token=[REDACTED:"),
            "{out}"
        );
        assert!(out.ends_with(" in guild\nnext line\n"), "{out}");
        assert_eq!(stats.redacted(), 1);
    }

    #[test]
    fn every_copy_of_a_secret_found_once_is_replaced() {
        // A value a rule reads only where its name says password (built here: no secret in
        // this file), written twice more on the line and once on the next.
        let v: String = ["Zq8v", "R2mK", "4pL9", "sT6w", "Hy3b", "Nc7x"].concat();
        let text =
            format!("<add key=\"ApiKey\" value=\"{v}\" password=\"{v}\"/> copy {v}\nagain {v}\n");
        for json in [false, true] {
            let (out, stats) = run(
                text.as_bytes(),
                RedactOptions {
                    json,
                    ..Default::default()
                },
            );
            let out = String::from_utf8(out).unwrap();
            assert!(!out.contains(&v), "{out}");
            assert_eq!(out.matches("[REDACTED:").count(), 4, "{out}");
            assert!(out.ends_with("again [REDACTED:generic-api-key]\n"), "{out}");
            assert!(stats.redacted() >= 4, "{out}");
        }
        // A copy far on in the same input (tester 142: past 64 KiB it was written in clear).
        let far = format!(
            "password = \"{v}\"\n{}then {v}\n",
            "filler line lorem ipsum\n".repeat(5000)
        );
        let (out, _) = run(far.as_bytes(), RedactOptions::default());
        let out = String::from_utf8(out).unwrap();
        assert!(!out.contains(&v), "{}", &out[out.len() - 80..]);
        assert!(out.ends_with("then [REDACTED:generic-api-key]\n"));
    }

    #[test]
    fn env_values_are_replaced_even_without_a_rule_and_short_ones_kept() {
        let value = "plain-value-no-rule-knows";
        let options = RedactOptions {
            literals: vec![
                ("BOT_SECRET".into(), Secret::new(value.into())),
                ("LOG_LEVEL".into(), Secret::new("info".into())),
            ],
            ..Default::default()
        };
        let (out, _) = run(format!("info: got {value}!\n").as_bytes(), options);
        assert_eq!(out, b"info: got [REDACTED:env:BOT_SECRET]!\n");
    }

    #[test]
    fn a_key_block_split_across_pushes_is_masked_whole() {
        let body = "MIIEowIBAAKCAQEA".repeat(4);
        let text = format!(
            "before\n-----BEGIN RSA PRIVATE KEY-----\n{body}\n{body}\n-----END RSA PRIVATE KEY----- after\n"
        );
        let (out, _) = run(text.as_bytes(), RedactOptions::default());
        let out = String::from_utf8(out).unwrap();
        assert!(!out.contains("MIIEow"), "{out}");
        assert!(out.starts_with("before\n"), "{out}");
        assert!(out.ends_with(" after\n"), "{out}");
    }

    #[test]
    fn pii_gets_stable_pseudonyms() {
        let text = "mail a.b@example.org from 203.0.113.9 by <@123456789012345678>\nagain a.b@example.org, other c@example.net, 2001:db8::1 at 2026-11-29 12:30:45\n";
        let (out, _) = run(
            text.as_bytes(),
            RedactOptions {
                pii: true,
                ..Default::default()
            },
        );
        let out = String::from_utf8(out).unwrap();
        assert_eq!(
            out,
            "mail email#1 from ip#1 by <@user#1>\nagain email#1, other email#2, ip#2 at 2026-11-29 12:30:45\n"
        );
    }

    #[test]
    fn json_lines_stay_json() {
        let line = format!(
            "{{\"z\":1,\"msg\":\"token\\u003d{}\",\"a\":[true,null]}}\n",
            gh()
        );
        let (out, _) = run(
            line.as_bytes(),
            RedactOptions {
                json: true,
                max_decode_depth: 2,
                ..Default::default()
            },
        );
        let text = String::from_utf8(out).unwrap();
        assert!(!text.contains(&gh()[4..]), "{text}");
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["z"], 1);
        assert!(
            text.find("\"z\"").unwrap() < text.find("\"a\"").unwrap(),
            "order kept"
        );
    }

    #[test]
    fn tokens_glued_to_escapes_are_found() {
        let t = gh();
        let text = format!("\x1b[35m{t}\x1b[39m\n{{\"err\":\"bad.\\n{t}\"}}\nq=a%0A{t}\n");
        let (out, stats) = run(text.as_bytes(), RedactOptions::default());
        let out = String::from_utf8(out).unwrap();
        assert!(!out.contains(&t), "{out}");
        assert_eq!(stats.redacted(), 3, "{out}");
        assert!(
            out.starts_with("\x1b[35m[REDACTED:github-pat]\x1b[39m\n"),
            "{out}"
        );
    }

    #[test]
    fn a_quoted_header_never_hides_the_lines_after_it() {
        let body = "MIIEowIBAAKCAQEA".repeat(4);
        let text = format!(
            "ERROR invalid key: must start with -----BEGIN PRIVATE KEY-----\nINFO next request\nINFO another\n-----BEGIN RSA PRIVATE KEY-----\n{body}\n{body}\n-----END RSA PRIVATE KEY-----\nINFO done\n"
        );
        let (out, _) = run(text.as_bytes(), RedactOptions::default());
        let out = String::from_utf8(out).unwrap();
        assert!(out.contains("INFO next request\nINFO another\n"), "{out}");
        assert!(out.ends_with("INFO done\n"), "{out}");
        assert!(!out.contains("MIIEow"), "{out}");
    }

    #[test]
    fn url_passwords_and_authorization_values_are_masked() {
        let text = ["redis", "://:hunter2hunter2@cache:6379/0 https://bob:pa55w0rd99@example.org/x\nAuthorization: Bearer abcdefgh12345678opaque\n"].concat();
        let (out, _) = run(text.as_bytes(), RedactOptions::default());
        let out = String::from_utf8(out).unwrap();
        assert_eq!(
            out,
            "redis://:[REDACTED:database-url-password]@cache:6379/0 https://bob:[REDACTED:url-password]@example.org/x\nAuthorization: Bearer [REDACTED:authorization]\n"
        );
    }

    /// A header name is case-insensitive: its credential is masked however it is spelled, and
    /// alone in the input (no other line holding the usual spelling).
    #[test]
    fn authorization_in_any_case_is_masked() {
        // A credential in angle brackets (`Bearer <…>`) is masked too, the brackets kept.
        let text = "Authorization: Bearer <abcdefgh12345678opaque>\n";
        let (out, _) = run(text.as_bytes(), RedactOptions::default());
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "Authorization: Bearer <[REDACTED:authorization]>\n"
        );
        for name in [
            "AUTHorization",
            "x-AuthoriZation",
            "AUTHORIZATION",
            "authorization",
        ] {
            let text = format!("{name}: Bearer abcdefgh12345678opaque\n");
            let (out, _) = run(text.as_bytes(), RedactOptions::default());
            let out = String::from_utf8(out).unwrap();
            assert_eq!(out, format!("{name}: Bearer [REDACTED:authorization]\n"));
        }
    }

    #[test]
    fn env_values_are_found_encoded() {
        use base64::Engine as _;
        let pw = "correct horse battery staple";
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("admin:{pw}"));
        let hex: String = pw.bytes().map(|b| format!("{b:02x}")).collect();
        let text = format!("auth {basic}\nhex {hex}\npct correct%20horse%20battery%20staple\n");
        let options = RedactOptions {
            literals: vec![("ADMIN_PASSWORD".into(), Secret::new(pw.into()))],
            max_decode_depth: 0,
            ..Default::default()
        };
        let (out, stats) = run(text.as_bytes(), options);
        let out = String::from_utf8(out).unwrap();
        assert_eq!(stats.redacted(), 3, "{out}");
        assert!(!out.contains(&hex) && !out.contains("horse"), "{out}");
    }

    /// bb-scan-s7 N0 (F5's edge): the base64 characters at either end of an encoded value
    /// that mix its bits with other bytes' (`Qw==` for a last `C`) go with it, without the
    /// decoder's help.
    #[test]
    fn base64_of_an_env_value_is_redacted_to_its_last_character() {
        use base64::Engine as _;
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        for pw in [
            "Zq8xPlm2Wr7TvB4nKd9YsC",
            "Zq8xPlm2Wr7TvB4nKd9YsCa",
            "Zq8xPlm2Wr7TvB4nKd9Ys",
        ] {
            let text = format!(
                "a {}\\u001b[0m\nb {} end\nc {}x\n",
                b64(pw),
                b64(&format!("u:{pw}")),
                b64(&format!("u:{pw}:rest-of-it"))
            );
            let options = RedactOptions {
                literals: vec![("BOT_TOKEN".into(), Secret::new(pw.into()))],
                max_decode_depth: 0,
                ..Default::default()
            };
            let (out, stats) = run(text.as_bytes(), options);
            let out = String::from_utf8(out).unwrap();
            assert_eq!(stats.redacted(), 3, "{out}");
            let lines: Vec<&str> = out.lines().collect();
            assert_eq!(lines[0], "a [REDACTED:env:BOT_TOKEN]\\u001b[0m", "{pw}");
            assert!(lines[1].ends_with("[REDACTED:env:BOT_TOKEN] end"), "{out}");
            // What is left of the encoding around the value holds none of its bits.
            for l in &lines[1..] {
                let left = l.split("[REDACTED").next().unwrap();
                assert!(left.len() <= 2 + 4, "{l}");
            }
        }
    }

    #[test]
    fn json_numbers_and_line_endings_are_kept() {
        let t = gh();
        // The secret is only visible unescaped (`\u0067` is `g`), so the line is rebuilt.
        let line = format!(
            "{{\"big\":12345678901234567890123,\"e\":1e3,\"z\":-0,\"msg\":\"\\u0067{}\"}}\r\n",
            &t[1..]
        );
        let (out, _) = run(
            line.as_bytes(),
            RedactOptions {
                json: true,
                max_decode_depth: 0,
                ..Default::default()
            },
        );
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "{\"big\":12345678901234567890123,\"e\":1e3,\"z\":-0,\"msg\":\"[REDACTED:github-pat]\"}\r\n"
        );
    }

    #[test]
    fn pii_leaves_uuids_versions_and_hex_alone_and_knows_international_numbers() {
        let text = "id 5a3c1234-5678-4abc-9def-0123456789ab v1.2.3.4.5 deadbeef::cafe\ncall +44 20 7946 0958 or +33 1 23 45 67 89 or (555) 123-4567\n";
        let (out, _) = run(
            text.as_bytes(),
            RedactOptions {
                pii: true,
                ..Default::default()
            },
        );
        let out = String::from_utf8(out).unwrap();
        assert_eq!(
            out,
            "id 5a3c1234-5678-4abc-9def-0123456789ab v1.2.3.4.5 deadbeef::cafe\ncall phone#1 or phone#2 or phone#3\n"
        );
    }

    fn pem_body(lines: usize) -> Vec<String> {
        let mut gen = crate::examples::Gen::new(41);
        (0..lines)
            .map(|_| {
                gen.pick(
                    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
                    64,
                )
            })
            .collect()
    }

    #[test]
    fn prefixed_indented_and_interleaved_keys_are_masked_whole() {
        let body = pem_body(6);
        let mut text = String::new();
        // docker compose prefixes, then a YAML indent, then another writer in the middle.
        text.push_str("bot-1  | -----BEGIN RSA PRIVATE KEY-----\n");
        for l in &body {
            text.push_str(&format!("bot-1  | {l}\n"));
        }
        // The EC header is built here so this source file holds no key-looking block.
        text.push_str(&format!(
            "bot-1  | -----END RSA PRIVATE KEY-----\nkey: |\n  -----BEGIN {} PRIVATE KEY-----\n",
            "EC"
        ));
        for (i, l) in body.iter().enumerate() {
            text.push_str(&format!("  {l}\n"));
            if i == 2 {
                text.push_str("2024-05-01 INFO voice: heartbeat ack\n");
            }
        }
        text.push_str("  -----END EC PRIVATE KEY-----\nready\n");
        let (out, _) = run(text.as_bytes(), RedactOptions::default());
        let out = String::from_utf8(out).unwrap();
        for l in &body {
            assert!(!out.contains(&l[..20]), "{out}");
        }
        assert!(out.contains("bot-1  | [REDACTED:private-key]\n"), "{out}");
        assert!(
            out.contains("2024-05-01 INFO voice: heartbeat ack\n"),
            "{out}"
        );
        assert!(out.ends_with("ready\n"), "{out}");
    }

    /// bb-scan-s9 F16: a key line that starts with `/` or `//` (base64 can) kept them, as if
    /// they were a comment mark.
    #[test]
    fn key_lines_starting_with_a_slash_are_emptied_whole() {
        let mut body = pem_body(4);
        body[1].replace_range(..1, "/");
        body[2].replace_range(..2, "//");
        let mut text = String::from("bot-1  | -----BEGIN RSA PRIVATE KEY-----\n");
        for l in &body {
            text.push_str(&format!("bot-1  | {l}\n"));
        }
        text.push_str("bot-1  | -----END RSA PRIVATE KEY-----\n");
        let (out, _) = run(text.as_bytes(), RedactOptions::default());
        let out = String::from_utf8(out).unwrap();
        assert!(!out.contains("| /"), "{out}");
        for l in &body {
            assert!(!out.contains(&l[2..20]), "{out}");
        }
    }

    #[test]
    fn deep_json_is_redacted_as_text_without_recursion() {
        let t = gh();
        let line = format!("{}\"{t}\"{}\n", "[".repeat(50_000), "]".repeat(50_000));
        let (out, _) = run(
            line.as_bytes(),
            RedactOptions {
                json: true,
                ..Default::default()
            },
        );
        let out = String::from_utf8(out).unwrap();
        assert!(!out.contains(&t));
        assert_eq!(
            out.len(),
            line.len() - t.len() + "[REDACTED:github-pat]".len()
        );
    }

    #[test]
    fn pii_keeps_ports_and_folds_case() {
        let text = "client 203.0.113.45:51234 Bob@Example.org bob@example.org\n";
        let (out, _) = run(
            text.as_bytes(),
            RedactOptions {
                pii: true,
                ..Default::default()
            },
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "client ip#1:51234 email#1 email#1\n"
        );
    }
}
