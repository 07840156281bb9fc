//! SMILE: stochastic-gradient MCLMC (ALGORITHMS.md §2): isokinetic dynamics
//! driven by mini-batch gradients, with the Gamma-quantile energy-error tuner
//! and resets (SMILE), optionally with gradient-noise preconditioning
//! (pSMILE), over caller-owned memory, driven by ask/tell.
//!
//! One step is one integrator step (McLachlan by default, 2 gradients) with
//! first-same-as-last gradients and no momentum refresh (the mini-batch noise
//! plays that role); the caller evaluates every gradient of a step on the
//! same mini-batch and draws a new one per step: each [`Request`] carries the
//! 1-based `step` it belongs to. Then, from `A = |ΔE|`:
//! the tuner ([`GammaTuner`]) may reset the chain (position restored,
//! momentum set to zero), shrink or grow ε, and updates its averages; pSMILE
//! updates its noise estimate and preconditioner ([`crate::tune::noise_precond`]).
//!
//! Variants are settings of one sampler: SMILE-naive is
//! [`SmileConfig::naive`] (no tuner decisions), SMILE [`SmileConfig::smile`],
//! pSMILE [`SmileConfig::psmile`]; a finite decoherence length L adds
//! BlackJAX's partial refresh around each step (the analytical-benchmark
//! variant of §2.7).
//!
//! # Modes
//!
//! [`SmileMode::Reference`] reproduces the reference code (EmanuelSommer/SMILE
//! @8a54636, `SMILET` / `NOISYSMILE`) step for step, quirks included.
//! [`SmileMode::Corrected`] (the default) differs as follows:
//!
//! | | reference | corrected |
//! |---|---|---|
//! | after a reset | stored gradient and `log p` stay those of the rejected proposal | both restored to the accepted point |
//! | thresholds | Wilson–Hilferty quantiles (lower one < 0 for shape ≲ 0.55: ε can then only shrink) | exact Gamma CDF of `A` ([`crate::special::gamma_p`]) |
//! | `A` of a reset step in the averages | as is | capped at the reset quantile, so one outlier cannot inflate the averages for thousands of steps |
//! | first step's potential term | skipped while the stored `log p == 0` | skipped until a `log p` has been stored (explicit flag) |
//! | non-finite gradient entries | NaN → 0, ±∞ → ±clip (the step goes on) | the step is a divergence (`zero_nan_gradients` restores the reference cleaning) |
//! | pSMILE gradient mean `ḡ` | re-initialised to 1 before every update (so `σ_g` is the RMS of `g − 1`) | a real moving mean |
//! | pSMILE stored gradient | divided by the preconditioner of *its* step and reused so by the next step's first momentum update (stale `P`) | raw; every momentum update uses the current `P` |
//! | pSMILE noise update on a reset step | made with the rejected proposal's gradient | skipped |
//! | ΔK of a momentum update | BlackJAX 1.2.2 form always | 1.7.1 stable form for unit `u`, 1.2.2 form for `u = 0` (where the stable form is wrong) |
//!
//! In both modes a non-finite `log p`, `ΔE` or gradient sum (after cleaning)
//! is a divergence: position, gradient and `log p` are restored, the momentum
//! is set to zero, the tuner's averages are left alone, ε shrinks by `1 − δ`
//! once burn-in is over, and the step is counted. (The reference has no such
//! check; a NaN there poisons the averages for ever.)
//!
//! # Traffic
//!
//! Per step, with `m` gradient evaluations and no preconditioning (d-vectors
//! streamed; the caller's gradient counted as a read of x and a write of g):
//! the first update's reduction (r u, g) and kick + drift (r u, g, x; w u, x);
//! per evaluation the gradient (r x; w g), the next reduction (r u, g) and
//! the kick + drift (5), or for the last one the kick alone (r u, g; w u).
//! Total `9m + 5` = 23 for McLachlan; `9m + 3` = 21 (as for MCLMC, which
//! does the same) when the previous step's last kick also made this step's
//! first reduction ([`esh_update_next`]: no preconditioner, no refresh in
//! between, step accepted — the usual case), which is then skipped.
//! The reductions leave out `‖u‖²` (the state's `uu`, which the momentum
//! passes keep bitwise equal to what a reduction would sum) and check the
//! caller's gradient through its `‖g‖²` alone ([`sum_sq_within_clip`]);
//! a gradient with an entry non-finite or beyond (or within rounding of)
//! the clip takes one more pass, the cleaning reduction ([`sanitize_reduce`]:
//! r u, g; w g where it cleans). Reference pSMILE, which stores `s⊙g`,
//! always takes the cleaning reduction instead.
//!
//! Corrected pSMILE adds the diagonal to every kick and to the reductions
//! after an evaluation (`2m + 1`), the noise-average pass (r g, ḡ, σ_g;
//! w ḡ, σ_g) and the preconditioner pass, which also makes the next step's
//! first reduction (r σ_g, u, g; w s) so that reduction is skipped:
//! `11m + 13` = 35 for McLachlan. (The preconditioner cannot join the noise
//! pass: `s` needs the RMS over all of the new `σ_g`.)
//!
//! # Memory
//!
//! One slice of [`Smile::workspace_len`]`(d) = 8d` values:
//! `[x₀ | x₁ | g₀ | g₁ | u | s | σ_g | ḡ]`. Positions and gradients are
//! double-buffered with separate current-half flags (a reference-mode reset
//! keeps the old position but the new gradient). `s = 1/P` is the diagonal
//! the dynamics use (ones without preconditioning). All scalar state is the
//! plain `Copy` struct [`SmileState`]; state + workspace is a complete
//! checkpoint, and a resumed chain continues bit-identically.

use crate::dynamics::esh::EshOut;
use crate::dynamics::{esh_update_next, esh_update_split, partial_refresh, refresh_scale, Integrator, KineticForm, KineticSum, NonFinite};
use crate::error::Error;
use crate::real::Real;
use crate::rng::Rng;
use crate::samplers::request::{Divergence, LogDensity, Request, RequestKind, StepInfo};
use crate::simd::{esh_reduce, norm_sq, reduce_ug_gg, sanitize_reduce, sum_sq_within_clip, Diag, Drift, EshSums, Identity, UgGg};
use crate::tune::gamma_quantile::{Decision, GammaTuner, GammaTunerConfig, TunerLevels, DECIDE_FROM};
use crate::tune::noise_precond::{precond_from_spread_reduce, update_noise_ema};

/// Which behaviour to follow where the reference code has quirks (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[repr(u32)]
pub enum SmileMode {
    /// The reference code exactly (golden files).
    Reference = 0,
    /// Quirks fixed, explicit finiteness checks. The default.
    #[default]
    Corrected = 1,
}

impl SmileMode {
    /// The mode with discriminant `v`, if any.
    pub const fn from_u32(v: u32) -> Option<Self> {
        match v {
            0 => Some(Self::Reference),
            1 => Some(Self::Corrected),
            _ => None,
        }
    }
    /// `"reference"` or `"corrected"`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Reference => "reference",
            Self::Corrected => "corrected",
        }
    }
}

