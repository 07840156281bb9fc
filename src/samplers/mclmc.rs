//! Full-batch MCLMC (ALGORITHMS.md §1.5–§1.7, §1.10): an isokinetic
//! integrator step with partial momentum refresh, over caller-owned memory,
//! driven by ask/tell. The refresh is either one full-ε refresh per step fused
//! into the last momentum update ([`RefreshMode::Fused`], the default: one
//! d-vector of normals and no extra pass) or BlackJAX's two half-step
//! refreshes around the integrator ([`RefreshMode::Split`]).
//!
//! Memory: the caller provides one slice of [`Mclmc::workspace_len`]`(d)` =
//! `6d` values, laid out as `[x₀ | x₁ | g₀ | g₁ | u | s]`. Positions and
//! gradients are double-buffered: a step writes its proposal into the half
//! that is not current, so rejecting a step is a flag flip, not a copy.
//! All scalar state, the random stream included, is the plain `Copy` struct
//! [`MclmcState`]; state + workspace is a complete checkpoint.
//!
//! Guardrails: a non-finite log density, gradient, kinetic or energy change,
//! or `|ΔE|` above `max_energy_change`, rejects the step: position, log
//! density and gradient stay those of the last accepted state, a fresh
//! uniformly random momentum is drawn, the step reports `ΔE = ΔK = 0` and the
//! divergence counter grows. A NaN at stage 1 ends the step at once (no
//! further evaluations are requested). The random stream after a divergence
//! therefore differs from BlackJAX's; the distribution of the chain does not.
//!
//! Traffic per step (d-vectors streamed, one read or one write of d values
//! each; identity preconditioner). With `m` position stages:
//!
//! | pass | reads | writes | count |
//! |---|---|---|---|
//! | reduction `‖u‖², u·g, ‖g‖²` (each momentum update) | u, g | – | 2 |
//! | kick fused with the next drift (stages 1..m) | u, g, x | u, x | 5 |
//! | caller's gradient at the new x (inline benchmark target) | x | g | 2 |
//! | last kick fused with the refresh (normals made in registers) | u, g | u | 3 |
//!
//! The last kick (with the fused refresh, or without one) also sums the next
//! step's first reduction over the final `u` ([`Stepper::resume_next`]: the
//! same bits the reduction pass would give), so after an accepted step that
//! pass is skipped. Total `9m + 3` with the gradient (`7m + 3` without):
//! velocity Verlet 12, McLachlan 21; `9m + 5` for a step after a rejected
//! one or a setter call, or with [`RefreshMode::Split`], which also adds
//! a separate half-refresh pass (reads and writes u: +2). No refresh: the
//! same passes. A diagonal preconditioner adds one read per reduction and
//! kick (`2m + 1`). The benchmark floor (`benches/harness`,
//! `examples/perf_report.rs`) uses these counts.

use crate::dynamics::{partial_refresh, random_direction, refresh_scale, Integrator, KineticForm, KineticSum, StageOutcome, Stepper};
use crate::error::Error;
use crate::real::Real;
use crate::rng::Rng;
use crate::samplers::request::{Divergence, LogDensity, Progress, Request, RequestKind, StepInfo};
use crate::simd::{norm_sq, Diag, EshSums, Identity};

/// Settings of an MCLMC chain.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MclmcConfig<T> {
    /// Step size ε (finite, > 0).
    pub step_size: T,
    /// Momentum decoherence length L (> 0); `+∞` disables the partial refresh
    /// (deterministic isokinetic dynamics).
    pub decoherence_length: T,
    /// Reject steps with `|ΔE|` above this (> 0); `+∞` (the default) disables
    /// the check. BlackJAX's `sqrt(d · ratio · desired_energy_var)` is one choice.
    pub max_energy_change: T,
    pub integrator: Integrator,
}

