//! Secrets behind an encoding: base64 (standard and URL-safe, padded or not), hex,
//! percent-encoding and `\uXXXX` / `\xXX` escapes, decoded and scanned again by the same rules,
//! recursively up to a depth (gitleaks's `--max-decode-depth`).
//!
//! Candidates are runs of a minimum length (base64 16 characters, hex 32, as gitleaks). A run
//! is read at every alignment that can hold a secret (base64 at its four, hex at its two), so
//! an encoded secret glued to other characters of the alphabet (`a<b64>`, `/v1/<b64>`,
//! `x<hex>`) is decoded too; the printable stretches of each decoding are the segments. Each line holding decoded runs is rebuilt with the
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
    /// A second decoding inside the first (gzip or UTF-16 behind base64).
    extra: Option<Encoding>,
    decoded: Vec<u8>,
}

/// Decodes what is encoded in `data` and scans it with `rules`, up to `max_depth` decodings
/// deep. A rebuilt text is read as written and in its escape view, as the text around it is:
/// a `\u0061pi_key=\"…\"` decodes to `api_key=\"…\"`, whose value only the view shows
/// (helper-136 F1).
pub(crate) fn scan(
    rules: &Ruleset,
    path: &str,
    commit: Option<&str>,
    data: &[u8],
    max_depth: u8,
) -> Decoded {
    scan_by(data, max_depth, &mut |text| {
        rules.hits_with_view(path, commit, text)
    })
}

/// [`scan`] with another finder than a ruleset's (`vigil redact` looks for the values of
/// environment variables in decoded text too): `find` gets each rebuilt text and returns its
/// hits there, which are mapped back like rule hits.
pub(crate) fn scan_by(
    data: &[u8],
    max_depth: u8,
    find: &mut dyn FnMut(&[u8]) -> Vec<Hit>,
) -> Decoded {
    let mut out = Decoded::default();
    if data.is_empty() {
        return out;
    }
    let segments = find_segments(data, None);
    if segments.is_empty() {
        return out;
    }
    if max_depth == 0 {
        // Decoding off: text that is encoded was not looked at (bb-scan-s9 F6), as text still
        // encoded past the depth is not.
        out.too_deep = true;
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
        if !descend(find, rebuilt, 1, max_depth, &mut budget, &mut out) {
            out.stopped = true;
            return out;
        }
    }
    out
}

