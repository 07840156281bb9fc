//! The kernels only SMILE / pSMILE use ([`crate::samplers::smile`]): a
//! momentum-update reduction without `‖u‖²` (the sampler tracks it), the
//! gradient-noise averages and the preconditioner pass of pSMILE
//! ([`crate::tune::noise_precond`]). Same contract and style as `kernels.rs`.
//!
//! Every sum a sampler compares with [`esh_reduce`](super::esh_reduce) is
//! accumulated in the same order as there (two sets of lane accumulators
//! over pairs of registers, an odd register into the first set, then the
//! scalar tail), so the sums are bit-identical to it.

use super::diag::Diag;
use crate::real::Real;

#[inline(always)]
fn min_len(a: usize, b: usize) -> usize {
    if a < b {
        a
    } else {
        b
    }
}

/// `u·(s⊙g)` and `‖s⊙g‖²`: the sums of [`esh_reduce`](super::esh_reduce)
/// except `‖u‖²`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct UgGg<T> {
    pub ug: T,
    pub gg: T,
}

/// `u·(s⊙g)`, `‖s⊙g‖²` (bit-identical to [`esh_reduce`](super::esh_reduce)'s)
/// and `‖g‖²` of the unscaled `g` (the same as `gg` for the identity, else
/// one more FMA per register): reads u, g (and s).
pub fn reduce_ug_gg<T: Real, D: Diag<T>>(u: &[T], g: &[T], s: D) -> (UgGg<T>, T) {
    let n = min_len(min_len(u.len(), g.len()), s.len());
    let l = T::LANES;
    let nv = n - n % l;
    let (pu, pg) = (u.as_ptr(), g.as_ptr());
    let z = T::ZERO.splat();
    let (mut ug, mut gg, mut g2) = ([z; 2], [z; 2], [z; 2]);
    #[inline(always)]
    unsafe fn acc<T: Real, D: Diag<T>>(pu: *const T, pg: *const T, s: D, i: usize, ug: &mut T::V, gg: &mut T::V, g2: &mut T::V) {
        let gv = T::vread(pg.add(i));
        let sg = s.v(i) * gv;
        *ug = T::vfma(T::vread(pu.add(i)), sg, *ug);
        *gg = T::vfma(sg, sg, *gg);
        if !D::IDENTITY {
            *g2 = T::vfma(gv, gv, *g2);
        }
    }
    let mut i = 0;
    // SAFETY: i + LANES <= nv <= n, and n <= s.len().
    unsafe {
        while i + 2 * l <= nv {
            acc(pu, pg, s, i, &mut ug[0], &mut gg[0], &mut g2[0]);
            acc(pu, pg, s, i + l, &mut ug[1], &mut gg[1], &mut g2[1]);
            i += 2 * l;
        }
        if i < nv {
            acc(pu, pg, s, i, &mut ug[0], &mut gg[0], &mut g2[0]);
        }
    }
    let mut r = UgGg { ug: T::vsum(ug[0] + ug[1]), gg: T::vsum(gg[0] + gg[1]) };
    let mut sq = T::vsum(g2[0] + g2[1]);
    for j in nv..n {
        // SAFETY: j < n <= s.len().
        let sg = unsafe { s.at(j) } * g[j];
        r.ug += u[j] * sg;
        r.gg += sg * sg;
        sq += g[j] * g[j];
    }
    (r, if D::IDENTITY { r.gg } else { sq })
}

/// Whether a `‖g‖²` computed by [`reduce_ug_gg`] over `n` values proves
/// `|g_i| ≤ clip` for every `i` (false if any `g_i` is NaN; with `clip = +∞`,
/// true otherwise). Every partial sum is nonnegative and a term passes
/// through at most `n/(2·LANES) + 2·LANES + 1 < n/LANES + 32` roundings, so
/// the computed sum is at least `g_i²·(1 − (n/LANES + 32)·u)` (`u` the unit
/// roundoff) for every `i`: below `clip²` times that factor, no `g_i²`
/// exceeds `clip²`. Clips below 1e-9 are never proved (their squares could
/// underflow in `f32`, where relative bounds fail).
pub fn sum_sq_within_clip<T: Real>(sum_sq: T, clip: T, n: usize) -> bool {
    let c = clip.to_f64();
    if c.is_nan() || c < 1e-9 {
        return false;
    }
    let roundings = (n / T::LANES) as f64 + 32.0;
    let factor = 1.0 - roundings * (0.5 * T::EPSILON.to_f64());
    // NaN never passes; +∞ only when the bound is +∞ (clip = +∞).
    factor > 0.0 && sum_sq.to_f64() <= c * c * factor
}

