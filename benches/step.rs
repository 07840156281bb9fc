//! Criterion benchmarks: per-step cost of the samplers on a standard Gaussian
//! with the gradient computed inline, the normal generator, and a triad
//! memory-bandwidth reference at the same sizes.
//!
//! `cargo bench --bench step` (all); `cargo bench --bench step -- mclmc/f64/velocity_verlet`
//! to filter. `perf_report` (an example) prints the summary lines with the floor ratios.

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use smile::rng::fill_normals;
use smile::{Integrator, LogDensity, Mclmc, MclmcConfig, Real, Rng};
use std::time::Duration;

const DIMS: [usize; 6] = [10, 100, 1_000, 10_000, 100_000, 1_000_000];

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

fn mclmc<T: Real>(c: &mut Criterion) {
    for integ in [Integrator::VelocityVerlet, Integrator::McLachlan] {
        for refresh in [true, false] {
            let name = format!("mclmc/{}/{}/{}", T::NAME, integ.name(), if refresh { "refresh" } else { "norefresh" });
            let mut g = c.benchmark_group(name);
            for d in DIMS {
                g.throughput(Throughput::Elements(d as u64));
                if d >= 100_000 {
                    g.sample_size(10).measurement_time(Duration::from_secs(2));
                }
                let cfg = MclmcConfig {
                    step_size: T::from_f64(0.05) * T::from_usize(d).sqrt(),
                    decoherence_length: if refresh { T::from_usize(d).sqrt() } else { T::INFINITY },
                    max_energy_change: T::INFINITY,
                    integrator: integ,
                };
                let mut ws = vec![T::ZERO; Mclmc::<T>::workspace_len(d)];
                let mut chain = Mclmc::new(cfg, &vec![T::ONE; d], &mut ws, 1, 0).unwrap();
                chain.init_with(&mut Gauss).unwrap();
                g.bench_function(BenchmarkId::from_parameter(d), |b| b.iter(|| black_box(chain.step_with(&mut Gauss).unwrap())));
            }
            g.finish();
        }
    }
}

fn normals<T: Real>(c: &mut Criterion) {
    let mut g = c.benchmark_group(format!("normals/{}", T::NAME));
    let mut rng = Rng::new(1, 0);
    let mut buf = vec![T::ZERO; 4096];
    g.throughput(Throughput::Elements(4096));
    g.bench_function("fill_4096", |b| b.iter(|| fill_normals(&mut rng, black_box(&mut buf))));
    g.finish();
}

fn triad<T: Real>(c: &mut Criterion) {
    let mut g = c.benchmark_group(format!("triad/{}", T::NAME));
    for d in DIMS {
        g.throughput(Throughput::Bytes((3 * d * core::mem::size_of::<T>()) as u64));
        if d >= 100_000 {
            g.sample_size(10).measurement_time(Duration::from_secs(2));
        }
        let mut a = vec![T::ZERO; d];
        let bb = vec![T::ONE; d];
        let cc = vec![T::ONE; d];
        let s = T::from_f64(0.5);
        g.bench_function(BenchmarkId::from_parameter(d), |b| {
            b.iter(|| {
                for ((a, &x), &y) in a.iter_mut().zip(&bb).zip(&cc) {
                    *a = x + s * y;
                }
                black_box(&mut a);
            })
        });
    }
    g.finish();
}

fn all(c: &mut Criterion) {
    normals::<f32>(c);
    normals::<f64>(c);
    triad::<f32>(c);
    triad::<f64>(c);
    mclmc::<f64>(c);
    mclmc::<f32>(c);
}

criterion_group!(benches, all);
criterion_main!(benches);
