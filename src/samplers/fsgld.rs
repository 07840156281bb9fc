//! Flatness-aware SGLD (fSGLD; Bruno, Hwang, An, Sabanis & Lim, arXiv
//! 2510.02174; ALGORITHMS.md §4.2). Conventions (gradient, h, T, N/n,
//! divergences): see [`crate::samplers::sgld`].
//!
//! Per step, from the current position x, with M perturbations:
//!
//! ```text
//! for m in 1..=M:  ask for ĝ_m = ĝ(x + σ ζ_m),  ζ_m ~ N(0, I)   (x itself is not moved)
//! x ← x + h (1/M) Σ_m ĝ_m + sqrt(2 T h) ξ,        ξ ~ N(0, I)
//! ```
//!
//! The requests name the perturbed points `x + σ ζ_m`; all M of a step carry
//! the same [`Request::step`] (one mini-batch per step, as in the authors'
//! code). Since `E_ζ[∇log p(x + σζ)] = ∇ E_ζ[log p(x + σζ)]`, fSGLD is SGLD on
//! the Gaussian-smoothed log density, `log p + (σ²/2) Δlog p + O(σ⁴)`: it
//! samples approximately `∝ exp((log p_σ)/T)`, which penalises sharp modes
//! (large Hessian trace) relative to flat ones.
//!
//! σ is either given directly or coupled to the inverse temperature as in
//! the paper, `σ = β^(−(1+η)/4)` with `η = 0.01` by default
//! ([`coupled_sigma`], [`FsgldConfig::coupled`]). The paper's β multiplies
//! the *mean* per-datum loss; in smile's convention (ĝ estimates the summed
//! log posterior, temperature T) that β is `N/T`, N the number of data.
//! The authors' weight decay belongs to the caller's prior term in ĝ.
//!
//! Memory: [`Fsgld::workspace_len`]`(d) = 5d` values,
//! `[x₀ | x₁ | x₂ | g | g₂]`. The perturbed point lives in the free ring slot,
//! which the update then overwrites with the new position; `g` accumulates
//! the M gradients (the caller writes the second and later ones into `g₂`,
//! added to `g` on `tell`). A non-finite value told at any perturbation ends
//! the step at once as a divergence (no further evaluations).

use crate::error::Error;
use crate::real::Real;
use crate::samplers::request::{LogDensity, Progress, Request, RequestKind, StepInfo};
use crate::samplers::schedule::{Schedule, StoredSchedule};
use crate::samplers::sg::{self, check_start, check_temperature, noise_scale, ring, sg_common_api, sg_state_api, SgCore, PHASE_IDLE, PHASE_IN_STEP};
use crate::simd::axpy;

/// Largest number of perturbations per step accepted.
pub const MAX_PERTURBATIONS: u32 = 1 << 16;

/// The paper's β–σ coupling `σ = β^(−(1+η)/4)` (β > 0; `β = +∞` gives 0).
pub fn coupled_sigma<T: Real>(beta: T, eta: T) -> T {
    T::from_f64(libm::pow(beta.to_f64(), -(1.0 + eta.to_f64()) / 4.0))
}

/// Settings of an fSGLD chain.
#[derive(Clone, Copy, Debug, PartialEq)]
#[repr(C)]
pub struct FsgldConfig<T> {
    /// Step size h as a function of the step index.
    pub schedule: Schedule<T>,
    /// Temperature T (finite, ≥ 0).
    pub temperature: T,
    /// Perturbation scale σ (finite, ≥ 0; 0 is plain SGLD).
    pub sigma: T,
    /// Perturbations M averaged per step (1 ..= [`MAX_PERTURBATIONS`]; default 1).
    pub n_perturbations: u32,
}

impl<T: Real> FsgldConfig<T> {
    /// Constant step size `h`, perturbation scale `sigma`, temperature 1, M = 1.
    pub fn constant(h: T, sigma: T) -> Self {
        FsgldConfig { schedule: Schedule::constant(h), temperature: T::ONE, sigma, n_perturbations: 1 }
    }