/// The constants of [`noise_ema`] (pSMILE's settings, in `T`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NoiseEma<T> {
    /// Weight of the newest gradient in both averages.
    pub rate: T,
    /// `ḡ` is clipped to `[−mean_clip, mean_clip]`.
    pub mean_clip: T,
    /// Floor of `σ_g²`.
    pub var_floor: T,
    /// Clip of `σ_g` in the preconditioner.
    pub lo: T,
    pub hi: T,
}

/// One update of pSMILE's gradient-noise averages from `raw = g / unscale`:
/// `ḡ ← clip(prev·(1−r) + raw·r)` with `prev = 1` if `mean_reset`, else
/// `ḡ`; `σ_g ← sqrt(max(σ_g²·(1−r) + (raw − ḡ)²·r, floor))`. Returns
/// `Σ clip(σ_g, lo, hi)²` of the new values. The same element values as the
/// scalar expressions bit for bit (no FMA); the sum is accumulated in lanes.
/// Reads g (unscale) (ḡ unless `mean_reset`) and σ_g; writes ḡ and σ_g.
pub fn noise_ema<T: Real, D: Diag<T>>(g: &[T], unscale: D, mean: &mut [T], spread: &mut [T], mean_reset: bool, c: NoiseEma<T>) -> T {
    let n = min_len(min_len(min_len(g.len(), mean.len()), spread.len()), unscale.len());
    let l = T::LANES;
    let nv = n - n % l;
    let keep = T::ONE - c.rate;
    let lanes = EmaLanes::<T> {
        r: c.rate.splat(),
        keep: keep.splat(),
        mlo: (-c.mean_clip).splat(),
        mhi: c.mean_clip.splat(),
        floor: c.var_floor.splat(),
        lo: c.lo.splat(),
        hi: c.hi.splat(),
        one: T::ONE.splat(),
    };
    let (pg, pm, ps) = (g.as_ptr(), mean.as_mut_ptr(), spread.as_mut_ptr());
    let z = T::ZERO.splat();
    let mut acc = [z; 2];
    let mut i = 0;
    // SAFETY: i + LANES <= nv <= n bounds g, mean, spread and unscale.
    unsafe {
        while i + 2 * l <= nv {
            let p0 = lanes.step(pg, unscale, pm, ps, i, mean_reset);
            let p1 = lanes.step(pg, unscale, pm, ps, i + l, mean_reset);
            acc[0] = T::vfma(p0, p0, acc[0]);
            acc[1] = T::vfma(p1, p1, acc[1]);
            i += 2 * l;
        }
        if i < nv {
            let p0 = lanes.step(pg, unscale, pm, ps, i, mean_reset);
            acc[0] = T::vfma(p0, p0, acc[0]);
        }
    }
    let mut sum = T::vsum(acc[0] + acc[1]);
    for j in nv..n {
        // SAFETY: j < n <= unscale.len().
        let raw = g[j] / unsafe { unscale.at(j) };
        let prev = if mean_reset { T::ONE } else { mean[j] };
        let m = (prev * keep + raw * c.rate).max(-c.mean_clip).min(c.mean_clip);
        let dev = raw - m;
        let sd = (spread[j] * spread[j] * keep + dev * dev * c.rate).max(c.var_floor).sqrt();
        mean[j] = m;
        spread[j] = sd;
        let p = sd.max(c.lo).min(c.hi);
        sum += p * p;
    }
    sum
}

struct EmaLanes<T: Real> {
    r: T::V,
    keep: T::V,
    mlo: T::V,
    mhi: T::V,
    floor: T::V,
    lo: T::V,
    hi: T::V,
    one: T::V,
}

