//! Palindromic integrators for isokinetic dynamics (ALGORITHMS.md §1.4).
//!
//! A coefficient list `[c₀, c₁, …, c_{2m}]` alternates momentum updates (even
//! index, [`esh_update`]) and position updates (odd index). The first
//! momentum update reuses the gradient of the previous step's last position
//! (first-same-as-last), so a step costs `m` gradient evaluations.
//!
//! [`Stepper`] runs one step as a small resumable machine, because in the
//! reverse-communication API the caller evaluates each gradient between two
//! calls: `begin` performs `c₀, c₁` and `resume(k)` performs `c_{2k}` (and
//! `c_{2k+1}` when more stages remain). Each momentum update is fused with the
//! position update that follows it.

use super::esh::{esh_update, esh_update_next, esh_update_refresh, esh_update_refresh_next, esh_update_split, EshOut, KineticForm, NonFinite};
use crate::real::Real;
use crate::rng::Rng;
use crate::simd::{esh_reduce, Diag, Drift, EshSums};

/// The integrator of the isokinetic dynamics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[repr(u32)]
pub enum Integrator {
    /// `[½, 1, ½]`: 1 gradient per step, 2nd order.
    VelocityVerlet = 0,
    /// Minimal-norm 2nd-order scheme, `[b₁, ½, 1−2b₁, ½, b₁]`: 2 gradients per step. The default.
    #[default]
    McLachlan = 1,
    /// BlackJAX's `isokinetic_yoshida` coefficients, 3 gradients per step.
    /// Despite the name they give a 2nd-order scheme (with a smaller error
    /// constant than McLachlan): the energy error measured in
    /// `tests/mclmc_statistics.rs` halves by 4×, not 16×, when ε halves.
    Yoshida = 2,
    /// Omelyan's 11-stage 4th-order scheme, 5 gradients per step.
    Omelyan = 3,
}

const VV: [f64; 3] = [0.5, 1.0, 0.5];
const MCL_B1: f64 = 0.1931833275037836;
const MCLACHLAN: [f64; 5] = [MCL_B1, 0.5, 1.0 - 2.0 * MCL_B1, 0.5, MCL_B1];
const YOS_B1: f64 = 0.11888010966548;
const YOS_A1: f64 = 0.29619504261126;
const YOS_B2: f64 = 0.5 - YOS_B1;
const YOS_A2: f64 = 1.0 - 2.0 * YOS_A1;
const YOSHIDA: [f64; 7] = [YOS_B1, YOS_A1, YOS_B2, YOS_A2, YOS_B2, YOS_A1, YOS_B1];
const OME_B1: f64 = 0.08398315262876693;
const OME_A1: f64 = 0.2539785108410595;
const OME_B2: f64 = 0.682_236_533_571_909;
const OME_A2: f64 = -0.03230286765269967;
const OME_B3: f64 = 0.5 - OME_B1 - OME_B2;
const OME_A3: f64 = 1.0 - 2.0 * (OME_A1 + OME_A2);
const OMELYAN: [f64; 11] = [OME_B1, OME_A1, OME_B2, OME_A2, OME_B3, OME_A3, OME_B3, OME_A2, OME_B2, OME_A1, OME_B1];

impl Integrator {
    /// All integrators, in discriminant order.
    pub const ALL: [Integrator; 4] = [Self::VelocityVerlet, Self::McLachlan, Self::Yoshida, Self::Omelyan];

