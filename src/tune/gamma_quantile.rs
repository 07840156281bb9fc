//! SMILE's energy-error tuner (ALGORITHMS.md §2.4, §2.6): exponential moving
//! averages of `A = |ΔE|`, a Gamma distribution moment-matched to them, and
//! decisions from where the step's `A` falls in that distribution: reset the
//! chain above the `ρ` quantile, shrink the step size by `(1 − δ)` above the
//! `1 − 2a/3` quantile, grow it by `(1 + δ)` below the `a/3` quantile.
//!
//! Two ways to place `A` in the fitted Gamma (shape `k`, scale `θ`):
//!
//! * **reference** — the reference code's Wilson–Hilferty quantiles
//!   `Q(p) = θ·k·(1 − 1/(9k) + z_p/(3√k))³`, compared with `A`. For `k ≲ 0.55`
//!   the lower quantile is negative, so `A < Q(a/3)` never holds and the step
//!   size can only shrink (§2.4 caveat).
//! * **exact** — the Gamma CDF `F(A/θ)` ([`crate::special::gamma_p`]),
//!   compared with the probability levels: `A > Q(p) ⇔ F(A) > p` for the
//!   exact quantile, so this is the exact-quantile rule at the cost of one
//!   CDF evaluation per step instead of three quantiles, and the lower tail
//!   never disappears.
//!
//! The moving averages follow the reference exactly in both cases (its
//! burn-in rules, its bias correction `1 − 0.5^(t−4)` and its clips).

use crate::error::Error;
use crate::real::Real;
use crate::special::{gamma_lg, gamma_p_lg, gamma_quantile, gamma_quantile_with, normal_quantile, GAMMA_LARGE_SHAPE};
use crate::tune::gamma_brackets::{within, GammaBrackets, LargeShapeBounds};
use wide::f64x4;

/// Regulariser added to the variance in the moment match (reference value).
const VAR_EPS: f64 = 1e-6;
/// Clips of the moving averages and the step size (reference values).
const MEAN_MIN: f64 = 1e-6;
const MEAN_MAX: f64 = 1e6;
const STD_MIN: f64 = 1e-6;
const STD_MAX: f64 = 1e7;
pub const STEP_SIZE_MIN: f64 = 1e-8;
pub const STEP_SIZE_MAX: f64 = 10.0;
/// Burn-in: no reset and no step-size change while `t < DECIDE_FROM`; the
/// mean is the last `A` while `t < 3`; no bias correction while `t < 5`.
pub const DECIDE_FROM: u64 = 10;

/// The tuner's constants (the paper's ρ, a, δ, β).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GammaTunerConfig<T> {
    /// ρ ∈ (0, 1]: reset when `A` is above the ρ quantile (1 disables resets).
    pub reset_prob: T,
    /// a ∈ [0, 1): tail mass for step-size moves, `a/3` below and `2a/3` above.
    pub adaption_prob: T,
    /// δ ∈ [0, 1): multiplicative step-size change (0 freezes the step size).
    pub adaption_strength: T,
    /// β ∈ (0, 1]: weight of the newest `A` in the moving averages.
    pub smoothing_factor: T,
}

impl<T: Real> GammaTunerConfig<T> {
    /// The values of every SMILE/pSMILE experiment config of the reference
    /// (§2.4 table): ρ = 0.98, a = 0.1, δ = 0.02, β = 0.01.
    pub fn paper() -> Self {
        GammaTunerConfig {
            reset_prob: T::from_f64(0.98),
            adaption_prob: T::from_f64(0.1),
            adaption_strength: T::from_f64(0.02),
            smoothing_factor: T::from_f64(0.01),
        }
    }

    /// No resets and a fixed step size (SMILE-naive); the averages are still kept.
    pub fn off() -> Self {
        GammaTunerConfig { reset_prob: T::ONE, adaption_prob: T::ZERO, adaption_strength: T::ZERO, smoothing_factor: T::from_f64(0.01) }
    }

    /// Checks the ranges above (NaN fails). Error: `InvalidSetting`.
    pub fn validate(&self) -> Result<(), Error> {
        let ok = self.reset_prob > T::ZERO
            && self.reset_prob <= T::ONE
            && self.adaption_prob >= T::ZERO
            && self.adaption_prob < T::ONE
            && self.adaption_strength >= T::ZERO
            && self.adaption_strength < T::ONE
            && self.smoothing_factor > T::ZERO
            && self.smoothing_factor <= T::ONE;
        if ok {
            Ok(())
        } else {
            Err(Error::InvalidSetting)
        }
    }

    /// Whether any decision can fire: otherwise [`GammaTuner::decide`] skips
    /// the quantile work.
    pub fn decides(&self) -> bool {
        self.reset_prob < T::ONE || (self.adaption_prob > T::ZERO && self.adaption_strength > T::ZERO)
    }
}