/// Settings of a SMILE chain.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SmileConfig<T> {
    /// Step size ε (finite, > 0): the initial value, adapted by the tuner.
    pub step_size: T,
    /// The energy-error tuner (ρ, a, δ, β); [`GammaTunerConfig::off`] for SMILE-naive.
    pub tuner: GammaTunerConfig<T>,
    /// Gradient-noise preconditioning (pSMILE). Fixed at construction.
    pub precondition: bool,
    /// Decoherence length L of an optional partial momentum refresh around
    /// each step (> 0); `+∞` (the default, as in the reference) disables it.
    pub decoherence_length: T,
    pub integrator: Integrator,
    /// Fixed at construction.
    pub mode: SmileMode,
    /// Gradient entries are clipped to `[−grad_clip, grad_clip]` (> 0; `+∞`
    /// disables clipping). Default 1e6, as in the reference.
    pub grad_clip: T,
    /// NaN gradient entries become 0 and ±∞ become ±`grad_clip` (reference
    /// behaviour); otherwise a non-finite entry makes the step a divergence.
    pub zero_nan_gradients: bool,
}

impl<T: Real> SmileConfig<T> {
    /// SMILE: the tuner with the paper's settings (ρ = 0.98, a = 0.1,
    /// δ = 0.02, β = 0.01), McLachlan, no refresh, corrected mode.
    pub fn smile(step_size: T) -> Self {
        SmileConfig {
            step_size,
            tuner: GammaTunerConfig::paper(),
            precondition: false,
            decoherence_length: T::INFINITY,
            integrator: Integrator::McLachlan,
            mode: SmileMode::Corrected,
            grad_clip: T::from_f64(1e6),
            zero_nan_gradients: false,
        }
    }

    /// pSMILE: SMILE with gradient-noise preconditioning.
    pub fn psmile(step_size: T) -> Self {
        SmileConfig { precondition: true, ..Self::smile(step_size) }
    }

    /// SMILE-naive: fixed step size, no resets (the averages of `|ΔE|` are
    /// still kept and reported).
    pub fn naive(step_size: T) -> Self {
        SmileConfig { tuner: GammaTunerConfig::off(), ..Self::smile(step_size) }
    }

    /// The same settings in reference mode, with the reference's NaN → 0 cleaning.
    pub fn reference(self) -> Self {
        SmileConfig { mode: SmileMode::Reference, zero_nan_gradients: true, ..self }
    }

    /// Checks every field. Errors: `InvalidStepSize`, `InvalidDecoherenceLength`,
    /// `InvalidSetting` (tuner ranges, `grad_clip`).
    pub fn validate(&self) -> Result<(), Error> {
        if !(self.step_size > T::ZERO && self.step_size.is_finite()) {
            return Err(Error::InvalidStepSize);
        }
        if !(self.decoherence_length > T::ZERO) {
            return Err(Error::InvalidDecoherenceLength);
        }
        self.tuner.validate()?;
        if !(self.grad_clip > T::ZERO) {
            return Err(Error::InvalidSetting);
        }
        Ok(())
    }
}

/// What one finished SMILE step did.
#[derive(Clone, Copy, Debug, PartialEq)]
#[repr(C)]
pub struct SmileStepInfo<T> {
    /// Steps completed so far (this one included).
    pub step: u64,
    /// Gradient evaluations so far.
    pub grad_evals: u64,
    /// Rejected steps so far: resets plus non-finite steps.
    pub divergences: u64,
    /// Tuner resets so far.
    pub resets: u64,
    /// Gradient entries of this step that were NaN, infinite or beyond the clip.
    pub flagged_gradients: u64,
    /// `ΔE = ΔK + (ℓ_old − ℓ_new)` (potential term skipped while no `ℓ_old`
    /// is stored); 0 for a non-finite step.
    pub energy_change: T,
    /// `A = |ΔE|`, what the tuner saw.
    pub abs_energy_change: T,
    /// Sum of the step's kinetic-energy changes; 0 for a non-finite step.
    pub kinetic_change: T,
    /// The stored mini-batch `log p` after the step.
    pub logdensity: T,
    /// Step size used by this step.
    pub step_size: T,
    /// Step size for the next step (after the tuner).
    pub next_step_size: T,
    /// Tuner averages after the step (`m`, `s_E`).
    pub energy_mean: T,
    pub energy_std: T,
    /// `None`; `EnergyError` for a tuner reset; `NonFinite` for a step with
    /// a non-finite log density, gradient or energy.
    pub divergence: Divergence,
    /// −1 if ε shrank, +1 if it grew, 0 otherwise.
    pub step_size_change: i32,
}

impl<T: Real> SmileStepInfo<T> {
    /// Whether the step was rejected (reset or non-finite).
    pub fn diverged(&self) -> bool {
        self.divergence != Divergence::None
    }
    /// Whether the tuner reset the chain.
    pub fn reset(&self) -> bool {
        self.divergence == Divergence::EnergyError
    }
    /// The fields MCLMC's [`StepInfo`] has, for code generic over samplers.
    pub fn as_step_info(&self) -> StepInfo<T> {
        StepInfo {
            step: self.step,
            grad_evals: self.grad_evals,
            divergences: self.divergences,
            energy_change: self.energy_change,
            kinetic_change: self.kinetic_change,
            logdensity: self.logdensity,
            step_size: self.step_size,
            divergence: self.divergence,
        }
    }
}

/// Result of [`Smile::tell`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum SmileProgress<T> {
    /// The step needs another evaluation: call `ask` again.
    NeedEval,
    /// A step finished.
    Step(SmileStepInfo<T>),
}

/// How a step ended, for [`Smile::end_step`]: scalars that stay in
/// registers until the record is made.
struct StepEnd<T> {
    divergence: Divergence,
    de: T,
    a: T,
    dk: T,
    eps_used: T,
    change: i32,
    averages: (T, T),
}

/// Where [`Smile::tell_stage`] left the step.
enum Staged {
    /// Another evaluation is needed.
    More,
    /// The last stage is done: the step ends with `finish_step`. `true` if
    /// the last kick made the next step's first reduction, which it left in
    /// `SmileState::next` (not yet valid: `has_next` stays 0 until the step
    /// is accepted).
    Finish(bool),
    /// A non-finite value: the step ends with `diverge`.
    Diverge,
}

const PHASE_IDLE: u32 = 1;
const PHASE_IN_STEP: u32 = 2;

/// All scalar state of a SMILE chain: plain data (integers and floats only,
/// so any bit pattern can be checked by [`Smile::from_parts`]).
#[derive(Clone, Copy, Debug, PartialEq)]
#[repr(C)]
pub struct SmileState<T> {
    // Layout: 8-byte fields, then `T`, then `u32`, an even number of each
    // of the last two, so that neither `f32` nor `f64` leaves padding: an
    // instance in C memory is a byte-for-byte checkpoint, and padding would
    // carry stack garbage into it (test `instance_states_have_no_padding`).
    dim: u64,
    rng: Rng,
    tuner: GammaTuner<T>,
    steps: u64,
    grad_evals: u64,
    divergences: u64,
    resets: u64,
    flagged: u64,
    /// Flagged gradient entries of the step in progress.
    step_flagged: u64,
    step_size: T,
    reset_prob: T,
    adaption_prob: T,
    adaption_strength: T,
    smoothing_factor: T,
    decoherence_length: T,
    grad_clip: T,
    logp: T,
    logp_new: T,
    /// `‖u‖²` of the momentum buffer (0 at the start and after resets).
    uu: T,
    /// Kinetic change accumulated by the step in progress ([`KineticSum`]:
    /// one logarithm per step).
    dk: KineticSum<T>,
    /// The next step's first reduction `[u·g̃, ‖g̃‖²]`, made by the step's
    /// last kick ([`esh_update_next`]) or by pSMILE's preconditioner pass,
    /// the same bits the reduction would sum; valid when `has_next == 1`. In
    /// the state so that a chain rebuilt from its parts (the C ABI rebuilds
    /// on every call) keeps it; dropped by anything that changes `u`, the
    /// stored gradient or `s`.
    next: [T; 2],
    integrator: u32,
    mode: u32,
    precond: u32,
    zero_nan: u32,
    phase: u32,
    /// Position stage awaiting its gradient while `phase == IN_STEP`.
    stage: u32,
    /// Current halves of the position and gradient double buffers (0 or 1).
    xcur: u32,
    gcur: u32,
    /// 1 once a log density has been stored (corrected mode's "ℓ is set").
    has_logp: u32,
    /// 1 when `next` holds the next step's first reduction (between steps only).
    has_next: u32,
}

