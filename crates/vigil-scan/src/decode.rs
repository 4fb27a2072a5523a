//! Secrets behind an encoding: base64 (standard and URL-safe, padded or not), hex,
//! percent-encoding and `\uXXXX` / `\xXX` escapes, decoded and scanned again by the same rules,
//! recursively up to a depth (gitleaks's `--max-decode-depth`).
//!
//! Candidates are runs of a minimum length (base64 16 characters, hex 32, as gitleaks), decoded
//! only when the result is printable text. Each line holding decoded runs is rebuilt with the
//! runs decoded in place (with up to [`CONTEXT`] bytes of the line around them, so
//! `password=<base64>` keeps its key) and scanned; a match is kept when it touches decoded text,
//! and is placed on the encoded text it came from (a match reaching outside it spans both).
//! The text rebuilt and scanned is charged to a budget of the buffer's own size, so decoding
//! never costs more than the plain scan; a buffer whose budget runs out says so
//! ([`Decoded::stopped`]) and the scan reports itself incomplete.
//!
//! A rebuilt text is a list of [`Piece`]s, each either copied from the original or decoded from
//! an original span, so a position in the rebuilt text maps back to the original at any depth.

use crate::engine::{line_end, line_end_near, line_start_near, Hit};
use crate::Ruleset;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine as _;
use std::ops::Range;
use vigil_report::Encoding;

/// Bytes of a line kept on each side of the decoded runs when a line is rebuilt.
pub(crate) const CONTEXT: usize = 256;

/// The shortest base64 run decoded (gitleaks's bound).
const MIN_BASE64: usize = 16;

/// The shortest hex run decoded (gitleaks's bound).
const MIN_HEX: usize = 32;

/// The budget of a small buffer: decoding a short file is never what makes a scan slow.
const MIN_BUDGET: usize = 64 << 10;

/// A match found in decoded text, placed on the original buffer.
#[derive(Debug, Clone)]
pub(crate) struct DecodedHit {
    /// The hit, with secret and match spans in the original buffer.
    pub(crate) hit: Hit,
    /// The secret as decoded.
    pub(crate) secret: Vec<u8>,
    /// The decodings it was found behind, outermost first.
    pub(crate) chain: Vec<Encoding>,
}

/// What decoding one buffer gave.
#[derive(Debug, Default)]
pub(crate) struct Decoded {
    /// Matches found in decoded text.
    pub(crate) hits: Vec<DecodedHit>,
    /// Encoded runs decoded into text.
    pub(crate) segments: u64,
    /// Whether the budget ran out before every line was decoded.
    pub(crate) stopped: bool,
    /// Whether some text decoded `max_depth` times still held an encoded run, not decoded.
    pub(crate) too_deep: bool,
}

/// A span of rebuilt text: copied from `orig` (when `chain` is empty) or decoded from it.
#[derive(Debug, Clone)]
struct Piece {
    dec: Range<usize>,
    orig: Range<usize>,
    chain: Vec<Encoding>,
}

/// Text rebuilt with some runs decoded, and where each part came from.
struct Rebuilt {
    text: Vec<u8>,
    pieces: Vec<Piece>,
}

/// One encoded run found in a text, and its decoding.
struct Segment {
    at: Range<usize>,
    encoding: Encoding,
    decoded: Vec<u8>,
}

