//! SIMD slice kernels: the only code in smile that touches d-vectors element
//! by element.
//!
//! Every kernel is one pass over its slices, processes `T::LANES` values per
//! iteration with `wide` vectors and finishes the tail (`len % LANES`) with
//! the same arithmetic on scalars, so it is correct for every length and for
//! slices starting at any address (loads and stores are unaligned).
//!
//! Safety contract of the public functions: they never read or write outside
//! the slices they are given. Slices that should have equal length but do not
//! are processed up to the shortest one (callers in smile validate lengths
//! once, at initialisation, so the hot path carries no checks).

mod diag;
mod kernels;
mod sgmc;

pub use diag::{Diag, Identity};
pub use kernels::*;
pub use sgmc::*;
