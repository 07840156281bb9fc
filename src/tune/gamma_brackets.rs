//! A cache that lets most steps of SMILE's exact tuner rule skip the Gamma
//! CDF without changing a single decision.
//!
//! The rule compares `F(y; k)`, the Gamma(k) CDF at `y = A/θ` as
//! [`gamma_p_lg`] computes it, with up to three probability levels `p`.
//! Shapes are grouped in fixed cells: every `k` whose `f64` bits agree above
//! the lowest `CELL_SHIFT` bits, so 8 cells per octave, each 6–12.5 % wide,
//! found with a shift instead of a logarithm. For a cell `[k_lo, k_hi)` and
//! each level the cache stores two bounds on `y`:
//!
//! * `below`: `y < below` implies `F(y; k) < p` for every `k` in the cell;
//! * `above`: `y > above` implies `F(y; k) > p`.
//!
//! A step whose `y` is outside `[below, above]` for every live level is
//! decided by a few comparisons; the others (~2–5 % of steps at moderate
//! shapes: the probability mass between the bounds) take the exact path.
//! The shape drifts slowly (moving averages with weight β), so a chain
//! revisits the same few cells and builds each once.
//!
//! Why a decision cannot change: the true CDF increases in `y` and decreases
//! in `k` (Gamma(k + h) is Gamma(k) plus an independent Gamma(h)). A `below`
//! is kept only if the *computed* `F(below; k_lo) < p − MARGIN`, so for
//! `y < below` and `k ≥ k_lo`: computed `F(y; k) ≤ true F(y; k) + e ≤
//! true F(below; k_lo) + e ≤ computed F(below; k_lo) + 2e < p − MARGIN + 2e
//! < p`, as long as the absolute error `e` of [`gamma_p_lg`] is below
//! `MARGIN / 2 = 5e-11`. It is ~1e-15 for small shapes and below 1e-12 up
//! to `K_MAX` (series or continued fraction to 1e-16 relative, a prefactor
//! `exp(k ln y − y − ln Γ(k))` whose argument is a few hundred at most; the
//! two methods agree to 3e-13 at shape 99, `special::tests`).
//! `above` is the mirror image at `k_hi`.
//! `tests::cached_decisions_equal_the_exact_cdf` checks the whole argument
//! on decisions placed next to the thresholds.
//!
//! Building a cell costs two Gamma quantiles per live level (~2 µs, about 40
//! exact evaluations). A build is paid from credit that exact evaluations
//! earn, so it never adds more than the exact path already costs; builds
//! that did not pay for themselves raise the price. A cache made afresh
//! every step never builds a cell and runs exactly as without cache (the C
//! ABI rebuilds the chain on every call, so it keeps the cache in the
//! instance, see [`crate::tune::TunerLevels`]).
//!
//! Cells cover shapes up to `K_MAX`; from [`GAMMA_LARGE_SHAPE`] on, where the
//! CDF is Wilson–Hilferty's and a cell would be far wider than the
//! distribution, [`LargeShapeBounds`] settles the decisions from per-step
//! bounds instead.
//!
//! Between them, and wherever a cell's band catches `y` too often, one more
//! entry helps when the shape repeats *exactly*: a point cell, `k_lo = k_hi
//! = k`, built after `POINT_AFTER` exact evaluations in a row at the same
//! `k` and used only for that `k`, bit for bit. The shape stops moving
//! when the averages stop moving: a chain whose `|ΔE|` sits at the rounding
//! floor of its log density (an exact gradient in `f32`: `A` quantised to
//! one value, `s_E` at its clip) fits the same shape, e.g. 931.34, on every
//! step, and took the exact path on every step (d = 100, `f32`: 510–560 ns
//! per step; 316 ns with the point cell, MCLMC 258). The argument above
//! holds with `k_lo = k_hi`;
//! [`gamma_p_lg`]'s error stays below 5e-12 up to [`GAMMA_LARGE_SHAPE`]
//! (`special::tests`), so point cells are made for shapes from `K_MIN` up
//! to there.

use crate::special::{gamma_lg, gamma_p_lg, gamma_quantile_with, normal_cdf, GAMMA_LARGE_SHAPE};

