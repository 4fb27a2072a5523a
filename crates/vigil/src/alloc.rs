//! The process's allocator: mimalloc, with huge pages off for a batch command.
// The allocator is the one place the binary calls C: `GlobalAlloc` is an unsafe trait.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout};
use std::ffi::c_void;

use libmimalloc_sys as mi;

/// mimalloc instead of the system allocator: the gateway allocates small, short-lived buffers on
/// every request, and the scanner on every file, where glibc's malloc spends its time
/// consolidating free chunks.
#[global_allocator]
static ALLOC: MiMalloc = MiMalloc;

/// The alignment every `mi_malloc` block has (`MI_MAX_ALIGN_SIZE`, as glibc's `malloc`).
const MALLOC_ALIGN: usize = 16;

/// mimalloc, asked the way Rust's own `System` allocator asks libc: plain `mi_malloc` when the
/// block's natural alignment already satisfies the layout, `mi_malloc_aligned` only when it does
/// not. (The `mimalloc` crate asks for an aligned block every time; mimalloc 3 serves a request
/// over 1 KiB that way through its generic path, ~180 instructions: 9 of the gateway's ~31
/// allocations per request, hyper's read buffers and the request's futures among them.)
struct MiMalloc;

/// Whether `mi_malloc`'s own alignment is enough for `layout` (the `System` allocator's test).
#[inline]
fn plain(layout: &Layout) -> bool {
    layout.align() <= MALLOC_ALIGN && layout.align() <= layout.size()
}

// SAFETY: every block comes from mimalloc and goes back to it (`mi_free` takes blocks of either
// kind); the aligned calls are used whenever the plain ones could not honour the layout.
unsafe impl GlobalAlloc for MiMalloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: mimalloc's C API; a null return is passed on as an allocation failure.
        unsafe {
            if plain(&layout) {
                mi::mi_malloc(layout.size()).cast()
            } else {
                mi::mi_malloc_aligned(layout.size(), layout.align()).cast()
            }
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as `alloc`.
        unsafe {
            if plain(&layout) {
                mi::mi_zalloc(layout.size()).cast()
            } else {
                mi::mi_zalloc_aligned(layout.size(), layout.align()).cast()
            }
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        // SAFETY: `ptr` came from this allocator.
        unsafe { mi::mi_free(ptr.cast::<c_void>()) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr` came from this allocator with `layout`; the new block keeps its alignment.
        unsafe {
            if layout.align() <= MALLOC_ALIGN && layout.align() <= new_size {
                mi::mi_realloc(ptr.cast::<c_void>(), new_size).cast()
            } else {
                mi::mi_realloc_aligned(ptr.cast::<c_void>(), new_size, layout.align()).cast()
            }
        }
    }
}

/// Tunes the process for a command that runs once over its input (a scan, a lint): no
/// transparent huge pages. mimalloc asks the kernel for them (`madvise(MADV_HUGEPAGE)`) on its
/// arenas, and a 2 MiB page stays resident while any byte of it is in use, so a history scan,
/// which frees each phase's structures before the next phase grows its own, kept pages it no
/// longer used (200,000 commits: peak RSS 443 MB; 402 MB with huge pages off). Servers
/// (`gateway`, `memory serve`) keep them: their heap is small and hot. Where the kernel has no
/// such switch, nothing changes.
pub(crate) fn tune_for_batch() {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    let _ = rustix::thread::disable_transparent_huge_pages(true);
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn blocks_keep_their_alignment_and_contents() {
        for (size, align) in [
            (1, 1),
            (8, 8),
            (24, 8),
            (16, 16),
            (3000, 16),
            (8, 16),
            (64, 64),
            (5000, 4096),
        ] {
            let layout = Layout::from_size_align(size, align).unwrap();
            // SAFETY: a non-zero layout; every block is freed with the layout it was made with.
            unsafe {
                let p = ALLOC.alloc(layout);
                assert!(
                    !p.is_null() && (p as usize).is_multiple_of(align),
                    "{size}/{align}"
                );
                p.write_bytes(0xA5, size);
                let z = ALLOC.alloc_zeroed(layout);
                assert!((z as usize).is_multiple_of(align) && (0..size).all(|i| *z.add(i) == 0));
                ALLOC.dealloc(z, layout);
                let q = ALLOC.realloc(p, layout, size * 3);
                assert!((q as usize).is_multiple_of(align), "{size}/{align} grown");
                assert!((0..size).all(|i| *q.add(i) == 0xA5));
                ALLOC.dealloc(q, Layout::from_size_align(size * 3, align).unwrap());
            }
        }
    }

    #[test]
    fn plain_blocks_are_aligned_as_the_layout_asks_at_every_size() {
        // `mi_malloc`'s size classes are whole double words on x86_64 (`MI_ALIGN2W`): a
        // 24-byte block with 16-byte alignment must not land 8 bytes off.
        for size in 1..=5000usize {
            for align in [1, 2, 4, 8, 16] {
                let layout = Layout::from_size_align(size, align).unwrap();
                // SAFETY: a non-zero layout, freed with the same layout.
                unsafe {
                    let blocks: Vec<*mut u8> = (0..3).map(|_| ALLOC.alloc(layout)).collect();
                    for &p in &blocks {
                        assert!((p as usize).is_multiple_of(align), "{size}/{align}");
                    }
                    for p in blocks {
                        ALLOC.dealloc(p, layout);
                    }
                }
            }
        }
    }

    #[test]
    fn a_batch_command_runs_without_transparent_huge_pages() {
        tune_for_batch();
        assert_eq!(
            rustix::thread::transparent_huge_pages_are_disabled().ok(),
            Some(true)
        );
    }
}
