//! MCLMC auto-tuning (phases 1–2 of ALGORITHMS.md §1.8).

use smile::targets::DiagGaussian;
use smile::tune::{AdaptPhase, MclmcAdaptConfig, MclmcAdapter};
use smile::{Error, LogDensity, Mclmc, MclmcConfig};

fn tune(sigma: &[f64], n: u64, precond: bool, seed: u64) -> (f64, f64, Vec<f64>, f64) {
    let d = sigma.len();
    let mut target = DiagGaussian { sigma };
    let mut ws = vec![0.0; Mclmc::<f64>::workspace_len(d)];
    let mut chain = Mclmc::new(MclmcConfig::for_dim(d), &vec![0.1; d], &mut ws, seed, 0).unwrap();
    let mut aws = vec![0.0; MclmcAdapter::<f64>::workspace_len(d)];
    let cfg = MclmcAdaptConfig { diagonal_preconditioning: precond, ..MclmcAdaptConfig::new(n) };
    let mut ad = MclmcAdapter::new(cfg, d, &mut aws).unwrap();
    let mut steps = 0;
    while ad.phase() != AdaptPhase::Done {
        let info = chain.step_with(&mut target).unwrap();
        ad.observe(&mut chain, &info).unwrap();
        steps += 1;
    }
    assert_eq!(steps, ad.planned_steps());
    // Energy error actually achieved with the tuned settings.
    let m = 4000;
    let mut de2 = 0.0;
    let (mut wx, mut ws_) = (0.0, 0.0);
    for _ in 0..m {
        let e = chain.step_with(&mut target).unwrap().energy_change;
        de2 += e * e;
        // The tuner's own weighted statistic (§1.8.1) at the final ε.
        let xi = e * e / (d as f64 * 5e-4) + 1e-8;
        let w = (-0.5 * (xi.ln() / 9.0).powi(2)).exp();
        wx += w * xi;
        ws_ += w;
    }
    let c = chain.config();
    println!("weighted mean xi at the tuned step size: {:.3}", wx / ws_);
    (c.step_size, c.decoherence_length, chain.preconditioner().to_vec(), de2 / m as f64 / d as f64)
}

#[test]
fn tuning_reaches_the_energy_target_and_learns_the_scales() {
    let d = 50;
    let sigma: Vec<f64> = (0..d).map(|i| 10f64.powf(-1.0 + 2.0 * i as f64 / (d - 1) as f64)).collect();
    let (eps, l, s, evar) = tune(&sigma, 20_000, true, 7);
    println!("eps {eps} L {l} Var[dE]/d {evar:.2e}");
    // The step-size rule targets Var[ΔE]/d = 5e-4 through a noisy weighted
    // average; a factor of 3 either way is what the estimate's spread allows
    // with 150 effective samples; a wrong exponent or sign misses by orders of magnitude.
    assert!(evar > 5e-4 / 3.0 && evar < 5e-4 * 3.0, "Var[dE]/d = {evar}");
    assert_eq!(l, (d as f64).sqrt());
    // s estimates the posterior sd from the 2000 phase-2 draws of a chain
    // that is not yet preconditioned: it moves slowly along the widest
    // coordinates (σ/σ_min = 100), so their estimates are noisy (measured:
    // within a factor 2, mean |ln(s/σ)| ≈ 0.2). A wrong moment formula
    // (e.g. E[x²] instead of the variance from 0.1 starts, or unweighted
    // phase-1 draws) is off by far more on the narrow coordinates.
    let logs: Vec<f64> = (0..d).map(|i| (s[i] / sigma[i]).ln()).collect();
    println!("ln(s/sigma): {:?}", logs.iter().map(|v| (v * 100.0).round() / 100.0).collect::<Vec<_>>());
    assert!(logs.iter().all(|v| v.abs() < 2f64.ln()), "every s_i within a factor 2 of sigma_i");
    let mean_abs = logs.iter().map(|v| v.abs()).sum::<f64>() / d as f64;
    assert!(mean_abs < 0.35, "mean |ln(s/sigma)| = {mean_abs}");
    let (_, l2, s2, _) = tune(&sigma, 20_000, false, 5);
    assert!(s2.iter().all(|&v| v == 1.0));
    // Without preconditioning L = sqrt(sum var) ≈ sqrt(sum sigma²).
    let want = sigma.iter().map(|v| v * v).sum::<f64>().sqrt();
    assert!((l2 / want - 1.0).abs() < 0.3, "L = {l2} vs {want}");
}