/// Cells: `k.to_bits() >> CELL_SHIFT` (3 mantissa bits kept: 8 per octave).
const CELL_SHIFT: u32 = 52 - 3;
/// Direct-mapped slots, indexed by the low bits of the cell number: four
/// octaves of shapes at a time, 2304 bytes. 8 cells per octave rather
/// than 4: small shapes need the narrower cells (the lower quantile
/// `≈ (pΓ(k + 1))^(1/k)` moves by orders of magnitude across a 25 % cell
/// at `k ≈ 0.2`), which halved the steps left to the exact CDF at d = 10
/// (f64, an exact-gradient chain). 32 slots rather than 16, for chains
/// whose shape wanders: with an exact gradient in `f32`, `|ΔE|` sits at
/// the rounding floor of the log density and the fitted shape spread over
/// eleven octaves (0.06–144; d = 100): with 16 slots 12.8 % of the steps
/// found no cell, and SMILE's step against MCLMC without refresh (`perf
/// pair` median) was 1.026–1.037; with 32, 0.99. A mini-batch chain's
/// shape stays within a few octaves (the benchmark's, 0.27–2.65: 1.2–2.2 % of steps
/// left to the exact CDF, all inside a cell's band). Tried and dropped:
/// the bounds stored in `f32` (36-byte cells, 32 slots in the old 1152
/// bytes), as the conversions cost 4–6 ns per step at d = 10, also with
/// the current cell kept converted (the shape changes cell on 10–20 % of
/// steps).
const SLOTS: usize = 32;
/// Probability margin of the bounds.
const MARGIN: f64 = 1e-10;
/// Shapes outside `[K_MIN, K_MAX]` always take the exact path (a shape of
/// 100 means a relative spread of `|ΔE|` of 10 %).
const K_MIN: f64 = 1e-3;
const K_MAX: f64 = 100.0;
/// Exact evaluations a build costs (about what it takes, measured).
const BUILD_PRICE: u32 = 48;
/// Exact evaluations in a row at one shape before its point cell is built.
const POINT_AFTER: u32 = 8;
const MAX_PRICE_SHIFT: u32 = 8;
/// Version of the stored bounds (1: widened for `A` units).
const BOUNDS_FORMAT: u32 = 1;

/// Stored bounds are widened by this relative margin and kept within
/// `[BOUND_MIN, BOUND_MAX]` (or `±∞`), so that a caller can compare `A`
/// with `θ·bound` instead of `A/θ` with the bound and get the same answer
/// ([`crate::tune::TunerLevels`] has the proof). Widening only makes a bound more conservative: the
/// argument above holds as it is.
const BOUND_MARGIN: f64 = 1e-14;
const BOUND_MIN: f64 = 1e-260;
const BOUND_MAX: f64 = 1e260;

/// An `above` bound (`y > above ⇒ F > p`) widened: larger, or `+∞`.
#[inline]
pub(crate) fn widen_above(y: f64) -> f64 {
    let w = y * (1.0 + BOUND_MARGIN);
    if w <= BOUND_MAX {
        w.max(BOUND_MIN)
    } else {
        f64::INFINITY // also NaN
    }
}

/// A `below` bound (`y < below ⇒ F < p`) widened: smaller, or `−∞`; `+∞`
/// (a dead level: always below) stays.
#[inline]
pub(crate) fn widen_below(y: f64) -> f64 {
    let w = y * (1.0 - BOUND_MARGIN);
    if w == f64::INFINITY {
        w
    } else if w >= BOUND_MIN {
        w.min(BOUND_MAX)
    } else {
        f64::NEG_INFINITY // also NaN
    }
}

/// Bounds per level, `(above, below)`, in four lanes: the three levels and
/// a padding lane that reads "below, not above" (`+∞`, `+∞`), so that a
/// caller compares all of them with one vector operation each.
pub(crate) type Bounds = ([f64; 4], [f64; 4]);

#[derive(Clone, Copy, Debug, PartialEq)]
#[repr(C)]
struct Cell {
    below: [f64; 4],
    above: [f64; 4],
    /// The cell number, `u32::MAX` when the slot is empty (cell numbers of
    /// finite shapes are below 2¹⁶).
    tag: u32,
    /// Zero: no padding bytes (see [`GammaBrackets`]).
    pad: u32,
}

const EMPTY: Cell = Cell { below: [0.0; 4], above: [0.0; 4], tag: u32::MAX, pad: 0 };

