//! The main demo: Bayesian logistic regression on the Wisconsin breast-cancer
//! data (569 patients, 30 features + intercept, bundled in `data/`) with
//! MCLMC. Several chains, each on its own random stream, are auto-tuned
//! (step size, L, diagonal preconditioner) and then sampled; the demo prints
//! progress, posterior means and standard deviations with R-hat, the
//! divergence count and the time taken.
//!
//! ```text
//! cargo run --release --example demo -- [--chains 4] [--steps 2000] [--seed 1] [--f32] [--csv draws.csv]
//! ```
//! `--csv` writes every draw (`chain,step,w0,...,w30`) for plotting.

use smile::targets::Logistic;
use smile::tune::{AdaptPhase, MclmcAdaptConfig, MclmcAdapter};
use smile::{align_workspace, workspace_pad, Mclmc, MclmcConfig, Real};
use std::io::Write;
use std::time::Instant;

const DATA: &str = include_str!("../data/breast_cancer/breast_cancer.csv");

struct Args {
    chains: usize,
    steps: u64,
    seed: u64,
    f32: bool,
    csv: Option<String>,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args { chains: 4, steps: 2000, seed: 1, f32: false, csv: None };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let mut val = || it.next().ok_or_else(|| format!("{k} needs a value"));
        match k.as_str() {
            "--chains" => a.chains = val()?.parse().map_err(|e| format!("--chains: {e}"))?,
            "--steps" => a.steps = val()?.parse().map_err(|e| format!("--steps: {e}"))?,
            "--seed" => a.seed = val()?.parse().map_err(|e| format!("--seed: {e}"))?,
            "--csv" => a.csv = Some(val()?),
            "--f32" => a.f32 = true,
            "-h" | "--help" => return Err(String::new()),
            _ => return Err(format!("unknown argument {k}")),
        }
    }
    if a.chains < 1 || a.steps < 10 {
        return Err("need --chains >= 1 and --steps >= 10".into());
    }
    Ok(a)
}

/// Design matrix `[1, standardised features]` (row-major), labels, names.
fn load() -> (Vec<f64>, Vec<f64>, Vec<String>, usize) {
    let mut lines = DATA.lines();
    let header: Vec<String> = lines.next().unwrap().split(',').map(String::from).collect();
    let rows: Vec<Vec<f64>> = lines.filter(|l| !l.trim().is_empty()).map(|l| l.split(',').map(|v| v.trim().parse().unwrap()).collect()).collect();
    let p = header.len() - 1;
    let n = rows.len();
    let mut mean = vec![0.0; p];
    let mut sd = vec![0.0; p];
    for r in &rows {
        for j in 0..p {
            mean[j] += r[j] / n as f64;
        }
    }
    for r in &rows {
        for j in 0..p {
            sd[j] += (r[j] - mean[j]).powi(2) / n as f64;
        }
    }
    let mut x = Vec::with_capacity(n * (p + 1));
    let mut y = Vec::with_capacity(n);
    for r in &rows {
        x.push(1.0);
        for j in 0..p {
            x.push((r[j] - mean[j]) / sd[j].sqrt());
        }
        y.push(r[p]);
    }
    let mut names = vec!["intercept".to_string()];
    names.extend(header[..p].iter().cloned());
    (x, y, names, p + 1)
}

struct ChainResult {
    draws: Vec<f64>, // steps × d
    divergences: u64,
    grad_evals: u64,
    step_size: f64,
    l: f64,
    energy_var: f64,
}

