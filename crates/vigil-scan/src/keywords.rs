//! The keyword search that decides where rules run: every place a keyword starts (ASCII case
//! ignored), with the longest keyword starting there, in order.
//!
//! A keyword set of ~100 mostly-lowercase words defeats the SIMD prefilters of `aho-corasick`
//! (too many patterns for Teddy, too many distinct bytes for start- or rare-byte searches), so
//! its automaton walks every byte through a large table. Here each keyword of at least three
//! bytes is represented by one of its three-byte windows (the one made of the rarest bytes in
//! source text), and the text is read eight bytes at a time: each of its windows, case-folded
//! by setting bit `0x20` of every byte, is hashed into a 64-kibibit set; the few windows that
//! hit the set are checked against the keywords that own them, byte for byte. Every keyword
//! occurrence holds its window, and folding maps a byte and its ASCII lowercase to the same
//! value, so the windows are a superset and the check is exact: the result is what a
//! leftmost-longest automaton over ASCII-lowercased text, restarted one byte after each match,
//! gives (`aho-corasick` does just that when some keyword is shorter than three bytes).

use aho_corasick::{AhoCorasick, Input, MatchKind};

/// How a keyword set is searched.
#[derive(Debug, Clone)]
pub(crate) enum Keywords {
    /// Three-byte windows, hashed (every keyword has at least three bytes).
    Grams(Grams),
    /// An automaton, ASCII case-insensitive (some keyword is shorter).
    Automaton(AhoCorasick),
}

/// The windows of a keyword set and the keywords each stands for.
#[derive(Debug, Clone)]
pub(crate) struct Grams {
    /// The hashed windows: bit `hash(window)` is set.
    bits: Box<[u64; 1024]>,
    /// (folded window, keyword, offset of the window in the keyword), by window.
    owners: Vec<(u32, u32, u32)>,
    /// The windows, open-addressed by [`slot_of`] (at least twice as many slots as windows, a
    /// power of two): (folded window, its first owner, how many owners); window 0 (no folded
    /// window is 0) is an empty slot. A candidate finds its owners in a probe or two instead of
    /// a binary search.
    slots: Box<[(u32, u32, u32)]>,
    /// The keywords, ASCII-lowercased.
    pats: Vec<Box<[u8]>>,
}

/// Sets bit `0x20` of each byte: an ASCII letter and its lowercase fold together (as do a few
/// punctuation pairs, which only lets more windows through to the exact check).
const FOLD: u64 = 0x2020_2020_2020_2020;

/// The 16-bit hash of a folded three-byte window.
#[inline]
fn hash(w: u32) -> usize {
    (w.wrapping_mul(0x9E37_79B1) >> 16) as usize
}

/// How common a byte is in source text, roughly (higher: more common); a window of the rarest
/// bytes is chosen for each keyword, so fewer places reach the exact check.
fn commonness(b: u8) -> u32 {
    match b | 0x20 {
        b'e' | b't' | b'a' | b'o' | b'i' | b'n' | b's' | b'r' | b'l' | b' ' => 9,
        b'c' | b'd' | b'u' | b'p' | b'm' | b'h' | b'.' | b'/' | b':' | 0x7f => 7,
        b'0'..=b'9' | b'g' | b'b' | b'f' | b'y' | b'w' | b'k' | b'-' | b'"' | b'=' => 5,
        b'v' | b'x' => 3,
        _ => 2,
    }
}

/// The ASCII lowercase of a byte.
#[inline]
pub(crate) fn ascii_lower(b: u8) -> u8 {
    b | (u8::from(b.wrapping_sub(b'A') < 26) << 5)
}

impl Keywords {
    /// The search for `pats`, keywords already ASCII-lowercased, distinct and not empty.
    pub(crate) fn new(pats: &[String]) -> Keywords {
        if pats.iter().any(|p| p.len() < 3) {
            let ac = AhoCorasick::builder()
                .match_kind(MatchKind::LeftmostLongest)
                .ascii_case_insensitive(true)
                .build(pats)
                .expect("keywords build an automaton");
            return Keywords::Automaton(ac);
        }
        let mut bits = Box::new([0u64; 1024]);
        let mut owners = Vec::with_capacity(pats.len());
        for (k, p) in pats.iter().enumerate() {
            let b = p.as_bytes();
            let off = (0..=b.len() - 3)
                .min_by_key(|&o| b[o..o + 3].iter().map(|&c| commonness(c)).sum::<u32>())
                .unwrap_or(0);
            let w = window(b, off);
            let x = hash(w);
            bits[x >> 6] |= 1 << (x & 63);
            owners.push((w, k as u32, off as u32));
        }
        owners.sort_unstable();
        let mut slots = vec![(0u32, 0u32, 0u32); (2 * owners.len()).next_power_of_two().max(256)];
        let mask = slots.len() - 1;
        for (i, &(w, _, _)) in owners.iter().enumerate() {
            let mut j = slot_of(w, mask);
            while slots[j].0 != 0 && slots[j].0 != w {
                j = (j + 1) & mask;
            }
            if slots[j].0 == 0 {
                slots[j] = (w, i as u32, 0);
            }
            slots[j].2 += 1;
        }
        Keywords::Grams(Grams {
            bits,
            owners,
            slots: slots.into_boxed_slice(),
            pats: pats.iter().map(|p| p.as_bytes().into()).collect(),
        })
    }