    /// The coefficient list, momentum first.
    pub const fn coefficients(self) -> &'static [f64] {
        match self {
            Self::VelocityVerlet => &VV,
            Self::McLachlan => &MCLACHLAN,
            Self::Yoshida => &YOSHIDA,
            Self::Omelyan => &OMELYAN,
        }
    }

    /// Gradient evaluations per step (number of position stages).
    pub const fn grads_per_step(self) -> u32 {
        ((self.coefficients().len() - 1) / 2) as u32
    }

    /// Order of accuracy (energy error ∝ εᵒʳᵈᵉʳ over a fixed time,
    /// ∝ εᵒʳᵈᵉʳ⁺¹ per step), as measured, not as named.
    pub const fn order(self) -> u32 {
        match self {
            Self::VelocityVerlet | Self::McLachlan | Self::Yoshida => 2,
            Self::Omelyan => 4,
        }
    }

    /// The integrator with discriminant `v`, if any.
    pub const fn from_u32(v: u32) -> Option<Self> {
        match v {
            0 => Some(Self::VelocityVerlet),
            1 => Some(Self::McLachlan),
            2 => Some(Self::Yoshida),
            3 => Some(Self::Omelyan),
            _ => None,
        }
    }

    /// The BlackJAX-style name (`velocity_verlet`, `mclachlan`, `yoshida`, `omelyan`).
    pub const fn name(self) -> &'static str {
        match self {
            Self::VelocityVerlet => "velocity_verlet",
            Self::McLachlan => "mclachlan",
            Self::Yoshida => "yoshida",
            Self::Omelyan => "omelyan",
        }
    }

    /// Parses [`Integrator::name`].
    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|i| i.name() == s)
    }
}

/// What the step needs next after a momentum update.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StageOutcome {
    /// A position update was made: evaluate the gradient there; `stage` is
    /// its 1-based index within the step.
    NeedGradient { stage: u32 },
    /// The last momentum update of the step is done.
    Done,
}

/// One integrator step over borrowed buffers (see the module docs).
pub struct Stepper<'a, T: Real, D: Diag<T>> {
    /// Momentum (any norm on input; normalised by the first update).
    pub u: &'a mut [T],
    /// Preconditioner.
    pub s: D,
    /// Step size ε.
    pub eps: T,
    /// `d − 1`.
    pub dm1: T,
    pub form: KineticForm,
    pub integrator: Integrator,
}

impl<'a, T: Real, D: Diag<T>> Stepper<'a, T, D> {
    #[inline]
    fn coef(&self, i: usize) -> T {
        let c = self.integrator.coefficients();
        T::from_f64(if i < c.len() { c[i] } else { 0.0 })
    }

    /// Momentum update `c₀` with the gradient `g` at `x_src`, then the first
    /// position update `x ← x_src + c₁ ε s⊙u`. Returns the kinetic change
    /// and the new `‖u‖²`; the next gradient is needed at `x` (stage 1).
    pub fn begin(&mut self, g: &[T], x_src: &[T], x: &mut [T]) -> Result<EshOut<T>, NonFinite> {
        let h = self.coef(1) * self.eps;
        let t = self.coef(0) * self.eps;
        esh_update(self.u, g, self.s, t, self.dm1, self.form, Some(Drift { x_src: Some(x_src), x, h }))
    }

    /// After the gradient of stage `k` (1-based) was written to `g`: momentum
    /// update `c_{2k}`, then, if stages remain, the position update
    /// `c_{2k+1}` in place on `x`. Returns the kinetic change, the new
    /// `‖u‖²` and what comes next.
    pub fn resume(&mut self, k: u32, g: &[T], x: &mut [T]) -> Result<(EshOut<T>, StageOutcome), NonFinite> {
        let m = self.integrator.grads_per_step();
        let k = if k == 0 { 1 } else { k };
        let t = self.coef(2 * k as usize) * self.eps;
        if k < m {
            let h = self.coef(2 * k as usize + 1) * self.eps;
            let out = esh_update(self.u, g, self.s, t, self.dm1, self.form, Some(Drift { x_src: None, x, h }))?;
            Ok((out, StageOutcome::NeedGradient { stage: k + 1 }))
        } else {
            let out = esh_update(self.u, g, self.s, t, self.dm1, self.form, None)?;
            Ok((out, StageOutcome::Done))
        }
    }
}

