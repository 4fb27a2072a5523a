//! Which bytes of a block are in the base64 alphabets (or lead a group of base64 text), or of
//! a binary file's text, as bit masks: AVX2 or SSE2 compares and `movemask` on x86_64, a
//! portable loop elsewhere.

#![allow(unsafe_code)]

/// Bit `j` set when byte `j` of `block` is a letter, a digit or one of `+/-_` (both base64
/// alphabets, hex included).
#[inline]
pub(crate) fn base64_mask(block: &[u8; 64]) -> u64 {
    #[cfg(target_arch = "x86_64")]
    {
        sse2(block)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        portable(block)
    }
}

/// [`base64_mask`] one byte at a time: the reference the vector form is checked against.
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
fn portable(block: &[u8; 64]) -> u64 {
    block.iter().enumerate().fold(0u64, |m, (j, &b)| {
        let letter = (b | 0x20).wrapping_sub(b'a') < 26;
        let digit = b.wrapping_sub(b'0') < 10;
        let other = matches!(b, b'+' | b'/' | b'-' | b'_');
        m | u64::from(letter | digit | other) << j
    })
}

/// [`base64_mask`] sixteen bytes at a time: each class is an unsigned range check (subtract its
/// first byte, then `min` with its width equals itself) or an equality, and `movemask` packs
/// the sixteen answers into bits.
#[cfg(target_arch = "x86_64")]
#[inline]
fn sse2(block: &[u8; 64]) -> u64 {
    if has_avx2() {
        // SAFETY: the CPU has AVX2 (checked above).
        return unsafe { avx2_blocks(block) };
    }
    // SAFETY: SSE2 is part of the x86_64 baseline: every CPU this code runs on has it.
    unsafe { sse2_blocks(block) }
}

/// [`base64_mask`] thirty-two bytes at a time, for CPUs with AVX2: the same range checks.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn avx2_blocks(block: &[u8; 64]) -> u64 {
    use std::arch::x86_64::*;
    let within = |x: __m256i, first: u8, width: u8| {
        let d = _mm256_sub_epi8(x, _mm256_set1_epi8(first as i8));
        _mm256_cmpeq_epi8(_mm256_min_epu8(d, _mm256_set1_epi8(width as i8)), d)
    };
    let equal = |x: __m256i, c: u8| _mm256_cmpeq_epi8(x, _mm256_set1_epi8(c as i8));
    let mut mask = 0u64;
    for (k, half) in block.chunks_exact(32).enumerate() {
        // SAFETY: `half` is 32 readable bytes; the load has no alignment requirement.
        let v = unsafe { _mm256_loadu_si256(half.as_ptr().cast::<__m256i>()) };
        let letter = within(_mm256_or_si256(v, _mm256_set1_epi8(0x20)), b'a', 25);
        let digit = within(v, b'0', 9);
        let other = _mm256_or_si256(
            _mm256_or_si256(equal(v, b'+'), equal(v, b'/')),
            _mm256_or_si256(equal(v, b'-'), equal(v, b'_')),
        );
        let all = _mm256_or_si256(_mm256_or_si256(letter, digit), other);
        mask |= u64::from(_mm256_movemask_epi8(all) as u32) << (32 * k);
    }
    mask
}

/// [`crate::strings::gather`] with SSE2: each bit in turn moved to the top of its byte, and
/// `movemask` packs sixteen tops at once.
#[cfg(target_arch = "x86_64")]
#[inline]
pub(crate) fn gather<const N: usize>(flags: &[u8; 64]) -> [u64; N] {
    const { assert!(N >= 1 && N <= 8) };
    use std::arch::x86_64::*;
    let mut out = [0u64; N];
    // SAFETY: SSE2 is part of the x86_64 baseline; each load reads 16 of the 64 bytes, with no
    // alignment asked.
    unsafe {
        let p = flags.as_ptr().cast::<__m128i>();
        // Bit N-1 of every byte to its top. The shift works on 16-bit lanes: a low byte's top
        // bits spill into the low bits of the byte above, below any bit read later.
        let lift = _mm_cvtsi32_si128(8 - N as i32);
        let mut v = [0, 1, 2, 3].map(|j| _mm_sll_epi16(_mm_loadu_si128(p.add(j)), lift));
        for k in (0..N).rev() {
            let mut w = 0u64;
            for (j, x) in v.iter_mut().enumerate() {
                w |= u64::from(_mm_movemask_epi8(*x) as u16) << (16 * j);
                // The next bit down to the top (an add within each byte, no carry across).
                *x = _mm_add_epi8(*x, *x);
            }
            out[k] = w;
        }
    }
    out
}