impl<T: Real> SmileState<T> {
    fn take_next(&mut self) -> Option<UgGg<T>> {
        let n = (self.has_next == 1).then_some(UgGg { ug: self.next[0], gg: self.next[1] });
        self.has_next = 0;
        n
    }

    fn set_next(&mut self, r: Option<UgGg<T>>) {
        match r {
            Some(r) => {
                self.next = [r.ug, r.gg];
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
    /// Gradient evaluations so far.
    pub fn grad_evals(&self) -> u64 {
        self.grad_evals
    }
    /// Rejected steps so far (resets included).
    pub fn divergences(&self) -> u64 {
        self.divergences
    }
    /// Tuner resets so far.
    pub fn resets(&self) -> u64 {
        self.resets
    }
    /// Gradient entries flagged (NaN, ±∞, clipped) so far.
    pub fn flagged_gradients(&self) -> u64 {
        self.flagged
    }
    /// The tuner's averages and counter.
    pub fn tuner(&self) -> GammaTuner<T> {
        self.tuner
    }
    /// Current settings (`step_size` is the current, adapted ε).
    pub fn config(&self) -> SmileConfig<T> {
        SmileConfig {
            step_size: self.step_size,
            tuner: GammaTunerConfig {
                reset_prob: self.reset_prob,
                adaption_prob: self.adaption_prob,
                adaption_strength: self.adaption_strength,
                smoothing_factor: self.smoothing_factor,
            },
            precondition: self.precond == 1,
            decoherence_length: self.decoherence_length,
            integrator: Integrator::from_u32(self.integrator).unwrap_or_default(),
            mode: SmileMode::from_u32(self.mode).unwrap_or_default(),
            grad_clip: self.grad_clip,
            zero_nan_gradients: self.zero_nan == 1,
        }
    }

    fn set_config(&mut self, cfg: &SmileConfig<T>) {
        self.step_size = cfg.step_size;
        self.reset_prob = cfg.tuner.reset_prob;
        self.adaption_prob = cfg.tuner.adaption_prob;
        self.adaption_strength = cfg.tuner.adaption_strength;
        self.smoothing_factor = cfg.tuner.smoothing_factor;
        self.decoherence_length = cfg.decoherence_length;
        self.grad_clip = cfg.grad_clip;
        self.integrator = cfg.integrator as u32;
        self.mode = cfg.mode as u32;
        self.precond = cfg.precondition as u32;
        self.zero_nan = cfg.zero_nan_gradients as u32;
    }

    fn reference(&self) -> bool {
        self.mode == SmileMode::Reference as u32
    }

    fn integ(&self) -> Integrator {
        Integrator::from_u32(self.integrator).unwrap_or_default()
    }

    fn validate(&self, ws_len: usize) -> Result<(), Error> {
        let d = self.dim as usize;
        if d < 2 || self.dim > (usize::MAX / 16) as u64 {
            return Err(Error::InvalidState);
        }
        if ws_len != Smile::<T>::workspace_len(d) {
            return Err(Error::BufferLength);
        }
        if Integrator::from_u32(self.integrator).is_none() || SmileMode::from_u32(self.mode).is_none() {
            return Err(Error::InvalidState);
        }
        self.config().validate().map_err(|_| Error::InvalidState)?;
        let m = self.integ().grads_per_step();
        let ok = self.precond <= 1
            && self.zero_nan <= 1
            && (self.phase == PHASE_IDLE || (self.phase == PHASE_IN_STEP && self.stage >= 1 && self.stage <= m))
            && self.xcur <= 1
            && self.gcur <= 1
            && self.has_logp <= 1
            && self.has_next <= 1
            && (self.has_next == 0 || self.phase == PHASE_IDLE)
            && self.logp.is_finite()
            && self.uu >= T::ZERO
            && self.uu.is_finite()
            && self.tuner.is_valid()
            && self.resets <= self.divergences
            && self.divergences <= self.steps;
        if ok {
            Ok(())
        } else {
            Err(Error::InvalidState)
        }
    }
}

/// A SMILE chain over a caller-provided workspace.
#[derive(Debug)]
pub struct Smile<'a, T: Real> {
    st: SmileState<T>,
    ws: &'a mut [T],
    /// The tuner's per-configuration constants and cache (built on first
    /// use): kept between steps but not part of the state; a chain rebuilt
    /// with `from_parts` starts without them and decides the same.
    levels: Levels<'a>,
}

/// Where a chain keeps its [`TunerLevels`]: in the chain, or in memory
/// that outlives it (the C ABI's instance, which rebuilds the chain on
/// every call).
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // no heap to box into; `Own` is the usual case
enum Levels<'a> {
    Own(Option<TunerLevels>),
    Kept(&'a mut TunerLevels),
}

/// The workspace's vectors with the double buffers resolved.
struct Parts<'b, T> {
    x_cur: &'b mut [T],
    x_new: &'b mut [T],
    g_cur: &'b mut [T],
    g_new: &'b mut [T],
    u: &'b mut [T],
    s: &'b mut [T],
    sd: &'b mut [T],
    gbar: &'b mut [T],
}

#[inline(always)]
fn split<T>(ws: &mut [T], d: usize, xcur: u32, gcur: u32) -> Parts<'_, T> {
    let (x, rest) = ws.split_at_mut(2 * d);
    let (g, rest) = rest.split_at_mut(2 * d);
    let (u, rest) = rest.split_at_mut(d);
    let (s, rest) = rest.split_at_mut(d);
    let (sd, gbar) = rest.split_at_mut(d);
    let (x0, x1) = x.split_at_mut(d);
    let (g0, g1) = g.split_at_mut(d);
    let (x_cur, x_new) = if xcur == 0 { (x0, x1) } else { (x1, x0) };
    let (g_cur, g_new) = if gcur == 0 { (g0, g1) } else { (g1, g0) };
    Parts { x_cur, x_new, g_cur, g_new, u, s, sd, gbar }
}

/// How the diagonal `s` enters a step (resolved once per call so the
/// kernels are monomorphised: no per-element branch, no `s` traffic without
/// preconditioning).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Diags {
    /// No preconditioning: identity everywhere.
    Plain,
    /// Reference pSMILE: the gradient is stored multiplied by `s`, kicks use
    /// it as is, positions move with `s`.
    StoreScaled,
    /// Corrected pSMILE: raw gradient stored, kicks and positions use `s`.
    KickScaled,
}