impl<T: Real> MclmcConfig<T> {
    /// BlackJAX's untuned starting point for dimension `d`: `ε = 0.25√d`,
    /// `L = √d`, McLachlan, no energy cutoff.
    pub fn for_dim(d: usize) -> Self {
        let sd = T::from_usize(d).sqrt();
        MclmcConfig { step_size: T::from_f64(0.25) * sd, decoherence_length: sd, max_energy_change: T::INFINITY, integrator: Integrator::McLachlan }
    }

    /// Checks every field.
    pub fn validate(&self) -> Result<(), Error> {
        if !(self.step_size > T::ZERO && self.step_size.is_finite()) {
            return Err(Error::InvalidStepSize);
        }
        if !(self.decoherence_length > T::ZERO) {
            return Err(Error::InvalidDecoherenceLength);
        }
        if !(self.max_energy_change > T::ZERO) {
            return Err(Error::InvalidSetting);
        }
        Ok(())
    }
}

/// How the partial momentum refresh is split across steps.
///
/// Both leave the uniform distribution of the direction invariant and give
/// the same stationary distribution (`tests/mclmc_statistics.rs` checks the
/// moments of both); they differ only in where the noise enters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[repr(u32)]
pub enum RefreshMode {
    /// One refresh over the full step ε after each step, fused into the
    /// step's last momentum update (the original MicroCanonicalHMC form):
    /// one d-vector of normals per step. The default.
    #[default]
    Fused = 0,
    /// BlackJAX's symmetric O(ε/2)–integrator–O(ε/2): two half-step
    /// refreshes per step, two d-vectors of normals.
    Split = 1,
}

const PHASE_NEED_INIT: u32 = 0;
const PHASE_IDLE: u32 = 1;
const PHASE_IN_STEP: u32 = 2;

/// All scalar state of an MCLMC chain: plain data (integers and floats only,
/// so any bit pattern can be checked by [`Mclmc::from_parts`]).
#[derive(Clone, Copy, Debug, PartialEq)]
#[repr(C)]
pub struct MclmcState<T> {
    // Layout: 8-byte fields, then `T`, then `u32`, with reserved fields
    // so that neither `f32` nor `f64` leaves padding: an instance in C
    // memory is a byte-for-byte checkpoint, and padding would carry stack
    // garbage into it (test `instance_states_have_no_padding`).
    dim: u64,
    rng: Rng,
    steps: u64,
    grad_evals: u64,
    divergences: u64,
    step_size: T,
    decoherence_length: T,
    max_energy_change: T,
    logp: T,
    logp_new: T,
    /// `‖u‖²` of the momentum buffer, kept exact after every update: the
    /// refresh scales its noise by `‖u‖`, so a stale value would change the
    /// refresh strength (and let the norm drift).
    uu: T,
    /// Kinetic change accumulated by the step in progress ([`KineticSum`]:
    /// one logarithm per step).
    dk: KineticSum<T>,
    /// The next step's first reduction `[‖u‖², u·(s⊙g), ‖s⊙g‖²]`, valid when
    /// `has_next == 1` (only between steps): made by the last momentum pass
    /// of the step before ([`Stepper::resume_next`]) with the fused refresh
    /// or none, the same bits the reduction pass would sum. In the state so
    /// that a chain rebuilt from its parts (the C ABI rebuilds on every
    /// call) keeps it; dropped by a rejected step and by anything that
    /// changes `u`, the stored gradient, `s` or the refresh mode.
    next: [T; 3],
    /// Always 0 (layout).
    reserved: T,
    integrator: u32,
    precond: u32,
    phase: u32,
    /// Which half of the double buffers holds the accepted state (0 or 1).
    cur: u32,
    /// Position stage awaiting its gradient while `phase == IN_STEP`.
    stage: u32,
    /// [`RefreshMode`] discriminant.
    refresh: u32,
    has_next: u32,
    /// Always 0 (layout).
    reserved32: u32,
}

impl<T: Real> MclmcState<T> {
    fn take_next(&mut self) -> Option<EshSums<T>> {
        let n = (self.has_next == 1).then(|| EshSums { uu: self.next[0], ug: self.next[1], gg: self.next[2] });
        self.has_next = 0;
        n
    }

