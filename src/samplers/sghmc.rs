//! Stochastic-gradient Hamiltonian Monte Carlo (Chen, Fox & Guestrin 2014;
//! ALGORITHMS.md §4.3). Conventions (gradient, h, T, N/n, divergences): see
//! [`crate::samplers::sgld`].
//!
//! Per step, with the caller's gradient estimate `ĝ` at the current position,
//! friction α and gradient-noise estimate β:
//!
//! ```text
//! p ← (1 − α h) p + h ĝ + sqrt(2 α T h − h² β) ξ,   ξ ~ N(0, I)
//! x ← x + h p
//! ```
//!
//! This discretises `dx = p dt`, `dp = (∇log p − α p) dt + sqrt(2αT) dW`,
//! whose stationary law is `p(x)^(1/T) ⊗ N(0, T I)`. β is the variance of
//! the gradient noise per coordinate (Chen et al.'s B̂): the injected noise
//! is reduced by the `h² β` the noisy gradient already contributes to `p`.
//!
//! Differences from BlackJAX's `sghmc` (which updates x with the old p,
//! writes the noise as `sqrt(hT(2α − hTβ))` and redraws p every 10 steps):
//! the kick comes first and the drift uses the new momentum (symplectic
//! Euler, stable for `h·sqrt(curvature) < 2` whatever the friction, where
//! BlackJAX's explicit Euler gains energy unless `α h` is large enough);
//! β enters unscaled by T (identical at T = 1); the momentum persists across
//! steps unless `refresh_every` is set.
//!
//! Settings with `α h ≥ 1` (the friction factor would not be a contraction)
//! or `2αT < h β` (negative noise variance) are rejected, with h the
//! schedule's largest step size.
//!
//! Memory: [`Sghmc::workspace_len`]`(d) = 5d` values, `[x₀ | x₁ | x₂ | p | g]`.
//! The update is one fused pass (read x, p, g; write p and the new x). A
//! divergence returns to the previous position and redraws `p ~ N(0, T I)`:
//! the momentum, updated in place, is not kept.

use crate::error::Error;
use crate::real::Real;
use crate::rng::{fill_normals, Rng};
use crate::samplers::request::{LogDensity, Progress, Request, RequestKind, StepInfo};
use crate::samplers::schedule::{Schedule, StoredSchedule};
use crate::samplers::sg::{self, check_start, check_temperature, ring, sg_common_api, sg_state_api, SgCore, PHASE_IDLE, PHASE_IN_STEP};
use crate::simd::scale;

/// Settings of an SGHMC chain.
#[derive(Clone, Copy, Debug, PartialEq)]
#[repr(C)]
pub struct SghmcConfig<T> {
    /// Step size h as a function of the step index.
    pub schedule: Schedule<T>,
    /// Temperature T (finite, ≥ 0).
    pub temperature: T,
    /// Friction α (finite, > 0, `α h < 1`).
    pub friction: T,
    /// Gradient-noise variance estimate β (finite, ≥ 0, `h β ≤ 2αT`; 0 = none).
    pub noise_estimate: T,
    /// Redraw `p ~ N(0, T I)` at the start of every `refresh_every`-th step
    /// (0 = never; BlackJAX's top-level SGHMC is 10).
    pub refresh_every: u32,
}

impl<T: Real> SghmcConfig<T> {
    /// Constant step size `h`, friction `friction`, temperature 1, β = 0, no refresh.
    pub fn constant(h: T, friction: T) -> Self {
        SghmcConfig { schedule: Schedule::constant(h), temperature: T::ONE, friction, noise_estimate: T::ZERO, refresh_every: 0 }
    }

    /// Checks every field. Errors: those of [`Schedule::validate`],
    /// `InvalidSetting` (temperature, friction, noise estimate, `αh ≥ 1`,
    /// `hβ > 2αT`).
    pub fn validate(&self) -> Result<(), Error> {
        self.schedule.validate()?;
        check_temperature(self.temperature)?;
        let (a, b) = (self.friction.to_f64(), self.noise_estimate.to_f64());
        let h = self.schedule.max_step_size();
        let ok = a > 0.0 && a.is_finite() && b >= 0.0 && b.is_finite() && a * h < 1.0 && h * b <= 2.0 * a * self.temperature.to_f64();
        if ok {
            Ok(())
        } else {
            Err(Error::InvalidSetting)
        }
    }
}