/// Bit `k` of each of 64 flag bytes, as word `k` ([`gather_portable`] on this CPU).
#[cfg(not(target_arch = "x86_64"))]
#[inline]
pub(crate) fn gather<const N: usize>(flags: &[u8; 64]) -> [u64; N] {
    gather_portable(flags)
}

/// Whether this CPU has AVX2 (asked once per process).
#[cfg(target_arch = "x86_64")]
fn has_avx2() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| std::is_x86_feature_detected!("avx2"))
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse2")]
fn sse2_blocks(block: &[u8; 64]) -> u64 {
    use std::arch::x86_64::*;
    let mut mask = 0u64;
    for (k, sixteen) in block.chunks_exact(16).enumerate() {
        // SAFETY: `sixteen` is 16 readable bytes; the load has no alignment requirement.
        let v = unsafe { _mm_loadu_si128(sixteen.as_ptr().cast::<__m128i>()) };
        let letter = within(_mm_or_si128(v, _mm_set1_epi8(0x20)), b'a', 25);
        let digit = within(v, b'0', 9);
        let other = _mm_or_si128(
            _mm_or_si128(equal(v, b'+'), equal(v, b'/')),
            _mm_or_si128(equal(v, b'-'), equal(v, b'_')),
        );
        let all = _mm_or_si128(_mm_or_si128(letter, digit), other);
        let bits = _mm_movemask_epi8(all) as u32 & 0xffff;
        mask |= u64::from(bits) << (16 * k);
    }
    mask
}

/// Bits of the first 32 bytes of `block`: in the first word, the bytes that can lead a base64
/// group of printable text (`C`, `D`, `I`–`Z`, `a`–`f`, see `decode::is_lead`); in the second,
/// the `H`s (gzip's magic in base64 starts `H4sI`). The short-run test of the decoder, without a
/// loop over bytes.
#[inline]
pub(crate) fn lead_mask(block: &[u8; 32]) -> (u32, u32) {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: SSE2 is part of the x86_64 baseline: every CPU this code runs on has it.
        unsafe { sse2_lead(block) }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        portable_lead(block)
    }
}

