//! The diagonal preconditioner seen by the kernels: either a slice `s` or the
//! identity, chosen at compile time so the unpreconditioned path reads one
//! d-vector less per pass.

use crate::real::Real;

/// A diagonal scaling `s` applied elementwise. Implemented by `&[T]` and by
/// [`Identity`] (all ones, no memory traffic).
// `len` bounds the kernels' loops; an `is_empty` would have no user.
#[allow(clippy::len_without_is_empty)]
pub trait Diag<T: Real>: Copy {
    /// True only for [`Identity`]: lets a kernel skip a store that would
    /// write back an unchanged value.
    const IDENTITY: bool = false;
    /// Number of elements available (`usize::MAX` for the identity).
    fn len(self) -> usize;
    /// # Safety
    /// `i + T::LANES <= self.len()`.
    unsafe fn v(self, i: usize) -> T::V;
    /// # Safety
    /// `i < self.len()`.
    unsafe fn at(self, i: usize) -> T;
    /// The same diagonal starting at element `start` (for chunked passes);
    /// empty past the end.
    fn from(self, start: usize) -> Self;
}

/// The identity preconditioner `s = 1`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Identity;

impl<T: Real> Diag<T> for Identity {
    const IDENTITY: bool = true;
    #[inline(always)]
    fn len(self) -> usize {
        usize::MAX
    }
    #[inline(always)]
    unsafe fn v(self, _i: usize) -> T::V {
        T::ONE.splat()
    }
    #[inline(always)]
    unsafe fn at(self, _i: usize) -> T {
        T::ONE
    }
    #[inline(always)]
    fn from(self, _start: usize) -> Self {
        Identity
    }
}

impl<T: Real> Diag<T> for &[T] {
    #[inline(always)]
    fn len(self) -> usize {
        <[T]>::len(self)
    }
    #[inline(always)]
    unsafe fn v(self, i: usize) -> T::V {
        T::vread(self.as_ptr().add(i))
    }
    #[inline(always)]
    unsafe fn at(self, i: usize) -> T {
        *self.get_unchecked(i)
    }
    #[inline(always)]
    fn from(self, start: usize) -> Self {
        self.get(start..).unwrap_or(&[])
    }
}
