//! Special functions for the SMILE tuner, in `f64` and `no_std` (`libm` only):
//! the standard-normal CDF and quantile, the regularised lower incomplete
//! gamma function and the Gamma quantile.
//!
//! They run once per sampler step on scalars (never per parameter), so they
//! favour accuracy and robustness over speed; every function returns NaN for
//! arguments outside its domain and never panics.

use core::f64::consts::{PI, SQRT_2};

/// `Φ(x) = P(Z ≤ x)` for a standard normal `Z`, accurate to a few ulp
/// relative in both tails (via `erfc`).
pub fn normal_cdf(x: f64) -> f64 {
    0.5 * libm::erfc(-x / SQRT_2)
}

// Acklam's rational approximation of Φ⁻¹ (relative error below 1.2e-9 over
// (0, 1)); one Halley step on `erfc` then brings it to ~1e-15.
#[allow(clippy::excessive_precision)]
const ACK_A: [f64; 6] = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.383577518672690e2, -3.066479806614716e1, 2.506628277459239];
const ACK_B: [f64; 5] = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
const ACK_C: [f64; 6] = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
const ACK_D: [f64; 4] = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
const ACK_P_LOW: f64 = 0.02425;

/// `Φ⁻¹(p)`, the standard-normal quantile: `−∞` at 0, `+∞` at 1, NaN outside
/// `[0, 1]`. Absolute error below 1e-14 for `|Φ⁻¹(p)| ≤ 8` (measured against
/// the inverse of `erfc`); in the far tails (`p < 1e-300`) the unrefined
/// rational approximation (relative error 1.2e-9) is returned.
pub fn normal_quantile(p: f64) -> f64 {
    if !(0.0..=1.0).contains(&p) {
        return f64::NAN;
    }
    if p == 0.0 {
        return f64::NEG_INFINITY;
    }
    if p == 1.0 {
        return f64::INFINITY;
    }
    // Work on the lower tail q = min(p, 1 − p) (1 − p is exact for p ≥ ½),
    // so the refinement compares small probabilities, not numbers near 1.
    let upper = p > 0.5;
    let q = if upper { 1.0 - p } else { p };
    let x = if q < ACK_P_LOW {
        let t = libm::sqrt(-2.0 * libm::log(q));
        let c = &ACK_C;
        let d = &ACK_D;
        (((((c[0] * t + c[1]) * t + c[2]) * t + c[3]) * t + c[4]) * t + c[5]) / ((((d[0] * t + d[1]) * t + d[2]) * t + d[3]) * t + 1.0)
    } else {
        let t = q - 0.5;
        let r = t * t;
        let a = &ACK_A;
        let b = &ACK_B;
        (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * t / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1.0)
    };
    // Halley step on Φ(x) − q = 0; skipped where the density underflows.
    let e = normal_cdf(x) - q;
    let u = e * libm::sqrt(2.0 * PI) * libm::exp(0.5 * x * x);
    let x = if u.is_finite() { x - u / (1.0 + 0.5 * x * u) } else { x };
    if upper {
        -x
    } else {
        x
    }
}

/// Shapes at or above this use the Wilson–Hilferty normal approximation in
/// [`gamma_p`] / [`gamma_quantile`]: the series and continued fraction need
/// O(√a) terms there, and the approximation's CDF error (O(1/a)) is below
/// 1e-5 at this shape (measured in the tests).
pub const GAMMA_LARGE_SHAPE: f64 = 1e3;
const GAMMA_EPS: f64 = 1e-16;
const GAMMA_MAX_ITER: usize = 2000;
/// [`gamma_p`] sums the series below `x = SERIES_UP_TO + SERIES_SLOPE·a`.
const SERIES_UP_TO: f64 = 17.0;
const SERIES_SLOPE: f64 = 1.3;

/// The Wilson–Hilferty cube-root transform: Gamma(a) CDF at `x` ≈ Φ(w).
fn wilson_hilferty_w(a: f64, x: f64) -> f64 {
    (libm::cbrt(x / a) - (1.0 - 1.0 / (9.0 * a))) * 3.0 * libm::sqrt(a)
}

/// The regularised lower incomplete gamma function `P(a, x)`: the CDF at `x`
/// of a Gamma distribution with shape `a > 0` and scale 1. Series for
/// `x < max(a + 1, 17 + 1.3·min(a, 100))`, Lentz continued fraction for `Q = 1 − P` beyond, both to
/// ~1e-15; Wilson–Hilferty for `a ≥ GAMMA_LARGE_SHAPE`. NaN if `a ≤ 0` or an
/// argument is NaN; 0 for `x ≤ 0`.
pub fn gamma_p(a: f64, x: f64) -> f64 {
    gamma_p_lg(a, x, gamma_lg(a))
}

