//! Machinery shared by the stochastic-gradient samplers (SGLD, pSGLD, SGHMC,
//! fSGLD): the scalar core of their states, the position ring, and the fused
//! update kernels.
//!
//! Position ring. Each SG sampler keeps three position buffers: the current
//! position `x_t`, the previous one `x_{t−1}`, and a free one the next step
//! writes into. A divergence — a non-finite log density or gradient told by
//! the caller, or an update that overflows — is detected only after the
//! gradient at `x_t` has been requested, and a non-finite gradient at `x_t`
//! says `x_t` itself is bad. Staying there would repeat the failure at every
//! step of a deterministic density, so a divergence undoes the move that led
//! to `x_t` as well: the chain returns to `x_{t−1}` (or stays, if it has no
//! previous position, e.g. right after construction or a divergence). The
//! third buffer is what makes this free: the failed update was written into
//! the free buffer, never over `x_{t−1}`.
//!
//! Traffic per step (d-vectors; the caller's gradient counted as r x, w g):
//! SGLD 2 + 3 (r x, g; w x'), pSGLD 2 + 5 (r x, g, V; w V', x'), SGHMC
//! 2 + 5 (r x, p, g; w p, x'), fSGLD with M perturbations `7M` (perturb
//! r x, w x̃; gradient; summing the gradients r g₂, g, w g from the second
//! on; the update r x, g, w x'). The normals never touch memory beyond one
//! L1-resident block buffer.
//!
//! Kernels. Every per-step pass over d-vectors reads its inputs once, draws
//! its standard normals block by block ([`for_each_normal_block`], no
//! d-sized noise buffer) and returns `Σ (v − v)` over the values it wrote:
//! exactly 0 when they are all finite, NaN otherwise. That is the divergence
//! check, fused into the update at the cost of one vector add per lane.

use crate::error::Error;
use crate::real::Real;
use crate::rng::{for_each_normal_block, Rng};
use crate::samplers::request::{Divergence, StepInfo};

pub(crate) const PHASE_IDLE: u32 = 1;
pub(crate) const PHASE_IN_STEP: u32 = 2;
/// `prev` when the chain has no previous position to return to.
pub(crate) const NO_PREV: u32 = 3;

/// The largest dimension accepted: keeps every `k·d` workspace size far from overflow.
pub(crate) const MAX_DIM: usize = usize::MAX / 16;

/// Scalar state common to the SG samplers. Plain data, `#[repr(C)]`.
#[derive(Clone, Copy, Debug, PartialEq)]
#[repr(C)]
pub(crate) struct SgCore<T> {
    pub dim: u64,
    pub steps: u64,
    pub grad_evals: u64,
    pub divergences: u64,
    pub rng: Rng,
    pub phase: u32,
    /// Evaluation awaited within the step in progress (1-based).
    pub stage: u32,
    /// Ring slot (0..3) of the current position.
    pub cur: u32,
    /// Ring slot of the previous position, or `NO_PREV`.
    pub prev: u32,
    /// The value told for the last finished step (mean over its evaluations).
    pub logp: T,
    /// Sum of the values told so far in the step in progress.
    pub logp_sum: T,
}

impl<T: Real> SgCore<T> {
    pub fn new(d: usize, seed: u64, stream: u64) -> Self {
        SgCore {
            dim: d as u64,
            steps: 0,
            grad_evals: 0,
            divergences: 0,
            rng: Rng::new(seed, stream),
            phase: PHASE_IDLE,
            stage: 0,
            cur: 0,
            prev: NO_PREV,
            logp: T::ZERO,
            logp_sum: T::ZERO,
        }
    }

    /// The ring slot the next step writes into: neither current nor previous.
    pub fn free(&self) -> usize {
        let mut s = 0;
        while s == self.cur || s == self.prev {
            s += 1;
        }
        s as usize
    }

