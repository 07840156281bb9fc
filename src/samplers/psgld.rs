//! Preconditioned SGLD (Li, Chen, Carlson & Carin 2016): SGLD with an
//! RMSprop diagonal preconditioner. Conventions (gradient, h, T, N/n,
//! divergences): see [`crate::samplers::sgld`].
//!
//! Per step, with the caller's gradient estimate `ĝ` at the current position:
//!
//! ```text
//! V ← α V + (1 − α) ĝ⊙ĝ            (V ← ĝ⊙ĝ at the first step)
//! G = 1 / (λ + sqrt(V))             elementwise
//! x ← x + h G⊙ĝ + sqrt(2 T h G)⊙ξ,  ξ ~ N(0, I)
//! ```
//!
//! With `h = ε/2` this is Li et al.'s update. Their correction term
//! `Γᵢ = Σⱼ ∂G_ij/∂θⱼ` is **omitted**, as in their experiments and in every
//! common implementation: G depends on θ only through the running average
//! V, which changes by O(1 − α) per step, so Γ is small when α is close to
//! 1; leaving it out adds a bias of that order. Starting V at the first
//! gradient's square (rather than 0) avoids a first step of size `h/λ`
//! along directions where the average has not yet built up.
//!
//! Memory: [`Psgld::workspace_len`]`(d) = 6d` values,
//! `[x₀ | x₁ | x₂ | g | V₀ | V₁]`. V is double-buffered so that a divergence
//! (a non-finite gradient poisons the new average) leaves the old average in
//! place. The update is one fused pass: read x, g, V; write the new x and V.

use crate::error::Error;
use crate::real::Real;
use crate::samplers::request::{LogDensity, Progress, Request, RequestKind, StepInfo};
use crate::samplers::schedule::{Schedule, StoredSchedule};
use crate::samplers::sg::{self, check_start, check_temperature, noise_scale, ring, sg_common_api, sg_state_api, Rms, SgCore, PHASE_IDLE, PHASE_IN_STEP};

/// Settings of a pSGLD chain.
#[derive(Clone, Copy, Debug, PartialEq)]
#[repr(C)]
pub struct PsgldConfig<T> {
    /// Step size h as a function of the step index.
    pub schedule: Schedule<T>,
    /// Temperature T (finite, ≥ 0).
    pub temperature: T,
    /// Decay α of the squared-gradient average, in `[0, 1)` (default 0.99).
    pub alpha: T,
    /// Regulariser λ of `G = 1/(λ + sqrt(V))` (finite, > 0; default 1e-5).
    pub lambda: T,
}

impl<T: Real> PsgldConfig<T> {
    /// Constant step size `h`, temperature 1, α = 0.99, λ = 1e-5.
    pub fn constant(h: T) -> Self {
        PsgldConfig { schedule: Schedule::constant(h), temperature: T::ONE, alpha: T::from_f64(0.99), lambda: T::from_f64(1e-5) }
    }

    /// Checks every field. Errors: those of [`Schedule::validate`],
    /// `InvalidSetting` (temperature, α, λ).
    pub fn validate(&self) -> Result<(), Error> {
        self.schedule.validate()?;
        check_temperature(self.temperature)?;
        if !(self.alpha >= T::ZERO && self.alpha < T::ONE && self.lambda > T::ZERO && self.lambda.is_finite()) {
            return Err(Error::InvalidSetting);
        }
        Ok(())
    }
}

/// All scalar state of a pSGLD chain: plain data, `#[repr(C)]`.
#[derive(Clone, Copy, Debug, PartialEq)]
#[repr(C)]
pub struct PsgldState<T> {
    core: SgCore<T>,
    cfg: Stored<T>,
    /// Which V buffer holds the current average (0 or 1).
    vcur: u32,
    /// 1 once V holds an average (after the first accepted step).
    v_ready: u32,
}

/// [`PsgldConfig`] as the state stores it, without padding ([`StoredSchedule`]).
#[derive(Clone, Copy, Debug, PartialEq)]
#[repr(C)]
struct Stored<T> {
    schedule: StoredSchedule<T>,
    temperature: T,
    alpha: T,
    lambda: T,
    reserved: T,
}

impl<T: Real> Stored<T> {
    fn of(c: &PsgldConfig<T>) -> Self {
        Stored { schedule: StoredSchedule::of(&c.schedule), temperature: c.temperature, alpha: c.alpha, lambda: c.lambda, reserved: T::ZERO }
    }

    #[inline]
    fn get(&self) -> PsgldConfig<T> {
        PsgldConfig { schedule: self.schedule.get(), temperature: self.temperature, alpha: self.alpha, lambda: self.lambda }
    }

    fn reserved_clear(&self) -> bool {
        self.schedule.reserved_clear() && self.reserved == T::ZERO
    }
}

impl<T: Real> PsgldState<T> {
    sg_state_api!();