/// `ln Γ(a)` as [`gamma_p_lg`] and [`gamma_quantile_with`] take it: computed
/// only below `GAMMA_LARGE_SHAPE` (above, nothing uses it and 0 is returned).
/// Callers that evaluate several functions at one shape compute it once.
pub fn gamma_lg(a: f64) -> f64 {
    if a < GAMMA_LARGE_SHAPE {
        libm::lgamma(a)
    } else {
        0.0
    }
}

/// [`gamma_p`] with `lg = gamma_lg(a)` precomputed: the same value, bit for bit.
pub fn gamma_p_lg(a: f64, x: f64, lg: f64) -> f64 {
    if !(a > 0.0) || x.is_nan() || a == f64::INFINITY {
        return f64::NAN;
    }
    if x <= 0.0 {
        return 0.0;
    }
    if x == f64::INFINITY {
        return 1.0;
    }
    if a >= GAMMA_LARGE_SHAPE {
        return normal_cdf(wilson_hilferty_w(a, x));
    }
    // log of x^a e^{-x} / Γ(a), the common prefactor.
    let lpre = a * libm::log(x) - x - lg;
    // The textbook switch is `x < a + 1`, but just above it the continued
    // fraction converges slowly (40–180 iterations of two dependent
    // divisions for shapes below 1, up to 1.7 µs), while the series' terms
    // need only independent divisions: it stays the cheaper of the two up to
    // `x ≈ 17 + 1.3·a` (timed over shapes 1e-3…100; both agree to ~1e-15
    // there, ~1e-13 at a = 100). The SMILE tuner's `A/θ` lands in that range
    // on most steps. Large shapes keep the textbook switch.
    if x < a + 1.0 || x < SERIES_UP_TO + SERIES_SLOPE * a.min(100.0) {
        let p = lower_series(a, x) * libm::exp(lpre);
        if p > 1.0 {
            1.0
        } else {
            p
        }
    } else {
        let q = libm::exp(lpre) * upper_fraction(a, x);
        if q > 1.0 {
            0.0
        } else {
            1.0 - q
        }
    }
}

/// `Σₙ xⁿ / (a (a+1) ⋯ (a+n))`, so that `P(a, x) = e^{lpre} · sum`.
fn lower_series(a: f64, x: f64) -> f64 {
    let mut ap = a;
    let mut term = 1.0 / a;
    let mut sum = term;
    for _ in 0..GAMMA_MAX_ITER {
        ap += 1.0;
        term *= x / ap;
        sum += term;
        if term < sum * GAMMA_EPS {
            break;
        }
    }
    sum
}

/// `1/(x + 1 − a − 1·(1−a)/(x + 3 − a − 2·(2−a)/(x + 5 − a − …)))` by
/// modified Lentz, so that `Q(a, x) = 1 − P(a, x) = e^{lpre} · fraction`.
fn upper_fraction(a: f64, x: f64) -> f64 {
    let tiny = 1e-300;
    let mut b = x + 1.0 - a;
    let mut c = 1.0 / tiny;
    let mut d = 1.0 / b;
    let mut h = d;
    for i in 1..GAMMA_MAX_ITER {
        let fi = i as f64;
        let an = -fi * (fi - a);
        b += 2.0;
        d = an * d + b;
        if libm::fabs(d) < tiny {
            d = tiny;
        }
        c = b + an / c;
        if libm::fabs(c) < tiny {
            c = tiny;
        }
        d = 1.0 / d;
        let del = d * c;
        h *= del;
        if libm::fabs(del - 1.0) < GAMMA_EPS {
            break;
        }
    }
    h
}

/// The quantile of a Gamma distribution with shape `a > 0` and scale 1:
/// the `x ≥ 0` with `P(a, x) = p`. 0 at `p = 0`, `+∞` at `p = 1`, NaN
/// outside `[0, 1]` or for `a ≤ 0`. Safeguarded Newton on `ln x` (the CDF
/// is monotone in `ln x`, so a bracket always exists), to a relative
/// accuracy of ~1e-13; Wilson–Hilferty for `a ≥ GAMMA_LARGE_SHAPE`,
/// consistent with [`gamma_p`]. Unlike the bare Wilson–Hilferty formula it is
/// never negative, whatever the shape.
pub fn gamma_quantile(a: f64, p: f64) -> f64 {
    gamma_quantile_with(a, p, normal_quantile(p), gamma_lg(a))
}

