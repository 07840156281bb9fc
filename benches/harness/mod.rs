//! Shared by `benches/step.rs` (criterion) and `examples/perf_report.rs`:
//! the benchmark target, one driver per sampler configuration, the traffic
//! model that turns a measured bandwidth into a floor, and the triad.
//!
//! The target is the standard Gaussian with its gradient computed inline
//! (`g = −x`, `log p = −½‖x‖²`), written so that it vectorises: the sum is
//! accumulated in 16 independent lanes (a single scalar `s += x²` chain is
//! a serial dependency that costs ~4 cycles per element, more than the
//! sampler itself). Its log density carries a mini-batch estimator's noise
//! (see [`Gauss`]), and the chains start from a fixed draw of N(0, I).

#![allow(dead_code)]

use smile::tune::GammaTunerConfig;
use smile::{
    Fsgld, FsgldConfig, Integrator, LogDensity, Mclmc, MclmcConfig, Psgld, PsgldConfig, Real, Sghmc, SghmcConfig, Sgld, SgldConfig, Smile, SmileConfig,
};
use std::hint::black_box;
use std::time::{Duration, Instant};

/// A slice of `n` values starting on a 64-byte boundary (a cache line, and
/// the widest vector). `vec!` gives no such promise (glibc returns large
/// blocks 16 bytes past a page boundary), and a misaligned workspace makes
/// every other vector load straddle two cache lines: measured on this
/// machine at d = 1000, 10–15 % per step for every sampler, in f32 and f64
/// alike. The library accepts any alignment (the C ABI asks for 8 bytes);
/// the benchmarks time the layout a careful caller uses.
pub struct Aligned<T> {
    buf: Vec<T>,
    skip: usize,
    n: usize,
}

impl<T: Real> Aligned<T> {
    pub fn new(n: usize, value: T) -> Self {
        let mut buf = vec![value; n + smile::workspace_pad::<T>()];
        let base = buf.as_ptr() as usize;
        let skip = (smile::align_workspace(&mut buf, n).unwrap().as_ptr() as usize - base) / core::mem::size_of::<T>();
        Aligned { buf, skip, n }
    }
}

impl<T> core::ops::Deref for Aligned<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        &self.buf[self.skip..self.skip + self.n]
    }
}

impl<T> core::ops::DerefMut for Aligned<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        &mut self.buf[self.skip..self.skip + self.n]
    }
}

/// Standard Gaussian, gradient inline, vectorisable; the log density with
/// an added noise of standard deviation 1 (uniform, a fresh draw per
/// evaluation, made one evaluation ahead so that the value returned
/// waits for one addition only), as a mini-batch estimate has: the regime SMILE is
/// for. Its tuner fits a Gamma to `|ΔE|`, which a mini-batch's noise
/// dominates; with an exact log density that regime is arbitrary, and
/// the benchmark chains measured pathological ones: from x = 1 with no
/// momentum (SMILE's start) and an exact gradient the trajectory stays on
/// the line through 1 and the origin, every coordinate alike, moving
/// outwards forever (|x| = 2.6e4 after 2.6e5 steps at d = 100) with ε at
/// the upper clip (d = 10) or at the rounding floor (`f32`, d = 100); from
/// a random start, `|ΔE|` was so heavy-tailed that the fitted shape spread
/// over nine octaves (0.002–1). With the noise, after the first 10⁴
/// steps, the shape stays within 0.27–2.65 and ε within a factor of 2–3.3.
/// MCLMC's dynamics do not read the log density; the noise costs it 2–5 ns
/// per step at d ≤ 100 (README, Performance).
pub struct Gauss<T> {
    draws: u64,
    next: T,
}

impl<T: Real> Gauss<T> {
    pub fn new() -> Self {
        let mut g = Gauss { draws: 0x9E37_79B9_7F4A_7C15, next: T::ZERO };
        g.next = T::from_f64(g.noise());
        g
    }

    /// Uniform on `[−√3, √3)`: mean 0, variance 1 (xorshift64, and the
    /// bits made into a float in `[1, 2)` directly: two floating-point
    /// operations, so that the target costs the samplers next to nothing).
    #[inline]
    fn noise(&mut self) -> f64 {
        let mut z = self.draws;
        z ^= z << 13;
        z ^= z >> 7;
        z ^= z << 17;
        self.draws = z;
        (f64::from_bits(0x3FF0_0000_0000_0000 | z >> 12) - 1.5) * 12f64.sqrt()
    }
}

