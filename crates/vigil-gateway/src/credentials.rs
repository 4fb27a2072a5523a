//! Upstream credentials masked by value in answers: the values of a route's `headers` and of
//! its stdio server's `env` are secrets the gateway itself hands the upstream, so wherever one
//! comes back in an answer (a tool that echoes its request headers or prints its environment)
//! the client gets `[REDACTED:upstream-credential]` instead, whatever `[gateway.scan]` says:
//! in every JSON string (keys too), SSE line, unread body and answer header (a header whose
//! name holds one is dropped). The gateway's own secrets (its token keys, audit key, webhook
//! secrets) are masked the same way on every route: an upstream that shares its `.env` can
//! print them. Logs, the audit and alerts already mask these values (they are
//! registered with `vigil_core::redact`).

use aho_corasick::{AhoCorasick, MatchKind};
use serde_json::Value;
use std::sync::Arc;

use crate::rewrite::{Action, Hook, RequestInfo};

/// What a masked credential becomes.
pub const MASK: &str = "[REDACTED:upstream-credential]";

/// The rule id credentials are counted under in `vigil_gateway_secrets_total`.
pub(crate) const RULE: &str = "upstream-credential";

use vigil_core::redact::{encoded_forms, ENCODED_MIN};

/// `bytes` with JSON's string escapes undone once, wherever they are (`\"`, `\\`, `\/`,
/// `\b`, `\f`, `\n`, `\r`, `\t`, `\uXXXX` with surrogate pairs; a lone surrogate becomes
/// U+FFFD); what is no escape is kept as it is.
fn json_unescaped(bytes: &[u8]) -> Vec<u8> {
    let hex4 = |at: usize| {
        bytes
            .get(at..at + 4)
            .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
            .and_then(|h| u32::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok())
    };
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let simple = match (bytes[i], bytes.get(i + 1)) {
            (b'\\', Some(&c @ (b'"' | b'\\' | b'/'))) => Some(c),
            (b'\\', Some(b'b')) => Some(0x08),
            (b'\\', Some(b'f')) => Some(0x0C),
            (b'\\', Some(b'n')) => Some(b'\n'),
            (b'\\', Some(b'r')) => Some(b'\r'),
            (b'\\', Some(b't')) => Some(b'\t'),
            _ => None,
        };
        if let Some(c) = simple {
            out.push(c);
            i += 2;
            continue;
        }
        if bytes[i] == b'\\' && bytes.get(i + 1) == Some(&b'u') {
            if let Some(unit) = hex4(i + 2) {
                let low = (bytes.get(i + 6..i + 8) == Some(b"\\u".as_slice()))
                    .then(|| hex4(i + 8))
                    .flatten()
                    .filter(|l| (0xDC00..0xE000).contains(l));
                let (c, used) = match (unit, low) {
                    (0xD800..=0xDBFF, Some(l)) => (
                        char::from_u32(0x10000 + ((unit - 0xD800) << 10) + (l - 0xDC00)),
                        12,
                    ),
                    _ => (char::from_u32(unit), 6),
                };
                let c = c.unwrap_or(char::REPLACEMENT_CHARACTER);
                out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
                i += used;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

/// `bytes` without ASCII blanks and line breaks, and without JSON's `\n`, `\r` and `\t`
/// escapes (a `\/` read as `/`): encoded text as it was before a tool wrapped it. `%XX` is
/// kept as written (a request's text is read percent-decoded on its own; review: a `%`
/// before wrapped hex ate two of its digits).
fn unwrapped(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    unwrap_into(bytes, false, &mut |b, _, _| out.push(b));
    out
}

/// [`unwrapped`], `%XX` escapes undone when `percent` (a decoded blank dropped like a real
/// one), with, for each byte kept, where it is spelled in `bytes` and in how many bytes (a
/// run of backslashes and `/` for `\/`, 3 for `%XX`): what masks a spread value where its
/// characters lie.
fn unwrapped_at(bytes: &[u8], percent: bool) -> (Vec<u8>, Vec<(usize, usize)>) {
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = Vec::with_capacity(bytes.len());
    unwrap_into(bytes, percent, &mut |b, i, width| {
        out.push(b);
        at.push((i, width));
    });
    (out, at)
}

/// The one reading of [`unwrapped`] and [`unwrapped_at`]: `keep(byte, at, width)` for each
/// byte kept. Linear: a run of backslashes is looked at once (review: counting it again from
/// each of its bytes made a body of backslashes quadratic).
fn unwrap_into(bytes: &[u8], percent: bool, keep: &mut dyn FnMut(u8, usize, usize)) {
    let hex = |c: u8| (c as char).to_digit(16);
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => {
                // JSON's escapes of a break, at any depth of JSON in a JSON string (`\n`,
                // `\\n`; tester 164: base64 wrapped inside a JSON document in a tool's text).
                let run = bytes[i..].iter().take_while(|b| **b == b'\\').count();
                match bytes.get(i + run) {
                    Some(b'n' | b'r' | b't') => {}
                    Some(b'/') => keep(b'/', i, run + 1),
                    _ => {
                        for j in i..i + run {
                            keep(b'\\', j, 1);
                        }
                        i += run;
                        continue;
                    }
                }
                i += run + 1;
            }
            b'%' if percent
                && bytes.get(i + 1).copied().and_then(hex).is_some()
                && bytes.get(i + 2).copied().and_then(hex).is_some() =>
            {
                let hi = bytes.get(i + 1).copied().and_then(hex).unwrap_or(0);
                let lo = bytes.get(i + 2).copied().and_then(hex).unwrap_or(0);
                let b = (hi * 16 + lo) as u8;
                if !b.is_ascii_whitespace() {
                    keep(b, i, 3);
                }
                i += 3;
            }
            c if c.is_ascii_whitespace() => i += 1,
            c => {
                keep(c, i, 1);
                i += 1;
            }
        }
    }
}

/// A run of encoded text at least this long before a break or a blank is read as wrapped:
/// `base64` wraps at 76 columns, `xxd -p` at 60, PEM at 64.
const WRAPPED_LINE: usize = 16;

/// Whether an answer's text may hold a value spread out: a line break or blank (`\n`, `\r`,
/// `\t`, a space, or JSON's escapes of the first three) right after [`WRAPPED_LINE`] or more
/// base64 or hex characters (a value or its encoding wrapped, as `base64` and `xxd -p` print
/// them, or cut into groups), or a `%XX` escape. Prose and JSON rarely do, so answers without
/// either are not read again.
fn spread(bytes: &[u8]) -> bool {
    static ENCODED: [bool; 256] = {
        let mut t = [false; 256];
        let mut b = 0;
        while b < 256 {
            let c = b as u8;
            t[b] = c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'-' | b'_' | b'=');
            b += 1;
        }
        t
    };
    let percent = memchr::memchr_iter(b'%', bytes).any(|i| {
        bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
            && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit)
    });
    if percent {
        return true;
    }
    // What ends a run: a break or blank, or backslashes escaping one (at any depth).
    let separator = |end: usize| match bytes.get(end) {
        Some(b'\n' | b'\r' | b' ' | b'\t') => true,
        Some(b'\\') => matches!(
            bytes[end..].iter().find(|b| **b != b'\\'),
            Some(b'n' | b'r' | b't')
        ),
        _ => false,
    };
    // Strided (session 33: a memchr per blank cost ~4.5k instructions on an ordinary answer).
    any_run(bytes, WRAPPED_LINE, &ENCODED, separator)
}

