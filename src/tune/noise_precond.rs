//! pSMILE's gradient-noise preconditioner (ALGORITHMS.md §2.7).
//!
//! Per parameter, a moving average `ḡ` of the raw mini-batch gradient and a
//! moving spread `σ_g = sqrt(EMA((g − ḡ)²))`, both updated once per step
//! from the step's last gradient. The preconditioner is
//! `P = clip(σ_g, 1e-2, 1e4) / RMS(clip(σ_g, 1e-2, 1e4))` and the sampler
//! uses `s = 1/P` as its diagonal: velocity `s⊙u`, gradient `s⊙g`, so that
//! in the coordinates `x/s` the gradient noise is roughly isotropic (§2.9).
//!
//! The reference code re-initialises `ḡ` to 1 before every update, so its
//! `σ_g` is the moving RMS of `g − (0.99 + 0.01 g)` rather than a spread
//! around a mean; [`update_noise_ema`] reproduces that with `mean_reset`,
//! and keeps a real running mean otherwise.

use crate::real::Real;
use crate::simd::{noise_ema, precond_reduce, precond_scale, Diag, NoiseEma, UgGg};

/// Weight of the newest gradient in both averages (hard-coded in the reference).
pub const NOISE_RATE: f64 = 0.01;
/// Floor of `σ_g²`.
pub const NOISE_VAR_FLOOR: f64 = 1e-7;
/// Clip of `ḡ`.
pub const NOISE_MEAN_CLIP: f64 = 1e6;
/// Clip of `σ_g` before normalisation.
pub const PRECOND_MIN: f64 = 1e-2;
pub const PRECOND_MAX: f64 = 1e4;

#[inline(always)]
fn clamp<T: Real>(v: T, lo: T, hi: T) -> T {
    v.max(lo).min(hi)
}

/// One update of the averages from the step's gradient `g_i / unscale_i`
/// (the raw gradient: `unscale` undoes a scaling applied when it was
/// stored, or is the identity). With `mean_reset` the mean starts from 1 on
/// every call (reference behaviour). Returns `Σ clip(σ_g)²` over the new
/// values, which [`precond_from_spread`] needs. One vectorised pass
/// ([`noise_ema`]); reads `g`, `unscale`, `mean` (not with `mean_reset`),
/// `spread`, writes `mean` and `spread`. The sum is accumulated in SIMD
/// lanes, so it can differ in the last bits from a sequential sum.
pub fn update_noise_ema<T: Real, D: Diag<T>>(g: &[T], unscale: D, mean: &mut [T], spread: &mut [T], mean_reset: bool) -> T {
    let c = NoiseEma {
        rate: T::from_f64(NOISE_RATE),
        mean_clip: T::from_f64(NOISE_MEAN_CLIP),
        var_floor: T::from_f64(NOISE_VAR_FLOOR),
        lo: T::from_f64(PRECOND_MIN),
        hi: T::from_f64(PRECOND_MAX),
    };
    noise_ema(g, unscale, mean, spread, mean_reset, c)
}

fn rms<T: Real>(sum_sq: T, n: usize) -> T {
    (sum_sq / T::from_usize(n.max(1))).sqrt()
}

/// `s = 1/P = RMS / clip(σ_g)`, with `sum_sq = Σ clip(σ_g)²` from
/// [`update_noise_ema`] (or recomputed by the caller). One pass.
pub fn precond_from_spread<T: Real>(spread: &[T], sum_sq: T, s: &mut [T]) {
    let (plo, phi) = (T::from_f64(PRECOND_MIN), T::from_f64(PRECOND_MAX));
    precond_scale(spread, rms(sum_sq, spread.len()), plo, phi, s);
}

/// [`precond_from_spread`] fused with the reduction of the next momentum
/// update: also returns `u·(d⊙g)` and `‖d⊙g‖²` with `d` the new `s` if
/// `kick_scaled`, else the identity (what [`crate::simd::esh_reduce`] would
/// return over the stored values, bit for bit). One pass: reads σ_g, u, g;
/// writes s — one read of `s` less than the two passes apart.
pub fn precond_from_spread_reduce<T: Real>(spread: &[T], sum_sq: T, s: &mut [T], u: &[T], g: &[T], kick_scaled: bool) -> UgGg<T> {
    let (plo, phi) = (T::from_f64(PRECOND_MIN), T::from_f64(PRECOND_MAX));
    let r = rms(sum_sq, spread.len());
    if kick_scaled {
        precond_reduce::<T, true>(spread, r, plo, phi, s, u, g)
    } else {
        precond_reduce::<T, false>(spread, r, plo, phi, s, u, g)
    }
}