/// See the module documentation.
///
/// Plain data of floats and integers only, without padding: every bit
/// pattern is a value (the C ABI keeps the cache in instance memory, which
/// the caller owns and may copy, and a checkpoint carries it). Bounds that
/// were not made here can change decisions (as a changed state can), but
/// nothing reads out of bounds or overflows.
#[derive(Clone, Copy, Debug, PartialEq)]
#[repr(C)]
pub struct GammaBrackets {
    cells: [Cell; SLOTS],
    /// The point cell: bounds valid at shape `point_k` only (`Cell::tag`
    /// unused); `point_k` is NaN when there is none.
    point: Cell,
    point_k: f64,
    /// The shape of the last exact evaluation (bits), and how many exact
    /// evaluations in a row had it.
    last_k: u64,
    /// Decisions made from the cache minus the price of the builds so far:
    /// whether the cache has paid for itself.
    balance: i64,
    repeats: u32,
    /// Exact evaluations earned and not yet spent on builds.
    credit: u32,
    /// A build costs `BUILD_PRICE << price_shift` credits (read clamped to
    /// `MAX_PRICE_SHIFT`).
    price_shift: u32,
    /// `BOUNDS_FORMAT`: bounds made by an older version (kept in a C
    /// instance or a checkpoint) lack the widening and are not used.
    format: u32,
}

impl Default for GammaBrackets {
    fn default() -> Self {
        Self::new()
    }
}

impl GammaBrackets {
    pub fn new() -> Self {
        GammaBrackets {
            cells: [EMPTY; SLOTS],
            point: EMPTY,
            point_k: f64::NAN,
            last_k: f64::NAN.to_bits(),
            balance: 0,
            repeats: 0,
            credit: 0,
            price_shift: 0,
            format: BOUNDS_FORMAT,
        }
    }

    /// `Some(F(y; k) > p_i)` for each level `i` if the cache settles every
    /// live one (dead levels read `false`), else `None`.
    #[inline]
    pub fn lookup(&mut self, k: f64, y: f64) -> Option<[bool; 3]> {
        let hit = match cell_of(k) {
            Some(tag) => settle(&self.cells[tag as usize % SLOTS], tag, y),
            None => None,
        };
        let hit = match hit {
            None if self.point_k == k => settle(&self.point, self.point.tag, y),
            hit => hit,
        };
        if hit.is_some() {
            self.balance = self.balance.saturating_add(1);
        }
        hit
    }

    /// The bounds `(above, below)` per level that [`lookup`](Self::lookup)
    /// would try first for shape `k` (`k`'s cell if built, else the point
    /// cell if it is `k`'s), without a `y`, for a caller that compares in
    /// its own units ([`crate::tune::TunerLevels`]). A
    /// decision settled from them is booked with [`count_hit`](Self::count_hit).
    #[inline]
    pub(crate) fn bounds(&self, k: f64) -> Option<Bounds> {
        if self.format != BOUNDS_FORMAT {
            return None;
        }
        match cell_of(k) {
            Some(tag) if self.cells[tag as usize % SLOTS].tag == tag => {
                let c = &self.cells[tag as usize % SLOTS];
                Some((c.above, c.below))
            }
            _ if self.point_k == k => Some((self.point.above, self.point.below)),
            _ => None,
        }
    }

    /// Whether the stored bounds are of this version's format.
    #[inline]
    pub(crate) fn format_ok(&self) -> bool {
        self.format == BOUNDS_FORMAT
    }

    /// Books a decision settled from [`bounds`](Self::bounds).
    #[inline]
    pub(crate) fn count_hit(&mut self) {
        self.balance = self.balance.saturating_add(1);
    }

    /// Decisions answered minus builds times their price (for tests).
    #[cfg(test)]
    pub(crate) fn balance(&self) -> i64 {
        self.balance
    }

    /// Called after each exact evaluation at shape `k`: earns credit and
    /// builds `k`'s cell when the credit covers it.
    pub fn after_exact(&mut self, k: f64, p: [f64; 3], z: impl FnOnce() -> [f64; 3], live: [bool; 3]) {
        self.credit = self.credit.saturating_add(1);
        if k.to_bits() == self.last_k {
            self.repeats = self.repeats.saturating_add(1);
        } else {
            (self.last_k, self.repeats) = (k.to_bits(), 1);
        }
        let price = BUILD_PRICE << self.price_shift.min(MAX_PRICE_SHIFT);
        if self.credit < price {
            return;
        }
        // A shape that repeats exactly gets its point cell, also inside a
        // cell whose band keeps catching `y`.
        if self.repeats >= POINT_AFTER && (K_MIN..GAMMA_LARGE_SHAPE).contains(&k) && self.point_k != k {
            self.pay(price);
            (self.point, self.point_k) = (build(k, k, 0, p, z(), live), k);
            return;
        }
        let Some(tag) = cell_of(k) else { return };
        let slot = tag as usize % SLOTS;
        if self.cells[slot].tag == tag {
            return; // y fell between the bounds: nothing to build.
        }
        let (lo, hi) = (f64::from_bits((tag as u64) << CELL_SHIFT), f64::from_bits((tag as u64 + 1) << CELL_SHIFT));
        self.cells[slot] = build(lo, hi, tag, p, z(), live);
        self.pay(price);
    }

