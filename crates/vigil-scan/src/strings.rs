//! The printable runs of binary content, found in one pass (`strings -a`, `strings -el` and
//! `strings -eL` together): each 64 bytes become three bit masks (printable bytes, bytes a
//! wide code unit may start with, zero bytes), and runs are whole-word bit operations on them.
//! ASCII runs are gathered one after another, a line break between two, with where each line
//! starts in the buffer; UTF-16LE and UTF-32LE runs are looked for only where a mask shows four
//! wide code units in a row, so content without NUL-interleaved text costs nothing more.

/// The bit masks of one buffer, one word per 64 bytes (bit `j` of word `w` is byte `64w + j`).
pub(crate) struct Masks {
    /// Printable bytes (ASCII printable, tab and line breaks).
    p: Vec<u64>,
    /// Bytes a wide code unit of text may hold: printable ASCII and tab.
    q: Vec<u64>,
    /// Zero bytes.
    z: Vec<u64>,
    len: usize,
}

/// Each word of `v` with the word after it (zero after the last): what [`on`] reads.
#[inline]
fn pairs(v: &[u64]) -> impl Iterator<Item = (u64, u64)> + '_ {
    v.iter()
        .zip(v.iter().skip(1).copied().chain(std::iter::once(0)))
        .map(|(&cur, next)| (cur, next))
}

/// Bits `k` places on (0 < `k` < 64) of a word followed by `next`: bit `i` of the result is
/// bit `i + k` of the two.
#[inline]
fn on(cur: u64, next: u64, k: u32) -> u64 {
    cur >> k | next << (64 - k)
}

/// The three masks of the first `len` of 64 bytes ([`crate::classify::text_masks`]): the last,
/// short block of a buffer (whole blocks are read where they lie, `text_masks_of`).
#[inline]
fn block(bytes: &[u8; 64], len: usize) -> (u64, u64, u64) {
    let keep = if len >= 64 {
        u64::MAX
    } else {
        (1u64 << len) - 1
    };
    let [p, q, z] = crate::classify::text_masks(bytes).map(|m| m & keep);
    (p, q, z)
}

/// Bit `k` of each of 64 flag bytes, as word `k` (bit `j` of it: flag byte `j`), for `N` up
/// to 8: with SSE2 `movemask` on x86_64 ([`crate::classify::gather`], a third of the work of
/// the multiplies on every block a run or a binary file has), else [`gather_portable`].
#[inline]
pub(crate) fn gather<const N: usize>(flags: &[u8; 64]) -> [u64; N] {
    #[cfg(target_arch = "x86_64")]
    {
        crate::classify::gather(flags)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        gather_portable(flags)
    }
}

/// [`gather`] eight bytes at a time, each byte's bit moved into the top byte by one multiply:
/// the form for other CPUs, and the reference the vector form is checked against.
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
#[inline]
pub(crate) fn gather_portable<const N: usize>(flags: &[u8; 64]) -> [u64; N] {
    let mut out = [0u64; N];
    for (k, eight) in flags.chunks_exact(8).enumerate() {
        let mut w = [0u8; 8];
        w.copy_from_slice(eight);
        let w = u64::from_le_bytes(w);
        for (bit, m) in out.iter_mut().enumerate() {
            let ones = (w >> bit) & 0x0101_0101_0101_0101;
            *m |= (ones.wrapping_mul(0x0102_0408_1020_4080) >> 56) << (8 * k);
        }
    }
    out
}

impl Masks {
    /// The masks of `data`.
    pub(crate) fn new(data: &[u8]) -> Self {
        let words = data.len().div_ceil(64);
        let mut m = Masks {
            p: Vec::with_capacity(words),
            q: Vec::with_capacity(words),
            z: Vec::with_capacity(words),
            len: data.len(),
        };
        crate::classify::text_masks_of(data, [&mut m.p, &mut m.q, &mut m.z]);
        let rest = data.chunks_exact(64).remainder();
        if !rest.is_empty() {
            let mut last = [0u8; 64];
            last[..rest.len()].copy_from_slice(rest);
            let (p, q, z) = block(&last, rest.len());
            m.p.push(p);
            m.q.push(q);
            m.z.push(z);
        }
        m
    }

