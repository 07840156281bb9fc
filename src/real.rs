//! The `Real` trait: the one abstraction that lets every algorithm in smile be
//! written once and run in `f32` and `f64`.
//!
//! A `Real` knows its SIMD lane type (`wide::f32x8` / `wide::f64x4`: 256 bits,
//! one AVX register, two SSE/NEON registers on narrower machines) and the
//! scalar special functions the samplers need, taken from `libm` so they exist
//! in `no_std`.

use core::fmt::Debug;
use core::ops::{Add, AddAssign, Div, Mul, MulAssign, Neg, Sub, SubAssign};
use wide::{f32x8, f64x4};

mod expm1;
mod lanes;

/// A floating-point scalar smile can sample in: `f32` or `f64`.
///
/// Sealed in spirit: the kernels assume IEEE-754 semantics, so only the two
/// primitive float types implement it.
pub trait Real:
    Copy
    + Default
    + Debug
    + PartialOrd
    + Send
    + Sync
    + 'static
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + AddAssign
    + SubAssign
    + MulAssign
{
    /// SIMD vector of `LANES` values.
    type V: Copy + Add<Output = Self::V> + Sub<Output = Self::V> + Mul<Output = Self::V> + Div<Output = Self::V>;
    /// Number of values in one `V`.
    const LANES: usize;
    /// Name used in reports and C symbols (`"f32"` / `"f64"`).
    const NAME: &'static str;
    /// Machine epsilon.
    const EPSILON: Self;
    const ZERO: Self;
    const ONE: Self;
    const INFINITY: Self;

    fn splat(self) -> Self::V;
    /// Loads `LANES` values; `s.len()` must equal `LANES` (the kernels only
    /// pass `chunks_exact` chunks, so the check folds away).
    fn vload(s: &[Self]) -> Self::V;
    /// Stores `LANES` values into `s` (`s.len() == LANES`).
    fn vstore(v: Self::V, s: &mut [Self]);
    /// Unaligned load of `LANES` values starting at `p`.
    ///
    /// # Safety
    /// `p .. p + LANES` must be readable.
    unsafe fn vread(p: *const Self) -> Self::V;
    /// Unaligned store of `LANES` values starting at `p`.
    ///
    /// # Safety
    /// `p .. p + LANES` must be writable.
    unsafe fn vwrite(v: Self::V, p: *mut Self);
    /// Horizontal sum of the lanes.
    fn vsum(v: Self::V) -> Self;
    /// `a * b + c`, fused where the target has FMA.
    fn vfma(a: Self::V, b: Self::V, c: Self::V) -> Self::V;
    /// Lane-wise natural logarithm (vectorised polynomial, ~1 ulp).
    fn vln(v: Self::V) -> Self::V;
    /// Lane-wise `(sin, cos)`.
    fn vsin_cos(v: Self::V) -> (Self::V, Self::V);
    fn vsqrt(v: Self::V) -> Self::V;
    /// Whether every lane has `|v| ≤ bound` (false if any lane is NaN).
    fn vall_abs_le(v: Self::V, bound: Self::V) -> bool;
    /// Lane-wise [`Real::max`]: `a` where `b` is NaN, else the larger (a
    /// NaN in `a` gives `b`), so vector and scalar paths agree bit for bit.
    fn vmax(a: Self::V, b: Self::V) -> Self::V;
    /// Lane-wise [`Real::min`] (NaN as in [`vmax`](Self::vmax)).
    fn vmin(a: Self::V, b: Self::V) -> Self::V;

    // Box–Muller building blocks for `crate::rng` (bit handling per
    // precision; the polynomial arithmetic on top is generic). Each lane
    // takes its random bits from one 64-bit word (`f64`) or one 32-bit half
    // of a word, low half first (`f32`), so 8 words fill one `W`.

    /// Coefficients, in ascending powers of `z`, of `P` in
    /// `ln m = 2s + s·z·P(z)`, `s = (m−1)/(m+1)`, `z = s²`, `m ∈ [√½, √2)`.
    const BM_LN: &'static [f64];
    /// `S` in `sin φ = φ + φ·z·S(z)`, `z = φ²`, `|φ| ≤ π/4`.
    const BM_SIN: &'static [f64];
    /// `C` in `cos φ = 1 − z/2 + z²·C(z)`, `z = φ²`, `|φ| ≤ π/4`.
    const BM_COS: &'static [f64];
    /// The normal generator's 512-bit vector (`f32x16` / `f64x8`): `2·LANES`
    /// lanes, one AVX-512 register (two AVX2 registers elsewhere).
    type W: Copy + Add<Output = Self::W> + Sub<Output = Self::W> + Mul<Output = Self::W> + Div<Output = Self::W>;
    fn wsplat(x: f64) -> Self::W;
    /// `a * b + c`, fused where the target has FMA.
    fn wfma(a: Self::W, b: Self::W, c: Self::W) -> Self::W;
    fn wsqrt(v: Self::W) -> Self::W;
    /// The lower and upper `LANES` lanes.
    fn wsplit(v: Self::W) -> [Self::V; 2];
    /// A uniform `u ∈ (0, 1]` per lane of `W`, on the grid `2⁻²⁴` (`f32`: the
    /// top 24 bits of the lane's half-word, low halves first) or `2⁻⁵²`
    /// (`f64`: the top 52 bits of the lane's word), split as `u = m·2ᵏ` with
    /// `m ∈ [√½, √2)`: returns `(m − 1, k)`, both exact.
    fn wunit_split(w: wide::u64x8) -> (Self::W, Self::W);
    /// A uniform angle per lane on the grid `φⱼ = (j + ½)·(π/2)/2ᴮ − π/4`,
    /// `j < 2ᴮ` (`B` = 24 / 52 low bits of the lane), symmetric in (−π/4, π/4).
    fn wgrid_angle(w: wide::u64x8) -> Self::W;
    /// Maps `(cos φ, sin φ)` by the symmetry of the square chosen by the
    /// lane's top 3 bits (swap the two, then flip each sign): with `φ` from
    /// [`wgrid_angle`](Self::wgrid_angle) of the same words, the result is
    /// `(cos θ, sin θ)` of an angle uniform on a grid over the whole circle.
    fn wsquare_symmetry(w: wide::u64x8, c: Self::W, s: Self::W) -> (Self::W, Self::W);

    fn from_f64(x: f64) -> Self;
    fn to_f64(self) -> f64;
    /// The bits of the value, zero-extended. Nonnegative values order like
    /// their bits, so a test on a value read from memory can run as an
    /// integer compare, off the floating-point units.
    fn to_bits_u64(self) -> u64;
    fn from_usize(n: usize) -> Self;
    fn sqrt(self) -> Self;
    fn exp(self) -> Self;
    fn expm1(self) -> Self;
    fn ln(self) -> Self;
    fn ln1p(self) -> Self;
    fn powf(self, e: Self) -> Self;
    fn abs(self) -> Self;
    fn is_finite(self) -> bool;
    fn max(self, o: Self) -> Self;
    fn min(self, o: Self) -> Self;
    /// `n` uniform values in (0, 1] from one 64-bit random word, `n = 64 / mantissa bits`
    /// rounded down (2 for `f32`, 1 for `f64`), written to `out[..n]`; returns `n`.
    #[inline(always)]
    fn uniforms_from_u64(w: u64, out: &mut [Self; 2]) -> usize {
        // (k + 1)·2^-bits lies in (0, 1] and is exact in Self: never 0, so ln(u) is finite.
        if Self::LANES == 8 {
            let scale = 1.0 / (1u64 << 24) as f64;
            out[0] = Self::from_f64((((w >> 40) + 1) as f64) * scale);
            out[1] = Self::from_f64(((((w >> 8) & 0xFF_FFFF) + 1) as f64) * scale);
            2
        } else {
            out[0] = Self::from_f64((((w >> 11) + 1) as f64) * (1.0 / (1u64 << 53) as f64));
            1
        }
    }
}

