//! Performance report: one line per configuration,
//!
//! `perf sampler=<name> integrator=<name> dtype=<f32|f64> dim=<d> ns_per_step=<x> ns_per_dim=<x> floor_ns=<x> floor_ratio=<x>`
//!
//! for MCLMC (velocity Verlet and McLachlan, with and without refresh),
//! SMILE, pSMILE and the SGLD family, d = 10 … 10⁷, f32 and f64; plus
//! `perf normals …` (generator throughput), `perf triad …` (the memory
//! bandwidth reference) and, for the sizes where both workspaces fit in
//! 16 KiB (d = 10 and 100 of the default list) and from d = 10⁶ on,
//!
//! `perf pair a=smile b=mclmc_norefresh integrator=mclachlan dtype=<..> dim=<d> a_ns_per_step=<x> b_ns_per_step=<x> ratio=<x>`
//!
//! SMILE against MCLMC without refresh timed in alternating batches
//! (`harness::time_pair`): the goal "SMILE costs no more than MCLMC without
//! the refresh" is `ratio ≤ 1`, the median of the batches' ratios, which
//! the machine's drift does not move as it moves two separate timings.
//! From d = 10⁶ on the two chains' buffers are swapped halfway and the
//! ratio is the geometric mean of the two halves' (see `pair_line`). The floor is the time to stream the bytes
//! one step touches — `Kind::vectors` in `benches/harness/mod.rs`, which
//! lists the passes — at the triad bandwidth measured in the same run on
//! arrays of the same d.
//!
//! `cargo run --release --example perf_report [-- --quick] [--dims 100,1e6] [--only <substring>]`
//! (about 2 minutes; `--quick`: 3 sizes, ~10 s; `--only` keeps the lines whose
//! "sampler integrator dtype dim" contains the substring). Times are the fastest of
//! many batches (the machine is shared; see `harness::time_min`).

#[path = "../benches/harness/mod.rs"]
mod harness;

use harness::{time_min, time_pair, triad_ns_per_elem, Aligned, Kind, ALL};
use smile::rng::fill_normals;
use smile::{Integrator, Real, Rng};
use std::hint::black_box;
use std::time::Duration;

fn normals_line<T: Real>(budget: Duration) {
    let mut rng = Rng::new(1, 0);
    let mut buf = Aligned::new(4096, T::ZERO);
    let ns = time_min(budget, || {
        fill_normals(&mut rng, &mut buf);
        black_box(&mut buf);
    });
    println!("perf normals dtype={} per_second={:.3e} ns_per_value={:.3}", T::NAME, 4096.0 / ns * 1e9, ns / 4096.0);
}

fn lines<T: Real>(d: usize, budget: Duration, only: Option<&str>) {
    let per_elem = triad_ns_per_elem::<T>(d, budget);
    let bytes = core::mem::size_of::<T>() as f64;
    println!("perf triad dtype={} dim={d} ns_per_elem={per_elem:.5} gb_per_s={:.2}", T::NAME, bytes / per_elem);
    for kind in ALL {
        let tag = format!("{} {} {} {d}", kind.sampler(), kind.integrator(), T::NAME);
        if only.is_some_and(|o| !tag.contains(o)) {
            continue;
        }
        let mut ws = Aligned::new(kind.workspace_len::<T>(d), T::ZERO);
        let mut step = kind.chain::<T>(d, &mut ws);
        let ns = time_min(budget, &mut *step);
        let floor = kind.vectors() * d as f64 * per_elem;
        println!(
            "perf sampler={} integrator={} dtype={} dim={d} ns_per_step={ns:.1} ns_per_dim={:.4} floor_ns={floor:.1} floor_ratio={:.3}",
            kind.sampler(),
            kind.integrator(),
            T::NAME,
            ns / d as f64,
            ns / floor
        );
    }
}

