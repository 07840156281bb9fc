//! Step-size schedules of the stochastic-gradient samplers (ALGORITHMS.md
//! §4.1 and §2.10): plain functions of the step index, plus a [`Schedule`]
//! value that stores one of them inside a sampler's state.
//!
//! The step index `t` is the number of steps the chain has completed before
//! the step being taken (0 for the first step, rejected steps included), so
//! `t = Request::step − 1`. A schedule is a pure function of `t`: a chain
//! restored from a checkpoint continues on the same schedule.
//!
//! The values are computed in `f64` whatever the sampler's precision and
//! rounded once, so the `f32` and `f64` chains follow the same schedule.

use crate::error::Error;
use crate::real::Real;

/// `h(t) = h` for every t.
pub fn constant(h: f64, _t: u64) -> f64 {
    h
}

/// Welling & Teh's decay `h(t) = a (b + t)^(−γ)`. Convergence of the
/// Robbins–Monro kind needs `γ ∈ (½, 1]`; `γ = 0` is a constant step.
pub fn polynomial_decay(a: f64, b: f64, gamma: f64, t: u64) -> f64 {
    a * libm::pow(b + t as f64, -gamma)
}

/// Position of step `t` inside its cycle, in `[0, 1)`: `(t mod period) / period`.
pub fn cycle_position(period: u64, t: u64) -> f64 {
    if period == 0 {
        return 0.0;
    }
    (t % period) as f64 / period as f64
}

/// The cyclical cosine schedule of cSGLD (Zhang et al. 2020), with a floor:
/// `h(t) = h_min + (h_max − h_min)/2 · (1 + cos(π r))`, `r` the
/// [`cycle_position`]. Each cycle restarts at `h_max` and decays towards
/// `h_min` (reached only in the limit, so `h > 0` even when `h_min = 0`).
pub fn cyclical_cosine(h_max: f64, h_min: f64, period: u64, t: u64) -> f64 {
    let r = cycle_position(period, t);
    h_min + 0.5 * (h_max - h_min) * (1.0 + libm::cos(core::f64::consts::PI * r))
}

/// Whether step `t` of a cyclical schedule lies in the exploration stage
/// (`r < explore`), where cSGLD runs without injected noise.
pub fn cyclical_exploring(period: u64, explore: f64, t: u64) -> bool {
    cycle_position(period, t) < explore
}

/// Which formula a [`Schedule`] holds (stored as its `kind` field).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum ScheduleKind {
    /// `h(t) = scale`.
    Constant = 0,
    /// `h(t) = scale · (offset + t)^(−power)` ([`polynomial_decay`]).
    Polynomial = 1,
    /// `h(t) = floor + (scale − floor)/2 · (1 + cos(π r))`, `r = (t mod period)/period`
    /// ([`cyclical_cosine`]); no injected noise while `r < explore`.
    Cyclical = 2,
}

impl ScheduleKind {
    /// The kind with discriminant `k`, if any.
    pub const fn from_u32(k: u32) -> Option<Self> {
        match k {
            0 => Some(Self::Constant),
            1 => Some(Self::Polynomial),
            2 => Some(Self::Cyclical),
            _ => None,
        }
    }
}

/// A step-size schedule as plain data (`#[repr(C)]`, so it crosses the C ABI
/// as is). Build it with [`Schedule::constant`], [`Schedule::polynomial`] or
/// [`Schedule::cyclical`]; the fields a kind does not use are ignored.
#[derive(Clone, Copy, Debug, PartialEq)]
#[repr(C)]
pub struct Schedule<T> {
    /// Cyclical: steps per cycle (≥ 1).
    pub period: u64,
    /// Constant: h. Polynomial: a. Cyclical: h_max. Finite, > 0.
    pub scale: T,
    /// Polynomial: b (finite, > 0).
    pub offset: T,
    /// Polynomial: γ (finite, ≥ 0).
    pub power: T,
    /// Cyclical: h_min (finite, in `[0, scale]`).
    pub floor: T,
    /// Cyclical: fraction of each cycle spent exploring, without noise (in `[0, 1)`).
    pub explore: T,
    /// A [`ScheduleKind`] discriminant.
    pub kind: u32,
}

/// A [`Schedule`] as the chain states store it: the same values with its
/// padding spelled out (`reserved*`, always zero), so that every byte of a
/// state is a field. A C instance is a byte-for-byte checkpoint, and
/// padding would carry stack garbage into it.
#[derive(Clone, Copy, Debug, PartialEq)]
#[repr(C)]
pub(crate) struct StoredSchedule<T> {
    pub period: u64,
    pub scale: T,
    pub offset: T,
    pub power: T,
    pub floor: T,
    pub explore: T,
    pub reserved: T,
    pub kind: u32,
    pub reserved32: u32,
}

