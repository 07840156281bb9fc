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
use crate::simd::{esh_kick, esh_kick_next, esh_kick_refresh, esh_kick_refresh_next, esh_kick_split, esh_reduce, Diag, Drift, EshSums, Kick, KickSums};

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
    /// The kinetic-energy change of this sub-step is `lin + dm1·ln(arg)`
    /// ([`dk`](Self::dk)). The logarithm is left to the caller: its input is
    /// ready only when the update's pass ends, and at small `d` waiting for
    /// it stalls what follows (~25 ns per update measured at d = 100), so a
    /// sampler multiplies the arguments of a step's updates ([`KineticSum`])
    /// and takes one logarithm per step.
    pub lin: T,
    pub arg: T,
    pub dm1: T,
    /// `‖u'‖²` as written (1 up to rounding, 0 only if `u` and `g` were both 0).
    pub uu: T,
}

impl<T: Real> EshOut<T> {
    /// The kinetic-energy change of this sub-step alone.
    pub fn dk(&self) -> T {
        self.lin + self.dm1 * self.arg.ln()
    }
}

/// A step's kinetic-energy change summed over its momentum updates, with one
/// logarithm: `lin + dm1·ln(arg)`, `lin` the sum of the updates' linear
/// parts and `arg` the product of their arguments. The product is folded
/// into `lin` (one logarithm more) whenever it leaves `[1e-15, 1e15]`, and an
/// argument outside that range gets its own logarithm, so nothing under- or
/// overflows (in f32 either); a zero, negative, infinite or NaN argument thus
/// makes `lin` non-finite at once, exactly when a per-update sum of
/// logarithms would be.
#[derive(Clone, Copy, Debug, PartialEq)]
#[repr(C)]
pub struct KineticSum<T> {
    pub lin: T,
    pub arg: T,
}

impl<T: Real> KineticSum<T> {
    /// Nothing summed yet.
    pub fn zero() -> Self {
        KineticSum { lin: T::ZERO, arg: T::ONE }
    }

    /// The change of one update alone.
    pub fn of(out: &EshOut<T>) -> Self {
        let mut k = Self::zero();
        k.add(out);
        k
    }

    /// A sum that makes the step diverge at its next check.
    pub fn non_finite() -> Self {
        KineticSum { lin: T::from_f64(f64::NAN), arg: T::ONE }
    }

    /// Adds one update's change.
    #[inline(always)]
    pub fn add(&mut self, out: &EshOut<T>) {
        self.lin += out.lin;
        // Both factors within [1e-15, 1e15], so the product is a normal
        // number even in f32; anything else gets its own logarithm, out of
        // line (inlined, the logarithms kept the whole `add` out of line).
        let (lo, hi) = (T::from_f64(1e-15), T::from_f64(1e15));
        let p = self.arg * out.arg;
        if out.arg >= lo && out.arg <= hi && p >= lo && p <= hi {
            self.arg = p;
        } else {
            self.fold(out);
        }
    }

    /// [`add`](Self::add) after `lin`, when a factor or the product leaves
    /// `[1e-15, 1e15]`.
    #[cold]
    #[inline(never)]
    fn fold(&mut self, out: &EshOut<T>) {
        let (lo, hi) = (T::from_f64(1e-15), T::from_f64(1e15));
        if out.arg >= lo && out.arg <= hi {
            self.lin += out.dm1 * (self.arg * out.arg).ln();
            self.arg = T::ONE;
        } else {
            self.lin += out.dm1 * out.arg.ln();
        }
    }

    /// Whether the sum so far is finite.
    pub fn is_finite(&self) -> bool {
        self.lin.is_finite() && self.arg.is_finite()
    }

    /// The sum: `lin + dm1·ln(arg)`.
    pub fn value(&self, dm1: T) -> T {
        self.lin + dm1 * self.arg.ln()
    }
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
    Ok(p.out(sums, form, dm1))
}