/// The per-configuration constants of the decisions, so that a sampler pays
/// for them once instead of every step: the three probability levels and
/// their standard-normal quantiles `z_p = Φ⁻¹(p)` (used by the
/// Wilson–Hilferty thresholds and as the start of the exact quantile), a
/// one-entry memo of the exact reset quantile `Q_ρ(k)` (the shape repeats
/// exactly while the averages sit at their clips, as in a run of resets),
/// and a cache ([`GammaBrackets`]) that lets most steps of the exact rule skip
/// the Gamma CDF. None of it changes a decision, so a sampler keeps
/// it outside its checkpointed state: a rebuilt chain decides the same.
///
/// Plain data (floats and integers, no padding), like [`GammaBrackets`]:
/// the C ABI keeps it in instance memory after the workspace, so that the
/// cache outlives each call.
#[derive(Clone, Copy, Debug, PartialEq)]
#[repr(C)]
pub struct TunerLevels {
    /// The settings these levels belong to, as `f64` (`ρ`, `a`).
    key: [f64; 2],
    /// `ρ`, `1 − 2a/3`, `a/3`: reset above the first, shrink above the
    /// second, grow below the third.
    p: [f64; 3],
    /// `z` of the three levels, valid when `has_z != 0`; computed on first
    /// use (the exact rule needs only `z_ρ`, on a reset, until it builds a
    /// bracket).
    z: [f64; 3],
    /// `(k, Q_ρ(k))` of the last exact reset quantile; `k` is NaN when empty.
    memo: [f64; 2],
    /// Lets most steps of the exact rule skip the CDF.
    brackets: GammaBrackets,
    /// The same at shapes `≥ GAMMA_LARGE_SHAPE`, valid when `has_large != 0`,
    /// made after `LARGE_BUILD_AFTER` exact evaluations there
    /// (`large_exact` counts them), so that levels made afresh every step
    /// never pay for it.
    large: LargeShapeBounds,
    /// Which levels can fire, one bit each (reset, shrink, grow): `ρ < 1`,
    /// `1 − 2a/3 < 1`, `a/3 > 0` (the CDF is never above 1 or below 0, so
    /// the others are constant `false`). A mask rather than three flags:
    /// the cached path makes its decision with one `and`.
    live: u32,
    has_z: u32,
    has_large: u32,
    large_exact: u32,
}

/// See [`TunerLevels::large`]: the bounds cost three normal quantiles and
/// six CDFs (~1 µs), about 16 exact evaluations at a large shape.
const LARGE_BUILD_AFTER: u32 = 16;

impl TunerLevels {
    /// The levels of `cfg` (cheap: no transcendental until one is needed).
    pub fn new<T: Real>(cfg: &GammaTunerConfig<T>) -> Self {
        let rho = cfg.reset_prob.to_f64();
        let ap = cfg.adaption_prob.to_f64();
        let p = levels_of(rho, ap);
        TunerLevels {
            key: [rho, ap],
            p,
            z: [0.0; 3],
            memo: [f64::NAN, 0.0],
            brackets: GammaBrackets::new(),
            large: LargeShapeBounds::new(p, [0.0; 3], [false; 3]),
            live: live_bits(live_of(p)),
            has_z: 0,
            has_large: 0,
            large_exact: 0,
        }
    }

    /// Whether these are the levels of `cfg` (settings can change between steps).
    pub fn matches<T: Real>(&self, cfg: &GammaTunerConfig<T>) -> bool {
        self.key == [cfg.reset_prob.to_f64(), cfg.adaption_prob.to_f64()]
    }

    /// Whether the levels and flags are those their key gives (levels read
    /// from memory the crate does not own, e.g. a C instance, are used only
    /// then; the cached bounds cannot be checked this cheaply).
    pub(crate) fn is_consistent(&self) -> bool {
        let [rho, ap] = self.key;
        let p = levels_of(rho, ap);
        // Element by element: array compares went through the stack.
        let same = |i: usize| self.p[i].to_bits() == p[i].to_bits();
        same(0) && same(1) && same(2) && self.live == live_bits(live_of(p)) && self.has_z <= 1 && self.has_large <= 1 && self.brackets.format_ok()
    }

    /// Decisions the bracket cache answered minus builds times their price
    /// (a lower bound on the answers).
    #[cfg(test)]
    pub(crate) fn cache_balance(&self) -> i64 {
        self.brackets.balance()
    }

    fn live(&self) -> [bool; 3] {
        [self.live & 1 != 0, self.live & 2 != 0, self.live & 4 != 0]
    }

    fn z(&mut self) -> [f64; 3] {
        if self.has_z == 0 {
            (self.z, self.has_z) = (self.p.map(normal_quantile), 1);
        }
        self.z
    }

    /// [`GammaTuner::exact_quantile`]`(ρ)` from the fit of a step's
    /// [`GammaTuner::decide_with`] (the averages not yet updated): the same
    /// value, bit for bit.
    pub fn reset_quantile(&mut self, fit: Fit) -> f64 {
        // Bitwise equality: the memo must return exactly what a fresh
        // evaluation would (NaN never matches, so an empty memo misses).
        let q = if self.memo[0] == fit.k {
            self.memo[1]
        } else {
            let z = self.z()[0];
            let q = gamma_quantile_with(fit.k, self.p[0], z, gamma_lg(fit.k));
            self.memo = [fit.k, q];
            q
        };
        fit.theta * q
    }