    fn set_next(&mut self, r: Option<EshSums<T>>) {
        match r {
            Some(r) => {
                self.next = [r.uu, r.ug, r.gg];
                self.has_next = 1;
            }
            None => self.has_next = 0,
        }
    }

    /// Dimension of the chain.
    pub fn dim(&self) -> usize {
        self.dim as usize
    }
    /// Steps completed.
    pub fn steps(&self) -> u64 {
        self.steps
    }
    /// Evaluations of the log density made so far.
    pub fn grad_evals(&self) -> u64 {
        self.grad_evals
    }
    /// Rejected steps so far.
    pub fn divergences(&self) -> u64 {
        self.divergences
    }
    /// Current settings.
    pub fn config(&self) -> MclmcConfig<T> {
        MclmcConfig {
            step_size: self.step_size,
            decoherence_length: self.decoherence_length,
            max_energy_change: self.max_energy_change,
            integrator: Integrator::from_u32(self.integrator).unwrap_or_default(),
        }
    }

    fn validate(&self, ws_len: usize) -> Result<(), Error> {
        let d = self.dim as usize;
        if d < 2 || self.dim > (usize::MAX / 8) as u64 {
            return Err(Error::InvalidState);
        }
        if ws_len != Mclmc::<T>::workspace_len(d) {
            return Err(Error::BufferLength);
        }
        self.config().validate().map_err(|_| Error::InvalidState)?;
        let ok = Integrator::from_u32(self.integrator).is_some()
            && self.divergences <= self.steps
            && self.precond <= 1
            && self.phase <= PHASE_IN_STEP
            && self.cur <= 1
            && self.refresh <= 1
            && self.has_next <= 1
            && (self.has_next == 0 || self.phase == PHASE_IDLE)
            && self.reserved == T::ZERO
            && self.reserved32 == 0
            && (self.phase != PHASE_IN_STEP || (self.stage >= 1 && self.stage <= Integrator::from_u32(self.integrator).map_or(0, |i| i.grads_per_step())));
        if ok {
            Ok(())
        } else {
            Err(Error::InvalidState)
        }
    }
}

/// An MCLMC chain over a caller-provided workspace.
#[derive(Debug)]
pub struct Mclmc<'a, T: Real> {
    st: MclmcState<T>,
    ws: &'a mut [T],
}

struct Parts<'b, T> {
    x_cur: &'b mut [T],
    x_new: &'b mut [T],
    g_cur: &'b mut [T],
    g_new: &'b mut [T],
    u: &'b mut [T],
    s: &'b mut [T],
}

impl<'a, T: Real> Mclmc<'a, T> {
    /// Number of `T` values the workspace must hold for dimension `d`: `6d`.
    pub const fn workspace_len(d: usize) -> usize {
        6 * d
    }

    /// A chain in dimension `x0.len()` starting at `x0`, with settings `cfg`
    /// and random stream `Rng::new(seed, stream)`; the momentum starts as a
    /// random direction and the preconditioner as the identity. The first
    /// `ask()` requests the log density at `x0`.
    ///
    /// Errors: `DimensionTooSmall` (d < 2), `BufferLength` (workspace is not
    /// `6d`), the errors of [`MclmcConfig::validate`], `InvalidValue` (x0 not finite).
    pub fn new(cfg: MclmcConfig<T>, x0: &[T], workspace: &'a mut [T], seed: u64, stream: u64) -> Result<Self, Error> {
        let d = x0.len();
        if d < 2 {
            return Err(Error::DimensionTooSmall);
        }
        if workspace.len() != Self::workspace_len(d) {
            return Err(Error::BufferLength);
        }
        cfg.validate()?;
        if !x0.iter().all(|v| v.is_finite()) {
            return Err(Error::InvalidValue);
        }
        let mut st = MclmcState {
            dim: d as u64,
            step_size: cfg.step_size,
            decoherence_length: cfg.decoherence_length,
            max_energy_change: cfg.max_energy_change,
            precond: 0,
            phase: PHASE_NEED_INIT,
            cur: 0,
            stage: 0,
            refresh: RefreshMode::default() as u32,
            rng: Rng::new(seed, stream),
            logp: T::ZERO,
            logp_new: T::ZERO,
            uu: T::ZERO,
            dk: KineticSum::zero(),
            steps: 0,
            grad_evals: 0,
            divergences: 0,
            next: [T::ZERO; 3],
            reserved: T::ZERO,
            integrator: cfg.integrator as u32,
            has_next: 0,
            reserved32: 0,
        };
        workspace.fill(T::ZERO);
        workspace[..d].copy_from_slice(x0);
        workspace[5 * d..].fill(T::ONE);
        st.uu = random_direction(&mut workspace[4 * d..5 * d], &mut st.rng);
        Ok(Mclmc { st, ws: workspace })
    }

