//! The slice kernels. See the module docs of [`crate::simd`] for the contract.

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

/// `Σ a_i b_i`.
pub fn dot<T: Real>(a: &[T], b: &[T]) -> T {
    let n = min_len(a.len(), b.len());
    let l = T::LANES;
    let nv = n - n % l;
    let (pa, pb) = (a.as_ptr(), b.as_ptr());
    let mut acc0 = T::ZERO.splat();
    let mut acc1 = T::ZERO.splat();
    let mut i = 0;
    // Two accumulators hide the FMA latency on long vectors.
    // SAFETY: i + LANES <= nv <= n for every access.
    unsafe {
        while i + 2 * l <= nv {
            acc0 = T::vfma(T::vread(pa.add(i)), T::vread(pb.add(i)), acc0);
            acc1 = T::vfma(T::vread(pa.add(i + l)), T::vread(pb.add(i + l)), acc1);
            i += 2 * l;
        }
        if i < nv {
            acc0 = T::vfma(T::vread(pa.add(i)), T::vread(pb.add(i)), acc0);
        }
    }
    let mut s = T::vsum(acc0 + acc1);
    for j in nv..n {
        s += a[j] * b[j];
    }
    s
}

/// `Σ a_i²`.
pub fn norm_sq<T: Real>(a: &[T]) -> T {
    dot(a, a)
}

/// `y ← y + alpha x`.
pub fn axpy<T: Real>(alpha: T, x: &[T], y: &mut [T]) {
    let n = min_len(x.len(), y.len());
    let l = T::LANES;
    let nv = n - n % l;
    let av = alpha.splat();
    let (px, py) = (x.as_ptr(), y.as_mut_ptr());
    let mut i = 0;
    // SAFETY: i + LANES <= nv <= n.
    unsafe {
        while i < nv {
            T::vwrite(T::vfma(av, T::vread(px.add(i)), T::vread(py.add(i))), py.add(i));
            i += l;
        }
    }
    for j in nv..n {
        y[j] += alpha * x[j];
    }
}

/// `x ← alpha x`.
pub fn scale<T: Real>(alpha: T, x: &mut [T]) {
    for v in x.iter_mut() {
        *v *= alpha;
    }
}

/// `y ← y + alpha x`, returning `Σ y_i²` of the result (one pass).
pub fn axpy_norm_sq<T: Real>(alpha: T, x: &[T], y: &mut [T]) -> T {
    let n = min_len(x.len(), y.len());
    let l = T::LANES;
    let nv = n - n % l;
    let av = alpha.splat();
    let (px, py) = (x.as_ptr(), y.as_mut_ptr());
    let mut acc = T::ZERO.splat();
    let mut i = 0;
    // SAFETY: i + LANES <= nv <= n.
    unsafe {
        while i < nv {
            let r = T::vfma(av, T::vread(px.add(i)), T::vread(py.add(i)));
            T::vwrite(r, py.add(i));
            acc = T::vfma(r, r, acc);
            i += l;
        }
    }
    let mut s = T::vsum(acc);
    for j in nv..n {
        let r = y[j] + alpha * x[j];
        y[j] = r;
        s += r * r;
    }
    s
}

/// Sums read by the first pass of an ESH momentum update, with `g̃ = s ⊙ g`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EshSums<T> {
    /// `Σ u_i²`
    pub uu: T,
    /// `Σ u_i g̃_i`
    pub ug: T,
    /// `Σ g̃_i²`
    pub gg: T,
}

/// First pass of an ESH update: `‖u‖², u·(s⊙g), ‖s⊙g‖²` (reads u, g, s).
pub fn esh_reduce<T: Real, D: Diag<T>>(u: &[T], g: &[T], s: D) -> EshSums<T> {
    let n = min_len(min_len(u.len(), g.len()), s.len());
    let l = T::LANES;
    let nv = n - n % l;
    let (pu, pg) = (u.as_ptr(), g.as_ptr());
    let z = T::ZERO.splat();
    // Two sets of accumulators: one FMA chain per sum would be bound by the
    // FMA latency (4 cycles per vector), slower than L1/L2 can feed it.
    let (mut uu, mut ug, mut gg) = ([z; 2], [z; 2], [z; 2]);
    let mut i = 0;
    #[inline(always)]
    unsafe fn acc<T: Real, D: Diag<T>>(pu: *const T, pg: *const T, s: D, i: usize, uu: &mut T::V, ug: &mut T::V, gg: &mut T::V) {
        let uv = T::vread(pu.add(i));
        let sg = s.v(i) * T::vread(pg.add(i));
        *uu = T::vfma(uv, uv, *uu);
        *ug = T::vfma(uv, sg, *ug);
        *gg = T::vfma(sg, sg, *gg);
    }
    // SAFETY: i + LANES <= nv <= n, and n <= s.len().
    unsafe {
        while i + 2 * l <= nv {
            acc(pu, pg, s, i, &mut uu[0], &mut ug[0], &mut gg[0]);
            acc(pu, pg, s, i + l, &mut uu[1], &mut ug[1], &mut gg[1]);
            i += 2 * l;
        }
        if i < nv {
            acc(pu, pg, s, i, &mut uu[0], &mut ug[0], &mut gg[0]);
        }
    }
    let mut r = EshSums { uu: T::vsum(uu[0] + uu[1]), ug: T::vsum(ug[0] + ug[1]), gg: T::vsum(gg[0] + gg[1]) };
    for j in nv..n {
        // SAFETY: j < n <= s.len().
        let sg = unsafe { s.at(j) } * g[j];
        r.uu += u[j] * u[j];
        r.ug += u[j] * sg;
        r.gg += sg * sg;
    }
    r
}