impl<T: Real> StoredSchedule<T> {
    pub(crate) fn of(s: &Schedule<T>) -> Self {
        StoredSchedule {
            period: s.period,
            scale: s.scale,
            offset: s.offset,
            power: s.power,
            floor: s.floor,
            explore: s.explore,
            reserved: T::ZERO,
            kind: s.kind,
            reserved32: 0,
        }
    }

    #[inline]
    pub(crate) fn get(&self) -> Schedule<T> {
        Schedule { period: self.period, scale: self.scale, offset: self.offset, power: self.power, floor: self.floor, explore: self.explore, kind: self.kind }
    }

    /// Whether the reserved fields are zero, as [`of`](Self::of) leaves them.
    pub(crate) fn reserved_clear(&self) -> bool {
        self.reserved == T::ZERO && self.reserved32 == 0
    }
}

impl<T: Real> Schedule<T> {
    /// `h(t) = h`.
    pub fn constant(h: T) -> Self {
        Schedule { period: 0, scale: h, offset: T::ZERO, power: T::ZERO, floor: T::ZERO, explore: T::ZERO, kind: ScheduleKind::Constant as u32 }
    }

    /// `h(t) = a (b + t)^(−γ)`.
    pub fn polynomial(a: T, b: T, gamma: T) -> Self {
        Schedule { period: 0, scale: a, offset: b, power: gamma, floor: T::ZERO, explore: T::ZERO, kind: ScheduleKind::Polynomial as u32 }
    }

    /// Cosine cycles of `period` steps from `h_max` down towards `h_min`,
    /// the first `explore` fraction of each cycle without injected noise.
    pub fn cyclical(h_max: T, h_min: T, period: u64, explore: T) -> Self {
        Schedule { period, scale: h_max, offset: T::ZERO, power: T::ZERO, floor: h_min, explore, kind: ScheduleKind::Cyclical as u32 }
    }

    /// cSGLD's parametrisation: `cycles` cycles over `total_steps` steps,
    /// i.e. a period of `⌈total_steps / cycles⌉` (at least 1).
    pub fn cyclical_over(h_max: T, h_min: T, total_steps: u64, cycles: u64, explore: T) -> Self {
        let period = if cycles == 0 { total_steps } else { total_steps.div_ceil(cycles) };
        Self::cyclical(h_max, h_min, period.max(1), explore)
    }

    /// The kind, if `kind` holds a valid discriminant.
    pub fn kind(&self) -> Option<ScheduleKind> {
        ScheduleKind::from_u32(self.kind)
    }

    /// Checks the fields the kind uses. Errors: `InvalidStepSize` (scale not
    /// finite and positive), `InvalidSetting` (another field out of range or
    /// an unknown kind).
    pub fn validate(&self) -> Result<(), Error> {
        let kind = self.kind().ok_or(Error::InvalidSetting)?;
        if !(self.scale > T::ZERO && self.scale.is_finite()) {
            return Err(Error::InvalidStepSize);
        }
        let ok = match kind {
            ScheduleKind::Constant => true,
            ScheduleKind::Polynomial => {
                self.offset > T::ZERO && self.offset.is_finite() && self.power >= T::ZERO && self.power.is_finite()
                    // h(0) must itself be a usable step size, in the
                    // schedule's own precision (f32 overflows sooner).
                    && self.max_step_size().is_finite()
                    && self.max_step_size() > 0.0
                    && T::from_f64(self.max_step_size()).is_finite()
                    && T::from_f64(self.max_step_size()) > T::ZERO
            }
            ScheduleKind::Cyclical => self.period >= 1 && self.floor >= T::ZERO && self.floor <= self.scale && self.explore >= T::ZERO && self.explore < T::ONE,
        };
        if ok {
            Ok(())
        } else {
            Err(Error::InvalidSetting)
        }
    }

    /// The step size of step `t` (0-based), in `f64`.
    pub fn step_size_f64(&self, t: u64) -> f64 {
        match self.kind() {
            Some(ScheduleKind::Constant) => constant(self.scale.to_f64(), t),
            Some(ScheduleKind::Polynomial) => polynomial_decay(self.scale.to_f64(), self.offset.to_f64(), self.power.to_f64(), t),
            Some(ScheduleKind::Cyclical) => cyclical_cosine(self.scale.to_f64(), self.floor.to_f64(), self.period, t),
            None => f64::NAN,
        }
    }