    /// The exact rule's `[reset, shrink, grow]` for `y = A/θ` in the Gamma
    /// of shape `k`: `F(y; k)` against the three levels, from the cache
    /// when it settles all live levels, else from [`gamma_p_lg`].
    #[inline]
    fn place(&mut self, k: f64, y: f64) -> [bool; 3] {
        let live = self.live();
        let cached = if self.has_large != 0 && k >= GAMMA_LARGE_SHAPE { self.large.lookup(k, y) } else { self.brackets.lookup(k, y) };
        if let Some(above) = cached {
            // grow is `F < a/3`, the other side of its level (the bounds
            // never answer for `F` at the level itself).
            return [live[0] && above[0], live[1] && above[1], live[2] && !above[2]];
        }
        self.place_exact(k, y)
    }

    /// The cached bounds for shape `k` in units of `A`; `None` if nothing
    /// is cached for `k`. The step then compares `A` with `θ·B`, all levels
    /// in one vector compare per side, instead of dividing `A` by `θ` and
    /// looking the bounds up by `y` (SMILE at d = 10: ~4 ns per step in f32
    /// and f64, and ~2.5 ns more for the vector form).
    ///
    /// Why `A > θ·B` gives `fl(A/θ) > y` for a bound `y` stored widened as
    /// `B ≥ y(1 + 10⁻¹⁴)(1 − 2u)` (`u = 2⁻⁵³`, [`gamma_brackets`]): with
    /// `θ` in `[10⁻²⁰, 10²⁰]` and `B` in `[10⁻²⁶⁰, 10²⁶⁰]` the product is a
    /// normal number, `fl(θB) ≥ θy(1 + 10⁻¹⁴)(1 − 2u)(1 − u)`, and rounding
    /// `A/θ` to nearest loses at most one more `(1 − u)`: `fl(A/θ) > y`. The
    /// mirror image holds for `A < θ·B` and the `below` bounds, and `±∞`
    /// (dead or unsettled levels) stays `±∞`.
    ///
    /// [`gamma_brackets`]: crate::tune::gamma_brackets
    #[inline]
    fn bounds_in_a(&self, k: f64, theta: f64) -> Option<(f64x4, f64x4)> {
        if !within(theta, THETA_MIN, THETA_MAX) {
            return None;
        }
        let (above, below) = if self.has_large != 0 && k >= GAMMA_LARGE_SHAPE { self.large.bounds(k)? } else { self.brackets.bounds(k)? };
        let th = f64x4::splat(theta);
        Some((th * f64x4::new(above), th * f64x4::new(below)))
    }

    /// [`place`](Self::place) without the cache (kept out of line: the
    /// cached path is a few comparisons, this one a CDF evaluation).
    #[inline(never)]
    fn place_exact(&mut self, k: f64, y: f64) -> [bool; 3] {
        let live = self.live();
        let f = gamma_p_lg(k, y, gamma_lg(k));
        if k >= GAMMA_LARGE_SHAPE {
            if self.has_large == 0 {
                self.large_exact = self.large_exact.saturating_add(1);
                if self.large_exact >= LARGE_BUILD_AFTER {
                    (self.large, self.has_large) = (LargeShapeBounds::new(self.p, self.z(), live), 1);
                }
            }
            return [live[0] && f > self.p[0], live[1] && f > self.p[1], live[2] && f < self.p[2]];
        }
        let (p, zs, has_z) = (self.p, &mut self.z, &mut self.has_z);
        let z = || {
            if *has_z == 0 {
                (*zs, *has_z) = (p.map(normal_quantile), 1);
            }
            *zs
        };
        self.brackets.after_exact(k, p, z, live);
        [live[0] && f > p[0], live[1] && f > p[1], live[2] && f < p[2]]
    }
}

/// Scales `θ` for which cached bounds are compared in `A` units (the
/// clips make `θ = s_E²/m` lie in `[10⁻¹⁸, 10²⁰]`).
const THETA_MIN: f64 = 1e-20;
const THETA_MAX: f64 = 1e20;

/// `ρ`, `1 − 2a/3`, `a/3` (the reference's spelling of the two tail levels).
fn levels_of(rho: f64, ap: f64) -> [f64; 3] {
    [rho, 1.0 - 2.0 * ap / 3.0, ap / 3.0]
}

/// Which of the levels `p` can fire.
fn live_of(p: [f64; 3]) -> [bool; 3] {
    [p[0] < 1.0, p[1] < 1.0, p[2] > 0.0]
}

/// `live` as the bits of [`TunerLevels::live`].
fn live_bits(live: [bool; 3]) -> u32 {
    live[0] as u32 | (live[1] as u32) << 1 | (live[2] as u32) << 2
}

/// The Gamma fit a decision used (shape `k`, scale `θ`), passed on to
/// [`TunerLevels::reset_quantile`] in the same step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Fit {
    pub k: f64,
    pub theta: f64,
}

/// What the tuner concluded about one step's `A`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Decision {
    /// Burn-in is over (`t ≥ 10`): resets and step-size moves are allowed.
    pub active: bool,
    /// `A` is above the reset quantile.
    pub reset: bool,
    /// `A` is above the upper adaptation quantile: multiply ε by `1 − δ`.
    pub shrink: bool,
    /// `A` is below the lower adaptation quantile: multiply ε by `1 + δ`.
    pub grow: bool,
}

