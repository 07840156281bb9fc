//! MCLMC auto-tuning of the step size ε, the decoherence length L and the
//! diagonal preconditioner (ALGORITHMS.md §1.8, phases 1–2, BlackJAX 1.7.1
//! semantics).
//!
//! Decision (spec §1.12, versions disagree): phase lengths use 1.7.1's
//! `round(N·f)`, the phase-2 moments 1.7.1's `mask·success·ε` weights. Phase
//! 3 (L from the effective sample size of an `n₃ × d` sample matrix) is not
//! implemented: it needs memory proportional to `n₃·d`; L comes from the
//! phase-2 posterior scale `sqrt(Σ var)` (or `√d` after diagonal
//! preconditioning), which is what BlackJAX uses when phase 3 is off.
//!
//! Driving it: run the chain step by step as usual (ask/tell or `step_with`)
//! and pass every finished step's info to [`MclmcAdapter::observe`], which
//! updates the chain's settings in place until it reports `Done`.

use crate::error::Error;
use crate::real::Real;
use crate::samplers::{Divergence, Mclmc, StepInfo};

/// Settings of the adaptation (BlackJAX defaults).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MclmcAdaptConfig<T> {
    /// Planned number of sampling steps N; the phases are fractions of it.
    pub num_steps: u64,
    /// Phase 1 fraction (step size only). Default 0.1.
    pub frac_tune1: T,
    /// Phase 2 fraction (step size + posterior moments). Default 0.1.
    pub frac_tune2: T,
    /// Target `Var[ΔE]/d`. Default 5e-4.
    pub desired_energy_var: T,
    /// Width of the weight in `ln ξ`. Default 1.5.
    pub trust_in_estimate: T,
    /// Memory of the step-size averages. Default 150.
    pub num_effective_samples: T,
    /// Set `s = sqrt(var)` at the end of phase 2 and re-adapt ε. Default true.
    pub diagonal_preconditioning: bool,
}

impl<T: Real> MclmcAdaptConfig<T> {
    /// BlackJAX's defaults for a run of `num_steps` steps.
    pub fn new(num_steps: u64) -> Self {
        MclmcAdaptConfig {
            num_steps,
            frac_tune1: T::from_f64(0.1),
            frac_tune2: T::from_f64(0.1),
            desired_energy_var: T::from_f64(5e-4),
            trust_in_estimate: T::from_f64(1.5),
            num_effective_samples: T::from_f64(150.0),
            diagonal_preconditioning: true,
        }
    }

    fn validate(&self) -> Result<(), Error> {
        let frac = |f: T| f >= T::ZERO && f <= T::ONE;
        let pos = |v: T| v > T::ZERO && v.is_finite();
        if frac(self.frac_tune1)
            && frac(self.frac_tune2)
            && pos(self.desired_energy_var)
            && pos(self.trust_in_estimate)
            && self.num_effective_samples > T::ONE
            && self.num_effective_samples.is_finite()
        {
            Ok(())
        } else {
            Err(Error::InvalidSetting)
        }
    }
}

/// Where the adaptation is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AdaptPhase {
    /// Step size only.
    StepSize,
    /// Step size and posterior moments.
    Moments,
    /// Step size again, after the preconditioner changed.
    Rescale,
    /// Finished: the chain holds the tuned ε, L and preconditioner.
    Done,
}

/// Plain-data state of the adaptation.
#[derive(Clone, Copy, Debug, PartialEq)]
#[repr(C)]
pub struct MclmcAdaptState<T> {
    dim: u64,
    n1: u64,
    n2: u64,
    n_rescale: u64,
    /// Steps observed so far.
    t: u64,
    /// 0 step size, 1 moments, 2 rescale, 3 done.
    phase: u32,
    precond: u32,
    w: T,
    f: T,
    eps_max: T,
    decay: T,
    weight_total: T,
    desired_energy_var: T,
    trust: T,
}

/// The adapter: its state plus a `2d` workspace for the weighted moments.
#[derive(Debug)]
pub struct MclmcAdapter<'a, T: Real> {
    st: MclmcAdaptState<T>,
    ws: &'a mut [T],
}

impl<'a, T: Real> MclmcAdapter<'a, T> {
    /// Workspace length for dimension `d`: `2d` (running mean of x and x²).
    pub const fn workspace_len(d: usize) -> usize {
        2 * d
    }

    /// An adapter for chains of dimension `d`. Errors: `DimensionTooSmall`,
    /// `BufferLength`, `InvalidSetting`.
    pub fn new(cfg: MclmcAdaptConfig<T>, d: usize, workspace: &'a mut [T]) -> Result<Self, Error> {
        if d < 2 {
            return Err(Error::DimensionTooSmall);
        }
        if workspace.len() != Self::workspace_len(d) {
            return Err(Error::BufferLength);
        }
        cfg.validate()?;
        let n = cfg.num_steps as f64;
        let round = |f: T| libm::round(n * f.to_f64()) as u64;
        let n1 = round(cfg.frac_tune1);
        let n2 = round(cfg.frac_tune2);
        let n_rescale = if cfg.diagonal_preconditioning { libm::round(n2 as f64 / 3.0) as u64 } else { 0 };
        workspace.fill(T::ZERO);
        let ne = cfg.num_effective_samples;
        Ok(MclmcAdapter {
            st: MclmcAdaptState {
                dim: d as u64,
                n1,
                n2,
                n_rescale,
                t: 0,
                phase: if n1 + n2 == 0 { 3 } else if n1 == 0 { 1 } else { 0 },
                precond: cfg.diagonal_preconditioning as u32,
                w: T::ZERO,
                f: T::ZERO,
                eps_max: T::INFINITY,
                decay: (ne - T::ONE) / (ne + T::ONE),
                weight_total: T::ZERO,
                desired_energy_var: cfg.desired_energy_var,
                trust: cfg.trust_in_estimate,
            },
            ws: workspace,
        })
    }