/// [`Diags`] as constants, for the per-variant step functions.
const PLAIN: u8 = Diags::Plain as u8;
const STORE_SCALED: u8 = Diags::StoreScaled as u8;
const KICK_SCALED: u8 = Diags::KickScaled as u8;

/// Scalars of one momentum (+ position) update.
#[derive(Clone, Copy)]
struct Sub<T> {
    /// Momentum time `c_{2k} ε`.
    t: T,
    /// Position time `c_{2k+1} ε` (unused for the last update).
    h: T,
    dm1: T,
    form: KineticForm,
}

/// What the first reduction of a step can skip.
#[derive(Clone, Copy)]
enum Known<T> {
    /// Nothing: `u` was just refreshed (its squared norm was summed in
    /// another order than the reduction's): the full reduction, as before.
    Nothing,
    /// `‖u‖²` (the tracked `uu`).
    Uu(T),
    /// Everything: `uu` and the sums the preconditioner pass made.
    All(T, UgGg<T>),
}

/// First update of a step: momentum with the stored gradient, then the
/// position from `x_src` into `x`.
///
/// This and [`stage_impl`] are inlined (three variants each in `tell` and
/// `begin_step`): out of line, their results came back through memory,
/// stored field by field and loaded as vectors, which store-to-load
/// forwarding cannot serve, so every update waited for the stores to retire
/// (see [`crate::dynamics::esh`]'s `plan`). Inlined, SMILE at d = 10 went
/// from 274 to 248 ns per step (f64; with `plan` and the updates inlined).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn begin_impl<T: Real, DK: Diag<T>, DD: Diag<T>>(
    u: &mut [T],
    g: &[T],
    x_src: &[T],
    x: &mut [T],
    sk: DK,
    sd: DD,
    c: Sub<T>,
    known: Known<T>,
) -> Result<EshOut<T>, NonFinite> {
    let r = match known {
        Known::Nothing => esh_reduce(u, g, sk),
        Known::Uu(uu) => {
            let (r, _) = reduce_ug_gg(u, g, sk);
            EshSums { uu, ug: r.ug, gg: r.gg }
        }
        Known::All(uu, r) => EshSums { uu, ug: r.ug, gg: r.gg },
    };
    esh_update_split(u, g, r, sk, c.t, c.dm1, c.form, Some(Drift { x_src: Some(x_src), x, h: c.h }), sd)
}

/// A later update: clean (and, for `StoreScaled`, scale) the caller's
/// gradient in the reduction pass, momentum update, and the in-place
/// position update unless it is the step's last. `uu` is the tracked `‖u‖²`.
///
/// When the gradient is stored as given (`ss` the identity), the reduction
/// skips `‖u‖²` and the per-register clip test: its `‖g‖²` proves every
/// entry within the clip in the usual case ([`sum_sq_within_clip`]), and
/// only otherwise (an entry NaN, infinite, beyond or near the clip) does
/// the cleaning reduction run over the untouched gradient, exactly as it
/// would have alone. The sums are the same bits either way.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn stage_impl<T: Real, DS: Diag<T>, DK: Diag<T>, DD: Diag<T>>(
    u: &mut [T],
    g: &mut [T],
    x: &mut [T],
    ss: DS,
    sk: DK,
    sd: DD,
    c: Sub<T>,
    last: bool,
    clip: T,
    zero_nan: bool,
    uu: T,
    next: bool,
) -> (Result<EshOut<T>, NonFinite>, u64, Option<UgGg<T>>) {
    let fast = if DS::IDENTITY {
        let (r, g2) = reduce_ug_gg(u, g, sk);
        sum_sq_within_clip(g2, clip, g.len().min(u.len())).then_some((EshSums { uu, ug: r.ug, gg: r.gg }, 0))
    } else {
        None
    };
    let (sums, flagged) = match fast {
        Some(f) => f,
        // Rare when the gradient is stored as given; always, when scaled.
        None if DS::IDENTITY => clean_reduce(u, g, ss, sk, clip, zero_nan),
        None => {
            let z = sanitize_reduce(u, g, ss, sk, clip, zero_nan);
            (z.sums, z.flagged)
        }
    };
    if last && next {
        // The kick also makes the next step's first reduction (same stored
        // gradient, same diagonal), bit for bit.
        return match esh_update_next(u, g, sums, sk, c.t, c.dm1, c.form) {
            Ok((out, ug)) => (Ok(out), flagged, Some(UgGg { ug, gg: sums.gg })),
            Err(e) => (Err(e), flagged, None),
        };
    }
    let drift = if last { None } else { Some(Drift { x_src: None, x, h: c.h }) };
    (esh_update_split(u, g, sums, sk, c.t, c.dm1, c.form, drift, sd), flagged, None)
}

/// The tuner's levels for `cfg`, made on a chain's first step or after a
/// settings change.
#[inline(always)]
fn levels_for<'s, T: Real>(levels: &'s mut Levels<'_>, cfg: &GammaTunerConfig<T>) -> &'s mut TunerLevels {
    #[cold]
    #[inline(never)]
    fn renew<T: Real>(lv: &mut TunerLevels, cfg: &GammaTunerConfig<T>) {
        *lv = TunerLevels::new(cfg);
    }
    #[cold]
    #[inline(never)]
    fn fresh<'s, T: Real>(slot: &'s mut Option<TunerLevels>, cfg: &GammaTunerConfig<T>) -> &'s mut TunerLevels {
        slot.insert(TunerLevels::new(cfg))
    }
    match levels {
        // The chain's own levels follow its settings: `set_config`, the
        // only way they change, renews them, so a step need not compare.
        Levels::Own(slot) => {
            let lv = match slot {
                Some(lv) => lv,
                None => fresh(slot, cfg),
            };
            debug_assert!(lv.matches(cfg));
            lv
        }
        Levels::Kept(lv) => {
            if !(lv.matches(cfg) && lv.is_consistent()) {
                renew(lv, cfg);
            }
            lv
        }
    }
}

/// [`stage_impl`]'s cleaning reduction when the gradient is stored as
/// given, where it runs only for an entry that is non-finite or near the
/// clip: out of line, because inlined into SMILE's step its code made every
/// step slower, run or not (f32, d = 10: 222 against 210 ns per step; with
/// pSMILE's variants in their own functions, 203–209). The same holds for the
/// other rare or pSMILE-only parts of a step below (resets, the
/// preconditioner update, the tuner's first-step setup).
#[cold]
#[inline(never)]
fn clean_reduce<T: Real, DS: Diag<T>, DK: Diag<T>>(u: &[T], g: &mut [T], ss: DS, sk: DK, clip: T, zero_nan: bool) -> (EshSums<T>, u64) {
    let z = sanitize_reduce(u, g, ss, sk, clip, zero_nan);
    (z.sums, z.flagged)
}

impl<'a, T: Real> Smile<'a, T> {
    /// Number of `T` values the workspace must hold for dimension `d`: `8d`.
    pub const fn workspace_len(d: usize) -> usize {
        8 * d
    }

