//! Statistical tests of MCLMC. Fixed seeds make them deterministic; every
//! tolerance is a multiple of a Monte Carlo standard error estimated from the
//! run itself (batch means over 50 batches, which absorbs the chain's
//! autocorrelation), chosen so a correct sampler passes with a wide margin
//! and a wrong dynamics (biased moments) fails.

use smile::dynamics::{partial_refresh, random_direction};
use smile::targets::{Banana, DiagGaussian, StdGaussian};
use smile::{Integrator, LogDensity, Mclmc, MclmcConfig, Real, RefreshMode, Rng};

const BATCHES: usize = 50;

/// Mean and batch-means standard error of a series.
fn mean_se(x: &[f64]) -> (f64, f64) {
    let b = x.len() / BATCHES;
    let means: Vec<f64> = (0..BATCHES).map(|k| x[k * b..(k + 1) * b].iter().sum::<f64>() / b as f64).collect();
    let m = means.iter().sum::<f64>() / BATCHES as f64;
    let v = means.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (BATCHES - 1) as f64;
    (m, (v / BATCHES as f64).sqrt())
}

/// Runs `n` steps after `burn` and returns, per coordinate, the series of
/// `x_i² / var_i`.
fn second_moments<T: Real, F: LogDensity<T>>(chain: &mut Mclmc<'_, T>, f: &mut F, var: &[f64], burn: usize, n: usize) -> Vec<Vec<f64>> {
    for _ in 0..burn {
        chain.step_with(f).unwrap();
    }
    let d = var.len();
    let mut series = vec![Vec::with_capacity(n); d];
    let mut divergences = 0;
    for _ in 0..n {
        divergences += chain.step_with(f).unwrap().diverged() as u32;
        for (i, x) in chain.position().iter().enumerate() {
            series[i].push(x.to_f64().powi(2) / var[i]);
        }
    }
    assert_eq!(divergences, 0);
    series
}

/// Checks E[x_i²]/var_i = 1: the average over coordinates within 4.5 of its
/// standard errors, and every coordinate within 4.5 of its own (with d = 100
/// coordinates, a correct sampler exceeds 4.5σ somewhere with probability
/// ~7e-4; the seeds are fixed, so the outcome is deterministic).
fn check_unit_moments(series: &[Vec<f64>], what: &str) {
    let n = series[0].len();
    let avg: Vec<f64> = (0..n).map(|t| series.iter().map(|s| s[t]).sum::<f64>() / series.len() as f64).collect();
    let (m, se) = mean_se(&avg);
    println!("{what}: mean over coordinates of E[x²]/σ² = {m:.4} ± {se:.4}");
    assert!((m - 1.0).abs() < 4.5 * se, "{what}: average second moment {m} ± {se}");
    assert!(se < 0.02, "{what}: the run is too short to test anything (se {se})");
    for (i, s) in series.iter().enumerate() {
        let (mi, sei) = mean_se(s);
        assert!((mi - 1.0).abs() < 4.5 * sei, "{what}: coordinate {i}: E[x²]/σ² = {mi} ± {sei}");
    }
}

#[test]
fn standard_gaussian_d100_second_moments() {
    let d = 100;
    // ε = 2 (0.2 √d): Var[ΔE]/d ≈ 8e-9 here, so the discretisation bias of
    // the second moment (≈ 3e-3 at ε = 4, measured) is below the Monte Carlo
    // error ≈ 2e-3 of 20000 steps.
    let cfg = MclmcConfig { step_size: 2.0, decoherence_length: 10.0, max_energy_change: f64::INFINITY, integrator: Integrator::McLachlan };
    let mut ws = vec![0.0; Mclmc::<f64>::workspace_len(d)];
    for (mode, seed) in [(RefreshMode::Fused, 2024), (RefreshMode::Split, 2025)] {
        let mut chain = Mclmc::new(cfg, &vec![1.0; d], &mut ws, seed, 0).unwrap();
        chain.set_refresh_mode(mode).unwrap();
        let s = second_moments(&mut chain, &mut StdGaussian, &vec![1.0; d], 1000, 20_000);
        check_unit_moments(&s, &format!("std gaussian f64, {mode:?} refresh"));
    }
}

#[test]
fn standard_gaussian_d100_second_moments_f32() {
    let d = 100;
    let cfg = MclmcConfig { step_size: 2.0f32, decoherence_length: 10.0, max_energy_change: f32::INFINITY, integrator: Integrator::McLachlan };
    let mut ws = vec![0.0f32; Mclmc::<f32>::workspace_len(d)];
    let mut chain = Mclmc::new(cfg, &vec![1.0f32; d], &mut ws, 7, 1).unwrap();
    let s = second_moments(&mut chain, &mut StdGaussian, &vec![1.0; d], 1000, 20_000);
    check_unit_moments(&s, "std gaussian f32");
}