/// All scalar state of an SGHMC chain: plain data, `#[repr(C)]`.
#[derive(Clone, Copy, Debug, PartialEq)]
#[repr(C)]
pub struct SghmcState<T> {
    core: SgCore<T>,
    cfg: Stored<T>,
}

/// [`SghmcConfig`] as the state stores it, without padding ([`StoredSchedule`]).
#[derive(Clone, Copy, Debug, PartialEq)]
#[repr(C)]
struct Stored<T> {
    schedule: StoredSchedule<T>,
    temperature: T,
    friction: T,
    noise_estimate: T,
    reserved: T,
    refresh_every: u32,
    reserved32: u32,
}

impl<T: Real> Stored<T> {
    fn of(c: &SghmcConfig<T>) -> Self {
        Stored {
            schedule: StoredSchedule::of(&c.schedule),
            temperature: c.temperature,
            friction: c.friction,
            noise_estimate: c.noise_estimate,
            reserved: T::ZERO,
            refresh_every: c.refresh_every,
            reserved32: 0,
        }
    }

    #[inline]
    fn get(&self) -> SghmcConfig<T> {
        SghmcConfig {
            schedule: self.schedule.get(),
            temperature: self.temperature,
            friction: self.friction,
            noise_estimate: self.noise_estimate,
            refresh_every: self.refresh_every,
        }
    }

    fn reserved_clear(&self) -> bool {
        self.schedule.reserved_clear() && self.reserved == T::ZERO && self.reserved32 == 0
    }
}

impl<T: Real> SghmcState<T> {
    sg_state_api!();

    /// Current settings.
    pub fn config(&self) -> SghmcConfig<T> {
        self.cfg.get()
    }

    fn validate(&self, ws_len: usize) -> Result<(), Error> {
        self.core.validate(1)?;
        if ws_len != Sghmc::<T>::workspace_len(self.core.dim as usize) {
            return Err(Error::BufferLength);
        }
        if !self.cfg.reserved_clear() {
            return Err(Error::InvalidState);
        }
        self.cfg.get().validate().map_err(|_| Error::InvalidState)
    }
}

/// An SGHMC chain over a caller-provided workspace.
#[derive(Debug)]
pub struct Sghmc<'a, T: Real> {
    st: SghmcState<T>,
    ws: &'a mut [T],
}

/// `p ← sqrt(T) z`, `z ~ N(0, I)`.
fn draw_momentum<T: Real>(p: &mut [T], temperature: T, rng: &mut Rng) {
    fill_normals(rng, p);
    scale(temperature.sqrt(), p);
}

impl<'a, T: Real> Sghmc<'a, T> {
    /// Number of `T` values the workspace must hold for dimension `d`: `5d`.
    pub const fn workspace_len(d: usize) -> usize {
        d.saturating_mul(5)
    }

    /// A chain starting at `x0` with momentum `p ~ N(0, T I)` (see
    /// [`Sgld::new`](crate::samplers::sgld::Sgld::new)). Errors:
    /// `DimensionTooSmall` (d = 0), `BufferLength` (workspace is not `5d`),
    /// the errors of [`SghmcConfig::validate`], `InvalidValue`.
    pub fn new(cfg: SghmcConfig<T>, x0: &[T], workspace: &'a mut [T], seed: u64, stream: u64) -> Result<Self, Error> {
        check_start(x0, workspace.len(), Self::workspace_len(x0.len()))?;
        cfg.validate()?;
        let d = x0.len();
        workspace.fill(T::ZERO);
        workspace[..d].copy_from_slice(x0);
        let mut core = SgCore::new(d, seed, stream);
        draw_momentum(&mut workspace[3 * d..4 * d], cfg.temperature, &mut core.rng);
        Ok(Sghmc { st: SghmcState { core, cfg: Stored::of(&cfg) }, ws: workspace })
    }

