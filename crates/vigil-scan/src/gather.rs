//! The keyword windows' set test on AVX2: eight text positions hashed at once in vector lanes and
//! looked up in the set with one gather, about three times the portable loop's speed. The one
//! module of the workspace allowed `unsafe` (ARCHITECTURE.md, "Invariants").
//!
//! [`crate::keywords`] owns the set and its meaning; this module only answers, for a whole
//! buffer, the positions whose folded three-byte window has its hash's bit set, exactly as the
//! portable loop does (a property test holds them equal). Gathers are slow on some CPUs (Intel's
//! from Skylake to Tiger Lake with the Downfall microcode, older AMD), so the kernel is used only
//! when the CPU has AVX2 and, timed once per process on a fixed buffer, it beat the portable loop.

#![allow(unsafe_code)]

use std::sync::OnceLock;

/// The set's words: bit `x` of the set is bit `x % 64` of word `x / 64` (`keywords::Grams`).
pub(crate) type Bits = [u64; 1024];

/// Whether [`candidates`] may be called in this process: the CPU has AVX2 and the kernel was the
/// faster one when timed (once, on first use).
pub(crate) fn enabled() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| {
        #[cfg(target_arch = "x86_64")]
        {
            std::is_x86_feature_detected!("avx2") && faster_than(crate::keywords::portable_timing)
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            false
        }
    })
}

/// Whether the kernel, over a fixed 64 KiB of source-like text and a set of 100 bits, takes
/// under four fifths of the time `portable(bits, text)` takes (best of three runs each).
#[cfg(target_arch = "x86_64")]
fn faster_than(portable: fn(&Bits, &[u8]) -> usize) -> bool {
    use std::time::{Duration, Instant};
    let line = b"    let token = request.headers().get(\"x-api-key\"); // checks 0x7f3a_secret\n";
    let text: Vec<u8> = line.iter().copied().cycle().take(64 << 10).collect();
    let mut bits: Box<Bits> = Box::new([0; 1024]);
    let mut x = 0x2545_f491_u32;
    for _ in 0..100 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        let h = (x & 0xFFFF) as usize;
        bits[h >> 6] |= 1 << (h & 63);
    }
    let best = |run: &dyn Fn() -> usize| {
        (0..3)
            .map(|_| {
                let t = Instant::now();
                std::hint::black_box(run());
                t.elapsed()
            })
            .min()
            .unwrap_or(Duration::MAX)
    };
    let fast = best(&|| {
        let mut n = 0;
        // SAFETY: `enabled` checked that the CPU has AVX2 before calling this.
        unsafe { avx2(&bits, &text, &mut |_| n += 1) };
        n
    });
    let slow = best(&|| portable(&bits, &text));
    fast * 5 < slow * 4
}

/// Calls `f(position)` for every position of `data` (in order) whose folded window
/// (`keywords::window`) hashes (`keywords::hash`) to a bit set in `bits`, from the last
/// position the kernel can read sixteen bytes at on; returns the first position it did not
/// test, for the portable loop to finish.
///
/// Panics if [`enabled`] is false.
pub(crate) fn candidates(bits: &Bits, data: &[u8], f: &mut dyn FnMut(usize)) -> usize {
    assert!(
        enabled(),
        "the AVX2 keyword kernel is used only where it is enabled"
    );
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: `enabled` is true only when the CPU has AVX2.
        unsafe { avx2(bits, data, f) }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (bits, data, f);
        unreachable!("enabled is false off x86_64")
    }
}