/// [`lead_mask`] one byte at a time: the reference the vector form is checked against.
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
fn portable_lead(block: &[u8; 32]) -> (u32, u32) {
    block.iter().enumerate().fold((0, 0), |(l, h), (j, &b)| {
        let lead = matches!(b, b'C' | b'D' | b'I'..=b'Z' | b'a'..=b'f');
        (l | u32::from(lead) << j, h | u32::from(b == b'H') << j)
    })
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse2")]
fn sse2_lead(block: &[u8; 32]) -> (u32, u32) {
    use std::arch::x86_64::*;
    let (mut lead, mut h) = (0u32, 0u32);
    for (k, sixteen) in block.chunks_exact(16).enumerate() {
        // SAFETY: `sixteen` is 16 readable bytes; the load has no alignment requirement.
        let v = unsafe { _mm_loadu_si128(sixteen.as_ptr().cast::<__m128i>()) };
        let l = _mm_or_si128(
            _mm_or_si128(equal(v, b'C'), equal(v, b'D')),
            _mm_or_si128(within(v, b'I', 17), within(v, b'a', 5)),
        );
        lead |= (_mm_movemask_epi8(l) as u32 & 0xffff) << (16 * k);
        h |= (_mm_movemask_epi8(equal(v, b'H')) as u32 & 0xffff) << (16 * k);
    }
    (lead, h)
}

/// The classes of a binary file's bytes as bit masks of one block (`strings.rs`): printable
/// (ASCII printable, tab and line breaks), text a wide code unit may hold (ASCII printable and
/// tab), and zero bytes: AVX2 compares where the CPU has it, SSE2 otherwise on x86_64.
#[inline]
pub(crate) fn text_masks(block: &[u8; 64]) -> [u64; 3] {
    #[cfg(target_arch = "x86_64")]
    {
        if has_avx2() {
            // SAFETY: the CPU has AVX2 (checked above).
            return unsafe { avx2_text_block(block) };
        }
        // SAFETY: SSE2 is part of the x86_64 baseline: every CPU this code runs on has it.
        unsafe { sse2_text(block) }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        portable_text(block)
    }
}

/// [`text_masks`] one byte at a time: the reference the vector form is checked against.
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
fn portable_text(block: &[u8; 64]) -> [u64; 3] {
    block
        .iter()
        .enumerate()
        .fold([0u64; 3], |[p, q, z], (j, &c)| {
            let text = (0x20..0x7f).contains(&c) || c == b'\t';
            let printable = text || c == b'\n' || c == b'\r';
            [
                p | u64::from(printable) << j,
                q | u64::from(text) << j,
                z | u64::from(c == 0) << j,
            ]
        })
}

/// [`text_masks`] of every whole 64-byte block of `data`, in order, pushed onto `out`'s three
/// vectors.
pub(crate) fn text_masks_of(data: &[u8], [p, q, z]: [&mut Vec<u64>; 3]) {
    for c in data.chunks_exact(64) {
        let [a, b, c] = text_masks(c.try_into().expect("64 bytes"));
        p.push(a);
        q.push(b);
        z.push(c);
    }
}

/// The three masks of one block with AVX2: each half's classes, then `movemask`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline(never)]
fn avx2_text_block(block: &[u8; 64]) -> [u64; 3] {
    use std::arch::x86_64::*;
    let classes = |v: __m256i| {
        let d = _mm256_sub_epi8(v, _mm256_set1_epi8(0x20));
        let ascii = _mm256_cmpeq_epi8(_mm256_min_epu8(d, _mm256_set1_epi8(0x5e)), d);
        let text = _mm256_or_si256(ascii, _mm256_cmpeq_epi8(v, _mm256_set1_epi8(b'\t' as i8)));
        let breaks = _mm256_or_si256(
            _mm256_cmpeq_epi8(v, _mm256_set1_epi8(b'\n' as i8)),
            _mm256_cmpeq_epi8(v, _mm256_set1_epi8(b'\r' as i8)),
        );
        let zero = _mm256_cmpeq_epi8(v, _mm256_setzero_si256());
        [_mm256_or_si256(text, breaks), text, zero]
            .map(|x| u64::from(_mm256_movemask_epi8(x) as u32))
    };
    // SAFETY: the block is 64 readable bytes, two loads of 32; no alignment is required.
    let (lo, hi) = unsafe {
        (
            _mm256_loadu_si256(block.as_ptr().cast::<__m256i>()),
            _mm256_loadu_si256(block.as_ptr().add(32).cast::<__m256i>()),
        )
    };
    let (l, h) = (classes(lo), classes(hi));
    [l[0] | h[0] << 32, l[1] | h[1] << 32, l[2] | h[2] << 32]
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse2")]
fn sse2_text(block: &[u8; 64]) -> [u64; 3] {
    use std::arch::x86_64::*;
    let mut out = [0u64; 3];
    for (k, sixteen) in block.chunks_exact(16).enumerate() {
        // SAFETY: `sixteen` is 16 readable bytes; the load has no alignment requirement.
        let v = unsafe { _mm_loadu_si128(sixteen.as_ptr().cast::<__m128i>()) };
        let text = _mm_or_si128(within(v, 0x20, 0x5e), equal(v, b'\t'));
        let printable = _mm_or_si128(text, _mm_or_si128(equal(v, b'\n'), equal(v, b'\r')));
        for (m, x) in out.iter_mut().zip([printable, text, equal(v, 0)]) {
            *m |= u64::from(_mm_movemask_epi8(x) as u32 & 0xffff) << (16 * k);
        }
    }
    out
}

/// Lanes of `x` in `first..=first + width` (unsigned): all ones, else zero.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse2")]
fn within(x: std::arch::x86_64::__m128i, first: u8, width: u8) -> std::arch::x86_64::__m128i {
    use std::arch::x86_64::*;
    let d = _mm_sub_epi8(x, _mm_set1_epi8(first as i8));
    _mm_cmpeq_epi8(_mm_min_epu8(d, _mm_set1_epi8(width as i8)), d)
}

/// Lanes of `x` equal to `c`: all ones, else zero.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse2")]
fn equal(x: std::arch::x86_64::__m128i, c: u8) -> std::arch::x86_64::__m128i {
    use std::arch::x86_64::*;
    _mm_cmpeq_epi8(x, _mm_set1_epi8(c as i8))
}

/// Calls `f(i)`, in order, for each `i` where `data[i]` and `data[i + 7]` are both `.` (a
/// Discord token's middle: `.`, six characters, `.`): sixteen places per compare on x86_64,
/// where a search for each `.` paid a call for every dot of source text.
pub(crate) fn dot_pairs(data: &[u8], mut f: impl FnMut(usize)) {
    let n = data.len();
    #[allow(unused_mut)]
    let mut at = 0;
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::*;
        // SAFETY: SSE2 is part of the x86_64 baseline; the loads read data[at..at + 16] and
        // data[at + 7..at + 23], inside `data` as `at + 23 <= n`.
        unsafe {
            let dot = _mm_set1_epi8(b'.' as i8);
            while at + 23 <= n {
                let p = data.as_ptr().add(at);
                let here = _mm_cmpeq_epi8(_mm_loadu_si128(p.cast()), dot);
                let there = _mm_cmpeq_epi8(_mm_loadu_si128(p.add(7).cast()), dot);
                let mut m = _mm_movemask_epi8(_mm_and_si128(here, there)) as u32;
                while m != 0 {
                    f(at + m.trailing_zeros() as usize);
                    m &= m - 1;
                }
                at += 16;
            }
        }
    }
    while at + 7 < n {
        if data[at] == b'.' && data[at + 7] == b'.' {
            f(at);
        }
        at += 1;
    }
}

#[cfg(test)]
mod tests {
    /// The vector pair search gives what a byte walk gives, near the ends too.
    #[test]
    fn dot_pairs_match_a_byte_walk() {
        use proptest::prelude::*;
        proptest!(ProptestConfig::with_cases(3000), |(v in proptest::collection::vec(
            proptest::sample::select(b"..aZ_-".to_vec()), 0..100))| {
            let mut got = Vec::new();
            super::dot_pairs(&v, |i| got.push(i));
            let want: Vec<usize> = (0..v.len().saturating_sub(7))
                .filter(|&i| v[i] == b'.' && v[i + 7] == b'.')
                .collect();
            prop_assert_eq!(got, want);
        });
    }

    use super::*;

    #[test]
    fn the_vector_mask_is_the_byte_loop_s() {
        use proptest::prelude::*;
        // Every byte value, in every lane.
        for start in 0..=255u8 {
            let block: [u8; 64] = std::array::from_fn(|j| start.wrapping_add(j as u8));
            assert_eq!(base64_mask(&block), portable(&block), "from {start}");
        }
        proptest!(ProptestConfig::with_cases(4000), |(v in proptest::collection::vec(any::<u8>(), 64))| {
            let block: [u8; 64] = v.try_into().unwrap();
            prop_assert_eq!(base64_mask(&block), portable(&block));
            #[cfg(target_arch = "x86_64")]
            // SAFETY: SSE2 is part of the x86_64 baseline.
            prop_assert_eq!(unsafe { sse2_blocks(&block) }, portable(&block));
        });
    }

    #[test]
    fn the_vector_text_masks_are_the_byte_loop_s() {
        use proptest::prelude::*;
        for start in 0..=255u8 {
            let block: [u8; 64] = std::array::from_fn(|j| start.wrapping_add(j as u8));
            assert_eq!(text_masks(&block), portable_text(&block), "from {start}");
        }
        proptest!(ProptestConfig::with_cases(4000), |(v in proptest::collection::vec(any::<u8>(), 64))| {
            let block: [u8; 64] = v.try_into().unwrap();
            prop_assert_eq!(text_masks(&block), portable_text(&block));
            #[cfg(target_arch = "x86_64")]
            // SAFETY: SSE2 is part of the x86_64 baseline.
            prop_assert_eq!(unsafe { sse2_text(&block) }, portable_text(&block));
        });
        // Whole buffers, block by block (AVX2 where the CPU has it).
        proptest!(ProptestConfig::with_cases(500), |(v in proptest::collection::vec(any::<u8>(), 0..400))| {
            let (mut p, mut q, mut z) = (Vec::new(), Vec::new(), Vec::new());
            text_masks_of(&v, [&mut p, &mut q, &mut z]);
            let want: Vec<[u64; 3]> = v.chunks_exact(64).map(|c| portable_text(c.try_into().unwrap())).collect();
            let got: Vec<[u64; 3]> = (0..p.len()).map(|i| [p[i], q[i], z[i]]).collect();
            prop_assert_eq!(got, want);
        });
    }

    #[test]
    fn the_vector_lead_mask_is_the_byte_loop_s() {
        use proptest::prelude::*;
        for start in 0..=255u8 {
            let block: [u8; 32] = std::array::from_fn(|j| start.wrapping_add(j as u8));
            assert_eq!(lead_mask(&block), portable_lead(&block), "from {start}");
        }
        proptest!(ProptestConfig::with_cases(4000), |(v in proptest::collection::vec(any::<u8>(), 32))| {
            let block: [u8; 32] = v.try_into().unwrap();
            prop_assert_eq!(lead_mask(&block), portable_lead(&block));
        });
    }
}