impl<T: Real> EmaLanes<T> {
    /// Updates `ḡ`, `σ_g` at `i..i+LANES`; returns the clipped `σ_g`.
    ///
    /// # Safety
    /// `i + LANES` within g, unscale, mean and spread.
    #[inline(always)]
    unsafe fn step<D: Diag<T>>(&self, g: *const T, unscale: D, mean: *mut T, spread: *mut T, i: usize, mean_reset: bool) -> T::V {
        let raw = T::vread(g.add(i)) / unscale.v(i);
        let prev = if mean_reset { self.one } else { T::vread(mean.add(i)) };
        let m = T::vmin(T::vmax(prev * self.keep + raw * self.r, self.mlo), self.mhi);
        let dev = raw - m;
        let s = T::vread(spread.add(i));
        let sd = T::vsqrt(T::vmax(s * s * self.keep + dev * dev * self.r, self.floor));
        T::vwrite(m, mean.add(i));
        T::vwrite(sd, spread.add(i));
        T::vmin(T::vmax(sd, self.lo), self.hi)
    }
}

/// pSMILE's preconditioner pass, `s_i = rms / clip(σ_i, lo, hi)`, fused with
/// the reduction of the next momentum update: returns `u·(d⊙g)`, `‖d⊙g‖²`
/// with `d = s` (the new values) if `KICK_S`, else the identity, accumulated
/// as [`esh_reduce`](super::esh_reduce) would over the stored `s`. Reads σ,
/// u, g; writes s.
pub fn precond_reduce<T: Real, const KICK_S: bool>(spread: &[T], rms: T, lo: T, hi: T, s: &mut [T], u: &[T], g: &[T]) -> UgGg<T> {
    let n = min_len(min_len(min_len(spread.len(), s.len()), u.len()), g.len());
    let l = T::LANES;
    let nv = n - n % l;
    let (rv, lov, hiv) = (rms.splat(), lo.splat(), hi.splat());
    let (psd, ps, pu, pg) = (spread.as_ptr(), s.as_mut_ptr(), u.as_ptr(), g.as_ptr());
    let z = T::ZERO.splat();
    let (mut ug, mut gg) = ([z; 2], [z; 2]);
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    unsafe fn acc<T: Real, const KICK_S: bool>(
        psd: *const T,
        ps: *mut T,
        pu: *const T,
        pg: *const T,
        i: usize,
        c: (T::V, T::V, T::V),
        ug: &mut T::V,
        gg: &mut T::V,
    ) {
        let sv = c.0 / T::vmin(T::vmax(T::vread(psd.add(i)), c.1), c.2);
        T::vwrite(sv, ps.add(i));
        let gv = T::vread(pg.add(i));
        let sg = if KICK_S { sv * gv } else { gv };
        *ug = T::vfma(T::vread(pu.add(i)), sg, *ug);
        *gg = T::vfma(sg, sg, *gg);
    }
    let c = (rv, lov, hiv);
    let mut i = 0;
    // SAFETY: i + LANES <= nv <= n bounds every slice.
    unsafe {
        while i + 2 * l <= nv {
            acc::<T, KICK_S>(psd, ps, pu, pg, i, c, &mut ug[0], &mut gg[0]);
            acc::<T, KICK_S>(psd, ps, pu, pg, i + l, c, &mut ug[1], &mut gg[1]);
            i += 2 * l;
        }
        if i < nv {
            acc::<T, KICK_S>(psd, ps, pu, pg, i, c, &mut ug[0], &mut gg[0]);
        }
    }
    let mut r = UgGg { ug: T::vsum(ug[0] + ug[1]), gg: T::vsum(gg[0] + gg[1]) };
    for j in nv..n {
        let sj = rms / spread[j].max(lo).min(hi);
        s[j] = sj;
        let sg = if KICK_S { sj * g[j] } else { g[j] };
        r.ug += u[j] * sg;
        r.gg += sg * sg;
    }
    r
}