    /// Checks the counters, the ring and the phase fields; `max_stage` is
    /// the number of evaluations per step. Errors: `InvalidState`.
    pub fn validate(&self, max_stage: u32) -> Result<(), Error> {
        // At most one divergence per finished step.
        let ok = self.dim >= 1
            && self.dim <= MAX_DIM as u64
            && self.divergences <= self.steps
            && self.cur <= 2
            && (self.prev <= 2 || self.prev == NO_PREV)
            && self.prev != self.cur
            && match self.phase {
                PHASE_IDLE => self.stage == 0,
                PHASE_IN_STEP => self.stage >= 1 && self.stage <= max_stage,
                _ => false,
            };
        if ok {
            Ok(())
        } else {
            Err(Error::InvalidState)
        }
    }

    /// Ends the step in progress as accepted: the free slot, which the
    /// update has just written, becomes current; `logp` is the mean of the
    /// values told in the step.
    pub fn accept(&mut self, h: T) -> StepInfo<T> {
        let n = self.free() as u32;
        self.prev = self.cur;
        self.cur = n;
        self.logp = self.logp_sum / T::from_usize(self.stage as usize);
        self.finish(h, Divergence::None)
    }

    /// Ends the step in progress as a divergence: back to the previous
    /// position if there is one (see the module docs), counted.
    pub fn reject(&mut self, h: T) -> StepInfo<T> {
        if self.prev != NO_PREV {
            self.cur = self.prev;
        }
        self.prev = NO_PREV;
        self.divergences += 1;
        self.finish(h, Divergence::NonFinite)
    }

    fn finish(&mut self, h: T, why: Divergence) -> StepInfo<T> {
        self.steps += 1;
        self.phase = PHASE_IDLE;
        self.stage = 0;
        StepInfo {
            step: self.steps,
            grad_evals: self.grad_evals,
            divergences: self.divergences,
            energy_change: T::ZERO,
            kinetic_change: T::ZERO,
            logdensity: self.logp,
            step_size: h,
            divergence: why,
        }
    }
}

/// `v − v`: exactly 0 for a finite value, NaN for NaN or ±∞. Summed over a
/// pass, it is the fused divergence check.
#[allow(clippy::eq_op)]
#[inline(always)]
fn probe<T: Real>(v: T) -> T {
    v - v
}

/// [`probe`] lane-wise.
#[allow(clippy::eq_op)]
#[inline(always)]
fn probe_v<T: Real>(v: T::V) -> T::V {
    v - v
}

/// Streams `n` standard normals through `f(offset, block)` like
/// [`for_each_normal_block`] when `noisy`, or blocks of zeros (without
/// touching the stream) otherwise: the no-noise steps (temperature 0,
/// cyclical exploration) share the kernels of the noisy ones.
#[inline(always)]
fn noise_blocks<T: Real, F: FnMut(usize, &[T])>(rng: &mut Rng, n: usize, noisy: bool, mut f: F) {
    if noisy {
        for_each_normal_block(rng, n, f);
    } else {
        const B: usize = 256;
        let zeros = [T::ZERO; B];
        let mut off = 0;
        while off < n {
            let m = if n - off < B { n - off } else { B };
            f(off, &zeros[..m]);
            off += m;
        }
    }
}

/// `(a[r], b[r])` if `r` lies inside both (always, for the validated
/// lengths the samplers pass: this only keeps a panic path out of the
/// kernels).
macro_rules! sub {
    ($r:expr; $($s:expr),+) => {
        ($(match $s.get($r.clone()) { Some(v) => v, None => return },)+)
    };
}
macro_rules! sub_mut {
    ($r:expr; $($s:expr),+) => {
        ($(match $s.get_mut($r.clone()) { Some(v) => v, None => return },)+)
    };
}