    /// Rebuilds a chain from a checkpoint: a state and a workspace holding
    /// the values they had together. Errors: `BufferLength`, `InvalidState`.
    pub fn from_parts(state: MclmcState<T>, workspace: &'a mut [T]) -> Result<Self, Error> {
        state.validate(workspace.len())?;
        Ok(Mclmc { st: state, ws: workspace })
    }

    /// The scalar state (copy it, together with the workspace, to checkpoint).
    pub fn state(&self) -> MclmcState<T> {
        self.st
    }

    /// Splits the chain into its state and workspace.
    pub fn into_parts(self) -> (MclmcState<T>, &'a mut [T]) {
        (self.st, self.ws)
    }

    /// Dimension d.
    pub fn dim(&self) -> usize {
        self.st.dim as usize
    }

    fn parts(&mut self) -> Parts<'_, T> {
        split(self.ws, self.st.dim as usize, self.st.cur)
    }

    fn cur_range(&self) -> core::ops::Range<usize> {
        let d = self.st.dim as usize;
        let o = self.st.cur as usize * d;
        o..o + d
    }

    /// Position of the last accepted state.
    pub fn position(&self) -> &[T] {
        &self.ws[self.cur_range()]
    }

    /// Gradient of `log p` at [`position`](Self::position) (valid once initialised).
    pub fn gradient(&self) -> &[T] {
        let r = self.cur_range();
        let d = self.st.dim as usize;
        &self.ws[2 * d + r.start..2 * d + r.end]
    }

    /// `log p` at [`position`](Self::position) (valid once initialised).
    pub fn logdensity(&self) -> T {
        self.st.logp
    }

    /// Writes the unit momentum into `out` (length d). Errors: `BufferLength`.
    pub fn momentum(&self, out: &mut [T]) -> Result<(), Error> {
        let d = self.st.dim as usize;
        if out.len() != d {
            return Err(Error::BufferLength);
        }
        let u = &self.ws[4 * d..5 * d];
        let inv = if self.st.uu > T::ZERO { T::ONE / self.st.uu.sqrt() } else { T::ZERO };
        for (o, v) in out.iter_mut().zip(u) {
            *o = *v * inv;
        }
        Ok(())
    }

    /// The diagonal preconditioner `s` (all ones unless set).
    pub fn preconditioner(&self) -> &[T] {
        let d = self.st.dim as usize;
        &self.ws[5 * d..]
    }

    /// Current settings.
    pub fn config(&self) -> MclmcConfig<T> {
        self.st.config()
    }

    fn idle_or_uninit(&self) -> Result<(), Error> {
        if self.st.phase == PHASE_IN_STEP {
            Err(Error::OutOfOrder)
        } else {
            Ok(())
        }
    }

    /// Changes the settings between steps. Errors: `OutOfOrder` inside a
    /// step, the errors of [`MclmcConfig::validate`].
    pub fn set_config(&mut self, cfg: MclmcConfig<T>) -> Result<(), Error> {
        // The cached reduction stays: it depends on u, g and s, not on the
        // settings (the MCLMC tuner changes ε every step).
        self.idle_or_uninit()?;
        cfg.validate()?;
        self.st.step_size = cfg.step_size;
        self.st.decoherence_length = cfg.decoherence_length;
        self.st.max_energy_change = cfg.max_energy_change;
        self.st.integrator = cfg.integrator as u32;
        Ok(())
    }

    /// Chooses how the refresh is split ([`RefreshMode`]). Errors: `OutOfOrder` inside a step.
    pub fn set_refresh_mode(&mut self, mode: RefreshMode) -> Result<(), Error> {
        self.idle_or_uninit()?;
        self.st.refresh = mode as u32;
        self.st.has_next = 0;
        Ok(())
    }

    /// The current [`RefreshMode`].
    pub fn refresh_mode(&self) -> RefreshMode {
        if self.st.refresh == RefreshMode::Split as u32 {
            RefreshMode::Split
        } else {
            RefreshMode::Fused
        }
    }

    /// Sets the momentum direction (normalised internally). Errors:
    /// `BufferLength`, `InvalidValue` (non-finite or zero), `OutOfOrder`.
    pub fn set_momentum(&mut self, u: &[T]) -> Result<(), Error> {
        self.idle_or_uninit()?;
        let d = self.st.dim as usize;
        if u.len() != d {
            return Err(Error::BufferLength);
        }
        let uu = norm_sq(u);
        if !(uu.is_finite() && uu > T::ZERO) {
            return Err(Error::InvalidValue);
        }
        self.ws[4 * d..5 * d].copy_from_slice(u);
        self.st.uu = uu;
        self.st.has_next = 0;
        Ok(())
    }

    /// Sets the diagonal preconditioner `s` (velocity `s⊙u`, gradient seen by
    /// the momentum update `s⊙g`; `s` = posterior standard deviations is the
    /// usual choice), or removes it with `None`. Errors: `BufferLength`,
    /// `InvalidValue` (an entry not finite and positive), `OutOfOrder`.
    pub fn set_preconditioner(&mut self, s: Option<&[T]>) -> Result<(), Error> {
        self.idle_or_uninit()?;
        let d = self.st.dim as usize;
        match s {
            None => {
                self.ws[5 * d..].fill(T::ONE);
                self.st.precond = 0;
            }
            Some(s) => {
                if s.len() != d {
                    return Err(Error::BufferLength);
                }
                if !s.iter().all(|v| v.is_finite() && *v > T::ZERO) {
                    return Err(Error::InvalidValue);
                }
                self.ws[5 * d..].copy_from_slice(s);
                self.st.precond = 1;
            }
        }
        self.st.has_next = 0;
        Ok(())
    }

    /// Moves the chain to `x` (e.g. a new start); the log density there will
    /// be requested again. Errors: `BufferLength`, `InvalidValue`, `OutOfOrder`.
    pub fn set_position(&mut self, x: &[T]) -> Result<(), Error> {
        self.idle_or_uninit()?;
        let d = self.st.dim as usize;
        if x.len() != d {
            return Err(Error::BufferLength);
        }
        if !x.iter().all(|v| v.is_finite()) {
            return Err(Error::InvalidValue);
        }
        let r = self.cur_range();
        self.ws[r].copy_from_slice(x);
        self.st.phase = PHASE_NEED_INIT;
        self.st.has_next = 0;
        Ok(())
    }

    fn request(&mut self) -> Request<'_, T> {
        let (kind, step, stage) =
            if self.st.phase == PHASE_NEED_INIT { (RequestKind::Initial, 0, 0) } else { (RequestKind::Stage, self.st.steps + 1, self.st.stage) };
        let init = self.st.phase == PHASE_NEED_INIT;
        let p = self.parts();
        let (x, grad) = if init { (p.x_cur, p.g_cur) } else { (p.x_new, p.g_new) };
        Request { x, grad, kind, step, stage }
    }

    /// The next evaluation the chain needs. Starting a step (refresh, first
    /// momentum and position update) happens here; asking again before
    /// `tell` returns the same request without further work.
    pub fn ask(&mut self) -> Request<'_, T> {
        if self.st.phase == PHASE_IDLE {
            self.begin_step();
        }
        self.request()
    }

    fn begin_step(&mut self) {
        let st = &mut self.st;
        let d = st.dim as usize;
        let p = split(self.ws, d, st.cur);
        // (Only the fused refresh or none makes it; the split refresh is
        // about to change u.)
        let known = st.take_next().filter(|_| st.refresh != RefreshMode::Split as u32);
        if st.refresh == RefreshMode::Split as u32 {
            let half = st.step_size * T::from_f64(0.5);
            if let Some(nu) = refresh_scale(half, st.decoherence_length, d) {
                st.uu = partial_refresh(p.u, st.uu, nu, &mut st.rng);
            }
        }
        // The preconditioner flag is resolved once per call, not per element:
        // the kernels are monomorphised for the identity (one d-vector less
        // traffic) and for a slice.
        let r = match (known, st.precond == 1) {
            (Some(sums), true) => stepper(st, p.u, &*p.s).begin_with(p.g_cur, p.x_cur, p.x_new, sums),
            (Some(sums), false) => stepper(st, p.u, Identity).begin_with(p.g_cur, p.x_cur, p.x_new, sums),
            (None, true) => stepper(st, p.u, &*p.s).begin(p.g_cur, p.x_cur, p.x_new),
            (None, false) => stepper(st, p.u, Identity).begin(p.g_cur, p.x_cur, p.x_new),
        };
        // An error is unreachable for a validated chain (the stored gradient
        // passed the same checks when it was accepted); if it happened, the
        // NaN makes the step diverge at the next `tell`.
        match r {
            Ok(out) => {
                st.dk = KineticSum::of(&out);
                st.uu = out.uu;
            }
            Err(_) => st.dk = KineticSum::non_finite(),
        }
        st.stage = 1;
        st.phase = PHASE_IN_STEP;
    }

    /// Hands the log density at the requested point to the chain (the
    /// gradient must already be in the request's `grad`). A non-finite
    /// `logp` or gradient is a divergence, reported in the step's info.
    /// Errors: `OutOfOrder` if no step is in progress and the chain is
    /// initialised (call `ask` first); `NonFiniteInitialPoint` for a failed
    /// initial evaluation (the chain stays uninitialised: move it with
    /// `set_position` or retry).
    pub fn tell(&mut self, logp: T) -> Result<Progress<T>, Error> {
        match self.st.phase {
            PHASE_NEED_INIT => {
                let p = self.parts();
                let gg = norm_sq(p.g_cur);
                if !(logp.is_finite() && gg.is_finite()) {
                    return Err(Error::NonFiniteInitialPoint);
                }
                self.st.logp = logp;
                self.st.grad_evals += 1;
                self.st.phase = PHASE_IDLE;
                Ok(Progress::Initialized)
            }
            PHASE_IN_STEP => Ok(match self.advance(logp) {
                Advance::More => Progress::NeedEval,
                Advance::Done => {
                    let end = self.close();
                    Progress::Step(self.record(end))
                }
                Advance::Reject(why) => {
                    let end = self.reject(why);
                    Progress::Step(self.record(end))
                }
            }),
            _ => Err(Error::OutOfOrder),
        }
    }

    /// The rest of the current stage; the step's end (`close` or `reject`,
    /// then `record`) is left to the caller, so that `step_with` makes the
    /// step's record as its return value. Made here, the record went out
    /// of `tell` through memory and `step_with` copied it with 32-byte
    /// loads of what had just been stored as 8-byte fields, loads that no
    /// store can forward: they wait until those stores retire, i.e. for
    /// the step's last logarithm (d = 10, McLachlan, f32: 197 → 187 ns per
    /// step without refresh, 255 → 240 with; f64 unchanged without
    /// refresh, 261 → 252 with). Out of line: inlined into `step_with`, it
    /// made the step slower.
    #[inline(never)]
    fn advance(&mut self, logp: T) -> Advance {
        self.st.grad_evals += 1;
        self.st.logp_new = logp;
        if !logp.is_finite() || !self.st.dk.is_finite() {
            return Advance::Reject(Divergence::NonFinite);
        }
        let k = self.st.stage;
        let st = &mut self.st;
        let d = st.dim as usize;
        let p = split(self.ws, d, st.cur);
        // The end-of-step refresh (the whole one, or the second half) runs
        // inside the last momentum update's pass.
        let h = if st.refresh == RefreshMode::Split as u32 { st.step_size * T::from_f64(0.5) } else { st.step_size };
        let nu = refresh_scale(h, st.decoherence_length, d);
        // With the fused refresh (or none) the step's last pass also makes
        // the next step's first reduction; the split refresh changes u again
        // before that one.
        let fused = st.refresh != RefreshMode::Split as u32;
        // The step's last (refreshing) pass warms up the buffers the next
        // step writes first (see `resume_next`).
        let warm: [&[T]; 2] = [&*p.x_cur, &*p.g_cur];
        let outcome = match (fused, nu, st.precond == 1) {
            (true, nu, true) => stepper(st, p.u, &*p.s).resume_next(k, p.g_new, p.x_new, nu, &mut st.rng, warm),
            (true, nu, false) => stepper(st, p.u, Identity).resume_next(k, p.g_new, p.x_new, nu, &mut st.rng, warm),
            (false, Some(nu), true) => stepper(st, p.u, &*p.s).resume_refresh(k, p.g_new, p.x_new, nu, &mut st.rng).map(|(o, n)| (o, n, None)),
            (false, Some(nu), false) => stepper(st, p.u, Identity).resume_refresh(k, p.g_new, p.x_new, nu, &mut st.rng).map(|(o, n)| (o, n, None)),
            (false, None, true) => stepper(st, p.u, &*p.s).resume(k, p.g_new, p.x_new).map(|(o, n)| (o, n, None)),
            (false, None, false) => stepper(st, p.u, Identity).resume(k, p.g_new, p.x_new).map(|(o, n)| (o, n, None)),
        };
        match outcome {
            Err(_) => Advance::Reject(Divergence::NonFinite),
            Ok((out, StageOutcome::NeedGradient { stage }, _)) => {
                self.st.dk.add(&out);
                self.st.uu = out.uu;
                self.st.stage = stage;
                Advance::More
            }
            Ok((out, StageOutcome::Done, next)) => {
                self.st.dk.add(&out);
                self.st.uu = out.uu;
                // Kept only for an accepted step (`reject` drops it): its
                // gradient is the one the sums were made with, and `u`
                // stays as they saw it.
                self.st.set_next(next);
                Advance::Done
            }
        }
    }

    /// The end of a step whose last stage is done: accepted, or rejected
    /// by the energy checks.
    fn close(&mut self) -> StepEnd<T> {
        let dk = self.st.dk.value(T::from_usize(self.st.dim as usize - 1));
        let de = dk - (self.st.logp_new - self.st.logp);
        if !(dk.is_finite() && de.is_finite()) {
            return self.reject(Divergence::NonFinite);
        }
        if de.abs() > self.st.max_energy_change {
            return self.reject(Divergence::EnergyError);
        }
        let st = &mut self.st;
        st.cur ^= 1;
        st.logp = st.logp_new;
        StepEnd { divergence: Divergence::None, de, dk }
    }

    /// A rejected step: the momentum gets a random direction, the position
    /// and gradient stay.
    fn reject(&mut self, why: Divergence) -> StepEnd<T> {
        let d = self.st.dim as usize;
        let st = &mut self.st;
        st.uu = random_direction(&mut self.ws[4 * d..5 * d], &mut st.rng);
        st.divergences += 1;
        st.has_next = 0;
        StepEnd { divergence: why, de: T::ZERO, dk: T::ZERO }
    }

    /// The step's record, made in one place for every way a step ends.
    fn record(&mut self, e: StepEnd<T>) -> StepInfo<T> {
        let st = &mut self.st;
        st.steps += 1;
        st.phase = PHASE_IDLE;
        st.stage = 0;
        StepInfo {
            step: st.steps,
            grad_evals: st.grad_evals,
            divergences: st.divergences,
            energy_change: e.de,
            kinetic_change: e.dk,
            logdensity: st.logp,
            step_size: st.step_size,
            divergence: e.divergence,
        }
    }

    /// Evaluates the initial point with `f` if that is still pending.
    /// Errors: `NonFiniteInitialPoint`.
    pub fn init_with<F: LogDensity<T> + ?Sized>(&mut self, f: &mut F) -> Result<(), Error> {
        if self.st.phase == PHASE_NEED_INIT {
            let r = self.ask();
            let lp = f.logp(r.x, r.grad);
            self.tell(lp)?;
        }
        Ok(())
    }

    /// Runs one whole step with the callback `f` (initialising first if
    /// needed). Errors: `NonFiniteInitialPoint`.
    pub fn step_with<F: LogDensity<T> + ?Sized>(&mut self, f: &mut F) -> Result<StepInfo<T>, Error> {
        self.init_with(f)?;
        loop {
            let r = self.ask();
            let lp = f.logp(r.x, r.grad);
            if self.st.phase != PHASE_IN_STEP {
                return Err(Error::OutOfOrder);
            }
            let end = match self.advance(lp) {
                Advance::More => continue,
                Advance::Done => self.close(),
                Advance::Reject(why) => self.reject(why),
            };
            return Ok(self.record(end));
        }
    }
}