/// [`esh_update`] for callers that made the reduction pass themselves (e.g.
/// fused with cleaning the gradient, [`crate::simd::sanitize_reduce`]) and
/// whose position update uses another diagonal than the momentum update:
/// `r` must be the reduction of `u` and `s_kick ⊙ g`; the drift moves
/// `x ← src + h s_drift⊙u'`. Same arithmetic as `esh_update` otherwise.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
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
    Ok(p.out(sums, form, dm1))
}

/// [`esh_update_split`] without a drift, for a step's last update when the
/// next step's first update will use the same gradient: also returns
/// `u'·(s⊙g)` summed bit-identically to [`esh_reduce`], which with
/// `EshOut::uu` and `r.gg` is that update's whole reduction
/// ([`esh_kick_next`]).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub fn esh_update_next<T: Real, D: Diag<T>>(u: &mut [T], g: &[T], r: EshSums<T>, s: D, t: T, dm1: T, form: KineticForm) -> Result<(EshOut<T>, T), NonFinite> {
    let p = plan(r, t, dm1)?;
    let sums = esh_kick_next(u, g, s, p.kick);
    Ok((p.out(sums, form, dm1), sums.ug_new))
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
    Ok(p.out(sums, form, dm1))
}

/// [`esh_update_refresh`] that also returns the reduction the next update
/// would make with the same gradient and diagonal (a step's first update
/// reuses the last stage's gradient): the bits [`esh_reduce`] would sum
/// over the refreshed `u` ([`esh_kick_refresh_next`]), so that pass can be
/// skipped when nothing changes `u`, `g` or `s` in between. `warm`: buffers
/// to prefetch during the pass (a hint, see [`esh_kick_refresh_next`]).
#[allow(clippy::too_many_arguments)]
pub fn esh_update_refresh_next<T: Real, D: Diag<T>>(
    u: &mut [T],
    g: &[T],
    s: D,
    t: T,
    dm1: T,
    form: KineticForm,
    nu: T,
    rng: &mut Rng,
    warm: [&[T]; 2],
) -> Result<(EshOut<T>, EshSums<T>), NonFinite> {
    let r = esh_reduce(u, g, s);
    let p = plan(r, t, dm1)?;
    let mut src = NormalBlocks::new(rng);
    let (sums, uu) = esh_kick_refresh_next(u, g, s, p.kick, nu, || src.next_block::<T>(), warm);
    Ok((p.out(sums, form, dm1), EshSums { uu, ug: sums.ug_new, gg: r.gg }))
}

/// The scalar half of an ESH update: kick coefficients from the reduction,
/// and what the kinetic-energy change needs afterwards.
struct Plan<T> {
    kick: Kick<T>,
    mu: T,
    delta: T,
    zeta: T,
}