/// SGLD update `x_new = x + h g + c z`, `z ~ N(0, I)` (`c = 0`: no draw).
/// Returns 0 if every `x_new` is finite, a non-finite value otherwise.
pub(crate) fn langevin<T: Real>(x: &[T], g: &[T], xn: &mut [T], h: T, c: T, rng: &mut Rng) -> T {
    let n = xn.len();
    if x.len() != n || g.len() != n {
        return T::from_f64(f64::NAN);
    }
    let l = T::LANES;
    let (hv, cv) = (h.splat(), c.splat());
    let mut acc = T::ZERO.splat();
    let mut tail = T::ZERO;
    noise_blocks(rng, n, c != T::ZERO, |off, z: &[T]| {
        let r = off..off + z.len();
        let (x, g) = sub!(r; x, g);
        let (xn,) = sub_mut!(r; xn);
        let (mut xi, mut gi, mut zi, mut oi) = (x.chunks_exact(l), g.chunks_exact(l), z.chunks_exact(l), xn.chunks_exact_mut(l));
        for (((o, a), b), e) in oi.by_ref().zip(xi.by_ref()).zip(gi.by_ref()).zip(zi.by_ref()) {
            let v = T::vfma(cv, T::vload(e), T::vfma(hv, T::vload(b), T::vload(a)));
            T::vstore(v, o);
            acc = acc + probe_v::<T>(v);
        }
        for (((o, a), b), e) in oi.into_remainder().iter_mut().zip(xi.remainder()).zip(gi.remainder()).zip(zi.remainder()) {
            let v = *a + h * *b + c * *e;
            *o = v;
            tail += probe(v);
        }
    });
    T::vsum(acc) + tail
}

/// fSGLD's perturbed point `xp = x + σ z`, `z ~ N(0, I)` (`σ = 0`: a copy).
pub(crate) fn perturb<T: Real>(x: &[T], xp: &mut [T], sigma: T, rng: &mut Rng) {
    let l = T::LANES;
    let sv = sigma.splat();
    noise_blocks(rng, xp.len(), sigma != T::ZERO, |off, z: &[T]| {
        let r = off..off + z.len();
        let (x,) = sub!(r; x);
        let (xp,) = sub_mut!(r; xp);
        let (mut xi, mut zi, mut oi) = (x.chunks_exact(l), z.chunks_exact(l), xp.chunks_exact_mut(l));
        for ((o, a), e) in oi.by_ref().zip(xi.by_ref()).zip(zi.by_ref()) {
            T::vstore(T::vfma(sv, T::vload(e), T::vload(a)), o);
        }
        for ((o, a), e) in oi.into_remainder().iter_mut().zip(xi.remainder()).zip(zi.remainder()) {
            *o = *a + sigma * *e;
        }
    });
}

/// Coefficients of the pSGLD update.
#[derive(Clone, Copy)]
pub(crate) struct Rms<T> {
    /// Step size h.
    pub h: T,
    /// `sqrt(2 T h)`; the noise of coordinate i is `c · sqrt(G_i) · z_i`.
    pub c: T,
    /// Weight of the old average (0 on the first step: V starts at ĝ⊙ĝ).
    pub rho: T,
    /// λ.
    pub lambda: T,
}

