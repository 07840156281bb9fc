//! Bias benchmark of ALGORITHMS.md §2.7 (the SMILE paper's analytical
//! setting): does gradient-noise preconditioning lower the bias of
//! stochastic-gradient MCLMC under anisotropic gradient noise?
//!
//! Target: an ill-conditioned Gaussian `N(0, Σ)`, `Σ = Q diag(c²) Qᵀ`,
//! `c` log-spaced over [0.1, 10] (condition number 100 in standard
//! deviations), `Q` a random rotation, d = 10 and d = 100. It is observed
//! through N = 4096 centred data rows `y_i`; the mini-batch log density is
//! `−½ xᵀΣ⁻¹x + Σ_{i∈B} y_i·x` (the golden files' `icg_data`), so the exact
//! posterior is `N(0, Σ)` and the gradient noise of a batch of 64 rows has
//! the covariance of 64 rows: isotropic (`y ~ N(0, I)`), anisotropic
//! (`y ~ N(0, diag(c²))`, in the unrotated axes) or correlated
//! (`y ~ N(0, Σ)`), as in the reference's `Ill_condition_Gaussian_log_density`.
//!
//! For each noise type, dimension, sampler and step size of a log-spaced
//! grid, at an equal budget of gradient evaluations (2 per McLachlan step)
//! and over 7 repetitions (independent starts drawn from the posterior and
//! batch orders; without replacement, reshuffled every epoch):
//! `bias = mean_i (Ê[x_i²] − Σ_ii)² / (2 Σ_ii²)` over the last 90% of the
//! chain. Samplers: SMILE-naive, SMILE and pSMILE in both modes (SG-MCLMC
//! without refresh, as in the reference BNN code; for the tuned ones the grid
//! value is the initial step size), full-batch MCLMC (L = √tr Σ), and the
//! SGLD family (SGLD, pSGLD, SGHMC, fSGLD; `examples/common/sgld_bias.rs`)
//! on the same mini-batch oracle and budget, each on its own step-size grid
//! (their h multiplies a gradient, SMILE's ε is a distance). Samplers without
//! modes are written with `mode = reference` in the CSV.
//!
//! `cargo run --release --example bias_table -- --csv FILE [--quick] [--threads N]`

use smile::rng::fill_normals;
use smile::targets::{DenseGaussian, IcgData};
use smile::tune::GammaTunerConfig;
use smile::{Integrator, Mclmc, MclmcConfig, Rng, Smile, SmileConfig, SmileMode};
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

#[path = "common/sgld_bias.rs"]
mod sgld_bias;
use smile::LogDensity;

const N_ROWS: usize = 4096;
const BATCH: usize = 64;
const COND: f64 = 100.0;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Noise {
    Isotropic,
    Anisotropic,
    Correlated,
}

