//! Stochastic-gradient Langevin dynamics (Welling & Teh 2011; ALGORITHMS.md §4.1).
//!
//! # Conventions of the whole SGLD family (SGLD, pSGLD, SGHMC, fSGLD)
//!
//! * **Gradient.** The caller writes `ĝ`, an unbiased estimate of the
//!   gradient of the *full-data* log posterior,
//!   `ĝ = ∇log p(θ) + (N/n) Σ_{i∈B} ∇log p(yᵢ | θ)` for a mini-batch B of n
//!   of the N data. **The caller applies N/n**; the samplers never see N or n.
//!   One mini-batch per step: [`Request::step`](crate::Request::step) is the
//!   step's index (fSGLD asks several points with the same index).
//! * **Step size.** `h` multiplies the gradient:
//!   `x ← x + h ĝ + sqrt(2 T h) ξ`, `ξ ~ N(0, I)`, as in BlackJAX's
//!   `overdamped_langevin`. Welling & Teh's ε is `2h`
//!   (`θ ← θ + (ε/2) ĝ + N(0, ε)`).
//! * **Temperature.** `T` (default 1) makes the target `p(θ | data)^(1/T)`;
//!   `T = 0` is stochastic gradient ascent.
//! * **Log density.** The value passed to `tell` is only checked (a
//!   non-finite value is a divergence) and reported back in [`StepInfo`];
//!   callers that do not compute it may pass 0.
//! * **Step index of a schedule.** `t` = steps completed before this one
//!   (see [`crate::samplers::schedule`]).
//! * **Dimension.** `d ≥ 1`: unlike the microcanonical samplers nothing here
//!   divides by `d − 1`, and one-dimensional targets are common in tests.
//! * **Divergences.** A non-finite log density or gradient, or an update
//!   that overflows, rejects the step and also undoes the move that led to
//!   the current position (whose gradient was the bad one, so staying would
//!   fail again on a deterministic density): the chain returns to its
//!   previous position, or stays if it has none (after construction,
//!   `set_position` or another divergence). The step still counts in
//!   `steps` and advances the schedule. `StepInfo`'s `energy_change` and
//!   `kinetic_change` are always 0 (there is no energy); its `logdensity`
//!   is the value told (mean over fSGLD's perturbations) for the last
//!   accepted step.
//!
//! # Memory
//! [`Sgld::workspace_len`]`(d) = 4d` values: `[x₀ | x₁ | x₂ | g]`, a ring of
//! three positions and the gradient buffer handed out by `ask`.
//!
//! # Protocol
//! No initial evaluation: each step is one `ask` (the gradient at the
//! current position) and one `tell`, after which the update is one fused
//! pass (read x, g; write the new x; draw the noise block by block).

use crate::error::Error;
use crate::real::Real;
use crate::samplers::request::{LogDensity, Progress, Request, RequestKind, StepInfo};
use crate::samplers::schedule::{Schedule, StoredSchedule};
use crate::samplers::sg::{self, check_start, check_temperature, noise_scale, ring, sg_common_api, sg_state_api, SgCore, PHASE_IDLE, PHASE_IN_STEP};

/// Settings of an SGLD chain.
#[derive(Clone, Copy, Debug, PartialEq)]
#[repr(C)]
pub struct SgldConfig<T> {
    /// Step size h as a function of the step index.
    pub schedule: Schedule<T>,
    /// Temperature T (finite, ≥ 0; 1 samples the posterior).
    pub temperature: T,
}

impl<T: Real> SgldConfig<T> {
    /// Constant step size `h`, temperature 1.
    pub fn constant(h: T) -> Self {
        SgldConfig { schedule: Schedule::constant(h), temperature: T::ONE }
    }

    /// Checks every field. Errors: those of [`Schedule::validate`],
    /// `InvalidSetting` (temperature).
    pub fn validate(&self) -> Result<(), Error> {
        self.schedule.validate()?;
        check_temperature(self.temperature)
    }
}

/// All scalar state of an SGLD chain: plain data, `#[repr(C)]`.
#[derive(Clone, Copy, Debug, PartialEq)]
#[repr(C)]
pub struct SgldState<T> {
    core: SgCore<T>,
    cfg: Stored<T>,
}

/// [`SgldConfig`] as the state stores it, without padding ([`StoredSchedule`]).
#[derive(Clone, Copy, Debug, PartialEq)]
#[repr(C)]
struct Stored<T> {
    schedule: StoredSchedule<T>,
    temperature: T,
    reserved: T,
}

impl<T: Real> Stored<T> {
    fn of(c: &SgldConfig<T>) -> Self {
        Stored { schedule: StoredSchedule::of(&c.schedule), temperature: c.temperature, reserved: T::ZERO }
    }

    #[inline]
    fn get(&self) -> SgldConfig<T> {
        SgldConfig { schedule: self.schedule.get(), temperature: self.temperature }
    }

    fn reserved_clear(&self) -> bool {
        self.schedule.reserved_clear() && self.reserved == T::ZERO
    }
}

impl<T: Real> SgldState<T> {
    sg_state_api!();

    /// Current settings.
    pub fn config(&self) -> SgldConfig<T> {
        self.cfg.get()
    }

    fn validate(&self, ws_len: usize) -> Result<(), Error> {
        self.core.validate(1)?;
        if ws_len != Sgld::<T>::workspace_len(self.core.dim as usize) {
            return Err(Error::BufferLength);
        }
        if !self.cfg.reserved_clear() {
            return Err(Error::InvalidState);
        }
        self.cfg.get().validate().map_err(|_| Error::InvalidState)
    }
}