    /// σ coupled to the temperature as in the paper: `σ = (N/T)^(−(1+η)/4)`
    /// for `n_data` = N data (see the module docs; `eta` = 0.01 is the
    /// paper's default). M = 1.
    pub fn coupled(schedule: Schedule<T>, temperature: T, n_data: T, eta: T) -> Self {
        FsgldConfig { schedule, temperature, sigma: coupled_sigma(n_data / temperature, eta), n_perturbations: 1 }
    }

    /// Checks every field. Errors: those of [`Schedule::validate`],
    /// `InvalidSetting` (temperature, σ, M).
    pub fn validate(&self) -> Result<(), Error> {
        self.schedule.validate()?;
        check_temperature(self.temperature)?;
        if !(self.sigma >= T::ZERO && self.sigma.is_finite() && self.n_perturbations >= 1 && self.n_perturbations <= MAX_PERTURBATIONS) {
            return Err(Error::InvalidSetting);
        }
        Ok(())
    }
}

/// All scalar state of an fSGLD chain: plain data, `#[repr(C)]`.
#[derive(Clone, Copy, Debug, PartialEq)]
#[repr(C)]
pub struct FsgldState<T> {
    core: SgCore<T>,
    cfg: Stored<T>,
}

/// [`FsgldConfig`] as the state stores it, without padding ([`StoredSchedule`]).
#[derive(Clone, Copy, Debug, PartialEq)]
#[repr(C)]
struct Stored<T> {
    schedule: StoredSchedule<T>,
    temperature: T,
    sigma: T,
    n_perturbations: u32,
    reserved32: u32,
}

impl<T: Real> Stored<T> {
    fn of(c: &FsgldConfig<T>) -> Self {
        Stored { schedule: StoredSchedule::of(&c.schedule), temperature: c.temperature, sigma: c.sigma, n_perturbations: c.n_perturbations, reserved32: 0 }
    }

    #[inline]
    fn get(&self) -> FsgldConfig<T> {
        FsgldConfig { schedule: self.schedule.get(), temperature: self.temperature, sigma: self.sigma, n_perturbations: self.n_perturbations }
    }

    fn reserved_clear(&self) -> bool {
        self.schedule.reserved_clear() && self.reserved32 == 0
    }
}

impl<T: Real> FsgldState<T> {
    sg_state_api!();

    /// Current settings.
    pub fn config(&self) -> FsgldConfig<T> {
        self.cfg.get()
    }

    fn validate(&self, ws_len: usize) -> Result<(), Error> {
        if !self.cfg.reserved_clear() {
            return Err(Error::InvalidState);
        }
        self.cfg.get().validate().map_err(|_| Error::InvalidState)?;
        self.core.validate(self.cfg.n_perturbations)?;
        if ws_len != Fsgld::<T>::workspace_len(self.core.dim as usize) {
            return Err(Error::BufferLength);
        }
        Ok(())
    }
}

/// An fSGLD chain over a caller-provided workspace.
#[derive(Debug)]
pub struct Fsgld<'a, T: Real> {
    st: FsgldState<T>,
    ws: &'a mut [T],
}

impl<'a, T: Real> Fsgld<'a, T> {
    /// Number of `T` values the workspace must hold for dimension `d`: `5d`.
    pub const fn workspace_len(d: usize) -> usize {
        d.saturating_mul(5)
    }

    /// A chain starting at `x0` (see [`Sgld::new`](crate::samplers::sgld::Sgld::new)).
    /// Errors: `DimensionTooSmall` (d = 0), `BufferLength` (workspace is not
    /// `5d`), the errors of [`FsgldConfig::validate`], `InvalidValue`.
    pub fn new(cfg: FsgldConfig<T>, x0: &[T], workspace: &'a mut [T], seed: u64, stream: u64) -> Result<Self, Error> {
        check_start(x0, workspace.len(), Self::workspace_len(x0.len()))?;
        cfg.validate()?;
        let d = x0.len();
        workspace.fill(T::ZERO);
        workspace[..d].copy_from_slice(x0);
        Ok(Fsgld { st: FsgldState { core: SgCore::new(d, seed, stream), cfg: Stored::of(&cfg) }, ws: workspace })
    }