    /// Rebuilds a chain from a checkpoint. Errors: `BufferLength`, `InvalidState`.
    pub fn from_parts(state: SghmcState<T>, workspace: &'a mut [T]) -> Result<Self, Error> {
        state.validate(workspace.len())?;
        Ok(Sghmc { st: state, ws: workspace })
    }

    sg_common_api!(SghmcState);

    /// Current settings.
    pub fn config(&self) -> SghmcConfig<T> {
        self.st.cfg.get()
    }

    /// Changes the settings between steps (the momentum is kept). Errors:
    /// `OutOfOrder` inside a step, the errors of [`SghmcConfig::validate`].
    pub fn set_config(&mut self, cfg: SghmcConfig<T>) -> Result<(), Error> {
        if self.st.core.phase == PHASE_IN_STEP {
            return Err(Error::OutOfOrder);
        }
        cfg.validate()?;
        self.st.cfg = Stored::of(&cfg);
        Ok(())
    }

    /// The momentum p (its stationary law is `N(0, T I)`).
    pub fn momentum(&self) -> &[T] {
        let d = self.st.core.dim as usize;
        &self.ws[3 * d..4 * d]
    }

    /// Sets the momentum. Errors: `OutOfOrder` inside a step,
    /// `BufferLength`, `InvalidValue` (not finite).
    pub fn set_momentum(&mut self, p: &[T]) -> Result<(), Error> {
        if self.st.core.phase == PHASE_IN_STEP {
            return Err(Error::OutOfOrder);
        }
        let d = self.st.core.dim as usize;
        if p.len() != d {
            return Err(Error::BufferLength);
        }
        if !p.iter().all(|v| v.is_finite()) {
            return Err(Error::InvalidValue);
        }
        self.ws[3 * d..4 * d].copy_from_slice(p);
        Ok(())
    }

    /// The next evaluation: the gradient at the current position (a due
    /// momentum refresh happens here). Asking again before `tell` returns
    /// the same request.
    pub fn ask(&mut self) -> Request<'_, T> {
        let (c, cfg) = (&mut self.st.core, self.st.cfg.get());
        let d = c.dim as usize;
        if c.phase == PHASE_IDLE {
            c.phase = PHASE_IN_STEP;
            c.stage = 1;
            c.logp_sum = T::ZERO;
            if cfg.refresh_every > 0 && c.steps % cfg.refresh_every as u64 == 0 {
                draw_momentum(&mut self.ws[3 * d..4 * d], cfg.temperature, &mut c.rng);
            }
        }
        let (x, _, rest) = ring(self.ws, d, c.cur as usize, c.free());
        Request { x, grad: &mut rest[d..], kind: RequestKind::Stage, step: c.steps + 1, stage: 1 }
    }

    /// Hands the log density (estimate) at the requested point to the chain
    /// and makes the step. Errors: `OutOfOrder` if no step is in progress.
    pub fn tell(&mut self, logp: T) -> Result<Progress<T>, Error> {
        let (c, cfg) = (&mut self.st.core, self.st.cfg.get());
        if c.phase != PHASE_IN_STEP {
            return Err(Error::OutOfOrder);
        }
        c.grad_evals += 1;
        c.logp_sum = logp;
        let t = c.steps;
        let h = cfg.schedule.step_size(t);
        let d = c.dim as usize;
        let (x, xn, rest) = ring(self.ws, d, c.cur as usize, c.free());
        let (p, g) = rest.split_at_mut(d);
        let bad = if logp.is_finite() {
            let noise = if cfg.schedule.exploring(t) {
                T::ZERO
            } else {
                let two = T::from_f64(2.0);
                (two * cfg.friction * cfg.temperature * h - h * h * cfg.noise_estimate).max(T::ZERO).sqrt()
            };
            sg::kick_drift(x, p, g, xn, h, T::ONE - cfg.friction * h, noise, &mut c.rng)
        } else {
            T::from_f64(f64::NAN)
        };
        let info = if bad == T::ZERO {
            c.accept(h)
        } else {
            draw_momentum(p, cfg.temperature, &mut c.rng);
            c.reject(h)
        };
        Ok(Progress::Step(info))
    }
}
