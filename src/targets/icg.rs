//! The `icg_data` target of the golden files and the bias benchmark
//! (ALGORITHMS.md §2.7): a Gaussian posterior `N(0, P⁻¹)` observed through
//! `N` data rows `y_i` whose mini-batch sums are the gradient noise.
//!
//! Per mini-batch `B` (row indices): `log p_B(x) = −½ xᵀPx + Σ_{i∈B} y_i·x`,
//! gradient `−Px + Σ_{i∈B} y_i`. The data term is *not* rescaled by `N/|B|`
//! (as in the reference). With centred rows (`Σ_i y_i = 0`) the full-data
//! density is exactly `N(0, P⁻¹)`, and the noise of a batch sum has
//! covariance `|B|·(1 − (|B|−1)/(N−1))·Cov(y)`: isotropic, anisotropic or
//! correlated as the rows are made.

use crate::real::Real;
use crate::samplers::LogDensity;
use crate::simd::{axpy, dot};

/// The data: `precision` (d×d, row-major, symmetric) and `y` (N×d, row-major).
#[derive(Clone, Copy, Debug)]
pub struct IcgData<'a, T> {
    pub precision: &'a [T],
    pub y: &'a [T],
}

/// One mini-batch of an [`IcgData`]: the rows listed in `rows`.
#[derive(Clone, Copy, Debug)]
pub struct IcgBatch<'a, T> {
    pub data: IcgData<'a, T>,
    pub rows: &'a [usize],
}

impl<'a, T: Real> IcgData<'a, T> {
    /// The batch made of `rows` (indices into the rows of `y`).
    pub fn batch(self, rows: &'a [usize]) -> IcgBatch<'a, T> {
        IcgBatch { data: self, rows }
    }

    /// Number of data rows for dimension `d`.
    pub fn num_rows(&self, d: usize) -> usize {
        self.y.len().checked_div(d).unwrap_or(0)
    }

    /// `−Px` into `grad` and `−½ xᵀPx`, or `None` on a length mismatch.
    fn quadratic(&self, x: &[T], grad: &mut [T]) -> Option<T> {
        let d = x.len();
        if d == 0 || self.precision.len() != d * d || grad.len() != d || self.y.len() % d != 0 {
            return None;
        }
        let mut q = T::ZERO;
        for (i, (g, row)) in grad.iter_mut().zip(self.precision.chunks_exact(d)).enumerate() {
            let px = dot(row, x);
            *g -= px;
            q += x[i] * px;
        }
        Some(T::from_f64(-0.5) * q)
    }
}

/// Sums the listed rows into `grad` (overwriting it) and returns their dot
/// product with `x`, or `None` if a row index is out of range.
fn rows_sum<T: Real>(y: &[T], rows: impl Iterator<Item = usize>, x: &[T], grad: &mut [T]) -> Option<T> {
    let d = x.len();
    grad.fill(T::ZERO);
    for r in rows {
        let start = r.checked_mul(d)?;
        let row = y.get(start..start.checked_add(d)?)?;
        axpy(T::ONE, row, grad);
    }
    Some(dot(grad, x))
}

impl<T: Real> LogDensity<T> for IcgBatch<'_, T> {
    fn logp(&mut self, x: &[T], grad: &mut [T]) -> T {
        let nan = T::from_f64(f64::NAN);
        if grad.len() != x.len() {
            return nan;
        }
        let Some(data_term) = rows_sum(self.data.y, self.rows.iter().copied(), x, grad) else {
            return nan;
        };
        match self.data.quadratic(x, grad) {
            Some(q) => q + data_term,
            None => nan,
        }
    }
}

/// The full-data density `−½ xᵀPx + Σ_i y_i·x` (all N rows: O(N·d) per call).
impl<T: Real> LogDensity<T> for IcgData<'_, T> {
    fn logp(&mut self, x: &[T], grad: &mut [T]) -> T {
        let nan = T::from_f64(f64::NAN);
        let n = self.num_rows(x.len());
        if grad.len() != x.len() {
            return nan;
        }
        let Some(data_term) = rows_sum(self.y, 0..n, x, grad) else {
            return nan;
        };
        match self.quadratic(x, grad) {
            Some(q) => q + data_term,
            None => nan,
        }
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::vec::Vec;

    #[test]
    fn batch_gradient_and_value() {
        let d = 3;
        let p = [2.0f64, 0.3, 0.0, 0.3, 1.0, -0.2, 0.0, -0.2, 4.0];
        let y: Vec<f64> = (0..4 * d).map(|i| (i as f64 * 0.37).sin()).collect();
        let data = IcgData { precision: &p, y: &y };
        let x = [0.5, -1.0, 0.25];
        let rows = [1usize, 3];
        let mut g = [0.0; 3];
        let lp = data.batch(&rows).logp(&x, &mut g);
        let mut want_lp = 0.0;
        for i in 0..d {
            let px: f64 = (0..d).map(|j| p[i * d + j] * x[j]).sum();
            let ys = y[d + i] + y[3 * d + i];
            assert!((g[i] - (ys - px)).abs() < 1e-14);
            want_lp += -0.5 * x[i] * px + ys * x[i];
        }
        assert!((lp - want_lp).abs() < 1e-14);
        // Full data = all rows.
        let all = [0usize, 1, 2, 3];
        let mut g2 = [0.0; 3];
        let mut g3 = [0.0; 3];
        let a = data.batch(&all).logp(&x, &mut g2);
        let mut full = data;
        let b = full.logp(&x, &mut g3);
        assert_eq!((a, g2), (b, g3));
        // Out-of-range row and wrong lengths give NaN.
        assert!(data.batch(&[4]).logp(&x, &mut g).is_nan());
        assert!(data.batch(&rows).logp(&x[..2], &mut g[..2]).is_nan());
    }
}