/// Coefficients of the second pass of an ESH update:
/// `u ← a_u u + b_g (s⊙g)`; `iu`, `ie` normalise `u` and `g̃`, and `pm`
/// (±1) picks which kinetic-energy sum the pass accumulates.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Kick<T> {
    pub a_u: T,
    pub b_g: T,
    pub iu: T,
    pub ie: T,
    /// `+1`: accumulate `2S₊ = Σ (iu u_i + ie g̃_i)²`; `−1`: `2S₋` with a minus.
    pub pm: T,
}

/// Sums produced by the second pass of an ESH update.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct KickSums<T> {
    /// `Σ (iu u_i + pm·ie g̃_i)²` over the momentum *before* the update
    /// (`2S₊` or `2S₋`, as [`Kick::pm`] chose).
    pub spm: T,
    /// `Σ u_i²` after the update (after the refresh, for the refreshing kernel).
    pub uu_new: T,
    /// `Σ u_i (s⊙g)_i` after the update, summed exactly as [`esh_reduce`]
    /// sums `u·(s⊙g)` (the same bits), by [`esh_kick_next`] and
    /// [`esh_kick_refresh_next`]; 0 otherwise.
    pub ug_new: T,
}

/// Second pass of an ESH update, optionally fused with the following
/// position update: `u ← a_u u + b_g s⊙g`, then if `drift` is given,
/// `x ← src + h s⊙u` where `src` is `x_src` or `x` itself.
///
/// Traffic: reads u, g, s (and src), writes u (and x): the position update
/// costs one read and one write of x on top of the momentum pass.
pub fn esh_kick<T: Real, D: Diag<T>>(u: &mut [T], g: &[T], s: D, k: Kick<T>, drift: Option<Drift<'_, T>>) -> KickSums<T> {
    let n = min_len(min_len(u.len(), g.len()), s.len());
    match drift {
        None => {
            // SAFETY: n bounds every slice; the x pointers are unused.
            unsafe { kick_impl::<T, D, D, false, false>(n, u.as_mut_ptr(), g.as_ptr(), s, s, k, core::ptr::null(), core::ptr::null_mut(), T::ZERO) }
        }
        Some(Drift { x_src, x, h }) => {
            let mut n = min_len(n, x.len());
            let src = match x_src {
                Some(xs) => {
                    n = min_len(n, xs.len());
                    xs.as_ptr()
                }
                None => x.as_ptr(),
            };
            // SAFETY: n bounds every slice; `src` either is a distinct slice
            // (shared borrow, so it cannot alias `x`) or is `x` itself, which
            // is read at index i before being written at index i.
            unsafe { kick_impl::<T, D, D, true, false>(n, u.as_mut_ptr(), g.as_ptr(), s, s, k, src, x.as_mut_ptr(), h) }
        }
    }
}

/// The position update fused into [`esh_kick`]: `x ← x_src + h s⊙u`
/// (`x_src = None`: in place).
pub struct Drift<'a, T> {
    pub x_src: Option<&'a [T]>,
    pub x: &'a mut [T],
    pub h: T,
}

/// [`esh_kick`] without a drift that also sums `u'·(s⊙g)` over the updated
/// momentum into [`KickSums::ug_new`], in [`esh_reduce`]'s order: with
/// `‖u'‖²` (`uu_new`, summed in the same order) and the `‖s⊙g‖²` of this
/// update's reduction, that is the next update's reduction when it uses the
/// same gradient (a step's first update reuses the last stage's), so that
/// pass can be skipped without changing a bit. Traffic: that of `esh_kick`.
pub fn esh_kick_next<T: Real, D: Diag<T>>(u: &mut [T], g: &[T], s: D, k: Kick<T>) -> KickSums<T> {
    let n = min_len(min_len(u.len(), g.len()), s.len());
    // SAFETY: n bounds every slice; the x pointers are unused.
    unsafe { kick_impl::<T, D, D, false, true>(n, u.as_mut_ptr(), g.as_ptr(), s, s, k, core::ptr::null(), core::ptr::null_mut(), T::ZERO) }
}