/// `s_i = rms / clip(σ_i, lo, hi)` alone (one pass: reads σ, writes s).
pub fn precond_scale<T: Real>(spread: &[T], rms: T, lo: T, hi: T, s: &mut [T]) {
    let n = min_len(spread.len(), s.len());
    let l = T::LANES;
    let nv = n - n % l;
    let (rv, lov, hiv) = (rms.splat(), lo.splat(), hi.splat());
    let (psd, ps) = (spread.as_ptr(), s.as_mut_ptr());
    let mut i = 0;
    // SAFETY: i + LANES <= nv <= n bounds both slices.
    unsafe {
        while i < nv {
            T::vwrite(rv / T::vmin(T::vmax(T::vread(psd.add(i)), lov), hiv), ps.add(i));
            i += l;
        }
    }
    for j in nv..n {
        s[j] = rms / spread[j].max(lo).min(hi);
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use crate::simd::{esh_reduce, Identity};
    use std::vec::Vec;

    fn data<T: Real>(n: usize, seed: u64, scale: f64) -> Vec<T> {
        let mut s = seed.wrapping_mul(0x9E3779B97F4A7C15) | 1;
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                T::from_f64((((s >> 11) as f64) / ((1u64 << 53) as f64) * 2.0 - 1.0) * scale)
            })
            .collect()
    }

    const LENS: [usize; 10] = [0, 1, 3, 7, 8, 9, 16, 17, 33, 1001];

    fn reduce_matches<T: Real>() {
        for &n in &LENS {
            let u = data::<T>(n, 1, 1.0);
            let g = data::<T>(n, 2, 3.0);
            let s: Vec<T> = data::<T>(n, 3, 1.0).iter().map(|v| T::from_f64(1.5) + *v).collect();
            for (r, sq, e) in [
                {
                    let (r, sq) = reduce_ug_gg(&u, &g, Identity);
                    (r, sq, esh_reduce(&u, &g, Identity))
                },
                {
                    let (r, sq) = reduce_ug_gg(&u, &g, &s[..]);
                    (r, sq, esh_reduce(&u, &g, &s[..]))
                },
            ] {
                assert_eq!((r.ug.to_f64().to_bits(), r.gg.to_f64().to_bits()), (e.ug.to_f64().to_bits(), e.gg.to_f64().to_bits()), "n={n}");
                let want: f64 = g.iter().map(|v| v.to_f64() * v.to_f64()).sum();
                assert!((sq.to_f64() - want).abs() <= 1e-5 * want.max(1e-30), "n={n}: {} vs {want}", sq.to_f64());
            }
        }
    }

    #[test]
    fn reduce_is_esh_reduce_bit_for_bit() {
        reduce_matches::<f32>();
        reduce_matches::<f64>();
    }

    fn clip_proof<T: Real>() {
        // A single entry just above the clip among many small ones is never
        // "proved" within it; everything below the bound's slack is.
        for n in [1usize, 9, 1000, 100_003] {
            let mut g = data::<T>(n, 7, 1e-3);
            let clip = T::from_f64(2.0);
            let (_, sq) = reduce_ug_gg(&g, &g, Identity);
            assert!(sum_sq_within_clip(sq, clip, n), "n={n}");
            g[n / 2] = T::from_f64(2.0000005);
            let (_, sq) = reduce_ug_gg(&g, &g, Identity);
            assert!(!sum_sq_within_clip(sq, clip, n), "n={n}");
            g[n / 2] = T::from_f64(f64::NAN);
            let (_, sq) = reduce_ug_gg(&g, &g, Identity);
            assert!(!sum_sq_within_clip(sq, T::INFINITY, n) && !sum_sq_within_clip(sq, clip, n));
            g[n / 2] = T::INFINITY;
            let (_, sq) = reduce_ug_gg(&g, &g, Identity);
            assert!(sum_sq_within_clip(sq, T::INFINITY, n) && !sum_sq_within_clip(sq, clip, n));
        }
        assert!(!sum_sq_within_clip(T::ZERO, T::from_f64(1e-10), 4));
    }

    #[test]
    fn clip_bound_is_sound() {
        clip_proof::<f32>();
        clip_proof::<f64>();
    }

    /// The scalar definition (the previous implementation), for comparison.
    fn ema_model<T: Real>(g: &[T], un: &[T], mean: &mut [T], spread: &mut [T], reset: bool, c: NoiseEma<T>) -> T {
        let keep = T::ONE - c.rate;
        let mut acc = T::ZERO;
        for i in 0..g.len() {
            let raw = g[i] / un[i];
            let prev = if reset { T::ONE } else { mean[i] };
            let m = (prev * keep + raw * c.rate).max(-c.mean_clip).min(c.mean_clip);
            let dev = raw - m;
            let sd = (spread[i] * spread[i] * keep + dev * dev * c.rate).max(c.var_floor).sqrt();
            mean[i] = m;
            spread[i] = sd;
            let p = sd.max(c.lo).min(c.hi);
            acc += p * p;
        }
        acc
    }

    fn ema_matches<T: Real>() {
        let c = NoiseEma { rate: T::from_f64(0.01), mean_clip: T::from_f64(1e6), var_floor: T::from_f64(1e-7), lo: T::from_f64(1e-2), hi: T::from_f64(1e4) };
        for &n in &LENS {
            // Values that hit every clip: tiny and huge spreads, huge gradients, a NaN.
            let mut g = data::<T>(n, 4, 10.0);
            let mut spread: Vec<T> = data::<T>(n, 5, 1.0).iter().map(|v| T::from_f64(v.to_f64().abs() * 3.0)).collect();
            for (k, v) in [(0usize, 1e9), (3, -1e12), (5, f64::NAN)] {
                if k < n {
                    g[k] = T::from_f64(v);
                }
            }
            for k in (1..n).step_by(4) {
                spread[k] = T::from_f64(if k % 8 == 1 { 1e-5 } else { 3e4 });
            }
            let mean = data::<T>(n, 6, 2e6);
            let un: Vec<T> = data::<T>(n, 8, 1.0).iter().map(|v| T::from_f64(1.25) + *v).collect();
            for reset in [false, true] {
                for scaled in [false, true] {
                    let (mut m1, mut s1, mut m2, mut s2) = (mean.clone(), spread.clone(), mean.clone(), spread.clone());
                    let ones = std::vec![T::ONE; n];
                    let want = ema_model(&g, if scaled { &un } else { &ones }, &mut m1, &mut s1, reset, c);
                    let got = if scaled { noise_ema(&g, &un[..], &mut m2, &mut s2, reset, c) } else { noise_ema(&g, Identity, &mut m2, &mut s2, reset, c) };
                    let bits = |v: &[T]| v.iter().map(|x| x.to_f64().to_bits()).collect::<Vec<_>>();
                    assert_eq!(bits(&m1), bits(&m2), "mean n={n} reset={reset}");
                    assert_eq!(bits(&s1), bits(&s2), "spread n={n} reset={reset}");
                    assert!((got.to_f64() - want.to_f64()).abs() <= 1e-5 * want.to_f64(), "sum n={n}");
                }
            }
        }
    }

    #[test]
    fn noise_ema_matches_scalar_definition() {
        ema_matches::<f32>();
        ema_matches::<f64>();
    }

    fn precond_matches<T: Real>() {
        let (lo, hi) = (T::from_f64(1e-2), T::from_f64(1e4));
        for &n in &LENS {
            let mut sd: Vec<T> = data::<T>(n, 9, 2.0).iter().map(|v| T::from_f64(v.to_f64().abs())).collect();
            for k in (0..n).step_by(3) {
                sd[k] = T::from_f64(if k % 2 == 0 { 1e-4 } else { 1e5 });
            }
            let u = data::<T>(n, 10, 1.0);
            let g = data::<T>(n, 11, 5.0);
            let rms = T::from_f64(0.7);
            let want: Vec<T> = sd.iter().map(|v| rms / v.max(lo).min(hi)).collect();
            let mut s1 = std::vec![T::ZERO; n];
            precond_scale(&sd, rms, lo, hi, &mut s1);
            assert!(s1.iter().zip(&want).all(|(a, b)| a.to_f64().to_bits() == b.to_f64().to_bits()), "n={n}");
            let mut s2 = std::vec![T::ZERO; n];
            let r = precond_reduce::<T, true>(&sd, rms, lo, hi, &mut s2, &u, &g);
            assert!(s2.iter().zip(&want).all(|(a, b)| a.to_f64().to_bits() == b.to_f64().to_bits()), "n={n}");
            let e = esh_reduce(&u, &g, &want[..]);
            assert_eq!((r.ug.to_f64().to_bits(), r.gg.to_f64().to_bits()), (e.ug.to_f64().to_bits(), e.gg.to_f64().to_bits()));
            let r = precond_reduce::<T, false>(&sd, rms, lo, hi, &mut s2, &u, &g);
            let e = esh_reduce(&u, &g, Identity);
            assert_eq!((r.ug.to_f64().to_bits(), r.gg.to_f64().to_bits()), (e.ug.to_f64().to_bits(), e.gg.to_f64().to_bits()));
        }
    }

    #[test]
    fn precond_passes_match_scalar_definition() {
        precond_matches::<f32>();
        precond_matches::<f64>();
    }
}