macro_rules! impl_real {
    ($t:ty, $v:ty, $w:ty, $lanes:expr, $name:expr,
     sqrt = $sqrt:path, exp = $exp:path, expm1 = $expm1:path, ln = $ln:path,
     ln1p = $ln1p:path, pow = $pow:path, fabs = $fabs:path, lanes = $lanes_mod:ident) => {
        impl Real for $t {
            type V = $v;
            const LANES: usize = $lanes;
            const NAME: &'static str = $name;
            const EPSILON: Self = <$t>::EPSILON;
            const ZERO: Self = 0.0;
            const ONE: Self = 1.0;
            const INFINITY: Self = <$t>::INFINITY;

            #[inline(always)]
            fn splat(self) -> $v {
                <$v>::splat(self)
            }
            #[inline(always)]
            fn vload(s: &[Self]) -> $v {
                match <[$t; $lanes]>::try_from(s) {
                    Ok(a) => <$v>::new(a),
                    Err(_) => <$v>::splat(0.0),
                }
            }
            #[inline(always)]
            fn vstore(v: $v, s: &mut [Self]) {
                if let Ok(a) = <&mut [$t; $lanes]>::try_from(s) {
                    *a = v.to_array();
                }
            }
            #[inline(always)]
            unsafe fn vread(p: *const Self) -> $v {
                <$v>::new(core::ptr::read_unaligned(p as *const [$t; $lanes]))
            }
            #[inline(always)]
            unsafe fn vwrite(v: $v, p: *mut Self) {
                core::ptr::write_unaligned(p as *mut [$t; $lanes], v.to_array())
            }
            #[inline(always)]
            fn vsum(v: $v) -> Self {
                v.reduce_add()
            }
            #[inline(always)]
            fn vfma(a: $v, b: $v, c: $v) -> $v {
                a.mul_add(b, c)
            }
            #[inline(always)]
            fn vln(v: $v) -> $v {
                v.ln()
            }
            #[inline(always)]
            fn vsin_cos(v: $v) -> ($v, $v) {
                v.sin_cos()
            }
            #[inline(always)]
            fn vsqrt(v: $v) -> $v {
                v.sqrt()
            }
            #[inline(always)]
            fn vall_abs_le(v: $v, bound: $v) -> bool {
                v.abs().simd_le(bound).all()
            }
            // `wide`'s max/min keep the left operand where the right one is
            // NaN and otherwise compare: `Real::max`/`min` exactly.
            #[inline(always)]
            fn vmax(a: $v, b: $v) -> $v {
                a.max(b)
            }
            #[inline(always)]
            fn vmin(a: $v, b: $v) -> $v {
                a.min(b)
            }
            const BM_LN: &'static [f64] = lanes::$lanes_mod::LN;
            const BM_SIN: &'static [f64] = lanes::$lanes_mod::SIN;
            const BM_COS: &'static [f64] = lanes::$lanes_mod::COS;
            type W = $w;
            #[inline(always)]
            fn wsplat(x: f64) -> $w {
                <$w>::splat(x as $t)
            }
            #[inline(always)]
            fn wfma(a: $w, b: $w, c: $w) -> $w {
                a.mul_add(b, c)
            }
            #[inline(always)]
            fn wsqrt(v: $w) -> $w {
                v.sqrt()
            }
            #[inline(always)]
            fn wsplit(v: $w) -> [$v; 2] {
                lanes::$lanes_mod::split(v)
            }
            #[inline(always)]
            fn wunit_split(w: wide::u64x8) -> ($w, $w) {
                lanes::$lanes_mod::unit_split(w)
            }
            #[inline(always)]
            fn wgrid_angle(w: wide::u64x8) -> $w {
                lanes::$lanes_mod::grid_angle(w)
            }
            #[inline(always)]
            fn wsquare_symmetry(w: wide::u64x8, c: $w, s: $w) -> ($w, $w) {
                lanes::$lanes_mod::square_symmetry(w, c, s)
            }
            #[inline(always)]
            fn from_f64(x: f64) -> Self {
                x as $t
            }
            #[inline(always)]
            fn to_f64(self) -> f64 {
                self as f64
            }
            #[inline(always)]
            fn to_bits_u64(self) -> u64 {
                self.to_bits() as u64
            }
            #[inline(always)]
            fn from_usize(n: usize) -> Self {
                n as $t
            }
            #[inline(always)]
            fn sqrt(self) -> Self {
                $sqrt(self)
            }
            #[inline(always)]
            fn exp(self) -> Self {
                $exp(self)
            }
            #[inline(always)]
            fn expm1(self) -> Self {
                $expm1(self)
            }
            #[inline(always)]
            fn ln(self) -> Self {
                $ln(self)
            }
            #[inline(always)]
            fn ln1p(self) -> Self {
                $ln1p(self)
            }
            #[inline(always)]
            fn powf(self, e: Self) -> Self {
                $pow(self, e)
            }
            #[inline(always)]
            fn abs(self) -> Self {
                $fabs(self)
            }
            #[inline(always)]
            fn is_finite(self) -> bool {
                <$t>::is_finite(self)
            }
            #[inline(always)]
            fn max(self, o: Self) -> Self {
                if self > o || o.is_nan() {
                    self
                } else {
                    o
                }
            }
            #[inline(always)]
            fn min(self, o: Self) -> Self {
                if self < o || o.is_nan() {
                    self
                } else {
                    o
                }
            }
        }
    };
}