    /// The bytes of `data` (the buffer the masks are of) in printable runs of 4 (`strings`'s
    /// default) or more: bit `j` of word `w` is byte `64w + j`.
    fn kept(&self) -> Vec<u64> {
        // Bit i: bytes i..i+4 are printable (a run of 4 starts there).
        let r4: Vec<u64> = pairs(&self.p)
            .map(|(c, n)| c & on(c, n, 1) & on(c, n, 2) & on(c, n, 3))
            .collect();
        // Each byte of such a run: the starts and the three bytes after each.
        let mut before = 0u64;
        r4.iter()
            .map(|&r| {
                let k = r | r << 1 | before >> 63 | r << 2 | before >> 62 | r << 3 | before >> 61;
                before = r;
                k
            })
            .collect()
    }

    /// The printable runs of 4 (`strings`'s default) or more of `data` (the buffer the masks
    /// are of), written at the start of `out` one after another, a line break between two (the
    /// length written is returned; `out`'s other bytes are left as they were); `starts`
    /// (cleared first) gets, for each line of `out`, the offset in `data` of its first
    /// byte (a run's first line, and each line after a line break inside a run). The rules read
    /// a binary file's text without the bytes around it, which are most of such a file.
    pub(crate) fn runs(&self, data: &[u8], out: &mut Vec<u8>, starts: &mut Vec<usize>) -> usize {
        starts.clear();
        let kept = self.kept();
        // Line breaks and carriage returns: printable but not text a wide unit holds. A run
        // without one (most) is not searched for line breaks.
        let breaks = |w: usize| self.p[w] & !self.q[w];
        // The first bit at or after `from` that is set (`set`) or clear (`!set`), or the end.
        let next = |from: usize, set: bool| -> usize {
            let mut w = from / 64;
            let word = |w: usize| if set { kept[w] } else { !kept[w] };
            let mut bits = if w < kept.len() {
                word(w) >> (from % 64) << (from % 64)
            } else {
                0
            };
            while bits == 0 {
                w += 1;
                if w >= kept.len() {
                    return self.len;
                }
                bits = word(w);
            }
            (64 * w + bits.trailing_zeros() as usize).min(self.len)
        };
        // Whether bytes s..e hold a line break or carriage return.
        let any_break = |s: usize, e: usize| {
            (s / 64..e.div_ceil(64)).any(|w| {
                let lo = if w == s / 64 {
                    u64::MAX << (s % 64)
                } else {
                    u64::MAX
                };
                let hi = if w == (e - 1) / 64 {
                    u64::MAX >> (63 - (e - 1) % 64)
                } else {
                    u64::MAX
                };
                breaks(w) & lo & hi != 0
            })
        };
        // Written by index into room for every run and a line break after each (a run and the
        // bytes after it take at least five bytes), plus a copy's overshoot: most runs are a
        // few bytes, copied 32 at a time (the bytes past the run are written over next).
        // `out` keeps its length between calls (a scratch buffer): only growth is filled.
        let room = data.len() + data.len() / 4 + 64;
        if out.len() < room {
            out.resize(room, 0);
        }
        let mut j = 0;
        let mut at = 0;
        while at < self.len {
            let s = next(at, true);
            if s >= self.len {
                break;
            }
            let e = next(s, false);
            if j > 0 {
                out[j] = b'\n';
                j += 1;
            }
            starts.push(s);
            let n = e - s;
            match data.get(s..s + 32) {
                Some(head) if n <= 32 => out[j..j + 32].copy_from_slice(head),
                _ => out[j..j + n].copy_from_slice(&data[s..e]),
            }
            j += n;
            if any_break(s, e) {
                starts.extend(memchr::memchr_iter(b'\n', &data[s..e]).map(|i| s + i + 1));
            }
            at = e;
        }
        j
    }