/// Decodes what is encoded in `data` and scans it with `rules`, up to `max_depth` decodings
/// deep.
pub(crate) fn scan(
    rules: &Ruleset,
    path: &str,
    commit: Option<&str>,
    data: &[u8],
    max_depth: u8,
) -> Decoded {
    let mut out = Decoded::default();
    if max_depth == 0 || data.is_empty() {
        return out;
    }
    let segments = find_segments(data, None);
    if segments.is_empty() {
        return out;
    }
    let mut budget = data.len().max(MIN_BUDGET);
    // Lines (or windows of long lines) holding decoded runs, each rebuilt once.
    let mut iter = segments.into_iter().peekable();
    while let Some(first) = iter.next() {
        // Line bounds are looked for only as far as the context reaches: on a long line of many
        // runs, each group reads its own neighbourhood, not the whole line.
        let ls = line_start_near(data, first.at.start, CONTEXT);
        let mut end = first.at.end;
        let mut group = vec![first];
        while let Some(next) = iter.peek() {
            if next.at.start > line_end_near(data, end, 2 * CONTEXT) {
                break;
            }
            end = next.at.end;
            group.extend(iter.next());
        }
        let le = line_end_near(data, end, CONTEXT);
        let window = Rebuilt {
            text: data[ls..le].to_vec(),
            pieces: vec![Piece {
                dec: 0..le - ls,
                orig: ls..le,
                chain: Vec::new(),
            }],
        };
        out.segments += group.len() as u64;
        let local: Vec<Segment> = group
            .into_iter()
            .map(|s| Segment {
                at: s.at.start - ls..s.at.end - ls,
                ..s
            })
            .collect();
        let rebuilt = splice(&window, local);
        if !descend(
            rules,
            path,
            commit,
            rebuilt,
            1,
            max_depth,
            &mut budget,
            &mut out,
        ) {
            out.stopped = true;
            return out;
        }
    }
    out
}

/// Scans one rebuilt text, then decodes what its decoded parts still hold, one level deeper.
/// Returns false when the budget ran out.
#[allow(clippy::too_many_arguments)]
fn descend(
    rules: &Ruleset,
    path: &str,
    commit: Option<&str>,
    r: Rebuilt,
    depth: u8,
    max_depth: u8,
    budget: &mut usize,
    out: &mut Decoded,
) -> bool {
    if r.text.len() > *budget {
        return false;
    }
    *budget -= r.text.len();
    for h in rules.hits(path, commit, &r.text) {
        let chain = r.chain_of(h.m_start.min(h.start)..h.m_end.max(h.end));
        if chain.is_empty() {
            continue; // found in text that was not encoded: the plain scan has it
        }
        out.hits.push(DecodedHit {
            hit: Hit {
                rule: h.rule,
                start: r.map(h.start, false),
                end: r.map(h.end, true),
                m_start: r.map(h.m_start, false),
                m_end: r.map(h.m_end, true),
            },
            secret: r.text[h.start..h.end].to_vec(),
            chain,
        });
    }
    let decoded: Vec<Range<usize>> = r
        .pieces
        .iter()
        .filter(|p| !p.chain.is_empty())
        .map(|p| p.dec.clone())
        .collect();
    let segments = find_segments(&r.text, Some(&decoded));
    if segments.is_empty() {
        return true;
    }
    if depth >= max_depth {
        // Decoded text that still decodes to text: what it holds was not looked at.
        out.too_deep = true;
        return true;
    }
    out.segments += segments.len() as u64;
    let next = splice(&r, segments);
    descend(rules, path, commit, next, depth + 1, max_depth, budget, out)
}

impl Rebuilt {
    /// The original offset of a rebuilt offset; inside a decoded piece, the start (or, for an
    /// `end`, the end) of its encoded span.
    fn map(&self, off: usize, end: bool) -> usize {
        let i = if end {
            self.pieces
                .partition_point(|p| p.dec.end < off)
                .min(self.pieces.len() - 1)
        } else {
            self.pieces
                .partition_point(|p| p.dec.end <= off)
                .min(self.pieces.len() - 1)
        };
        let p = &self.pieces[i];
        if p.chain.is_empty() {
            p.orig.start + (off.clamp(p.dec.start, p.dec.end) - p.dec.start)
        } else if end {
            p.orig.end
        } else {
            p.orig.start
        }
    }