fn run_chain<T: Real>(x: &[f64], y: &[f64], d: usize, args: &Args, chain_id: usize) -> ChainResult {
    let xt: Vec<T> = x.iter().map(|&v| T::from_f64(v)).collect();
    let yt: Vec<T> = y.iter().map(|&v| T::from_f64(v)).collect();
    let mut target = Logistic { x: &xt, y: &yt, prior_sd: T::ONE };
    // The workspace on a cache line (faster; any slice would do).
    let mut buf = vec![T::ZERO; Mclmc::<T>::workspace_len(d) + workspace_pad::<T>()];
    let ws = align_workspace(&mut buf, Mclmc::<T>::workspace_len(d)).expect("padded buffer");
    let x0 = vec![T::ZERO; d];
    let mut chain = Mclmc::new(MclmcConfig::for_dim(d), &x0, ws, args.seed, chain_id as u64).expect("valid settings");
    let mut aws = vec![T::ZERO; MclmcAdapter::<T>::workspace_len(d)];
    let mut adapter = MclmcAdapter::new(MclmcAdaptConfig::new(args.steps), d, &mut aws).expect("valid settings");
    let planned = adapter.planned_steps();
    let mut warm_div = 0;
    while adapter.phase() != AdaptPhase::Done {
        let info = chain.step_with(&mut target).expect("finite log density at the start");
        warm_div += info.diverged() as u64;
        adapter.observe(&mut chain, &info).expect("same chain");
    }
    let cfg = chain.config();
    eprintln!(
        "chain {chain_id}: tuned in {planned} steps: step size {:.4}, L {:.4}, {} warm-up divergences",
        cfg.step_size.to_f64(),
        cfg.decoherence_length.to_f64(),
        warm_div
    );
    let divs0 = chain.state().divergences();
    let mut draws = Vec::with_capacity(args.steps as usize * d);
    let mut de2 = 0.0;
    let report = (args.steps / 4).max(1);
    for s in 1..=args.steps {
        let info = chain.step_with(&mut target).expect("initialised");
        de2 += info.energy_change.to_f64().powi(2);
        draws.extend(chain.position().iter().map(|v| v.to_f64()));
        if s % report == 0 {
            eprintln!("chain {chain_id}: {s}/{} steps, log density {:.2}", args.steps, info.logdensity.to_f64());
        }
    }
    ChainResult {
        draws,
        divergences: chain.state().divergences() - divs0,
        grad_evals: chain.state().grad_evals(),
        step_size: cfg.step_size.to_f64(),
        l: cfg.decoherence_length.to_f64(),
        energy_var: de2 / args.steps as f64 / d as f64,
    }
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("error: {e}");
            }
            eprintln!("usage: demo [--chains N] [--steps N] [--seed N] [--f32] [--csv FILE]");
            std::process::exit(if e.is_empty() { 0 } else { 2 });
        }
    };
    let (x, y, names, d) = load();
    println!(
        "smile demo: Bayesian logistic regression, breast cancer (n = {}, d = {d}), MCLMC ({}), {} chains x {} steps",
        y.len(),
        if args.f32 { "f32" } else { "f64" },
        args.chains,
        args.steps
    );
    let t0 = Instant::now();
    let results: Vec<ChainResult> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..args.chains)
            .map(|c| {
                let (x, y, args) = (&x, &y, &args);
                s.spawn(move || if args.f32 { run_chain::<f32>(x, y, d, args, c) } else { run_chain::<f64>(x, y, d, args, c) })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("chain thread")).collect()
    });
    let secs = t0.elapsed().as_secs_f64();
    let n = args.steps as usize;
    let m = results.len();
    println!("\n{:<24} {:>9} {:>8} {:>7}", "coefficient", "mean", "sd", "R-hat");
    for (j, name) in names.iter().enumerate().take(d) {
        let chain_means: Vec<f64> = results.iter().map(|r| (0..n).map(|t| r.draws[t * d + j]).sum::<f64>() / n as f64).collect();
        let chain_vars: Vec<f64> =
            results.iter().zip(&chain_means).map(|(r, mu)| (0..n).map(|t| (r.draws[t * d + j] - mu).powi(2)).sum::<f64>() / (n - 1) as f64).collect();
        let mean = chain_means.iter().sum::<f64>() / m as f64;
        let w = chain_vars.iter().sum::<f64>() / m as f64;
        let b = if m > 1 { n as f64 * chain_means.iter().map(|c| (c - mean).powi(2)).sum::<f64>() / (m - 1) as f64 } else { 0.0 };
        let var = (n - 1) as f64 / n as f64 * w + b / n as f64;
        let rhat = if m > 1 { format!("{:.3}", (var / w).sqrt()) } else { "-".into() };
        println!("{:<24} {:>9.4} {:>8.4} {:>7}", name, mean, var.sqrt(), rhat);
    }
    let divs: u64 = results.iter().map(|r| r.divergences).sum();
    let grads: u64 = results.iter().map(|r| r.grad_evals).sum();
    println!("\nstep sizes: {:?}", results.iter().map(|r| (r.step_size * 1e4).round() / 1e4).collect::<Vec<_>>());
    println!("L:          {:?}", results.iter().map(|r| (r.l * 1e4).round() / 1e4).collect::<Vec<_>>());
    println!("Var[dE]/d while sampling (target 5e-4): {:?}", results.iter().map(|r| format!("{:.1e}", r.energy_var)).collect::<Vec<_>>());
    println!("divergences while sampling: {divs}");
    println!("gradient evaluations: {grads} in {secs:.3} s ({:.0} per second, {} threads)", grads as f64 / secs, args.chains);
    if let Some(path) = &args.csv {
        let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap_or_else(|e| panic!("{path}: {e}")));
        write!(f, "chain,step").unwrap();
        for nm in &names {
            write!(f, ",{nm}").unwrap();
        }
        writeln!(f).unwrap();
        for (c, r) in results.iter().enumerate() {
            for t in 0..n {
                write!(f, "{c},{}", t + 1).unwrap();
                for j in 0..d {
                    write!(f, ",{}", r.draws[t * d + j]).unwrap();
                }
                writeln!(f).unwrap();
            }
        }
        println!("draws written to {path}");
    }
}