    /// The current phase.
    pub fn phase(&self) -> AdaptPhase {
        match self.st.phase {
            0 => AdaptPhase::StepSize,
            1 => AdaptPhase::Moments,
            2 => AdaptPhase::Rescale,
            _ => AdaptPhase::Done,
        }
    }

    /// Total adaptation steps planned (`n₁ + n₂ + round(n₂/3)`).
    pub fn planned_steps(&self) -> u64 {
        self.st.n1 + self.st.n2 + self.st.n_rescale
    }

    /// The plain-data state (with the workspace, a checkpoint).
    pub fn state(&self) -> MclmcAdaptState<T> {
        self.st
    }

    /// Feeds one finished step of `chain` (its info as returned by the
    /// chain) and updates the chain's ε (and at the end of phase 2, L and the
    /// preconditioner). Returns the phase after this step. Errors:
    /// `BufferLength` (chain of another dimension), `OutOfOrder` (chain in
    /// the middle of a step).
    pub fn observe(&mut self, chain: &mut Mclmc<'_, T>, info: &StepInfo<T>) -> Result<AdaptPhase, Error> {
        if chain.dim() as u64 != self.st.dim {
            return Err(Error::BufferLength);
        }
        if self.st.phase >= 3 {
            return Ok(AdaptPhase::Done);
        }
        let d = self.st.dim as usize;
        let mut cfg = chain.config();
        let eps = cfg.step_size;
        // §1.8.5: a non-finite step caps ε at 0.8 of its value and counts as ΔE = 0.
        let nan = info.divergence == Divergence::NonFinite;
        let de = if nan {
            self.st.eps_max = T::from_f64(0.8) * eps;
            T::ZERO
        } else {
            info.energy_change
        };
        let xi = de * de / (T::from_usize(d) * self.st.desired_energy_var) + T::from_f64(1e-8);
        let z = xi.ln() / (T::from_f64(6.0) * self.st.trust);
        let w = (T::from_f64(-0.5) * z * z).exp();
        let e6 = eps * eps * eps;
        let e6 = e6 * e6;
        self.st.f = self.st.decay * self.st.f + w * xi / e6;
        self.st.w = self.st.decay * self.st.w + w;
        let mut new_eps = (self.st.f / self.st.w).powf(T::from_f64(-1.0 / 6.0));
        if !(new_eps < self.st.eps_max) {
            // Also catches NaN; `==` picks the cap (BlackJAX's expression would give 0).
            new_eps = self.st.eps_max;
        }
        if new_eps.is_finite() && new_eps > T::ZERO {
            cfg.step_size = new_eps;
        }
        self.st.t += 1;
        if self.st.phase == 1 && !nan {
            self.accumulate(chain.position(), cfg.step_size);
        }
        chain.set_config(cfg)?;
        self.advance_phase(chain)?;
        Ok(self.phase())
    }

    fn accumulate(&mut self, x: &[T], weight: T) {
        let d = self.st.dim as usize;
        let total = self.st.weight_total + weight;
        if !(total > T::ZERO) {
            return;
        }
        let a = weight / total;
        let (m1, m2) = self.ws.split_at_mut(d);
        for ((m, q), &v) in m1.iter_mut().zip(m2.iter_mut()).zip(x) {
            *m += a * (v - *m);
            *q += a * (v * v - *q);
        }
        self.st.weight_total = total;
    }

    fn advance_phase(&mut self, chain: &mut Mclmc<'_, T>) -> Result<(), Error> {
        let st = &mut self.st;
        if st.phase == 0 && st.t >= st.n1 {
            st.phase = if st.n2 > 0 { 1 } else { 3 };
        }
        if st.phase == 1 && st.t >= st.n1 + st.n2 {
            let d = st.dim as usize;
            let (m1, m2) = self.ws.split_at_mut(d);
            // var = E[x²] − E[x]², stored in place of E[x²].
            let mut total = T::ZERO;
            let mut ok = st.weight_total > T::ZERO;
            for (q, &m) in m2.iter_mut().zip(m1.iter()) {
                *q = (*q - m * m).max(T::ZERO);
                total += *q;
                ok &= *q > T::ZERO && q.is_finite();
            }
            let mut cfg = chain.config();
            if ok {
                if st.precond == 1 {
                    for q in m2.iter_mut() {
                        *q = q.sqrt();
                    }
                    chain.set_preconditioner(Some(m2))?;
                    cfg.decoherence_length = T::from_usize(d).sqrt();
                    st.w = T::ZERO;
                    st.f = T::ZERO;
                    st.eps_max = T::INFINITY;
                } else {
                    cfg.decoherence_length = total.sqrt();
                }
                chain.set_config(cfg)?;
            }
            st.phase = if st.precond == 1 && ok && st.n_rescale > 0 { 2 } else { 3 };
        }
        if st.phase == 2 && st.t >= st.n1 + st.n2 + st.n_rescale {
            st.phase = 3;
        }
        Ok(())
    }
}
