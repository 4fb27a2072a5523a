//! Which bytes of a 64-byte block are in the base64 alphabets, as a bit mask: SSE2 compares and
//! `movemask` on x86_64 (every such CPU has SSE2), a portable loop elsewhere.

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
    // SAFETY: SSE2 is part of the x86_64 baseline: every CPU this code runs on has it.
    unsafe { sse2_blocks(block) }
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

#[cfg(test)]
mod tests {
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
        });
    }
}