    /// The step size of step `t` (0-based).
    pub fn step_size(&self, t: u64) -> T {
        T::from_f64(self.step_size_f64(t))
    }

    /// Whether step `t` is an exploration step (cyclical schedules only):
    /// the samplers then inject no noise (an optimisation step).
    pub fn exploring(&self, t: u64) -> bool {
        self.kind == ScheduleKind::Cyclical as u32 && cyclical_exploring(self.period, self.explore.to_f64(), t)
    }

    /// The largest step size the schedule ever gives: `h(0)` for all three
    /// kinds (they never increase within a cycle). Settings whose stability
    /// depends on h (SGHMC's `αh < 1`) are checked against it.
    pub fn max_step_size(&self) -> f64 {
        self.step_size_f64(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f32_schedule_whose_first_step_overflows_is_refused() {
        // h(0) = 3e38 / 0.5 = 6e38: finite in f64, infinite in f32.
        assert_eq!(Schedule::<f32>::polynomial(3e38, 0.5, 1.0).validate(), Err(Error::InvalidSetting));
        assert!(Schedule::<f64>::polynomial(3e38, 0.5, 1.0).validate().is_ok());
    }

    #[test]
    fn formulas() {
        assert_eq!(constant(0.3, 17), 0.3);
        // a (b + t)^-γ at a = 0.1, b = 10, γ = 0.55, t = 90: 0.1 · 100^-0.55
        let want = 0.1 * libm::pow(100.0, -0.55);
        assert!((polynomial_decay(0.1, 10.0, 0.55, 90) - want).abs() < 1e-16);
        // Cosine: h_max at the cycle start, the midpoint half-way, h_min approached at the end.
        assert_eq!(cyclical_cosine(1.0, 0.0, 100, 0), 1.0);
        assert_eq!(cyclical_cosine(1.0, 0.0, 100, 200), 1.0);
        assert!((cyclical_cosine(1.0, 0.2, 100, 50) - 0.6).abs() < 1e-15);
        assert!(cyclical_cosine(1.0, 0.0, 100, 99) > 0.0);
        assert!(cyclical_exploring(100, 0.33, 32) && !cyclical_exploring(100, 0.33, 33));
    }

    #[test]
    fn schedule_values_and_validation() {
        let s = Schedule::<f64>::polynomial(0.1, 10.0, 0.55);
        assert_eq!(s.validate(), Ok(()));
        assert_eq!(s.step_size(90), polynomial_decay(0.1, 10.0, 0.55, 90));
        assert_eq!(s.max_step_size(), s.step_size(0));
        let c = Schedule::<f32>::cyclical_over(1e-2, 0.0, 1000, 4, 0.25);
        assert_eq!(c.period, 250);
        assert_eq!(c.validate(), Ok(()));
        assert!(c.exploring(250) && c.exploring(312) && !c.exploring(313));
        assert!(!Schedule::<f32>::constant(1.0).exploring(0));
        assert_eq!(Schedule::<f64>::constant(0.0).validate(), Err(Error::InvalidStepSize));
        assert_eq!(Schedule::<f64>::constant(f64::NAN).validate(), Err(Error::InvalidStepSize));
        assert_eq!(Schedule::<f64>::constant(f64::INFINITY).validate(), Err(Error::InvalidStepSize));
        assert_eq!(Schedule::<f64>::polynomial(0.1, 0.0, 0.5).validate(), Err(Error::InvalidSetting));
        assert_eq!(Schedule::<f64>::polynomial(0.1, 1.0, -0.5).validate(), Err(Error::InvalidSetting));
        assert_eq!(Schedule::<f64>::polynomial(0.1, 1.0, f64::NAN).validate(), Err(Error::InvalidSetting));
        assert_eq!(Schedule::<f64>::cyclical(1.0, 2.0, 10, 0.0).validate(), Err(Error::InvalidSetting));
        assert_eq!(Schedule::<f64>::cyclical(1.0, 0.0, 0, 0.0).validate(), Err(Error::InvalidSetting));
        assert_eq!(Schedule::<f64>::cyclical(1.0, 0.0, 10, 1.0).validate(), Err(Error::InvalidSetting));
        let mut bad = Schedule::<f64>::constant(1.0);
        bad.kind = 7;
        assert_eq!(bad.validate(), Err(Error::InvalidSetting));
    }
}