/// Scans one rebuilt text, then decodes what its decoded parts still hold, one level deeper.
/// Returns false when the budget ran out.
fn descend(
    find: &mut dyn FnMut(&[u8]) -> Vec<Hit>,
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
    for h in find(&r.text) {
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
    descend(find, next, depth + 1, max_depth, budget, out)
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

    /// The decodings of the decoded pieces a span touches, outermost first: the longest chain
    /// of them whole (base64 of base64 is `[base64, base64]`), then what the others add.
    fn chain_of(&self, span: Range<usize>) -> Vec<Encoding> {
        let first = self.pieces.partition_point(|p| p.dec.end <= span.start);
        let touched = || {
            self.pieces[first..]
                .iter()
                .take_while(|p| p.dec.start < span.end)
                .filter(|p| span.start < p.dec.end)
        };
        let mut chain: Vec<Encoding> = Vec::new();
        for p in touched() {
            crate::engine::charge(1);
            if p.chain.len() > chain.len() {
                chain = p.chain.clone();
            }
        }
        for p in touched() {
            for e in &p.chain {
                if !chain.contains(e) {
                    chain.push(*e);
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
        chain.extend(seg.extra);
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
    // Escapes of bytes no secret holds (`\u001b`, `%00`, `\x07`, `%C3`) separate runs, as a
    // line break does: glued to a run or inside one they must not spoil its decoding.
    let marks = marks(text);
    let blanked = blank_separators(text, &marks);
    let text: &[u8] = blanked.as_deref().unwrap_or(text);
    // Touching counts as overlapping (gitleaks's `overlaps` is inclusive): a run that ends where
    // a percent escape starts belongs with it, and is decoded once the escape is.
    // Every list of ranges here is in order with none overlapping another, so whether a run
    // meets one is a binary search, not a walk (a file of many escapes made that quadratic).
    let touches = |r: &Range<usize>| within.is_none_or(|w| meets_any(w, r));
    let mut out: Vec<Segment> = Vec::new();
    let mut taken: Vec<Range<usize>> = Vec::new();
    // Each stretch of consecutive escapes is its own segment, so what a match holds of the
    // text between them (`postgres%3A%2F%2Fapp%3A<password>%40db`: the user and host) is
    // placed on itself, not on the whole run.
    for r in percent_runs(text, &marks) {
        let mut i = r.start;
        while i < r.end {
            if percent_at(text, i).is_none() {
                i += 1;
                continue;
            }
            let start = i;
            while i < r.end && percent_at(text, i).is_some() {
                i += 3;
            }
            let g = start..i;
            if touches(&g) {
                if let Some(d) = decode_percent(&text[g.clone()]) {
                    out.push(Segment {
                        at: g.clone(),
                        encoding: Encoding::Percent,
                        extra: None,
                        decoded: d,
                    });
                }
                taken.push(g);
            }
        }
    }
    let mut escapes: Vec<Range<usize>> = Vec::new();
    for r in escape_runs(text, &marks) {
        if touches(&r) && !meets_any(&taken, &r) {
            if let Some(d) = decode_escapes(&text[r.clone()]) {
                out.push(Segment {
                    at: r.clone(),
                    encoding: Encoding::Escapes,
                    extra: None,
                    decoded: d,
                });
            }
            escapes.push(r);
        }
    }
    if !escapes.is_empty() {
        taken.extend(escapes);
        taken.sort_unstable_by_key(|r| r.start);
    }
    for run in base64_runs(text) {
        let mut whole = run.clone();
        while whole.end < text.len() && whole.end - run.end < 2 && text[whole.end] == b'=' {
            whole.end += 1;
        }
        // The whole run waits when it touches an escape: part of it is decoded a level later.
        if touches(&whole) && !meets_any(&taken, &whole) {
            out.extend(run_segments(text, run));
        }
    }
    out.sort_by_key(|s| s.at.start);
    out
}

/// Whether `r` meets (overlaps or touches: gitleaks's `overlaps` is inclusive, so a run that
/// ends where a percent escape starts belongs with it, and is decoded once the escape is) one
/// of `sorted`, ranges in order of their starts, none overlapping another.
fn meets_any(sorted: &[Range<usize>], r: &Range<usize>) -> bool {
    let k = sorted.partition_point(|t| t.end < r.start);
    sorted.get(k).is_some_and(|t| t.start <= r.end)
}

/// Whether decoded bytes are text a rule could match: printable ASCII and line breaks.
fn printable(b: &[u8]) -> bool {
    !b.is_empty()
        && b.iter()
            .all(|&c| (0x20..0x7f).contains(&c) || matches!(c, b'\n' | b'\r' | b'\t'))
}

/// The indifferent-padding engine; URL-safe text is read with it once `-_` are mapped to `+/`.
const STD_ENGINE: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// The fewest decoded bytes a segment of base64 glued to other characters holds.
const MIN_GLUED: usize = 16;

/// The fewest decoded bytes a segment holds (what [`MIN_BASE64`] characters of base64 give).
const MIN_TEXT: usize = MIN_BASE64 / 4 * 3;

/// The encoded segments of one run of base64-alphabet bytes (`run`, then up to two `=`).
///
/// An encoded secret is often glued to other characters of the alphabet (`a<b64>`,
/// `/v1/<b64>`, `key=x<hex>`), so the run is not decoded only from its first byte: hex is read
/// at both alignments of every hex stretch of at least [`MIN_HEX`] digits, base64 at all four
/// alignments, and each decoding keeps the stretches that are printable text of at least
/// [`MIN_TEXT`] bytes, mapped back to the whole groups (2 hex digits, 4 base64 characters) that
/// encode them. A run made only of hex digits is read as hex alone.
fn run_segments(text: &[u8], run: Range<usize>) -> Vec<Segment> {
    if !worth_decoding_at(text, run.clone()) {
        return Vec::new();
    }
    every_segment(text, run)
}

/// [`worth_decoding`] of `text[run]`, whose short-run test, for a run under 32 bytes with 32
/// bytes of text from its start, reads them where they lie and masks off those after the run
/// (copying them out first made the vector loads wait on the copy's stores).
fn worth_decoding_at(text: &[u8], run: Range<usize>) -> bool {
    let len = run.len();
    if len < 2 * MIN_BASE64 {
        if let Some(block) = text.get(run.start..run.start + 2 * MIN_BASE64) {
            let (lead, h) = crate::classify::lead_mask(block.try_into().expect("32 bytes"));
            let keep = (1u32 << len) - 1;
            let (lead, h) = (lead & keep, h & keep);
            if lead & lead >> 4 & lead >> 8 & lead >> 12 == 0 && h == 0 {
                return false;
            }
        }
    }
    worth_decoding(&text[run])
}

/// [`run_segments`] without the one-pass check of whether any reading can keep something.
fn every_segment(text: &[u8], run: Range<usize>) -> Vec<Segment> {
    let bytes = &text[run.clone()];
    let mut out: Vec<Segment> = Vec::new();
    // Hex stretches (maximal runs of hex digits), at both alignments.
    let mut i = 0;
    let mut all_hex = false;
    while i < bytes.len() {
        if CLASS[bytes[i] as usize] & HEX == 0 {
            i += 1;
            continue;
        }
        let s = i;
        while i < bytes.len() && CLASS[bytes[i] as usize] & HEX != 0 {
            i += 1;
        }
        if i - s < MIN_HEX {
            continue;
        }
        all_hex = s == 0 && i == bytes.len();
        for align in 0..2 {
            hex_segments(bytes, s + align..i, run.start, &mut out);
        }
    }
    if all_hex {
        return settle(out);
    }
    // Base64 at its four alignments. The first character of a group of four holds a byte's
    // top six bits, which for printable ASCII, tab and line breaks is one of `C`, `D`, `I`–`Z`,
    // `a`–`f`: only stretches of such groups are decoded (identifiers and digests rarely hold
    // one long enough; real base64 text always does).
    let lead = is_lead;
    wrapped_segments(text, bytes, run.clone(), &mut out);
    for align in 0..4.min(bytes.len()) {
        let mut g = align;
        while g < bytes.len() {
            if !lead(bytes[g]) {
                g += 4;
                continue;
            }
            let s = g;
            while g < bytes.len() && lead(bytes[g]) {
                g += 4;
            }
            let e = g.min(bytes.len());
            if e - s >= MIN_BASE64 {
                base64_segments(text, bytes, s..e, run.clone(), &mut out);
            }
        }
    }
    settle(out)
}

/// Whether a run can give a segment at all (most runs are identifiers, paths and digests, which
/// none of the readings below would keep): sixteen hex pairs in a row that may encode printable
/// bytes (their first digit `0` or `2`–`7`), or, in a run not made only of hex digits (such a
/// run is read as hex alone), four base64 groups in a row that may lead printable bytes with
/// three of them that may encode printable bytes whole ([`group_masks`]), gzip's magic in
/// base64, or enough `A` for base64 of UTF-16 text. Each is what [`run_segments`] needs to find
/// anything (a printable stretch of [`MIN_TEXT`] bytes holds three whole groups). The run is
/// classified 64 bytes at a time into bit masks, and each condition is a few shifts of two
/// consecutive blocks' masks (32 hex digits, or groups 4 apart over 20 bytes, always lie within
/// two blocks). Lock files' digests and long identifiers are passed over here, not walked.
fn worth_decoding(bytes: &[u8]) -> bool {
    const _: () = assert!(MIN_HEX == 32 && MIN_TEXT == 12);
    // Most runs are short identifiers. Under 32 bytes neither hex (32 digits) nor the share of
    // `A` can pass, only four leading groups in a row or gzip's magic: without four leading
    // characters 4 apart and without an `H`, the masks below are not worth computing.
    if bytes.len() < 2 * MIN_BASE64 {
        let mut block = [0u8; 2 * MIN_BASE64];
        block[..bytes.len()].copy_from_slice(bytes);
        let (lead, h) = crate::classify::lead_mask(&block);
        if lead & lead >> 4 & lead >> 8 & lead >> 12 == 0 && h == 0 {
            return false;
        }
    }
    let mut prev = [0u64; 7];
    let mut a = 0u32;
    let mut all_hex = true;
    // Something other than hex was seen that a base64 reading may keep.
    let mut other = false;
    for (n, chunk) in bytes.chunks(64).enumerate() {
        // A whole chunk is read where it lies; only the last, short one is copied.
        let mut last = [0u8; 64];
        let block: &[u8; 64] = match chunk.try_into() {
            Ok(whole) => whole,
            Err(_) => {
                last[..chunk.len()].copy_from_slice(chunk);
                &last
            }
        };
        let cur = masks(block, chunk.len());
        // Two consecutive blocks: bit i is byte i of the previous block, bit 64 + i of this.
        let two = |k: usize| u128::from(prev[k]) | u128::from(cur[k]) << 64;
        let (hex, lead, high, mid, low) = (two(HEX_BIT), two(1), two(4), two(5), two(6));
        // Bit i of `x`: bytes i, i+2, …, i+30 are high digits, each followed by a hex digit.
        let mut x = high & hex >> 1;
        x &= x >> 2;
        x &= x >> 4;
        x &= x >> 8;
        x &= x >> 16;
        if x != 0 {
            return true;
        }
        all_hex &= cur[HEX_BIT] == keep_bits(chunk.len());
        // Bit i of `l`: the groups at i, i+4, i+8, i+12 lead printable bytes. Of `g`: the
        // groups at i, i+4, i+8 may each encode three printable bytes (the first character
        // leads one, the second gives the second byte a printable high nibble, the third keeps
        // the third byte under 0x80). A printable stretch of twelve bytes in a run of leading
        // groups holds three whole groups, with a fourth leading group before or after them.
        let l = lead & lead >> 4 & lead >> 8 & lead >> 12;
        let whole = lead & mid >> 1 & low >> 2;
        let g = whole & whole >> 4 & whole >> 8;
        other |= g & (l | l << 4) != 0;
        let mut h = cur[2];
        while h != 0 && !other {
            other = bytes[64 * n + h.trailing_zeros() as usize..].starts_with(b"H4sI");
            h &= h - 1;
        }
        if other && !all_hex {
            return true;
        }
        a += cur[3].count_ones();
        prev = cur;
    }
    !all_hex && (other || bytes.len() >= 2 * MIN_BASE64 && a as usize * 5 >= bytes.len())
}

/// The index of the hex-digit mask among [`masks`]'s.
const HEX_BIT: usize = 0;

/// The low `len` bits (all 64 from 64 on).
fn keep_bits(len: usize) -> u64 {
    if len >= 64 {
        u64::MAX
    } else {
        (1u64 << len) - 1
    }
}

/// Masks of the first `len` bytes of a block: hex digits, characters that can lead a base64
/// group of printable text ([`is_lead`]), `H`, `A`, hex digits that can lead a printable byte
/// (`0`, `2`–`7`), base64 characters that as a group's second give its second byte a printable
/// high nibble (their value's low four bits 0 or 2–7), and those that as its third keep its
/// third byte under 0x80 (bit 1 of their value clear). Branch-free, so the compiler vectorises
/// it.
#[inline]
fn masks(block: &[u8; 64], len: usize) -> [u64; 7] {
    let mut flags = [0u8; 64];
    for (f, &b) in flags.iter_mut().zip(block) {
        let l = b | 0x20;
        let hex = (b.wrapping_sub(b'0') < 10) | (l.wrapping_sub(b'a') < 6);
        let lead =
            (b == b'C') | (b == b'D') | (b.wrapping_sub(b'I') < 18) | (b.wrapping_sub(b'a') < 6);
        let high = (b == b'0') | (b.wrapping_sub(b'2') < 6);
        // The base64 value (both alphabets; other bytes give 63 and are not in a run).
        let upper = b.wrapping_sub(b'A') < 26;
        let lower = b.wrapping_sub(b'a') < 26;
        let digit = b.wrapping_sub(b'0') < 10;
        let plus = (b == b'+') | (b == b'-');
        let v = if upper {
            b.wrapping_sub(b'A')
        } else if lower {
            b.wrapping_sub(b'a' - 26)
        } else if digit {
            b.wrapping_add(52 - b'0')
        } else if plus {
            62
        } else {
            63
        };
        let nibble = v & 0xF;
        let mid = (nibble == 0) | (nibble.wrapping_sub(2) < 6);
        let low = v & 2 == 0;
        *f = u8::from(hex)
            | u8::from(lead) << 1
            | u8::from(b == b'H') << 2
            | u8::from(b == b'A') << 3
            | u8::from(high) << 4
            | u8::from(mid) << 5
            | u8::from(low) << 6;
    }
    let keep = keep_bits(len);
    crate::strings::gather::<7>(&flags).map(|m| m & keep)
}

/// Whether a base64 character can be the first of a group of four encoding printable ASCII,
/// tab or line breaks (it holds the first byte's top six bits).
fn is_lead(c: u8) -> bool {
    matches!(c, b'C' | b'D' | b'I'..=b'Z' | b'a'..=b'f')
}

/// The bytes decoded from gzip behind base64 at most (a bomb stops there).
const MAX_INFLATE: u64 = 1 << 20;

/// Base64 of what the printable-text check cannot see directly: gzip (`H4sI`, Helm releases,
/// compressed payloads) inflated within [`MAX_INFLATE`], and UTF-16LE text (PowerShell's
/// `-EncodedCommand`), which holds a zero byte in every other place. Runs of base64 of UTF-16LE
/// ASCII text are about one-quarter `A`; runs less than a fifth `A` are not decoded for it.
fn wrapped_segments(text: &[u8], bytes: &[u8], run: Range<usize>, out: &mut Vec<Segment>) {
    let decode_from = |s: usize| -> Option<(Vec<u8>, usize)> {
        let chars = &bytes[s..];
        let usable = chars.len() - usize::from(chars.len() % 4 == 1);
        let norm: Vec<u8> = chars[..usable]
            .iter()
            .map(|&b| match b {
                b'-' => b'+',
                b'_' => b'/',
                b => b,
            })
            .collect();
        STD_ENGINE.decode(&norm).ok().map(|d| (d, usable))
    };
    let end_at = |s: usize, usable: usize| {
        let mut to = run.start + s + usable;
        if s + usable == bytes.len() {
            while to < text.len() && to - run.end < 2 && text[to] == b'=' {
                to += 1;
            }
        }
        to
    };
    // Printable stretches kept, the rest of the bytes line breaks (as binary files are read).
    let runs_of = |d: &[u8]| -> Option<Vec<u8>> {
        let spans = printable_spans(d, MIN_TEXT);
        if spans.is_empty() {
            return None;
        }
        let mut v = vec![b'\n'; d.len()];
        for sp in spans {
            v[sp.clone()].copy_from_slice(&d[sp]);
        }
        Some(v)
    };
    static GZIP: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"H4sI"));
    for p in GZIP.find_iter(bytes) {
        let Some((d, usable)) = decode_from(p) else {
            continue;
        };
        let mut inflated = Vec::new();
        let mut gz = flate2::read::MultiGzDecoder::new(&d[..]);
        if std::io::Read::read_to_end(
            &mut std::io::Read::take(&mut gz, MAX_INFLATE),
            &mut inflated,
        )
        .is_err()
            && inflated.is_empty()
        {
            continue;
        }
        if let Some(v) = runs_of(&inflated) {
            out.push(Segment {
                at: run.start + p..end_at(p, usable),
                encoding: Encoding::Base64,
                extra: Some(Encoding::Gzip),
                decoded: v,
            });
        }
    }
    let a = bytes.iter().filter(|&&b| b == b'A').count();
    if bytes.len() < 2 * MIN_BASE64 || a * 5 < bytes.len() {
        return;
    }
    for align in 0..4 {
        let Some((d, usable)) = decode_from(align) else {
            continue;
        };
        for odd in 0..2 {
            let units: Vec<u8> = d[odd..]
                .chunks(2)
                .map(|u| {
                    if u.len() == 2 && u[1] == 0 {
                        u[0]
                    } else {
                        0xff
                    }
                })
                .collect();
            let Some(v) = runs_of(&units) else {
                continue;
            };
            let spans = printable_spans(&units, MIN_TEXT);
            let (first, last) = (spans[0].start, spans[spans.len() - 1].end);
            let (b0, b1) = (odd + 2 * first, (odd + 2 * last).min(d.len()));
            let from = run.start + align + 4 * (b0 / 3);
            let to = if b1 == d.len() {
                end_at(align, usable)
            } else {
                run.start + align + 4 * b1.div_ceil(3)
            };
            out.push(Segment {
                at: from..to,
                encoding: Encoding::Base64,
                extra: Some(Encoding::Utf16),
                decoded: v[first..last].to_vec(),
            });
        }
    }
}

/// Segments in order, none overlapping another: of two that do, the one that decoded to more
/// text (the right alignment gives the longest), then the earlier.
fn settle(mut segs: Vec<Segment>) -> Vec<Segment> {
    if segs.len() < 2 {
        return segs;
    }
    segs.sort_by_key(|s| (std::cmp::Reverse(s.decoded.len()), s.at.start));
    let mut out: Vec<Segment> = Vec::with_capacity(segs.len());
    for s in segs {
        if !out
            .iter()
            .any(|o| o.at.start < s.at.end && s.at.start < o.at.end)
        {
            out.push(s);
        }
    }
    out.sort_by_key(|s| s.at.start);
    out
}

/// The printable stretches of `d` of at least `min` bytes.
fn printable_spans(d: &[u8], min: usize) -> Vec<Range<usize>> {
    let ok = |c: u8| (0x20..0x7f).contains(&c) || matches!(c, b'\n' | b'\r' | b'\t');
    let mut out = Vec::new();
    let mut i = 0;
    while i < d.len() {
        if !ok(d[i]) {
            i += 1;
            continue;
        }
        let s = i;
        while i < d.len() && ok(d[i]) {
            i += 1;
        }
        if i - s >= min {
            out.push(s..i);
        }
    }
    out
}

/// Hex digits `at` (relative to the run, which starts at `base` in the text) read in pairs from
/// their first: each printable stretch of at least `MIN_HEX / 2` bytes is a segment.
fn hex_segments(bytes: &[u8], at: Range<usize>, base: usize, out: &mut Vec<Segment>) {
    let digits = &bytes[at.start..at.end - (at.end - at.start) % 2];
    // Printable ASCII and line breaks have a high nibble of 0 (tab, line breaks) or 2 to 7:
    // stretches of pairs that cannot be text are passed over without decoding.
    let high = |c: u8| matches!(c, b'0' | b'2'..=b'7');
    let pairs = digits.len() / 2;
    let mut k = 0;
    while k < pairs {
        if !high(digits[2 * k]) {
            k += 1;
            continue;
        }
        let s = k;
        while k < pairs && high(digits[2 * k]) {
            k += 1;
        }
        if k - s < MIN_HEX / 2 {
            continue;
        }
        let nib = |c: u8| (c as char).to_digit(16).unwrap_or(0) as u8;
        let d: Vec<u8> = digits[2 * s..2 * k]
            .chunks_exact(2)
            .map(|p| nib(p[0]) << 4 | nib(p[1]))
            .collect();
        for span in printable_spans(&d, MIN_HEX / 2) {
            let from = base + at.start + 2 * (s + span.start);
            out.push(Segment {
                at: from..from + 2 * span.len(),
                encoding: Encoding::Hex,
                extra: None,
                decoded: d[span].to_vec(),
            });
        }
    }
}

/// Base64 characters `at` of a run (`bytes`, at `run` in `text`), aligned on their first: each
/// printable stretch of the decoding, of at least [`MIN_TEXT`] bytes, is a segment covering
/// the groups that encode it (and the run's padding when it reaches the run's end). Like
/// gitleaks, characters with no digit and none of `+/-_` are taken for a word, not base64.
fn base64_segments(
    text: &[u8],
    bytes: &[u8],
    at: Range<usize>,
    run: Range<usize>,
    out: &mut Vec<Segment>,
) {
    let chars = &bytes[at.clone()];
    let mut any = 0u8;
    for &b in chars {
        any |= CLASS[b as usize];
    }
    if any & (STD | URL) == 0 && !chars.iter().any(u8::is_ascii_digit) {
        return;
    }
    let usable = chars.len() - usize::from(chars.len() % 4 == 1);
    let norm: Vec<u8> = chars[..usable]
        .iter()
        .map(|&b| match b {
            b'-' => b'+',
            b'_' => b'/',
            b => b,
        })
        .collect();
    let Ok(d) = STD_ENGINE.decode(&norm) else {
        return;
    };
    for span in printable_spans(&d, MIN_TEXT) {
        // The groups holding the stretch's bytes (those at its edges also hold others').
        let base = run.start + at.start;
        let from = base + 4 * (span.start / 3);
        let mut to = (base + 4 * span.end.div_ceil(3)).min(base + usable);
        let to_end = span.end == d.len();
        // Text that is not the whole run is an encoding glued to other characters: it reaches
        // one end of the run (`a<b64>`, `<b64>x`) and holds a secret's length. Stretches in the
        // middle of a longer run (a key's base64 body) are chance, not text.
        let (at_start, at_end) = (from - run.start <= 3, run.end - to <= 3);
        if !(at_start && at_end) && (span.len() < MIN_GLUED || !(at_start || at_end)) {
            continue;
        }
        let dec = d[span].to_vec();
        if to_end && at.start + usable == bytes.len() {
            while to < text.len() && to - run.end < 2 && text[to] == b'=' {
                to += 1;
            }
        }
        out.push(Segment {
            at: from..to,
            encoding: Encoding::Base64,
            extra: None,
            decoded: dec,
        });
    }
}

/// The maximal runs of base64-alphabet bytes (both alphabets, hex included) at least
/// [`MIN_BASE64`] long, in order. Source text is mostly short words: the text is classified 64
/// bytes at a time into a bit mask, and a block where no run of [`MIN_BASE64`] ones starts (found
/// by shifting the mask, with the next block's as lookahead, onto itself) costs a few word
/// operations; only the blocks where a run starts or ends are walked, bit by bit range.
fn base64_runs(text: &[u8]) -> Vec<Range<usize>> {
    const MIN: usize = MIN_BASE64;
    // The shifts below find runs of exactly this many.
    const _: () = assert!(MIN == 16);
    let n = text.len();
    let mut out = Vec::new();
    // The start of a run of at least MIN bytes not yet ended.
    let mut open: Option<usize> = None;
    // Alphabet bytes just before the block (a shorter run that may go on in it).
    let mut carry = 0usize;
    let mut base = 0;
    let mut m = block_mask(text, 0);
    while base < n {
        let next = block_mask(text, base + 64);
        // Bit i of `r`: bytes i..i + 16 (the next block's first bytes as lookahead) are all in
        // the alphabet. Each step ANDs the mask with itself shifted, the next block's low bits
        // shifted in at the top (only bits below 15 of the next block's partial products are
        // read, and those are exact).
        let (mut r, mut rn) = (m, next);
        for k in [1u32, 2, 4, 8] {
            r &= r >> k | rn << (64 - k);
            rn &= rn >> k;
        }
        // Bits below `from` are done with.
        let mut from = 0u32;
        loop {
            if let Some(s) = open {
                let zeros = !m >> from << from;
                if zeros == 0 {
                    break;
                }
                from = zeros.trailing_zeros();
                out.push(s..base + from as usize);
                open = None;
                continue;
            }
            if from >= 64 {
                break;
            }
            // A shorter run from the block before that reaches MIN here (a run of MIN that
            // starts in this block is in `r`).
            if from == 0 && carry > 0 && carry + (!m).trailing_zeros() as usize >= MIN {
                open = Some(base - carry);
                continue;
            }
            let starts = r >> from << from;
            if starts == 0 {
                break;
            }
            let i = starts.trailing_zeros();
            let before = !m & (((1u64 << i) - 1) >> from << from);
            open = Some(if before == 0 {
                base + from as usize
            } else {
                base + 64 - before.leading_zeros() as usize
            });
            from = i;
        }
        carry = if open.is_some() {
            0
        } else {
            m.leading_ones() as usize
        };
        base += 64;
        m = next;
    }
    if let Some(s) = open {
        out.push(s..n);
    }
    out
}

/// The base64-alphabet mask of the 64 bytes of `text` from `base` (bytes past its end are not
/// in the alphabet).
#[inline]
fn block_mask(text: &[u8], base: usize) -> u64 {
    let n = text.len();
    if base >= n {
        return 0;
    }
    if let Some(block) = text.get(base..base + 64) {
        return crate::classify::base64_mask(block.try_into().expect("64 bytes"));
    }
    let mut block = [0u8; 64];
    block[..n - base].copy_from_slice(&text[base..]);
    crate::classify::base64_mask(&block) & (u64::MAX >> (64 - (n - base)))
}

/// `text` with every valid `%XX` escape decoded and every other byte kept as written (for
/// judging what a value stands for; the decoder's own runs are [`decode_percent`]'s).
pub fn percent_decoded(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        match percent_at(text, i) {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(text[i]);
                i += 1;
            }
        }
    }
    out
}

/// The byte a `%XX` escape at `i` stands for.
fn percent_at(text: &[u8], i: usize) -> Option<u8> {
    let h = text.get(i + 1..i + 3)?;
    if text[i] != b'%' || !h.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    let nib = |c: u8| (c as char).to_digit(16).unwrap_or(0) as u8;
    Some(nib(h[0]) << 4 | nib(h[1]))
}

/// The end of a `\uXXXX`, `\\uXXXX` or `\xXX` escape at `i`, and the code it stands for.
fn escape_at(text: &[u8], i: usize) -> Option<(usize, u32)> {
    let mut j = i;
    while text.get(j) == Some(&b'\\') && j - i < 2 {
        j += 1;
    }
    if j == i {
        return None;
    }
    let digits = match text.get(j) {
        Some(b'u') | Some(b'U') => 4,
        Some(b'x') => 2,
        // JSON's `\/` (PHP writes every `/` so) in a URL's `:\/\/`, which rules need whole
        // (`postgres:\/\/app:pw@db`); elsewhere it is left as written.
        Some(b'/')
            if j == i + 1
                && (text[..i].ends_with(b":") && text[j + 1..].starts_with(b"\\/")
                    || text[..i].ends_with(b":\\/")) =>
        {
            return Some((j + 1, u32::from(b'/')));
        }
        _ => return None,
    };
    let hex = text.get(j + 1..j + 1 + digits)?;
    if !hex.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    let v = hex
        .iter()
        .fold(0u32, |v, &c| v << 4 | (c as char).to_digit(16).unwrap_or(0));
    Some((j + 1 + digits, v))
}

/// The offsets of every `\` and `%` in `text`, in order: found in one pass, which the
/// walks for separators, percent runs and escape runs share (three searches of the text were a
/// tenth of a file scan's work).
fn marks(text: &[u8]) -> Vec<usize> {
    memchr::memchr2_iter(b'\\', b'%', text).collect()
}

/// `text` with every escape of a byte no secret holds (a control character other than tab and
/// line breaks, DEL, anything outside ASCII: `\u001b`, `\x00`, `%00`, `%1B`, `\u00e9`) blanked
/// to spaces of its length; `None` when it has none. Such an escape glued to an encoded run
/// (`<base64>\u001b[0m`, a JSON log of coloured output) or inside an escaped one
/// (`%00%67%68…`) is a separator, as a line break is, so the run is still decoded.
///
/// `marks` are the offsets of every `\` and `%` in `text`, in order ([`marks`]).
fn blank_separators(text: &[u8], marks: &[usize]) -> Option<Vec<u8>> {
    let mut out: Option<Vec<u8>> = None;
    let mut at = 0;
    for &i in marks {
        if i < at {
            continue;
        }
        let esc = if text[i] == b'%' {
            percent_at(text, i).map(|b| (i + 3, u32::from(b)))
        } else {
            escape_at(text, i)
        };
        match esc {
            Some((end, v)) => {
                if u8::try_from(v).map_or(true, |b| !printable(&[b])) {
                    out.get_or_insert_with(|| text.to_vec())[i..end].fill(b' ');
                }
                at = end;
            }
            None => at = i + 1,
        }
    }
    out
}

/// Spans from the first `%XX` to the last one on each line (gitleaks's percent pattern).
/// `marks` hold (at least) the offset of every `%` in `text`, in order.
fn percent_runs(text: &[u8], marks: &[usize]) -> Vec<Range<usize>> {
    let esc = |i: usize| {
        text.get(i) == Some(&b'%')
            && text.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
            && text.get(i + 2).is_some_and(u8::is_ascii_hexdigit)
    };
    let mut out = Vec::new();
    let mut j = 0;
    while j < marks.len() {
        let start = marks[j];
        j += 1;
        if !esc(start) {
            continue;
        }
        // An escape's two digits hold no line break: the line's last one ends before `le`.
        let le = line_end(text, start);
        let mut end = start + 3;
        while j < marks.len() && marks[j] < le {
            if esc(marks[j]) {
                end = marks[j] + 3;
            }
            j += 1;
        }
        out.push(start..end);
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

/// Runs of `\uXXXX`, `\\uXXXX` and `\xXX` escapes (one is enough: a single escaped letter
/// inside a value must not hide it).
/// `marks` hold (at least) the offset of every `\` in `text`, in order.
fn escape_runs(text: &[u8], marks: &[usize]) -> Vec<Range<usize>> {
    let one = |i: usize| escape_at(text, i).map(|(end, _)| end);
    let mut out = Vec::new();
    let mut at = 0;
    for &start in marks {
        if start < at || text[start] != b'\\' {
            continue;
        }
        let (mut end, mut n) = (start, 0);
        while let Some(e) = one(end) {
            end = e;
            n += 1;
        }
        if n >= 1 {
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
        // A run is escapes only; `\/\/` is one here whatever precedes it.
        let (end, v) = if s[i..].starts_with(b"\\/") {
            (i + 2, u32::from(b'/'))
        } else {
            escape_at(s, i)?
        };
        out.push(u8::try_from(v).ok()?);
        i = end;
    }
    printable(&out).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether a run can give a segment at all, byte by byte (most runs are identifiers and
    /// digests, which none of the readings below would keep): sixteen hex pairs in a row whose
    /// first digits may lead a printable byte, or, in a run not only of hex digits, four base64
    /// groups in a row that may lead printable bytes, gzip's magic in base64, or enough `A` for
    /// base64 of UTF-16 text. Each is what [`run_segments`] needs to find anything.
    fn worth_decoding_walk(bytes: &[u8]) -> bool {
        let high = |c: u8| matches!(c, b'0' | b'2'..=b'7');
        let pairs = (0..bytes.len()).any(|i| {
            bytes.len() >= i + MIN_HEX
                && bytes[i..i + MIN_HEX].iter().all(u8::is_ascii_hexdigit)
                && (0..MIN_HEX / 2).all(|j| high(bytes[i + 2 * j]))
        });
        if pairs {
            return true;
        }
        if bytes.iter().all(u8::is_ascii_hexdigit) {
            return false;
        }
        // A group of base64 characters at `i`, and the bytes it encodes (as far as known).
        let group = |i: usize| -> Option<[u8; 3]> {
            let v = |c: u8| -> u8 {
                match c {
                    b'A'..=b'Z' => c - b'A',
                    b'a'..=b'z' => c - b'a' + 26,
                    b'0'..=b'9' => c - b'0' + 52,
                    b'+' | b'-' => 62,
                    _ => 63,
                }
            };
            // A group's first three characters fix its first two bytes and the top bits of its
            // third (a trailing group of three gives two bytes).
            let g = bytes.get(i..i + 3)?;
            let (a, b, c) = (v(g[0]), v(g[1]), v(g[2]));
            Some([a << 2 | b >> 4, b << 4 | c >> 2, c << 6])
        };
        // Whether a group's three bytes may be text, as far as a look at each character alone
        // tells: the first leads a printable byte, the second byte's high nibble is 0 or 2–7,
        // the third byte is under 0x80.
        let whole = |i: usize| {
            group(i).is_some_and(|[_, y, z]| {
                is_lead(bytes[i]) && (y >> 4 == 0 || (2..8).contains(&(y >> 4))) && z < 0x80
            })
        };
        let leads = |i: usize| (0..4).all(|k| bytes.get(i + 4 * k).is_some_and(|&c| is_lead(c)));
        for j in 0..bytes.len() {
            if (0..3).all(|k| whole(j + 4 * k)) && (leads(j) || j >= 4 && leads(j - 4)) {
                return true;
            }
        }
        if bytes.windows(4).any(|w| w == b"H4sI") {
            return true;
        }
        let a = bytes.iter().filter(|&&c| c == b'A').count();
        bytes.len() >= 2 * MIN_BASE64 && a * 5 >= bytes.len()
    }

    /// The masked check says what the byte-by-byte one says.
    #[test]
    fn worth_decoding_is_the_byte_walk_s() {
        use proptest::prelude::*;
        proptest!(ProptestConfig::with_cases(3000), |(text in proptest::collection::vec(
            proptest::sample::select(b"aAbCDIZf09+/_-H4sIxyzg".to_vec()), 0..300))| {
            prop_assert_eq!(worth_decoding(&text), worth_decoding_walk(&text));
        });
        // Short runs, where a quicker check of leading characters decides first.
        proptest!(ProptestConfig::with_cases(3000), |(text in proptest::collection::vec(
            proptest::sample::select(b"aAbCDIZfHH4s09+/_-xyz".to_vec()), 0..40))| {
            prop_assert_eq!(worth_decoding(&text), worth_decoding_walk(&text));
        });
        // A short run read in place, with the text after it (leading characters, `H`) masked off.
        proptest!(ProptestConfig::with_cases(3000), |(text in proptest::collection::vec(
            proptest::sample::select(b"aAbCDIZfHH4s09+/_-xyz".to_vec()), 0..80), a in 0usize..80, n in 0usize..40)| {
            let start = a.min(text.len());
            let run = start..(start + n).min(text.len());
            prop_assert_eq!(worth_decoding_at(&text, run.clone()), worth_decoding_walk(&text[run]));
        });
        // Mostly hex: digests, hex of text, and both glued to other characters.
        proptest!(ProptestConfig::with_cases(3000), |(text in proptest::collection::vec(
            proptest::sample::select(b"0234567234567189abcdefAF-g".to_vec()), 0..300))| {
            prop_assert_eq!(worth_decoding(&text), worth_decoding_walk(&text));
        });
        // A digest (hex of no text, as in a lock file) is passed over.
        let digest = "9e8d7c6b5a4f3e2d1c0b".repeat(4);
        assert!(!worth_decoding(digest.as_bytes()));
        let hex = "3a4b5c6d7e2f0a".repeat(5);
        for cut in 0..70 {
            let t = format!("{}{}", "g".repeat(cut), &hex[..32]);
            assert!(worth_decoding(t.as_bytes()) && worth_decoding_walk(t.as_bytes()));
            let t = format!("{}{}", "g".repeat(cut), &hex[..31]);
            assert_eq!(
                worth_decoding(t.as_bytes()),
                worth_decoding_walk(t.as_bytes())
            );
        }
    }

    fn b64(s: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(s)
    }

    /// The one-pass check before a run is read passes over no run that a reading keeps
    /// something of: glued base64 and hex of text, gzip, UTF-16, and identifiers.
    #[test]
    fn runs_passed_over_give_nothing() {
        use proptest::prelude::*;
        let b64 = |s: &[u8]| base64::engine::general_purpose::STANDARD_NO_PAD.encode(s);
        let piece = prop_oneof![
            3 => proptest::collection::vec(proptest::sample::select(b"aZ09+/_-AIfgxH4sQ".to_vec()), 0..40),
            2 => "[ -~]{0,40}".prop_map(move |t| b64(t.as_bytes()).into_bytes()),
            1 => "[ -~]{0,30}".prop_map(|t| t.bytes().map(|b| format!("{b:02x}")).collect::<String>().into_bytes()),
            1 => "[ -~]{0,20}".prop_map(move |t| b64(&t.bytes().flat_map(|b| [b, 0]).collect::<Vec<u8>>()).into_bytes()),
            1 => Just(b"H4sIAAAAAAAAA".to_vec()),
        ];
        proptest!(ProptestConfig::with_cases(3000), |(parts in proptest::collection::vec(piece, 1..5))| {
            let text: Vec<u8> = parts.concat();
            let run = 0..text.len();
            if !worth_decoding(&text) {
                prop_assert!(every_segment(&text, run).is_empty());
            }
        });
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
        ], 0..400))| {
            prop_assert_eq!(base64_runs(&text), walk(&text));
        });
    }

    /// The walks over the shared offsets of `\\` and `%` give what a search of the text for
    /// each gives: the separators blanked, the percent runs, the escape runs.
    #[test]
    fn shared_marks_match_searches_of_the_text() {
        use proptest::prelude::*;
        fn percent_walk(text: &[u8]) -> Vec<Range<usize>> {
            let esc = |i: usize| percent_at(text, i).is_some();
            let mut out = Vec::new();
            let mut i = 0;
            while i < text.len() {
                if !esc(i) {
                    i += 1;
                    continue;
                }
                let le = line_end(text, i);
                let last = (i..le).rfind(|&k| esc(k)).expect("i is one");
                out.push(i..last + 3);
                i = le.max(last + 3);
            }
            out
        }
        fn escape_walk(text: &[u8]) -> Vec<Range<usize>> {
            let mut out = Vec::new();
            let mut i = 0;
            while i < text.len() {
                let (mut end, mut n) = (i, 0);
                while let Some((e, _)) = escape_at(text, end) {
                    end = e;
                    n += 1;
                }
                if n > 0 {
                    out.push(i..end);
                    i = end;
                } else {
                    i += 1;
                }
            }
            out
        }
        proptest!(ProptestConfig::with_cases(3000), |(text in proptest::collection::vec(prop_oneof![
            4 => proptest::sample::select(b"%\\ux0417aF".to_vec()),
            1 => proptest::sample::select(b" \n/:gz".to_vec()),
        ], 0..200))| {
            let m = marks(&text);
            let blanked = blank_separators(&text, &m);
            let t: &[u8] = blanked.as_deref().unwrap_or(&text);
            prop_assert_eq!(percent_runs(t, &m), percent_walk(t));
            prop_assert_eq!(escape_runs(t, &m), escape_walk(t));
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

    /// bb-git-s5 #4, bb-scan-s6 F10: a run glued to other characters of its alphabet is read
    /// at the alignment that decodes it.
    #[test]
    fn glued_runs_decode_at_every_alignment() {
        let secret = "ghp_0123456789abcdefghijklmnopqrstuvwxyzAB";
        let enc = b64(secret);
        let hex: String = secret.bytes().map(|b| format!("{b:02x}")).collect();
        let cases = [
            format!("a{enc}"),
            format!("ab{enc}"),
            format!("abc{enc}"),
            format!("abcd{enc}"),
            format!("/v1/{enc}"),
            format!("_{enc}"),
            format!("{}x", enc.trim_end_matches('=')),
            format!("a{hex}"),
            format!("g{hex}z"),
            format!("0x{hex}"),
            format!("0{hex}f"),
        ];
        for t in cases {
            let segs = find_segments(t.as_bytes(), None);
            assert!(
                segs.iter()
                    .any(|s| String::from_utf8_lossy(&s.decoded).contains(secret)),
                "{t}: {:?}",
                segs.iter()
                    .map(|s| String::from_utf8_lossy(&s.decoded).into_owned())
                    .collect::<Vec<_>>()
            );
        }
    }

    /// bb-scan-s6 F10: base64 of gzip (Helm releases) and of UTF-16LE (PowerShell's
    /// `-EncodedCommand`) are read through.
    #[test]
    fn gzip_and_utf16_behind_base64_are_read() {
        use std::io::Write as _;
        // Built here, so the repository's own scan does not find it.
        let text = ["token", " = ", "Xk9Qw2Lp7Zr4mTy8Vb3N and more text"].concat();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(text.as_bytes()).unwrap();
        let gz = base64::engine::general_purpose::STANDARD.encode(gz.finish().unwrap());
        let wide: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
        let wide = base64::engine::general_purpose::STANDARD.encode(wide);
        for (t, extra) in [(gz, Encoding::Gzip), (format!("x{wide}"), Encoding::Utf16)] {
            let segs = find_segments(t.as_bytes(), None);
            assert!(
                segs.iter().any(|s| s.extra == Some(extra)
                    && String::from_utf8_lossy(&s.decoded).contains("Xk9Qw2Lp7Zr4mTy8Vb3N")),
                "{t}"
            );
        }
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
            ("p%40%73s-word".into(), Encoding::Percent, "@s"),
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
        // Stretches of escapes apart are decoded apart: text between them stays itself.
        let s = find_segments(b"p%40ss%2Fword", None);
        let got: Vec<_> = s
            .iter()
            .map(|s| (s.at.clone(), s.decoded.clone()))
            .collect();
        assert_eq!(got, vec![(1..4, b"@".to_vec()), (6..9, b"/".to_vec())]);
    }

    /// bb-scan-s7 N0: escapes of control and non-ASCII bytes are blanked, so they separate
    /// runs; escapes of printable bytes are left for the decoder.
    #[test]
    fn escaped_controls_are_separators() {
        let t = br#"a\u001bb%00c\x07d%C3%A9e\u0041%41\\u0000f"#;
        let b = blank_separators(t, &marks(t)).unwrap();
        assert_eq!(b, br#"a      b   c    d      e\u0041%41       f"#.to_vec());
        let plain = br"plain \u0041 %41 \n";
        assert!(blank_separators(plain, &marks(plain)).is_none());
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
