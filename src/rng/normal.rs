//! Vectorised standard normals by the Box–Muller transform.
//!
//! Each block turns 8 random words into `2·LANES` normals: no rejection
//! loop, so the cost per value is fixed and the number of random words
//! consumed per value is known (one word per normal in `f64`, one word per
//! two normals in `f32`), which keeps streams reproducible whatever the block
//! boundaries of the caller.
//!
//! The transform is specialised to the ranges it meets, so it needs neither
//! special cases nor range reduction ([`Real::vunit_split`] and friends do
//! the bit handling):
//!
//! * radius `r = sqrt(−2 ln u)` with `u ∈ (0, 1]` drawn as `u = m·2ᵏ`,
//!   `m ∈ [√½, √2)`, so `ln u = k ln 2 + 2 atanh(s)`, `s = (m−1)/(m+1)`,
//!   `|s| ≤ 0.172`: one division and a short polynomial in `s²`;
//! * angle: `φ` uniform on a symmetric grid in (−π/4, π/4), where `sin` and
//!   `cos` are short polynomials in `φ²`, mapped to the whole circle by one
//!   of the 8 symmetries of the square (3 more random bits: swap, two signs).
//!   A uniform angle on the circle is all Box–Muller needs; the square's
//!   symmetries carry the uniform grid on (−π/4, π/4) to a uniform grid on
//!   the circle because the grid is symmetric about 0.
//!
//! Accuracy: the polynomials are fitted to far below half an ulp, so the
//! values are within a few ulp of the exact transform of the same bits
//! (tested against a scalar `f64` reference). Radius bits: 24 (`f32`, so
//! `|z| ≤ 5.8`) and 52 (`f64`, `|z| ≤ 8.5`).

use super::Rng;
use crate::real::Real;

/// Normals produced per generator block (the largest `2·LANES`, `f32`).
pub const NORMAL_BLOCK: usize = 16;

/// Random words per block, both precisions: 4 for the radii, 4 for the angles.
const WORDS: usize = 8;

/// `c[0] + c[1] z + … ` by Horner's rule (the coefficient lists are
/// constants, so this unrolls into a chain of FMAs).
#[inline(always)]
fn poly<T: Real>(z: T::V, c: &[f64]) -> T::V {
    let mut acc = T::from_f64(c[c.len() - 1]).splat();
    let mut i = c.len() - 1;
    while i > 0 {
        i -= 1;
        acc = T::vfma(acc, z, T::from_f64(c[i]).splat());
    }
    acc
}

/// One block of `2·LANES` standard normals from 8 random words: the first
/// `LANES` values and the next `LANES` (words 0–3 give the radii, 4–7 the
/// angles).
#[inline(always)]
pub(crate) fn normal_block<T: Real>(w: &[u64; WORDS]) -> (T::V, T::V) {
    let (wr, wa) = (&[w[0], w[1], w[2], w[3]], &[w[4], w[5], w[6], w[7]]);
    // ln u = k ln 2 + ln m, ln m = 2s + s·z·P(z).
    let (f, k) = T::vunit_split(wr);
    let s = f / (T::from_f64(2.0).splat() + f);
    let z = s * s;
    let ln_m = T::vfma(s * z, poly::<T>(z, T::BM_LN), s + s);
    let ln_u = T::vfma(k, T::from_f64(core::f64::consts::LN_2).splat(), ln_m);
    let r = T::vsqrt(ln_u * T::from_f64(-2.0).splat());
    let phi = T::vgrid_angle(wa);
    let q = phi * phi;
    let sn = T::vfma(phi * q, poly::<T>(q, T::BM_SIN), phi);
    let cs = T::vfma(q * q, poly::<T>(q, T::BM_COS), T::vfma(q, T::from_f64(-0.5).splat(), T::ONE.splat()));
    let (c, s) = T::vsquare_symmetry(wa, cs, sn);
    (r * c, r * s)
}

/// A pull-style source of normal blocks for fused kernels: the numbers are
/// exactly those [`fill_normals`] would write (the same words in the same
/// blocks), but each block is produced in registers where it is used, with
/// no buffer of normals or words in memory. Each block consumes the next 8
/// words of the stream.
pub struct NormalBlocks<'r> {
    rng: &'r mut Rng,
}