    /// Rebuilds a chain from a checkpoint (a step in progress included).
    /// Errors: `BufferLength`, `InvalidState`.
    pub fn from_parts(state: FsgldState<T>, workspace: &'a mut [T]) -> Result<Self, Error> {
        state.validate(workspace.len())?;
        Ok(Fsgld { st: state, ws: workspace })
    }

    sg_common_api!(FsgldState);

    /// Current settings.
    pub fn config(&self) -> FsgldConfig<T> {
        self.st.cfg.get()
    }

    /// Changes the settings between steps. Errors: `OutOfOrder` inside a
    /// step, the errors of [`FsgldConfig::validate`].
    pub fn set_config(&mut self, cfg: FsgldConfig<T>) -> Result<(), Error> {
        if self.st.core.phase == PHASE_IN_STEP {
            return Err(Error::OutOfOrder);
        }
        cfg.validate()?;
        self.st.cfg = Stored::of(&cfg);
        Ok(())
    }

    /// The next evaluation: the gradient at a perturbed point `x + σζ`
    /// (`stage` m of M). Asking again before `tell` returns the same request.
    pub fn ask(&mut self) -> Request<'_, T> {
        let (c, cfg) = (&mut self.st.core, self.st.cfg.get());
        let d = c.dim as usize;
        let (x, xp, rest) = ring(self.ws, d, c.cur as usize, c.free());
        if c.phase == PHASE_IDLE {
            c.phase = PHASE_IN_STEP;
            c.stage = 1;
            c.logp_sum = T::ZERO;
            sg::perturb(x, xp, cfg.sigma, &mut c.rng);
        }
        let (g, g2) = rest.split_at_mut(d);
        let grad = if c.stage == 1 { g } else { g2 };
        Request { x: xp, grad, kind: RequestKind::Stage, step: c.steps + 1, stage: c.stage }
    }

    /// Hands the log density (estimate) at the requested point to the
    /// chain. Returns `NeedEval` until the M-th perturbation, then makes the
    /// step. Errors: `OutOfOrder` if no evaluation is pending.
    pub fn tell(&mut self, logp: T) -> Result<Progress<T>, Error> {
        let (c, cfg) = (&mut self.st.core, self.st.cfg.get());
        if c.phase != PHASE_IN_STEP {
            return Err(Error::OutOfOrder);
        }
        c.grad_evals += 1;
        c.logp_sum += logp;
        let t = c.steps;
        let h = cfg.schedule.step_size(t);
        if !logp.is_finite() {
            return Ok(Progress::Step(c.reject(h)));
        }
        let d = c.dim as usize;
        let (x, xp, rest) = ring(self.ws, d, c.cur as usize, c.free());
        let (g, g2) = rest.split_at_mut(d);
        if c.stage >= 2 {
            axpy(T::ONE, g2, g);
        }
        if c.stage < cfg.n_perturbations {
            c.stage += 1;
            sg::perturb(x, xp, cfg.sigma, &mut c.rng);
            return Ok(Progress::NeedEval);
        }
        let mean = h / T::from_usize(cfg.n_perturbations as usize);
        let noise = noise_scale(cfg.temperature, h, cfg.schedule.exploring(t));
        let bad = sg::langevin(x, g, xp, mean, noise, &mut c.rng);
        let info = if bad == T::ZERO { c.accept(h) } else { c.reject(h) };
        Ok(Progress::Step(info))
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::vec;

    #[test]
    fn stage_beyond_the_perturbation_count_is_refused() {
        let mut ws = vec![0.0f32; 10];
        let cfg = FsgldConfig { n_perturbations: 2, ..FsgldConfig::constant(0.1, 0.1) };
        let mut c = Fsgld::new(cfg, &[1.0, 2.0], &mut ws, 0, 0).unwrap();
        let _ = c.ask();
        let (st, ws) = c.into_parts();
        let mut s = st;
        s.core.stage = 3;
        assert_eq!(Fsgld::from_parts(s, &mut ws[..]).err(), Some(Error::InvalidState));
        let mut s = st;
        s.cfg.n_perturbations = 0;
        assert_eq!(Fsgld::from_parts(s, &mut ws[..]).err(), Some(Error::InvalidState));
        let mut s = st;
        s.core.stage = 2;
        assert!(Fsgld::from_parts(s, &mut ws[..]).is_ok());
    }
}