impl<T: Real> Default for Gauss<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Real> LogDensity<T> for Gauss<T> {
    #[inline]
    fn logp(&mut self, x: &[T], g: &mut [T]) -> T {
        const K: usize = 16;
        let mut acc = [T::ZERO; K];
        let mut xc = x.chunks_exact(K);
        let mut gc = g.chunks_exact_mut(K);
        for (xs, gs) in (&mut xc).zip(&mut gc) {
            for k in 0..K {
                gs[k] = -xs[k];
                acc[k] += xs[k] * xs[k];
            }
        }
        let mut s = T::ZERO;
        for (g, &v) in gc.into_remainder().iter_mut().zip(xc.remainder()) {
            *g = -v;
            s += v * v;
        }
        for a in acc {
            s += a;
        }
        let v = T::from_f64(-0.5) * s + self.next;
        self.next = T::from_f64(self.noise());
        v
    }
}

/// A benchmarked sampler configuration.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Kind {
    /// MCLMC with the fused refresh (L = √d) or without (L = ∞).
    Mclmc {
        integ: Integrator,
        refresh: bool,
    },
    /// SMILE (tuner on, McLachlan, no preconditioning, corrected mode).
    Smile,
    /// pSMILE (SMILE + gradient-noise preconditioning).
    Psmile,
    Sgld,
    Psgld,
    Sghmc,
    /// fSGLD with one perturbation per step.
    Fsgld,
}

pub const ALL: [Kind; 10] = [
    Kind::Mclmc { integ: Integrator::VelocityVerlet, refresh: true },
    Kind::Mclmc { integ: Integrator::VelocityVerlet, refresh: false },
    Kind::Mclmc { integ: Integrator::McLachlan, refresh: true },
    Kind::Mclmc { integ: Integrator::McLachlan, refresh: false },
    Kind::Smile,
    Kind::Psmile,
    Kind::Sgld,
    Kind::Psgld,
    Kind::Sghmc,
    Kind::Fsgld,
];

