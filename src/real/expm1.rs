//! `expm1` with a short, branch-free critical path.
//!
//! Every ESH momentum update waits for one `expm1(−δ)` (`ζ = e^{−δ}` and
//! `1 − ζ`), so at small `d` its latency is part of every step. `libm`'s
//! version takes ~22 ns for `|x| < ln 2 / 2` and ~36 ns beyond (argument
//! reduction plus branchy reconstruction), which made the same step 10 %
//! dearer whenever a chain moved to large `|x|` (large `δ = t‖g‖/(d−1)`).
//! This one always takes the same path:
//!
//! * `x = k ln 2 + r`, `|r| ≤ ln 2 / 2`, with `k` rounded by the
//!   `1.5·2^52` trick and a two-part `ln 2` whose high part has trailing
//!   zeros, so `k·LN2_HI` is exact (Cody–Waite);
//! * `expm1(r) = r + r²·P(r)`, `P` the Taylor series of `(eʳ − 1 − r)/r²`
//!   up to `r¹³/13!` in `f64` (truncation below 5e-18 relative) and `r⁸/8!`
//!   in `f32` (below 5e-10), evaluated by Estrin's scheme;
//! * `expm1(x) = 2ᵏ·expm1(r) + (2ᵏ − 1)`, with `2ᵏ` built from its bits.
//!
//! `k = 0` needs no special case (`r = x` exactly, `2ᵏ − 1 = 0`). Inputs are
//! clamped below where the result rounds to −1 anyway. Only `x ≤ 0` takes
//! this path (the ESH update's `−δ`); for `x > 0`, where `2ᵏ > 1` would
//! amplify the rounding of `r` to over an ulp, and for NaN, `libm` answers.
//! Accuracy against `libm`: within 1 ulp in `f64` and `f32`
//! (`tests::agrees_with_libm_within_one_ulp`). Only `+`, `−` and `×`, so it
//! is the same on every target (no FMA needed).

/// `ln 2` split so that `k·LN2_HI` is exact for `|k| < 2^20`.
const LN2_HI: f64 = 6.931_471_803_691_238e-1;
const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;
const INV_LN2: f64 = core::f64::consts::LOG2_E;
/// Adding and subtracting `1.5·2^52` rounds a double of magnitude below
/// `2^51` to the nearest integer.
const ROUND: f64 = 6_755_399_441_055_744.0;

/// `eˣ − 1` for `f64`.
#[inline]
pub fn expm1_f64(x: f64) -> f64 {
    if !(x <= 0.0) {
        return libm::expm1(x); // x > 0 (off the hot path) and NaN
    }
    // e^-40 < 2^-57: the result rounds to −1 from here down.
    let x = if x > -40.0 { x } else { -40.0 };
    let kf = (x * INV_LN2 + ROUND) - ROUND;
    let r = (x - kf * LN2_HI) - kf * LN2_LO;
    let r2 = r * r;
    let r4 = r2 * r2;
    let r8 = r4 * r4;
    // 1/(j+2)! for j = 0..=11.
    const C: [f64; 12] = [
        1.0 / 2.0,
        1.0 / 6.0,
        1.0 / 24.0,
        1.0 / 120.0,
        1.0 / 720.0,
        1.0 / 5040.0,
        1.0 / 40320.0,
        1.0 / 362880.0,
        1.0 / 3628800.0,
        1.0 / 39916800.0,
        1.0 / 479001600.0,
        1.0 / 6227020800.0,
    ];
    let p01 = C[0] + C[1] * r;
    let p23 = C[2] + C[3] * r;
    let p45 = C[4] + C[5] * r;
    let p67 = C[6] + C[7] * r;
    let p89 = C[8] + C[9] * r;
    let pab = C[10] + C[11] * r;
    let q0 = p01 + p23 * r2;
    let q1 = p45 + p67 * r2;
    let q2 = p89 + pab * r2;
    let p = (q0 + q1 * r4) + q2 * r8;
    let em = r + r2 * p;
    // 2^k, k ∈ [−58, 0]: a normal double.
    let s = f64::from_bits(((kf as i64 + 1023) as u64) << 52);
    s * em + (s - 1.0)
}