/// The tuner's state: plain data, part of a sampler's checkpoint.
#[derive(Clone, Copy, Debug, PartialEq)]
#[repr(C)]
pub struct GammaTuner<T> {
    /// Moving average of `A` (`m`, "energy_var_mean"); 0 before the first update.
    pub mean: T,
    /// Moving standard deviation of `A` (`s_E`, "energy_var_std").
    pub std: T,
    /// Step counter `t`, 1 before the first update.
    pub t: u64,
}

impl<T: Real> Default for GammaTuner<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Real> GammaTuner<T> {
    /// The reference's initial state: `m = s_E = 0`, `t = 1`.
    pub fn new() -> Self {
        GammaTuner { mean: T::ZERO, std: T::ZERO, t: 1 }
    }

    /// Whether the values could have come from [`update`](Self::update).
    pub fn is_valid(&self) -> bool {
        self.t >= 1 && self.mean >= T::ZERO && self.mean.is_finite() && self.std >= T::ZERO && self.std.is_finite()
    }

    /// Shape `k` and scale `θ` of the Gamma moment-matched to the averages,
    /// in `f64`. With `regularise` (the reference) the variance gets `+1e-6`:
    /// an *absolute* floor, which makes the fitted shape `m²/(s_E² + 1e-6)`
    /// collapse when `|ΔE|` is of order 1e-3 or smaller (see [`decide`](Self::decide)).
    /// Without it the fit is scale-invariant; the clip `s_E ≥ 1e-6` keeps the
    /// variance positive.
    pub fn gamma_params(&self, regularise: bool) -> (f64, f64) {
        let m = self.mean.to_f64();
        let s = self.std.to_f64();
        let v = if regularise { s * s + VAR_EPS } else { s * s };
        (m * m / v, v / m)
    }

    /// The reference's Wilson–Hilferty quantile at probability `p` of the
    /// moment-matched (regularised) Gamma; negative for small shapes.
    pub fn wilson_hilferty(&self, p: f64) -> f64 {
        let (k, theta) = self.gamma_params(true);
        wh_quantile(k, theta, libm::sqrt(k), normal_quantile(p))
    }

    /// The exact quantile at probability `p` of the moment-matched
    /// (unregularised) Gamma: what the corrected rule compares with.
    pub fn exact_quantile(&self, p: f64) -> f64 {
        let (k, theta) = self.gamma_params(false);
        theta * gamma_quantile(k, p)
    }

    /// Places `a` (finite, ≥ 0) in the Gamma fitted to the averages *before*
    /// this step. No decision fires during burn-in (`t < 10`) or when the
    /// configuration cannot decide anything.
    ///
    /// `exact = false` is the reference rule (Wilson–Hilferty, regularised
    /// fit). `exact = true` is the corrected rule: exact Gamma CDF and the
    /// scale-invariant fit. The reference's absolute `+1e-6` matters when
    /// `|ΔE|` is small (exact or low-noise gradients): once `s_E² ≲ 1e-6` the
    /// fitted shape falls like `m²/1e-6`, almost every `A` lands above the
    /// reset quantile, each reset shrinks ε, which shrinks `A` further, and
    /// the chain ends in a reset storm at ε = 1e-8 (`tests/smile_stats.rs`).
    pub fn decide(&self, a: T, cfg: &GammaTunerConfig<T>, exact: bool) -> Decision {
        self.decide_with(a, cfg, exact, &mut TunerLevels::new(cfg)).0
    }

    /// [`decide`](Self::decide) with the configuration's constants in `lv`
    /// (`TunerLevels::new(cfg)`, kept across steps): the same decision, bit
    /// for bit, for one CDF evaluation (exact rule) or three polynomials
    /// (reference rule) per step. Also returns the exact rule's fit, which
    /// [`TunerLevels::reset_quantile`] reuses.
    pub fn decide_with(&self, a: T, cfg: &GammaTunerConfig<T>, exact: bool, lv: &mut TunerLevels) -> (Decision, Option<Fit>) {
        self.decide_if(a, cfg.decides(), exact, lv)
    }

    /// [`decide_with`](Self::decide_with) given `cfg.decides()`, which a
    /// sampler needs again for the step size (evaluated once per step).
    #[inline(always)]
    pub(crate) fn decide_if(&self, a: T, decides: bool, exact: bool, lv: &mut TunerLevels) -> (Decision, Option<Fit>) {
        let mut d = Decision { active: self.t >= DECIDE_FROM, ..Decision::default() };
        if !d.active || !decides {
            return (d, None);
        }
        let a = a.to_f64();
        if exact {
            let (k, theta) = self.gamma_params(false);
            // As `gamma_brackets::settle`, in `A` units, all levels at once
            // (the fourth lane always reads "below").
            let settled = lv.bounds_in_a(k, theta).and_then(|(over, under)| {
                let av = f64x4::splat(a);
                let above = av.simd_gt(over).to_bitmask();
                let below = av.simd_lt(under).to_bitmask();
                ((above | below) == 0b1111).then_some(above)
            });
            [d.reset, d.shrink, d.grow] = match settled {
                Some(above) => {
                    lv.brackets.count_hit();
                    // grow fires *below* its level.
                    let fire = (above ^ 0b100) & lv.live;
                    [fire & 1 != 0, fire & 2 != 0, fire & 4 != 0]
                }
                None => lv.place(k, a / theta),
            };
            (d, Some(Fit { k, theta }))
        } else {
            let (k, theta) = self.gamma_params(true);
            let sk = libm::sqrt(k);
            let [zr, zu, zl] = lv.z();
            d.reset = a > wh_quantile(k, theta, sk, zr);
            d.shrink = a > wh_quantile(k, theta, sk, zu);
            d.grow = a < wh_quantile(k, theta, sk, zl);
            (d, None)
        }
    }