/// Whether `bytes` hold a maximal run of `min` or more bytes of `table` whose end (the index
/// after it) `ends` accepts. Every such run covers one of every `min`-th position, so only
/// those are looked at, each widened to its run.
fn any_run(bytes: &[u8], min: usize, table: &[bool; 256], ends: impl Fn(usize) -> bool) -> bool {
    let letter = |i: usize| table[usize::from(bytes[i])];
    let Some(mut i) = min.checked_sub(1) else {
        return true;
    };
    while i < bytes.len() {
        if !letter(i) {
            // A run lies wholly after `i`, so it covers `i + min`.
            i += min;
            continue;
        }
        let mut start = i;
        while start > 0 && letter(start - 1) {
            start -= 1;
        }
        let mut end = i + 1;
        while end < bytes.len() && letter(end) {
            end += 1;
        }
        if end - start >= min && ends(end) {
            return true;
        }
        // `end` is no letter (or the end): the next run covers `end + min`.
        i = end + min;
    }
    false
}

/// Whether `bytes` hold `min` base64 or hex characters in a row, as every encoded form does.
/// Such a run covers one of every `min` positions, so only those are looked at, each widened to
/// its run (a JSON-RPC call's words are short: a 110-byte call costs some 20 lookups, and
/// most requests never reach the automaton).
fn has_run(bytes: &[u8], min: usize) -> bool {
    static ALPHABET: [bool; 256] = {
        let mut t = [false; 256];
        let mut b = 0;
        while b < 256 {
            let c = b as u8;
            t[b] = c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'-' | b'_');
            b += 1;
        }
        t
    };
    any_run(bytes, min, &ALPHABET, |_| true)
}

/// Whether a route header's value is a credential, which the gateway masks in answers and
/// refuses in requests: its name says so (`X-Api-Key`, `Authorization`, a `token`, `secret`,
/// `pass`, `auth`, … in it), its value looks random (16 or more letters and digits mixed, no
/// `/`, `:` or blank), or it is a URL with a user part. `Accept = "application/json"` and
/// `X-Env = "production"` are not: every request would carry them.
pub fn route_header_is_credential(name: &str, value: &str) -> bool {
    // A shorter value is not looked for (it would turn up in unrelated text; tester 164:
    // `gateway check` called `X-Api-Key = "2.0"` a credential).
    value.trim().len() >= vigil_core::redact::MIN_REGISTERED_LEN
        && crate::stdio::is_credential(name, value)
}

/// What every MCP client sends, in bodies and headers: a credential found in it would refuse
/// every request of its route ([`common_word`]).
const EVERY_REQUEST: &str = concat!(
    r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","#,
    r#""capabilities":{"roots":{"listChanged":true},"sampling":{}},"clientInfo":{"name":"client","version":"1.0.0"}}}"#,
    "\n",
    r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
    "\n",
    r#"{"jsonrpc":"2.0","id":2,"method":"tools/list","params":{"cursor":null}}"#,
    "\n",
    r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"read_file","arguments":{"path":"README.md"},"_meta":{"progressToken":1}}}"#,
    "\n",
    r#"{"jsonrpc":"2.0","id":4,"result":{"content":[],"isError":false,"structuredContent":{}}}"#,
    "\napplication/json, text/event-stream\napplication/json; charset=utf-8\n",
    "2025-06-18 2025-11-25 2026-07-28 2025-03-26\nkeep-alive\ngzip, deflate, br\n",
    "mcp-session-id mcp-protocol-version mcp-method mcp-name content-type content-length accept ",
    "accept-encoding user-agent last-event-id host connection authorization\n",
);

/// Whether a credential `value` reads as an ordinary word or number (`default`, `vault-kv`,
/// `30000000`): a header named like a credential (`X-Key-Id`) holding one makes every request
/// that mentions the word refused (tester 165), which the gateway says at start.
pub fn reads_as_word(value: &str) -> bool {
    let v = value.trim();
    v.len() <= 16
        && (v
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b == b'-' || b == b'_')
            || v.bytes().all(|b| b.is_ascii_digit()))
}

/// `text` (a line a stdio server wrote, for the log) with every secret registered with
/// `vigil_core::redact` masked where it is spread out (wrapped, cut into groups,
/// percent-encoded; tester 165: a key in blank-separated groups reached the log), which the
/// log's own redactor, reading values as written and encoded, does not see. The matcher is
/// built again only when the registered values changed.
pub(crate) fn mask_spread_registered(text: &str) -> Option<String> {
    use std::sync::Mutex;
    type Built = (usize, Option<Arc<Credentials>>);
    static BUILT: Mutex<Option<Built>> = Mutex::new(None);
    if !spread(text.as_bytes()) {
        return None;
    }
    let generation = vigil_core::redact::generation();
    let creds = {
        let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
        match &*built {
            Some((g, c)) if *g == generation => c.clone(),
            _ => {
                let secrets = vigil_core::redact::registered_secrets();
                let c = match Credentials::new(secrets.iter().map(String::as_str)) {
                    Ok(c) => c.map(Arc::new),
                    Err(e) => {
                        crate::stdio::log_matcher_failed(&e);
                        None
                    }
                };
                *built = Some((generation, c.clone()));
                c
            }
        }
    };
    let masked = creds?.mask_wrapped(text.as_bytes())?;
    Some(String::from_utf8_lossy(&masked).into_owned())
}

/// Whether a credential `value` is text every MCP request carries (`jsonrpc`, `tools/call`,
/// `application/json`): every request on its route would be refused as holding it.
pub fn common_word(value: &str) -> bool {
    matches!(Credentials::new([value]), Ok(Some(c)) if c.in_request(EVERY_REQUEST.as_bytes()))
}

/// The bytes `value` stands for when it is base64 (either alphabet, padded or not) or hex
/// text of 16 or more characters: none, one or both readings.
pub(crate) fn decoded_value(value: &str) -> Vec<Vec<u8>> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    use base64::Engine as _;
    if value.len() < 16 {
        return Vec::new();
    }
    let mut out = Vec::new();
    if value.len().is_multiple_of(2) && value.bytes().all(|b| b.is_ascii_hexdigit()) {
        let bytes: Option<Vec<u8>> = (0..value.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&value[i..i + 2], 16).ok())
            .collect();
        out.extend(bytes);
    }
    if let Some(bytes) = [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD]
        .iter()
        .find_map(|e| e.decode(value).ok())
    {
        if bytes.len() >= ENCODED_MIN && !out.contains(&bytes) {
            out.push(bytes);
        }
    }
    out
}

/// Up to this many forms are searched one by one ([`memchr::memmem`]); more, by one automaton.
const FEW: usize = 8;