/// `Σ clip(σ_g)²`, for rebuilding `s` from a spread set by hand.
pub fn spread_sum_sq<T: Real>(spread: &[T]) -> T {
    let (plo, phi) = (T::from_f64(PRECOND_MIN), T::from_f64(PRECOND_MAX));
    spread.iter().fold(T::ZERO, |a, &v| {
        let p = clamp(v, plo, phi);
        a + p * p
    })
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use crate::simd::Identity;
    use std::vec;

    #[test]
    fn reference_quirk_and_real_mean() {
        let g = [3.0f64, -2.0, 0.5];
        let mut m = vec![1.0; 3];
        let mut s = vec![1.0; 3];
        let acc = update_noise_ema(&g, Identity, &mut m, &mut s, true);
        for i in 0..3 {
            let sg = 0.99 + 0.01 * g[i];
            assert!((m[i] - sg).abs() < 1e-15);
            assert!((s[i] - (0.99 + 0.01 * (g[i] - sg).powi(2)).sqrt()).abs() < 1e-15);
        }
        assert!((acc - s.iter().map(|v| v.clamp(1e-2, 1e4).powi(2)).sum::<f64>()).abs() < 1e-14);
        // With a reset mean the previous mean is ignored; without, it is used.
        let mut m2 = vec![50.0; 3];
        let mut s2 = vec![1.0; 3];
        update_noise_ema(&g, Identity, &mut m2, &mut s2, true);
        assert_eq!((&m, &s), (&m2, &s2));
        let mut m3 = vec![50.0; 3];
        let mut s3 = vec![1.0; 3];
        update_noise_ema(&g, Identity, &mut m3, &mut s3, false);
        assert!((m3[0] - (49.5 + 0.03)).abs() < 1e-12);
        // Unscaling: a gradient stored as g·s gives the same averages.
        let sc = [2.0, 0.5, 4.0];
        let gs: std::vec::Vec<f64> = g.iter().zip(&sc).map(|(a, b)| a * b).collect();
        let mut m4 = vec![1.0; 3];
        let mut s4 = vec![1.0; 3];
        update_noise_ema(&gs, &sc[..], &mut m4, &mut s4, true);
        for i in 0..3 {
            assert!((m4[i] - m[i]).abs() < 1e-15 && (s4[i] - s[i]).abs() < 1e-15);
        }
    }

    #[test]
    fn spread_estimates_noise_sd_with_real_mean() {
        // Gradients 5 + 2·(±1): mean 5, sd 2. After many updates the real-mean
        // spread is ≈ 2; the reference quirk measures the RMS of g − 1 instead.
        let mut m = vec![1.0f64; 2];
        let mut s = vec![1.0f64; 2];
        let mut mq = vec![1.0f64; 2];
        let mut sq = vec![1.0f64; 2];
        for k in 0..5000 {
            let z = if k % 2 == 0 { 1.0 } else { -1.0 };
            let g = [5.0 + 2.0 * z, 5.0 - 2.0 * z];
            update_noise_ema(&g, Identity, &mut m, &mut s, false);
            update_noise_ema(&g, Identity, &mut mq, &mut sq, true);
        }
        // EMA of an alternating sequence: mean within 0.02·2 of 5; spread within 2%.
        assert!((m[0] - 5.0).abs() < 0.05 && (s[0] - 2.0).abs() < 0.04, "{m:?} {s:?}");
        // Quirk: E[(g − 0.99 − 0.01 g)²] = 0.99²·E[(g − 1)²] = 0.9801·(16 + 4).
        assert!((sq[0] - (0.9801f64 * 20.0).sqrt()).abs() < 0.1, "{sq:?}");
    }

    #[test]
    fn preconditioner_is_rms_normalised_and_clipped() {
        let spread = [1e-5f64, 1.0, 3.0, 1e9];
        let mut s = [0.0; 4];
        precond_from_spread(&spread, spread_sum_sq(&spread), &mut s);
        let p: std::vec::Vec<f64> = s.iter().map(|v| 1.0 / v).collect();
        let rms = (p.iter().map(|v| v * v).sum::<f64>() / 4.0).sqrt();
        assert!((rms - 1.0).abs() < 1e-14);
        assert!((p[0] / p[1] - 1e-2).abs() < 1e-14 && (p[3] / p[1] - 1e4).abs() < 1e-8);
    }
}