#[test]
fn ill_conditioned_diagonal_gaussian_with_preconditioning() {
    // σ from 0.01 to 10 (variance condition number 1e6); the preconditioner
    // is σ off by up to ±30% per coordinate, as an estimated one would be.
    let d = 100;
    let sigma: Vec<f64> = (0..d).map(|i| 10f64.powf(-2.0 + 3.0 * i as f64 / (d - 1) as f64)).collect();
    let s: Vec<f64> = sigma.iter().enumerate().map(|(i, v)| v * (1.0 + 0.3 * ((i as f64 * 2.3).sin()))).collect();
    let var: Vec<f64> = sigma.iter().map(|v| v * v).collect();
    // ε for the narrowest preconditioned scale (σ/s ≥ 1/1.3).
    let cfg = MclmcConfig { step_size: 1.5, decoherence_length: 10.0, max_energy_change: f64::INFINITY, integrator: Integrator::McLachlan };
    let mut ws = vec![0.0; Mclmc::<f64>::workspace_len(d)];
    let mut chain = Mclmc::new(cfg, &sigma, &mut ws, 99, 3).unwrap();
    chain.set_preconditioner(Some(&s)).unwrap();
    let mut target = DiagGaussian { sigma: &sigma };
    let series = second_moments(&mut chain, &mut target, &var, 1000, 20_000);
    check_unit_moments(&series, "diag gaussian, preconditioned");
}

