//! Bias-benchmark runner for the SGLD family (SGLD, pSGLD, SGHMC, fSGLD),
//! to be included by `examples/bias_table.rs`:
//!
//! ```ignore
//! #[path = "common/sgld_bias.rs"]
//! mod sgld_bias;
//! ```
//!
//! [`run_second_moments`] runs one chain against a gradient oracle
//! `FnMut(x, grad, step) -> log p` (write the mini-batch estimate of
//! `∇log p(x)` into `grad`; `step` is the 1-based step index, the same for
//! all evaluations of one step, so use one mini-batch per distinct `step`)
//! until a budget of gradient evaluations is spent, and returns `Ê[x_i²]`
//! over the chain after its burn-in, with the counts the CSV needs.
//!
//! Conventions are smile's (see `smile::samplers::sgld`): the oracle's
//! gradient estimates the full-data log posterior (whatever N/n scaling
//! that needs is the oracle's business), `h` multiplies the gradient in
//! `x ← x + h ĝ + sqrt(2Th) ξ`, temperature T = 1 unless set.

#![allow(dead_code)]

use smile::{Error, Fsgld, FsgldConfig, Progress, Psgld, PsgldConfig, Request, Sghmc, SghmcConfig, Sgld, SgldConfig};

/// A member of the family; `name()` is the CSV's `sampler` column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    Sgld,
    Psgld,
    Sghmc,
    Fsgld,
}

impl Family {
    pub const ALL: [Family; 4] = [Family::Sgld, Family::Psgld, Family::Sghmc, Family::Fsgld];

    pub fn name(self) -> &'static str {
        match self {
            Family::Sgld => "sgld",
            Family::Psgld => "psgld",
            Family::Sghmc => "sghmc",
            Family::Fsgld => "fsgld",
        }
    }

    /// A log-spaced grid of `n` step sizes suited to the member on targets
    /// whose largest precision eigenvalue is about `lambda_max` (100 for the
    /// ICG of the bias table). The step sizes of this family are not
    /// interchangeable with SMILE's ε (h multiplies a gradient, ε is a
    /// distance), so each member gets its own grid, up to its stability
    /// limit: SGLD and fSGLD `h < 2/λ_max`; pSGLD's `hG` with `G ≈ 1/|ĝ|`
    /// allows larger h; SGHMC's h is a time step, `h·sqrt(λ_max) < 2`. The
    /// lower ends are where a budget of ~10⁴ evaluations still moves the
    /// chain across the target (below them the bias is that of the start).
    pub fn step_grid(self, lambda_max: f64, n: usize) -> Vec<f64> {
        let (lo, hi) = match self {
            Family::Sgld | Family::Fsgld => (0.05 / lambda_max, 1.5 / lambda_max),
            Family::Psgld => (1e-2, 1.0),
            Family::Sghmc => (1e-2 / lambda_max.sqrt(), 1.0 / lambda_max.sqrt()),
        };
        (0..n).map(|k| lo * (hi / lo).powf(if n > 1 { k as f64 / (n - 1) as f64 } else { 1.0 })).collect()
    }
}

/// Settings of the runs; `Default` gives the values used for the table.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Settings {
    /// Temperature T.
    pub temperature: f64,
    /// pSGLD decay α and regulariser λ (Li et al.'s defaults 0.99, 1e-5).
    pub psgld_alpha: f64,
    pub psgld_lambda: f64,
    /// SGHMC friction α (1/time) and gradient-noise estimate β. α = 1 mixes
    /// the widest direction of a unit-to-ten-scale target in a few time
    /// units; β = 0 leaves the mini-batch noise uncorrected, as a user who
    /// does not know it would. Runs with `α h ≥ 1` are refused.
    pub sghmc_friction: f64,
    pub sghmc_noise_estimate: f64,
    /// fSGLD perturbation scale σ and perturbations per step M. σ = 0.01 is a
    /// tenth of the smallest posterior scale of the bias table's ICG: on a
    /// Gaussian, smoothing leaves the target unchanged, so the row measures
    /// what the perturbation's extra gradient noise costs.
    pub fsgld_sigma: f64,
    pub fsgld_perturbations: u32,
    /// Fraction of the steps discarded as burn-in (bias_table: 10%).
    pub burn_in_fraction: f64,
    /// Seed and stream of the sampler's random numbers.
    pub seed: u64,
    pub stream: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            temperature: 1.0,
            psgld_alpha: 0.99,
            psgld_lambda: 1e-5,
            sghmc_friction: 1.0,
            sghmc_noise_estimate: 0.0,
            fsgld_sigma: 0.01,
            fsgld_perturbations: 1,
            burn_in_fraction: 0.1,
            seed: 0,
            stream: 0,
        }
    }
}

/// What one run measured.
#[derive(Clone, Debug, PartialEq)]
pub struct Run {
    /// `Ê[x_i²]` over the steps after burn-in.
    pub second_moments: Vec<f64>,
    /// Gradient evaluations spent (≤ the budget).
    pub grad_evals: u64,
    pub steps: u64,
    /// Steps rejected because the oracle returned a non-finite value or the
    /// update overflowed (an unstable step size shows up here).
    pub divergences: u64,
}