/// pSGLD update, one pass: `V_new = ρ V + (1 − ρ) g⊙g`,
/// `G = 1/(λ + sqrt(V_new))`, `x_new = x + h G⊙g + c sqrt(G)⊙z`.
/// Returns 0 if every `x_new` and `V_new` is finite.
pub(crate) fn rms_langevin<T: Real>(x: &[T], g: &[T], v: &[T], vn: &mut [T], xn: &mut [T], k: Rms<T>, rng: &mut Rng) -> T {
    let n = xn.len();
    if x.len() != n || g.len() != n || v.len() != n || vn.len() != n {
        return T::from_f64(f64::NAN);
    }
    let l = T::LANES;
    let one = T::ONE.splat();
    let (hv, cv, rv, wv, lv) = (k.h.splat(), k.c.splat(), k.rho.splat(), (T::ONE - k.rho).splat(), k.lambda.splat());
    let w = T::ONE - k.rho;
    let mut acc = T::ZERO.splat();
    let mut tail = T::ZERO;
    noise_blocks(rng, n, k.c != T::ZERO, |off, z: &[T]| {
        let r = off..off + z.len();
        let (x, g, v) = sub!(r; x, g, v);
        let (xn, vn) = sub_mut!(r; xn, vn);
        let (mut xi, mut gi, mut vi, mut zi) = (x.chunks_exact(l), g.chunks_exact(l), v.chunks_exact(l), z.chunks_exact(l));
        let (mut oi, mut wi) = (xn.chunks_exact_mut(l), vn.chunks_exact_mut(l));
        for (((((o, vo), a), b), vv), e) in oi.by_ref().zip(wi.by_ref()).zip(xi.by_ref()).zip(gi.by_ref()).zip(vi.by_ref()).zip(zi.by_ref()) {
            let gb = T::vload(b);
            let vnew = T::vfma(rv, T::vload(vv), wv * gb * gb);
            // sqrt(G) = 1/sqrt(λ + sqrt(V)); G = sqrt(G)²: one division per lane.
            let sg = one / T::vsqrt(lv + T::vsqrt(vnew));
            let xv = T::vfma(cv * sg, T::vload(e), T::vfma(hv * sg * sg, gb, T::vload(a)));
            T::vstore(vnew, vo);
            T::vstore(xv, o);
            acc = acc + probe_v::<T>(xv) + probe_v::<T>(vnew);
        }
        let rest = oi.into_remainder().iter_mut().zip(wi.into_remainder().iter_mut());
        for (((((o, vo), a), b), vv), e) in rest.zip(xi.remainder()).zip(gi.remainder()).zip(vi.remainder()).zip(zi.remainder()) {
            let vnew = k.rho * *vv + w * *b * *b;
            let sg = T::ONE / (k.lambda + vnew.sqrt()).sqrt();
            let xv = *a + k.h * sg * sg * *b + k.c * sg * *e;
            *vo = vnew;
            *o = xv;
            tail += probe(xv) + probe(vnew);
        }
    });
    T::vsum(acc) + tail
}

/// SGHMC kick then drift, one pass: `p ← damp p + h g + c z` (in place),
/// `x_new = x + h p`. Returns 0 if every new `p` and `x_new` is finite.
#[allow(clippy::too_many_arguments)] // the three scalars are the update's coefficients
pub(crate) fn kick_drift<T: Real>(x: &[T], p: &mut [T], g: &[T], xn: &mut [T], h: T, damp: T, c: T, rng: &mut Rng) -> T {
    let n = xn.len();
    if x.len() != n || g.len() != n || p.len() != n {
        return T::from_f64(f64::NAN);
    }
    let l = T::LANES;
    let (hv, dv, cv) = (h.splat(), damp.splat(), c.splat());
    let mut acc = T::ZERO.splat();
    let mut tail = T::ZERO;
    noise_blocks(rng, n, c != T::ZERO, |off, z: &[T]| {
        let r = off..off + z.len();
        let (x, g) = sub!(r; x, g);
        let (xn, p) = sub_mut!(r; xn, p);
        let (mut xi, mut gi, mut zi) = (x.chunks_exact(l), g.chunks_exact(l), z.chunks_exact(l));
        let (mut oi, mut pi) = (xn.chunks_exact_mut(l), p.chunks_exact_mut(l));
        for ((((o, pp), a), b), e) in oi.by_ref().zip(pi.by_ref()).zip(xi.by_ref()).zip(gi.by_ref()).zip(zi.by_ref()) {
            let pv = T::vfma(cv, T::vload(e), T::vfma(dv, T::vload(pp), hv * T::vload(b)));
            let xv = T::vfma(hv, pv, T::vload(a));
            T::vstore(pv, pp);
            T::vstore(xv, o);
            acc = acc + probe_v::<T>(xv) + probe_v::<T>(pv);
        }
        let rest = oi.into_remainder().iter_mut().zip(pi.into_remainder().iter_mut());
        for ((((o, pp), a), b), e) in rest.zip(xi.remainder()).zip(gi.remainder()).zip(zi.remainder()) {
            let pv = damp * *pp + h * *b + c * *e;
            let xv = *a + h * pv;
            *pp = pv;
            *o = xv;
            tail += probe(xv) + probe(pv);
        }
    });
    T::vsum(acc) + tail
}

