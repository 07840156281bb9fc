//! Reference log densities with analytic gradients, for tests, examples and
//! benchmarks (not used by the samplers). Definitions follow
//! `shared/golden/README.md` exactly. Data are borrowed slices: no allocation.
//!
//! Each target implements [`LogDensity`]; the dimension is
//! the length of the `x` it is called with, and slices of the wrong length
//! give NaN (never a panic).

pub mod icg;

pub use icg::{IcgBatch, IcgData};

use crate::real::Real;
use crate::samplers::LogDensity;

/// `log p = −½ Σ xᵢ²`.
#[derive(Clone, Copy, Debug, Default)]
pub struct StdGaussian;

impl<T: Real> LogDensity<T> for StdGaussian {
    fn logp(&mut self, x: &[T], grad: &mut [T]) -> T {
        let mut s = T::ZERO;
        for (g, &v) in grad.iter_mut().zip(x) {
            *g = -v;
            s += v * v;
        }
        T::from_f64(-0.5) * s
    }
}

/// `log p = −½ Σ (xᵢ/σᵢ)²`.
#[derive(Clone, Copy, Debug)]
pub struct DiagGaussian<'a, T> {
    pub sigma: &'a [T],
}

impl<T: Real> LogDensity<T> for DiagGaussian<'_, T> {
    fn logp(&mut self, x: &[T], grad: &mut [T]) -> T {
        if x.len() != self.sigma.len() || grad.len() != x.len() {
            return T::from_f64(f64::NAN);
        }
        let mut s = T::ZERO;
        for ((g, &v), &sd) in grad.iter_mut().zip(x).zip(self.sigma) {
            let z = v / sd;
            *g = -z / sd;
            s += z * z;
        }
        T::from_f64(-0.5) * s
    }
}

/// `log p = −½ xᵀ P x`, `P` symmetric, row-major d×d.
#[derive(Clone, Copy, Debug)]
pub struct DenseGaussian<'a, T> {
    pub precision: &'a [T],
}

impl<T: Real> LogDensity<T> for DenseGaussian<'_, T> {
    fn logp(&mut self, x: &[T], grad: &mut [T]) -> T {
        let d = x.len();
        if self.precision.len() != d * d || grad.len() != d {
            return T::from_f64(f64::NAN);
        }
        let mut s = T::ZERO;
        for (i, g) in grad.iter_mut().enumerate() {
            let px = crate::simd::dot(&self.precision[i * d..(i + 1) * d], x);
            *g = -px;
            s += x[i] * px;
        }
        T::from_f64(-0.5) * s
    }
}

/// Banana (twisted Gaussian), over consecutive pairs `(x₂ₖ, x₂ₖ₊₁)`:
/// `−x₂ₖ²/(2σ₁²) − (x₂ₖ₊₁ − b(x₂ₖ² − σ₁²))²/2`. `d` must be even.
#[derive(Clone, Copy, Debug)]
pub struct Banana<T> {
    pub b: T,
    pub sigma1: T,
}

impl<T: Real> LogDensity<T> for Banana<T> {
    fn logp(&mut self, x: &[T], grad: &mut [T]) -> T {
        if x.len() % 2 != 0 || grad.len() != x.len() {
            return T::from_f64(f64::NAN);
        }
        let s2 = self.sigma1 * self.sigma1;
        let two = T::from_f64(2.0);
        let mut lp = T::ZERO;
        for (xp, gp) in x.chunks_exact(2).zip(grad.chunks_exact_mut(2)) {
            let (a, c) = (xp[0], xp[1]);
            let r = c - self.b * (a * a - s2);
            lp -= a * a / (two * s2) + r * r / two;
            gp[0] = -a / s2 + r * two * self.b * a;
            gp[1] = -r;
        }
        lp
    }
}

/// Neal's funnel: `v = x₀`, `−v²/(2σᵥ²) − Σ_{i≥1} (xᵢ² e^{−v}/2 + v/2)`.
#[derive(Clone, Copy, Debug)]
pub struct Funnel<T> {
    pub sigma_v: T,
}