impl<'r> NormalBlocks<'r> {
    /// Blocks drawn from `rng`.
    #[inline(always)]
    pub fn new(rng: &'r mut Rng) -> Self {
        NormalBlocks { rng }
    }

    /// The next block: `2·LANES` normals as two vectors.
    #[inline(always)]
    pub fn next_block<T: Real>(&mut self) -> (T::V, T::V) {
        normal_block::<T>(&self.rng.next8())
    }
}

/// Writes `n` normals from `src` to `p`.
///
/// # Safety
/// `p .. p + n` must be writable.
#[inline(always)]
unsafe fn write_normals<T: Real>(src: &mut NormalBlocks<'_>, p: *mut T, n: usize) {
    let l = T::LANES;
    let full = n / (2 * l);
    for b in 0..full {
        let (a, c) = src.next_block::<T>();
        T::vwrite(a, p.add(2 * l * b));
        T::vwrite(c, p.add(2 * l * b + l));
    }
    let done = full * 2 * l;
    if done < n {
        let (a, c) = src.next_block::<T>();
        let mut buf = [T::ZERO; NORMAL_BLOCK];
        T::vstore(a, &mut buf[..l]);
        T::vstore(c, &mut buf[l..2 * l]);
        core::ptr::copy_nonoverlapping(buf.as_ptr(), p.add(done), n - done);
    }
}

/// Fills `out` with independent standard normals.
///
/// Blocks of `2·LANES` values consume 8 random words each; the values depend
/// only on the stream position and on `out.len()`: filling 10 then 6 values
/// gives the same 16 numbers as filling 16 at once only when 10 is a multiple
/// of the block size; a partial block's unused values are discarded.
pub fn fill_normals<T: Real>(rng: &mut Rng, out: &mut [T]) {
    let n = out.len();
    let mut src = NormalBlocks::new(rng);
    // SAFETY: out has n writable values.
    unsafe { write_normals(&mut src, out.as_mut_ptr(), n) }
}