    /// Books a build: while the hits so far have not paid for the builds so
    /// far, each build makes the next one twice as dear.
    fn pay(&mut self, price: u32) {
        self.credit -= price;
        self.balance = self.balance.saturating_sub(BUILD_PRICE as i64);
        self.price_shift = if self.balance < 0 { self.price_shift.saturating_add(1).min(MAX_PRICE_SHIFT) } else { 0 };
    }
}

/// `c`'s answer for `y` if it is the cell `tag` and settles every live level.
#[inline(always)]
fn settle(c: &Cell, tag: u32, y: f64) -> Option<[bool; 3]> {
    // Dead levels are stored as `below = above = +∞`: always below.
    let above = [y > c.above[0], y > c.above[1], y > c.above[2]];
    let below = [y < c.below[0], y < c.below[1], y < c.below[2]];
    (c.tag == tag && (above[0] | below[0]) & (above[1] | below[1]) & (above[2] | below[2])).then_some(above)
}

/// The cell number of shape `k`, if `k` is cached at all.
#[inline]
fn cell_of(k: f64) -> Option<u32> {
    if within(k, K_MIN, K_MAX) {
        Some((k.to_bits() >> CELL_SHIFT) as u32)
    } else {
        None
    }
}

/// `(lo..=hi).contains(&x)` for positive finite `lo ≤ hi`, compared as
/// integers: positive floats order like their bits, and a negative, NaN or
/// infinite `x` has bits above `hi`'s. The `f64` bits of `k` are needed
/// for the cell anyway, and integer compares leave the floating-point
/// units, which bound a SMILE step at small `d`, to the step.
#[inline(always)]
pub(crate) fn within(x: f64, lo: f64, hi: f64) -> bool {
    let b = x.to_bits();
    b >= lo.to_bits() && b <= hi.to_bits()
}

/// The bounds of the shapes `[lo, hi]` (a point when `lo = hi`), tagged `tag`.
#[cold]
#[inline(never)]
fn build(lo: f64, hi: f64, tag: u32, p: [f64; 3], z: [f64; 3], live: [bool; 3]) -> Cell {
    let (lg_lo, lg_hi) = (gamma_lg(lo), gamma_lg(hi));
    let mut c = Cell { below: [f64::NEG_INFINITY, f64::NEG_INFINITY, f64::NEG_INFINITY, f64::INFINITY], above: [f64::INFINITY; 4], tag, pad: 0 };
    for i in 0..3 {
        if !live[i] {
            c.below[i] = f64::INFINITY;
            continue;
        }
        let q_lo = gamma_quantile_with(lo, p[i], z[i], lg_lo);
        let q_hi = gamma_quantile_with(hi, p[i], z[i], lg_hi);
        // Step away from the quantile until the computed CDF clears the
        // margin (the first try nearly always does); failing that, the level
        // is never settled from this cell.
        for r in [1e-7, 1e-5, 1e-3] {
            let y = q_lo * (1.0 - r);
            if y.is_finite() && gamma_p_lg(lo, y, lg_lo) < p[i] - MARGIN {
                c.below[i] = y;
                break;
            }
        }
        // The last candidate is for quantiles that underflow (tiny shapes,
        // small levels): any positive `y` may already be above them.
        for r in [1e-7, 1e-5, 1e-3, f64::INFINITY] {
            let y = if r.is_finite() { q_hi * (1.0 + r) } else { f64::MIN_POSITIVE.max(2.0 * q_hi) };
            if y.is_finite() && gamma_p_lg(hi, y, lg_hi) > p[i] + MARGIN {
                c.above[i] = y;
                break;
            }
        }
    }
    (c.above, c.below) = (c.above.map(widen_above), c.below.map(widen_below));
    c
}