#[test]
fn bad_adapter_input_is_refused() {
    let mut aws = vec![0.0; 4];
    assert_eq!(MclmcAdapter::<f64>::new(MclmcAdaptConfig::new(100), 1, &mut aws[..2]).err(), Some(Error::DimensionTooSmall));
    assert_eq!(MclmcAdapter::<f64>::new(MclmcAdaptConfig::new(100), 2, &mut aws[..3]).err(), Some(Error::BufferLength));
    let bad = MclmcAdaptConfig { desired_energy_var: f64::NAN, ..MclmcAdaptConfig::new(100) };
    assert_eq!(MclmcAdapter::<f64>::new(bad, 2, &mut aws).err(), Some(Error::InvalidSetting));
    let bad = MclmcAdaptConfig { frac_tune1: 1.5, ..MclmcAdaptConfig::new(100) };
    assert_eq!(MclmcAdapter::<f64>::new(bad, 2, &mut aws).err(), Some(Error::InvalidSetting));
    // A chain of another dimension.
    let mut ad = MclmcAdapter::<f64>::new(MclmcAdaptConfig::new(100), 2, &mut aws).unwrap();
    let mut ws = vec![0.0; 18];
    let mut chain = Mclmc::new(MclmcConfig::for_dim(3), &[0.0; 3], &mut ws, 0, 0).unwrap();
    let mut f = |x: &[f64], g: &mut [f64]| -> f64 { smile::targets::StdGaussian.logp(x, g) };
    let info = chain.step_with(&mut f).unwrap();
    assert_eq!(ad.observe(&mut chain, &info), Err(Error::BufferLength));
}

#[test]
fn nan_steps_cap_the_step_size() {
    // A density that is NaN outside |x_0| < 3: big steps leave it and must
    // shrink ε (ε_max = 0.8 ε after each non-finite step).
    let d = 4;
    let mut f = |x: &[f64], g: &mut [f64]| -> f64 {
        let lp = smile::targets::StdGaussian.logp(x, g);
        if x[0].abs() > 3.0 {
            f64::NAN
        } else {
            lp
        }
    };
    let mut ws = vec![0.0; 24];
    let c = MclmcConfig { step_size: 50.0, ..MclmcConfig::for_dim(d) };
    let mut chain = Mclmc::new(c, &[2.9, 0.0, 0.0, 0.0], &mut ws, 3, 0).unwrap();
    let mut aws = vec![0.0; 8];
    let mut ad = MclmcAdapter::new(MclmcAdaptConfig::new(1000), d, &mut aws).unwrap();
    // Moving along +x₀ from x₀ = 2.9 with ε = 50 leaves |x₀| < 3 at the
    // first stage: a non-finite step, after which ε is at most 0.8 of 50.
    chain.set_momentum(&[1.0, 0.0, 0.0, 0.0]).unwrap();
    let info = chain.step_with(&mut f).unwrap();
    assert!(info.diverged());
    ad.observe(&mut chain, &info).unwrap();
    assert!(chain.config().step_size <= 40.0);
    while ad.phase() != AdaptPhase::Done {
        let info = chain.step_with(&mut f).unwrap();
        ad.observe(&mut chain, &info).unwrap();
    }
    assert!(chain.config().step_size.is_finite() && chain.config().step_size < 5.0);
}

#[test]
fn observe_mid_step_is_refused_and_changes_nothing() {
    let d = 3;
    let mut ws = vec![0.0; Mclmc::<f64>::workspace_len(d)];
    let mut chain = Mclmc::new(MclmcConfig::for_dim(d), &[0.1; 3], &mut ws, 1, 0).unwrap();
    let mut aws = vec![0.0; MclmcAdapter::<f64>::workspace_len(d)];
    let mut ad = MclmcAdapter::new(MclmcAdaptConfig::new(100), d, &mut aws).unwrap();
    let mut f = |x: &[f64], g: &mut [f64]| -> f64 { smile::targets::StdGaussian.logp(x, g) };
    let info = chain.step_with(&mut f).unwrap();
    let before = ad.state();
    let _ = chain.ask(); // a step is now in progress
    assert_eq!(ad.observe(&mut chain, &info), Err(Error::OutOfOrder));
    assert_eq!(ad.state(), before);
    // An absurd planned length saturates instead of overflowing.
    let mut aws2 = vec![0.0; MclmcAdapter::<f64>::workspace_len(d)];
    let big = MclmcAdaptConfig { frac_tune1: 1.0, frac_tune2: 1.0, ..MclmcAdaptConfig::new(u64::MAX) };
    if let Ok(a) = MclmcAdapter::<f64>::new(big, d, &mut aws2) {
        assert_eq!(a.planned_steps(), u64::MAX);
    }
}