/// [`gamma_quantile`] with `z = normal_quantile(p)` and `lg = gamma_lg(a)`
/// precomputed (a sampler's levels are constant, and its shape is shared
/// with the CDF evaluation of the same step): the same value, bit for bit.
pub fn gamma_quantile_with(a: f64, p: f64, z: f64, lg: f64) -> f64 {
    if !(a > 0.0) || a == f64::INFINITY || !(0.0..=1.0).contains(&p) {
        return f64::NAN;
    }
    if p == 0.0 {
        return 0.0;
    }
    if p == 1.0 {
        return f64::INFINITY;
    }
    let t = 1.0 - 1.0 / (9.0 * a) + z / (3.0 * libm::sqrt(a));
    if a >= GAMMA_LARGE_SHAPE {
        return if t > 0.0 { a * t * t * t } else { 0.0 };
    }
    // Start from Wilson–Hilferty where it is positive, else from the small-x
    // law P(a, x) ≈ x^a / Γ(a + 1).
    let mut y = if t > 0.0 { libm::log(a * t * t * t) } else { (libm::log(p) + libm::lgamma(a + 1.0)) / a };
    let (mut lo, mut hi) = (f64::NEG_INFINITY, f64::INFINITY);
    for _ in 0..200 {
        let x = libm::exp(y);
        if x == 0.0 {
            // Below the smallest double: the quantile underflows.
            return 0.0;
        }
        let f = gamma_p_lg(a, x, lg) - p;
        if f < 0.0 {
            lo = y;
        } else {
            hi = y;
        }
        // dP/d(ln x) = x · density = exp(a ln x − x − ln Γ(a)).
        let slope = libm::exp(a * y - x - lg);
        let mut next = y - f / slope;
        if !(next > lo && next < hi && next.is_finite()) {
            next = match (lo.is_finite(), hi.is_finite()) {
                (true, true) => 0.5 * (lo + hi),
                (true, false) => lo + 1.0,
                (false, true) => hi - 1.0,
                (false, false) => y,
            };
        }
        if libm::fabs(next - y) <= 1e-14 * (1.0 + libm::fabs(y)) {
            return libm::exp(next);
        }
        y = next;
    }
    libm::exp(y)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_quantile_known_values_and_round_trip() {
        // z-values listed in ALGORITHMS.md §2.4 (16 digits).
        for (p, z) in [
            (1.0 - 2.0 * 0.1 / 3.0, 1.5010859460440247),
            (0.1 / 3.0, -1.8339146358159142),
            (0.98, 2.053748910631822),
            (0.99, 2.3263478740408408),
            (0.95, 1.6448536269514715),
            (0.9, 1.2815515655446008),
            (0.5, 0.0),
        ] {
            let got = normal_quantile(p);
            assert!((got - z).abs() < 1e-14, "Φ⁻¹({p}) = {got}, want {z}");
        }
        // Round trip through erfc on a grid covering both tails.
        let mut worst = 0.0f64;
        for k in 1..2000 {
            let p = k as f64 / 2000.0;
            for q in [p, p * 1e-8, p * 1e-100] {
                let x = normal_quantile(q);
                let back = normal_cdf(x);
                worst = worst.max((back - q).abs() / q);
            }
        }
        assert!(worst < 1e-13, "round-trip relative error {worst}");
        assert_eq!(normal_quantile(0.0), f64::NEG_INFINITY);
        assert_eq!(normal_quantile(1.0), f64::INFINITY);
        assert!(normal_quantile(-0.1).is_nan() && normal_quantile(f64::NAN).is_nan() && normal_quantile(1.5).is_nan());
        assert!(normal_quantile(5e-324).is_finite());
        // Symmetry, at p whose complement 1 − p is exact.
        for p in [2f64.powi(-40), 2f64.powi(-7), 0.25] {
            assert!((normal_quantile(p) + normal_quantile(1.0 - p)).abs() < 1e-14 * normal_quantile(p).abs().max(1.0), "{p}");
        }
    }

    /// Closed forms: P(1, x) = 1 − e^{−x}; P(½, x) = erf √x; P(3/2, x) = erf √x − 2√(x/π) e^{−x};
    /// P(n, x) = 1 − e^{−x} Σ_{j<n} x^j/j!.
    fn exact(a: f64, x: f64) -> Option<f64> {
        if a == 0.5 {
            Some(libm::erf(libm::sqrt(x)))
        } else if a == 1.5 {
            Some(libm::erf(libm::sqrt(x)) - 2.0 * libm::sqrt(x / PI) * libm::exp(-x))
        } else if a.fract() == 0.0 {
            let mut term = 1.0;
            let mut s = 1.0;
            for j in 1..a as usize {
                term *= x / j as f64;
                s += term;
            }
            Some(1.0 - libm::exp(-x) * s)
        } else {
            None
        }
    }

    #[test]
    fn gamma_p_matches_closed_forms() {
        for a in [0.5f64, 1.0, 1.5, 2.0, 5.0, 30.0] {
            for k in 1..400 {
                let x = k as f64 * 0.05 * a.max(1.0);
                let want = exact(a, x).unwrap();
                let got = gamma_p(a, x);
                assert!((got - want).abs() < 2e-14, "P({a}, {x}) = {got}, want {want}");
            }
        }
        assert_eq!(gamma_p(2.0, 0.0), 0.0);
        assert_eq!(gamma_p(2.0, f64::INFINITY), 1.0);
        assert!(gamma_p(0.0, 1.0).is_nan() && gamma_p(-1.0, 1.0).is_nan() && gamma_p(1.0, f64::NAN).is_nan());
    }

    #[test]
    fn series_and_continued_fraction_agree_where_either_is_used() {
        // Over the range where the series replaced the continued fraction
        // (a + 1 ≤ x < 17 + 1.3·a) and a little beyond, for shapes without a
        // closed form: P from the series and 1 − Q from the fraction agree.
        // Shapes 300 and 999 (up to the Wilson–Hilferty switch), over the
        // bulk above the mean (a + 1 … a + 8√a): the error bound the tuner's
        // caches rely on (`tune::gamma_brackets`, 5e-11) holds there too.
        for a in [1e-3, 0.02, 0.1, 0.3, 0.538, 0.9, 1.75, 3.3, 9.5, 31.0, 99.0, 300.0, 999.0] {
            let lg = gamma_lg(a);
            let top = if a < 100.0 { 1.2 * (SERIES_UP_TO + SERIES_SLOPE * a) } else { a + 8.0 * libm::sqrt(a) };
            let mut x = a + 1.0;
            while x < top {
                let lpre = a * libm::log(x) - x - lg;
                let p = lower_series(a, x) * libm::exp(lpre);
                let q = upper_fraction(a, x) * libm::exp(lpre);
                let tol = if a < 10.0 {
                    1e-14
                } else if a < 100.0 {
                    3e-13
                } else {
                    5e-12
                };
                assert!((p + q - 1.0).abs() < tol, "a={a} x={x}: P={p} Q={q}, P+Q-1={:e}", p + q - 1.0);
                x += 0.37 * (1.0 + libm::sqrt(a));
            }
        }
    }

    #[test]
    fn gamma_large_shape_switch_is_continuous() {
        // Just below the switch the series/continued fraction is exact; the
        // Wilson–Hilferty value at the same point must agree to 1e-5 at
        // every probability level the tuner uses.
        let a = GAMMA_LARGE_SHAPE * (1.0 - 1e-12);
        for p in [0.01, 0.1 / 3.0, 0.5, 1.0 - 0.2 / 3.0, 0.98, 0.999] {
            let x = gamma_quantile(a, p);
            let wh = normal_cdf(wilson_hilferty_w(a, x));
            assert!((gamma_p(a, x) - p).abs() < 1e-12, "series at {p}");
            assert!((wh - p).abs() < 1e-5, "WH at a = {a}, p = {p}: {wh}");
        }
    }

    #[test]
    fn gamma_quantile_inverts_gamma_p_over_shapes() {
        for a in [1e-20, 1e-6, 0.01, 0.3, 0.538, 1.0, 1.75, 7.0, 120.0, 999.0, 1e4, 1e12] {
            for p in [1e-9, 0.01, 0.1 / 3.0, 0.25, 0.5, 1.0 - 0.2 / 3.0, 0.98, 0.99, 1.0 - 1e-10] {
                let x = gamma_quantile(a, p);
                assert!(x >= 0.0, "negative quantile a={a} p={p}");
                if x > 1e-300 && x.is_finite() {
                    let back = gamma_p(a, x);
                    assert!((back - p).abs() < 1e-11 * (1.0 + 1.0 / p.min(1.0 - p)).min(1e3), "a={a} p={p}: x={x}, P={back}");
                }
            }
        }
        // Exponential distribution: Q(1, p) = −ln(1 − p).
        for p in [0.02, 0.5, 0.98] {
            assert!((gamma_quantile(1.0, p) + libm::log1p(-p)).abs() < 1e-13);
        }
        // The KDE figure of §2.8: shape 0.538, scale 1512.895, 98% point 4254.02. The
        // shape is printed to 3 digits (±5e-4), which moves this quantile by ±0.05%.
        let r = 1512.895 * gamma_quantile(0.538, 0.98);
        assert!((r - 4254.02).abs() < 5e-4 * 4254.02, "{r}");
        assert_eq!(gamma_quantile(2.0, 0.0), 0.0);
        assert_eq!(gamma_quantile(2.0, 1.0), f64::INFINITY);
        assert!(gamma_quantile(2.0, 1.1).is_nan() && gamma_quantile(0.0, 0.5).is_nan());
    }
}