impl<T: Real> LogDensity<T> for Funnel<T> {
    fn logp(&mut self, x: &[T], grad: &mut [T]) -> T {
        if x.is_empty() || grad.len() != x.len() {
            return T::from_f64(f64::NAN);
        }
        let half = T::from_f64(0.5);
        let v = x[0];
        let ev = (-v).exp();
        let n = T::from_usize(x.len() - 1);
        let mut ss = T::ZERO;
        for (g, &xi) in grad[1..].iter_mut().zip(&x[1..]) {
            ss += xi * xi;
            *g = -xi * ev;
        }
        let sv2 = self.sigma_v * self.sigma_v;
        grad[0] = -v / sv2 + half * ss * ev - half * n;
        -v * v / (T::from_f64(2.0) * sv2) - half * ss * ev - half * n * v
    }
}

/// Bayesian logistic regression: `Σᵢ (yᵢ ηᵢ − log(1 + e^{ηᵢ})) − Σⱼ wⱼ²/(2 s²)`,
/// `η = X w`, `X` row-major n×p, `y ∈ {0, 1}`, prior sd `s`.
#[derive(Clone, Copy, Debug)]
pub struct Logistic<'a, T> {
    pub x: &'a [T],
    pub y: &'a [T],
    pub prior_sd: T,
}

impl<T: Real> LogDensity<T> for Logistic<'_, T> {
    fn logp(&mut self, w: &[T], grad: &mut [T]) -> T {
        let p = w.len();
        let n = self.y.len();
        if p == 0 || self.x.len() != n * p || grad.len() != p {
            return T::from_f64(f64::NAN);
        }
        let iv = T::ONE / (self.prior_sd * self.prior_sd);
        let mut lp = T::ZERO;
        for (g, &wj) in grad.iter_mut().zip(w) {
            *g = -wj * iv;
            lp -= T::from_f64(0.5) * wj * wj * iv;
        }
        for (row, &yi) in self.x.chunks_exact(p).zip(self.y) {
            let eta = crate::simd::dot(row, w);
            // log(1 + e^η) = max(η, 0) + log1p(e^{−|η|}), stable for any η.
            let softplus = eta.max(T::ZERO) + (-eta.abs()).exp().ln1p();
            lp += yi * eta - softplus;
            let e = (-eta.abs()).exp();
            let sig = if eta >= T::ZERO { T::ONE / (T::ONE + e) } else { e / (T::ONE + e) };
            crate::simd::axpy(yi - sig, row, grad);
        }
        lp
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::vec::Vec;

    fn check_gradient<F: LogDensity<f64>>(mut f: F, x: &[f64]) {
        let d = x.len();
        let mut g = std::vec![0.0; d];
        let mut tmp = std::vec![0.0; d];
        f.logp(x, &mut g);
        for i in 0..d {
            let h = 1e-6 * (1.0 + x[i].abs());
            let mut xp = x.to_vec();
            xp[i] += h;
            let lp = f.logp(&xp, &mut tmp);
            xp[i] -= 2.0 * h;
            let lm = f.logp(&xp, &mut tmp);
            let fd = (lp - lm) / (2.0 * h);
            assert!((fd - g[i]).abs() < 1e-6 * (1.0 + g[i].abs()), "component {i}: {fd} vs {}", g[i]);
        }
    }

    #[test]
    fn gradients_match_finite_differences() {
        let x: Vec<f64> = (0..6).map(|i| 0.3 * i as f64 - 0.7).collect();
        check_gradient(StdGaussian, &x);
        let sigma: Vec<f64> = (0..6).map(|i| 0.5 + i as f64).collect();
        check_gradient(DiagGaussian { sigma: &sigma }, &x);
        let mut p = std::vec![0.0; 36];
        for i in 0..6 {
            for j in 0..6 {
                p[i * 6 + j] = if i == j { 2.0 } else { 0.3 / (1.0 + (i + j) as f64) };
            }
        }
        check_gradient(DenseGaussian { precision: &p }, &x);
        check_gradient(Banana { b: 0.1, sigma1: 2.0 }, &x);
        check_gradient(Funnel { sigma_v: 3.0 }, &x);
        let xs: Vec<f64> = (0..30).map(|i| ((i * 7 % 11) as f64 - 5.0) / 3.0).collect();
        let ys: Vec<f64> = (0..5).map(|i| (i % 2) as f64).collect();
        check_gradient(Logistic { x: &xs, y: &ys, prior_sd: 1.5 }, &x);
    }

    #[test]
    fn wrong_lengths_give_nan() {
        let mut g = [0.0f64; 3];
        assert!(DiagGaussian { sigma: &[1.0, 1.0] }.logp(&[0.0; 3], &mut g).is_nan());
        assert!(Banana { b: 0.1, sigma1: 1.0 }.logp(&[0.0; 3], &mut g).is_nan());
    }
}