    /// The reference's moving-average update with this step's `a`, then `t += 1`.
    pub fn update(&mut self, a: T, smoothing: T) {
        let one = T::ONE;
        let clip = |v: T, lo: f64, hi: f64| v.max(T::from_f64(lo)).min(T::from_f64(hi));
        let m = if self.t < 3 { a } else { self.mean * (one - smoothing) + smoothing * a };
        let m = clip(m, MEAN_MIN, MEAN_MAX);
        // The previous spread enters from the second update on (the
        // reference multiplies it by 0 or 1; `s² · 1 = s²` exactly, and
        // `s²` is finite, so skipping the product changes no bit).
        let prior = if self.t != 1 { self.std * self.std * (one - smoothing) } else { T::ZERO };
        let dev = a - m;
        let v = prior + smoothing * (dev * dev);
        // 0.5^n underflows to 0 long before n = 2000, in f32 and f64 alike.
        // Bias correction `v / (1 − 0.5^(t−4))`; the divisor is exactly 1
        // outside `5 ≤ t ≤ 2004`, and `v / 1 = v`: skipping the division
        // there shortens the chain at the end of every step (this update
        // waits for the step's last kinetic-energy logarithm).
        let v = if self.t < 5 || self.t - 4 > 2000 { v } else { v / (one - T::from_f64(half_pow(self.t - 4))) };
        self.std = clip(v.sqrt(), STD_MIN, STD_MAX);
        self.mean = m;
        self.t += 1;
    }

    /// Whether `eps` is within the clip `[1e-8, 10]` of [`adapt`](Self::adapt),
    /// so that an active step without a move leaves it as it is.
    pub(crate) fn in_range(eps: T) -> bool {
        // On the bits (see `Real::to_bits_u64`): a negative or NaN `eps`
        // has bits above the maximum's, as it compares false.
        let b = eps.to_bits_u64();
        b >= T::from_f64(STEP_SIZE_MIN).to_bits_u64() && b <= T::from_f64(STEP_SIZE_MAX).to_bits_u64()
    }

    /// The step size after `d` (call with the decision of the same step,
    /// before or after [`update`](Self::update)): unchanged during burn-in,
    /// else moved by `(1 ∓ δ)` and clipped to `[1e-8, 10]`.
    pub fn adapt(d: Decision, eps: T, strength: T) -> T {
        if !d.active {
            return eps;
        }
        let mut e = eps;
        if d.shrink {
            e *= T::ONE - strength;
        }
        if d.grow {
            e *= T::ONE + strength;
        }
        e.max(T::from_f64(STEP_SIZE_MIN)).min(T::from_f64(STEP_SIZE_MAX))
    }
}

/// The reference's Wilson–Hilferty quantile `θ·k·(1 − 1/(9k) + z/(3√k))³`
/// (`sk = √k`), in its exact order of operations.
#[inline]
fn wh_quantile(k: f64, theta: f64, sk: f64, z: f64) -> f64 {
    let tmp = 1.0 - 1.0 / (9.0 * k) + z / (3.0 * sk);
    theta * (k * (tmp * tmp * tmp))
}