impl Noise {
    fn name(self) -> &'static str {
        match self {
            Noise::Isotropic => "isotropic",
            Noise::Anisotropic => "anisotropic",
            Noise::Correlated => "correlated",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Sampler {
    SmileNaive,
    Smile,
    Psmile,
    Mclmc,
    Sg(sgld_bias::Family),
}

impl Sampler {
    fn name(self) -> &'static str {
        match self {
            Sampler::SmileNaive => "smile_naive",
            Sampler::Smile => "smile",
            Sampler::Psmile => "psmile",
            Sampler::Mclmc => "mclmc",
            Sampler::Sg(f) => f.name(),
        }
    }
}

/// A problem instance: precision, covariance diagonal, data rows.
struct Problem {
    d: usize,
    noise: Noise,
    precision: Vec<f64>,
    /// A square root of Σ (Q diag(c)), to draw exact posterior samples.
    root: Vec<f64>,
    var: Vec<f64>,
    y: Vec<f64>,
}

fn normals(rng: &mut Rng, n: usize) -> Vec<f64> {
    let mut v = vec![0.0; n];
    fill_normals(rng, &mut v);
    v
}

/// A random rotation: modified Gram–Schmidt on a Gaussian matrix (columns of `q`, row-major).
fn rotation(d: usize, rng: &mut Rng) -> Vec<f64> {
    let a = normals(rng, d * d);
    let mut q = vec![0.0; d * d];
    for j in 0..d {
        let mut v: Vec<f64> = (0..d).map(|i| a[i * d + j]).collect();
        for k in 0..j {
            let dot: f64 = (0..d).map(|i| q[i * d + k] * v[i]).sum();
            for i in 0..d {
                v[i] -= dot * q[i * d + k];
            }
        }
        let n = v.iter().map(|x| x * x).sum::<f64>().sqrt();
        for i in 0..d {
            q[i * d + j] = v[i] / n;
        }
    }
    q
}

impl Problem {
    fn new(d: usize, noise: Noise) -> Problem {
        let mut rng = Rng::new(2602_06500, d as u64);
        let c: Vec<f64> = (0..d).map(|i| 10f64.powf(-0.5 * COND.log10() + COND.log10() * i as f64 / (d - 1) as f64)).collect();
        let q = rotation(d, &mut rng);
        let mut precision = vec![0.0; d * d];
        let mut var = vec![0.0; d];
        let mut root = vec![0.0; d * d];
        for i in 0..d {
            for j in 0..d {
                precision[i * d + j] = (0..d).map(|k| q[i * d + k] * q[j * d + k] / (c[k] * c[k])).sum();
                root[i * d + j] = q[i * d + j] * c[j];
            }
            var[i] = (0..d).map(|k| (q[i * d + k] * c[k]).powi(2)).sum();
        }
        // Symmetrise exactly (the sums above are symmetric up to rounding).
        for i in 0..d {
            for j in 0..i {
                let m = 0.5 * (precision[i * d + j] + precision[j * d + i]);
                precision[i * d + j] = m;
                precision[j * d + i] = m;
            }
        }
        let mut y = vec![0.0; N_ROWS * d];
        for r in 0..N_ROWS {
            let z = normals(&mut rng, d);
            let row = &mut y[r * d..(r + 1) * d];
            match noise {
                Noise::Isotropic => row.copy_from_slice(&z),
                Noise::Anisotropic => row.iter_mut().zip(&z).zip(&c).for_each(|((o, z), c)| *o = z * c),
                Noise::Correlated => {
                    for i in 0..d {
                        row[i] = (0..d).map(|k| root[i * d + k] * z[k]).sum();
                    }
                }
            }
        }
        for i in 0..d {
            let m = (0..N_ROWS).map(|r| y[r * d + i]).sum::<f64>() / N_ROWS as f64;
            (0..N_ROWS).for_each(|r| y[r * d + i] -= m);
        }
        Problem { d, noise, precision, root, var, y }
    }