/// Decisions at shapes from [`GAMMA_LARGE_SHAPE`] to `LARGE_MAX` without
/// the CDF, for the same decisions. There [`gamma_p_lg`] is
/// `Φ(w)`, `w = (∛(y/k) − c)·3√k` with `c = 1 − 1/(9k)` (Wilson–Hilferty,
/// `special::wilson_hilferty_w`), and the cells above would be useless: a
/// quantile moves by ~`√k` within a cell, the Gamma's spread is `√k` too.
/// Instead each step computes, from `k` alone (known before `A`, so off the
/// step's critical path: a square root, two divisions, two cubes per level),
///
/// `y⁺ = k·(c + (z_p + η)/(3√k))³·(1 + 1e-14)` and `y⁻` with `−η` and `1 − 1e-14`,
///
/// `z_p` the normal quantile of level `p`, `η = 1e-6`. The factors cover the
/// roundings of `y±` (a few ulp), so `y > y⁺` implies `y/k > (c + (z+η)/(3√k))³`
/// exactly; following the roundings of `w` (`∛` within 1 ulp, five more
/// operations) the computed `w` is then above `z + η − 6e-16·3√k − 2e-14`,
/// which is above `z + η/2` while `k ≤ LARGE_MAX` (1e16: `3√k = 3e8`). A
/// level is settled this way only if the computed `Φ(z ± η/2)` clears `p` by
/// 1e-12 (`Φ`'s absolute error is ~1e-16, so a `w` above `z + η/2` gives a
/// computed `Φ(w) > p`); levels in the far tails fail that check and take
/// the exact path. `y < y⁻` is the mirror image.
/// `tests::large_shape_decisions_equal_the_exact_cdf` checks it next to the
/// thresholds.
/// Plain data, every bit pattern a value, as [`GammaBrackets`].
#[derive(Clone, Copy, Debug, PartialEq)]
#[repr(C)]
pub struct LargeShapeBounds {
    /// `z_p ± η` per level.
    z_hi: [f64; 3],
    z_lo: [f64; 3],
    /// Non-zero when every live level's check passed (dead levels pass:
    /// they read `false`).
    usable: u32,
    /// Non-zero for live levels.
    live: [u32; 3],
}

/// `η`, in units of the normal quantile.
const LARGE_ETA: f64 = 1e-6;
/// Largest shape settled by [`LargeShapeBounds`] (see there).
const LARGE_MAX: f64 = 1e16;

impl LargeShapeBounds {
    /// Bounds for levels `p` with normal quantiles `z` (live levels only).
    pub fn new(p: [f64; 3], z: [f64; 3], live: [bool; 3]) -> Self {
        let mut usable = true;
        for i in 0..3 {
            if live[i] {
                let h = 0.5 * LARGE_ETA;
                let clear = normal_cdf(z[i] + h) > p[i] + 1e-12 && normal_cdf(z[i] - h) < p[i] - 1e-12;
                usable &= clear && z[i].is_finite();
            }
        }
        LargeShapeBounds { z_hi: z.map(|v| v + LARGE_ETA), z_lo: z.map(|v| v - LARGE_ETA), usable: usable as u32, live: live.map(u32::from) }
    }

    /// `Some(F(y; k) > p_i)` for each level when every live one is settled
    /// (dead levels read `false`), else `None`. For `k ≥ GAMMA_LARGE_SHAPE`.
    #[inline]
    pub fn lookup(&self, k: f64, y: f64) -> Option<[bool; 3]> {
        let (y_hi, y_lo) = self.bounds(k)?;
        let above = [y > y_hi[0], y > y_hi[1], y > y_hi[2]];
        let settled = (0..3).all(|i| above[i] || y < y_lo[i]);
        settled.then_some(above)
    }

