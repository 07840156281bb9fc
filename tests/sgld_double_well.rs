//! fSGLD prefers flat minima: on a one-dimensional double well with a sharp
//! and a flat minimum of equal depth, it spends more time in the flat basin
//! than SGLD at the same step size and temperature.
//!
//! `U(x) = k_s/2 (x + a_s)²` for x < 0, `k_f/2 (x − a_f)²` for x ≥ 0, with
//! `k_s a_s² = k_f a_f² = 2H`: both minima at U = 0, a barrier of height H at
//! 0. SGLD samples `∝ e^{−U}`; fSGLD with scale σ follows the gradient of
//! the smoothed `U_σ(x) = E U(x + σζ) ≈ U + σ²U''/2`, so it samples
//! `∝ e^{−U_σ}`, which costs the sharp well `≈ e^{−σ²(k_s − k_f)/2}` of its
//! mass. Both predictions are computed here by quadrature.
//!
//! Monte Carlo error: the fraction of steps in the flat basin is averaged
//! over 50 consecutive batches of 2·10⁵ steps, each ~200 integrated
//! autocorrelation times of the basin indicator (≈ 1000 steps, as the
//! batch variance itself shows: τ ≈ batch · Var(batch mean) / (f(1 − f))),
//! so the batch means are nearly independent and the standard error is
//! their standard deviation / √50.

use smile::{Fsgld, FsgldConfig, LogDensity, Sgld, SgldConfig};

const KS: f64 = 40.0;
const KF: f64 = 1.0;
const H: f64 = 1.5;

fn a_s() -> f64 {
    (2.0 * H / KS).sqrt()
}
fn a_f() -> f64 {
    (2.0 * H / KF).sqrt()
}

fn u(x: f64) -> f64 {
    if x < 0.0 {
        0.5 * KS * (x + a_s()).powi(2)
    } else {
        0.5 * KF * (x - a_f()).powi(2)
    }
}

struct DoubleWell;

impl LogDensity<f64> for DoubleWell {
    fn logp(&mut self, x: &[f64], g: &mut [f64]) -> f64 {
        let x0 = x[0];
        g[0] = if x0 < 0.0 { -KS * (x0 + a_s()) } else { -KF * (x0 - a_f()) };
        -u(x0)
    }
}

/// Fraction of the mass of `e^{−U_σ}` on x ≥ 0, by the trapezoid rule on a
/// fine grid (the smoothing by a 401-point rule over ζ ∈ [−8, 8]).
fn flat_fraction(sigma: f64) -> f64 {
    let smooth = |x: f64| {
        if sigma == 0.0 {
            return u(x);
        }
        let (m, lim) = (400, 8.0);
        let (mut s, mut w) = (0.0, 0.0);
        for k in 0..=m {
            let z = -lim + 2.0 * lim * k as f64 / m as f64;
            let wk = (-0.5 * z * z).exp();
            s += wk * u(x + sigma * z);
            w += wk;
        }
        s / w
    };
    let (lo, hi, n) = (-4.0, 10.0, 14_000);
    let dx = (hi - lo) / n as f64;
    let (mut flat, mut all) = (0.0, 0.0);
    for i in 0..n {
        let x = lo + (i as f64 + 0.5) * dx;
        let p = (-smooth(x)).exp();
        all += p;
        if x >= 0.0 {
            flat += p;
        }
    }
    flat / all
}

/// Runs `batches × per_batch` steps; returns the fraction of steps in the
/// flat basin and its batch-means standard error.
fn occupancy(mut step: impl FnMut() -> f64, batches: usize, per_batch: usize) -> (f64, f64) {
    let mut means = Vec::with_capacity(batches);
    for _ in 0..batches {
        let mut k = 0usize;
        for _ in 0..per_batch {
            if step() >= 0.0 {
                k += 1;
            }
        }
        means.push(k as f64 / per_batch as f64);
    }
    let m = means.iter().sum::<f64>() / batches as f64;
    let v = means.iter().map(|b| (b - m).powi(2)).sum::<f64>() / (batches - 1) as f64;
    (m, (v / batches as f64).sqrt())
}