/// An SGLD chain over a caller-provided workspace.
#[derive(Debug)]
pub struct Sgld<'a, T: Real> {
    st: SgldState<T>,
    ws: &'a mut [T],
}

impl<'a, T: Real> Sgld<'a, T> {
    /// Number of `T` values the workspace must hold for dimension `d`: `4d`.
    pub const fn workspace_len(d: usize) -> usize {
        d.saturating_mul(4)
    }

    /// A chain in dimension `x0.len()` starting at `x0`, with settings `cfg`
    /// and random stream `Rng::new(seed, stream)`. The first `ask()`
    /// requests the gradient at `x0`.
    ///
    /// Errors: `DimensionTooSmall` (d = 0), `BufferLength` (workspace is not
    /// `4d`), the errors of [`SgldConfig::validate`], `InvalidValue` (x0 not finite).
    pub fn new(cfg: SgldConfig<T>, x0: &[T], workspace: &'a mut [T], seed: u64, stream: u64) -> Result<Self, Error> {
        check_start(x0, workspace.len(), Self::workspace_len(x0.len()))?;
        cfg.validate()?;
        let d = x0.len();
        workspace.fill(T::ZERO);
        workspace[..d].copy_from_slice(x0);
        Ok(Sgld { st: SgldState { core: SgCore::new(d, seed, stream), cfg: Stored::of(&cfg) }, ws: workspace })
    }

    /// Rebuilds a chain from a checkpoint: a state and a workspace holding
    /// the values they had together. Errors: `BufferLength`, `InvalidState`.
    pub fn from_parts(state: SgldState<T>, workspace: &'a mut [T]) -> Result<Self, Error> {
        state.validate(workspace.len())?;
        Ok(Sgld { st: state, ws: workspace })
    }

    sg_common_api!(SgldState);

    /// Current settings.
    pub fn config(&self) -> SgldConfig<T> {
        self.st.cfg.get()
    }

    /// Changes the settings between steps (the schedule keeps counting from
    /// the current step index). Errors: `OutOfOrder` inside a step, the
    /// errors of [`SgldConfig::validate`].
    pub fn set_config(&mut self, cfg: SgldConfig<T>) -> Result<(), Error> {
        if self.st.core.phase == PHASE_IN_STEP {
            return Err(Error::OutOfOrder);
        }
        cfg.validate()?;
        self.st.cfg = Stored::of(&cfg);
        Ok(())
    }

    /// The next evaluation: the gradient at the current position. Asking
    /// again before `tell` returns the same request.
    pub fn ask(&mut self) -> Request<'_, T> {
        let c = &mut self.st.core;
        if c.phase == PHASE_IDLE {
            c.phase = PHASE_IN_STEP;
            c.stage = 1;
            c.logp_sum = T::ZERO;
        }
        let d = c.dim as usize;
        let (x, _, rest) = ring(self.ws, d, c.cur as usize, c.free());
        Request { x, grad: rest, kind: RequestKind::Stage, step: c.steps + 1, stage: 1 }
    }

    /// Hands the log density (estimate) at the requested point to the chain,
    /// the gradient being in the request's `grad`, and makes the step.
    /// Errors: `OutOfOrder` if no step is in progress (call `ask` first).
    pub fn tell(&mut self, logp: T) -> Result<Progress<T>, Error> {
        let c = &mut self.st.core;
        if c.phase != PHASE_IN_STEP {
            return Err(Error::OutOfOrder);
        }
        c.grad_evals += 1;
        c.logp_sum = logp;
        let t = c.steps;
        let cfg = self.st.cfg.get();
        let h = cfg.schedule.step_size(t);
        if !logp.is_finite() {
            return Ok(Progress::Step(c.reject(h)));
        }
        let noise = noise_scale(cfg.temperature, h, cfg.schedule.exploring(t));
        let d = c.dim as usize;
        let (x, xn, g) = ring(self.ws, d, c.cur as usize, c.free());
        let bad = sg::langevin(x, g, xn, h, noise, &mut c.rng);
        let info = if bad == T::ZERO { c.accept(h) } else { c.reject(h) };
        Ok(Progress::Step(info))
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use crate::samplers::sg::NO_PREV;
    use std::vec;

    #[test]
    fn corrupt_states_are_refused() {
        let mut ws = vec![0.0f64; 8];
        let c = Sgld::new(SgldConfig::constant(0.1), &[1.0, 2.0], &mut ws, 0, 0).unwrap();
        let (st, ws) = c.into_parts();
        let bad: [fn(&mut SgldState<f64>); 12] = [
            |s| s.core.dim = 0,
            |s| s.core.divergences = 1, // more divergences than steps (0)
            |s| s.core.cur = 3,
            |s| {
                s.core.cur = 1;
                s.core.prev = 1;
            },
            |s| s.core.phase = 0,
            |s| s.core.phase = PHASE_IN_STEP, // stage 0 inside a step
            |s| s.core.stage = 1,             // a stage while idle
            |s| s.cfg.temperature = -1.0,
            |s| s.cfg.schedule.kind = 9,
            |s| s.cfg.schedule.scale = f64::NAN,
            |s| s.cfg.reserved = 1.0,
            |s| s.cfg.schedule.reserved32 = 1,
        ];
        for (k, f) in bad.iter().enumerate() {
            let mut s = st;
            f(&mut s);
            assert_eq!(Sgld::from_parts(s, &mut ws[..]).err(), Some(Error::InvalidState), "case {k}");
        }
        let mut s = st;
        s.core.dim = 3;
        assert_eq!(Sgld::from_parts(s, &mut ws[..]).err(), Some(Error::BufferLength));
        let mut s = st;
        s.core.prev = NO_PREV;
        assert!(Sgld::from_parts(s, &mut ws[..]).is_ok());
    }
}