/// The three ring slots `[x₀ | x₁ | x₂]` at the head of a workspace, split
/// into (current, free) plus the rest of the workspace.
pub(crate) fn ring<T>(ws: &mut [T], d: usize, cur: usize, free: usize) -> (&mut [T], &mut [T], &mut [T]) {
    let (xs, rest) = ws.split_at_mut(3 * d);
    let (a, bc) = xs.split_at_mut(d);
    let (b, c) = bc.split_at_mut(d);
    let (x_cur, x_free): (&mut [T], &mut [T]) = match (cur, free) {
        (0, 1) => (a, b),
        (0, _) => (a, c),
        (1, 0) => (b, a),
        (1, _) => (b, c),
        (2, 0) => (c, a),
        (_, _) => (c, b),
    };
    (x_cur, x_free, rest)
}

/// `sqrt(2 T h)`, the noise scale of an overdamped Langevin step, or 0 for
/// exploration steps of a cyclical schedule.
pub(crate) fn noise_scale<T: Real>(temperature: T, h: T, exploring: bool) -> T {
    if exploring {
        T::ZERO
    } else {
        (T::from_f64(2.0) * temperature * h).sqrt()
    }
}

/// Checks a temperature: finite and ≥ 0. Errors: `InvalidSetting`.
pub(crate) fn check_temperature<T: Real>(t: T) -> Result<(), Error> {
    if t >= T::ZERO && t.is_finite() {
        Ok(())
    } else {
        Err(Error::InvalidSetting)
    }
}

/// Checks `new`'s arguments common to the SG samplers. Errors:
/// `DimensionTooSmall` (d = 0), `BufferLength`, `InvalidValue`.
pub(crate) fn check_start<T: Real>(x0: &[T], ws_len: usize, want: usize) -> Result<(), Error> {
    if x0.is_empty() {
        return Err(Error::DimensionTooSmall);
    }
    if x0.len() > MAX_DIM || ws_len != want {
        return Err(Error::BufferLength);
    }
    if !x0.iter().all(|v| v.is_finite()) {
        return Err(Error::InvalidValue);
    }
    Ok(())
}

/// The methods every SG sampler has in common, over fields `st` (a state
/// with a `core: SgCore<T>`) and `ws` (the workspace, ring first).
macro_rules! sg_common_api {
    ($state:ident) => {
        /// The scalar state (copy it, together with the workspace, to checkpoint).
        pub fn state(&self) -> $state<T> {
            self.st
        }

        /// Splits the chain into its state and workspace.
        pub fn into_parts(self) -> ($state<T>, &'a mut [T]) {
            (self.st, self.ws)
        }

        /// Dimension d.
        pub fn dim(&self) -> usize {
            self.st.core.dim as usize
        }

        /// The current position (unchanged while a step is in progress).
        pub fn position(&self) -> &[T] {
            let d = self.st.core.dim as usize;
            let o = self.st.core.cur as usize * d;
            &self.ws[o..o + d]
        }

        /// The value told for the last accepted step: the caller's estimate of
        /// `log p` at the point(s) it evaluated (mean over fSGLD's
        /// perturbations); 0 before the first step.
        pub fn logdensity(&self) -> T {
            self.st.core.logp
        }

        /// Moves the chain to `x` (it forgets its previous position).
        /// Errors: `OutOfOrder` inside a step, `BufferLength`, `InvalidValue`.
        pub fn set_position(&mut self, x: &[T]) -> Result<(), Error> {
            if self.st.core.phase == $crate::samplers::sg::PHASE_IN_STEP {
                return Err(Error::OutOfOrder);
            }
            let d = self.st.core.dim as usize;
            if x.len() != d {
                return Err(Error::BufferLength);
            }
            if !x.iter().all(|v| v.is_finite()) {
                return Err(Error::InvalidValue);
            }
            let o = self.st.core.cur as usize * d;
            self.ws[o..o + d].copy_from_slice(x);
            self.st.core.prev = $crate::samplers::sg::NO_PREV;
            Ok(())
        }

        /// Runs one whole step with the callback `f`, which receives the
        /// requested point and writes its gradient estimate. Errors: none in
        /// practice (the `Result` mirrors the other samplers); a failed
        /// evaluation is a divergence in the returned info.
        pub fn step_with<F: LogDensity<T> + ?Sized>(&mut self, f: &mut F) -> Result<StepInfo<T>, Error> {
            loop {
                let r = self.ask();
                let lp = f.logp(r.x, r.grad);
                if let Progress::Step(info) = self.tell(lp)? {
                    return Ok(info);
                }
            }
        }
    };
}
pub(crate) use sg_common_api;

