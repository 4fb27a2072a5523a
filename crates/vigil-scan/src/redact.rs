//! `vigil redact`'s engine: a log stream filtered through the scan rules (and the decoders, the
//! values of named environment variables, private-key blocks, optionally PII), every secret
//! replaced by `[REDACTED:<rule>]` and every other byte kept.
//!
//! [`Redactor`] works on whole lines; [`LineStream`] feeds it from a byte stream, holding at
//! most one line plus [`LONG_LINE`] bytes: a longer line is cut (never inside a secret the rules
//! see, with [`OVERLAP`] bytes carried into the next piece so a secret near the cut is seen
//! whole). Inline `gitleaks:allow` / `vigil:allow` markers are not honoured here: a log line is
//! not reviewed code, and a marker an attacker writes into a log must not unmask a secret.

use crate::decode;
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

/// Environment values shorter than this are not redacted (`LOG_LEVEL=info` would mask every
/// `info` in the log).
pub const MIN_LITERAL: usize = 8;

/// A private-key block not closed within this many bytes is taken as not a key after all.
const MAX_KEY_BLOCK: usize = 64 << 10;

/// Where a redacted span came from: its replacement names it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Label {
    /// A scan rule, by index.
    Rule(u32),
    /// A private-key block (PEM) that spans lines.
    PrivateKey,
    /// The value of an environment variable, by index into the literal names.
    Env(usize),
    /// Personal data, replaced by its pseudonym.
    Pii(String),
}

/// A span of the input to replace.
#[derive(Debug)]
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
            r"|(?P<ip4>\b(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\b)",
            r"|(?P<ip6>(?:[0-9A-Fa-f]{1,4}:|::?)[0-9A-Fa-f:]*:[0-9A-Fa-f:.]*[0-9A-Fa-f])",
            r"|(?P<phone>(?:\+[1-9][0-9]{0,2}[ .-]?)?(?:\([0-9]{2,4}\)|[0-9]{2,4})[ .-][0-9]{3,4}[ .-][0-9]{3,4}\b|\+[1-9][0-9]{7,14}\b)",
        ))
        .expect("the PII patterns compile");
        Pii {
            re,
            names: HashMap::new(),
            next: HashMap::new(),
        }
    }

    fn spans(&mut self, data: &[u8], out: &mut Vec<Span>) {
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
            let value = data[m.clone()].to_vec();
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
    groups.first() == Some(&4) && groups.get(1) == Some(&2)
}

/// Replaces secrets in whole lines of text.
pub struct Redactor<'r> {
    rules: &'r Ruleset,
    literals: Option<AhoCorasick>,
    literal_names: Vec<String>,
    depth: u8,
    pii: Option<Pii>,
    json: bool,
    /// Bytes of an open private-key block seen so far, when one is open.
    in_key: Option<usize>,
    stats: RedactStats,
}

impl fmt::Debug for Redactor<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Redactor")
            .field("literals", &self.literal_names)
            .field("depth", &self.depth)
            .field("pii", &self.pii.is_some())
            .finish_non_exhaustive()
    }
}

impl<'r> Redactor<'r> {
    /// A redactor with `rules` and `options`.
    pub fn new(rules: &'r Ruleset, options: RedactOptions) -> Self {
        let mut names = Vec::new();
        let mut values = Vec::new();
        for (name, value) in options.literals {
            let v = value.expose_secret().trim();
            if v.len() >= MIN_LITERAL {
                names.push(name);
                values.push(v.as_bytes().to_vec());
            }
        }
        let literals = (!values.is_empty()).then(|| {
            AhoCorasick::builder()
                .match_kind(MatchKind::LeftmostLongest)
                .build(&values)
                .expect("literal values build an automaton")
        });
        Redactor {
            rules,
            literals,
            literal_names: names,
            depth: options.max_decode_depth,
            pii: options.pii.then(Pii::new),
            json: options.json,
            in_key: None,
            stats: RedactStats::default(),
        }
    }

    /// What has been seen and replaced so far.
    pub fn stats(&self) -> &RedactStats {
        &self.stats
    }

    /// Redacts `data` (whole lines, or the end of the input) into `out`.
    pub fn redact(&mut self, data: &[u8], out: &mut Vec<u8>) {
        self.stats.bytes += data.len() as u64;
        self.stats.lines += memchr::memchr_iter(b'\n', data).count() as u64;
        if self.json {
            for line in data.split_inclusive(|b| *b == b'\n') {
                self.redact_json_line(line, out);
            }
        } else {
            let spans = self.spans(data);
            self.write(data, spans, out);
        }
    }