impl Kind {
    pub fn sampler(self) -> &'static str {
        match self {
            Kind::Mclmc { refresh: true, .. } => "mclmc",
            Kind::Mclmc { refresh: false, .. } => "mclmc_norefresh",
            Kind::Smile => "smile",
            Kind::Psmile => "psmile",
            Kind::Sgld => "sgld",
            Kind::Psgld => "psgld",
            Kind::Sghmc => "sghmc",
            Kind::Fsgld => "fsgld",
        }
    }

    /// Integrator name; the SG family has none of the isokinetic ones
    /// (one Euler-type update per step): `none`.
    pub fn integrator(self) -> &'static str {
        match self {
            Kind::Mclmc { integ, .. } => integ.name(),
            Kind::Smile | Kind::Psmile => Integrator::McLachlan.name(),
            _ => "none",
        }
    }

    /// Traffic model: d-vectors each step streams (one read or one write
    /// of d values each), the inline gradient included (reads x, writes g:
    /// 2 per evaluation), identity preconditioner unless the sampler keeps
    /// its own. The normals are generated in registers and cost nothing.
    /// The passes are listed next to the code (`src/samplers/mclmc.rs`,
    /// `smile.rs`, `sg.rs`); with `m` gradient evaluations per step:
    ///
    /// * MCLMC: per position stage a reduction (r u, g), a fused kick +
    ///   drift (r u, g, x; w u, x) and the gradient = 9; the last reduction
    ///   and kick (+ refresh) (r u, g; w u) = 5; minus the first reduction,
    ///   which the previous step's last kick (+ refresh) makes (fused
    ///   refresh or none, step accepted: every step here): `9m + 3`: VV 12,
    ///   McLachlan 21.
    /// * SMILE: the same passes (the reductions check the gradient through
    ///   its `‖g‖²`; only a gradient that needs cleaning costs a pass
    ///   more, never here): `9m + 3` = 21.
    /// * pSMILE: + the diagonal read by every kick and by the reductions
    ///   after an evaluation (2m + 1), + the noise-EMA pass (r g, ḡ, σ;
    ///   w ḡ, σ) and the preconditioner pass, which also makes the next
    ///   step's first reduction (r σ, u, g; w s), so that one (r u, g) is
    ///   gone: `9m + 5 + 2m + 1 + 5 + 4 − 2` = 35.
    /// * SGLD: gradient 2 + update (r x, g; w x') 3 = 5.
    /// * pSGLD: gradient 2 + update (r x, g, V; w V', x') 5 = 7.
    /// * SGHMC: gradient 2 + update (r x, p, g; w p, x') 5 = 7.
    /// * fSGLD (1 perturbation): perturb (r x; w x̃) 2 + gradient 2 +
    ///   update (r x, g; w x') 3 = 7.
    pub fn vectors(self) -> f64 {
        match self {
            Kind::Mclmc { integ, .. } => 9.0 * integ.grads_per_step() as f64 + 3.0,
            Kind::Smile => 21.0,
            Kind::Psmile => 35.0,
            Kind::Sgld => 5.0,
            Kind::Psgld | Kind::Sghmc | Kind::Fsgld => 7.0,
        }
    }

    pub fn workspace_len<T: Real>(self, d: usize) -> usize {
        match self {
            Kind::Mclmc { .. } => Mclmc::<T>::workspace_len(d),
            Kind::Smile | Kind::Psmile => Smile::<T>::workspace_len(d),
            Kind::Sgld => Sgld::<T>::workspace_len(d),
            Kind::Psgld => Psgld::<T>::workspace_len(d),
            Kind::Sghmc => Sghmc::<T>::workspace_len(d),
            Kind::Fsgld => Fsgld::<T>::workspace_len(d),
        }
    }

    /// A chain of this kind over `ws` (length `workspace_len(d)`), started
    /// at a fixed draw of N(0, I) and run for a few steps; the closure makes
    /// one step.
    pub fn chain<'a, T: Real>(self, d: usize, ws: &'a mut [T]) -> Box<dyn FnMut() + 'a> {
        let mut x0 = vec![T::ZERO; d];
        smile::rng::fill_normals(&mut smile::Rng::new(7, 0), &mut x0);
        let mut target = Gauss::new();
        let sd = T::from_usize(d).sqrt();
        let h = T::from_f64(0.01);
        let mut f: Box<dyn FnMut() + 'a> = match self {
            Kind::Mclmc { integ, refresh } => {
                let cfg = MclmcConfig {
                    step_size: T::from_f64(0.05) * sd,
                    decoherence_length: if refresh { sd } else { T::INFINITY },
                    max_energy_change: T::INFINITY,
                    integrator: integ,
                };
                let mut c = Mclmc::new(cfg, &x0, ws, 1, 0).unwrap();
                c.init_with(&mut target).unwrap();
                Box::new(move || {
                    black_box(c.step_with(&mut target).unwrap());
                })
            }
            Kind::Smile | Kind::Psmile => {
                let cfg = if self == Kind::Psmile { SmileConfig::psmile(T::from_f64(0.05) * sd) } else { SmileConfig::smile(T::from_f64(0.05) * sd) };
                // No resets (the tuner still decides every step): a reset step
                // skips work (pSMILE's noise and preconditioner passes, the
                // next step's cached reduction), and at large d, where each
                // timed batch is one step, the fastest batch would be a reset.
                let cfg = SmileConfig { tuner: GammaTunerConfig { reset_prob: T::ONE, ..cfg.tuner }, ..cfg };
                let mut c = Smile::new(cfg, &x0, ws, 1, 0).unwrap();
                Box::new(move || {
                    black_box(c.step_with(&mut target).unwrap());
                })
            }
            Kind::Sgld => {
                let mut c = Sgld::new(SgldConfig::constant(h), &x0, ws, 1, 0).unwrap();
                Box::new(move || {
                    black_box(c.step_with(&mut target).unwrap());
                })
            }
            Kind::Psgld => {
                let mut c = Psgld::new(PsgldConfig::constant(h), &x0, ws, 1, 0).unwrap();
                Box::new(move || {
                    black_box(c.step_with(&mut target).unwrap());
                })
            }
            Kind::Sghmc => {
                let mut c = Sghmc::new(SghmcConfig::constant(h, T::from_f64(1.0)), &x0, ws, 1, 0).unwrap();
                Box::new(move || {
                    black_box(c.step_with(&mut target).unwrap());
                })
            }
            Kind::Fsgld => {
                let mut c = Fsgld::new(FsgldConfig::constant(h, T::from_f64(0.1)), &x0, ws, 1, 0).unwrap();
                Box::new(move || {
                    black_box(c.step_with(&mut target).unwrap());
                })
            }
        };
        for _ in 0..3 {
            f();
        }
        f
    }
}