/// `s` scales the gradient in the momentum update, `sd` the velocity in the
/// position update (the same diagonal except for [`esh_kick_split`]).
/// `NEXT` also sums `u'·(s⊙g)` like [`esh_reduce`] (same pairing of the
/// accumulators, same scalar tail).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn kick_impl<T: Real, D: Diag<T>, DD: Diag<T>, const DRIFT: bool, const NEXT: bool>(
    n: usize,
    u: *mut T,
    g: *const T,
    s: D,
    sd: DD,
    k: Kick<T>,
    src: *const T,
    x: *mut T,
    h: T,
) -> KickSums<T> {
    let l = T::LANES;
    let nv = n - n % l;
    let c = KickLanes::<T>::new(k, h);
    let z = T::ZERO.splat();
    // Two sets of accumulators (see `esh_reduce`).
    let (mut sp, mut uu, mut ug) = ([z; 2], [z; 2], [z; 2]);
    let mut i = 0;
    while i + 2 * l <= nv {
        let un = c.kick(u, g, s, i, &mut sp[0]);
        let un2 = c.kick(u, g, s, i + l, &mut sp[1]);
        T::vwrite(un, u.add(i));
        T::vwrite(un2, u.add(i + l));
        uu[0] = T::vfma(un, un, uu[0]);
        uu[1] = T::vfma(un2, un2, uu[1]);
        if DRIFT {
            c.drift(sd, src, x, i, un);
            c.drift(sd, src, x, i + l, un2);
        }
        if NEXT {
            ug[0] = T::vfma(un, s.v(i) * T::vread(g.add(i)), ug[0]);
            ug[1] = T::vfma(un2, s.v(i + l) * T::vread(g.add(i + l)), ug[1]);
        }
        i += 2 * l;
    }
    if i < nv {
        let un = c.kick(u, g, s, i, &mut sp[0]);
        T::vwrite(un, u.add(i));
        uu[0] = T::vfma(un, un, uu[0]);
        if DRIFT {
            c.drift(sd, src, x, i, un);
        }
        if NEXT {
            ug[0] = T::vfma(un, s.v(i) * T::vread(g.add(i)), ug[0]);
        }
    }
    let mut r = KickSums { spm: T::vsum(sp[0] + sp[1]), uu_new: T::vsum(uu[0] + uu[1]), ug_new: T::ZERO };
    if NEXT {
        r.ug_new = T::vsum(ug[0] + ug[1]);
    }
    for j in nv..n {
        let un = kick_one(k, c.c, u, g, s, j, &mut r.spm);
        r.uu_new += un * un;
        if DRIFT {
            *x.add(j) = *src.add(j) + h * sd.at(j) * un;
        }
        if NEXT {
            r.ug_new += un * (s.at(j) * *g.add(j));
        }
    }
    r.spm = scale_spm(r.spm, c.q);
    r
}

impl<T: Real> Kick<T> {
    /// `(c, q)` with `iu u + pm·ie g̃ = q (u + c g̃)` wherever it matters:
    /// `q = iu` (then `c = pm·ie/iu`), or `q = ie`, `c = pm` when `iu = 0`,
    /// which happens only for `u = 0`, where the `u` term vanishes anyway.
    /// The kick passes sum `(u + c g̃)²` (one FMA per element instead of a
    /// multiply and an FMA) and scale the sum by `q²` at the end; the sum
    /// stays elementwise, so nothing cancels when `u ≈ ∓e`.
    #[inline(always)]
    fn spm_factor(&self) -> (T, T) {
        let q = if self.iu > T::ZERO { self.iu } else { self.ie };
        (self.pm * self.ie / q, q)
    }
}

/// `Σ (u + c g̃)²` scaled back by `q²` (as `(S q) q`: `S` is of order `1/q²`).
#[inline(always)]
fn scale_spm<T: Real>(s: T, q: T) -> T {
    s * q * q
}

/// The coefficients of a kick (and drift) splatted into lanes once per pass,
/// and [`Kick::spm_factor`]'s `(c, q)` as scalars for the tail and the end.
struct KickLanes<T: Real> {
    au: T::V,
    bg: T::V,
    cs: T::V,
    h: T::V,
    c: T,
    q: T,
}

impl<T: Real> KickLanes<T> {
    #[inline(always)]
    fn new(k: Kick<T>, h: T) -> Self {
        let (c, q) = k.spm_factor();
        KickLanes { au: k.a_u.splat(), bg: k.b_g.splat(), cs: c.splat(), h: h.splat(), c, q }
    }

    /// The new `u[i..i+LANES] = a_u u + b_g s⊙g` (not stored), adding
    /// `(u + c s⊙g)²` of the old `u` to `sp` ([`Kick::spm_factor`]).
    ///
    /// # Safety
    /// `i + LANES` within `u`, `g` and `s`.
    #[inline(always)]
    unsafe fn kick<D: Diag<T>>(&self, u: *const T, g: *const T, s: D, i: usize, sp: &mut T::V) -> T::V {
        let uo = T::vread(u.add(i));
        let sg = s.v(i) * T::vread(g.add(i));
        let un = T::vfma(self.au, uo, self.bg * sg);
        let p = T::vfma(self.cs, sg, uo);
        *sp = T::vfma(p, p, *sp);
        un
    }

    /// `x[i..i+LANES] ← src + h sd⊙u`.
    ///
    /// # Safety
    /// `i + LANES` within `x`, `src` and `sd`.
    #[inline(always)]
    unsafe fn drift<DD: Diag<T>>(&self, sd: DD, src: *const T, x: *mut T, i: usize, un: T::V) {
        T::vwrite(T::vfma(self.h * sd.v(i), un, T::vread(src.add(i))), x.add(i));
    }
}

/// [`KickLanes::kick`] on one element (`c` of [`Kick::spm_factor`]).
///
/// # Safety
/// `j` within `u`, `g` and `s`.
#[inline(always)]
unsafe fn kick_one<T: Real, D: Diag<T>>(k: Kick<T>, c: T, u: *mut T, g: *const T, s: D, j: usize, sp: &mut T) -> T {
    let uo = *u.add(j);
    let sg = s.at(j) * *g.add(j);
    let un = k.a_u * uo + k.b_g * sg;
    *u.add(j) = un;
    let p = c * sg + uo;
    *sp += p * p;
    un
}

/// The last momentum update of an MCLMC step fused with the partial
/// refresh that follows it: `u ← a_u u + b_g s⊙g`, then `u ← u + ν z`,
/// with `z` taken from `noise`, which yields `4·LANES` normals per call as
/// four vectors (in order). Blocks cover `[0, 4·LANES)`, `[4·LANES,
/// 8·LANES)`, …; a partial last block uses its leading values. `uu_new` is
/// `‖u‖²` after the refresh.
///
/// Traffic: reads u, g (and s), writes u; the normals never leave registers.
pub fn esh_kick_refresh<T: Real, D: Diag<T>, F: FnMut() -> [T::V; 4]>(u: &mut [T], g: &[T], s: D, k: Kick<T>, nu: T, noise: F) -> KickSums<T> {
    kick_refresh_impl::<T, D, F, false>(u, g, s, k, nu, noise, [&[], &[]]).0
}

