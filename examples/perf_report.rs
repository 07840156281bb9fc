//! Performance report: one line per configuration,
//! `perf sampler=<name> integrator=<name> dtype=<f32|f64> dim=<d> ns_per_step=<x> ns_per_dim=<x> floor_ns=<x> floor_ratio=<x>`,
//! plus the normal generator's throughput. The floor is the time to stream
//! the bytes one step touches (the traffic model in `src/samplers/mclmc.rs`)
//! at the triad bandwidth measured in the same run on arrays of the same d.
//!
//! `cargo run --release --example perf_report [-- --quick]` (under 3 minutes; --quick ~20 s).

use smile::rng::fill_normals;
use smile::{Integrator, LogDensity, Mclmc, MclmcConfig, Real, Rng};
use std::hint::black_box;
use std::time::{Duration, Instant};

/// The benchmark target: standard Gaussian with the gradient computed inline.
struct Gauss;
impl<T: Real> LogDensity<T> for Gauss {
    #[inline]
    fn logp(&mut self, x: &[T], g: &mut [T]) -> T {
        let mut s = T::ZERO;
        for (g, &v) in g.iter_mut().zip(x) {
            *g = -v;
            s += v * v;
        }
        T::from_f64(-0.5) * s
    }
}

/// Runs `f` repeatedly for at least `budget`, returns ns per call (best of 3 rounds).
fn time_it(budget: Duration, mut f: impl FnMut()) -> f64 {
    let mut best = f64::INFINITY;
    for _ in 0..3 {
        let t0 = Instant::now();
        let mut n = 0u64;
        while t0.elapsed() < budget / 3 {
            for _ in 0..8 {
                f();
            }
            n += 8;
        }
        best = best.min(t0.elapsed().as_nanos() as f64 / n as f64);
    }
    best
}

/// Triad a = b + s c: ns per element-pass of one d-vector (read or write).
fn triad_ns_per_vector_elem<T: Real>(d: usize, budget: Duration) -> f64 {
    let mut a = vec![T::ZERO; d];
    let b = vec![T::ONE; d];
    let c = vec![T::ONE; d];
    let s = T::from_f64(0.5);
    let ns = time_it(budget, || {
        for ((a, &b), &c) in a.iter_mut().zip(&b).zip(&c) {
            *a = b + s * c;
        }
        black_box(&mut a);
    });
    // A triad streams 3 vectors (2 reads, 1 write; write-allocate ignored as in STREAM).
    ns / (3.0 * d as f64)
}

fn mclmc_line<T: Real>(integ: Integrator, d: usize, refresh: bool, budget: Duration) {
    let cfg = MclmcConfig {
        step_size: T::from_f64(0.5) * T::from_usize(d).sqrt() * T::from_f64(0.1),
        decoherence_length: if refresh { T::from_usize(d).sqrt() } else { T::INFINITY },
        max_energy_change: T::INFINITY,
        integrator: integ,
    };
    let mut ws = vec![T::ZERO; Mclmc::<T>::workspace_len(d)];
    let x0 = vec![T::ONE; d];
    let mut chain = Mclmc::new(cfg, &x0, &mut ws, 1, 0).unwrap();
    let mut f = Gauss;
    chain.init_with(&mut f).unwrap();
    let ns = time_it(budget, || {
        black_box(chain.step_with(&mut f).unwrap());
    });
    let m = integ.grads_per_step() as f64;
    // Traffic model (d-vectors streamed per step, see src/samplers/mclmc.rs):
    // per position stage a reduction (reads u, g), a fused kick + drift
    // (reads u, g, x; writes u, x) and the inline gradient (reads x, writes
    // g); then the last reduction and kick, with the refresh fused in (reads
    // u, g; writes u; the normals are generated in registers/L1).
    let vectors = m * (2.0 + 5.0 + 2.0) + 2.0 + 3.0;
    let per_elem = triad_ns_per_vector_elem::<T>(d, budget / 2);
    let floor = vectors * d as f64 * per_elem;
    let name = if refresh { "mclmc" } else { "mclmc_norefresh" };
    println!(
        "perf sampler={name} integrator={} dtype={} dim={d} ns_per_step={ns:.1} ns_per_dim={:.4} floor_ns={floor:.1} floor_ratio={:.3}",
        integ.name(),
        T::NAME,
        ns / d as f64,
        ns / floor
    );
}

fn normals_line<T: Real>(budget: Duration) {
    let mut rng = Rng::new(1, 0);
    let mut buf = vec![T::ZERO; 4096];
    let ns = time_it(budget, || {
        fill_normals(&mut rng, &mut buf);
        black_box(&mut buf);
    });
    println!("perf normals dtype={} per_second={:.3e} ns_per_value={:.3}", T::NAME, 4096.0 / ns * 1e9, ns / 4096.0);
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let budget = Duration::from_millis(if quick { 150 } else { 900 });
    normals_line::<f32>(budget);
    normals_line::<f64>(budget);
    let dims: &[usize] = if quick { &[100, 10_000, 1_000_000] } else { &[10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000] };
    for &d in dims {
        let b = if d >= 1_000_000 { budget * 3 } else { budget };
        for integ in [Integrator::VelocityVerlet, Integrator::McLachlan] {
            for refresh in [true, false] {
                mclmc_line::<f64>(integ, d, refresh, b);
                mclmc_line::<f32>(integ, d, refresh, b);
            }
        }
    }
}
