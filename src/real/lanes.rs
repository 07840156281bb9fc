//! The per-precision half of the Box–Muller normal generator: turning random
//! words into exactly representable uniforms and grid angles with integer
//! lane operations (no int→float conversion of 53-bit values, no general
//! range reduction), plus the polynomial coefficients fitted for each
//! precision. The arithmetic on top is generic (`crate::rng::normal`).
//!
//! The generator works on 512-bit vectors (`f32x16` / `f64x8`, one AVX-512
//! register, two AVX2 registers elsewhere): 8 words of radius bits and 8 of
//! angle bits per call. Wider vectors halve the instruction count where the
//! hardware has them; every lane computes the same thing whatever the width,
//! so the numbers do not depend on the target's vector size.
//!
//! Coefficients: near-minimax fits made by `src/rng/fit_polys.py` (weighted
//! so that the weight times the error is the relative error of the final
//! `ln m`, `sin φ` or `cos φ`), degree chosen as the lowest whose fitting
//! error is far below half an ulp of the precision:
//! `f64` ln 1.2e-18, sin 3.4e-18, cos 4.7e-20; `f32` ln 8.1e-10, sin 3.6e-9,
//! cos 9.5e-11.

// The coefficients are the fitting script's output verbatim (20 digits), so
// they can be compared with it; the compiler rounds them to the precision.
#![allow(clippy::excessive_precision)]

use wide::bytemuck::cast;

pub(crate) mod f64_lanes {
    use super::cast;
    use wide::{f64x4, f64x8, u64x8};

    pub const LN: &[f64] = &[
        0.66666666666667344137,
        0.39999999999414670443,
        0.28571428742389104263,
        0.22222198573051387881,
        0.18183564332337020836,
        0.153140504065999177,
        0.1479595104998464979,
    ];
    pub const SIN: &[f64] = &[
        -0.16666666666666632067,
        0.008333333333322424362,
        -0.00019841269829816841142,
        2.755731369519377623e-6,
        -2.5050758648733842612e-8,
        1.5896827691618526846e-10,
    ];
    pub const COS: &[f64] = &[
        0.041666666666666599554,
        -0.0013888888888874138268,
        0.00002480158728949162444,
        -2.7557314355189039671e-7,
        2.0875723677877998391e-9,
        -1.1359669554439625229e-11,
    ];

    const ONE: u64 = 0x3FF0_0000_0000_0000;
    const SQRT_HALF: u64 = 0x3FE6_A09E_667F_3BCD;
    const MANT: u64 = 0x000F_FFFF_FFFF_FFFF;
    /// `2⁵²` as bits: OR-ing an integer `j < 2⁵²` into its mantissa gives the
    /// double `2⁵² + j` exactly (AVX2 has no 64-bit integer → double conversion).
    const TWO52: u64 = 0x4330_0000_0000_0000;
    const TWO52F: f64 = 4_503_599_627_370_496.0;

    #[inline(always)]
    pub fn unit_split(b: u64x8) -> (f64x8, f64x8) {
        // 1 + j·2⁻⁵² ∈ [1, 2) from the top 52 bits, then u = 2 − that =
        // 1 − j·2⁻⁵² ∈ [2⁻⁵², 1]: exact (Sterbenz), never 0.
        let one_two: f64x8 = cast((b >> 12) | u64x8::splat(ONE));
        let u = f64x8::splat(2.0) - one_two;
        // Adding 2 − √2 (as mantissa bits) carries into the exponent exactly
        // when the mantissa is ≥ √2: the exponent field is then that of
        // u/√½ and the mantissa bits plus √½'s give m ∈ [√½, √2) (u ≤ 1 keeps
        // everything positive, so logical shifts suffice).
        let t = cast::<f64x8, u64x8>(u) + u64x8::splat(ONE - SQRT_HALF);
        let m: f64x8 = cast((t & u64x8::splat(MANT)) + u64x8::splat(SQRT_HALF));
        let kf: f64x8 = cast((t >> 52) | u64x8::splat(TWO52));
        (m - f64x8::splat(1.0), kf - f64x8::splat(TWO52F + 1023.0))
    }

    #[inline(always)]
    pub fn grid_angle(b: u64x8) -> f64x8 {
        let j = cast::<u64x8, f64x8>((b & u64x8::splat(MANT)) | u64x8::splat(TWO52)) - f64x8::splat(TWO52F);
        let step = core::f64::consts::FRAC_PI_2 / TWO52F;
        j.mul_add(f64x8::splat(step), f64x8::splat(0.5 * step - core::f64::consts::FRAC_PI_4))
    }