/// [`esh_kick_refresh`] that also makes the next update's reduction when it
/// uses the same gradient (an MCLMC step's first update reuses the last
/// stage's): [`KickSums::ug_new`] is `u'·(s⊙g)` over the refreshed
/// momentum and the second value `‖u'‖²`, both summed exactly as
/// [`esh_reduce`] sums them (the same bits; `uu_new` keeps this kernel's
/// own order). Traffic: that of `esh_kick_refresh`.
///
/// `warm`: two slices whose cache lines the pass prefetches as it goes
/// (index for index with `u`, up to their own lengths; none below
/// [`WARM_MIN_BYTES`] per vector). A hint only: the results do not depend
/// on it. The pass is bound by the normals' arithmetic, so loads issued
/// here are free; MCLMC names the buffers its next step writes first
/// (the double-buffered position and gradient not touched since the step's
/// first pass), whose misses would otherwise stall those memory-bound
/// passes once a step's buffers outgrow the caches (d = 10⁶ f32: 20 MB).
/// Measured there, alternating steps with and without it in one process:
/// 5–10 % per step in three of four runs, none in the fourth (a busy host).
pub fn esh_kick_refresh_next<T: Real, D: Diag<T>, F: FnMut() -> [T::V; 4]>(
    u: &mut [T],
    g: &[T],
    s: D,
    k: Kick<T>,
    nu: T,
    noise: F,
    warm: [&[T]; 2],
) -> (KickSums<T>, T) {
    kick_refresh_impl::<T, D, F, true>(u, g, s, k, nu, noise, warm)
}

/// Vectors below this size (bytes) get no prefetching from
/// [`esh_kick_refresh_next`]'s `warm`: a step's buffers then fit in the
/// caches, and the prefetches would only cost instructions.
pub const WARM_MIN_BYTES: usize = 1 << 20;