impl<'a, T: Real, D: Diag<T>> Stepper<'a, T, D> {
    /// [`resume`](Self::resume), except that the step's last momentum update
    /// is followed by a partial refresh with scale `nu` in the same pass
    /// ([`esh_update_refresh`]).
    pub fn resume_refresh(&mut self, k: u32, g: &[T], x: &mut [T], nu: T, rng: &mut Rng) -> Result<(EshOut<T>, StageOutcome), NonFinite> {
        let k = if k == 0 { 1 } else { k };
        if k < self.integrator.grads_per_step() {
            return self.resume(k, g, x);
        }
        let t = self.coef(2 * k as usize) * self.eps;
        let out = esh_update_refresh(self.u, g, self.s, t, self.dm1, self.form, nu, rng)?;
        Ok((out, StageOutcome::Done))
    }

    /// [`begin`](Self::begin) with the first update's reduction already
    /// made (by the previous step's [`resume_next`](Self::resume_next), over
    /// the same `u`, `g` and `s`): the same result, one pass fewer.
    pub fn begin_with(&mut self, g: &[T], x_src: &[T], x: &mut [T], r: EshSums<T>) -> Result<EshOut<T>, NonFinite> {
        let h = self.coef(1) * self.eps;
        let t = self.coef(0) * self.eps;
        esh_update_split(self.u, g, r, self.s, t, self.dm1, self.form, Some(Drift { x_src: Some(x_src), x, h }), self.s)
    }

    /// [`resume`](Self::resume) (`nu = None`) or
    /// [`resume_refresh`](Self::resume_refresh) (`nu = Some(ν)`) that, on
    /// the step's last update, also returns the reduction the next step's
    /// first update would make over the final `u` with this `g` and `s`,
    /// summed to the same bits, for [`begin_with`](Self::begin_with).
    /// `warm`: buffers the refreshing last update prefetches as it goes (a
    /// hint, [`crate::simd::esh_kick_refresh_next`]).
    #[allow(clippy::type_complexity)]
    pub fn resume_next(
        &mut self,
        k: u32,
        g: &[T],
        x: &mut [T],
        nu: Option<T>,
        rng: &mut Rng,
        warm: [&[T]; 2],
    ) -> Result<(EshOut<T>, StageOutcome, Option<EshSums<T>>), NonFinite> {
        let k = if k == 0 { 1 } else { k };
        if k < self.integrator.grads_per_step() {
            let (out, next) = self.resume(k, g, x)?;
            return Ok((out, next, None));
        }
        let t = self.coef(2 * k as usize) * self.eps;
        match nu {
            Some(nu) => {
                let (out, r) = esh_update_refresh_next(self.u, g, self.s, t, self.dm1, self.form, nu, rng, warm)?;
                Ok((out, StageOutcome::Done, Some(r)))
            }
            None => {
                let r = esh_reduce(self.u, g, self.s);
                let (out, ug) = esh_update_next(self.u, g, r, self.s, t, self.dm1, self.form)?;
                Ok((out, StageOutcome::Done, Some(EshSums { uu: out.uu, ug, gg: r.gg })))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coefficients_are_palindromic_and_consistent() {
        for i in Integrator::ALL {
            let c = i.coefficients();
            assert_eq!(c.len() % 2, 1);
            for k in 0..c.len() {
                assert!((c[k] - c[c.len() - 1 - k]).abs() < 1e-15, "{i:?}");
            }
            // Momentum and position coefficients each sum to one full step.
            let b: f64 = c.iter().step_by(2).sum();
            let a: f64 = c.iter().skip(1).step_by(2).sum();
            assert!((a - 1.0).abs() < 1e-13 && (b - 1.0).abs() < 1e-13, "{i:?}: {a} {b}");
            assert_eq!(Integrator::from_u32(i as u32), Some(i));
            assert_eq!(Integrator::from_name(i.name()), Some(i));
        }
        assert_eq!(Integrator::from_u32(4), None);
        assert_eq!(Integrator::McLachlan.grads_per_step(), 2);
        assert_eq!(Integrator::Omelyan.grads_per_step(), 5);
    }
}