    /// Current settings.
    pub fn config(&self) -> PsgldConfig<T> {
        self.cfg.get()
    }

    fn validate(&self, ws_len: usize) -> Result<(), Error> {
        self.core.validate(1)?;
        if ws_len != Psgld::<T>::workspace_len(self.core.dim as usize) {
            return Err(Error::BufferLength);
        }
        self.cfg.get().validate().map_err(|_| Error::InvalidState)?;
        if self.vcur > 1 || self.v_ready > 1 || !self.cfg.reserved_clear() {
            return Err(Error::InvalidState);
        }
        Ok(())
    }
}

/// A pSGLD chain over a caller-provided workspace.
#[derive(Debug)]
pub struct Psgld<'a, T: Real> {
    st: PsgldState<T>,
    ws: &'a mut [T],
}

impl<'a, T: Real> Psgld<'a, T> {
    /// Number of `T` values the workspace must hold for dimension `d`: `6d`.
    pub const fn workspace_len(d: usize) -> usize {
        d.saturating_mul(6)
    }

    /// A chain starting at `x0` (see [`Sgld::new`](crate::samplers::sgld::Sgld::new)).
    /// Errors: `DimensionTooSmall` (d = 0), `BufferLength` (workspace is not
    /// `6d`), the errors of [`PsgldConfig::validate`], `InvalidValue`.
    pub fn new(cfg: PsgldConfig<T>, x0: &[T], workspace: &'a mut [T], seed: u64, stream: u64) -> Result<Self, Error> {
        check_start(x0, workspace.len(), Self::workspace_len(x0.len()))?;
        cfg.validate()?;
        let d = x0.len();
        workspace.fill(T::ZERO);
        workspace[..d].copy_from_slice(x0);
        let st = PsgldState { core: SgCore::new(d, seed, stream), cfg: Stored::of(&cfg), vcur: 0, v_ready: 0 };
        Ok(Psgld { st, ws: workspace })
    }

    /// Rebuilds a chain from a checkpoint. Errors: `BufferLength`, `InvalidState`.
    pub fn from_parts(state: PsgldState<T>, workspace: &'a mut [T]) -> Result<Self, Error> {
        state.validate(workspace.len())?;
        Ok(Psgld { st: state, ws: workspace })
    }

    sg_common_api!(PsgldState);

    /// Current settings.
    pub fn config(&self) -> PsgldConfig<T> {
        self.st.cfg.get()
    }

    /// Changes the settings between steps (V is kept). Errors: `OutOfOrder`
    /// inside a step, the errors of [`PsgldConfig::validate`].
    pub fn set_config(&mut self, cfg: PsgldConfig<T>) -> Result<(), Error> {
        if self.st.core.phase == PHASE_IN_STEP {
            return Err(Error::OutOfOrder);
        }
        cfg.validate()?;
        self.st.cfg = Stored::of(&cfg);
        Ok(())
    }

    /// The running average V of ĝ⊙ĝ (all zeros before the first step); the
    /// preconditioner is `G = 1/(λ + sqrt(V))`.
    pub fn second_moment(&self) -> &[T] {
        let d = self.st.core.dim as usize;
        let o = (4 + self.st.vcur as usize) * d;
        &self.ws[o..o + d]
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
        Request { x, grad: &mut rest[..d], kind: RequestKind::Stage, step: c.steps + 1, stage: 1 }
    }

    /// Hands the log density (estimate) at the requested point to the chain
    /// and makes the step. Errors: `OutOfOrder` if no step is in progress.
    pub fn tell(&mut self, logp: T) -> Result<Progress<T>, Error> {
        let st = &mut self.st;
        let c = &mut st.core;
        if c.phase != PHASE_IN_STEP {
            return Err(Error::OutOfOrder);
        }
        c.grad_evals += 1;
        c.logp_sum = logp;
        let t = c.steps;
        let cfg = st.cfg.get();
        let h = cfg.schedule.step_size(t);
        if !logp.is_finite() {
            return Ok(Progress::Step(c.reject(h)));
        }
        let k = Rms {
            h,
            c: noise_scale(cfg.temperature, h, cfg.schedule.exploring(t)),
            rho: if st.v_ready == 1 { cfg.alpha } else { T::ZERO },
            lambda: cfg.lambda,
        };
        let d = c.dim as usize;
        let (x, xn, rest) = ring(self.ws, d, c.cur as usize, c.free());
        let (g, v) = rest.split_at_mut(d);
        let (v0, v1) = v.split_at_mut(d);
        let (v_old, v_new) = if st.vcur == 0 { (v0, v1) } else { (v1, v0) };
        let bad = sg::rms_langevin(x, g, v_old, v_new, xn, k, &mut c.rng);
        let info = if bad == T::ZERO {
            st.vcur ^= 1;
            st.v_ready = 1;
            c.accept(h)
        } else {
            c.reject(h)
        };
        Ok(Progress::Step(info))
    }
}
