//! The ESH / isokinetic momentum update (ALGORITHMS.md §1.2).
//!
//! With `g̃ = s ⊙ g`, `γ = ‖g̃‖`, `e = g̃/γ`, `μ = u·e`, `δ = c ε γ/(d−1)`,
//! `ζ = e^{−δ}`, the exact solution of `du/dt = (I − uuᵀ) g̃/(d−1)` over time
//! `c ε` is `u' ∝ e (1−ζ)(1+ζ+μ(1−ζ)) + 2ζ u`. Written with `ζ`, nothing
//! overflows for large gradients. Two passes over the d-vectors: one reduction
//! (`‖u‖², u·g̃, ‖g̃‖²`) and one update. The norm of `u'` is obtained
//! analytically from the reduction, so the update writes an already
//! normalised `u'` and the following position update can be fused into the
//! same pass.

use crate::real::Real;
use crate::rng::{NormalBlocks, Rng};
use crate::simd::{esh_kick, esh_kick_next, esh_kick_refresh, esh_kick_split, esh_reduce, Diag, Drift, EshSums, Kick, KickSums};

/// Which formula gives the kinetic-energy change `ΔK`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum KineticForm {
    /// BlackJAX 1.7.1: `ΔK = (d−1)(δ − ln 2 + ln a)` with `a` computed from
    /// `S₊ = ½‖u+e‖²` (when `ζ ≤ 1`) or `S₋ = ½‖u−e‖²` (when `ζ > 1`),
    /// summed elementwise, so nothing cancels when `u ≈ ±e`. For unit `u`.
    Stable = 0,
    /// BlackJAX 1.2.2: `ΔK = (d−1)(δ − ln 2 + ln(1 + μ + (1−μ)ζ²))`. Equal to
    /// `Stable` for unit `u`; differs when `u = 0` (SMILE's start and resets),
    /// where the SMILE reference uses this form.
    Legacy = 1,
}

/// The update met a non-finite gradient sum or momentum: the caller treats
/// it as a divergence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NonFinite;

/// Result of one momentum update.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EshOut<T> {
    /// Kinetic-energy change of this sub-step.
    pub dk: T,
    /// `‖u'‖²` as written (1 up to rounding, 0 only if `u` and `g` were both 0).
    pub uu: T,
}

/// Gradients below this norm are not normalised (as in BlackJAX), so a zero
/// gradient leaves the momentum unchanged.
const TINY: f64 = 1e-13;

/// One ESH momentum update of `u` (any nonnegative norm; it is normalised
/// first, and `u = 0` stays a valid input) with gradient `g` preconditioned by
/// `s`, over time `t = c·ε`, in dimension `d` (`dm1 = d − 1`). If `drift` is
/// given, the position update `x ← src + h s⊙u'` runs in the same pass.
pub fn esh_update<T: Real, D: Diag<T>>(
    u: &mut [T],
    g: &[T],
    s: D,
    t: T,
    dm1: T,
    form: KineticForm,
    drift: Option<Drift<'_, T>>,
) -> Result<EshOut<T>, NonFinite> {
    let p = plan(esh_reduce(u, g, s), t, dm1)?;
    let sums = esh_kick(u, g, s, p.kick, drift);
    Ok(EshOut { dk: p.kinetic_change(sums, form, dm1), uu: sums.uu_new })
}

/// [`esh_update`] for callers that made the reduction pass themselves (e.g.
/// fused with cleaning the gradient, [`crate::simd::sanitize_reduce`]) and
/// whose position update uses another diagonal than the momentum update:
/// `r` must be the reduction of `u` and `s_kick ⊙ g`; the drift moves
/// `x ← src + h s_drift⊙u'`. Same arithmetic as `esh_update` otherwise.
#[allow(clippy::too_many_arguments)]
pub fn esh_update_split<T: Real, DK: Diag<T>, DD: Diag<T>>(
    u: &mut [T],
    g: &[T],
    r: EshSums<T>,
    s_kick: DK,
    t: T,
    dm1: T,
    form: KineticForm,
    drift: Option<Drift<'_, T>>,
    s_drift: DD,
) -> Result<EshOut<T>, NonFinite> {
    let p = plan(r, t, dm1)?;
    let sums = esh_kick_split(u, g, s_kick, p.kick, drift, s_drift);
    Ok(EshOut { dk: p.kinetic_change(sums, form, dm1), uu: sums.uu_new })
}

/// [`esh_update_split`] without a drift, for a step's last update when the
/// next step's first update will use the same gradient: also returns
/// `u'·(s⊙g)` summed bit-identically to [`esh_reduce`], which with
/// `EshOut::uu` and `r.gg` is that update's whole reduction
/// ([`esh_kick_next`]).
#[allow(clippy::too_many_arguments)]
pub fn esh_update_next<T: Real, D: Diag<T>>(u: &mut [T], g: &[T], r: EshSums<T>, s: D, t: T, dm1: T, form: KineticForm) -> Result<(EshOut<T>, T), NonFinite> {
    let p = plan(r, t, dm1)?;
    let sums = esh_kick_next(u, g, s, p.kick);
    Ok((EshOut { dk: p.kinetic_change(sums, form, dm1), uu: sums.uu_new }, sums.ug_new))
}

