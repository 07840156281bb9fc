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
    /// Always 0: without it `f32` would leave 4 bytes of padding, and an
    /// instance in C memory is a byte-for-byte checkpoint (test
    /// `instance_states_have_no_padding`).
    reserved: T,
}

impl<T: Real> MclmcAdaptState<T> {
    /// Checks a state read back from plain data (e.g. a checkpoint) against
    /// a workspace of `ws_len` values: everything [`MclmcAdapter::new`] and
    /// [`MclmcAdapter::observe`] can produce passes; garbage fails.
    fn validate(&self, ws_len: usize) -> Result<(), Error> {
        let d = usize::try_from(self.dim).map_err(|_| Error::InvalidState)?;
        if !(2..=usize::MAX / 2).contains(&d) {
            return Err(Error::InvalidState);
        }
        if ws_len != MclmcAdapter::<T>::workspace_len(d) {
            return Err(Error::BufferLength);
        }
        let (n12, planned) = match self.n1.checked_add(self.n2).and_then(|a| Some((a, a.checked_add(self.n_rescale)?))) {
            Some(v) => v,
            None => return Err(Error::InvalidState),
        };
        let t = self.t;
        let phase_ok = match self.phase {
            0 => t < self.n1,
            1 => self.n1 <= t && t < n12,
            2 => self.precond == 1 && n12 <= t && t < planned,
            3 => t <= planned,
            _ => false,
        };
        // The running sums may legitimately reach +inf or NaN (a step size so
        // small that ε⁶ underflows): the update then leaves ε alone, so only
        // negative values, which no update produces, are refused.
        let not_negative = |v: T| v.partial_cmp(&T::ZERO) != Some(core::cmp::Ordering::Less);
        let pos_finite = |v: T| v > T::ZERO && v.is_finite();
        let ok = phase_ok
            && self.precond <= 1
            && (self.precond == 1 || self.n_rescale == 0)
            && not_negative(self.w)
            && not_negative(self.f)
            && self.eps_max > T::ZERO
            && self.weight_total >= T::ZERO
            && self.decay >= T::ZERO
            && self.decay <= T::ONE
            && pos_finite(self.desired_energy_var)
            && pos_finite(self.trust)
            && self.reserved == T::ZERO;
        if ok {
            Ok(())
        } else {
            Err(Error::InvalidState)
        }
    }
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
                phase: if n1.saturating_add(n2) == 0 {
                    3
                } else if n1 == 0 {
                    1
                } else {
                    0
                },
                precond: cfg.diagonal_preconditioning as u32,
                w: T::ZERO,
                f: T::ZERO,
                eps_max: T::INFINITY,
                decay: (ne - T::ONE) / (ne + T::ONE),
                weight_total: T::ZERO,
                desired_energy_var: cfg.desired_energy_var,
                trust: cfg.trust_in_estimate,
                reserved: T::ZERO,
            },
            ws: workspace,
        })
    }

    /// Rebuilds an adapter from its parts (a state from [`state`](Self::state)
    /// or [`into_parts`](Self::into_parts) and the workspace it was used
    /// with), checking that the plain-data state is consistent. Errors:
    /// `BufferLength` (workspace length is not `2d`), `InvalidState`.
    pub fn from_parts(state: MclmcAdaptState<T>, workspace: &'a mut [T]) -> Result<Self, Error> {
        state.validate(workspace.len())?;
        Ok(MclmcAdapter { st: state, ws: workspace })
    }

    /// Splits the adapter into its state and workspace.
    pub fn into_parts(self) -> (MclmcAdaptState<T>, &'a mut [T]) {
        (self.st, self.ws)
    }

    /// Dimension d of the chains it tunes.
    pub fn dim(&self) -> usize {
        self.st.dim as usize
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
        self.st.n1.saturating_add(self.st.n2).saturating_add(self.st.n_rescale)
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
        let mut cfg = chain.config();
        // Refuse a chain in the middle of a step before touching any sum, so
        // a failed call leaves the adapter unchanged.
        chain.set_config(cfg)?;
        let d = self.st.dim as usize;
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
        if st.phase == 1 && st.t >= st.n1.saturating_add(st.n2) {
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
        if st.phase == 2 && st.t >= st.n1.saturating_add(st.n2).saturating_add(st.n_rescale) {
            st.phase = 3;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use crate::samplers::MclmcConfig;
    use crate::targets::DiagGaussian;
    use std::vec;

    #[test]
    fn from_parts_round_trips_and_refuses_bad_state() {
        let d = 3;
        let sigma = [1.0f64, 2.0, 0.5];
        let mut target = DiagGaussian { sigma: &sigma };
        let mut cws = vec![0.0f64; Mclmc::<f64>::workspace_len(d)];
        let mut chain = Mclmc::new(MclmcConfig::for_dim(d), &[0.1; 3], &mut cws, 1, 0).unwrap();
        let mut aws = vec![0.0f64; MclmcAdapter::<f64>::workspace_len(d)];
        let mut ad = MclmcAdapter::new(MclmcAdaptConfig::new(60), d, &mut aws).unwrap();
        assert_eq!(ad.dim(), d);
        // Every state along a run (each phase, Done included) rebuilds, and
        // the rebuilt adapter continues identically.
        let mut seen = [false; 4];
        while ad.phase() != AdaptPhase::Done {
            let info = chain.step_with(&mut target).unwrap();
            ad.observe(&mut chain, &info).unwrap();
            let (st, ws) = ad.into_parts();
            seen[st.phase as usize] = true;
            ad = MclmcAdapter::from_parts(st, ws).unwrap();
            assert_eq!(ad.state(), st);
        }
        assert_eq!(seen, [true, true, true, true]);
        assert_eq!(ad.state().t, ad.planned_steps());
        let good = ad.state();

        let mut short = vec![0.0f64; 2 * d - 1];
        assert_eq!(MclmcAdapter::from_parts(good, &mut short).err(), Some(Error::BufferLength));
        let bad: [fn(&mut MclmcAdaptState<f64>); 16] = [
            |s| s.dim = 1,
            |s| s.dim = u64::MAX,
            |s| s.phase = 4,
            |s| s.precond = 2,
            |s| s.n1 = u64::MAX,
            |s| s.n_rescale = u64::MAX,
            |s| s.t = s.n1 + s.n2 + s.n_rescale + 1,
            |s| (s.phase, s.t) = (0, s.n1),
            |s| (s.phase, s.t) = (1, s.n1 + s.n2),
            |s| (s.phase, s.precond) = (2, 0),
            |s| s.w = -1.0,
            |s| s.eps_max = f64::NAN,
            |s| s.weight_total = f64::NAN,
            |s| s.decay = 1.5,
            |s| s.desired_energy_var = f64::INFINITY,
            |s| s.trust = 0.0,
        ];
        for (i, corrupt) in bad.iter().enumerate() {
            let mut st = good;
            corrupt(&mut st);
            let err = MclmcAdapter::from_parts(st, &mut aws).err();
            let want = if i == 1 { [Error::InvalidState, Error::BufferLength] } else { [Error::InvalidState; 2] };
            assert!(err.is_some() && want.contains(&err.unwrap()), "case {i}: {err:?}");
        }
        // Reachable oddities are accepted: an infinite or NaN running sum.
        let mut st = good;
        st.f = f64::INFINITY;
        st.w = f64::NAN;
        assert!(MclmcAdapter::from_parts(st, &mut aws).is_ok());
        // A fresh adapter of each kind rebuilds (phase 0, 1 and 3 at t = 0).
        for (n, f1) in [(100u64, 0.1), (100, 0.0), (0, 0.1)] {
            let cfg = MclmcAdaptConfig { frac_tune1: f1, ..MclmcAdaptConfig::new(n) };
            let st = MclmcAdapter::new(cfg, d, &mut aws).unwrap().state();
            assert!(MclmcAdapter::from_parts(st, &mut aws).is_ok());
        }
    }
}