#[test]
fn fsgld_spends_more_time_in_the_flat_minimum_than_sgld() {
    let h = 1.25e-3; // h·k_s = 0.05
    let sigma = 0.2;
    let (batches, per_batch) = (50, 200_000);
    let burn = 20_000;

    let x0 = [a_f()];
    let mut ws = vec![0.0; Sgld::<f64>::workspace_len(1)];
    let mut sgld = Sgld::new(SgldConfig::constant(h), &x0, &mut ws, 11, 0).unwrap();
    let mut ws2 = vec![0.0; Fsgld::<f64>::workspace_len(1)];
    let mut fsgld = Fsgld::new(FsgldConfig::constant(h, sigma), &x0, &mut ws2, 12, 0).unwrap();
    for _ in 0..burn {
        sgld.step_with(&mut DoubleWell).unwrap();
        fsgld.step_with(&mut DoubleWell).unwrap();
    }
    let (fs, se_s) = occupancy(
        || {
            sgld.step_with(&mut DoubleWell).unwrap();
            sgld.position()[0]
        },
        batches,
        per_batch,
    );
    let (ff, se_f) = occupancy(
        || {
            fsgld.step_with(&mut DoubleWell).unwrap();
            fsgld.position()[0]
        },
        batches,
        per_batch,
    );
    assert_eq!(sgld.state().divergences() + fsgld.state().divergences(), 0);
    let (ps, pf) = (flat_fraction(0.0), flat_fraction(sigma));
    println!("flat-basin fraction: SGLD {fs:.4} ± {se_s:.4} (e^-U: {ps:.4}); fSGLD σ = {sigma}: {ff:.4} ± {se_f:.4} (e^-U_σ: {pf:.4})");

    // The claim, at 5 standard errors of the difference.
    let se_diff = (se_s * se_s + se_f * se_f).sqrt();
    assert!(ff - fs > 5.0 * se_diff, "fSGLD {ff} vs SGLD {fs} (se of the difference {se_diff})");
    // Each chain samples its own target. Allowance for the O(h) error: the
    // discrete chain's variance in a well of curvature k is (1/k)(1 − hk/2)⁻¹,
    // so the sharp well's mass (∝ its standard deviation) grows by ≈ h·k_s/4,
    // moving the flat fraction by f(1 − f)·h·k_s/4; fSGLD's perturbation
    // noise heats that well by as much again (variance h·(k_sσ)²/2 relative).
    let disc = |f: f64, extra: f64| f * (1.0 - f) * (h * KS / 4.0 + extra);
    assert!((fs - ps).abs() <= 5.0 * se_s + disc(ps, 0.0), "SGLD {fs} vs e^-U {ps}");
    assert!((ff - pf).abs() <= 5.0 * se_f + disc(pf, h * (KS * sigma).powi(2) / 4.0), "fSGLD {ff} vs e^-U_σ {pf}");
}

#[test]
fn fsgld_requests_gradients_at_gaussian_perturbations_and_leaves_the_position() {
    // σ = 0.3 around a fixed start: with T = 0 and a zero gradient the
    // position never moves, so every request is x0 + σζ with fresh ζ.
    let (sigma, n) = (0.3, 200_000);
    let x0 = [1.0, -2.0, 0.5];
    let cfg = FsgldConfig { temperature: 0.0, n_perturbations: 3, ..FsgldConfig::constant(0.1, sigma) };
    let mut ws = vec![0.0; Fsgld::<f64>::workspace_len(3)];
    let mut c = Fsgld::new(cfg, &x0, &mut ws, 7, 0).unwrap();
    let (mut s1, mut s2) = ([0.0; 3], [0.0; 3]);
    for _ in 0..n / 3 {
        loop {
            let r = c.ask();
            for j in 0..3 {
                let z = r.x[j] - x0[j];
                s1[j] += z;
                s2[j] += z * z;
            }
            r.grad.fill(0.0);
            if let smile::Progress::Step(_) = c.tell(0.0).unwrap() {
                break;
            }
        }
        assert_eq!(c.position(), &x0);
    }
    let m = (n / 3 * 3) as f64;
    for j in 0..3 {
        // Independent draws: se of the mean σ/√m, of the mean square σ²√(2/m).
        let (mean, var) = (s1[j] / m, s2[j] / m);
        assert!(mean.abs() < 5.0 * sigma / m.sqrt(), "perturbation mean {mean}");
        assert!((var - sigma * sigma).abs() < 5.0 * sigma * sigma * (2.0 / m).sqrt(), "perturbation variance {var}");
    }
}