/// Streams `n` standard normals through `f(offset, block)` in blocks of at
/// most `BATCH` values, without a d-sized buffer. Produces the same numbers
/// as `fill_normals` on a slice of length `n`.
pub fn for_each_normal_block<T: Real, F: FnMut(usize, &[T])>(rng: &mut Rng, n: usize, mut f: F) {
    const BATCH: usize = 256; // a multiple of every 2·LANES
    // Uninitialised: zeroing 2 KB per call costs more than the normals of a
    // small d; every value handed to `f` was written just before.
    let mut buf = core::mem::MaybeUninit::<[T; BATCH]>::uninit();
    let p = buf.as_mut_ptr() as *mut T;
    let mut src = NormalBlocks::new(rng);
    let mut off = 0;
    while off < n {
        let m = if n - off < BATCH { n - off } else { BATCH };
        // SAFETY: m <= BATCH values are written, then exactly those are read.
        let blk = unsafe {
            write_normals(&mut src, p, m);
            core::slice::from_raw_parts(p, m)
        };
        f(off, blk);
        off += m;
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::vec;

    fn moments<T: Real>() {
        let n = 400_000;
        let mut v = vec![T::ZERO; n];
        let mut rng = Rng::new(11, 2);
        fill_normals(&mut rng, &mut v);
        let m1: f64 = v.iter().map(|x| x.to_f64()).sum::<f64>() / n as f64;
        let m2: f64 = v.iter().map(|x| x.to_f64().powi(2)).sum::<f64>() / n as f64;
        let m4: f64 = v.iter().map(|x| x.to_f64().powi(4)).sum::<f64>() / n as f64;
        // Standard errors: mean 1/sqrt(n) = 1.6e-3; E x² sqrt(2/n) = 2.2e-3; E x⁴ sqrt(96/n) = 1.5e-2. 5 sd each.
        assert!(m1.abs() < 8e-3, "mean {m1}");
        assert!((m2 - 1.0).abs() < 1.1e-2, "var {m2}");
        assert!((m4 - 3.0).abs() < 7.7e-2, "kurt {m4}");
        let tail = v.iter().filter(|x| x.to_f64() > 2.0).count() as f64 / n as f64;
        // P(Z > 2) = 0.02275, sd sqrt(p(1-p)/n) = 2.4e-4.
        assert!((tail - 0.02275).abs() < 1.2e-3, "tail {tail}");
    }

    /// The scalar definition of a block, in f64 with libm: lane i's radius
    /// from word-lane i of words 0–3, its angle from word-lane i of words 4–7.
    fn reference_block<T: Real>(w: &[u64; 8]) -> std::vec::Vec<f64> {
        let l = T::LANES;
        let (bits, rbits, abits) = if l == 4 { (64u32, 52u32, 52u32) } else { (32, 24, 24) };
        let lane = |k: usize, i: usize| -> u64 {
            if l == 4 { w[k + i] } else { (w[k + i / 2] >> (32 * (i % 2))) & 0xFFFF_FFFF }
        };
        let mut out = std::vec![0.0; 2 * l];
        for i in 0..l {
            let rb = lane(0, i) >> (bits - rbits);
            let u = if l == 4 { 1.0 - rb as f64 / 2f64.powi(52) } else { (rb + 1) as f64 / 2f64.powi(24) };
            let r = (-2.0 * u.ln()).sqrt();
            let a = lane(4, i);
            let j = a & ((1u64 << abits) - 1);
            let phi = (j as f64 + 0.5) * core::f64::consts::FRAC_PI_2 / 2f64.powi(abits as i32) - core::f64::consts::FRAC_PI_4;
            let (mut c, mut s) = (phi.cos(), phi.sin());
            if (a >> (bits - 3)) & 1 == 1 {
                core::mem::swap(&mut c, &mut s);
            }
            if (a >> (bits - 1)) & 1 == 1 {
                c = -c;
            }
            if (a >> (bits - 2)) & 1 == 1 {
                s = -s;
            }
            out[i] = r * c;
            out[l + i] = r * s;
        }
        out
    }

    fn matches_reference<T: Real>(ulps: f64) {
        let mut rng = Rng::new(5, 5);
        let eps = T::EPSILON.to_f64();
        let mut cases: std::vec::Vec<[u64; 8]> = std::vec![[0; 8], [u64::MAX; 8], [1 << 63; 8], [0x5555_5555_5555_5555; 8]];
        for _ in 0..20_000 {
            let mut w = [0u64; 8];
            rng.fill_u64(&mut w);
            cases.push(w);
        }
        let mut worst = 0.0f64;
        for w in &cases {
            let (a, b) = normal_block::<T>(w);
            let mut got = [T::ZERO; NORMAL_BLOCK];
            T::vstore(a, &mut got[..T::LANES]);
            T::vstore(b, &mut got[T::LANES..2 * T::LANES]);
            let want = reference_block::<T>(w);
            for i in 0..T::LANES {
                let r = want[i].hypot(want[T::LANES + i]);
                for k in [i, T::LANES + i] {
                    let err = (got[k].to_f64() - want[k]).abs() / (eps * (r + want[k].abs()) + f64::MIN_POSITIVE);
                    worst = worst.max(err);
                    assert!(err <= ulps, "{} lane {k}: {} vs {} (words {w:x?})", T::NAME, got[k].to_f64(), want[k]);
                }
            }
        }
        std::println!("{}: worst error {worst:.2} eps·(r + |z|)", T::NAME);
    }

    #[test]
    fn blocks_match_scalar_reference() {
        matches_reference::<f64>(4.0);
        matches_reference::<f32>(4.0);
    }

    #[test]
    fn normal_moments_f64() {
        moments::<f64>();
    }

    #[test]
    fn normal_moments_f32() {
        moments::<f32>();
    }

    #[test]
    fn blockwise_streaming_matches_fill() {
        for n in [0usize, 1, 7, 16, 17, 300, 1001] {
            let mut a = Rng::new(3, 9);
            let mut b = a;
            let mut v = vec![0.0f64; n];
            fill_normals(&mut a, &mut v);
            let mut w = vec![0.0f64; n];
            for_each_normal_block(&mut b, n, |o, blk: &[f64]| w[o..o + blk.len()].copy_from_slice(blk));
            // Equal as long as the partial block sits at the end, which it does.
            assert_eq!(v, w, "n={n}");
            assert_eq!(a, b);
        }
    }
}
