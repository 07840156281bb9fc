//! Partial momentum refresh (ALGORITHMS.md §1.5) and random directions.
//!
//! `refresh(u, h, L) = normalise(u + ν z)`, `z ~ N(0, I)`,
//! `ν = sqrt(expm1(2h/L)/d)`: the isokinetic Ornstein–Uhlenbeck step that
//! decorrelates the direction over a length `L`. The momentum buffer is kept
//! unnormalised between updates (its squared norm `uu` travels beside it);
//! the next ESH update normalises it in its reduction pass, so a refresh is a
//! single fused pass `u ← u + ν‖u‖ z` that also returns the new `‖u‖²`.

use crate::real::Real;
use crate::rng::{fill_normals, NormalBlocks, Rng};
use crate::simd::{axpy_noise_norm_sq, norm_sq};

/// `ν` for a refresh over time `h` with decoherence length `l` in dimension
/// `d`, or `None` when `l = +∞` (no refresh; BlackJAX 1.7.1 skips it too).
pub fn refresh_scale<T: Real>(h: T, l: T, d: usize) -> Option<T> {
    if l == T::INFINITY {
        return None;
    }
    Some(((h + h) / l).expm1().max(T::ZERO).sqrt() / T::from_usize(d).sqrt())
}

/// Partial refresh of `u` (squared norm `uu`, which may be 0) with scale
/// `nu`; returns the new squared norm. The direction of `u + ν‖u‖z` equals
/// that of `û + ν z`, the unit-vector form of the spec.
pub fn partial_refresh<T: Real>(u: &mut [T], uu: T, nu: T, rng: &mut Rng) -> T {
    let c = nu * uu.sqrt();
    let c = if uu > T::ZERO { c } else { nu };
    let mut src = NormalBlocks::new(rng);
    axpy_noise_norm_sq(c, u, || src.next_block::<T>())
}

/// A uniformly random direction: `u ← z ~ N(0, I)` (unnormalised, uniform on
/// the sphere after normalisation); returns `‖u‖²`.
pub fn random_direction<T: Real>(u: &mut [T], rng: &mut Rng) -> T {
    fill_normals(rng, u);
    norm_sq(u)
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::vec;

    #[test]
    fn infinite_l_disables_and_scale_matches_spec() {
        assert_eq!(refresh_scale(0.1f64, f64::INFINITY, 10), None);
        let nu = refresh_scale(0.05f64, 2.0, 100).unwrap();
        let want = ((2.0f64 * 0.05 / 2.0).exp() - 1.0).sqrt() / 10.0;
        assert!((nu - want).abs() < 1e-15);
    }

    #[test]
    fn refresh_keeps_direction_independent_of_norm() {
        let mut a = vec![0.6f64, 0.8, 0.0];
        let mut b = vec![6.0f64, 8.0, 0.0];
        let mut r1 = Rng::new(1, 1);
        let mut r2 = r1;
        let na = partial_refresh(&mut a, 1.0, 0.3, &mut r1);
        let nb = partial_refresh(&mut b, 100.0, 0.3, &mut r2);
        for i in 0..3 {
            assert!((a[i] / na.sqrt() - b[i] / nb.sqrt()).abs() < 1e-14);
        }
    }
}