    /// This step's bounds `(above, below)` per level at shape `k`, as a
    /// [`GammaBrackets`] cell stores them (widened; a dead level reads `+∞`
    /// for both: always below, never above), if `k` is in range.
    #[inline]
    pub(crate) fn bounds(&self, k: f64) -> Option<Bounds> {
        if !(self.usable != 0 && (GAMMA_LARGE_SHAPE..=LARGE_MAX).contains(&k)) {
            return None;
        }
        let inv_s = 1.0 / (3.0 * libm::sqrt(k));
        let c = 1.0 - 1.0 / (9.0 * k);
        let (mut y_hi, mut y_lo) = ([f64::INFINITY; 4], [f64::INFINITY; 4]);
        #[allow(clippy::needless_range_loop)] // four arrays indexed alike
        for i in 0..3 {
            if self.live[i] == 0 {
                continue;
            }
            let hi = c + self.z_hi[i] * inv_s;
            let lo = c + self.z_lo[i] * inv_s;
            // `lo > 0` always here (z ≥ −38 > −3√k·c); checked anyway: a
            // non-positive `lo` settles nothing below.
            y_hi[i] = widen_above(k * (hi * hi * hi) * (1.0 + 1e-14));
            y_lo[i] = if lo > 0.0 { widen_below(k * (lo * lo * lo) * (1.0 - 1e-14)) } else { f64::NEG_INFINITY };
        }
        Some((y_hi, y_lo))
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use crate::special::normal_quantile;
    use std::vec::Vec;

    #[test]
    fn cells_tile_the_shapes() {
        // Consecutive cell numbers are adjacent intervals, 6–12.5 % wide.
        let mut k = K_MIN;
        while k < K_MAX {
            let t = cell_of(k).unwrap();
            let lo = f64::from_bits((t as u64) << CELL_SHIFT);
            let hi = f64::from_bits((t as u64 + 1) << CELL_SHIFT);
            assert!(lo <= k && k < hi && hi / lo > 1.066 && hi / lo < 1.126, "k={k}: [{lo}, {hi})");
            if hi <= K_MAX {
                assert_eq!(cell_of(hi).unwrap(), t + 1);
            }
            k = hi;
        }
        assert_eq!(cell_of(K_MIN * 0.99), None);
        assert_eq!(cell_of(K_MAX * 1.01), None);
        assert_eq!(cell_of(f64::NAN), None);
    }

    /// The exact rule's comparison, as `GammaTuner::decide_with` makes it.
    /// (`F > p` for dead levels: `F > 1` never holds, `F > 0` is not
    /// asked: the cache answers `false`, the caller masks it.)
    fn exact(k: f64, y: f64, p: [f64; 3], live: [bool; 3]) -> [bool; 3] {
        let f = gamma_p_lg(k, y, gamma_lg(k));
        [live[0] && f > p[0], live[1] && f > p[1], live[2] && f > p[2]]
    }

    /// A `y` at shape `k`: next to the exact threshold of level `i` (relative
    /// distance `10^(e₀ + span·U)`, either side) if `at` is `Some(i)`, else a
    /// Gamma(k) draw by inversion.
    fn draw_y(k: f64, p: [f64; 3], z: [f64; 3], at: Option<usize>, (e0, span): (f64, f64), unif: &mut impl FnMut() -> f64) -> f64 {
        match at {
            Some(i) => {
                let q = gamma_quantile_with(k, p[i], z[i], gamma_lg(k));
                let rel = libm::pow(10.0, e0 + span * unif()) * if unif() < 0.5 { -1.0 } else { 1.0 };
                q * (1.0 + rel)
            }
            None => {
                let u = unif().clamp(1e-12, 1.0 - 1e-12);
                gamma_quantile_with(k, u, normal_quantile(u), gamma_lg(k))
            }
        }
    }

    #[test]
    fn cached_decisions_equal_the_exact_cdf() {
        // Shapes drifting across many cells and level sets including dead
        // levels; y drawn both from the fitted Gamma's range and right at
        // (relative distances 1e-15…1e-2 from) the exact thresholds of the
        // current shape and of the edges of its cell, where a wrong bound
        // would show. Every cached answer
        // must equal the exact one, and the cache must answer most of the
        // draws that are not placed at a threshold.
        let mut rng = crate::rng::Rng::new(7, 0);
        let mut unif = move || rng.uniform();
        let levels = [[0.98, 1.0 - 0.2 / 3.0, 0.1 / 3.0], [1.0, 1.0 - 0.2 / 3.0, 0.1 / 3.0], [0.5, 0.4, 0.3], [0.999999, 0.9, 1e-6]];
        let (mut cached, mut free_draws, mut free_hits) = (0u64, 0u64, 0u64);
        for p in levels {
            let live = [p[0] < 1.0, p[1] < 1.0, p[2] > 0.0];
            let z = p.map(normal_quantile);
            let mut b = GammaBrackets::new();
            // The log-shape as the tuner's moving averages make it: AR(1)
            // with steps of ~2 % and a stationary spread of ~20 %, around
            // centres from 1e-2 to 50 (each the last 50 000 steps).
            let mut lk: f64 = 0.0;
            for step in 0..200_000u64 {
                let centre = libm::log([0.01, 0.5, 2.0, 50.0][(step / 50_000) as usize]);
                lk = centre + 0.99 * (lk - centre) + 0.04 * (unif() - 0.5);
                let mut k = libm::exp(lk);
                // One draw in four at a threshold of the current shape, one
                // in four at a threshold of an edge of its cell (where the
                // bounds are tightest).
                let at_threshold = step % 4 < 2;
                if step % 4 == 1 {
                    if let Some(t) = cell_of(k) {
                        let edge = if step % 8 == 1 { (t as u64) << CELL_SHIFT } else { ((t as u64 + 1) << CELL_SHIFT) - 1 };
                        k = f64::from_bits(edge);
                    }
                }
                let y = draw_y(k, p, z, at_threshold.then_some((step / 8 % 3) as usize), (-15.0, 13.0), &mut unif);
                let want = exact(k, y, p, live);
                if !at_threshold {
                    free_draws += 1;
                }
                match b.lookup(k, y) {
                    Some(got) => {
                        assert_eq!(got, want, "k={k} y={y} p={p:?}");
                        cached += 1;
                        if !at_threshold {
                            free_hits += 1;
                        }
                    }
                    None => b.after_exact(k, p, || z, live),
                }
            }
        }
        assert!(cached > 300_000, "cache used for only {cached} decisions");
        // 85 % measured: the band between the bounds is up to ~10 % of the
        // mass per level set at shape 50 and for three central levels.
        assert!(free_hits as f64 > 0.8 * free_draws as f64, "hit rate {free_hits}/{free_draws}");
        std::eprintln!("cached {cached}, hit rate away from thresholds {free_hits}/{free_draws}");
    }

    /// The level sets the bound tests sweep: the paper's, resets off, and
    /// far-tail levels.
    const LEVEL_SETS: [[f64; 3]; 3] = [[0.98, 1.0 - 0.2 / 3.0, 0.1 / 3.0], [1.0, 0.9, 0.3], [0.5, 0.999, 1e-4]];

    /// Draw `step` at shape `k` (even steps next to a threshold, at relative
    /// distances 1e-17…1e-3; odd ones from the Gamma), checked against the
    /// exact rule when `lookup` settles it. Returns (settled, drawn away
    /// from a threshold).
    fn check_draw(
        k: f64,
        (p, z, live): ([f64; 3], [f64; 3], [bool; 3]),
        step: u64,
        unif: &mut impl FnMut() -> f64,
        lookup: impl FnOnce(f64) -> Option<[bool; 3]>,
    ) -> (bool, bool) {
        let at_threshold = step % 2 == 0;
        let y = draw_y(k, p, z, at_threshold.then_some((step / 2 % 3) as usize), (-17.0, 14.0), unif);
        let got = lookup(y);
        if let Some(got) = got {
            assert_eq!(got, exact(k, y, p, live), "k={k} y={y} p={p:?}");
        }
        (got.is_some(), !at_threshold)
    }

    #[test]
    fn large_shape_decisions_equal_the_exact_cdf() {
        // Shapes log-uniform over [GAMMA_LARGE_SHAPE, LARGE_MAX] (and a
        // little beyond, where nothing may be settled); y at relative
        // distances 1e-17…1e-3 from a threshold of the shape (half the
        // draws) or a Gamma draw. Every settled answer must equal the exact
        // one, and nearly every draw away from a threshold must be settled.
        let mut rng = crate::rng::Rng::new(11, 0);
        let mut unif = move || rng.uniform();
        let (mut settled, mut free_draws, mut free_hits) = (0u64, 0u64, 0u64);
        for p in LEVEL_SETS {
            let live = [p[0] < 1.0, p[1] < 1.0, p[2] > 0.0];
            let z = p.map(normal_quantile);
            let b = LargeShapeBounds::new(p, z, live);
            assert!(b.usable != 0);
            for step in 0..200_000u64 {
                let k = libm::pow(10.0, 3.0 + 13.3 * unif());
                let (hit, free) = check_draw(k, (p, z, live), step, &mut unif, |y| b.lookup(k, y));
                assert!(!hit || k <= LARGE_MAX, "k={k} beyond LARGE_MAX settled");
                let counted = free && k <= LARGE_MAX;
                free_draws += counted as u64;
                settled += hit as u64;
                free_hits += (hit && free) as u64;
            }
        }
        assert!(settled > 400_000, "settled only {settled}");
        assert!(free_hits as f64 > 0.999 * free_draws as f64, "hit rate {free_hits}/{free_draws}");
        // Shapes below the switch are not this table's.
        let b = LargeShapeBounds::new([0.98, 0.9, 0.1], [0.98, 0.9, 0.1].map(normal_quantile), [true; 3]);
        assert_eq!(b.lookup(GAMMA_LARGE_SHAPE * (1.0 - 1e-15), GAMMA_LARGE_SHAPE), None);
        // Levels too far in a tail for the margin are never settled.
        let p = [1.0 - 1e-15, 0.9, 0.1];
        assert_eq!(LargeShapeBounds::new(p, p.map(normal_quantile), [true; 3]).usable, 0);
    }

    #[test]
    fn point_cells_equal_the_exact_cdf() {
        // Shapes log-uniform over [K_MIN, GAMMA_LARGE_SHAPE), the band above
        // K_MAX (no cells there) included, and the shape of an `f32` chain at
        // its rounding floor; each repeated until its point cell is built,
        // then y next to a threshold (relative distances 1e-17…1e-3) or a
        // Gamma draw. Every settled answer must equal the exact one, nearly
        // every draw away from a threshold must be settled, and the cell must
        // answer for its own shape only.
        let mut rng = crate::rng::Rng::new(5, 0);
        let mut unif = move || rng.uniform();
        let (mut settled, mut free_draws, mut free_hits) = (0u64, 0u64, 0u64);
        for p in LEVEL_SETS {
            let live = [p[0] < 1.0, p[1] < 1.0, p[2] > 0.0];
            let z = p.map(normal_quantile);
            for s in 0..60 {
                let k = if s == 0 { 931.34 } else { libm::pow(10.0, -3.0 + 6.0 * unif()) * 0.999 };
                let mut b = GammaBrackets::new();
                for _ in 0..BUILD_PRICE {
                    b.after_exact(k, p, || z, live);
                }
                assert_eq!(b.point_k, k, "point cell built");
                // Only for this shape, bit for bit (no cells at these neighbours).
                let (below, above) = (f64::from_bits(k.to_bits() - 1), f64::from_bits(k.to_bits() + 1));
                if cell_of(below).is_none() && cell_of(above).is_none() {
                    assert_eq!((b.lookup(below, k), b.lookup(above, k)), (None, None));
                }
                for step in 0..2_000u64 {
                    let (hit, free) = check_draw(k, (p, z, live), step, &mut unif, |y| b.lookup(k, y));
                    // Below shape 0.01 most of the mass sits at y ≈ 0, where
                    // the draws and the lower quantiles underflow: misses
                    // there are expected (as for cells), so not counted.
                    let counted = free && k >= 0.01;
                    free_draws += counted as u64;
                    settled += hit as u64;
                    free_hits += (hit && counted) as u64;
                }
            }
        }
        assert!(settled > 200_000, "settled only {settled}");
        assert!(free_hits as f64 > 0.999 * free_draws as f64, "hit rate {free_hits}/{free_draws}");
    }

    #[test]
    fn a_point_cell_needs_repeats_in_a_row() {
        // Exact evaluations alternating between two shapes never build one.
        let p = [0.98, 1.0 - 0.2 / 3.0, 0.1 / 3.0];
        let z = p.map(normal_quantile);
        let mut b = GammaBrackets::new();
        for i in 0..10 * BUILD_PRICE {
            b.after_exact(if i % 2 == 0 { 300.0 } else { 301.0 }, p, || z, [true; 3]);
        }
        assert!(b.point_k.is_nan());
    }

    #[test]
    fn a_chain_rebuilt_every_step_never_builds() {
        let p = [0.98, 1.0 - 0.2 / 3.0, 0.1 / 3.0];
        for _ in 0..1000 {
            let mut b = GammaBrackets::new();
            assert_eq!(b.lookup(1.5, 1.0), None);
            b.after_exact(1.5, p, || panic!("a build after one exact evaluation"), [true; 3]);
        }
    }

    #[test]
    fn builds_that_do_not_pay_get_dearer() {
        // A shape that jumps to a new cell on every step: the cache never
        // hits, so the price doubles per build up to its cap, and builds stay
        // below one per `BUILD_PRICE` exact evaluations.
        let p = [0.98, 1.0 - 0.2 / 3.0, 0.1 / 3.0];
        let z = p.map(normal_quantile);
        let mut b = GammaBrackets::new();
        let mut builds = 0;
        let mut k = 1e-3;
        let mut seen: Vec<u32> = Vec::new();
        for _ in 0..200_000 {
            k *= 1.08;
            if k > 90.0 {
                k = 1e-3 * (1.0 + seen.len() as f64 * 1e-3);
            }
            let before = b.cells;
            b.after_exact(k, p, || z, [true; 3]);
            if b.cells != before {
                builds += 1;
                seen.push(cell_of(k).unwrap());
            }
        }
        assert_eq!(b.price_shift, MAX_PRICE_SHIFT);
        assert!(builds < 200_000 / BUILD_PRICE as usize / 8, "{builds} builds");
    }
}