/// The credential values of one route, as they may appear in an answer.
pub struct Credentials {
    matcher: AhoCorasick,
    /// One searcher per form when there are few ([`FEW`]): what [`Credentials::holds`] asks.
    few: Vec<memchr::memmem::Finder<'static>>,
    /// The values hex- and base64-encoded ([`encoded_forms`]), for requests
    /// ([`Credentials::holds_encoded`]); `None` when every value is too short to encode safely.
    encoded: Option<(AhoCorasick, usize)>,
    /// Every form and encoding, matched in any ASCII case: for header names, which arrive
    /// lower-cased ([`Credentials::in_header_name`]).
    folded: Option<(AhoCorasick, usize)>,
    count: usize,
    /// The shortest form's length: a shorter text (most header names and values) holds none.
    shortest: usize,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credentials({} forms)", self.count)
    }
}

impl Credentials {
    /// The matcher of `values` (each as written, JSON-escaped, and, for `Scheme credential`
    /// such as `Bearer …`, the credential alone); `None` when none is long enough to be one
    /// (shorter than `vigil_core::redact::MIN_REGISTERED_LEN`, as the logs). An automaton
    /// that cannot be built (too many or too long values for its limits) is an error, never a
    /// check dropped in silence (review of session 32).
    pub fn new<'a>(
        values: impl IntoIterator<Item = &'a str>,
    ) -> Result<Option<Credentials>, aho_corasick::BuildError> {
        let min = vigil_core::redact::MIN_REGISTERED_LEN;
        let mut forms: Vec<String> = Vec::new();
        for v in values {
            let v = v.trim();
            let mut add = |s: &str| {
                if s.len() >= min && !forms.iter().any(|f| f == s) {
                    forms.push(s.to_owned());
                }
            };
            add(v);
            if let Some((_, rest)) = v.split_once(char::is_whitespace) {
                add(rest.trim());
            }
            // A URL's password alone (tester 164: `PW=<the password of DB_URL>` went out).
            if let Some(password) = vigil_core::redact::url_password(v) {
                add(password);
            }
        }
        // Encoded, only as written (an escaped spelling is JSON's, not the value's).
        let raw = forms.len();
        // As JSON writes them: escaped, and with `/` as `\/` (PHP's `json_encode`, some Java
        // and Go encoders; tester 159: a base64 key's `/` hid it).
        let escaped: Vec<String> = forms
            .iter()
            .filter_map(|f| serde_json::to_string(f).ok())
            .map(|e| e.trim_matches('"').to_owned())
            .flat_map(|e| {
                let slashed = e.replace('/', "\\/");
                [e, slashed]
            })
            .collect();
        for e in escaped {
            if !forms.contains(&e) {
                forms.push(e);
            }
        }
        if forms.is_empty() {
            return Ok(None);
        }
        let mut encodings: Vec<String> = forms[..raw]
            .iter()
            .filter(|f| f.len() >= ENCODED_MIN)
            .flat_map(|f| encoded_forms(f.as_bytes()))
            .collect();
        // A value that is itself base64 or hex text (`openssl rand -base64 48`, `-hex 20`) is
        // used decoded as often as not: its bytes encoded the other way are the secret too
        // (tester 164: the hex of a base64 key's bytes went through).
        for f in &forms[..raw] {
            for bytes in decoded_value(f) {
                for e in encoded_forms(&bytes) {
                    if !encodings.contains(&e) && !forms.contains(&e) {
                        encodings.push(e);
                    }
                }
            }
        }
        let automaton = |texts: &[String], fold: bool| {
            AhoCorasick::builder()
                .match_kind(MatchKind::LeftmostLongest)
                .kind(Some(aho_corasick::AhoCorasickKind::DFA))
                .prefilter(false)
                .ascii_case_insensitive(fold)
                .build(texts)
                .map(|m| (m, texts.iter().map(String::len).min().unwrap_or(0)))
        };
        let encoded = if encodings.is_empty() {
            None
        } else {
            Some(automaton(&encodings, false)?)
        };
        let everything: Vec<String> = forms.iter().chain(&encodings).cloned().collect();
        let folded = Some(automaton(&everything, true)?);
        // No prefilter: the automaton's own pick is one byte of the secrets, and a key whose
        // rarest byte is common in requests (a letter of every JWT) made each request's check
        // cost 30 times more (~10k instructions against ~350; session 32). Reading every byte
        // costs the same whatever the keys hold.
        let matcher = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .kind(Some(aho_corasick::AhoCorasickKind::DFA))
            .prefilter(false)
            .build(&forms)?;
        // A few forms (the usual case: a signing key, its escaped spelling, a route's API key)
        // are each found faster by `memmem`, whose search checks two bytes of the form at their
        // distance in a vector step and stands down by itself when they keep matching.
        let few = if forms.len() <= FEW {
            forms
                .iter()
                .map(|f| memchr::memmem::Finder::new(f.as_bytes()).into_owned())
                .collect()
        } else {
            Vec::new()
        };
        Ok(Some(Credentials {
            matcher,
            few,
            encoded,
            folded,
            count: forms.len(),
            shortest: forms.iter().map(String::len).min().unwrap_or(0),
        }))
    }

    /// Whether `bytes` hold one of the values.
    pub fn holds(&self, bytes: &[u8]) -> bool {
        bytes.len() >= self.shortest
            && if self.few.is_empty() {
                self.matcher.is_match(bytes)
            } else {
                self.few.iter().any(|f| f.find(bytes).is_some())
            }
    }

    /// Whether `bytes` hold one of the values hex- or base64-encoded (in either alphabet, at
    /// any alignment; tester 157's leftover: a tool argument carrying the signing key as
    /// `base64` went up).
    pub fn holds_encoded(&self, bytes: &[u8]) -> bool {
        self.encoded.as_ref().is_some_and(|(m, shortest)| {
            bytes.len() >= *shortest && has_run(bytes, *shortest) && m.is_match(bytes)
        })
    }

    /// Whether a request's text (a body, a header value, a target) holds one of the values,
    /// as written or encoded ([`Credentials::holds_encoded`]), also once its `%XX` escapes are
    /// undone (any of them: `%63` for `c` too; tester 161) and once it is read without the
    /// blanks and line breaks that wrap encoded text (`base64` and `xxd -p` output, JSON's
    /// `\n`, `\r`, `\t` and `\/` escapes of them). JSON's `\u` escapes are
    /// [`Credentials::mask`]'s. A text shorter than the shortest form is not read: undoing
    /// escapes and dropping blanks only shortens it.
    pub fn in_request(&self, bytes: &[u8]) -> bool {
        let shortest = self
            .encoded
            .as_ref()
            .map_or(self.shortest, |(_, n)| (*n).min(self.shortest));
        if bytes.len() < shortest {
            return false;
        }
        let found = |b: &[u8]| {
            self.holds(b) || self.holds_encoded(b) || {
                // Wrapped: read again without the breaks, when there are any.
                memchr::memchr3(b' ', b'\n', b'\\', b).is_some()
                    || memchr::memchr2(b'\r', b'\t', b).is_some()
            } && {
                // Encoded forms; a plain value only where the text is spread as encoded text
                // is (a run of 16 before a break or blank; tester 164: the signing key
                // wrapped at 16 went up), or `letmein` would refuse "let me in" (review).
                let flat = unwrapped(b);
                self.holds_encoded(&flat) || (spread(b) && self.holds(&flat))
            }
        };
        // Percent-encoded, up to three times over (tester 165: `%252F` in a query).
        let decoded = |b: &[u8]| {
            if found(b) {
                return true;
            }
            let mut t = std::borrow::Cow::Borrowed(b);
            for _ in 0..3 {
                if memchr::memchr(b'%', &t).is_none() {
                    return false;
                }
                t = std::borrow::Cow::Owned(crate::sessions::percent_decoded(&t, false));
                if found(&t) {
                    return true;
                }
            }
            false
        };
        if decoded(bytes) {
            return true;
        }
        // JSON's escapes inside an encoded value (tester 162: `U2Vj\u0052…`, lines joined by
        // `\u000a`, or by a `\\n` of JSON inside a JSON string; every JSON reader upstream
        // undoes them), up to three levels as for answers; in the text as it came and once
        // percent-decoded (tester 165: `%5Cu0063…` and `\/` in a query).
        let once = (memchr::memchr(b'%', bytes).is_some())
            .then(|| crate::sessions::percent_decoded(bytes, false));
        for start in std::iter::once(bytes).chain(once.as_deref()) {
            let mut text = start.to_vec();
            for _ in 0..3 {
                if memchr::memchr(b'\\', &text).is_none() {
                    break;
                }
                text = json_unescaped(&text);
                if decoded(&text) {
                    return true;
                }
            }
        }
        false
    }

    /// Whether `bytes` hold one of the values as written, escaped or encoded.
    pub fn any_form(&self, bytes: &[u8]) -> bool {
        self.holds(bytes) || self.holds_encoded(bytes)
    }

    /// Whether a header's name holds one of the values, in any form, in any ASCII case.
    pub fn in_header_name(&self, name: &str) -> bool {
        self.folded
            .as_ref()
            .is_some_and(|(m, shortest)| name.len() >= *shortest && m.is_match(name))
    }

    /// `bytes` with every value masked, when one was there; also when one is there once the
    /// text's `\uXXXX` escapes are undone (a JSON document written into a tool's text, or
    /// into a comment, by Go's `encoding/json`: `\u0026` for `&`; tester 154), the text is
    /// given with them undone and the value masked.
    pub fn mask(&self, bytes: &[u8]) -> Option<Vec<u8>> {
        let raw = self.holds(bytes).then(|| {
            self.matcher
                .replace_all_bytes(bytes, &vec![MASK.as_bytes(); self.count])
        });
        let text = raw.as_deref().unwrap_or(bytes);
        // Only a `\u` escape can spell one the bytes do not hold; read also beside a raw copy
        // masked (tester 165).
        let plain = if has_escape(text) {
            std::str::from_utf8(text)
                .ok()
                .and_then(|t| self.mask_str_plain(t))
                .map(String::into_bytes)
                .or(raw)
        } else {
            raw
        };
        // Hex or base64 of a value (an upstream that prints `base64` of its key; tester 161).
        let text = plain.as_deref().unwrap_or(bytes);
        let encoded = match &self.encoded {
            Some((m, _)) if self.holds_encoded(text) => {
                Some(m.replace_all_bytes(text, &vec![MASK.as_bytes(); m.patterns_len()]))
            }
            _ => plain,
        };
        // Wrapped across lines, as `base64` and `xxd -p` print (tester 162's leftover).
        let text = encoded.as_deref().unwrap_or(bytes);
        self.mask_wrapped(text).or(encoded)
    }

    /// [`Credentials::mask`] of a string: the masks replace whole matches of UTF-8 forms (and
    /// spread values' ASCII characters), so the text stays as much UTF-8 as it was.
    fn mask_str(&self, s: &str) -> Option<String> {
        self.mask(s.as_bytes()).map(|m| {
            String::from_utf8(m)
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
        })
    }

    /// `text` with each value, as written or hex- or base64-encoded, that is spread out
    /// (wrapped across lines, cut into groups by blanks, percent-encoded: [`spread`]) masked
    /// from its first character to its last, what lies between them included; `None` when
    /// `text` holds none.
    fn mask_wrapped(&self, text: &[u8]) -> Option<Vec<u8>> {
        if text.len()
            < self
                .shortest
                .min(self.encoded.as_ref().map_or(usize::MAX, |e| e.1))
            || !spread(text)
        {
            return None;
        }
        // Percent-decoded first; as written when that finds none (a `%` before wrapped hex
        // would eat two of its digits; review).
        let find = |percent: bool| {
            let (flat, at) = unwrapped_at(text, percent);
            let mut hits: Vec<(usize, usize)> = self
                .matcher
                .find_iter(&flat)
                .map(|m| (m.start(), m.end()))
                .collect();
            if let Some((m, shortest)) = &self.encoded {
                if has_run(&flat, *shortest) {
                    hits.extend(m.find_iter(&flat).map(|m| (m.start(), m.end())));
                }
            }
            (hits, at)
        };
        let (mut hits, mut at) = find(true);
        if hits.is_empty() && memchr::memchr(b'%', text).is_some() {
            (hits, at) = find(false);
        }
        if hits.is_empty() {
            return None;
        }
        hits.sort_unstable();
        let mut out = Vec::with_capacity(text.len());
        let mut last = 0;
        for (start, end) in hits {
            let from = at[start].0;
            let (to, width) = at[end - 1];
            let to = to + width;
            if to <= last {
                continue;
            }
            out.extend_from_slice(&text[last..from.max(last)]);
            if from >= last {
                out.extend_from_slice(MASK.as_bytes());
            }
            last = to;
        }
        out.extend_from_slice(&text[last..]);
        Some(out)
    }

    /// Whether an answer's bytes may hold a value spread out: [`spread`] says they may, and
    /// read unwrapped (percent-decoded or not) they hold a form (review: most answers with a
    /// path or URL were read whole and every string unwrapped).
    fn may_hold_wrapped(&self, raw: &[u8]) -> bool {
        raw.len()
            >= self
                .shortest
                .min(self.encoded.as_ref().map_or(usize::MAX, |e| e.1))
            && spread(raw)
            && [true, false].iter().any(|percent| {
                let (flat, _) = unwrapped_at(raw, *percent);
                self.holds(&flat) || self.holds_encoded(&flat)
            })
    }

    /// [`Credentials::mask_str`] of the values as written and escaped, not encoded.
    fn mask_str_plain(&self, s: &str) -> Option<String> {
        // As written first; then, in what is left, the copies escapes spell (tester 165: a
        // `\u` copy beside a raw one was kept once the raw one was masked).
        let raw = self
            .holds(s.as_bytes())
            .then(|| self.matcher.replace_all(s, &vec![MASK; self.count]));
        let text = raw.as_deref().unwrap_or(s);
        // Up to three levels: JSON in a JSON string in a tool's text (tester 155).
        let mut undone = unescape_u(text);
        for _ in 0..3 {
            let Some(u) = undone else { break };
            if self.holds(u.as_bytes()) {
                return Some(self.matcher.replace_all(&u, &vec![MASK; self.count]));
            }
            undone = unescape_u(&u);
        }
        raw
    }

    /// Masks every string of `v` (object keys too); whether anything changed, or `Err` when
    /// two keys of one object would read alike once masked (tester 164: the second was lost
    /// in silence): the answer cannot be shown as it stands.
    fn mask_value(&self, v: &mut Value) -> Result<bool, KeysCollide> {
        Ok(match v {
            Value::String(s) => match self.mask_str(s) {
                Some(m) => {
                    *s = m;
                    true
                }
                None => false,
            },
            Value::Array(a) => {
                // Every element, not only up to the first change.
                let mut changed = false;
                for x in a.iter_mut() {
                    changed |= self.mask_value(x)?;
                }
                changed
            }
            Value::Object(o) => {
                let mut changed = false;
                // A key holding one, encoded too (tester 162: hex of a key as an object's key).
                if o.keys().any(|k| {
                    self.any_form(k.as_bytes()) || has_escape(k.as_bytes()) || spread(k.as_bytes())
                }) {
                    let old = std::mem::take(o);
                    for (k, x) in old {
                        let k = match self.mask_str(&k) {
                            Some(m) => {
                                changed = true;
                                m
                            }
                            None => k,
                        };
                        if o.insert(k, x).is_some() {
                            return Err(KeysCollide);
                        }
                    }
                }
                for x in o.values_mut() {
                    changed |= self.mask_value(x)?;
                }
                changed
            }
            _ => false,
        })
    }
}