    /// The runs of `width`-byte code units (2: UTF-16, 4: UTF-32) of `data`, little-endian
    /// (`le`) or big-endian, that are printable ASCII or tabs, at every byte alignment (but
    /// `skip`, the alignment of the characters' bytes of a reading already done), of at least
    /// 4 (`strings`'s default) characters: one per line of the returned text (alignment 0's
    /// runs first, then 1's…), with the offset of each run's first character byte. Empty, at the
    /// cost of a few word operations per 64 bytes, when `data` holds no such run.
    pub(crate) fn wide(
        &self,
        data: &[u8],
        width: usize,
        le: bool,
        skip: Option<usize>,
    ) -> (Vec<u8>, Vec<usize>) {
        let (q, z) = (&self.q, &self.z);
        // Bit i: the character byte of a code unit of text is at byte i (the unit's other bytes,
        // after it little-endian and before it big-endian, are zeros).
        let unit: Vec<u64> = if le {
            pairs(z)
                .zip(q)
                .map(|((c, n), &q)| {
                    let mut u = q & on(c, n, 1);
                    if width == 4 {
                        u &= on(c, n, 2) & on(c, n, 3);
                    }
                    u
                })
                .collect()
        } else {
            let mut before = 0u64;
            z.iter()
                .zip(q)
                .map(|(&c, &q)| {
                    let back = |k: u32| c << k | before >> (64 - k);
                    let mut u = q & back(1);
                    if width == 4 {
                        u &= back(2) & back(3);
                    }
                    before = c;
                    u
                })
                .collect()
        };
        let step = width as u32;
        let mut runs: Vec<(usize, usize, usize)> = Vec::new();
        let mut covered = [0usize; 4];
        for (w, (c, n)) in pairs(&unit).enumerate() {
            let mut starts = c & on(c, n, step) & on(c, n, 2 * step) & on(c, n, 3 * step);
            while starts != 0 {
                let i = 64 * w + starts.trailing_zeros() as usize;
                starts &= starts - 1;
                let a = i % width;
                // Positions come in order: the first one of a run is where it starts.
                if i < covered[a] || skip == Some(a) {
                    continue;
                }
                let mut e = i;
                while e < self.len && unit[e / 64] >> (e % 64) & 1 != 0 {
                    e += width;
                }
                runs.push((a, i, e));
                covered[a] = e;
            }
        }
        runs.sort_unstable();
        let (mut text, mut starts) = (Vec::new(), Vec::with_capacity(runs.len()));
        for (_, s, e) in runs {
            starts.push(s);
            text.extend(data[s..e.min(data.len())].chunks(width).map(|u| u[0]));
            text.push(b'\n');
        }
        (text, starts)
    }
}

#[cfg(test)]
mod tests {
    /// The vector gather gives the multiplies' words, for every bit count and any bytes.
    #[test]
    fn gather_matches_the_portable_form() {
        use proptest::prelude::*;
        proptest!(ProptestConfig::with_cases(2000), |(v in proptest::collection::vec(any::<u8>(), 64))| {
            let b: [u8; 64] = v.try_into().unwrap();
            prop_assert_eq!(super::gather::<1>(&b), super::gather_portable::<1>(&b));
            prop_assert_eq!(super::gather::<3>(&b), super::gather_portable::<3>(&b));
            prop_assert_eq!(super::gather::<7>(&b), super::gather_portable::<7>(&b));
            prop_assert_eq!(super::gather::<8>(&b), super::gather_portable::<8>(&b));
        });
    }

    use super::*;
    use proptest::prelude::*;

    /// The shortest printable run of binary content that is scanned (`strings`'s default).
    const MIN_RUN: usize = 4;

    /// Whether a byte is printable ASCII or a tab or line break.
    fn printable(c: u8) -> bool {
        (0x20..0x7f).contains(&c) || matches!(c, b'\n' | b'\r' | b'\t')
    }