/// `0.5ⁿ`, exactly (what `libm::pow(0.5, n)` returns, for a fraction of its
/// cost): built from its bits, subnormal below `2⁻¹⁰²²`, 0 below `2⁻¹⁰⁷⁴`.
#[inline]
fn half_pow(n: u64) -> f64 {
    if n <= 1022 {
        f64::from_bits((1023 - n) << 52)
    } else if n <= 1074 {
        f64::from_bits(1u64 << (1074 - n))
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_pow_is_libm_pow_bit_for_bit() {
        for n in 0..2100u64 {
            assert_eq!(half_pow(n).to_bits(), libm::pow(0.5, n as f64).to_bits(), "n = {n}");
        }
    }

    #[test]
    fn cached_levels_decide_as_the_plain_rule() {
        // Shapes from tiny to large, A across every threshold, both rules,
        // default and edge settings: decide_with and reset_quantile must
        // reproduce decide and exact_quantile bit for bit, with the levels
        // (and the memo) reused across calls as a sampler does.
        let cfgs = [
            GammaTunerConfig::<f64>::paper(),
            GammaTunerConfig { reset_prob: 1.0, ..GammaTunerConfig::paper() },
            GammaTunerConfig { adaption_prob: 0.0, ..GammaTunerConfig::paper() },
            GammaTunerConfig { reset_prob: 0.5, adaption_prob: 0.9, ..GammaTunerConfig::paper() },
        ];
        for cfg in cfgs {
            let mut lv = TunerLevels::new(&cfg);
            assert!(lv.matches(&cfg) && !lv.matches(&GammaTunerConfig { reset_prob: 0.97, ..cfg }));
            for (m, s) in [(1e-6, 1e-6), (1.0, 2f64.sqrt()), (2.0, 1.0), (3.0, 1e-3), (1e-3, 0.5), (5.0, 0.01), (1e-6, 1e-6)] {
                let tu = at(m, s);
                for f in [0.0, 1e-9, 1e-3, 0.1, 0.5, 0.9, 1.0, 1.5, 3.0, 10.0, 1e3] {
                    let a = m * f;
                    for exact in [false, true] {
                        let (d, fit) = tu.decide_with(a, &cfg, exact, &mut lv);
                        assert_eq!(d, tu.decide(a, &cfg, exact), "m={m} s={s} a={a} exact={exact}");
                        if let Some(fit) = fit {
                            let q = lv.reset_quantile(fit);
                            assert_eq!(q.to_bits(), tu.exact_quantile(cfg.reset_prob).to_bits(), "m={m} s={s}");
                        }
                    }
                }
            }
        }
    }

    /// Drives a tuner 100 000 steps with `cfg` on `A = a_of(step, ε, ξ)`
    /// (`ξ` standard normal, `ε` moved by the decisions), its levels kept
    /// across steps, and asserts that every decision equals the one made with
    /// fresh levels (no cache, exact CDF). `visit` sees each step's decision,
    /// fit, levels and `A`; the kept levels are returned.
    fn kept_levels_decide_as_fresh(
        cfg: GammaTunerConfig<f64>,
        rng: &mut crate::rng::Rng,
        a_of: impl Fn(u32, f64, f64) -> f64,
        mut visit: impl FnMut(Decision, Option<Fit>, &TunerLevels, f64),
    ) -> TunerLevels {
        let mut lv = TunerLevels::new(&cfg);
        let mut tu = GammaTuner::<f64>::new();
        let mut eps = 0.3;
        for step in 0..100_000u32 {
            let (u1, u2) = (rng.uniform().max(1e-300), rng.uniform());
            let xi = libm::sqrt(-2.0 * libm::log(u1)) * libm::cos(core::f64::consts::TAU * u2);
            let a = a_of(step, eps, xi);
            let (d, fit) = tu.decide_with(a, &cfg, true, &mut lv);
            assert_eq!(d, tu.decide(a, &cfg, true), "a = {a}, tuner {tu:?}");
            visit(d, fit, &lv, a);
            eps = GammaTuner::adapt(d, eps, cfg.adaption_strength);
            tu.update(a, cfg.smoothing_factor);
        }
        lv
    }

    /// The paper's settings, with and without resets.
    fn chain_configs() -> [GammaTunerConfig<f64>; 2] {
        [GammaTunerConfig::paper(), GammaTunerConfig { reset_prob: 1.0, ..GammaTunerConfig::paper() }]
    }

    #[test]
    fn a_chain_with_the_cache_decides_as_one_without() {
        // A tuner fed |ΔE| of a chain whose scale moves with its step size
        // (|ΔE| ∝ ε² times a half-normal-like noise), levels kept across
        // steps (so the bracket cache builds and answers) against fresh
        // levels every step (exact CDF always): the same decisions, the same
        // step sizes, and most decisions came from the cache.
        let mut rng = crate::rng::Rng::new(11, 0);
        for cfg in chain_configs() {
            let mut counts = [0u32; 3];
            let lv = kept_levels_decide_as_fresh(
                cfg,
                &mut rng,
                |_, eps, xi| eps * eps * libm::fabs(xi),
                |d, _, _, _| {
                    counts[0] += d.reset as u32;
                    counts[1] += d.shrink as u32;
                    counts[2] += d.grow as u32;
                },
            );
            assert!(counts[1] > 1000 && counts[2] > 1000 && (counts[0] > 100 || cfg.reset_prob == 1.0), "{counts:?}");
            assert!(lv.brackets.balance() > 50_000, "cache balance {}", lv.brackets.balance());
        }
    }

    #[test]
    fn large_shapes_decide_as_without_bounds() {
        // |ΔE| nearly constant (relative noise 1e-2 … 1e-6, as in a chain
        // whose energy error is a steady drift): fitted shapes 1e3 … 1e12,
        // where the decisions come from `LargeShapeBounds`. Kept levels
        // against fresh ones every step: the same decisions, and the bounds
        // settle nearly all of them.
        let mut rng = crate::rng::Rng::new(12, 0);
        for cfg in chain_configs() {
            let (mut large, mut settled, mut moves) = (0u32, 0u32, 0u32);
            kept_levels_decide_as_fresh(
                cfg,
                &mut rng,
                |step, eps, xi| eps * eps * (1.0 + [1e-2, 1e-3, 1e-4, 1e-6][(step / 25_000) as usize] * xi),
                |d, fit, lv, a| {
                    if let (Some(f), true) = (fit, lv.has_large != 0) {
                        let b = lv.large;
                        if f.k >= GAMMA_LARGE_SHAPE {
                            large += 1;
                            settled += b.lookup(f.k, a / f.theta).is_some() as u32;
                        }
                    }
                    moves += (d.shrink || d.grow) as u32;
                },
            );
            assert!(large > 90_000 && settled as f64 > 0.999 * large as f64 && moves > 1000, "{large} {settled} {moves}");
        }
    }

    #[test]
    fn burn_in_rules_and_clips() {
        let mut t = GammaTuner::<f64>::new();
        let cfg = GammaTunerConfig::paper();
        // t = 1: m = A, spread from scratch (0 → clipped to 1e-6).
        t.update(3.0, 0.01);
        assert_eq!((t.mean, t.std, t.t), (3.0, 1e-6, 2));
        // t = 2: m = A again; v = 1e-12·0.99 + 0, whose root is below the clip.
        t.update(5.0, 0.01);
        assert_eq!((t.mean, t.std), (5.0, 1e-6));
        // t = 3: EMA starts.
        t.update(7.0, 0.01);
        assert!((t.mean - (5.0 * 0.99 + 0.07)).abs() < 1e-14);
        assert!((t.std - (1e-12 * 0.99 + 0.01 * (7.0 - t.mean).powi(2)).sqrt()).abs() < 1e-14);
        // t = 5: bias correction 1 − 0.5 = 0.5.
        t.update(1.0, 0.01);
        let (m4, s4) = (t.mean, t.std);
        t.update(2.0, 0.01);
        let m5 = m4 * 0.99 + 0.02;
        assert!((t.mean - m5).abs() < 1e-14);
        assert!((t.std - ((s4 * s4 * 0.99 + 0.01 * (2.0 - m5).powi(2)) / 0.5).sqrt()).abs() < 1e-12);
        // No decisions before t = 10.
        assert_eq!(t.t, 6);
        assert_eq!(t.decide(1e9, &cfg, false), Decision::default());
        assert_eq!(GammaTuner::adapt(t.decide(1e9, &cfg, true), 0.5, 0.02), 0.5);
        // Clips.
        let mut c = GammaTuner::<f64>::new();
        c.update(1e300, 0.5);
        assert_eq!(c.mean, 1e6);
        c.update(0.0, 0.5);
        assert_eq!(c.mean, 1e-6);
        assert!(c.std <= 1e7);
        let d = Decision { active: true, reset: false, shrink: false, grow: true };
        assert_eq!(GammaTuner::adapt(d, 9.9, 0.5), 10.0);
        assert_eq!(GammaTuner::adapt(Decision { grow: false, shrink: true, ..d }, 1.5e-8, 0.5), 1e-8);
    }

    #[test]
    fn bounds_in_a_units_answer_as_in_y_units() {
        // The lemma of `TunerLevels::bounds_in_a`: for a bound `y` stored
        // widened as `B` and any θ in range, every `A > fl(θB)` has
        // `fl(A/θ) > y`, and every `A < fl(θB')` (`B'` a widened `below`)
        // has `fl(A/θ) < y`. Checked at the first `A` past the threshold,
        // where the rounding matters, over bounds and scales spread across
        // the whole range and at its ends. (Without the widening the first
        // `A` past `θy` often rounds back to `y`.)
        use crate::tune::gamma_brackets::{widen_above, widen_below};
        let mut rng = crate::rng::Rng::new(21, 0);
        let mut log_uniform = |lo: f64, hi: f64| libm::exp(lo + (hi - lo) * rng.uniform());
        let ends = [1e-260, 1e-259, 1e260 * 0.99, 1e260];
        let mut checked = 0;
        for n in 0..400_000 {
            let y = if n % 100 == 0 { ends[n / 100 % 4] } else { log_uniform(-600.0, 600.0) };
            let theta = match n % 7 {
                0 => THETA_MIN,
                1 => THETA_MAX,
                _ => log_uniform(-46.0, 46.0),
            };
            let (over, under) = (theta * widen_above(y), theta * widen_below(y));
            if over.is_finite() {
                let a = f64::from_bits(over.to_bits() + 1);
                assert!(a / theta > y, "above: y={y:e} theta={theta:e}");
                checked += 1;
            }
            if under > 0.0 && under.is_finite() {
                let a = f64::from_bits(under.to_bits() - 1);
                assert!(a / theta < y, "below: y={y:e} theta={theta:e}");
                checked += 1;
            }
        }
        assert!(checked > 500_000);
        // Outside the range the bounds settle nothing: `+∞` above, `−∞` below.
        assert_eq!(widen_above(1e300), f64::INFINITY);
        assert_eq!(widen_below(1e-300), f64::NEG_INFINITY);
        assert_eq!(widen_below(f64::INFINITY), f64::INFINITY);
        assert_eq!(widen_above(f64::NAN), f64::INFINITY);
        assert_eq!(widen_below(f64::NAN), f64::NEG_INFINITY);
    }

    #[test]
    fn decisions_in_a_units_are_the_exact_rule() {
        // A chain's levels with built cells: `decide_with` at A next to
        // every cached threshold (in A units) decides as the exact rule
        // with fresh levels.
        let cfg = GammaTunerConfig::<f64>::paper();
        let mut rng = crate::rng::Rng::new(22, 0);
        let mut lv = TunerLevels::new(&cfg);
        let mut fast = 0;
        for (m, s) in [(1.0, 0.5), (2.0, 1.0), (1e-3, 2e-3), (5.0, 0.4), (1e4, 3e3), (0.3, 0.05)] {
            let tu = at(m, s);
            // Build the cells: exact evaluations until the credit pays.
            for _ in 0..400 {
                let a = m * (0.2 + 3.0 * rng.uniform());
                tu.decide_with(a, &cfg, true, &mut lv);
            }
            let (k, theta) = tu.gamma_params(false);
            let fit = Fit { k, theta };
            let Some((over, under)) = lv.bounds_in_a(k, theta) else { panic!("m={m} s={s}: no cell") };
            for t in over.to_array().into_iter().chain(under.to_array()).filter(|t| t.is_finite() && *t > 0.0) {
                for k in -3i64..=3 {
                    let a = f64::from_bits((t.to_bits() as i64 + k) as u64);
                    let (d, f) = tu.decide_with(a, &cfg, true, &mut lv);
                    assert_eq!((d, f), (tu.decide(a, &cfg, true), Some(fit)), "m={m} s={s} a={a:e}");
                    fast += 1;
                }
            }
        }
        assert!(fast > 100);
    }

    /// A tuner state with a given mean and spread, past burn-in.
    fn at(mean: f64, std: f64) -> GammaTuner<f64> {
        GammaTuner { mean, std, t: 100 }
    }

    #[test]
    fn exact_and_wilson_hilferty_agree_for_moderate_shapes() {
        let cfg = GammaTunerConfig::<f64>::paper();
        // Shape 4: WH is accurate to ~1% relative in the quantile; decisions
        // for A away from the thresholds must coincide.
        let tu = at(2.0, 1.0);
        for p in [0.1 / 3.0, 1.0 - 0.2 / 3.0, 0.98] {
            let (wh, ex) = (tu.wilson_hilferty(p), tu.exact_quantile(p));
            assert!((wh - ex).abs() < 1.5e-2 * ex, "p={p}: WH {wh} exact {ex}");
            for f in [0.9, 1.1] {
                let a = ex * f;
                assert_eq!(tu.decide(a, &cfg, true), tu.decide(a, &cfg, false), "A = {a}");
            }
        }
        let d = tu.decide(tu.exact_quantile(0.99), &cfg, true);
        assert!(d.active && d.reset && d.shrink && !d.grow);
        let d = tu.decide(tu.exact_quantile(0.01), &cfg, true);
        assert!(!d.reset && !d.shrink && d.grow);
        let d = tu.decide(tu.exact_quantile(0.5), &cfg, true);
        assert!(!d.reset && !d.shrink && !d.grow);
    }

    #[test]
    fn small_shape_lower_quantile_exact_is_positive_wh_is_not() {
        // Shape 0.5 (s_E = √2·m): the §2.4 caveat.
        let tu = at(1.0, 2f64.sqrt());
        let (k, _) = tu.gamma_params(true);
        assert!((k - 0.5).abs() < 1e-5);
        assert!((tu.gamma_params(false).0 - 0.5).abs() < 1e-15);
        let p = 0.1 / 3.0;
        assert!(tu.wilson_hilferty(p) < 0.0);
        let q = tu.exact_quantile(p);
        assert!(q > 0.0);
        let cfg = GammaTunerConfig::<f64>::paper();
        // A tiny A grows ε only with the exact rule.
        assert!(tu.decide(q * 0.5, &cfg, true).grow);
        assert!(!tu.decide(q * 0.5, &cfg, false).grow);
        assert!(!tu.decide(0.0, &cfg, false).grow);
    }

    #[test]
    fn disabled_tuner_never_decides() {
        let cfg = GammaTunerConfig::<f64>::off();
        assert!(!cfg.decides());
        let tu = at(1.0, 1.0);
        for a in [0.0, 1e-9, 1.0, 1e30] {
            for exact in [false, true] {
                let d = tu.decide(a, &cfg, exact);
                assert!(d.active && !d.reset && !d.shrink && !d.grow);
            }
        }
        // ρ = 1 with adaptation on: the reset quantile is +∞ in both rules.
        let cfg = GammaTunerConfig { reset_prob: 1.0, ..GammaTunerConfig::<f64>::paper() };
        assert!(!tu.decide(1e30, &cfg, false).reset && !tu.decide(1e30, &cfg, true).reset);
    }

    #[test]
    fn config_validation() {
        let ok = GammaTunerConfig::<f64>::paper();
        assert!(ok.validate().is_ok() && GammaTunerConfig::<f64>::off().validate().is_ok());
        for bad in [
            GammaTunerConfig { reset_prob: 0.0, ..ok },
            GammaTunerConfig { reset_prob: 1.5, ..ok },
            GammaTunerConfig { reset_prob: f64::NAN, ..ok },
            GammaTunerConfig { adaption_prob: 1.0, ..ok },
            GammaTunerConfig { adaption_prob: -0.1, ..ok },
            GammaTunerConfig { adaption_strength: 1.0, ..ok },
            GammaTunerConfig { smoothing_factor: 0.0, ..ok },
            GammaTunerConfig { smoothing_factor: f64::NAN, ..ok },
        ] {
            assert_eq!(bad.validate(), Err(Error::InvalidSetting), "{bad:?}");
        }
    }
}