    /// The decodings of the decoded pieces a span touches, outermost first.
    fn chain_of(&self, span: Range<usize>) -> Vec<Encoding> {
        let mut chain = Vec::new();
        let first = self.pieces.partition_point(|p| p.dec.end <= span.start);
        for p in self.pieces[first..]
            .iter()
            .take_while(|p| p.dec.start < span.end)
        {
            crate::engine::charge(1);
            if span.start < p.dec.end {
                for e in &p.chain {
                    if !chain.contains(e) {
                        chain.push(*e);
                    }
                }
            }
        }
        chain
    }
}

/// `r` with each segment replaced by its decoding.
fn splice(r: &Rebuilt, segments: Vec<Segment>) -> Rebuilt {
    let mut out = Rebuilt {
        text: Vec::with_capacity(r.text.len()),
        pieces: Vec::new(),
    };
    let copy = |out: &mut Rebuilt, x: usize, y: usize| {
        let first = r.pieces.partition_point(|p| p.dec.end <= x);
        for p in r.pieces[first..].iter().take_while(|p| p.dec.start < y) {
            crate::engine::charge(1);
            let (s, e) = (p.dec.start.max(x), p.dec.end.min(y));
            if s >= e {
                continue;
            }
            let orig = if p.chain.is_empty() {
                p.orig.start + (s - p.dec.start)..p.orig.start + (e - p.dec.start)
            } else {
                p.orig.clone()
            };
            let at = out.text.len();
            out.text.extend_from_slice(&r.text[s..e]);
            out.pieces.push(Piece {
                dec: at..out.text.len(),
                orig,
                chain: p.chain.clone(),
            });
        }
    };
    let mut pos = 0;
    for seg in segments {
        copy(&mut out, pos, seg.at.start);
        let mut chain = r.chain_of(seg.at.clone());
        chain.push(seg.encoding);
        let orig = r.map(seg.at.start, false)..r.map(seg.at.end, true);
        let at = out.text.len();
        out.text.extend_from_slice(&seg.decoded);
        out.pieces.push(Piece {
            dec: at..out.text.len(),
            orig,
            chain,
        });
        pos = seg.at.end;
    }
    copy(&mut out, pos, r.text.len());
    if out.pieces.is_empty() {
        out.pieces.push(Piece {
            dec: 0..0,
            orig: 0..0,
            chain: Vec::new(),
        });
    }
    out
}

/// Byte classes for runs of base64 characters (both alphabets) and hex digits.
const B64: u8 = 1;
const HEX: u8 = 2;
const STD: u8 = 4;
const URL: u8 = 8;

const CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        if c.is_ascii_alphanumeric() {
            t[b] = B64;
            if c.is_ascii_hexdigit() {
                t[b] |= HEX;
            }
        } else if c == b'+' || c == b'/' {
            t[b] = B64 | STD;
        } else if c == b'-' || c == b'_' {
            t[b] = B64 | URL;
        }
        b += 1;
    }
    t
};

