//! Placing a workspace on a cache line.
//!
//! Every sampler accepts any workspace slice, but one that starts on a
//! 64-byte boundary is faster: no vector load then straddles two cache lines
//! (measured on the benchmark chains at d = 1000: 10–15 % per step, f32 and
//! f64 alike). `vec!` does not promise that alignment (glibc places large
//! blocks 16 bytes past a page boundary), so allocate
//! `workspace_len(d) + workspace_pad::<T>()` values and hand the sampler
//! [`align_workspace`]'s window:
//!
//! ```
//! use smile::{align_workspace, workspace_pad, Mclmc};
//! let d = 1000;
//! let n = Mclmc::<f32>::workspace_len(d);
//! let mut buf = vec![0.0f32; n + workspace_pad::<f32>()];
//! let ws = align_workspace(&mut buf, n).unwrap();
//! assert_eq!((ws.len(), ws.as_ptr() as usize % 64), (n, 0));
//! ```

use crate::error::Error;

/// The boundary [`align_workspace`] finds, in bytes: a cache line (and the
/// widest vector register).
pub const WORKSPACE_ALIGN: usize = 64;

/// Values to allocate beyond a workspace's length so that
/// [`align_workspace`] always finds a boundary: `64 / size_of::<T>()`.
pub const fn workspace_pad<T>() -> usize {
    let s = core::mem::size_of::<T>();
    if s == 0 {
        0
    } else {
        WORKSPACE_ALIGN.div_ceil(s)
    }
}

/// The `len` values of `buf` that start at its first 64-byte boundary.
/// Errors: `BufferLength` if `buf` has fewer than `len` values from there
/// (allocate `len + workspace_pad::<T>()`), or if no value of `buf` starts
/// on a boundary (an element size that does not divide 64).
pub fn align_workspace<T>(buf: &mut [T], len: usize) -> Result<&mut [T], Error> {
    let size = core::mem::size_of::<T>();
    let addr = buf.as_ptr() as usize;
    let gap = addr.next_multiple_of(WORKSPACE_ALIGN) - addr;
    if size == 0 || gap % size != 0 {
        return Err(Error::BufferLength);
    }
    let skip = gap / size;
    match skip.checked_add(len) {
        Some(end) if end <= buf.len() => Ok(&mut buf[skip..end]),
        _ => Err(Error::BufferLength),
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::vec;

    fn check<T: Copy + Default + PartialEq + core::fmt::Debug>() {
        let pad = workspace_pad::<T>();
        assert_eq!(pad * core::mem::size_of::<T>(), WORKSPACE_ALIGN);
        let mut buf = vec![T::default(); 1000 + 2 * pad];
        let base = buf.as_ptr() as usize;
        // Every start within two lines: the window is aligned, `len` long,
        // inside the slice, and at its first boundary.
        for start in 0..2 * pad {
            let sub = &mut buf[start..start + 100 + pad];
            let (lo, hi) = (sub.as_ptr() as usize, sub.as_ptr() as usize + core::mem::size_of_val(sub));
            let w = align_workspace(sub, 100).unwrap();
            let p = w.as_ptr() as usize;
            assert_eq!((w.len(), p % WORKSPACE_ALIGN), (100, 0));
            assert!(lo <= p && p + 100 * core::mem::size_of::<T>() <= hi && p - lo < WORKSPACE_ALIGN, "start {start} (base {base:x})");
        }
        // One value short of `len` after the boundary.
        let start = (0..pad).find(|&s| (base + s * core::mem::size_of::<T>()) % WORKSPACE_ALIGN != 0).unwrap();
        let sub = &mut buf[start..];
        let skip = (WORKSPACE_ALIGN - (sub.as_ptr() as usize) % WORKSPACE_ALIGN) / core::mem::size_of::<T>();
        let n = sub.len();
        assert_eq!(align_workspace(&mut sub[..skip + 9], 10), Err(Error::BufferLength));
        assert!(align_workspace(&mut sub[..skip + 10], 10).is_ok());
        assert_eq!(align_workspace(sub, usize::MAX), Err(Error::BufferLength));
        assert!(align_workspace(&mut sub[..n.min(skip)], 0).is_ok());
    }

    #[test]
    fn windows_start_on_a_line() {
        check::<f32>();
        check::<f64>();
        check::<u8>();
    }

    #[test]
    fn element_sizes_that_miss_every_line_are_refused() {
        // 24-byte elements: a 64-byte boundary falls inside one unless the
        // slice already starts on one, which a window of an 8-aligned buffer
        // cannot always arrange.
        let mut buf = vec![[0u64; 3]; 64];
        let refused = (0..8).filter(|&s| align_workspace(&mut buf[s..], 4).is_err()).count();
        assert!(refused > 0);
        assert_eq!(workspace_pad::<()>(), 0);
        assert_eq!(align_workspace(&mut [(); 4][..], 1), Err(Error::BufferLength));
    }
}