/// `mean_i (Ê[x_i²] − v_i)² / (2 v_i²)`: the bias metric of ALGORITHMS.md
/// §2.7 and of `bias_table`, for true variances `v` (zero-mean target).
pub fn bias_metric(second_moments: &[f64], var: &[f64]) -> f64 {
    second_moments.iter().zip(var).map(|(s, v)| (s - v).powi(2) / (2.0 * v * v)).sum::<f64>() / var.len() as f64
}

/// The ask/tell surface the driver needs.
trait Chain {
    fn ask(&mut self) -> Request<'_, f64>;
    fn tell(&mut self, lp: f64) -> Result<Progress<f64>, Error>;
    fn position(&self) -> &[f64];
}

macro_rules! chain {
    ($t:ident) => {
        impl Chain for $t<'_, f64> {
            fn ask(&mut self) -> Request<'_, f64> {
                $t::ask(self)
            }
            fn tell(&mut self, lp: f64) -> Result<Progress<f64>, Error> {
                $t::tell(self, lp)
            }
            fn position(&self) -> &[f64] {
                $t::position(self)
            }
        }
    };
}
chain!(Sgld);
chain!(Psgld);
chain!(Sghmc);
chain!(Fsgld);

fn drive<C: Chain, F: FnMut(&[f64], &mut [f64], u64) -> f64>(c: &mut C, oracle: &mut F, steps: u64, burn: u64) -> Result<(Vec<f64>, u64, u64), Error> {
    let d = c.position().len();
    let mut m2 = vec![0.0; d];
    let (mut evals, mut div) = (0u64, 0u64);
    for k in 0..steps {
        loop {
            let r = c.ask();
            let lp = oracle(r.x, r.grad, r.step);
            evals += 1;
            if let Progress::Step(info) = c.tell(lp)? {
                div += info.diverged() as u64;
                break;
            }
        }
        if k >= burn {
            m2.iter_mut().zip(c.position()).for_each(|(a, x)| *a += x * x);
        }
    }
    let n = (steps - burn).max(1) as f64;
    m2.iter_mut().for_each(|a| *a /= n);
    Ok((m2, evals, div))
}

/// Runs `family` from `x0` with constant step size `h` for as many steps as
/// `grad_budget` gradient evaluations allow (fSGLD spends M per step) and
/// returns `Ê[x_i²]` after the burn-in. Errors: the samplers' (e.g.
/// `InvalidSetting` for SGHMC with `α h ≥ 1`, `InvalidStepSize`).
pub fn run_second_moments<F: FnMut(&[f64], &mut [f64], u64) -> f64>(
    family: Family,
    mut oracle: F,
    x0: &[f64],
    h: f64,
    grad_budget: u64,
    s: &Settings,
) -> Result<Run, Error> {
    let d = x0.len();
    let per_step = if family == Family::Fsgld { s.fsgld_perturbations.max(1) as u64 } else { 1 };
    let steps = grad_budget / per_step;
    let burn = (steps as f64 * s.burn_in_fraction) as u64;
    let (m2, evals, div) = match family {
        Family::Sgld => {
            let mut ws = vec![0.0; Sgld::<f64>::workspace_len(d)];
            let cfg = SgldConfig { temperature: s.temperature, ..SgldConfig::constant(h) };
            drive(&mut Sgld::new(cfg, x0, &mut ws, s.seed, s.stream)?, &mut oracle, steps, burn)?
        }
        Family::Psgld => {
            let mut ws = vec![0.0; Psgld::<f64>::workspace_len(d)];
            let cfg = PsgldConfig { temperature: s.temperature, alpha: s.psgld_alpha, lambda: s.psgld_lambda, ..PsgldConfig::constant(h) };
            drive(&mut Psgld::new(cfg, x0, &mut ws, s.seed, s.stream)?, &mut oracle, steps, burn)?
        }
        Family::Sghmc => {
            let mut ws = vec![0.0; Sghmc::<f64>::workspace_len(d)];
            let cfg = SghmcConfig { temperature: s.temperature, noise_estimate: s.sghmc_noise_estimate, ..SghmcConfig::constant(h, s.sghmc_friction) };
            drive(&mut Sghmc::new(cfg, x0, &mut ws, s.seed, s.stream)?, &mut oracle, steps, burn)?
        }
        Family::Fsgld => {
            let mut ws = vec![0.0; Fsgld::<f64>::workspace_len(d)];
            let cfg = FsgldConfig { temperature: s.temperature, n_perturbations: s.fsgld_perturbations, ..FsgldConfig::constant(h, s.fsgld_sigma) };
            drive(&mut Fsgld::new(cfg, x0, &mut ws, s.seed, s.stream)?, &mut oracle, steps, burn)?
        }
    };
    Ok(Run { second_moments: m2, grad_evals: evals, steps, divergences: div })
}