/// Asks the cache for the line holding `p` (a hint: no effect on results,
/// none at all off x86).
#[inline(always)]
fn prefetch<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch never faults and has no architectural effect.
    unsafe {
        core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(p as *const i8)
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

#[inline(always)]
fn kick_refresh_impl<T: Real, D: Diag<T>, F: FnMut() -> [T::V; 4], const NEXT: bool>(
    u: &mut [T],
    g: &[T],
    s: D,
    k: Kick<T>,
    nu: T,
    mut noise: F,
    warm: [&[T]; 2],
) -> (KickSums<T>, T) {
    let n = min_len(min_len(u.len(), g.len()), s.len());
    let (w0, w1) = (warm[0].as_ptr(), warm[1].as_ptr());
    // Below a MiB per vector the step's buffers stay in the caches anyway.
    let warm_len = |w: &[T]| if n * core::mem::size_of::<T>() >= WARM_MIN_BYTES { w.len() } else { 0 };
    let (n0, n1) = (warm_len(warm[0]), warm_len(warm[1]));
    let l = T::LANES;
    let nb = n - n % (4 * l);
    let c = KickLanes::<T>::new(k, T::ZERO);
    let nv = nu.splat();
    let z = T::ZERO.splat();
    let (mut sp, mut uu, mut ug) = ([z; 2], [z; 2], [z; 2]);
    let (pu, pg) = (u.as_mut_ptr(), g.as_ptr());
    let mut i = 0;
    // SAFETY: i + 4·LANES <= nb <= n bounds every access.
    unsafe {
        while i < nb {
            // This pass is compute-bound (the normals): warm up the lines
            // the next passes write, so their misses overlap with it.
            let mut b = 0;
            while b < 4 * l {
                if i + b < n0 {
                    prefetch(w0.add(i + b));
                }
                if i + b < n1 {
                    prefetch(w1.add(i + b));
                }
                b += 64 / core::mem::size_of::<T>();
            }
            let zs = noise();
            for (q, &zq) in zs.iter().enumerate() {
                let j = i + q * l;
                let un = T::vfma(nv, zq, c.kick(pu, pg, s, j, &mut sp[q & 1]));
                T::vwrite(un, pu.add(j));
                uu[q & 1] = T::vfma(un, un, uu[q & 1]);
                if NEXT {
                    // Vector j/LANES goes to accumulator (j/LANES) & 1, as in
                    // `esh_reduce` (blocks start at even vectors).
                    ug[q & 1] = T::vfma(un, s.v(j) * T::vread(pg.add(j)), ug[q & 1]);
                }
            }
            i += 4 * l;
        }
    }
    let mut r = KickSums { spm: T::vsum(sp[0] + sp[1]), uu_new: T::vsum(uu[0] + uu[1]), ug_new: T::ZERO };
    if nb < n {
        let zs = block_values::<T>(noise());
        for (j, &zj) in (nb..n).zip(zs.iter()) {
            // SAFETY: j < n.
            let un = unsafe { kick_one(k, c.c, pu, pg, s, j, &mut r.spm) } + nu * zj;
            u[j] = un;
            r.uu_new += un * un;
        }
    }
    let mut uu_red = T::ZERO;
    if NEXT {
        // The tail as `esh_reduce` sums it: whole vectors into the same
        // accumulators, then the scalars after the horizontal sum.
        let nvec = n - n % l;
        let mut j = nb;
        // Taken again: the tail above wrote `u` through the slice.
        let pu = u.as_ptr();
        // SAFETY: j + LANES <= nvec <= n.
        unsafe {
            while j < nvec {
                let q = (j / l) & 1;
                let uv = T::vread(pu.add(j));
                uu[q] = T::vfma(uv, uv, uu[q]);
                ug[q] = T::vfma(uv, s.v(j) * T::vread(pg.add(j)), ug[q]);
                j += l;
            }
        }
        uu_red = T::vsum(uu[0] + uu[1]);
        r.ug_new = T::vsum(ug[0] + ug[1]);
        for j in nvec..n {
            // SAFETY: j < n <= s.len().
            let sg = unsafe { s.at(j) } * g[j];
            uu_red += u[j] * u[j];
            r.ug_new += u[j] * sg;
        }
    }
    r.spm = scale_spm(r.spm, c.q);
    (r, uu_red)
}

/// A noise block's values in order (for the partial block at the end).
#[inline(always)]
fn block_values<T: Real>(v: [T::V; 4]) -> [T; 32] {
    let l = T::LANES;
    let mut out = [T::ZERO; 32];
    for (k, &vk) in v.iter().enumerate() {
        T::vstore(vk, &mut out[k * l..(k + 1) * l]);
    }
    out
}

/// `u ← u + c z` with `z` from `noise` in blocks as in [`esh_kick_refresh`];
/// returns `‖u‖²` of the result. One pass, the normals in registers.
pub fn axpy_noise_norm_sq<T: Real, F: FnMut() -> [T::V; 4]>(c: T, u: &mut [T], mut noise: F) -> T {
    let n = u.len();
    let l = T::LANES;
    let nb = n - n % (4 * l);
    let cv = c.splat();
    let z = T::ZERO.splat();
    let mut acc = [z; 2];
    let pu = u.as_mut_ptr();
    let mut i = 0;
    // SAFETY: i + 4·LANES <= nb <= n.
    unsafe {
        while i < nb {
            let zs = noise();
            for (q, &zq) in zs.iter().enumerate() {
                let a = T::vfma(cv, zq, T::vread(pu.add(i + q * l)));
                T::vwrite(a, pu.add(i + q * l));
                acc[q & 1] = T::vfma(a, a, acc[q & 1]);
            }
            i += 4 * l;
        }
    }
    let mut r = T::vsum(acc[0] + acc[1]);
    if nb < n {
        let zs = block_values::<T>(noise());
        for (v, &zj) in u[nb..].iter_mut().zip(zs.iter()) {
            *v += c * zj;
            r += *v * *v;
        }
    }
    r
}

/// [`esh_kick`] with different diagonals for the momentum and the position
/// update: `u ← a_u u + b_g s_kick⊙g`, then `x ← src + h s_drift⊙u`. pSMILE's
/// reference behaviour needs it: its stored gradient is already divided by
/// the preconditioner (`s_kick` = identity) while the position moves with
/// `s_drift`. Same traffic as `esh_kick`.
///
/// Inlined: out of line it read the caller's `Kick` back from the stack,
/// in f32 two fields with one 8-byte load, which no store can forward, so
/// the kick waited for the caller's stores to retire (d = 10: MCLMC and
/// SMILE 6–9 ns per step faster in f32, 4–9 ns in f64).
#[inline(always)]
pub fn esh_kick_split<T: Real, DK: Diag<T>, DD: Diag<T>>(
    u: &mut [T],
    g: &[T],
    s_kick: DK,
    k: Kick<T>,
    drift: Option<Drift<'_, T>>,
    s_drift: DD,
) -> KickSums<T> {
    // `s_drift` bounds n in both arms: the kernel loads it unconditionally.
    let n = min_len(min_len(min_len(u.len(), g.len()), s_kick.len()), s_drift.len());
    match drift {
        None => {
            // SAFETY: n bounds every slice read; the x pointers are unused.
            unsafe {
                kick_impl::<T, DK, DD, false, false>(n, u.as_mut_ptr(), g.as_ptr(), s_kick, s_drift, k, core::ptr::null(), core::ptr::null_mut(), T::ZERO)
            }
        }
        Some(Drift { x_src, x, h }) => {
            let mut n = min_len(n, x.len());
            let src = match x_src {
                Some(xs) => {
                    n = min_len(n, xs.len());
                    xs.as_ptr()
                }
                None => x.as_ptr(),
            };
            // SAFETY: as in `esh_kick`.
            unsafe { kick_impl::<T, DK, DD, true, false>(n, u.as_mut_ptr(), g.as_ptr(), s_kick, s_drift, k, src, x.as_mut_ptr(), h) }
        }
    }
}

/// Result of [`sanitize_reduce`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SanitizeSums<T> {
    /// The ESH reduction over the cleaned, stored gradient.
    pub sums: EshSums<T>,
    /// Entries that were NaN, infinite or outside `[−clip, clip]`.
    pub flagged: u64,
}