/// The encoded runs of `text` that decode to printable text, in order and not overlapping.
/// With `within`, only runs touching one of those ranges (decoded text of a previous level).
/// Percent-encoding and escapes come first; a base64 or hex run overlapping or touching one
/// waits for the next level, as in gitleaks.
fn find_segments(text: &[u8], within: Option<&[Range<usize>]>) -> Vec<Segment> {
    // Touching counts as overlapping (gitleaks's `overlaps` is inclusive): a run that ends where
    // a percent escape starts belongs with it, and is decoded once the escape is.
    let meets = |a: &Range<usize>, b: &Range<usize>| a.start <= b.end && b.start <= a.end;
    let touches = |r: &Range<usize>| within.is_none_or(|w| w.iter().any(|d| meets(d, r)));
    let mut out: Vec<Segment> = Vec::new();
    let mut taken: Vec<Range<usize>> = Vec::new();
    for r in percent_runs(text) {
        if touches(&r) {
            if let Some(d) = decode_percent(&text[r.clone()]) {
                out.push(Segment {
                    at: r.clone(),
                    encoding: Encoding::Percent,
                    decoded: d,
                });
            }
            taken.push(r);
        }
    }
    for r in escape_runs(text) {
        if touches(&r) && !taken.iter().any(|t| meets(t, &r)) {
            if let Some(d) = decode_escapes(&text[r.clone()]) {
                out.push(Segment {
                    at: r.clone(),
                    encoding: Encoding::Escapes,
                    decoded: d,
                });
            }
            taken.push(r);
        }
    }
    for run in base64_runs(text) {
        let (start, i) = (run.start, run.end);
        let mut end = i;
        while end < text.len() && end - i < 2 && text[end] == b'=' {
            end += 1;
        }
        let r = start..end;
        if !touches(&r) || taken.iter().any(|t| meets(t, &r)) {
            continue;
        }
        let (mut all, mut any) = (0xffu8, 0u8);
        for &b in &text[start..i] {
            all &= CLASS[b as usize];
            any |= CLASS[b as usize];
        }
        let run = &text[start..i];
        let seg = if all & HEX != 0 && run.len() >= MIN_HEX {
            decode_hex(run).map(|d| (Encoding::Hex, d))
        } else {
            decode_base64(run, any).map(|d| (Encoding::Base64, d))
        };
        if let Some((encoding, decoded)) = seg {
            out.push(Segment {
                at: r,
                encoding,
                decoded,
            });
        }
    }
    out.sort_by_key(|s| s.at.start);
    out
}

/// Whether decoded bytes are text a rule could match: printable ASCII and line breaks.
fn printable(b: &[u8]) -> bool {
    !b.is_empty()
        && b.iter()
            .all(|&c| (0x20..0x7f).contains(&c) || matches!(c, b'\n' | b'\r' | b'\t'))
}

/// The indifferent-padding engines for both alphabets.
const STD_ENGINE: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);
const URL_ENGINE: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// A base64 run (padding already cut off) as text. Standard when it holds `+` or `/`, URL-safe
/// when it holds `-` or `_`, never both. Like gitleaks, a run with no digit and none of
/// `+/-_` is taken for a word, not base64.
fn decode_base64(run: &[u8], classes: u8) -> Option<Vec<u8>> {
    if classes & STD != 0 && classes & URL != 0 {
        return None;
    }
    if classes & (STD | URL) == 0 && !run.iter().any(u8::is_ascii_digit) {
        return None;
    }
    if run.len() % 4 == 1 || !could_be_text_b64(run) {
        return None;
    }
    let engine = if classes & URL != 0 {
        &URL_ENGINE
    } else {
        &STD_ENGINE
    };
    let d = engine.decode(run).ok()?;
    printable(&d).then_some(d)
}

/// Whether base64 could decode to text, without decoding: the first character of every group of
/// four holds a byte's top six bits, which for printable ASCII, tab and line breaks is one of
/// `C`, `D`, `I`–`Z`, `a`–`f`. Identifiers and digests almost never pass; real base64 text always
/// does. (Saves the allocation and decoding of most candidate runs.)
fn could_be_text_b64(run: &[u8]) -> bool {
    run.iter()
        .step_by(4)
        .all(|&c| matches!(c, b'C' | b'D' | b'I'..=b'Z' | b'a'..=b'f'))
}

/// A run of hex digits as text (an odd last digit is left out).
fn decode_hex(run: &[u8]) -> Option<Vec<u8>> {
    // Printable ASCII and line breaks have a high nibble of 0 (tab, line breaks) or 2 to 7.
    if !run
        .iter()
        .step_by(2)
        .all(|&c| matches!(c, b'0' | b'2'..=b'7'))
    {
        return None;
    }
    let nib = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let d: Option<Vec<u8>> = run
        .chunks_exact(2)
        .map(|p| Some(nib(p[0])? << 4 | nib(p[1])?))
        .collect();
    d.filter(|d| printable(d))
}