/// `eˣ − 1` for `f32`, computed in `f32` (no `f64` on single-precision FPUs).
#[inline]
pub fn expm1_f32(x: f32) -> f32 {
    if !(x <= 0.0) {
        return libm::expm1f(x);
    }
    // e^-18 < 2^-25: the result rounds to −1 from here down.
    let x = if x > -18.0 { x } else { -18.0 };
    // 1.5·2^23 rounds magnitudes below 2^22.
    const ROUND_F32: f32 = 12_582_912.0;
    const LN2_HI_F32: f32 = 0.693_145_75; // 0x3f317200: 8 trailing zero bits
    const LN2_LO_F32: f32 = 1.428_606_8e-6;
    let kf = (x * core::f32::consts::LOG2_E + ROUND_F32) - ROUND_F32;
    let r = (x - kf * LN2_HI_F32) - kf * LN2_LO_F32;
    let r2 = r * r;
    let r4 = r2 * r2;
    // 1/(j+2)! for j = 0..=6.
    const C: [f32; 7] = [1.0 / 2.0, 1.0 / 6.0, 1.0 / 24.0, 1.0 / 120.0, 1.0 / 720.0, 1.0 / 5040.0, 1.0 / 40320.0];
    let p01 = C[0] + C[1] * r;
    let p23 = C[2] + C[3] * r;
    let p45 = C[4] + C[5] * r;
    let p = (p01 + p23 * r2) + (p45 + C[6] * r2) * r4;
    let em = r + r2 * p;
    let s = f32::from_bits(((kf as i32 + 127) as u32) << 23);
    s * em + (s - 1.0)
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;

    /// Distance in units in the last place (of `b`'s binade).
    fn ulps64(a: f64, b: f64) -> f64 {
        if a == b {
            return 0.0;
        }
        let ulp = f64::from_bits(b.abs().to_bits() + 1) - b.abs();
        (a - b).abs() / ulp
    }

    fn ulps32(a: f32, b: f64) -> f64 {
        let bf = b as f32;
        let ulp = (f32::from_bits(bf.abs().to_bits() + 1) - bf.abs()) as f64;
        (a as f64 - b).abs() / ulp
    }

    fn xs() -> impl Iterator<Item = f64> {
        // Dense over the reduction's breakpoints and the range a sampler
        // uses, log-spaced down to tiny magnitudes, both signs.
        let dense = (-200_000..=200_000).map(|i| i as f64 * 1e-4);
        let wide = (-4000..=4000).map(|i| i as f64 * 0.17);
        let tiny = (1..=600).flat_map(|e| {
            let v = libm::pow(10.0, -(e as f64) / 2.0);
            [v, -v, v * 1.37, -v * 1.37]
        });
        let halves = (-80..=80).flat_map(|k| {
            let c = (k as f64 + 0.5) * core::f64::consts::LN_2;
            [c, f64::from_bits(c.to_bits() + 1), f64::from_bits(c.to_bits() - 1)]
        });
        dense.chain(wide).chain(tiny).chain(halves)
    }

    #[test]
    fn agrees_with_libm_within_one_ulp() {
        let mut worst64: f64 = 0.0;
        let mut worst32: f64 = 0.0;
        for x in xs() {
            {
                let (got, want) = (expm1_f64(x), libm::expm1(x));
                let u = ulps64(got, want);
                assert!(u <= 1.0, "f64 x = {x:e}: {got:e} vs libm {want:e} ({u} ulp)");
                worst64 = worst64.max(u);
            }
            let xf = x as f32;
            if ((libm::expm1(xf as f64)) as f32).is_finite() {
                // The f64 libm value of the same f32 input as reference.
                let got = expm1_f32(xf);
                let u = ulps32(got, libm::expm1(xf as f64));
                assert!(u <= 1.0, "f32 x = {xf:e}: {got:e} vs {:e} ({u} ulp)", libm::expm1(xf as f64));
                worst32 = worst32.max(u);
            }
        }
        // (Checked to fail when the r⁷ coefficient of the f64 series is off
        // by 2e-4 relative.)
        std::eprintln!("worst: f64 {worst64:.3} ulp, f32 {worst32:.3} ulp");
        assert!(worst64 <= 1.0 && worst32 <= 1.0);
    }

    #[test]
    fn edges() {
        assert_eq!(expm1_f64(0.0), 0.0);
        assert_eq!(expm1_f64(-1e300), -1.0);
        assert_eq!(expm1_f64(f64::NEG_INFINITY), -1.0);
        assert_eq!(expm1_f64(-40.0), -1.0);
        assert_eq!(expm1_f64(800.0), f64::INFINITY);
        assert_eq!(expm1_f64(f64::INFINITY), f64::INFINITY);
        assert!(expm1_f64(f64::NAN).is_nan());
        assert_eq!(expm1_f64(1e-300), 1e-300);
        assert_eq!(expm1_f32(0.0), 0.0);
        assert_eq!(expm1_f32(-1e30), -1.0);
        assert_eq!(expm1_f32(f32::NEG_INFINITY), -1.0);
        assert_eq!(expm1_f32(100.0), f32::INFINITY);
        assert!(expm1_f32(f32::NAN).is_nan());
        assert_eq!(expm1_f32(1e-30), 1e-30);
        // Just below the libm hand-over: finite and close.
        let (a, b) = (expm1_f64(708.9), libm::expm1(708.9));
        assert!(ulps64(a, b) <= 1.0, "{a} {b}");
    }
}