    /// A chain in dimension `x0.len()` starting at `x0` with zero momentum,
    /// zero stored gradient and no stored log density (as the reference),
    /// with settings `cfg`; `Rng::new(seed, stream)` is used only by the
    /// optional partial refresh. The first `ask()` requests stage 1 of step 1
    /// (at `x0` itself: with `u = 0` and `g = 0` the first position update
    /// does not move).
    ///
    /// Errors: `DimensionTooSmall` (d < 2), `BufferLength` (workspace is not
    /// `8d`), the errors of [`SmileConfig::validate`], `InvalidValue` (x0 not finite).
    pub fn new(cfg: SmileConfig<T>, x0: &[T], workspace: &'a mut [T], seed: u64, stream: u64) -> Result<Self, Error> {
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
        let mut st = SmileState {
            dim: d as u64,
            step_size: cfg.step_size,
            reset_prob: T::ZERO,
            adaption_prob: T::ZERO,
            adaption_strength: T::ZERO,
            smoothing_factor: T::ZERO,
            decoherence_length: T::ZERO,
            grad_clip: T::ZERO,
            integrator: 0,
            mode: 0,
            precond: 0,
            zero_nan: 0,
            phase: PHASE_IDLE,
            stage: 0,
            xcur: 0,
            gcur: 0,
            has_logp: 0,
            has_next: 0,
            rng: Rng::new(seed, stream),
            logp: T::ZERO,
            logp_new: T::ZERO,
            uu: T::ZERO,
            dk: KineticSum::zero(),
            tuner: GammaTuner::new(),
            steps: 0,
            grad_evals: 0,
            divergences: 0,
            resets: 0,
            flagged: 0,
            step_flagged: 0,
            next: [T::ZERO; 2],
        };
        st.set_config(&cfg);
        workspace[..d].copy_from_slice(x0);
        workspace[d..5 * d].fill(T::ZERO);
        // s = 1, σ_g = 1, ḡ = 1: the reference's initial preconditioner state.
        workspace[5 * d..].fill(T::ONE);
        Ok(Smile { st, ws: workspace, levels: Levels::Own(None) })
    }

    /// Rebuilds a chain from a checkpoint: a state and a workspace holding
    /// the values they had together. Errors: `BufferLength`, `InvalidState`.
    // Inlined: the C ABI rebuilds the chain on every call, and out of line
    // the `Smile` (888 bytes then) came back through memory and was copied again
    // (a C ask/tell loop, f64: 510-605 -> 428-489 ns per step at d = 10,
    // 730-768 -> 640-645 at d = 100).
    #[inline(always)]
    pub fn from_parts(state: SmileState<T>, workspace: &'a mut [T]) -> Result<Self, Error> {
        state.validate(workspace.len())?;
        Ok(Smile { st: state, ws: workspace, levels: Levels::Own(None) })
    }

    /// Keeps the tuner's levels in `lv` from now on, which outlives the
    /// chain (the C ABI keeps them in the instance, after the workspace).
    /// `lv` is only read until a step needs it; levels for other settings,
    /// or inconsistent ones ([`TunerLevels::is_consistent`]: any bytes may
    /// be there), are then replaced. Never changes a decision.
    pub(crate) fn keep_levels(mut self, lv: &'a mut TunerLevels) -> Self {
        self.levels = Levels::Kept(lv);
        self
    }

    /// The scalar state (copy it, together with the workspace, to checkpoint).
    pub fn state(&self) -> SmileState<T> {
        self.st
    }

    /// Splits the chain into its state and workspace.
    pub fn into_parts(self) -> (SmileState<T>, &'a mut [T]) {
        (self.st, self.ws)
    }

    /// Dimension d.
    pub fn dim(&self) -> usize {
        self.st.dim as usize
    }

    fn d(&self) -> usize {
        self.st.dim as usize
    }

    /// Position of the chain (the last accepted one).
    pub fn position(&self) -> &[T] {
        let d = self.d();
        let o = self.st.xcur as usize * d;
        &self.ws[o..o + d]
    }

    /// The stored gradient (zero before the first step). Cleaned; in
    /// reference pSMILE it is stored multiplied by the `s` of its step (the
    /// reference's `g/P`), otherwise raw. After a reference-mode reset it
    /// belongs to the rejected proposal.
    pub fn gradient(&self) -> &[T] {
        let d = self.d();
        let o = 2 * d + self.st.gcur as usize * d;
        &self.ws[o..o + d]
    }

    /// The stored mini-batch log density (0 before the first step).
    pub fn logdensity(&self) -> T {
        self.st.logp
    }

    /// Current step size ε.
    pub fn step_size(&self) -> T {
        self.st.step_size
    }

    /// The tuner's averages and counter (`m = .mean`, `s_E = .std`, `t`).
    pub fn tuner(&self) -> GammaTuner<T> {
        self.st.tuner
    }

    /// Writes the unit momentum into `out` (zeros when the momentum is zero:
    /// at the start and after a reset). Errors: `BufferLength`.
    pub fn momentum(&self, out: &mut [T]) -> Result<(), Error> {
        let d = self.d();
        if out.len() != d {
            return Err(Error::BufferLength);
        }
        let inv = if self.st.uu > T::ZERO { T::ONE / self.st.uu.sqrt() } else { T::ZERO };
        for (o, v) in out.iter_mut().zip(&self.ws[4 * d..5 * d]) {
            *o = *v * inv;
        }
        Ok(())
    }

    /// The diagonal `s = 1/P` the dynamics use (ones without preconditioning).
    pub fn preconditioner(&self) -> &[T] {
        let d = self.d();
        &self.ws[5 * d..6 * d]
    }

    /// pSMILE's per-parameter gradient spread `σ_g` (before clip and
    /// normalisation; ones until the first preconditioned step).
    pub fn grad_sd(&self) -> &[T] {
        let d = self.d();
        &self.ws[6 * d..7 * d]
    }

    /// pSMILE's gradient mean `ḡ` (in reference mode, the value the last
    /// update used: `0.99 + 0.01 g`).
    pub fn grad_mean(&self) -> &[T] {
        let d = self.d();
        &self.ws[7 * d..]
    }

    /// Current settings (`step_size` is the current ε).
    pub fn config(&self) -> SmileConfig<T> {
        self.st.config()
    }

    fn idle(&self) -> Result<(), Error> {
        if self.st.phase == PHASE_IN_STEP {
            Err(Error::OutOfOrder)
        } else {
            Ok(())
        }
    }

    /// Changes the settings between steps (`step_size` replaces the current
    /// ε). Errors: `OutOfOrder` inside a step, the errors of
    /// [`SmileConfig::validate`], `InvalidSetting` if `mode` or
    /// `precondition` differ from the chain's (they fix what the stored
    /// gradient means).
    pub fn set_config(&mut self, cfg: SmileConfig<T>) -> Result<(), Error> {
        self.idle()?;
        cfg.validate()?;
        if cfg.mode as u32 != self.st.mode || cfg.precondition as u32 != self.st.precond {
            return Err(Error::InvalidSetting);
        }
        // With a finite L the last step ended with a refresh, whose `uu` is
        // summed in another order than the reductions'; the next step only
        // recomputes it if it refreshes again, so do it here when L becomes ∞.
        if self.st.decoherence_length != T::INFINITY && cfg.decoherence_length == T::INFINITY {
            let d = self.d();
            self.st.uu = norm_sq(&self.ws[4 * d..5 * d]);
        }
        self.st.set_config(&cfg);
        if let Levels::Own(Some(lv)) = &mut self.levels {
            if !lv.matches(&cfg.tuner) {
                *lv = TunerLevels::new(&cfg.tuner);
            }
        }
        Ok(())
    }