/// Where [`Mclmc::advance`] left the step.
enum Advance {
    /// Another evaluation is needed.
    More,
    /// The last stage is done: the step ends with `close`.
    Done,
    /// A non-finite value: the step ends with `reject`.
    Reject(Divergence),
}

/// How a step ended, for [`Mclmc::record`].
struct StepEnd<T> {
    divergence: Divergence,
    de: T,
    dk: T,
}

/// The six d-vectors of the workspace, with the double buffers resolved.
fn split<T>(ws: &mut [T], d: usize, cur: u32) -> Parts<'_, T> {
    let (x, rest) = ws.split_at_mut(2 * d);
    let (g, rest) = rest.split_at_mut(2 * d);
    let (u, s) = rest.split_at_mut(d);
    let (x0, x1) = x.split_at_mut(d);
    let (g0, g1) = g.split_at_mut(d);
    if cur == 0 {
        Parts { x_cur: x0, x_new: x1, g_cur: g0, g_new: g1, u, s }
    } else {
        Parts { x_cur: x1, x_new: x0, g_cur: g1, g_new: g0, u, s }
    }
}

fn stepper<'u, T: Real, D: Diag<T>>(st: &MclmcState<T>, u: &'u mut [T], s: D) -> Stepper<'u, T, D> {
    Stepper {
        u,
        s,
        eps: st.step_size,
        dm1: T::from_usize(st.dim as usize - 1),
        form: KineticForm::Stable,
        integrator: Integrator::from_u32(st.integrator).unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::vec;

    #[test]
    fn more_divergences_than_steps_is_refused() {
        let mut ws = vec![0.0f64; Mclmc::<f64>::workspace_len(3)];
        let c = Mclmc::new(MclmcConfig::for_dim(3), &[0.5; 3], &mut ws, 1, 0).unwrap();
        let (mut st, ws) = c.into_parts();
        st.steps = 4;
        st.divergences = 4;
        assert!(Mclmc::from_parts(st, &mut ws[..]).is_ok());
        st.divergences = 5;
        assert_eq!(Mclmc::from_parts(st, &mut ws[..]).err(), Some(Error::InvalidState));
    }
}