/// The kernel: positions `i .. i + 8` per step, from one 16-byte load at `i` while `i + 16` bytes
/// are there.
///
/// # Safety
/// The CPU must have AVX2. Every memory access is in bounds by construction: the load reads
/// `data[i .. i + 16]` with `i + 16 <= data.len()`, and the gather reads 32-bit word `x >> 5` of
/// `bits` for a 16-bit hash `x`, below 2,048, the number of 32-bit words in [`Bits`].
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn avx2(bits: &Bits, data: &[u8], f: &mut dyn FnMut(usize)) -> usize {
    use std::arch::x86_64::*;
    // Lane j (32 bits) takes bytes j, j + 1, j + 2 of the load and a zero byte; the shuffle
    // works within each 128-bit half, so both halves hold the same 16 bytes.
    let order = _mm256_setr_epi8(
        0, 1, 2, -128, 1, 2, 3, -128, 2, 3, 4, -128, 3, 4, 5, -128, 4, 5, 6, -128, 5, 6, 7, -128,
        6, 7, 8, -128, 7, 8, 9, -128,
    );
    let fold = _mm256_set1_epi32(0x20_2020);
    let mul = _mm256_set1_epi32(0x9E37_79B1_u32 as i32);
    let low5 = _mm256_set1_epi32(31);
    let words = bits.as_ptr().cast::<i32>();
    let n = data.len();
    let mut i = 0;
    while i + 16 <= n {
        // SAFETY: `i + 16 <= n`: the 16 bytes read are in `data`.
        let v = unsafe { _mm_loadu_si128(data.as_ptr().add(i).cast::<__m128i>()) };
        let w = _mm256_or_si256(
            _mm256_shuffle_epi8(_mm256_broadcastsi128_si256(v), order),
            fold,
        );
        // keywords::hash: the high 16 bits of the 32-bit product.
        let x = _mm256_srli_epi32::<16>(_mm256_mullo_epi32(w, mul));
        // SAFETY: each index `x >> 5` is below 2^11 = 2,048 words of 32 bits in `bits`.
        let got = unsafe { _mm256_i32gather_epi32::<4>(words, _mm256_srli_epi32::<5>(x)) };
        // Bit `x % 32` of each word moved to its sign, and the eight signs collected.
        let top = _mm256_sllv_epi32(got, _mm256_sub_epi32(low5, _mm256_and_si256(x, low5)));
        let mut m = _mm256_movemask_ps(_mm256_castsi256_ps(top)) as u32;
        while m != 0 {
            f(i + m.trailing_zeros() as usize);
            m &= m - 1;
        }
        i += 8;
    }
    i
}

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The kernel's positions, then the portable loop's from where it stopped, as `candidates`
    /// in `keywords.rs` joins them; `None` when the CPU has no AVX2 (then the kernel is never
    /// used).
    fn kernel(bits: &Bits, data: &[u8]) -> Option<Vec<usize>> {
        if !std::is_x86_feature_detected!("avx2") {
            return None;
        }
        let mut out = Vec::new();
        // SAFETY: the CPU has AVX2 (checked above).
        let from = unsafe { avx2(bits, data, &mut |i| out.push(i)) };
        for i in from..data.len().saturating_sub(2) {
            let x = crate::keywords::window_hash(data, i);
            if bits[x >> 6] >> (x & 63) & 1 != 0 {
                out.push(i);
            }
        }
        Some(out)
    }

    /// Every position whose window's bit is set, one by one.
    fn reference(bits: &Bits, data: &[u8]) -> Vec<usize> {
        (0..data.len().saturating_sub(2))
            .filter(|&i| {
                let x = crate::keywords::window_hash(data, i);
                bits[x >> 6] >> (x & 63) & 1 != 0
            })
            .collect()
    }

    proptest! {
        #[test]
        fn the_kernel_passes_the_positions_the_portable_loop_passes(
            set in proptest::collection::vec(any::<u16>(), 1..400),
            data in proptest::collection::vec(any::<u8>(), 0..300),
            ascii in proptest::collection::vec(b'0'..b'z', 0..300),
        ) {
            let mut bits: Box<Bits> = Box::new([0; 1024]);
            for h in set {
                bits[usize::from(h) >> 6] |= 1 << (h & 63);
            }
            // Windows of the text itself set too, so the kernel has hits to report.
            for i in (0..ascii.len().saturating_sub(2)).step_by(7) {
                let x = crate::keywords::window_hash(&ascii, i);
                bits[x >> 6] |= 1 << (x & 63);
            }
            for text in [&data, &ascii] {
                if let Some(got) = kernel(&bits, text) {
                    prop_assert_eq!(got, reference(&bits, text));
                }
            }
        }
    }
}