    /// Drops what the chain derives and keeps between steps: the tuner's
    /// constants and caches (never in the state) and the next step's first
    /// reduction (in the state, so that checkpoints and the C ABI keep it).
    /// The chain then recomputes them, to the same bits; the tests use it to
    /// compare a chain that keeps them with one that never has them.
    #[doc(hidden)]
    pub fn drop_derived(&mut self) {
        self.levels = Levels::Own(None);
        self.st.has_next = 0;
        self.st.next = [T::ZERO; 2];
    }

    /// Sets the step size ε. Errors: `InvalidStepSize`, `OutOfOrder`.
    pub fn set_step_size(&mut self, eps: T) -> Result<(), Error> {
        self.idle()?;
        if !(eps > T::ZERO && eps.is_finite()) {
            return Err(Error::InvalidStepSize);
        }
        self.st.step_size = eps;
        Ok(())
    }

    /// Moves the chain to `x` and restarts its dynamics as at construction
    /// (zero momentum, zero stored gradient, no stored log density); the
    /// tuner and the noise estimate are kept. Errors: `BufferLength`,
    /// `InvalidValue`, `OutOfOrder`.
    pub fn set_position(&mut self, x: &[T]) -> Result<(), Error> {
        self.idle()?;
        let d = self.d();
        if x.len() != d {
            return Err(Error::BufferLength);
        }
        if !x.iter().all(|v| v.is_finite()) {
            return Err(Error::InvalidValue);
        }
        self.st.has_next = 0;
        let st = &mut self.st;
        let p = split(self.ws, d, st.xcur, st.gcur);
        p.x_cur.copy_from_slice(x);
        p.g_cur.fill(T::ZERO);
        p.u.fill(T::ZERO);
        st.uu = T::ZERO;
        st.logp = T::ZERO;
        st.has_logp = 0;
        Ok(())
    }

    /// Sets the momentum (normalised internally; the zero vector is allowed,
    /// as after a reset). Errors: `BufferLength`, `InvalidValue`, `OutOfOrder`.
    pub fn set_momentum(&mut self, u: &[T]) -> Result<(), Error> {
        self.idle()?;
        let d = self.d();
        if u.len() != d {
            return Err(Error::BufferLength);
        }
        let uu = norm_sq(u);
        if !uu.is_finite() {
            return Err(Error::InvalidValue);
        }
        self.ws[4 * d..5 * d].copy_from_slice(u);
        self.st.uu = uu;
        self.st.has_next = 0;
        Ok(())
    }

    fn diags(&self) -> Diags {
        match (self.st.precond == 1, self.st.reference()) {
            (false, _) => Diags::Plain,
            (true, true) => Diags::StoreScaled,
            (true, false) => Diags::KickScaled,
        }
    }

    /// 1.2.2 form in reference mode and whenever `u = 0`; else 1.7.1's.
    fn form(&self) -> KineticForm {
        // `uu == 0` on the bits (±0 alike), see `Real::to_bits_u64`.
        if self.st.reference() || self.st.uu.to_bits_u64() << 1 == 0 {
            KineticForm::Legacy
        } else {
            KineticForm::Stable
        }
    }

    fn sub(&self, k: usize) -> Sub<T> {
        let c = self.st.integ().coefficients();
        let at = |i: usize| T::from_f64(if i < c.len() { c[i] } else { 0.0 });
        let eps = self.st.step_size;
        Sub { t: at(2 * k) * eps, h: at(2 * k + 1) * eps, dm1: T::from_usize(self.d() - 1), form: self.form() }
    }