    #[inline(always)]
    pub fn square_symmetry(b: u64x8, c: f64x8, s: f64x8) -> (f64x8, f64x8) {
        let (c, s) = (cast::<f64x8, u64x8>(c), cast::<f64x8, u64x8>(s));
        // Bit 61 swaps (all-ones mask from 0 − bit), bits 63 and 62 are the signs.
        let swap = u64x8::splat(0) - ((b >> 61) & u64x8::splat(1));
        let x = (c ^ s) & swap;
        let sign = u64x8::splat(1 << 63);
        let c2 = c ^ x ^ (b & sign);
        let s2 = s ^ x ^ ((b << 1) & sign);
        (cast(c2), cast(s2))
    }

    /// Lanes 0–3 and 4–7.
    #[inline(always)]
    pub fn split(v: f64x8) -> [f64x4; 2] {
        cast(v)
    }
}

pub(crate) mod f32_lanes {
    use super::cast;
    use wide::{f32x16, f32x8, i32x16, u32x16, u64x8};

    pub const LN: &[f64] = &[0.66666776383364264175, 0.3997754140664574412, 0.29871731578037991744];
    pub const SIN: &[f64] = &[-0.16666654943490349035, 0.0083321781362195731954, -0.00019517297898322567615];
    pub const COS: &[f64] = &[0.041666646865985847319, -0.0013887367496707156549, 0.000024438449681674235455];

    const SQRT_HALF: u32 = 0x3F35_04F3;
    const ONE: u32 = 0x3F80_0000;
    const MANT: u32 = 0x007F_FFFF;

    /// The 16 lanes of 8 words, low half of each word first, whatever the
    /// target's byte order (so the numbers are the same everywhere). On
    /// little-endian targets that is the words' own memory layout.
    #[inline(always)]
    fn halves(w: u64x8) -> u32x16 {
        #[cfg(target_endian = "little")]
        {
            cast(w)
        }
        #[cfg(not(target_endian = "little"))]
        {
            cast((w << 32) | (w >> 32))
        }
    }

    /// Unlike `f64`, `u` is not formed: `j + 1 ∈ [1, 2²⁴]` is exact
    /// and is split as `m·2ᵏ`, and the `2⁻²⁴` goes into `k` (one multiply less).
    #[inline(always)]
    pub fn unit_split(w: u64x8) -> (f32x16, f32x16) {
        // j + 1 in floating point (exact): an integer `+ 1` needs an
        // all-ones register, which LLVM rematerialises inside the loop with
        // an instruction that depends on the register's previous value,
        // chaining the iterations together (0.61 instead of 0.43 ns/normal).
        let j: i32x16 = cast(halves(w) >> 8);
        let v = f32x16::from_i32x16(j) + f32x16::splat(1.0);
        // As for f64: the carry of 2 − √2 into the exponent splits v = m·2ᵏ⁺²⁴.
        let t = cast::<f32x16, u32x16>(v) + u32x16::splat(ONE - SQRT_HALF);
        let m: f32x16 = cast((t & u32x16::splat(MANT)) + u32x16::splat(SQRT_HALF));
        let k = f32x16::from_i32x16(cast(t >> 23)) - f32x16::splat(127.0 + 24.0);
        (m - f32x16::splat(1.0), k)
    }

    #[inline(always)]
    pub fn grid_angle(w: u64x8) -> f32x16 {
        let j: i32x16 = cast(halves(w) & u32x16::splat(0x00FF_FFFF));
        let step = (core::f64::consts::FRAC_PI_2 / 16_777_216.0) as f32;
        let off = (0.5 * core::f64::consts::FRAC_PI_2 / 16_777_216.0 - core::f64::consts::FRAC_PI_4) as f32;
        f32x16::from_i32x16(j).mul_add(f32x16::splat(step), f32x16::splat(off))
    }

    #[inline(always)]
    pub fn square_symmetry(w: u64x8, c: f32x16, s: f32x16) -> (f32x16, f32x16) {
        let b = halves(w);
        let (c, s) = (cast::<f32x16, u32x16>(c), cast::<f32x16, u32x16>(s));
        let swap = u32x16::splat(0) - ((b >> 29) & u32x16::splat(1));
        let x = (c ^ s) & swap;
        let sign = u32x16::splat(1 << 31);
        let c2 = c ^ x ^ (b & sign);
        let s2 = s ^ x ^ ((b << 1) & sign);
        (cast(c2), cast(s2))
    }

    /// Lanes 0–7 and 8–15.
    #[inline(always)]
    pub fn split(v: f32x16) -> [f32x8; 2] {
        cast(v)
    }
}