/// Cleans a caller-written gradient in place and runs the first pass of an
/// ESH update on it, in one pass over the data:
///
/// * `g_i ← clean(g_i) · s_store_i`, where `clean` clamps to `[−clip, clip]`
///   and, with `zero_nan`, maps NaN to 0 (so ±∞ become ±clip); without
///   `zero_nan` NaN and ±∞ are kept, so the sums come out non-finite and
///   the caller can reject the step;
/// * returns `‖u‖², u·(s_kick⊙g), ‖s_kick⊙g‖²` over the stored `g`, as
///   [`esh_reduce`] would, and how many entries were flagged.
///
/// Each register's worth of values is tested at once (`|g| ≤ clip` in every
/// lane, the common case); only a register with a flagged value is cleaned
/// value by value. With `s_store` the identity a clean register is not
/// written back, so the pass then reads u and g and writes nothing: the
/// traffic of [`esh_reduce`].
pub fn sanitize_reduce<T: Real, DS: Diag<T>, DK: Diag<T>>(u: &[T], g: &mut [T], s_store: DS, s_kick: DK, clip: T, zero_nan: bool) -> SanitizeSums<T> {
    #[inline(always)]
    fn clean<T: Real>(v: T, clip: T, zero_nan: bool) -> (T, u64) {
        if v.abs() <= clip {
            (v, 0)
        } else if v > clip {
            (if zero_nan || v.is_finite() { clip } else { v }, 1)
        } else if v < -clip {
            (if zero_nan || v.is_finite() { -clip } else { v }, 1)
        } else {
            // NaN (or ±∞ with clip = +∞, which the first branch accepts).
            (if zero_nan { T::ZERO } else { v }, 1)
        }
    }
    let n = min_len(min_len(min_len(u.len(), g.len()), s_store.len()), s_kick.len());
    let l = T::LANES;
    let nv = n - n % l;
    let (pu, pg) = (u.as_ptr(), g.as_mut_ptr());
    let z = T::ZERO.splat();
    let (mut uu, mut ug, mut gg) = ([z; 2], [z; 2], [z; 2]);
    let clipv = clip.splat();
    let mut flagged = 0u64;
    // The stored (cleaned, scaled) gradient of lanes i..i+LANES.
    let load = |i: usize, flagged: &mut u64| -> T::V {
        // SAFETY (for the caller): i + LANES <= nv <= n bounds g and s_store.
        unsafe {
            let raw = T::vread(pg.add(i));
            if T::vall_abs_le(raw, clipv) {
                let gv = raw * s_store.v(i);
                if !DS::IDENTITY {
                    T::vwrite(gv, pg.add(i));
                }
                gv
            } else {
                let mut buf = [T::ZERO; 8];
                for (j, b) in buf[..l].iter_mut().enumerate() {
                    let (w, f) = clean(*pg.add(i + j), clip, zero_nan);
                    *b = w;
                    *flagged += f;
                }
                let gv = T::vload(&buf[..l]) * s_store.v(i);
                T::vwrite(gv, pg.add(i));
                gv
            }
        }
    };
    #[inline(always)]
    fn acc<T: Real>(uv: T::V, sg: T::V, uu: &mut T::V, ug: &mut T::V, gg: &mut T::V) {
        *uu = T::vfma(uv, uv, *uu);
        *ug = T::vfma(uv, sg, *ug);
        *gg = T::vfma(sg, sg, *gg);
    }
    let mut i = 0;
    // SAFETY: i + LANES <= nv <= n, and n bounds every slice.
    unsafe {
        while i + 2 * l <= nv {
            let (g0, g1) = (load(i, &mut flagged), load(i + l, &mut flagged));
            acc::<T>(T::vread(pu.add(i)), s_kick.v(i) * g0, &mut uu[0], &mut ug[0], &mut gg[0]);
            acc::<T>(T::vread(pu.add(i + l)), s_kick.v(i + l) * g1, &mut uu[1], &mut ug[1], &mut gg[1]);
            i += 2 * l;
        }
        if i < nv {
            let g0 = load(i, &mut flagged);
            acc::<T>(T::vread(pu.add(i)), s_kick.v(i) * g0, &mut uu[0], &mut ug[0], &mut gg[0]);
        }
    }
    let mut r = EshSums { uu: T::vsum(uu[0] + uu[1]), ug: T::vsum(ug[0] + ug[1]), gg: T::vsum(gg[0] + gg[1]) };
    for j in nv..n {
        let (w, f) = clean(g[j], clip, zero_nan);
        flagged += f;
        // SAFETY: j < n <= both diagonals' lengths.
        let gw = w * unsafe { s_store.at(j) };
        g[j] = gw;
        let sg = unsafe { s_kick.at(j) } * gw;
        r.uu += u[j] * u[j];
        r.ug += u[j] * sg;
        r.gg += sg * sg;
    }
    SanitizeSums { sums: r, flagged }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use crate::simd::Identity;
    use std::vec::Vec;

    const LENS: [usize; 8] = [0, 1, 3, 7, 8, 9, 17, 1000003];

    fn data<T: Real>(n: usize, seed: u64) -> Vec<T> {
        let mut s = seed.wrapping_mul(0x9E3779B97F4A7C15) | 1;
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                T::from_f64(((s >> 11) as f64) / ((1u64 << 53) as f64) * 2.0 - 1.0)
            })
            .collect()
    }

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol * (1.0 + b.abs())
    }

    fn check_all<T: Real>(tol: f64) {
        for &n in &LENS {
            for off in 0..3usize {
                let a = data::<T>(n + off, 1);
                let b = data::<T>(n + off, 2);
                let s = data::<T>(n + off, 3);
                let (a, b, s) = (&a[off..], &b[off..], &s[off..]);
                let want: f64 = a.iter().zip(b).map(|(x, y)| x.to_f64() * y.to_f64()).sum();
                let got = dot(a, b).to_f64();
                assert!(close(got, want, tol * (n as f64).sqrt().max(1.0)), "dot n={n} off={off}: {got} vs {want}");

                let r = esh_reduce(a, b, s);
                let uu: f64 = a.iter().map(|x| x.to_f64().powi(2)).sum();
                let ug: f64 = a.iter().zip(b).zip(s).map(|((u, g), s)| u.to_f64() * g.to_f64() * s.to_f64()).sum();
                let gg: f64 = b.iter().zip(s).map(|(g, s)| (g.to_f64() * s.to_f64()).powi(2)).sum();
                let t = tol * (n as f64).sqrt().max(1.0);
                assert!(close(r.uu.to_f64(), uu, t) && close(r.ug.to_f64(), ug, t) && close(r.gg.to_f64(), gg, t), "esh_reduce n={n}");
                let ri = esh_reduce(a, b, Identity);
                let gi: f64 = b.iter().map(|g| g.to_f64().powi(2)).sum();
                assert!(close(ri.gg.to_f64(), gi, t));

                // kick + drift, out of place and in place, against a scalar model
                let k = Kick { a_u: T::from_f64(0.7), b_g: T::from_f64(-0.3), iu: T::from_f64(1.1), ie: T::from_f64(0.9), pm: T::ONE };
                let h = T::from_f64(0.25);
                let mut u = a.to_vec();
                let x0 = data::<T>(n, 4);
                let mut x = std::vec![T::ZERO; n];
                let sums = esh_kick(&mut u, b, s, k, Some(Drift { x_src: Some(&x0), x: &mut x, h }));
                let mut x2 = x0.clone();
                let mut u2 = a.to_vec();
                esh_kick(&mut u2, b, s, k, Some(Drift { x_src: None, x: &mut x2, h }));
                assert_eq!(x, x2, "in-place and copying drift differ at n={n}");
                assert_eq!(u, u2);
                let mut plus = 0.0;
                let mut unn = 0.0;
                for i in 0..n {
                    let sg = s[i].to_f64() * b[i].to_f64();
                    let un = 0.7 * a[i].to_f64() - 0.3 * sg;
                    assert!(close(u[i].to_f64(), un, tol * 4.0), "kick u n={n} i={i}");
                    let xn = x0[i].to_f64() + 0.25 * s[i].to_f64() * un;
                    assert!(close(x[i].to_f64(), xn, tol * 4.0), "drift x n={n} i={i}");
                    plus += (1.1 * a[i].to_f64() + 0.9 * sg).powi(2);
                    unn += un * un;
                }
                assert!(close(sums.spm.to_f64(), plus, t) && close(sums.uu_new.to_f64(), unn, t));

                let mut y = b.to_vec();
                let ns = axpy_norm_sq(T::from_f64(2.0), a, &mut y);
                let want: f64 = a.iter().zip(b).map(|(x, y)| (y.to_f64() + 2.0 * x.to_f64()).powi(2)).sum();
                assert!(close(ns.to_f64(), want, t));
                let mut y2 = b.to_vec();
                axpy(T::from_f64(2.0), a, &mut y2);
                assert_eq!(y, y2);
            }
        }
    }

    #[test]
    fn kernels_f64_every_length_and_offset() {
        check_all::<f64>(1e-14);
    }

    #[test]
    fn kernels_f32_every_length_and_offset() {
        check_all::<f32>(1e-6);
    }

    #[test]
    fn split_kick_matches_kick_when_diagonals_agree_and_model_otherwise() {
        for n in [1usize, 5, 8, 13, 37] {
            let a = data::<f64>(n, 5);
            let g = data::<f64>(n, 6);
            let s: Vec<f64> = data::<f64>(n, 7).iter().map(|v| 1.5 + v).collect();
            let sd: Vec<f64> = data::<f64>(n, 8).iter().map(|v| 0.5 + v.abs()).collect();
            let k = Kick { a_u: 0.6, b_g: 0.2, iu: 1.0, ie: 0.8, pm: -1.0 };
            let x0 = data::<f64>(n, 9);
            let (mut u1, mut x1) = (a.clone(), std::vec![0.0; n]);
            let r1 = esh_kick(&mut u1, &g, &s[..], k, Some(Drift { x_src: Some(&x0), x: &mut x1, h: 0.3 }));
            let (mut u2, mut x2) = (a.clone(), std::vec![0.0; n]);
            let r2 = esh_kick_split(&mut u2, &g, &s[..], k, Some(Drift { x_src: Some(&x0), x: &mut x2, h: 0.3 }), &s[..]);
            assert_eq!((u1, x1, r1), (u2.clone(), x2, r2));
            let (mut u3, mut x3) = (a.clone(), x0.clone());
            esh_kick_split(&mut u3, &g, Identity, k, Some(Drift { x_src: None, x: &mut x3, h: 0.3 }), &sd[..]);
            for i in 0..n {
                let un = 0.6 * a[i] + 0.2 * g[i];
                assert!((u3[i] - un).abs() < 1e-14 && (x3[i] - (x0[i] + 0.3 * sd[i] * un)).abs() < 1e-14);
            }
        }
    }

    /// The refresh pass's by-product is exactly the reduction a separate
    /// pass would make over the refreshed momentum, and the refresh itself
    /// is unchanged: every length from 0 to 3 blocks and beyond (all tails),
    /// both precisions, with and without a diagonal.
    fn refresh_next_is_the_reduction<T: Real>() {
        let block = 4 * T::LANES;
        let noise_of = |seed: u64| {
            let z = data::<T>(200, seed);
            let mut b = 0;
            move || {
                let v: [T::V; 4] = core::array::from_fn(|q| T::vload(&z[(b * block + q * T::LANES) % 160..][..T::LANES]));
                b += 1;
                v
            }
        };
        let k = Kick { a_u: T::from_f64(0.7), b_g: T::from_f64(-0.3), iu: T::from_f64(1.3), ie: T::from_f64(0.9), pm: T::ONE };
        let nu = T::from_f64(0.25);
        for n in (0..3 * block + 3).chain([1000, 1003]) {
            let u0 = data::<T>(n, 21);
            let g = data::<T>(n, 22);
            let sv: Vec<T> = data::<T>(n, 23).iter().map(|&v| T::from_f64(1.5) + v).collect();
            for diag in [false, true] {
                let (mut ua, mut ub) = (u0.clone(), u0.clone());
                let (ra, (rb, uu)) = if diag {
                    (esh_kick_refresh(&mut ua, &g, &sv[..], k, nu, noise_of(5)), esh_kick_refresh_next(&mut ub, &g, &sv[..], k, nu, noise_of(5), [&[], &[]]))
                } else {
                    (esh_kick_refresh(&mut ua, &g, Identity, k, nu, noise_of(5)), esh_kick_refresh_next(&mut ub, &g, Identity, k, nu, noise_of(5), [&[], &[]]))
                };
                assert_eq!(ua, ub, "n={n}");
                assert_eq!((ra.spm, ra.uu_new), (rb.spm, rb.uu_new), "n={n}");
                let want = if diag { esh_reduce(&ub, &g, &sv[..]) } else { esh_reduce(&ub, &g, Identity) };
                assert_eq!(
                    (uu.to_f64().to_bits(), rb.ug_new.to_f64().to_bits()),
                    (want.uu.to_f64().to_bits(), want.ug.to_f64().to_bits()),
                    "n={n} diag={diag}"
                );
            }
        }
    }

    #[test]
    fn refresh_next_is_the_reduction_f32_f64() {
        refresh_next_is_the_reduction::<f32>();
        refresh_next_is_the_reduction::<f64>();
    }

    /// The prefetch hint changes no bit, whatever the lengths of the warmed
    /// slices (shorter or longer than `u`), above the size where it acts.
    fn warm_changes_nothing<T: Real>() {
        let n = WARM_MIN_BYTES / core::mem::size_of::<T>() + 37;
        let u0 = data::<T>(n, 31);
        let g = data::<T>(n, 32);
        let (short, long) = (data::<T>(n / 3, 33), data::<T>(n + 100, 34));
        let k = Kick { a_u: T::from_f64(0.8), b_g: T::from_f64(0.2), iu: T::ONE, ie: T::from_f64(0.5), pm: T::ONE };
        let nu = T::from_f64(0.1);
        let run = |warm: [&[T]; 2]| {
            let mut u = u0.clone();
            let mut rng = crate::rng::Rng::new(3, 4);
            let mut src = crate::rng::NormalBlocks::new(&mut rng);
            let (r, uu) = esh_kick_refresh_next(&mut u, &g, Identity, k, nu, || src.next_block::<T>(), warm);
            (u, r, uu.to_f64().to_bits())
        };
        let want = run([&[], &[]]);
        assert!(run([&short, &long]) == want && run([&long, &g]) == want);
    }

    #[test]
    fn warm_changes_nothing_f32_f64() {
        warm_changes_nothing::<f32>();
        warm_changes_nothing::<f64>();
    }

    #[test]
    fn sanitize_reduce_cleans_scales_and_counts() {
        for n in [0usize, 3, 4, 9, 16, 33] {
            for zero_nan in [false, true] {
                let u = data::<f64>(n, 11);
                let mut g: Vec<f64> = data::<f64>(n, 12).iter().map(|v| v * 3.0).collect();
                let bad = [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 7.0, -9.0];
                for (i, b) in bad.iter().enumerate() {
                    if i * 3 < n {
                        g[i * 3] = *b;
                    }
                }
                let s: Vec<f64> = (0..n).map(|i| 0.5 + i as f64 * 0.1).collect();
                let raw = g.clone();
                let r = sanitize_reduce(&u, &mut g, &s[..], Identity, 2.5, zero_nan);
                let mut flagged = 0;
                let (mut uu, mut ug, mut gg) = (0.0, 0.0, 0.0);
                for i in 0..n {
                    let v = raw[i];
                    let w = if v.is_nan() {
                        if zero_nan {
                            0.0
                        } else {
                            f64::NAN
                        }
                    } else if v.is_infinite() && !zero_nan {
                        v
                    } else {
                        v.clamp(-2.5, 2.5)
                    };
                    flagged += (!(v.abs() <= 2.5)) as u64;
                    let want = w * s[i];
                    assert!(want.to_bits() == g[i].to_bits() || (want - g[i]).abs() < 1e-15, "n={n} i={i}: {} vs {want}", g[i]);
                    uu += u[i] * u[i];
                    ug += u[i] * want;
                    gg += want * want;
                }
                assert_eq!(r.flagged, flagged);
                if zero_nan || n == 0 {
                    assert!(close(r.sums.uu, uu, 1e-14) && close(r.sums.ug, ug, 1e-14) && close(r.sums.gg, gg, 1e-14));
                } else {
                    assert!(!r.sums.gg.is_finite());
                }
            }
        }
    }

    #[test]
    fn mismatched_lengths_never_go_out_of_bounds() {
        let a = [1.0f64; 9];
        let b = [1.0f64; 5];
        assert_eq!(dot(&a, &b), 5.0);
        let mut u = [1.0f64; 9];
        let s: &[f64] = &[1.0; 3];
        let r = esh_kick(&mut u, &b, s, Kick { a_u: 2.0, b_g: 0.0, iu: 1.0, ie: 1.0, pm: 1.0 }, None);
        assert_eq!(r.uu_new, 12.0);
        assert_eq!(&u[3..], &[1.0; 6]);
    }
}