#[test]
fn refresh_leaves_uniform_direction_uniform() {
    // u uniform on S^{d-1}, any norm; one partial refresh must keep it
    // uniform. Moments of the first coordinate of a uniform unit vector:
    // E u₁ = 0, E u₁² = 1/d, E u₁⁴ = 3/(d(d+2)); E u₁u₂ = 0.
    let d = 5;
    let m = 100_000;
    let mut rng = Rng::new(31, 0);
    let mut u = vec![0.0f64; d];
    let (mut s1, mut s2, mut s4, mut s12) = (Vec::with_capacity(m), Vec::with_capacity(m), Vec::with_capacity(m), Vec::with_capacity(m));
    for k in 0..m {
        let uu = random_direction(&mut u, &mut rng);
        // Unnormalised input, as the sampler keeps it, with varying norms.
        let scale = 0.5 + (k % 7) as f64;
        u.iter_mut().for_each(|v| *v *= scale);
        let uu2 = partial_refresh(&mut u, uu * scale * scale, 0.4, &mut rng);
        let inv = 1.0 / uu2.sqrt();
        let (a, b) = (u[0] * inv, u[1] * inv);
        s1.push(a);
        s2.push(a * a);
        s4.push(a.powi(4));
        s12.push(a * b);
    }
    let dd = d as f64;
    let check = |name: &str, x: &[f64], want: f64| {
        let n = x.len() as f64;
        let mean = x.iter().sum::<f64>() / n;
        let sd = (x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
        let se = sd / n.sqrt(); // independent draws
        assert!((mean - want).abs() < 5.0 * se, "{name}: {mean} vs {want} (se {se})");
    };
    check("E u1", &s1, 0.0);
    check("E u1^2", &s2, 1.0 / dd);
    check("E u1^4", &s4, 3.0 / (dd * (dd + 2.0)));
    check("E u1 u2", &s12, 0.0);
}

#[test]
fn refresh_mixes_a_fixed_direction_to_uniform() {
    // From u = e₁, repeated refreshes forget the start: after k refreshes
    // with ν² d = 0.05, E[u₁] has decayed below 1e-3.
    let d = 8;
    let m = 40_000;
    let mut rng = Rng::new(32, 0);
    let nu = (0.05f64 / d as f64).sqrt();
    let mut s1 = Vec::with_capacity(m);
    let mut s2 = Vec::with_capacity(m);
    let mut u = vec![0.0f64; d];
    for _ in 0..m {
        u.fill(0.0);
        u[0] = 1.0;
        let mut uu = 1.0;
        for _ in 0..400 {
            uu = partial_refresh(&mut u, uu, nu, &mut rng);
        }
        let a = u[0] / uu.sqrt();
        s1.push(a);
        s2.push(a * a);
    }
    let n = m as f64;
    let m1 = s1.iter().sum::<f64>() / n;
    let m2 = s2.iter().sum::<f64>() / n;
    // sd(u₁) = 1/√d → se = 1/√(d m) ≈ 1.8e-3; sd(u₁²) ≈ 0.14 → se ≈ 7e-4.
    assert!(m1.abs() < 5.0 / (d as f64 * n).sqrt(), "E u1 = {m1}");
    assert!((m2 - 1.0 / d as f64).abs() < 3.6e-3, "E u1^2 = {m2}");
}

/// Deterministic trajectory (L = ∞) over physical time 20 from a fixed
/// state; returns (max |cumulative ΔE|, mean per-step |ΔE|).
fn energy_error<F: LogDensity<f64> + ?Sized>(integ: Integrator, eps: f64, f: &mut F, d: usize) -> (f64, f64) {
    let cfg = MclmcConfig { step_size: eps, decoherence_length: f64::INFINITY, max_energy_change: f64::INFINITY, integrator: integ };
    let mut ws = vec![0.0; Mclmc::<f64>::workspace_len(d)];
    let x0: Vec<f64> = (0..d).map(|i| 0.5 + 0.1 * i as f64).collect();
    let mut c = Mclmc::new(cfg, &x0, &mut ws, 1, 0).unwrap();
    let u0: Vec<f64> = (0..d).map(|i| ((i * 7) % 5) as f64 - 1.9).collect();
    c.set_momentum(&u0).unwrap();
    let n = (20.0 / eps).round() as usize;
    let (mut e, mut emax, mut per_step) = (0.0f64, 0.0f64, 0.0);
    for _ in 0..n {
        let i = c.step_with(f).unwrap();
        e += i.energy_change;
        emax = emax.max(e.abs());
        per_step += i.energy_change.abs();
    }
    (emax, per_step / n as f64)
}

#[test]
fn energy_error_scales_with_integrator_order() {
    // Halving ε must divide the energy error over a fixed time by 2^order and
    // the per-step error by 2^(order+1). Deterministic: no Monte Carlo error;
    // measured exponents are within 0.05 of the theory at these ε, the test
    // allows 0.25.
    let d = 10;
    let sigma: Vec<f64> = (0..d).map(|i| 0.5 + 1.5 * i as f64 / (d - 1) as f64).collect();
    for integ in Integrator::ALL {
        let p = integ.order() as f64;
        for (name, mut f) in
            [("diag gaussian", Box::new(DiagGaussian { sigma: &sigma }) as Box<dyn LogDensity<f64>>), ("banana", Box::new(Banana { b: 0.1, sigma1: 2.0 }))]
        {
            let (a, sa) = energy_error(integ, 0.2, &mut *f, d);
            let (b, sb) = energy_error(integ, 0.1, &mut *f, d);
            let (global, local) = ((a / b).log2(), (sa / sb).log2());
            println!("{integ:?} on {name}: global exponent {global:.3}, per-step {local:.3}");
            assert!((global - p).abs() < 0.25, "{integ:?} {name}: global order {global}, expected {p}");
            assert!((local - (p + 1.0)).abs() < 0.25, "{integ:?} {name}: per-step order {local}, expected {}", p + 1.0);
        }
    }
}

#[test]
fn sampler_refresh_matches_unit_vector_refreshes() {
    // On a flat density the momentum updates are the identity, so after each
    // step the chain's direction must equal the unit-vector refreshes of the
    // spec drawn from the same stream: one with ν = sqrt(expm1(2ε/L)/d)
    // (fused mode) or two with ν = sqrt(expm1(ε/L)/d) (split mode). This
    // pins the refresh strength inside the sampler (the stationary tests
    // above cannot: any strength leaves the distribution invariant).
    // d = 6 is one partial block of normals; d = 100 is six full blocks and
    // a partial one, which the position passes of McLachlan (2) and Omelyan
    // (5) write in interleaved shares in fused mode.
    let (eps, l, seed, stream) = (0.7f64, 1.3, 12, 4);
    let mut flat = |_: &[f64], g: &mut [f64]| -> f64 {
        g.fill(0.0);
        0.0
    };
    let cases = [(6, Integrator::McLachlan), (100, Integrator::McLachlan), (100, Integrator::Omelyan), (100, Integrator::VelocityVerlet)];
    for (mode, halves, (d, integrator)) in [RefreshMode::Fused, RefreshMode::Split].into_iter().zip([1, 2]).flat_map(|(m, h)| cases.map(|c| (m, h, c))) {
        let cfg = MclmcConfig { step_size: eps, decoherence_length: l, max_energy_change: f64::INFINITY, integrator };
        let mut ws = vec![0.0; Mclmc::<f64>::workspace_len(d)];
        let mut chain = Mclmc::new(cfg, &vec![0.0; d], &mut ws, seed, stream).unwrap();
        chain.set_refresh_mode(mode).unwrap();
        let mut rng = Rng::new(seed, stream);
        let mut u = vec![0.0f64; d];
        random_direction(&mut u, &mut rng);
        let h = eps / halves as f64;
        let nu = ((2.0 * h / l).exp_m1() / d as f64).sqrt();
        let normalise = |u: &mut [f64]| {
            let n = u.iter().map(|v| v * v).sum::<f64>().sqrt();
            u.iter_mut().for_each(|v| *v /= n);
        };
        normalise(&mut u);
        let mut got = vec![0.0; d];
        for step in 0..200 {
            for _ in 0..halves {
                partial_refresh(&mut u, 1.0, nu, &mut rng);
                normalise(&mut u);
            }
            chain.step_with(&mut flat).unwrap();
            chain.momentum(&mut got).unwrap();
            for i in 0..d {
                assert!((got[i] - u[i]).abs() < 1e-10, "{mode:?} {integrator:?} d={d} step {step}: component {i}: {} vs {}", got[i], u[i]);
            }
        }
    }
}