/// The maximal runs of base64-alphabet bytes (both alphabets, hex included) at least
/// [`MIN_BASE64`] long, in order. Source text is mostly short words, so this looks only at every
/// `MIN_BASE64`-th byte until one is in the alphabet: any run that long starting at or after `i`
/// covers byte `i + MIN_BASE64 - 1`, so when that byte is outside the alphabet none starts before
/// it (Boyer-Moore's skip, for a run instead of a word).
fn base64_runs(text: &[u8]) -> impl Iterator<Item = Range<usize>> + '_ {
    let is = |b: u8| CLASS[b as usize] & B64 != 0;
    // Invariant: `i` is 0 or follows a byte outside the alphabet.
    let mut i = 0;
    std::iter::from_fn(move || loop {
        let probe = i + MIN_BASE64 - 1;
        if probe >= text.len() {
            return None;
        }
        if !is(text[probe]) {
            i = probe + 1;
            continue;
        }
        let mut start = probe;
        while start > i && is(text[start - 1]) {
            start -= 1;
        }
        let mut end = probe + 1;
        while end < text.len() && is(text[end]) {
            end += 1;
        }
        i = end + 1;
        if end - start >= MIN_BASE64 {
            return Some(start..end);
        }
    })
}

/// Spans from the first `%XX` to the last one on each line (gitleaks's percent pattern).
fn percent_runs(text: &[u8]) -> Vec<Range<usize>> {
    let esc = |i: usize| {
        text.get(i) == Some(&b'%')
            && text.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
            && text.get(i + 2).is_some_and(u8::is_ascii_hexdigit)
    };
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(p) = memchr::memchr(b'%', &text[at..]) {
        let start = at + p;
        if !esc(start) {
            at = start + 1;
            continue;
        }
        let le = line_end(text, start);
        let mut end = start + 3;
        let mut k = end;
        while let Some(q) = memchr::memchr(b'%', &text[k..le]) {
            if esc(k + q) {
                end = k + q + 3;
            }
            k += q + 1;
        }
        out.push(start..end);
        at = end.max(le);
    }
    out
}