/// Always inlined, as are the updates that call it: a `Plan` (or an
/// `EshOut`) returned through memory is stored as scalars and loaded back
/// as vectors, a store-to-load forwarding failure on x86 (the load waits
/// until the stores retire), and at small d these scalars are the step's
/// critical path. Inlining keeps them in registers: an MCLMC step (f64,
/// d = 10, McLachlan, no refresh) went from 220 to 204–208 ns.
#[inline(always)]
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
    /// The update's result, the kinetic-energy change as `lin + dm1·ln(arg)`.
    fn out(&self, sums: KickSums<T>, form: KineticForm, dm1: T) -> EshOut<T> {
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
        EshOut { lin: dm1 * (self.delta - T::from_f64(core::f64::consts::LN_2)), arg: a, dm1, uu: sums.uu_new }
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
                assert!((out.dk() - want_dk).abs() < 1e-11 * (1.0 + want_dk.abs()), "dk {form:?} t={t}: {} vs {want_dk}", out.dk());
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
        assert!((leg.dk() - (delta - 2f64.ln() + (1.0 + z2).ln())).abs() < 1e-14);
        // u' = e: the gradient direction.
        assert!((u[0] - 0.6).abs() < 1e-15 && (u[1] - 0.8).abs() < 1e-15);
        let mut u = [0.0f64; 2];
        let st = esh_update(&mut u, &g, Identity, t, 1.0, KineticForm::Stable, None).unwrap();
        assert!((st.dk() - (delta - 2f64.ln() + (0.5 + 1.5 * z2).ln())).abs() < 1e-14);
    }

    #[test]
    fn zero_gradient_is_a_no_op_and_nan_is_reported() {
        let mut u = [0.6f64, 0.8];
        let out = esh_update(&mut u, &[0.0, 0.0], Identity, 1.0, 1.0, KineticForm::Stable, None).unwrap();
        assert_eq!(out.dk(), 0.0);
        assert!((u[0] - 0.6).abs() < 1e-15);
        assert_eq!(esh_update(&mut u, &[f64::NAN, 0.0], Identity, 1.0, 1.0, KineticForm::Stable, None), Err(NonFinite));
        assert_eq!(esh_update(&mut u, &[f64::INFINITY, 0.0], Identity, 1.0, 1.0, KineticForm::Stable, None), Err(NonFinite));
    }

    #[test]
    fn huge_gradient_does_not_overflow() {
        let mut u = [1.0f32, 0.0, 0.0];
        let out = esh_update(&mut u, &[0.0, 1e18, 0.0], Identity, 1.0f32, 2.0, KineticForm::Stable, None).unwrap();
        assert!(out.dk().is_finite() && u.iter().all(|x| x.is_finite()));
        assert!((u[1] - 1.0).abs() < 1e-6);
    }

    #[test]
    fn kinetic_sum_takes_one_log_and_agrees_with_the_sum_of_logs() {
        let dm1 = 99.0f64;
        let out = |lin: f64, arg: f64| EshOut { lin, arg, dm1, uu: 1.0 };
        // Ordinary arguments: one logarithm for the lot, the same value to rounding.
        let parts = [(0.3, 1.7), (-0.2, 0.4), (0.05, 2.0), (1.5, 1e-3)];
        let mut ks = KineticSum::zero();
        for &(l, a) in &parts {
            ks.add(&out(l, a));
        }
        let want: f64 = parts.iter().map(|&(l, a)| l + dm1 * a.ln()).sum();
        assert!((ks.value(dm1) - want).abs() < 1e-13 * want.abs(), "{} vs {want}", ks.value(dm1));
        assert!(ks.arg != 1.0, "no fold expected here");
        // Small and tiny arguments fold before the product underflows, in
        // f64 and in f32.
        for a in [1e-4, 1e-9, 1e-20, 1e-300] {
            let mut ks = KineticSum::zero();
            for _ in 0..40 {
                ks.add(&out(0.0, a));
            }
            let want = 40.0 * dm1 * a.ln();
            assert!(ks.is_finite() && (ks.value(dm1) - want).abs() < 1e-12 * want.abs(), "a = {a}");
        }
        for a in [1e-4f32, 1e-9, 1e-20, 1e-37] {
            let mut ks = KineticSum::<f32>::zero();
            for _ in 0..40 {
                ks.add(&EshOut { lin: 0.0, arg: a, dm1: 99.0, uu: 1.0 });
            }
            let want = 40.0 * 99.0 * (a as f64).ln();
            assert!(ks.is_finite() && (ks.value(99.0) as f64 - want).abs() < 1e-5 * want.abs(), "f32 a = {a}");
        }
        // A zero, negative or NaN argument makes the sum non-finite at once,
        // as a sum of logarithms would be (the per-stage divergence check).
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            let mut ks = KineticSum::zero();
            ks.add(&out(0.1, 1.3));
            ks.add(&out(0.1, bad));
            assert!(!ks.is_finite(), "arg {bad}");
            ks.add(&out(0.1, 1.3));
            assert!(!ks.value(dm1).is_finite(), "arg {bad}");
        }
    }
}