    /// The next evaluation the chain needs: write `∇ log p_B(x)` into
    /// `grad` for the mini-batch `B` of `step`, then `tell(log p_B(x))`.
    /// Starting a step (optional refresh, first momentum and position
    /// update) happens here; asking again before `tell` returns the same
    /// request without further work.
    pub fn ask(&mut self) -> Request<'_, T> {
        if self.st.phase == PHASE_IDLE {
            self.begin_step();
        }
        let (step, stage) = (self.st.steps + 1, self.st.stage);
        let st = &self.st;
        let p = split(self.ws, st.dim as usize, st.xcur, st.gcur);
        Request { x: p.x_new, grad: p.g_new, kind: RequestKind::Stage, step, stage }
    }

    /// The optional partial refresh; whether it ran (it changes `u`).
    fn refresh(&mut self) -> bool {
        let d = self.d();
        let half = self.st.step_size * T::from_f64(0.5);
        if let Some(nu) = refresh_scale(half, self.st.decoherence_length, d) {
            let st = &mut self.st;
            st.uu = partial_refresh(&mut self.ws[4 * d..5 * d], st.uu, nu, &mut st.rng);
            self.st.has_next = 0;
            true
        } else {
            false
        }
    }

    fn begin_step(&mut self) {
        match self.diags() {
            Diags::Plain => self.begin::<PLAIN>(),
            Diags::StoreScaled => self.begin_scaled::<STORE_SCALED>(),
            Diags::KickScaled => self.begin_scaled::<KICK_SCALED>(),
        }
    }

    /// pSMILE's [`begin`](Self::begin), out of line: see [`clean_reduce`].
    #[inline(never)]
    fn begin_scaled<const V: u8>(&mut self) {
        self.begin::<V>()
    }

    /// `begin_step` for the diagonals `V` (one of [`Diags`], as a constant so
    /// that each variant is compiled on its own).
    #[inline(always)]
    fn begin<const V: u8>(&mut self) {
        // `st.uu` is bitwise the `‖u‖²` a reduction would sum (the momentum
        // passes, `norm_sq` and resets keep it so), except after a refresh.
        let known = match (self.refresh(), self.st.take_next()) {
            (true, _) => Known::Nothing,
            (false, None) => Known::Uu(self.st.uu),
            (false, Some(r)) => Known::All(self.st.uu, r),
        };
        let c = self.sub(0);
        let st = &mut self.st;
        let p = split(self.ws, st.dim as usize, st.xcur, st.gcur);
        let s = &*p.s;
        let r = match V {
            PLAIN => begin_impl(p.u, p.g_cur, p.x_cur, p.x_new, Identity, Identity, c, known),
            STORE_SCALED => begin_impl(p.u, p.g_cur, p.x_cur, p.x_new, Identity, s, c, known),
            _ => begin_impl(p.u, p.g_cur, p.x_cur, p.x_new, s, s, c, known),
        };
        // The stored gradient was cleaned when stored, but the refresh can
        // still overflow the momentum (ε/L huge): then the NaN makes the step
        // diverge at the next `tell`, and the momentum is zeroed now, as the
        // divergence will, so that the state stays valid (`uu` finite).
        match r {
            Ok(out) if out.uu.is_finite() => {
                st.dk = KineticSum::of(&out);
                st.uu = out.uu;
            }
            _ => {
                st.dk = KineticSum::non_finite();
                st.uu = T::ZERO;
                p.u.fill(T::ZERO);
            }
        }
        st.step_flagged = 0;
        st.stage = 1;
        st.phase = PHASE_IN_STEP;
    }

    /// Hands the mini-batch log density at the requested point to the chain
    /// (the gradient must already be in the request's `grad`). A non-finite
    /// value is a divergence, reported in the step's info.
    /// Errors: `OutOfOrder` if no step is in progress (call `ask` first).
    pub fn tell(&mut self, logp: T) -> Result<SmileProgress<T>, Error> {
        if self.st.phase != PHASE_IN_STEP {
            return Err(Error::OutOfOrder);
        }
        Ok(match self.tell_stage(logp) {
            Staged::More => SmileProgress::NeedEval,
            Staged::Finish(next) => {
                let end = self.finish_step(next);
                SmileProgress::Step(self.end_step(end))
            }
            Staged::Diverge => {
                let end = self.diverge();
                SmileProgress::Step(self.end_step(end))
            }
        })
    }

    /// `tell` up to the step's end, which the caller makes (`finish_step`
    /// or `diverge`, then `end_step`): `step_with` makes the step's record
    /// as its return value, `tell` wraps it in a `SmileProgress`. Made
    /// inside `tell`, the record was moved twice on its way out of
    /// `step_with`, and each move read back with 16- or 64-byte loads what
    /// had just been stored as 8-byte fields. No store can forward such a
    /// load: it waits until those stores retire, i.e. for the step's last
    /// logarithm and everything after it (d = 10: 204.7 → 193 ns per step
    /// in f32, 232 → 215 in f64).
    #[inline(always)]
    fn tell_stage(&mut self, logp: T) -> Staged {
        self.st.grad_evals += 1;
        self.st.logp_new = logp;
        if !logp.is_finite() || !self.st.dk.is_finite() {
            return Staged::Diverge;
        }
        match self.diags() {
            Diags::Plain => self.stage::<PLAIN>(),
            Diags::StoreScaled => self.stage_scaled::<STORE_SCALED>(),
            Diags::KickScaled => self.stage_scaled::<KICK_SCALED>(),
        }
    }

    /// pSMILE's [`stage`](Self::stage), out of line: see [`clean_reduce`].
    #[inline(never)]
    fn stage_scaled<const V: u8>(&mut self) -> Staged {
        self.stage::<V>()
    }

    /// The rest of `tell` for the diagonals `V` (see [`begin`](Self::begin)).
    #[inline(always)]
    fn stage<const V: u8>(&mut self) -> Staged {
        let k = self.st.stage;
        let m = self.st.integ().grads_per_step();
        let last = k >= m;
        let c = self.sub(k as usize);
        let st = &mut self.st;
        let (clip, zn, uu) = (st.grad_clip, st.zero_nan == 1, st.uu);
        let p = split(self.ws, st.dim as usize, st.xcur, st.gcur);
        let s = &*p.s;
        // Without preconditioning the last kick also makes the next step's
        // first reduction (pSMILE's preconditioner pass makes it instead).
        let (r, flagged, next) = match V {
            PLAIN => stage_impl(p.u, p.g_new, p.x_new, Identity, Identity, Identity, c, last, clip, zn, uu, true),
            STORE_SCALED => stage_impl(p.u, p.g_new, p.x_new, s, Identity, s, c, last, clip, zn, uu, false),
            _ => stage_impl(p.u, p.g_new, p.x_new, Identity, s, s, c, last, clip, zn, uu, false),
        };
        st.step_flagged += flagged;
        st.flagged += flagged;
        // A momentum that overflowed (a huge gradient within `grad_clip`)
        // diverges like a non-finite gradient: the state keeps `uu` finite.
        match r {
            Ok(out) if out.uu.is_finite() => {
                st.dk.add(&out);
                st.uu = out.uu;
                if last {
                    // Into the state now, not through `Staged`: moved out of
                    // the enum, the two values were read back with one load
                    // wider than either store, which no store can forward,
                    // so `finish_step` waited for the stores to retire.
                    if let Some(r) = next {
                        st.next = [r.ug, r.gg];
                    }
                    Staged::Finish(next.is_some())
                } else {
                    st.stage = k + 1;
                    Staged::More
                }
            }
            _ => Staged::Diverge,
        }
    }

    /// `next`: whether the last kick made the next step's first reduction,
    /// left in `st.next` (kept only if the step is accepted: the stored
    /// gradient is then the one it summed, and `u` is unchanged unless a
    /// refresh follows).
    fn finish_step(&mut self, next: bool) -> StepEnd<T> {
        let st = &mut self.st;
        let reference = st.reference();
        let tcfg = GammaTunerConfig {
            reset_prob: st.reset_prob,
            adaption_prob: st.adaption_prob,
            adaption_strength: st.adaption_strength,
            smoothing_factor: st.smoothing_factor,
        };
        let lv = levels_for(&mut self.levels, &tcfg);
        let dk = st.dk.value(T::from_usize(st.dim as usize - 1));
        let has_old = if reference { st.logp != T::ZERO } else { st.has_logp == 1 };
        let de = if has_old { dk + (st.logp - st.logp_new) } else { dk };
        if !de.is_finite() {
            return self.diverge();
        }
        let a = de.abs();
        let decides = tcfg.decides();
        let (dec, fit) = st.tuner.decide_if(a, decides, !reference, lv);
        // Corrected: a reset step's A enters the averages capped at the reset
        // quantile, so a single huge outlier (e.g. a clipped 1e6 gradient)
        // cannot inflate m and s_E for the thousands of steps their decay takes.
        let a_ema = match fit {
            Some(fit) if dec.reset && !reference => {
                let r = T::from_f64(lv.reset_quantile(fit));
                if r < a {
                    r
                } else {
                    a
                }
            }
            _ => a,
        };
        let eps_used = st.step_size;
        // A tuner that cannot decide anything (SMILE-naive) leaves ε alone,
        // clip included. Most steps leave it alone anyway (a move has
        // probability `a`, 0.1 by default): as a branch (to a cold function),
        // the next step starts on the predicted ε instead of waiting for this
        // step's decision, which comes last (it needs the energy error), and
        // `step_size_change` costs nothing when ε stays.
        let change = if decides && dec.active && (dec.shrink || dec.grow || !GammaTuner::<T>::in_range(eps_used)) { move_step_size(st, dec) } else { 0 };
        st.tuner.update(a_ema, st.smoothing_factor);
        let averages = (st.tuner.mean, st.tuner.std);
        if dec.reset {
            self.reset_chain();
        } else {
            st.xcur ^= 1;
            st.gcur ^= 1;
            st.logp = st.logp_new;
            st.has_logp = 1;
            st.has_next = next as u32;
        }
        if self.st.precond == 1 && (reference || !dec.reset) {
            self.precondition();
        }
        let divergence = if dec.reset { Divergence::EnergyError } else { Divergence::None };
        if !dec.reset {
            self.refresh();
        }
        StepEnd { divergence, de, a, dk, eps_used, change, averages }
    }

    /// A reset: position restored, momentum zeroed; the reference keeps the
    /// rejected proposal's gradient and log density. (Out of line, see
    /// [`clean_reduce`].)
    #[cold]
    #[inline(never)]
    fn reset_chain(&mut self) {
        let d = self.d();
        let st = &mut self.st;
        st.resets += 1;
        st.divergences += 1;
        st.uu = T::ZERO;
        self.ws[4 * d..5 * d].fill(T::ZERO);
        if st.reference() {
            st.gcur ^= 1;
            st.logp = st.logp_new;
            st.has_logp = 1;
        }
    }

    /// pSMILE after a step: the gradient-noise averages and the new `s`
    /// (out of line, see [`clean_reduce`]).
    #[inline(never)]
    fn precondition(&mut self) {
        let st = &mut self.st;
        let reference = st.reference();
        let p = split(self.ws, st.dim as usize, st.xcur, st.gcur);
        let sum = if reference { update_noise_ema(p.g_cur, &*p.s, p.gbar, p.sd, true) } else { update_noise_ema(p.g_cur, Identity, p.gbar, p.sd, false) };
        // The new `s` needs the whole sum, so it takes a pass of its own;
        // that pass also makes the next step's first reduction (u and
        // the stored gradient no longer change), which then skips its own.
        let r = precond_from_spread_reduce(p.sd, sum, p.s, p.u, p.g_cur, !reference);
        st.set_next(Some(r));
    }

    /// A non-finite step: everything restored, momentum zeroed, averages left
    /// alone; ε shrinks by `1 − δ` after burn-in (a NaN is often a too-large step).
    fn diverge(&mut self) -> StepEnd<T> {
        let d = self.d();
        let st = &mut self.st;
        st.divergences += 1;
        st.uu = T::ZERO;
        self.ws[4 * d..5 * d].fill(T::ZERO);
        let eps_used = st.step_size;
        let dec = Decision { active: st.tuner.t >= DECIDE_FROM, shrink: true, ..Decision::default() };
        if st.adaption_strength > T::ZERO {
            st.step_size = GammaTuner::adapt(dec, eps_used, st.adaption_strength);
        }
        let change = step_change(dec, eps_used, st.step_size);
        let averages = (st.tuner.mean, st.tuner.std);
        StepEnd { divergence: Divergence::NonFinite, de: T::ZERO, a: T::ZERO, dk: T::ZERO, eps_used, change, averages }
    }

    /// The step's record, made in one place for every way a step ends, so
    /// that `step_with` builds it as its return value (see `tell_stage`).
    fn end_step(&mut self, e: StepEnd<T>) -> SmileStepInfo<T> {
        let StepEnd { divergence, de, a, dk, eps_used, change, averages } = e;
        let st = &mut self.st;
        st.steps += 1;
        st.phase = PHASE_IDLE;
        st.stage = 0;
        SmileStepInfo {
            step: st.steps,
            grad_evals: st.grad_evals,
            divergences: st.divergences,
            resets: st.resets,
            flagged_gradients: st.step_flagged,
            energy_change: de,
            abs_energy_change: a,
            kinetic_change: dk,
            logdensity: st.logp,
            step_size: eps_used,
            next_step_size: st.step_size,
            energy_mean: averages.0,
            energy_std: averages.1,
            divergence,
            step_size_change: change,
        }
    }

    /// Runs one whole step (or the rest of one begun with `ask`), evaluating
    /// every stage with `f`: the caller passes the step's mini-batch
    /// density, one call of `step_with` per mini-batch. Never fails today;
    /// the `Result` matches [`crate::Mclmc::step_with`].
    pub fn step_with<F: LogDensity<T> + ?Sized>(&mut self, f: &mut F) -> Result<SmileStepInfo<T>, Error> {
        loop {
            let r = self.ask();
            let lp = f.logp(r.x, r.grad);
            if self.st.phase != PHASE_IN_STEP {
                return Err(Error::OutOfOrder);
            }
            let end = match self.tell_stage(lp) {
                Staged::More => continue,
                Staged::Finish(next) => self.finish_step(next),
                Staged::Diverge => self.diverge(),
            };
            return Ok(self.end_step(end));
        }
    }
}