/// Nanoseconds per call of `f`: calls are grouped in batches of at least
/// ~20 µs, batches repeat until `budget` is spent, and the fastest batch
/// counts (this 2-core machine is shared; the minimum is the quiet-machine
/// time, the mean is not).
pub fn time_min(budget: Duration, mut f: impl FnMut()) -> f64 {
    let t0 = Instant::now();
    f();
    let once = t0.elapsed().as_nanos().max(1) as u64;
    let batch = (20_000 / once).clamp(1, 1 << 20) as usize;
    let start = Instant::now();
    let mut best = f64::INFINITY;
    let mut rounds = 0;
    while rounds < 3 || start.elapsed() < budget {
        let t = Instant::now();
        for _ in 0..batch {
            f();
        }
        best = best.min(t.elapsed().as_nanos() as f64 / batch as f64);
        rounds += 1;
    }
    best
}

/// Two configurations timed in alternating batches (each of at least
/// ~200 µs), so that both see the same machine (this one is shared, and its
/// speed drifts by 10–20 % within seconds): `(min ns of a, min ns of b,
/// median over rounds of a's batch time / b's)`. The ratio is what a goal
/// "a no slower than b" is checked with. A batch spans ~1000 steps at
/// small d, so that costs paid on some steps only (SMILE's mispredicted
/// step-size moves and exact Gamma CDFs) are averaged in every batch: with
/// 20 µs batches the median ratio of the same two binaries ranged over
/// 0.97–1.06 (f64, d = 10) from run to run; with 200 µs, within about ±1 %.
#[allow(dead_code)] // used by perf_report, not by the criterion bench
pub fn time_pair(budget: Duration, mut a: impl FnMut(), mut b: impl FnMut()) -> (f64, f64, f64) {
    let once = |f: &mut dyn FnMut()| {
        let t0 = Instant::now();
        f();
        t0.elapsed().as_nanos().max(1) as u64
    };
    let batch = (200_000 / once(&mut a).min(once(&mut b))).clamp(1, 1 << 20) as usize;
    let (mut best_a, mut best_b, mut ratios) = (f64::INFINITY, f64::INFINITY, Vec::new());
    let start = Instant::now();
    while ratios.len() < 5 || start.elapsed() < budget {
        let t = Instant::now();
        for _ in 0..batch {
            a();
        }
        let ta = t.elapsed().as_nanos() as f64 / batch as f64;
        let t = Instant::now();
        for _ in 0..batch {
            b();
        }
        let tb = t.elapsed().as_nanos() as f64 / batch as f64;
        best_a = best_a.min(ta);
        best_b = best_b.min(tb);
        ratios.push(ta / tb);
    }
    ratios.sort_by(f64::total_cmp);
    (best_a, best_b, ratios[ratios.len() / 2])
}

/// Triad `a = b + s c` on arrays of `d` values: ns per element of one
/// d-vector streamed (STREAM's convention: 3 vectors per triad, the
/// write-allocate read of `a` not counted).
pub fn triad_ns_per_elem<T: Real>(d: usize, budget: Duration) -> f64 {
    let mut a = Aligned::new(d, T::ZERO);
    let b = Aligned::new(d, T::ONE);
    let c = Aligned::new(d, T::ONE);
    let s = T::from_f64(0.5);
    let ns = time_min(budget, || {
        triad(&mut a, &b, &c, s);
        black_box(&mut a);
    });
    ns / (3.0 * d as f64)
}

#[inline(never)]
pub fn triad<T: Real>(a: &mut [T], b: &[T], c: &[T], s: T) {
    for ((a, &x), &y) in a.iter_mut().zip(b).zip(c) {
        *a = x + s * y;
    }
}