    /// Calls `hit(start, end, keyword)` for each place in `data` where a keyword starts (ASCII
    /// case ignored), with the longest keyword starting there, in order of `start`. `scratch`
    /// is reused between calls.
    pub(crate) fn each(
        &self,
        data: &[u8],
        scratch: &mut Vec<(usize, u32)>,
        mut hit: impl FnMut(usize, usize, usize),
    ) {
        match self {
            Keywords::Automaton(ac) => {
                let mut at = 0;
                while at < data.len() {
                    let Some(m) = ac.find(Input::new(data).span(at..data.len())) else {
                        break;
                    };
                    hit(m.start(), m.end(), m.pattern().as_usize());
                    at = m.start() + 1;
                }
            }
            Keywords::Grams(g) => {
                scratch.clear();
                g.candidates(data, |i, w| g.check(data, i, w, scratch));
                if scratch.is_empty() {
                    return;
                }
                // Longest first at each start: the first of each start is kept.
                scratch.sort_unstable_by_key(|&(s, k)| {
                    (s, std::cmp::Reverse(g.pats[k as usize].len()))
                });
                let mut last = usize::MAX;
                for &(s, k) in scratch.iter() {
                    if s != last {
                        last = s;
                        hit(s, s + g.pats[k as usize].len(), k as usize);
                    }
                }
            }
        }
    }
}

/// The first slot of window `w` in a table of `mask + 1` slots (a power of two).
#[inline]
fn slot_of(w: u32, mask: usize) -> usize {
    (w.wrapping_mul(0x85EB_CA6B) >> 7) as usize & mask
}

/// The folded window of `b` at `off`.
fn window(b: &[u8], off: usize) -> u32 {
    (u32::from(b[off]) | u32::from(b[off + 1]) << 8 | u32::from(b[off + 2]) << 16) | 0x20_2020
}

impl Grams {
    /// Calls `f(position, folded window)` for every position of `data` whose window is in the
    /// set (and some whose hash only collides), in order: eight positions at a time on AVX2
    /// where that is faster (`gather.rs`), the rest with the portable loop.
    #[inline]
    fn candidates(&self, data: &[u8], mut f: impl FnMut(usize, u32)) {
        let from = if crate::gather::enabled() {
            crate::gather::candidates(&self.bits, data, &mut |i| f(i, window(data, i)))
        } else {
            0
        };
        portable(&self.bits, data, from, f);
    }

    /// The keywords whose window `w` is at `i` and that are really there, into `out` as
    /// (start, keyword).
    #[cold]
    fn check(&self, data: &[u8], i: usize, w: u32, out: &mut Vec<(usize, u32)>) {
        let mask = self.slots.len() - 1;
        let mut j = slot_of(w, mask);
        let (from, count) = loop {
            let (sw, from, count) = self.slots[j];
            if sw == w {
                break (from as usize, count as usize);
            }
            if sw == 0 {
                return;
            }
            j = (j + 1) & mask;
        };
        for &(_, k, off) in &self.owners[from..from + count] {
            let Some(s) = i.checked_sub(off as usize) else {
                continue;
            };
            let p = &self.pats[k as usize];
            if data
                .get(s..s + p.len())
                .is_some_and(|t| t.iter().zip(p.iter()).all(|(&a, &b)| ascii_lower(a) == b))
            {
                out.push((s, k));
            }
        }
    }
}