/// SMILE against MCLMC without refresh (McLachlan both), timed in
/// alternating batches: the goal "a SMILE step costs no more than an MCLMC
/// step without refresh" is `ratio ≤ 1`.
fn pair_line<T: Real>(d: usize, budget: Duration, only: Option<&str>) {
    let (a, b) = (Kind::Smile, Kind::Mclmc { integ: Integrator::McLachlan, refresh: false });
    let tag = format!("pair {} {} {} {} {d}", a.sampler(), b.sampler(), a.integrator(), T::NAME);
    // Alternating batches make the two chains share the caches: beyond
    // 16 KiB for both workspaces (half the 32 KiB L1) each batch would start
    // by refetching what the other evicted, and the pair would measure that.
    // From d = 10⁶ on (workspaces of 32 MB and more) every step streams from
    // the L3 or memory whichever chain ran before, and the separate lines
    // above, the fastest of a few hundred steps of milliseconds, vary by
    // ±5 %: there the pair is the stable check again, with one correction.
    // Two buffers allocated one after the other run at different speeds
    // (two SMILE chains alternating at d = 10⁷: 25.2 against 23.5 ms; the
    // pages are the host's), so each chain runs half the time in each
    // buffer, and the ratio is the geometric mean of the halves' (0.98–1.015
    // in twelve runs at d = 10⁶ and 10⁷, against 0.93–1.08 per half).
    let (la, lb) = (a.workspace_len::<T>(d), b.workspace_len::<T>(d));
    let bytes = (la + lb) * core::mem::size_of::<T>();
    if only.is_some_and(|o| !tag.contains(o)) || (bytes > 16 << 10 && d < 1_000_000) {
        return;
    }
    let mut w = [Aligned::new(la.max(lb), T::ZERO), Aligned::new(la.max(lb), T::ZERO)];
    let halves = if d < 1_000_000 { 1 } else { 2 };
    let (mut na, mut nb, mut log_ratio) = (f64::INFINITY, f64::INFINITY, 0.0);
    for half in 0..halves {
        let [w0, w1] = &mut w;
        let (wa, wb) = if half == 0 { (w0, w1) } else { (w1, w0) };
        let (mut fa, mut fb) = (a.chain::<T>(d, &mut wa[..la]), b.chain::<T>(d, &mut wb[..lb]));
        let (ta, tb, r) = time_pair(budget / halves, &mut *fa, &mut *fb);
        (na, nb, log_ratio) = (na.min(ta), nb.min(tb), log_ratio + r.ln() / halves as f64);
    }
    let ratio = log_ratio.exp();
    println!(
        "perf pair a={} b={} integrator={} dtype={} dim={d} a_ns_per_step={na:.1} b_ns_per_step={nb:.1} ratio={ratio:.3}",
        a.sampler(),
        b.sampler(),
        a.integrator(),
        T::NAME
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick");
    let only = args.iter().position(|a| a == "--only").and_then(|i| args.get(i + 1)).map(|s| s.as_str());
    let t0 = std::time::Instant::now();
    let base = Duration::from_millis(if quick { 60 } else { 200 });
    normals_line::<f32>(base * 2);
    normals_line::<f64>(base * 2);
    let listed: Option<Vec<usize>> = args
        .iter()
        .position(|a| a == "--dims")
        .and_then(|i| args.get(i + 1))
        .map(|s| s.split(',').filter_map(|v| v.parse::<f64>().ok()).map(|v| v as usize).collect());
    let dims: Vec<usize> = match listed {
        Some(v) => v,
        None if quick => vec![100, 10_000, 1_000_000],
        None => vec![10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000],
    };
    for &d in &dims {
        // Large d: a step takes milliseconds, so give the minimum more batches.
        let budget = if d >= 10_000_000 {
            base * 4
        } else if d >= 1_000_000 {
            base * 3
        } else {
            base
        };
        lines::<f32>(d, budget, only);
        lines::<f64>(d, budget, only);
        pair_line::<f32>(d, budget, only);
        pair_line::<f64>(d, budget, only);
    }
    eprintln!("perf_report: {:.1} s", t0.elapsed().as_secs_f64());
}