    /// Redacts the head of an over-long line: writes the redacted part of `data` it may and
    /// returns how many bytes of `data` it consumed (the rest is carried into the next call).
    pub fn redact_head(&mut self, data: &[u8], out: &mut Vec<u8>) -> usize {
        let spans = self.spans(data);
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
        let mut spans = Vec::new();
        for h in self.rules.hits("-", None, data) {
            spans.push(Span {
                start: h.start,
                end: h.end,
                label: Label::Rule(h.rule),
            });
        }
        if self.depth > 0 {
            let d = decode::scan(self.rules, "-", None, data, self.depth);
            if d.stopped {
                self.stats.decode_budget_exhausted += 1;
            }
            for h in d.hits {
                spans.push(Span {
                    start: h.hit.start,
                    end: h.hit.end,
                    label: Label::Rule(h.hit.rule),
                });
            }
        }
        if let Some(ac) = &self.literals {
            for m in ac.find_iter(data) {
                spans.push(Span {
                    start: m.start(),
                    end: m.end(),
                    label: Label::Env(m.pattern().as_usize()),
                });
            }
        }
        self.key_spans(data, &mut spans);
        if let Some(pii) = &mut self.pii {
            pii.spans(data, &mut spans);
        }
        spans
    }

    /// Private-key blocks, also when they open in one piece of input and close in a later one.
    fn key_spans(&mut self, data: &[u8], spans: &mut Vec<Span>) {
        if self.in_key.is_none() && memmem::find(data, b"PRIVATE KEY").is_none() {
            return;
        }
        let mut open: Option<usize> = self.in_key.map(|_| 0);
        let mut seen = self.in_key.unwrap_or(0);
        let mut at = 0;
        while at < data.len() {
            let le = memchr::memchr(b'\n', &data[at..]).map_or(data.len(), |p| at + p);
            let line = &data[at..le];
            let mut from = 0;
            loop {
                match open {
                    None => {
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
                        open = Some(at + b);
                        seen = 0;
                        from = head_end;
                    }
                    Some(start) => {
                        let Some(e) = memmem::find(&line[from..], b"-----END ") else {
                            break;
                        };
                        let e = from + e + 9;
                        let end = memmem::find(&line[e..], b"-----")
                            .map(|p| e + p + 5)
                            .unwrap_or(line.len());
                        spans.push(Span {
                            start,
                            end: at + end,
                            label: Label::PrivateKey,
                        });
                        open = None;
                        from = end;
                    }
                }
            }
            if let Some(start) = open {
                seen += le + 1 - at;
                if seen > MAX_KEY_BLOCK {
                    // Not a key after all (never closed): mask what was taken for one, stop.
                    spans.push(Span {
                        start,
                        end: le,
                        label: Label::PrivateKey,
                    });
                    open = None;
                }
            }
            at = le + 1;
        }
        if let Some(start) = open {
            spans.push(Span {
                start,
                end: data.len(),
                label: Label::PrivateKey,
            });
            self.in_key = Some(seen);
        } else {
            self.in_key = None;
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
                if matches!(label, Label::Pii(_)) && !matches!(spans[i].label, Label::Pii(_)) {
                    label = spans[i].label.clone();
                }
                i += 1;
            }
            start = start.max(at);
            if start >= end {
                continue;
            }
            out.extend_from_slice(&data[at..start]);
            let name = match &label {
                Label::Rule(r) => self.rules.rules[*r as usize].id.clone(),
                Label::PrivateKey => "private-key".to_owned(),
                Label::Env(i) => format!("env:{}", self.literal_names[*i]),
                Label::Pii(p) => {
                    let kind = p.split('#').next().unwrap_or("pii");
                    *self
                        .stats
                        .by_label
                        .entry(format!("pii:{kind}"))
                        .or_default() += 1;
                    out.extend_from_slice(p.as_bytes());
                    at = end;
                    continue;
                }
            };
            out.extend_from_slice(b"[REDACTED:");
            out.extend_from_slice(name.as_bytes());
            out.push(b']');
            *self.stats.by_label.entry(name).or_default() += 1;
            at = end;
        }
        out.extend_from_slice(&data[at..]);
    }

    /// One line in JSON mode: redacted as text; if it was JSON and no longer is, or its string
    /// values (unescaped) still hold a secret, it is rebuilt from its parsed values with every
    /// string redacted (keys and their order kept; whitespace becomes compact).
    fn redact_json_line(&mut self, line: &[u8], out: &mut Vec<u8>) {
        let (body, nl) = match line.strip_suffix(b"\n") {
            Some(b) => (b, &b"\n"[..]),
            None => (line, &b""[..]),
        };
        let spans = self.spans(body);
        let mut plain = Vec::with_capacity(body.len());
        self.write(body, spans, &mut plain);
        let first = body.iter().find(|b| !b.is_ascii_whitespace());
        if matches!(first, Some(b'{') | Some(b'[')) {
            if let Ok(mut v) = serde_json::from_slice::<json::Ordered>(&plain) {
                if !self.redact_strings(&mut v) {
                    out.extend_from_slice(&plain);
                    out.extend_from_slice(nl);
                    return;
                }
                if let Ok(text) = serde_json::to_vec(&v) {
                    out.extend_from_slice(&text);
                    out.extend_from_slice(nl);
                    return;
                }
            } else if let Ok(mut v) = serde_json::from_slice::<json::Ordered>(body) {
                // Redacting the text broke the JSON (a secret ended inside an escape).
                self.redact_strings(&mut v);
                if let Ok(text) = serde_json::to_vec(&v) {
                    out.extend_from_slice(&text);
                    out.extend_from_slice(nl);
                    return;
                }
            }
        }
        out.extend_from_slice(&plain);
        out.extend_from_slice(nl);
    }

    /// Redacts every string (keys too) of a parsed JSON value; whether anything changed.
    fn redact_strings(&mut self, v: &mut json::Ordered) -> bool {
        let mut changed = false;
        let mut one = |s: &mut String, this: &mut Self| {
            let spans = this.spans(s.as_bytes());
            if spans.is_empty() {
                return;
            }
            let mut buf = Vec::with_capacity(s.len());
            this.write(s.as_bytes(), spans, &mut buf);
            *s = String::from_utf8_lossy(&buf).into_owned();
            changed = true;
        };
        let mut stack = vec![v];
        while let Some(v) = stack.pop() {
            match v {
                json::Ordered::String(s) => one(s, self),
                json::Ordered::Array(a) => stack.extend(a.iter_mut()),
                json::Ordered::Object(o) => {
                    for (k, v) in o.iter_mut() {
                        one(k, self);
                        stack.push(v);
                    }
                }
                json::Ordered::Other(_) => {}
            }
        }
        changed
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
    pub fn new(redactor: Redactor<'r>) -> Self {
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

/// JSON values whose objects keep their keys in order (serde_json's own map sorts them unless
/// a feature the whole workspace would share is switched on).
mod json {
    use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
    use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
    use std::fmt;

    /// A JSON value: strings, arrays and objects as such, everything else kept as parsed.
    pub(super) enum Ordered {
        String(String),
        Array(Vec<Ordered>),
        Object(Vec<(String, Ordered)>),
        Other(serde_json::Value),
    }

    impl<'de> Deserialize<'de> for Ordered {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_any(V)
        }
    }

    struct V;

    impl<'de> Visitor<'de> for V {
        type Value = Ordered;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a JSON value")
        }
        fn visit_bool<E>(self, v: bool) -> Result<Ordered, E> {
            Ok(Ordered::Other(v.into()))
        }
        fn visit_i64<E>(self, v: i64) -> Result<Ordered, E> {
            Ok(Ordered::Other(v.into()))
        }
        fn visit_u64<E>(self, v: u64) -> Result<Ordered, E> {
            Ok(Ordered::Other(v.into()))
        }
        fn visit_f64<E>(self, v: f64) -> Result<Ordered, E> {
            Ok(Ordered::Other(v.into()))
        }
        fn visit_str<E>(self, v: &str) -> Result<Ordered, E> {
            Ok(Ordered::String(v.to_owned()))
        }
        fn visit_string<E>(self, v: String) -> Result<Ordered, E> {
            Ok(Ordered::String(v))
        }
        fn visit_unit<E>(self) -> Result<Ordered, E> {
            Ok(Ordered::Other(serde_json::Value::Null))
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Ordered, A::Error> {
            let mut v = Vec::new();
            while let Some(x) = a.next_element()? {
                v.push(x);
            }
            Ok(Ordered::Array(v))
        }
        fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Ordered, A::Error> {
            let mut v = Vec::new();
            while let Some((k, x)) = a.next_entry()? {
                v.push((k, x));
            }
            Ok(Ordered::Object(v))
        }
    }

    impl Serialize for Ordered {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            match self {
                Ordered::String(v) => s.serialize_str(v),
                Ordered::Other(v) => v.serialize(s),
                Ordered::Array(a) => {
                    let mut seq = s.serialize_seq(Some(a.len()))?;
                    for x in a {
                        seq.serialize_element(x)?;
                    }
                    seq.end()
                }
                Ordered::Object(o) => {
                    let mut map = s.serialize_map(Some(o.len()))?;
                    for (k, v) in o {
                        map.serialize_entry(k, v)?;
                    }
                    map.end()
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(input: &[u8], options: RedactOptions) -> (Vec<u8>, RedactStats) {
        let rules = Ruleset::builtin();
        let mut s = LineStream::new(Redactor::new(&rules, options));
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
}