/// `ε ← adapt(ε)` for an active step that moves or clips it; returns the
/// step's `step_size_change`.
#[cold]
#[inline(never)]
fn move_step_size<T: Real>(st: &mut SmileState<T>, dec: Decision) -> i32 {
    let before = st.step_size;
    st.step_size = GammaTuner::adapt(dec, before, st.adaption_strength);
    step_change(dec, before, st.step_size)
}

fn step_change<T: Real>(d: Decision, before: T, after: T) -> i32 {
    if !d.active || after == before {
        0
    } else if after < before {
        -1
    } else {
        1
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use crate::targets::StdGaussian;
    use std::vec;

    #[test]
    fn first_step_starts_at_x0_and_reports_kinetic_only() {
        let d = 4;
        let x0 = [0.5f64, -0.3, 0.2, 1.0];
        let mut ws = vec![0.0; Smile::<f64>::workspace_len(d)];
        let mut c = Smile::new(SmileConfig::smile(0.1).reference(), &x0, &mut ws, 1, 0).unwrap();
        let r = c.ask();
        assert_eq!((r.step, r.stage, r.kind), (1, 1, RequestKind::Stage));
        assert_eq!(r.x, &x0, "zero momentum and gradient: the first position update does not move");
        let info = c.step_with(&mut StdGaussian).unwrap();
        assert_eq!(info.energy_change, info.kinetic_change);
        assert_eq!(info.grad_evals, 2);
        assert_eq!(info.energy_mean, info.abs_energy_change);
        assert_eq!(info.energy_std, 1e-6);
    }

    /// The reductions take `‖u‖²` from the state instead of summing it, which
    /// is the same computation only if `uu` is bitwise what a reduction of
    /// `u` sums whenever a momentum update reads it (after a refresh, with a
    /// finite L, `begin_step` sums it again).
    fn tracked_norm<T: Real>() {
        let cfgs = [
            SmileConfig::<T>::smile(T::from_f64(0.3)),
            SmileConfig::psmile(T::from_f64(0.3)),
            SmileConfig::smile(T::from_f64(0.3)).reference(),
            SmileConfig::psmile(T::from_f64(0.3)).reference(),
            SmileConfig { integrator: Integrator::Yoshida, grad_clip: T::from_f64(3.0), ..SmileConfig::psmile(T::from_f64(0.5)) },
        ];
        for cfg in cfgs {
            for d in [2usize, 5, 9, 16, 37] {
                let x0: vec::Vec<T> = (0..d).map(|i| T::from_f64(1.0 + 0.1 * i as f64)).collect();
                let mut ws = vec![T::ZERO; Smile::<T>::workspace_len(d)];
                let mut c = Smile::new(cfg, &x0, &mut ws, 1, 0).unwrap();
                let check = |c: &Smile<'_, T>, when: &str| {
                    let u = &c.ws[4 * d..5 * d];
                    assert_eq!(c.st.uu.to_f64().to_bits(), norm_sq(u).to_f64().to_bits(), "{when}: d={d} {cfg:?}");
                };
                for step in 0..300u64 {
                    loop {
                        let r = c.ask();
                        let mut lp = 0.0;
                        for i in 0..d {
                            let x = r.x[i].to_f64();
                            // Mini-batch noise, and now and then an entry beyond the clip.
                            let b = (((step * 31 + i as u64 * 17) % 23) as f64 - 11.0) * 0.1;
                            let b = if (step + i as u64) % 41 == 0 { 50.0 } else { b };
                            r.grad[i] = T::from_f64(-x + b);
                            lp += -0.5 * x * x + b * x;
                        }
                        check(&c, "ask");
                        let done = matches!(c.tell(T::from_f64(lp)).unwrap(), SmileProgress::Step(_));
                        check(&c, "tell");
                        if done {
                            break;
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn tracked_momentum_norm_is_what_a_reduction_sums() {
        tracked_norm::<f32>();
        tracked_norm::<f64>();
    }
}