/// The portable form of [`Grams::candidates`] from position `from` on.
#[inline]
fn portable(bits: &[u64; 1024], data: &[u8], from: usize, mut f: impl FnMut(usize, u32)) {
    let n = data.len();
    let mut i = from;
    // Six windows from each eight bytes read; one test for all six, as most fail.
    while i + 8 <= n {
        let mut b = [0u8; 8];
        b.copy_from_slice(&data[i..i + 8]);
        let w = u64::from_le_bytes(b) | FOLD;
        let mut any = 0u64;
        for j in 0..6 {
            let x = hash((w >> (8 * j)) as u32 & 0xFF_FFFF);
            any |= bits[x >> 6] >> (x & 63);
        }
        if any & 1 != 0 {
            for j in 0..6 {
                let g = (w >> (8 * j)) as u32 & 0xFF_FFFF;
                let x = hash(g);
                if bits[x >> 6] >> (x & 63) & 1 != 0 {
                    f(i + j, g);
                }
            }
        }
        i += 6;
    }
    while i + 3 <= n {
        let g = window(data, i);
        let x = hash(g);
        if bits[x >> 6] >> (x & 63) & 1 != 0 {
            f(i, g);
        }
        i += 1;
    }
}

/// How many positions of `text` the portable loop passes under `bits` (what `gather.rs` times
/// its kernel against).
pub(crate) fn portable_timing(bits: &[u64; 1024], text: &[u8]) -> usize {
    let mut n = 0;
    portable(bits, text, 0, |_, _| n += 1);
    n
}

/// The folded window of `b` at `off`, and its hash: what the AVX2 kernel computes per lane.
#[cfg(test)]
pub(crate) fn window_hash(b: &[u8], off: usize) -> usize {
    hash(window(b, off))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What the engine did before: a leftmost-longest automaton over lowercased text.
    fn reference(pats: &[String], data: &[u8]) -> Vec<(usize, usize, usize)> {
        let ac = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .build(pats)
            .expect("automaton");
        let lower: Vec<u8> = data.iter().map(|&b| ascii_lower(b)).collect();
        let mut out = Vec::new();
        let mut at = 0;
        while let Some(m) = ac.find(Input::new(&lower).span(at..lower.len())) {
            out.push((m.start(), m.end(), m.pattern().as_usize()));
            at = m.start() + 1;
        }
        out
    }

    fn found(pats: &[String], data: &[u8]) -> Vec<(usize, usize, usize)> {
        let k = Keywords::new(pats);
        let mut out = Vec::new();
        k.each(data, &mut Vec::new(), |s, e, p| out.push((s, e, p)));
        out
    }

    fn distinct(mut v: Vec<String>) -> Vec<String> {
        v.sort();
        v.dedup();
        v
    }

    #[test]
    fn every_builtin_keyword_occurrence_is_found() {
        let pats = distinct(
            crate::Ruleset::builtin()
                .rules
                .iter()
                .flat_map(|r| r.spec.keywords.iter().map(|k| k.to_ascii_lowercase()))
                .collect(),
        );
        assert!(matches!(Keywords::new(&pats), Keywords::Grams(_)));
        let mut text = Vec::new();
        for (i, p) in pats.iter().enumerate() {
            // Upper- and mixed-case, glued to each other and to the buffer's ends.
            let t = if i % 2 == 0 {
                p.to_ascii_uppercase()
            } else {
                p.clone()
            };
            text.extend_from_slice(t.as_bytes());
            if i % 3 == 0 {
                text.extend_from_slice(b" x_");
            }
        }
        let want = reference(&pats, &text);
        assert!(want.len() >= pats.len());
        assert_eq!(found(&pats, &text), want);
        for cut in 0..text.len().min(40) {
            assert_eq!(found(&pats, &text[cut..]), reference(&pats, &text[cut..]));
            let end = text.len() - cut;
            assert_eq!(found(&pats, &text[..end]), reference(&pats, &text[..end]));
        }
    }

    #[test]
    fn short_keywords_use_the_automaton() {
        let pats = distinct(vec!["pw".into(), "token".into()]);
        assert!(matches!(Keywords::new(&pats), Keywords::Automaton(_)));
        assert_eq!(
            found(&pats, b"PW=1 Token pwtoken"),
            reference(&pats, b"PW=1 Token pwtoken")
        );
    }

    proptest! {
        #[test]
        fn hits_are_the_automaton_s(
            pats in proptest::collection::vec("[a-d_:A-D\\-]{3,7}", 1..12),
            text in proptest::collection::vec(
                prop_oneof![Just(b'a'), Just(b'b'), Just(b'c'), Just(b'd'), Just(b'A'),
                    Just(b'_'), Just(b':'), Just(b'-'), Just(b'\x7f'), Just(b'@'), Just(b'\n')],
                0..300,
            ),
        ) {
            let pats = distinct(pats.into_iter().map(|p| p.to_ascii_lowercase()).collect());
            prop_assert_eq!(found(&pats, &text), reference(&pats, &text));
        }
    }
}