/// Accessors every SG state has in common.
macro_rules! sg_state_api {
    () => {
        /// Dimension of the chain.
        pub fn dim(&self) -> usize {
            self.core.dim as usize
        }
        /// Steps completed (rejected ones included).
        pub fn steps(&self) -> u64 {
            self.core.steps
        }
        /// Gradient evaluations told so far.
        pub fn grad_evals(&self) -> u64 {
            self.core.grad_evals
        }
        /// Rejected steps so far.
        pub fn divergences(&self) -> u64 {
            self.core.divergences
        }
    };
}
pub(crate) use sg_state_api;

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use crate::rng::fill_normals;
    use std::vec;
    use std::vec::Vec;

    const LENS: [usize; 14] = [0, 1, 3, 4, 5, 7, 8, 9, 15, 16, 17, 33, 257, 300];

    fn data<T: Real>(n: usize, seed: u64, lo: f64, hi: f64) -> Vec<T> {
        let mut r = Rng::new(seed, 99);
        (0..n).map(|_| T::from_f64(lo + (hi - lo) * r.uniform())).collect()
    }

    fn close<T: Real>(a: T, b: f64, tol: f64) -> bool {
        (a.to_f64() - b).abs() <= tol * (1.0 + b.abs())
    }

    /// Every fused kernel against its scalar formula, with the normals
    /// replayed from a copy of the stream: covers the SIMD body, the tail
    /// and the block boundaries of the noise generator.
    fn kernels_match_scalar<T: Real>(tol: f64) {
        for &n in &LENS {
            let x = data::<T>(n, 1, -2.0, 2.0);
            let g = data::<T>(n, 2, -3.0, 3.0);
            let v = data::<T>(n, 3, 0.1, 5.0);
            let p0 = data::<T>(n, 4, -1.0, 1.0);
            let rng = Rng::new(5, n as u64);
            let mut z = vec![T::ZERO; n];
            fill_normals(&mut rng.clone(), &mut z);
            let (h, c) = (T::from_f64(0.01), T::from_f64(0.3));

            let mut xn = vec![T::ZERO; n];
            let mut r = rng;
            assert_eq!(langevin(&x, &g, &mut xn, h, c, &mut r), T::ZERO);
            for i in 0..n {
                let want = x[i].to_f64() + 0.01 * g[i].to_f64() + 0.3 * z[i].to_f64();
                assert!(close(xn[i], want, tol), "langevin n={n} i={i}");
            }

            let k = Rms { h, c, rho: T::from_f64(0.9), lambda: T::from_f64(1e-3) };
            let mut vn = vec![T::ZERO; n];
            let mut r = rng;
            assert_eq!(rms_langevin(&x, &g, &v, &mut vn, &mut xn, k, &mut r), T::ZERO);
            for i in 0..n {
                let gi = g[i].to_f64();
                let vw = 0.9 * v[i].to_f64() + 0.1 * gi * gi;
                let gg = 1.0 / (1e-3 + vw.sqrt());
                let want = x[i].to_f64() + 0.01 * gg * gi + 0.3 * gg.sqrt() * z[i].to_f64();
                assert!(close(vn[i], vw, tol) && close(xn[i], want, tol), "rms n={n} i={i}");
            }

            let mut p = p0.clone();
            let mut r = rng;
            assert_eq!(kick_drift(&x, &mut p, &g, &mut xn, h, T::from_f64(0.95), c, &mut r), T::ZERO);
            for i in 0..n {
                let pw = 0.95 * p0[i].to_f64() + 0.01 * g[i].to_f64() + 0.3 * z[i].to_f64();
                assert!(close(p[i], pw, tol) && close(xn[i], x[i].to_f64() + 0.01 * pw, tol), "kick_drift n={n} i={i}");
            }

            let mut r = rng;
            perturb(&x, &mut xn, T::from_f64(0.5), &mut r);
            for i in 0..n {
                assert!(close(xn[i], x[i].to_f64() + 0.5 * z[i].to_f64(), tol), "perturb n={n} i={i}");
            }

            // No noise: the stream is left alone.
            let mut r = rng;
            langevin(&x, &g, &mut xn, h, T::ZERO, &mut r);
            assert_eq!(r, rng);
            for i in 0..n {
                assert!(close(xn[i], x[i].to_f64() + 0.01 * g[i].to_f64(), tol));
            }
        }
    }

    #[test]
    fn kernels_f64() {
        kernels_match_scalar::<f64>(1e-14);
    }

    #[test]
    fn kernels_f32() {
        kernels_match_scalar::<f32>(1e-6);
    }

    #[test]
    fn non_finite_values_are_flagged_wherever_they_are() {
        for &n in &[1usize, 4, 9, 17, 300] {
            for bad_at in [0, n / 2, n - 1] {
                for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 1e308] {
                    let x = vec![0.5f64; n];
                    let mut g = vec![1.0f64; n];
                    g[bad_at] = bad;
                    let mut xn = vec![0.0; n];
                    let mut r = Rng::new(1, 1);
                    // h = 10 overflows 1e308 to inf.
                    let s = langevin(&x, &g, &mut xn, 10.0, 0.1, &mut r);
                    assert!(!(s == 0.0), "langevin n={n} at {bad_at} {bad}");
                    let (v, mut vn, mut p) = (vec![1.0; n], vec![0.0; n], vec![0.0; n]);
                    let k = Rms { h: 10.0, c: 0.1, rho: 0.5, lambda: 1e-5 };
                    assert!(!(rms_langevin(&x, &g, &v, &mut vn, &mut xn, k, &mut r) == 0.0));
                    assert!(!(kick_drift(&x, &mut p, &g, &mut xn, 10.0, 0.9, 0.1, &mut r) == 0.0));
                }
            }
        }
        // pSGLD: a gradient whose square overflows leaves x finite (G → 0)
        // but V infinite: still flagged.
        let (x, g, v) = ([0.0f32; 3], [1e20f32; 3], [0.0f32; 3]);
        let (mut vn, mut xn) = ([0.0f32; 3], [0.0f32; 3]);
        let k = Rms { h: 1.0, c: 0.0, rho: 0.0, lambda: 1e-5 };
        assert!(!(rms_langevin(&x, &g, &v, &mut vn, &mut xn, k, &mut Rng::new(0, 0)) == 0.0));
    }

    #[test]
    fn ring_slots_are_distinct() {
        let mut c = SgCore::<f64>::new(2, 0, 0);
        let mut seen = [0u32; 3];
        for k in 0..30 {
            let f = c.free();
            assert!(f as u32 != c.cur && f as u32 != c.prev);
            c.phase = PHASE_IN_STEP;
            c.stage = 1;
            if k % 4 == 3 {
                let before = c.prev;
                c.reject(0.1);
                assert_eq!(c.prev, NO_PREV);
                if before != NO_PREV {
                    assert_eq!(c.cur, before);
                }
            } else {
                c.accept(0.1);
            }
            seen[c.cur as usize] += 1;
            assert_eq!(c.validate(1), Ok(()));
        }
        assert!(seen.iter().all(|&s| s > 0));
    }
}
