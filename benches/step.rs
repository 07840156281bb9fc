//! Criterion benchmarks: per-step cost of MCLMC (velocity Verlet and
//! McLachlan, with and without refresh), SMILE, pSMILE and the SGLD family
//! on a standard Gaussian with the gradient computed inline (and a
//! mini-batch-like noise on its log density, `harness::Gauss`), for
//! d ∈ {10, 100, 1e3, 1e4, 1e5, 1e6}, f32 and f64; the normal generator;
//! and a triad memory-bandwidth reference at the same sizes.
//!
//! `cargo bench --bench step` (all, ~10 minutes); filter with e.g.
//! `cargo bench --bench step -- mclmc/f32/mclachlan`. Throughput is in
//! elements (dimensions) per second; `perf_report` (an example) prints the
//! summary lines with the floor ratios.

mod harness;

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use harness::{triad, Aligned, ALL};
use smile::rng::fill_normals;
use smile::{Real, Rng};
use std::time::Duration;

const DIMS: [usize; 6] = [10, 100, 1_000, 10_000, 100_000, 1_000_000];

fn samplers<T: Real>(c: &mut Criterion) {
    for kind in ALL {
        let mut g = c.benchmark_group(format!("{}/{}/{}", kind.sampler(), T::NAME, kind.integrator()));
        g.warm_up_time(Duration::from_millis(300)).measurement_time(Duration::from_secs(1));
        for d in DIMS {
            g.throughput(Throughput::Elements(d as u64));
            if d >= 100_000 {
                g.sample_size(10).measurement_time(Duration::from_secs(2));
            }
            let mut ws = Aligned::new(kind.workspace_len::<T>(d), T::ZERO);
            let mut step = kind.chain::<T>(d, &mut ws);
            g.bench_function(BenchmarkId::from_parameter(d), |b| b.iter(&mut *step));
        }
        g.finish();
    }
}

fn normals<T: Real>(c: &mut Criterion) {
    let mut g = c.benchmark_group(format!("normals/{}", T::NAME));
    let mut rng = Rng::new(1, 0);
    let mut buf = Aligned::new(4096, T::ZERO);
    g.throughput(Throughput::Elements(4096));
    g.bench_function("fill_4096", |b| b.iter(|| fill_normals(&mut rng, black_box(&mut *buf))));
    g.finish();
}

fn triads<T: Real>(c: &mut Criterion) {
    let mut g = c.benchmark_group(format!("triad/{}", T::NAME));
    g.warm_up_time(Duration::from_millis(300)).measurement_time(Duration::from_secs(1));
    for d in DIMS {
        // STREAM convention: 2 reads + 1 write per element.
        g.throughput(Throughput::Bytes((3 * d * core::mem::size_of::<T>()) as u64));
        if d >= 100_000 {
            g.sample_size(10).measurement_time(Duration::from_secs(2));
        }
        let mut a = Aligned::new(d, T::ZERO);
        let bb = Aligned::new(d, T::ONE);
        let cc = Aligned::new(d, T::ONE);
        let s = T::from_f64(0.5);
        g.bench_function(BenchmarkId::from_parameter(d), |b| {
            b.iter(|| {
                triad(&mut a, &bb, &cc, s);
                black_box(&mut a);
            })
        });
    }
    g.finish();
}

fn all(c: &mut Criterion) {
    normals::<f32>(c);
    normals::<f64>(c);
    triads::<f32>(c);
    triads::<f64>(c);
    samplers::<f64>(c);
    samplers::<f32>(c);
}

criterion_group!(benches, all);
criterion_main!(benches);