    fn draw(&self, rng: &mut Rng) -> Vec<f64> {
        let z = normals(rng, self.d);
        (0..self.d).map(|i| (0..self.d).map(|k| self.root[i * self.d + k] * z[k]).sum()).collect()
    }
}

/// Mini-batches without replacement, reshuffled every epoch.
struct Batches {
    perm: Vec<usize>,
    pos: usize,
    rng: Rng,
}

impl Batches {
    fn new(rng: Rng) -> Self {
        Batches { perm: (0..N_ROWS).collect(), pos: N_ROWS, rng }
    }
    fn next(&mut self) -> &[usize] {
        if self.pos + BATCH > N_ROWS {
            for i in (1..N_ROWS).rev() {
                let j = (self.rng.next_u64() % (i as u64 + 1)) as usize;
                self.perm.swap(i, j);
            }
            self.pos = 0;
        }
        self.pos += BATCH;
        &self.perm[self.pos - BATCH..self.pos]
    }
}

#[derive(Clone, Copy)]
struct Job {
    dim_idx: usize,
    noise_idx: usize,
    sampler: Sampler,
    mode: SmileMode,
    eps: f64,
    rep: usize,
}

struct Row {
    job: Job,
    grad_evals: u64,
    bias: f64,
    /// Step size at the end of the run (moved by the tuner for SMILE/pSMILE).
    final_eps: f64,
    /// Rejected steps (resets + non-finite) per step.
    reject_rate: f64,
}

fn run(p: &Problem, job: Job, steps: usize) -> Row {
    let d = p.d;
    let seed = 1000 * job.rep as u64 + 17;
    let mut rng = Rng::new(seed, 3 + job.dim_idx as u64 * 10 + job.noise_idx as u64);
    let x0 = p.draw(&mut rng);
    let burn = steps / 10;
    let mut m2 = vec![0.0; d];
    let mut acc = |x: &[f64], k: usize| {
        if k >= burn {
            m2.iter_mut().zip(x).for_each(|(a, v)| *a += v * v);
        }
    };
    let (grad_evals, final_eps, rejects);
    if let Sampler::Sg(fam) = job.sampler {
        let data = IcgData { precision: &p.precision, y: &p.y };
        let mut batches = Batches::new(Rng::new(seed ^ 0x5eed_ba7c, 2));
        let (mut rows, mut last) = (Vec::new(), 0u64);
        let oracle = |x: &[f64], g: &mut [f64], step: u64| {
            if step != last {
                rows.clear();
                rows.extend_from_slice(batches.next());
                last = step;
            }
            data.batch(&rows).logp(x, g)
        };
        let s = sgld_bias::Settings { seed, stream: 1, burn_in_fraction: 0.1, ..Default::default() };
        return match sgld_bias::run_second_moments(fam, oracle, &x0, job.eps, 2 * steps as u64, &s) {
            Ok(r) => Row {
                job,
                grad_evals: r.grad_evals,
                bias: sgld_bias::bias_metric(&r.second_moments, &p.var),
                final_eps: job.eps,
                reject_rate: r.divergences as f64 / r.steps.max(1) as f64,
            },
            // Settings the sampler refuses (SGHMC with αh ≥ 1) are reported as NaN.
            Err(_) => Row { job, grad_evals: 0, bias: f64::NAN, final_eps: job.eps, reject_rate: 0.0 },
        };
    }
    if job.sampler == Sampler::Mclmc {
        let l = p.var.iter().sum::<f64>().sqrt();
        let cfg = MclmcConfig { step_size: job.eps, decoherence_length: l, max_energy_change: f64::INFINITY, integrator: Integrator::McLachlan };
        let mut ws = vec![0.0; Mclmc::<f64>::workspace_len(d)];
        let mut c = Mclmc::new(cfg, &x0, &mut ws, seed, 1).unwrap();
        let mut target = DenseGaussian { precision: &p.precision };
        for k in 0..steps {
            c.step_with(&mut target).unwrap();
            acc(c.position(), k);
        }
        grad_evals = c.state().grad_evals();
        final_eps = job.eps;
        rejects = c.state().divergences();
    } else {
        let base = match job.sampler {
            Sampler::SmileNaive => SmileConfig::naive(job.eps),
            Sampler::Smile => SmileConfig::smile(job.eps),
            _ => SmileConfig::psmile(job.eps),
        };
        let cfg = if job.mode == SmileMode::Reference { base.reference() } else { base };
        debug_assert!(cfg.tuner != GammaTunerConfig::off() || job.sampler == Sampler::SmileNaive);
        let mut ws = vec![0.0; Smile::<f64>::workspace_len(d)];
        let mut c = Smile::new(cfg, &x0, &mut ws, seed, 1).unwrap();
        let data = IcgData { precision: &p.precision, y: &p.y };
        let mut batches = Batches::new(Rng::new(seed, 2));
        for k in 0..steps {
            let rows = batches.next();
            c.step_with(&mut data.batch(rows)).unwrap();
            acc(c.position(), k);
        }
        grad_evals = c.state().grad_evals();
        final_eps = c.step_size();
        rejects = c.state().divergences();
    }
    let n = (steps - burn) as f64;
    let bias = m2.iter().zip(&p.var).map(|(s, v)| (s / n - v).powi(2) / (2.0 * v * v)).sum::<f64>() / d as f64;
    Row { job, grad_evals, bias, final_eps, reject_rate: rejects as f64 / steps as f64 }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick");
    let csv = args.iter().position(|a| a == "--csv").and_then(|i| args.get(i + 1)).cloned();
    let threads: usize = args.iter().position(|a| a == "--threads").and_then(|i| args.get(i + 1)).and_then(|s| s.parse().ok()).unwrap_or(2).max(1);
    let dims = [10usize, 100];
    let noises = [Noise::Isotropic, Noise::Anisotropic, Noise::Correlated];
    // Budget: 2 gradient evaluations per step for every sampler (McLachlan).
    let (n_eps, reps, steps) = if quick { (4, 3, 4_000) } else { (7, 7, 50_000) };
    let grid: Vec<f64> = (0..n_eps).map(|k| 10f64.powf(-3.0 + 3.0 * k as f64 / (n_eps - 1) as f64)).collect();
    let problems: Vec<Vec<Problem>> = dims.iter().map(|&d| noises.iter().map(|&n| Problem::new(d, n)).collect()).collect();
    let mut jobs = Vec::new();
    for di in 0..dims.len() {
        for ni in 0..noises.len() {
            for (sampler, modes) in [
                (Sampler::SmileNaive, &[SmileMode::Reference, SmileMode::Corrected][..]),
                (Sampler::Smile, &[SmileMode::Reference, SmileMode::Corrected][..]),
                (Sampler::Psmile, &[SmileMode::Reference, SmileMode::Corrected][..]),
                (Sampler::Mclmc, &[SmileMode::Reference][..]),
            ] {
                for &mode in modes {
                    for &eps in &grid {
                        for rep in 0..reps {
                            jobs.push(Job { dim_idx: di, noise_idx: ni, sampler, mode, eps, rep });
                        }
                    }
                }
            }
            // The SGLD family on its own grids (largest precision eigenvalue 1/0.1² = 100).
            for fam in sgld_bias::Family::ALL {
                for eps in fam.step_grid(1.0 / (0.1 * 0.1), n_eps) {
                    for rep in 0..reps {
                        jobs.push(Job { dim_idx: di, noise_idx: ni, sampler: Sampler::Sg(fam), mode: SmileMode::Reference, eps, rep });
                    }
                }
            }
        }
    }
    eprintln!("{} runs of {steps} steps ({} gradient evaluations each) on {threads} threads…", jobs.len(), 2 * steps);
    let t0 = std::time::Instant::now();
    let next = AtomicUsize::new(0);
    let rows = Mutex::new(Vec::with_capacity(jobs.len()));
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(&job) = jobs.get(i) else { break };
                let r = run(&problems[job.dim_idx][job.noise_idx], job, steps);
                rows.lock().unwrap().push((i, r));
            });
        }
    });
    let mut rows = rows.into_inner().unwrap();
    rows.sort_by_key(|(i, _)| *i);
    eprintln!("done in {:.1} s", t0.elapsed().as_secs_f64());

    if let Some(path) = &csv {
        let mut f = std::io::BufWriter::new(std::fs::File::create(path).expect("cannot create the CSV file"));
        writeln!(f, "sampler,mode,noise,dim,step_size,grad_evals,rep,bias").unwrap();
        for (_, r) in &rows {
            let j = r.job;
            let p = &problems[j.dim_idx][j.noise_idx];
            writeln!(f, "{},{},{},{},{:e},{},{},{:e}", j.sampler.name(), j.mode.name(), p.noise.name(), p.d, j.eps, r.grad_evals, j.rep, r.bias).unwrap();
        }
        eprintln!("wrote {path}");
    }

    // Summary: per dimension, noise, sampler and mode, the step size with the
    // lowest mean bias over repetitions (± its standard error).
    println!("| dim | noise | sampler | mode | best ε (initial) | bias (mean ± se over {reps} reps) | final ε (geo. mean) | resets/step |");
    println!("|---:|---|---|---|---:|---:|---:|---:|");
    for (di, &d) in dims.iter().enumerate() {
        for (ni, noise) in noises.iter().enumerate() {
            let mut keys: Vec<(Sampler, SmileMode)> = Vec::new();
            for (_, r) in &rows {
                let k = (r.job.sampler, r.job.mode);
                if r.job.dim_idx == di && r.job.noise_idx == ni && !keys.contains(&k) {
                    keys.push(k);
                }
            }
            for (sampler, mode) in keys {
                let mut best = (f64::INFINITY, 0.0, 0.0, 0.0, 0.0);
                let mut eps_grid: Vec<f64> = Vec::new();
                for (_, r) in &rows {
                    if r.job.dim_idx == di && r.job.noise_idx == ni && r.job.sampler == sampler && !eps_grid.contains(&r.job.eps) {
                        eps_grid.push(r.job.eps);
                    }
                }
                for &eps in &eps_grid {
                    let sel: Vec<&Row> = rows
                        .iter()
                        .filter(|(_, r)| r.job.dim_idx == di && r.job.noise_idx == ni && r.job.sampler == sampler && r.job.mode == mode && r.job.eps == eps)
                        .map(|(_, r)| r)
                        .collect();
                    let n = sel.len() as f64;
                    let m = sel.iter().map(|r| r.bias).sum::<f64>() / n;
                    let se = (sel.iter().map(|r| (r.bias - m).powi(2)).sum::<f64>() / (n - 1.0).max(1.0) / n).sqrt();
                    let fe = (sel.iter().map(|r| r.final_eps.ln()).sum::<f64>() / n).exp();
                    let rr = sel.iter().map(|r| r.reject_rate).sum::<f64>() / n;
                    if m < best.0 {
                        best = (m, se, eps, fe, rr);
                    }
                }
                let mode_name = if matches!(sampler, Sampler::Mclmc | Sampler::Sg(_)) { "—" } else { mode.name() };
                println!(
                    "| {d} | {} | {} | {mode_name} | {:.2e} | {:.4} ± {:.4} | {:.2e} | {:.3} |",
                    noise.name(),
                    sampler.name(),
                    best.2,
                    best.0,
                    best.1,
                    best.3,
                    best.4
                );
            }
        }
    }
}