/// Decodes `%XX` (every escape must give a printable byte, as gitleaks asks).
fn decode_percent(s: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'%' && i + 2 < s.len() {
            let h = std::str::from_utf8(&s[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            if let Some(b) = h {
                if !printable(&[b]) {
                    return None;
                }
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(s[i]);
        i += 1;
    }
    (out != s).then_some(out)
}

/// Runs of `\uXXXX`, `\\uXXXX` and `\xXX` escapes, with at least two escapes.
fn escape_runs(text: &[u8]) -> Vec<Range<usize>> {
    let one = |i: usize| -> Option<usize> {
        let mut j = i;
        while text.get(j) == Some(&b'\\') && j - i < 2 {
            j += 1;
        }
        if j == i {
            return None;
        }
        let (digits, skip) = match text.get(j) {
            Some(b'u') | Some(b'U') => (4, 1),
            Some(b'x') => (2, 1),
            _ => return None,
        };
        let hex = text.get(j + skip..j + skip + digits)?;
        hex.iter()
            .all(u8::is_ascii_hexdigit)
            .then_some(j + skip + digits)
    };
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(p) = memchr::memchr(b'\\', &text[at..]) {
        let start = at + p;
        let (mut end, mut n) = (start, 0);
        while let Some(e) = one(end) {
            end = e;
            n += 1;
        }
        if n >= 2 {
            out.push(start..end);
            at = end;
        } else {
            at = start + 1;
        }
    }
    out
}

/// Decodes a run of escapes to printable ASCII.
fn decode_escapes(s: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < s.len() {
        while s.get(i) == Some(&b'\\') {
            i += 1;
        }
        let digits = if s.get(i) == Some(&b'x') { 2 } else { 4 };
        let hex = std::str::from_utf8(s.get(i + 1..i + 1 + digits)?).ok()?;
        let v = u32::from_str_radix(hex, 16).ok()?;
        out.push(u8::try_from(v).ok()?);
        i += 1 + digits;
    }
    printable(&out).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(s)
    }

    /// The skipping run finder gives exactly the runs a byte-by-byte walk gives.
    #[test]
    fn base64_runs_match_a_byte_walk() {
        use proptest::prelude::*;
        fn walk(text: &[u8]) -> Vec<Range<usize>> {
            let mut out = Vec::new();
            let mut i = 0;
            while i < text.len() {
                if CLASS[text[i] as usize] & B64 == 0 {
                    i += 1;
                    continue;
                }
                let start = i;
                while i < text.len() && CLASS[text[i] as usize] & B64 != 0 {
                    i += 1;
                }
                if i - start >= MIN_BASE64 {
                    out.push(start..i);
                }
            }
            out
        }
        proptest!(ProptestConfig::with_cases(2000), |(text in proptest::collection::vec(prop_oneof![
            8 => proptest::sample::select(b"aZ09+/_-".to_vec()),
            1 => proptest::sample::select(b" =\n%\".\\".to_vec()),
        ], 0..200))| {
            prop_assert_eq!(base64_runs(&text).collect::<Vec<_>>(), walk(&text));
        });
    }

    #[test]
    fn runs_decode_only_to_text() {
        let t = format!(
            "a = \"{}\"\nb = \"{}\"\n",
            b64("password=hunter2-hunter2"),
            "ab".repeat(20)
        );
        let s = find_segments(t.as_bytes(), None);
        assert_eq!(s.len(), 1, "the hex run decodes to bytes, not text");
        assert_eq!(s[0].decoded, b"password=hunter2-hunter2");
        assert_eq!(s[0].encoding, Encoding::Base64);
        let words = b"some_long_identifier_name another-long-kebab-name";
        assert!(find_segments(words, None).is_empty());
    }

    #[test]
    fn every_encoding_decodes() {
        let url = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("a>b?c>d?e>f?g>h?i");
        assert!(url.contains('-') || url.contains('_'), "{url}");
        let cases: Vec<(String, Encoding, &str)> = vec![
            (
                b64("small-secret-xyz"),
                Encoding::Base64,
                "small-secret-xyz",
            ),
            (url, Encoding::Base64, "a>b?c>d?e>f?g>h?i"),
            (
                "6465636F6465642D7365637265742D76616C7565".into(),
                Encoding::Hex,
                "decoded-secret-value",
            ),
            ("p%40ss%2Fword".into(), Encoding::Percent, "@ss/"),
            (
                r"\u0070\u0061\u0073\u0073".into(),
                Encoding::Escapes,
                "pass",
            ),
            (r"\x70\x61\x73\x73".into(), Encoding::Escapes, "pass"),
        ];
        for (text, enc, want) in cases {
            let s = find_segments(text.as_bytes(), None);
            assert_eq!(s.len(), 1, "{text}");
            assert_eq!(s[0].encoding, enc, "{text}");
            assert_eq!(String::from_utf8_lossy(&s[0].decoded), want, "{text}");
        }
    }

    #[test]
    fn rebuilt_text_maps_back_to_the_encoded_span() {
        let line = format!("x secret={} y", b64("decoded-secret-value00"));
        let segs = find_segments(line.as_bytes(), None);
        let r = splice(
            &Rebuilt {
                text: line.as_bytes().to_vec(),
                pieces: vec![Piece {
                    dec: 0..line.len(),
                    orig: 100..100 + line.len(),
                    chain: Vec::new(),
                }],
            },
            segs,
        );
        assert_eq!(r.text, b"x secret=decoded-secret-value00 y");
        let at = r.text.windows(7).position(|w| w == b"decoded").unwrap();
        assert_eq!(r.map(at, false), 100 + 9, "start of the encoded run");
        assert_eq!(r.map(at + 22, true), 100 + line.len() - 2, "its end");
        assert_eq!(r.map(2, false), 102, "copied text maps one to one");
        assert_eq!(r.chain_of(at..at + 3), vec![Encoding::Base64]);
        assert!(r.chain_of(0..2).is_empty());
    }
}