impl_real!(
    f32,
    f32x8,
    wide::f32x16,
    8,
    "f32",
    sqrt = libm::sqrtf,
    exp = libm::expf,
    expm1 = expm1::expm1_f32,
    ln = libm::logf,
    ln1p = libm::log1pf,
    pow = libm::powf,
    fabs = libm::fabsf,
    lanes = f32_lanes
);
impl_real!(
    f64,
    f64x4,
    wide::f64x8,
    4,
    "f64",
    sqrt = libm::sqrt,
    exp = libm::exp,
    expm1 = expm1::expm1_f64,
    ln = libm::log,
    ln1p = libm::log1p,
    pow = libm::pow,
    fabs = libm::fabs,
    lanes = f64_lanes
);

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;

    #[test]
    fn uniforms_are_in_open_closed_unit_interval() {
        let mut o = [0f32; 2];
        assert_eq!(f32::uniforms_from_u64(0, &mut o), 2);
        assert!(o[0] > 0.0 && o[1] > 0.0);
        f32::uniforms_from_u64(u64::MAX, &mut o);
        assert_eq!(o, [1.0, 1.0]);
        let mut p = [0f64; 2];
        assert_eq!(f64::uniforms_from_u64(0, &mut p), 1);
        assert!(p[0] > 0.0);
        f64::uniforms_from_u64(u64::MAX, &mut p);
        assert_eq!(p[0], 1.0);
    }

    fn max_min_match_scalar<T: Real>() {
        let vals = [T::from_f64(f64::NAN), T::ONE, T::from_f64(-2.0), T::ZERO, T::from_f64(-0.0), T::INFINITY, T::from_f64(3.5), T::from_f64(f64::NAN)];
        for shift in 0..vals.len() {
            let a: std::vec::Vec<T> = (0..T::LANES).map(|i| vals[i % vals.len()]).collect();
            let b: std::vec::Vec<T> = (0..T::LANES).map(|i| vals[(i + shift) % vals.len()]).collect();
            let (mut mx, mut mn) = ([T::ZERO; 8], [T::ZERO; 8]);
            T::vstore(T::vmax(T::vload(&a), T::vload(&b)), &mut mx[..T::LANES]);
            T::vstore(T::vmin(T::vload(&a), T::vload(&b)), &mut mn[..T::LANES]);
            for i in 0..T::LANES {
                let (wx, wn) = (a[i].max(b[i]), a[i].min(b[i]));
                assert!(
                    mx[i].to_f64().to_bits() == wx.to_f64().to_bits() || (mx[i].to_f64().is_nan() && wx.to_f64().is_nan()),
                    "{} max({:?}, {:?})",
                    T::NAME,
                    a[i],
                    b[i]
                );
                assert!(
                    mn[i].to_f64().to_bits() == wn.to_f64().to_bits() || (mn[i].to_f64().is_nan() && wn.to_f64().is_nan()),
                    "{} min({:?}, {:?})",
                    T::NAME,
                    a[i],
                    b[i]
                );
            }
        }
    }

    #[test]
    fn vector_max_min_match_scalar_nan_cases_included() {
        max_min_match_scalar::<f32>();
        max_min_match_scalar::<f64>();
    }

    #[test]
    fn load_store_roundtrip() {
        let a = [1.0f64, 2.0, 3.0, 4.0];
        let mut b = [0.0f64; 4];
        f64::vstore(f64::vload(&a), &mut b);
        assert_eq!(a, b);
        assert_eq!(f64::vsum(f64::vload(&a)), 10.0);
    }
}