/// Two keys of one JSON object that read alike once masked.
#[derive(Debug)]
struct KeysCollide;

/// Whether `bytes` hold a `\u` or `\/` (a JSON escape, or text that reads as one): only
/// such an escape can spell a credential the bytes do not hold (a mix of `/` and `\/`).
fn has_escape(bytes: &[u8]) -> bool {
    memchr::memchr_iter(b'\\', bytes).any(|i| matches!(bytes.get(i + 1), Some(b'u' | b'/')))
}

/// `s` with its JSON escapes undone once, when it has a `\uXXXX` one: `\uXXXX` (surrogate
/// pairs too) as the characters they are, `\\`, `\"` and `\/` as theirs (so an escape of an
/// escape, JSON inside a JSON string, comes out one level less escaped); an escape that is not
/// one (a lone surrogate, too few hex digits) is left.
fn unescape_u(s: &str) -> Option<String> {
    if !s.contains("\\u") && !s.contains("\\/") {
        return None;
    }
    // `\\`, `\"`, `\/` first, left to right, then the `\u` escapes of the result.
    let mut once = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, chars.peek()) {
            ('\\', Some('\\' | '"' | '/')) => once.push(chars.next().unwrap_or(c)),
            _ => once.push(c),
        }
    }
    if once != s {
        return Some(once);
    }
    let hex = |t: &str| -> Option<u32> {
        (t.len() == 4 && t.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| u32::from_str_radix(t, 16).ok())
            .flatten()
    };
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("\\u") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        let unit = after.get(..4).and_then(hex);
        let low = after
            .get(4..6)
            .filter(|t| *t == "\\u")
            .and_then(|_| after.get(6..10))
            .and_then(hex);
        let (c, used) = match (unit, low) {
            (Some(h @ 0xd800..=0xdbff), Some(l @ 0xdc00..=0xdfff)) => (
                char::from_u32(0x10000 + ((h - 0xd800) << 10) + (l - 0xdc00)),
                10,
            ),
            (Some(u), _) => (char::from_u32(u), 4),
            _ => (None, 0),
        };
        match c {
            Some(c) => {
                out.push(c);
                rest = &after[used..];
            }
            None => {
                out.push_str("\\u");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    Some(out)
}

/// The [`Hook`] that masks a route's credentials in every answer on it.
pub struct CredentialHook {
    creds: Arc<Credentials>,
    metrics: Arc<crate::metrics::Metrics>,
    route: String,
}

impl std::fmt::Debug for CredentialHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredentialHook")
            .field("route", &self.route)
            .finish_non_exhaustive()
    }
}

