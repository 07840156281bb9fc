//! Vectorised standard normals by the Box–Muller transform.
//!
//! Each block turns `2·LANES` uniforms into `2·LANES` normals with one
//! vector `ln`, `sqrt` and `sin_cos`: no rejection loop, so the cost per value
//! is fixed and the number of random words consumed per value is known
//! (one word per normal in `f64`, one word per two normals in `f32`), which
//! keeps streams reproducible whatever the block boundaries of the caller.

use super::Rng;
use crate::real::Real;

/// Normals produced per generator block (the largest `2·LANES`, `f32`).
pub const NORMAL_BLOCK: usize = 16;

/// Random words per block: 8 for both precisions (`f32`: 16 uniforms of 24
/// bits, two per word; `f64`: 8 uniforms of 53 bits).
const WORDS: usize = 8;

/// Blocks whose words are drawn in one call (amortises the state round-trip
/// and keeps the four-way multiply pipeline full).
const GROUP: usize = 8;

/// One block of `2·T::LANES` standard normals from 8 random words into `out`
/// (`out.len() == 2·LANES`).
#[inline(always)]
fn normal_block<T: Real>(words: &[u64], out: &mut [T]) {
    let l = T::LANES;
    let mut uni = [T::ZERO; NORMAL_BLOCK];
    let mut pair = [T::ZERO; 2];
    let mut k = 0;
    for &w in words.iter().take(WORDS) {
        let m = T::uniforms_from_u64(w, &mut pair);
        if k + m <= NORMAL_BLOCK {
            uni[k..k + m].copy_from_slice(&pair[..m]);
        }
        k += m;
    }
    let u1 = T::vload(&uni[..l]);
    let u2 = T::vload(&uni[l..2 * l]);
    // r = sqrt(-2 ln u1) with u1 in (0, 1]: finite, and 0 only at u1 = 1.
    let r = T::vsqrt(T::vln(u1) * T::from_f64(-2.0).splat());
    let (sn, cs) = T::vsin_cos(u2 * T::from_f64(core::f64::consts::TAU).splat());
    let (a, b) = out.split_at_mut(l);
    T::vstore(r * cs, a);
    T::vstore(r * sn, b);
}

/// Fills `out` with independent standard normals.
///
/// Blocks of `2·LANES` values consume 8 random words each; the values depend
/// only on the stream position and on `out.len()`: filling 10 then 6 values
/// gives the same 16 numbers as filling 16 at once only when 10 is a multiple
/// of the block size; a partial block's unused values are discarded.
pub fn fill_normals<T: Real>(rng: &mut Rng, out: &mut [T]) {
    let b = 2 * T::LANES;
    let mut words = [0u64; WORDS * GROUP];
    let mut chunks = out.chunks_exact_mut(b * GROUP);
    for c in &mut chunks {
        rng.fill_u64(&mut words);
        for (blk, w) in c.chunks_exact_mut(b).zip(words.chunks_exact(WORDS)) {
            normal_block(w, blk);
        }
    }
    let rest = chunks.into_remainder();
    let full = rest.len() / b;
    let partial = rest.len() % b;
    let nblocks = full + (partial > 0) as usize;
    if nblocks == 0 {
        return;
    }
    rng.fill_u64(&mut words[..nblocks * WORDS]);
    let mut wchunks = words.chunks_exact(WORDS);
    let mut blocks = rest.chunks_exact_mut(b);
    for (blk, w) in (&mut blocks).zip(&mut wchunks) {
        normal_block(w, blk);
    }
    let tail = blocks.into_remainder();
    if let Some(w) = wchunks.next() {
        let mut buf = [T::ZERO; NORMAL_BLOCK];
        normal_block(w, &mut buf[..b]);
        let m = tail.len();
        tail.copy_from_slice(&buf[..m]);
    }
}

/// Streams `n` standard normals through `f(offset, block)` in blocks of at
/// most `BATCH` values, without a d-sized buffer. Produces the same numbers
/// as `fill_normals` on a slice of length `n`.
pub fn for_each_normal_block<T: Real, F: FnMut(usize, &[T])>(rng: &mut Rng, n: usize, mut f: F) {
    const BATCH: usize = 256; // a multiple of every 2·LANES·GROUP
    let mut buf = [T::ZERO; BATCH];
    let mut off = 0;
    while off < n {
        let m = if n - off < BATCH { n - off } else { BATCH };
        fill_normals(rng, &mut buf[..m]);
        f(off, &buf[..m]);
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
