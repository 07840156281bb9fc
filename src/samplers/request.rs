//! The reverse-communication protocol shared by all samplers.
//!
//! A sampler never calls user code. `ask()` returns a [`Request`]: a point
//! `x` and a buffer `grad`; the caller writes `∇ log p(x)` into `grad` and
//! passes `log p(x)` to `tell()`, which continues the step and returns a
//! [`Progress`]. Every step needs one or more evaluations (one per position
//! stage of the integrator). A failed evaluation is reported by telling a
//! NaN: the sampler treats it as a divergence. `ask()` is idempotent: asking
//! again before telling returns the same request.
//!
//! On top of that, [`LogDensity`] is the callback convenience: anything with
//! `fn logp(&mut self, x, grad) -> T` (closures included) can drive whole steps.

/// What the pending evaluation is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum RequestKind {
    /// The initial point: the sampler needs `log p` and its gradient there
    /// before the first step.
    Initial = 0,
    /// A position stage inside a step.
    Stage = 1,
}

/// A pending evaluation: write `∇ log p(x)` into `grad`, then `tell(log p(x))`.
#[derive(Debug)]
pub struct Request<'a, T> {
    /// The point to evaluate at (length d).
    pub x: &'a [T],
    /// Where the gradient goes (length d). Its content on entry is unspecified.
    pub grad: &'a mut [T],
    pub kind: RequestKind,
    /// 1-based index of the step this evaluation belongs to (0 for `Initial`).
    /// Stochastic-gradient callers use one mini-batch per step index.
    pub step: u64,
    /// 1-based position stage within the step (0 for `Initial`).
    pub stage: u32,
}

/// Why a step was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[repr(u32)]
pub enum Divergence {
    /// The step was accepted.
    #[default]
    None = 0,
    /// A log density, gradient or energy change was NaN or infinite.
    NonFinite = 1,
    /// `|ΔE|` exceeded the configured cutoff.
    EnergyError = 2,
}

/// What one finished step did.
#[derive(Clone, Copy, Debug, PartialEq)]
#[repr(C)]
pub struct StepInfo<T> {
    /// Steps completed so far (this one included).
    pub step: u64,
    /// Log-density/gradient evaluations so far, the initial one included.
    pub grad_evals: u64,
    /// Rejected steps so far.
    pub divergences: u64,
    /// `ΔE = ΔK − (log p_new − log p_old)`; 0 for a rejected step.
    pub energy_change: T,
    /// Sum of the kinetic-energy changes of the step's momentum updates; 0 for a rejected step.
    pub kinetic_change: T,
    /// `log p` at the position after the step (the old one if rejected).
    pub logdensity: T,
    /// Step size used.
    pub step_size: T,
    /// `None` if accepted; otherwise why the step was reverted (position,
    /// log density and gradient restored; a fresh random momentum drawn).
    pub divergence: Divergence,
}

impl<T> StepInfo<T> {
    /// Whether the step was rejected.
    pub fn diverged(&self) -> bool {
        self.divergence != Divergence::None
    }
}

/// Result of `tell`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Progress<T> {
    /// The initial evaluation was accepted; the sampler is ready to step.
    Initialized,
    /// The step needs another evaluation: call `ask` again.
    NeedEval,
    /// A step finished.
    Step(StepInfo<T>),
}

/// A log density with gradient, as in nuts-rs / BridgeStan:
/// write `∇ log p(x)` into `grad` and return `log p(x)`. Return NaN (or any
/// non-finite value) when the density cannot be evaluated at `x`: the sampler
/// rejects the step as a divergence and carries on.
pub trait LogDensity<T> {
    fn logp(&mut self, x: &[T], grad: &mut [T]) -> T;
}

impl<T, F: FnMut(&[T], &mut [T]) -> T> LogDensity<T> for F {
    fn logp(&mut self, x: &[T], grad: &mut [T]) -> T {
        self(x, grad)
    }
}