impl CredentialHook {
    /// The hook for answers on `route`.
    pub fn new(
        creds: Arc<Credentials>,
        metrics: Arc<crate::metrics::Metrics>,
        route: &str,
    ) -> CredentialHook {
        CredentialHook {
            creds,
            metrics,
            route: route.to_owned(),
        }
    }

    fn found(&self, place: &str) {
        self.metrics
            .count_secrets(&self.route, place, &[RULE.to_owned()]);
        tracing::warn!(
            route = %self.route,
            place,
            "a credential the gateway holds (a value of the route's headers or env, or one of the gateway's own secrets) in an answer: masked"
        );
    }
}

impl Hook for CredentialHook {
    fn wants(&self, _req: &RequestInfo, raw: &[u8]) -> bool {
        // A JSON `\u` escape may spell a credential the raw bytes do not hold (Go's
        // `encoding/json` writes `&` as `\u0026`; tester 153): such a message is read, and its
        // strings, decoded, are matched.
        self.creds.holds(raw)
            || has_escape(raw)
            || self.creds.holds_encoded(raw)
            || self.creds.may_hold_wrapped(raw)
    }

    fn message(&self, _req: &RequestInfo, msg: &mut Value) -> Action {
        match self.creds.mask_value(msg) {
            Ok(true) => {
                self.found("results");
                Action::Changed
            }
            Ok(false) => Action::Keep,
            Err(KeysCollide) => {
                self.found("results");
                Action::Withhold
            }
        }
    }

    fn text(&self, _req: &RequestInfo, line: &[u8]) -> Option<Vec<u8>> {
        let m = self.creds.mask(line)?;
        self.found("results");
        Some(m)
    }

    fn unread(&self, _req: &RequestInfo, body: &[u8]) -> Option<Vec<u8>> {
        let m = self.creds.mask(body)?;
        self.found("results");
        Some(m)
    }