    /// Byte by byte: the bytes of `data` in printable runs of at least [`MIN_RUN`], one
    /// stretch after another, and the offset in `data` of each line of the result.
    fn runs_walk(data: &[u8]) -> (Vec<u8>, Vec<usize>) {
        let mut kept = vec![false; data.len()];
        let mut i = 0;
        while i < data.len() {
            let s = i;
            let p = printable(data[i]);
            while i < data.len() && printable(data[i]) == p {
                i += 1;
            }
            if p && i - s >= MIN_RUN {
                kept[s..i].fill(true);
            }
        }
        let (mut text, mut starts) = (Vec::new(), Vec::new());
        let mut i = 0;
        while i < data.len() {
            if !kept[i] {
                i += 1;
                continue;
            }
            if !text.is_empty() {
                text.push(b'\n');
            }
            starts.push(i);
            while i < data.len() && kept[i] {
                text.push(data[i]);
                if data[i] == b'\n' {
                    starts.push(i + 1);
                }
                i += 1;
            }
        }
        (text, starts)
    }

    fn wide_walk(data: &[u8], width: usize, le: bool) -> (Vec<u8>, Vec<usize>) {
        // A unit of text with its character byte at `i`: the unit's other bytes are zeros.
        let unit = |i: usize| {
            if i >= data.len() || !((0x20..0x7f).contains(&data[i]) || data[i] == b'\t') {
                return false;
            }
            if le {
                i + width <= data.len() && data[i + 1..i + width].iter().all(|&b| b == 0)
            } else {
                i + 1 >= width && data[i + 1 - width..i].iter().all(|&b| b == 0)
            }
        };
        let (mut text, mut starts) = (Vec::new(), Vec::new());
        for align in 0..width {
            let mut i = align;
            while i < data.len() {
                if !unit(i) {
                    i += width;
                    continue;
                }
                let s = i;
                while unit(i) {
                    i += width;
                }
                if (i - s) / width >= MIN_RUN {
                    starts.push(s);
                    text.extend(data[s..i.min(data.len())].iter().step_by(width));
                    text.push(b'\n');
                }
            }
        }
        (text, starts)
    }

    /// The masks give exactly what a byte-by-byte walk gives, on binary shaped like real
    /// binaries (text, NULs, UTF-16 and UTF-32 strings, noise), across word boundaries.
    #[test]
    fn masks_match_a_byte_walk() {
        let piece = prop_oneof![
            3 => proptest::collection::vec(proptest::sample::select(b"aZ0 \t\n\r~".to_vec()), 0..90),
            2 => proptest::collection::vec(Just(0u8), 0..9),
            2 => proptest::collection::vec(proptest::sample::select(b"aZ0 \t\n".to_vec()), 0..40)
                .prop_map(|v| v.into_iter().flat_map(|c| [c, 0]).collect::<Vec<u8>>()),
            2 => proptest::collection::vec(proptest::sample::select(b"aZ0 \t".to_vec()), 0..20)
                .prop_map(|v| v.into_iter().flat_map(|c| [c, 0, 0, 0]).collect::<Vec<u8>>()),
            2 => proptest::collection::vec(any::<u8>(), 0..70),
        ];
        proptest!(ProptestConfig::with_cases(3000), |(parts in proptest::collection::vec(piece, 0..12))| {
            let data: Vec<u8> = parts.concat();
            let m = Masks::new(&data);
            // A scratch buffer holding older bytes: only what is written counts.
            let (mut text, mut starts) = (vec![b'#'; 7], Vec::new());
            let n = m.runs(&data, &mut text, &mut starts);
            prop_assert_eq!((text[..n].to_vec(), starts), runs_walk(&data));
            for width in [2, 4] {
                for le in [true, false] {
                    prop_assert_eq!(m.wide(&data, width, le, None), wide_walk(&data, width, le));
                }
            }
        });
    }
}