/// [`esh_update`] (without a drift) followed by a partial refresh of the
/// new unit momentum, `u ← u' + ν z`, `z ~ N(0, I)` from `rng`, in the same
/// pass: each block of `u` is kicked and refreshed in registers, with the
/// block's normals generated right there ([`NormalBlocks`]): one read of
/// u and g, one write of u, no buffer of normals. `EshOut::uu` is the
/// squared norm after the refresh. The normals are those
/// `refresh::partial_refresh` would draw.
#[allow(clippy::too_many_arguments)]
pub fn esh_update_refresh<T: Real, D: Diag<T>>(
    u: &mut [T],
    g: &[T],
    s: D,
    t: T,
    dm1: T,
    form: KineticForm,
    nu: T,
    rng: &mut Rng,
) -> Result<EshOut<T>, NonFinite> {
    let p = plan(esh_reduce(u, g, s), t, dm1)?;
    let mut src = NormalBlocks::new(rng);
    let sums = esh_kick_refresh(u, g, s, p.kick, nu, || src.next_block::<T>());
    Ok(EshOut { dk: p.kinetic_change(sums, form, dm1), uu: sums.uu_new })
}

/// The scalar half of an ESH update: kick coefficients from the reduction,
/// and what the kinetic-energy change needs afterwards.
struct Plan<T> {
    kick: Kick<T>,
    mu: T,
    delta: T,
    zeta: T,
}

fn plan<T: Real>(r: EshSums<T>, t: T, dm1: T) -> Result<Plan<T>, NonFinite> {
    if !(r.gg.is_finite() && r.uu.is_finite() && r.ug.is_finite()) {
        return Err(NonFinite);
    }
    let tiny = T::from_f64(TINY);
    let gamma = r.gg.sqrt();
    let (ie, ee) = if gamma > tiny { (T::ONE / gamma, T::ONE) } else { (T::ONE, r.gg) };
    let (iu, uhat2) = if r.uu > T::ZERO { (T::ONE / r.uu.sqrt(), T::ONE) } else { (T::ZERO, T::ZERO) };
    let mu = r.ug * iu * ie;
    let delta = t * gamma / dm1;
    // One transcendental per update: ζ = 1 + expm1(−δ) and 1 − ζ = −expm1(−δ)
    // (the latter stays accurate for small δ, where it matters; for large δ
    // ζ underflows to an absolute error below ε², which nothing here divides by).
    let em = (-delta).expm1();
    let zeta = T::ONE + em;
    let one_m_zeta = -em;
    let two = T::from_f64(2.0);
    let ce = one_m_zeta * (T::ONE + zeta + mu * one_m_zeta); // coefficient of e
    let cu = two * zeta; // coefficient of û
    let w2 = ce * ce * ee + cu * cu * uhat2 + two * ce * cu * mu;
    let w = if w2 > T::ZERO { w2.sqrt() } else { T::ZERO };
    let iw = if w > tiny { T::ONE / w } else { T::ONE };
    // The stable kinetic form needs S₊ for ζ ≤ 1 (δ ≥ 0) and S₋ otherwise:
    // the kick pass accumulates only that one.
    let pm = if zeta * zeta <= T::ONE { T::ONE } else { -T::ONE };
    let kick = Kick { a_u: cu * iu * iw, b_g: ce * ie * iw, iu, ie, pm };
    Ok(Plan { kick, mu, delta, zeta })
}