    fn headers(&self, _req: &RequestInfo, headers: &mut http::HeaderMap) {
        // One pass over the pairs first: nearly every answer holds none.
        // Percent-encoded, `\u`-escaped or cut into groups too (tester 165: a `Location`-like
        // header carried the key `%XX`-encoded): a value that may hold one is masked to see.
        let holds = |v: &[u8]| {
            self.creds.any_form(v)
                || ((has_escape(v) || self.creds.may_hold_wrapped(v))
                    && self.creds.mask(v).is_some())
        };
        if !headers
            .iter()
            .any(|(k, v)| self.creds.in_header_name(k.as_str()) || holds(v.as_bytes()))
        {
            return;
        }
        let names: Vec<http::HeaderName> = headers
            .keys()
            .filter(|k| {
                self.creds.in_header_name(k.as_str())
                    || headers.get_all(*k).iter().any(|v| holds(v.as_bytes()))
            })
            .cloned()
            .collect();
        if names.is_empty() {
            return;
        }
        self.found("response_header");
        for k in names {
            let values: Vec<http::HeaderValue> = headers.get_all(&k).iter().cloned().collect();
            headers.remove(&k);
            if self.creds.in_header_name(k.as_str()) {
                continue;
            }
            for v in values {
                let v = match self.creds.mask(v.as_bytes()) {
                    Some(m) => match http::HeaderValue::from_bytes(&m) {
                        Ok(v) => v,
                        Err(_) => continue,
                    },
                    None => v,
                };
                headers.append(k.clone(), v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_is_found_hex_and_base64_encoded_at_any_alignment() {
        use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
        use base64::Engine as _;
        let key = "Zx9/Qw+k3y-value?>~";
        let c = Credentials::new([key]).unwrap().unwrap();
        for lead in ["", "a", "ab", "abc", "user:"] {
            for trail in ["", "!", "xy"] {
                let text = format!("{lead}{key}{trail}");
                let hex: String = text.bytes().map(|b| format!("{b:02X}")).collect();
                for encoded in [
                    STANDARD.encode(&text),
                    URL_SAFE_NO_PAD.encode(&text),
                    hex.clone(),
                    hex.to_lowercase(),
                ] {
                    let body = format!("{{\"arguments\":{{\"note\":\"{encoded}\"}}}}");
                    assert!(c.holds_encoded(body.as_bytes()), "{text} as {encoded}");
                    assert!(!c.holds(body.as_bytes()));
                }
            }
        }
        // Another value of the same length, encoded, is not this one.
        let other = STANDARD.encode("Zx9/Qw+k3y-valuf?>~");
        assert!(!c.holds_encoded(other.as_bytes()));
        // Too short to look for encoded.
        assert!(Credentials::new(["short-val"])
            .unwrap()
            .unwrap()
            .encoded
            .is_none());
    }

    #[test]
    fn requests_are_read_decoded_and_unwrapped_and_answers_masked_encoded() {
        use base64::engine::general_purpose::STANDARD;
        use base64::Engine as _;
        let key = "c35d1f0a9be24c7d8e6f";
        let c = Credentials::new([key]).unwrap().unwrap();
        let every: String = key.bytes().map(|b| format!("%{b:02X}")).collect();
        let one = format!("%63{}", &key[1..]);
        let b64 = STANDARD.encode(format!("secret={key}; and some more text to wrap it"));
        let wrapped: Vec<&str> = b64
            .as_bytes()
            .chunks(8)
            .map(|l| std::str::from_utf8(l).unwrap())
            .collect();
        for text in [
            every.clone(),
            one,
            format!("a {} b", wrapped.join("\\n")),
            format!("a {} b", wrapped.join("\r\n")),
            format!("a {} b", wrapped.join(" ")),
        ] {
            assert!(c.in_request(text.as_bytes()), "{text}");
        }
        assert!(!c.in_request(b"{\"text\": \"an ordinary call, 100% plain, with spaces\"}"));
        // Blanks are dropped only to find encoded text: a plain value is not read across them
        // (review: `letmein` refused "let me in").
        let word = Credentials::new(["letmein"]).unwrap().unwrap();
        assert!(!word.in_request(b"{\"text\": \"please let me in\"}"));
        assert!(word.in_request(b"{\"text\": \"letmein\"}"));
        // A `%` right before wrapped hex (review: percent-decoding ate two digits), and runs of
        // backslashes kept as they are.
        let hex: String = key.bytes().map(|b| format!("{b:02x}")).collect();
        let pct_wrap = format!("{{\"x\":\"%{}\\n{}\"}}", &hex[..16], &hex[16..]);
        assert!(c.in_request(pct_wrap.as_bytes()), "{pct_wrap}");
        assert_eq!(unwrapped(b"a\\\\\\x b\\\\nc"), b"a\\\\\\xbc".to_vec());
        // Wrapped as encoded text is (tester 164), the value as written is found.
        let wrapped_key = format!("{{\"x\":\"{}\\n{}\"}}", &key[..16], &key[16..]);
        assert!(c.in_request(wrapped_key.as_bytes()), "{wrapped_key}");
        assert!(c.in_header_name(&format!("x-{key}")));
        assert!(c.in_header_name(&format!("x-{}", key.to_uppercase()).to_lowercase()));
        assert!(!c.in_header_name("x-request-id"));
        // A JSON `\u` escape inside the encoded value (tester 162), also a `\u000a` wrap.
        let escaped = format!(
            "{{\"t\":\"{}\\u00{:02x}{}\"}}",
            &b64[..6],
            b64.as_bytes()[6],
            &b64[7..]
        );
        assert!(c.in_request(escaped.as_bytes()), "{escaped}");
        let wrapped_u = format!("{{\"t\":\"{}\"}}", wrapped.join("\\u000a"));
        assert!(c.in_request(wrapped_u.as_bytes()), "{wrapped_u}");
        // JSON inside a JSON string: lines joined by an escaped `\\n` (tester 162).
        let nested = format!("{{\"t\":\"{}\"}}", wrapped.join("\\\\n"));
        assert!(c.in_request(nested.as_bytes()), "{nested}");
        assert_eq!(
            json_unescaped(br#"a\"b\\c\/d\u0041\ud83d\ude00\ud800x\q"#),
            "a\"b\\c/dA\u{1F600}\u{FFFD}x\\q".as_bytes()
        );
        // An object's key holding it hex-encoded is masked (tester 162).
        let hex: String = key.bytes().map(|b| format!("{b:02x}")).collect();
        let mut v: Value = serde_json::json!({ "structured": { hex.clone(): 1 } });
        assert!(c.mask_value(&mut v).unwrap());
        assert!(!v.to_string().contains(&hex), "{v}");
        // An answer printing the key as base64 gets it masked; the rest of the text stays.
        let answer = format!("here: {b64} (done)");
        let masked = String::from_utf8(c.mask(answer.as_bytes()).unwrap()).unwrap();
        assert!(
            masked.contains(MASK) && masked.ends_with("(done)"),
            "{masked}"
        );
        assert!(!masked.contains(&b64[8..30]), "{masked}");
    }

    #[test]
    fn a_credential_every_request_carries_is_told_apart() {
        for word in [
            "jsonrpc",
            "tools/call",
            "application/json",
            "2025-11-25",
            "content",
        ] {
            assert!(common_word(word), "{word}");
        }
        for key in ["c35d1f0a9be24c7d8e6f", "hunter2hunter2", "sk-live-Zx9Qw81"] {
            assert!(!common_word(key), "{key}");
        }
        // Two keys that read alike once masked: the answer is withheld, not a key lost.
        let c = Credentials::new(["c35d1f0a9be24c7d8e6f"]).unwrap().unwrap();
        let mut v = serde_json::json!({"c35d1f0a9be24c7d8e6f": "a", MASK: "b"});
        assert!(c.mask_value(&mut v).is_err());
        let mut v = serde_json::json!({"c35d1f0a9be24c7d8e6f": "a", "other": "b"});
        assert!(c.mask_value(&mut v).unwrap());
        assert_eq!(v, serde_json::json!({MASK: "a", "other": "b"}));
        assert!(!route_header_is_credential("X-Api-Key", "2.0"));
        assert!(route_header_is_credential("X-Api-Key", "c35d1f0a9b"));
        assert!(!route_header_is_credential("X-Env", "production"));
    }

    #[test]
    fn answers_mask_a_value_encoded_and_wrapped_across_lines() {
        use base64::engine::general_purpose::STANDARD;
        use base64::Engine as _;
        // Tester 162's leftover: `base64 .env` (76 columns) and `xxd -p` (60) in an answer.
        let key = "c35d1f0a9be24c7d8e6f";
        let c = Credentials::new([key]).unwrap().unwrap();
        let text = format!("API_URL=http://localhost:9000\nSIGNING_KEY={key}\nDEBUG=0\n");
        let b64 = STANDARD.encode(&text);
        let hex: String = text.bytes().map(|b| format!("{b:02x}")).collect();
        let wrap = |t: &str, at: usize, sep: &str| {
            t.as_bytes()
                .chunks(at)
                .map(|l| std::str::from_utf8(l).unwrap())
                .collect::<Vec<_>>()
                .join(sep)
        };
        let leaks = |masked: &str| {
            let flat = unwrapped(masked.as_bytes());
            c.holds_encoded(&flat) || c.holds(&flat)
        };
        for (encoded, at) in [(&b64, 76), (&b64, 20), (&hex, 60)] {
            for sep in ["\n", "\r\n"] {
                let body = format!("before\n{}\nafter", wrap(encoded, at, sep));
                let masked = String::from_utf8(c.mask(body.as_bytes()).unwrap()).unwrap();
                assert!(!leaks(&masked), "{masked}");
                assert!(masked.starts_with("before\n") && masked.ends_with("\nafter"));
                // In a JSON answer: the raw message is wanted, its string masked.
                let mut v = serde_json::json!({"content": [{"type": "text", "text": body}]});
                let raw = v.to_string();
                assert!(c.may_hold_wrapped(raw.as_bytes()), "{raw}");
                assert!(c.mask_value(&mut v).unwrap());
                let masked = v["content"][0]["text"].as_str().unwrap();
                assert!(!leaks(masked), "{masked}");
                assert!(masked.starts_with("before\n") && masked.ends_with("\nafter"));
            }
        }
        // Tester 164: the value as written wrapped (a base64 key is itself base64 text), an
        // encoding cut into groups by blanks, and every byte percent-encoded.
        let groups = |t: &str, at: usize| wrap(t, at, " ");
        let pct: String = key.bytes().map(|b| format!("%{b:02X}")).collect();
        for body in [
            format!("raw\n{}\nend", wrap(key, 17, "\n")),
            format!("raw\n{}\nend", wrap(key, 16, "\r\n")),
            format!("b64sp {} end", groups(&b64, 16)),
            format!("hexsp {} end", groups(&hex, 16)),
            format!("pct {pct} end"),
        ] {
            let masked = String::from_utf8(c.mask(body.as_bytes()).unwrap()).unwrap();
            assert!(!leaks(&masked), "{masked}");
            let decoded = crate::sessions::percent_decoded(masked.as_bytes(), false);
            assert!(!c.holds(&decoded), "{masked}");
            assert!(
                masked.ends_with(" end") || masked.ends_with("\nend"),
                "{masked}"
            );
            let mut v = serde_json::json!({"text": body});
            assert!(c.may_hold_wrapped(v.to_string().as_bytes()));
            assert!(c.mask_value(&mut v).unwrap(), "{v}");
        }
        // JSON in a JSON string in the text: the wrap is `\\n` there (tester 164).
        let inner = serde_json::json!({"blob": wrap(&b64, 76, "\n")}).to_string();
        let outer = serde_json::json!({"inner": inner}).to_string();
        let mut v = serde_json::json!({"text": outer});
        assert!(c.may_hold_wrapped(v.to_string().as_bytes()));
        assert!(c.mask_value(&mut v).unwrap(), "{v}");
        assert!(
            !leaks(&v["text"].as_str().unwrap().replace('\\', "")),
            "{v}"
        );
        // A wrapped encoding as an object's key.
        let mut v = serde_json::json!({wrap(&b64, 64, "\n"): 1, "keep": "me"});
        assert!(c.mask_value(&mut v).unwrap(), "{v}");
        assert_eq!(v["keep"], "me");
        assert!(v.as_object().unwrap().keys().all(|k| !leaks(k)), "{v}");
        // A base64 or hex value's bytes encoded the other way (tester 164).
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let b64_key = STANDARD.encode(b"thirty-two bytes of a signing key");
        let b64c = Credentials::new([b64_key.as_str()]).unwrap().unwrap();
        let bytes_hex: String = b"thirty-two bytes of a signing key"
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert!(b64c.in_request(format!("k={bytes_hex}").as_bytes()));
        assert!(b64c.mask(format!("k={bytes_hex} end").as_bytes()).is_some());
        let hex_key = "00ff10ee20dd30cc40bb50aa";
        let hexc = Credentials::new([hex_key]).unwrap().unwrap();
        let as_b64 = URL_SAFE_NO_PAD.encode([
            0x00, 0xff, 0x10, 0xee, 0x20, 0xdd, 0x30, 0xcc, 0x40, 0xbb, 0x50, 0xaa,
        ]);
        assert!(hexc.in_request(as_b64.as_bytes()), "{as_b64}");
        // Tester 165: a `\u` copy beside a raw one; a header value percent-encoded, `\u`-escaped
        // or cut into groups; a query percent-encoded twice, or `\/` percent-encoded.
        let uesc: String = key.encode_utf16().map(|u| format!("\\u{u:04x}")).collect();
        for text in [
            format!("here: {key} {uesc} end"),
            format!("{uesc} and {key}"),
        ] {
            let masked = String::from_utf8(c.mask(text.as_bytes()).unwrap()).unwrap();
            assert!(
                !masked.contains(&uesc[..30]) && !masked.contains(key),
                "{masked}"
            );
            let mut v = serde_json::json!({ "t": text });
            assert!(c.mask_value(&mut v).unwrap());
            assert!(!v.to_string().contains(&uesc[..30]), "{v}");
        }
        let hook = CredentialHook::new(
            Arc::new(Credentials::new([key]).unwrap().unwrap()),
            Arc::new(crate::metrics::Metrics::default()),
            "/r",
        );
        let req = RequestInfo::default();
        for v in [pct.clone(), uesc.clone(), groups(key, 16)] {
            let mut h = http::HeaderMap::new();
            h.insert("x-leak", http::HeaderValue::from_str(&v).unwrap());
            h.insert("x-plain", http::HeaderValue::from_static("kept as it is"));
            hook.headers(&req, &mut h);
            let got = h.get("x-leak").map(|v| v.to_str().unwrap().to_owned());
            assert!(
                got.as_deref()
                    .is_none_or(|g| g.contains(MASK) && !g.contains(&v[..12])),
                "{got:?}"
            );
            assert_eq!(h.get("x-plain").unwrap(), "kept as it is");
        }
        let twice: String = key.bytes().map(|b| format!("%25{b:02X}")).collect();
        assert!(c.in_request(format!("/mcp?q={twice}").as_bytes()));
        let slashed = Credentials::new(["k3y/value-Zx9Qw/more"]).unwrap().unwrap();
        assert!(slashed.in_request(b"/mcp?q=k3y%5C/value-Zx9Qw%5C/more"));
        // A width under 16 is read only for the value as written after a long enough line:
        // prose with line breaks is not read again; nor an unrelated wrapped blob masked.
        assert!(!spread(b"Hello,\nthe build passed.\nBye"));
        let other = wrap(&STANDARD.encode([7u8; 300]), 76, "\n");
        assert!(spread(other.as_bytes()));
        assert_eq!(c.mask(other.as_bytes()), None);
    }

    #[test]
    fn spread_text_is_found_wherever_its_run_lies() {
        // The strided reading against the plain one: a run of 16 or more encoded characters
        // right before a break, a blank or backslashes escaping one.
        let slow = |b: &[u8]| {
            let enc = |c: u8| c.is_ascii_alphanumeric() || b"+/-_=".contains(&c);
            (0..b.len()).any(|end| {
                end >= WRAPPED_LINE
                    && b[end - WRAPPED_LINE..end].iter().all(|c| enc(*c))
                    && match b[end] {
                        b'\n' | b'\r' | b' ' | b'\t' => true,
                        b'\\' => matches!(
                            b[end..].iter().find(|c| **c != b'\\'),
                            Some(b'n' | b'r' | b't')
                        ),
                        _ => false,
                    }
            })
        };
        let alphabet = b"ab3=/ \n\\n.,\"";
        let mut seed = 0x2545_f491_u64;
        for _ in 0..3000 {
            let len = (seed % 90) as usize;
            let text: Vec<u8> = (0..len)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    // Mostly letters, so long runs occur.
                    let k = (seed % 40) as usize;
                    if k < 30 {
                        b'a' + (k % 3) as u8
                    } else {
                        alphabet[k % alphabet.len()]
                    }
                })
                .collect();
            assert_eq!(
                spread(&text),
                slow(&text),
                "{:?}",
                String::from_utf8_lossy(&text)
            );
        }
    }

    #[test]
    fn runs_of_encoded_text_are_found_wherever_they_lie() {
        let slow = |b: &[u8], min: usize| {
            b.split(|c| !(c.is_ascii_alphanumeric() || b"+/-_".contains(c)))
                .any(|w| w.len() >= min)
        };
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..3000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let len = (x % 90) as usize;
            let text: Vec<u8> = (0..len)
                .map(|i| {
                    let r = (x >> (i % 60)) as usize ^ i.wrapping_mul(2_654_435_761);
                    if r.is_multiple_of(7) {
                        b' '
                    } else {
                        b'a' + (r % 26) as u8
                    }
                })
                .collect();
            for min in [1, 2, 5, 9, 16, 40] {
                assert_eq!(
                    has_run(&text, min),
                    slow(&text, min),
                    "{min} {:?}",
                    String::from_utf8_lossy(&text)
                );
            }
        }
    }

    #[test]
    fn few_forms_and_many_are_found_alike() {
        let few = Credentials::new(["k3y/value-Zx9Qw"]).unwrap().unwrap();
        assert!(!few.few.is_empty());
        let names: Vec<String> = (0..12).map(|i| format!("cred-{i}-Zx9Qw/v")).collect();
        let many = Credentials::new(names.iter().map(String::as_str))
            .unwrap()
            .unwrap();
        assert!(many.few.is_empty());
        for (c, value) in [(&few, "k3y/value-Zx9Qw"), (&many, names[7].as_str())] {
            let escaped = value.replace('/', "\\/");
            for text in [value.to_owned(), format!("{{\"a\":\"x{escaped}y\"}}")] {
                assert!(c.holds(text.as_bytes()), "{text}");
            }
            assert!(!c.holds(&value.as_bytes()[..value.len() - 1]));
            assert!(!c.holds(b"nothing of the kind, only text of a common sort"));
        }
    }

    #[test]
    fn values_are_masked_as_written_escaped_and_without_their_scheme() {
        let c = Credentials::new(["Bearer up-t0ken-value", "k3y\"value", "short"])
            .unwrap()
            .unwrap();
        let mut v: Value = serde_json::json!({
            "saw": "up-t0ken-value and k3y\"value",
            "up-t0ken-value": ["x", "Bearer up-t0ken-value"],
            "plain": "short",
        });
        assert!(c.mask_value(&mut v).unwrap());
        let text = v.to_string();
        assert!(
            !text.contains("up-t0ken") && !text.contains("k3y"),
            "{text}"
        );
        assert!(text.contains("short"), "too short to be masked: {text}");
        assert_eq!(
            c.mask(br#"{"a":"k3y\"value"}"#).unwrap(),
            format!(r#"{{"a":"{MASK}"}}"#).into_bytes()
        );
        assert!(Credentials::new(["abc"]).unwrap().is_none());
    }

    #[test]
    fn a_credential_spelled_with_json_escapes_is_read_and_masked() {
        let c = Arc::new(
            Credentials::new(["k3y&V4lu3<Secr3t>991", "Bearer upstream-cred-Zx9Q"])
                .unwrap()
                .unwrap(),
        );
        let hook = CredentialHook::new(c, Arc::new(crate::metrics::Metrics::default()), "/mcp/x");
        let info = RequestInfo::default();
        for raw in [
            r#"{"result":{"api_key":"k3y\u0026V4lu3\u003cSecr3t\u003e991"}}"#,
            r#"{"result":{"x":"upstream\u002dcred\u002DZx9Q"}}"#,
            r#"{"result":{"upstr\u0065am-cred-Zx9Q":1}}"#,
        ] {
            assert!(hook.wants(&info, raw.as_bytes()), "{raw}");
            let mut v: Value = serde_json::from_str(raw).unwrap();
            assert!(
                matches!(hook.message(&info, &mut v), Action::Changed),
                "{raw}"
            );
            let text = v.to_string();
            assert!(!text.contains("Secr3t") && !text.contains("Zx9Q"), "{text}");
        }
        // A JSON document written into a tool's text (tester 154): escaped twice in the
        // answer, once in the string; and in a comment line or a plain body.
        let raw = r#"{"result":{"content":[{"type":"text","text":"{\"h\":\"k3y\\u0026V4lu3\\u003cSecr3t\\u003e991\"}"}]}}"#;
        let mut v: Value = serde_json::from_str(raw).unwrap();
        assert!(matches!(hook.message(&info, &mut v), Action::Changed));
        assert!(!v.to_string().contains("Secr3t"), "{v}");
        // JSON in a JSON string in the text (tester 155): three levels of escapes in the
        // answer.
        let doubled = serde_json::to_string(
            &serde_json::to_string(&serde_json::json!({"h": "k3y&V4lu3<Secr3t>991"}))
                .unwrap()
                .replace('&', "\\u0026"),
        )
        .unwrap();
        let mut v = serde_json::json!({"result": {"content": [{"type": "text", "text": doubled}]}});
        assert!(hook.wants(&info, v.to_string().as_bytes()));
        assert!(matches!(hook.message(&info, &mut v), Action::Changed));
        assert!(!v.to_string().contains("Secr3t"), "{v}");
        let line = br#": upstream\u002dcred-Zx9Q"#;
        let m = hook.text(&info, line).unwrap();
        assert!(!String::from_utf8_lossy(&m).contains("Zx9Q"));
        assert!(hook.text(&info, br#": nothing \u0026 here"#).is_none());
        assert_eq!(
            unescape_u(r#"a\ud83d\ude00b\u00"#).unwrap(),
            "a\u{1f600}b\\u00"
        );
    }
}