impl<T: Real> Plan<T> {
    fn kinetic_change(&self, sums: KickSums<T>, form: KineticForm, dm1: T) -> T {
        let (mu, zeta) = (self.mu, self.zeta);
        let half = T::from_f64(0.5);
        let two = T::from_f64(2.0);
        let zeta2 = zeta * zeta;
        let a = match form {
            // `sums.spm` is 2S₊ when `pm = +1` (ζ² ≤ 1), 2S₋ otherwise.
            KineticForm::Stable => {
                if self.kick.pm > T::ZERO {
                    half * sums.spm * (T::ONE - zeta2) + two * zeta2
                } else {
                    half * sums.spm * (zeta2 - T::ONE) + two
                }
            }
            KineticForm::Legacy => T::ONE + mu + (T::ONE - mu) * zeta2,
        };
        dm1 * (self.delta - T::from_f64(core::f64::consts::LN_2) + a.ln())
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use crate::simd::Identity;
    use std::vec::Vec;

    /// Direct transcription of the §1.2 formulas, unfused, in f64.
    fn reference(u: &[f64], g: &[f64], t: f64) -> (Vec<f64>, f64) {
        let d = u.len() as f64;
        let gamma = g.iter().map(|x| x * x).sum::<f64>().sqrt();
        let e: Vec<f64> = g.iter().map(|x| x / gamma).collect();
        let mu: f64 = u.iter().zip(&e).map(|(a, b)| a * b).sum();
        let delta = t * gamma / (d - 1.0);
        let zeta = (-delta).exp();
        let w: Vec<f64> = e.iter().zip(u).map(|(e, u)| e * (1.0 - zeta) * (1.0 + zeta + mu * (1.0 - zeta)) + 2.0 * zeta * u).collect();
        let nw = w.iter().map(|x| x * x).sum::<f64>().sqrt();
        let dk = (d - 1.0) * (delta - 2f64.ln() + (1.0 + mu + (1.0 - mu) * zeta * zeta).ln());
        (w.iter().map(|x| x / nw).collect(), dk)
    }

    #[test]
    fn matches_direct_formula_and_hyperbolic_form() {
        for (t, d) in [(0.3, 2usize), (1.7, 5), (-0.4, 9), (25.0, 3)] {
            let mut u: Vec<f64> = (0..d).map(|i| ((i * 7 + 3) % 5) as f64 - 2.0).collect();
            let n = u.iter().map(|x| x * x).sum::<f64>().sqrt();
            u.iter_mut().for_each(|x| *x /= n);
            let g: Vec<f64> = (0..d).map(|i| ((i * 3 + 1) % 4) as f64 - 1.3).collect();
            let (want_u, want_dk) = reference(&u, &g, t);
            for form in [KineticForm::Stable, KineticForm::Legacy] {
                let mut got = u.clone();
                let out = esh_update(&mut got, &g, Identity, t, (d - 1) as f64, form, None).unwrap();
                for i in 0..d {
                    assert!((got[i] - want_u[i]).abs() < 1e-13, "u t={t} d={d}");
                }
                assert!((out.dk - want_dk).abs() < 1e-11 * (1.0 + want_dk.abs()), "dk {form:?} t={t}: {} vs {want_dk}", out.dk);
                assert!((out.uu - 1.0).abs() < 1e-14);
            }
            // Hyperbolic form: ΔK = (d−1) ln(cosh δ + μ sinh δ).
            let gamma = g.iter().map(|x| x * x).sum::<f64>().sqrt();
            let mu: f64 = u.iter().zip(&g).map(|(a, b)| a * b / gamma).sum();
            let delta = t * gamma / (d - 1) as f64;
            let hyper = (d - 1) as f64 * (delta.cosh() + mu * delta.sinh()).ln();
            assert!((hyper - want_dk).abs() < 1e-10 * (1.0 + hyper.abs()));
        }
    }

    #[test]
    fn zero_momentum_forms_differ_as_documented() {
        let g = [3.0f64, 4.0];
        let t = 0.2;
        let delta: f64 = t * 5.0;
        let z2 = (-2.0 * delta).exp();
        let mut u = [0.0f64; 2];
        let leg = esh_update(&mut u, &g, Identity, t, 1.0, KineticForm::Legacy, None).unwrap();
        assert!((leg.dk - (delta - 2f64.ln() + (1.0 + z2).ln())).abs() < 1e-14);
        // u' = e: the gradient direction.
        assert!((u[0] - 0.6).abs() < 1e-15 && (u[1] - 0.8).abs() < 1e-15);
        let mut u = [0.0f64; 2];
        let st = esh_update(&mut u, &g, Identity, t, 1.0, KineticForm::Stable, None).unwrap();
        assert!((st.dk - (delta - 2f64.ln() + (0.5 + 1.5 * z2).ln())).abs() < 1e-14);
    }

    #[test]
    fn zero_gradient_is_a_no_op_and_nan_is_reported() {
        let mut u = [0.6f64, 0.8];
        let out = esh_update(&mut u, &[0.0, 0.0], Identity, 1.0, 1.0, KineticForm::Stable, None).unwrap();
        assert_eq!(out.dk, 0.0);
        assert!((u[0] - 0.6).abs() < 1e-15);
        assert_eq!(esh_update(&mut u, &[f64::NAN, 0.0], Identity, 1.0, 1.0, KineticForm::Stable, None), Err(NonFinite));
        assert_eq!(esh_update(&mut u, &[f64::INFINITY, 0.0], Identity, 1.0, 1.0, KineticForm::Stable, None), Err(NonFinite));
    }

    #[test]
    fn huge_gradient_does_not_overflow() {
        let mut u = [1.0f32, 0.0, 0.0];
        let out = esh_update(&mut u, &[0.0, 1e18, 0.0], Identity, 1.0f32, 2.0, KineticForm::Stable, None).unwrap();
        assert!(out.dk.is_finite() && u.iter().all(|x| x.is_finite()));
        assert!((u[1] - 1.0).abs() < 1e-6);
    }
}
