//! Golden tests for SMILE: every `smile_trajectory` file in `$SMILE_GOLDEN_DIR`
//! (default `../shared/golden`) is replayed step by step in reference mode,
//! in f64, on its fixed mini-batch sequence, and every per-step field the
//! file stores is compared (x, u, step size, |ΔE|, reset, the tuner's
//! averages, and σ_g for pSMILE; ΔE and the stored log density when present).
//! Other kinds are skipped; unknown fields are ignored. A failure names the
//! file, the first mismatching step and the field.
//!
//! Tolerances are the golden README's: x, u, σ_g per component
//! `|got − want| ≤ 1e-9 (|want_i| + max_j |want_j|)`; step size and
//! averages relative 1e-9; energies absolute `1e-9 · max(1, |log p|)`
//! (they are differences of log densities of size ~1e3); reset exact.
//! A reset or adaptation decision that flipped would show up as an O(1)
//! error in x/u or ε at the next step, so the bounds also pin the decisions.

mod common;

use common::*;
use serde_json::Value;
use smile::targets::IcgData;
use smile::tune::GammaTunerConfig;
use smile::{Integrator, Real, Smile, SmileConfig};

const VEC_TOL: f64 = 1e-9;
const REL_TOL: f64 = 1e-9;
const ENERGY_TOL: f64 = 1e-9;

/// Largest errors seen, per field group, for the report.
#[derive(Default, Debug)]
struct Worst {
    xu: f64,
    grad_sd: f64,
    rel: f64,
    energy: f64,
}

fn rel_err(got: f64, want: f64) -> f64 {
    if got == want {
        0.0
    } else {
        (got - want).abs() / want.abs().max(f64::MIN_POSITIVE)
    }
}

fn run_file<T: Real>(file: &str, j: &Value, max_steps: usize, vec_tol: f64, rel_tol: f64, energy_tol: f64) -> Result<(usize, Worst), String> {
    let t = &j["target"];
    if t["name"].as_str() != Some("icg_data") {
        return Err(format!("{file}: unsupported target {}", t["name"]));
    }
    let (precision, d, dc) = matrix_of::<T>(&t["precision"], "precision");
    if d != dc {
        return Err(format!("{file}: precision is not square"));
    }
    let (y, _n, yd) = matrix_of::<T>(&t["y"], "y");
    if yd != d {
        return Err(format!("{file}: y has {yd} columns, precision is {d}×{d}"));
    }
    let data = IcgData { precision: &precision, y: &y };
    let batches: Vec<Vec<usize>> = j["batches"]
        .as_array()
        .ok_or_else(|| format!("{file}: no batches"))?
        .iter()
        .map(|b| b.as_array().map(|r| r.iter().map(|v| v.as_u64().unwrap_or(u64::MAX) as usize).collect()).unwrap_or_default())
        .collect();
    let variant = j["variant"].as_str().unwrap_or("");
    let precondition = match variant {
        "smile" => false,
        "psmile" => true,
        other => return Err(format!("{file}: unknown variant `{other}`")),
    };
    let c = &j["config"];
    let num = |k: &str| -> Result<T, String> { c[k].as_f64().map(T::from_f64).ok_or_else(|| format!("{file}: config.{k} missing")) };
    let integrator = match j["integrator"].as_str() {
        Some(name) => Integrator::from_name(name).ok_or_else(|| format!("{file}: unknown integrator {name}"))?,
        None => Integrator::McLachlan,
    };
    let cfg = SmileConfig {
        tuner: GammaTunerConfig {
            reset_prob: num("reset_prob")?,
            adaption_prob: num("adaption_prob")?,
            adaption_strength: num("adaption_strength")?,
            smoothing_factor: num("smoothing_factor")?,
        },
        precondition,
        integrator,
        ..SmileConfig::smile(num("step_size")?)
    }
    .reference();
    // The README fixes the initial state; refuse a file that says otherwise
    // rather than comparing against the wrong start.
    let init = &j["initial_state"];
    if !init.is_null() {
        let zeros = |k: &str| init[k].as_array().map_or(true, |a| a.iter().all(|v| v.as_f64() == Some(0.0)));
        let ones = |k: &str| init[k].as_array().map_or(true, |a| a.iter().all(|v| v.as_f64() == Some(1.0)));
        let is = |k: &str, v: f64| init[k].as_f64().map_or(true, |x| x == v);
        if !(zeros("u") && zeros("g") && ones("grad_sd") && is("logdensity", 0.0) && is("time", 1.0) && is("energy_mean", 0.0) && is("energy_std", 0.0)) {
            return Err(format!("{file}: initial_state differs from the README's fixed start"));
        }
    }
    let x0 = vec_of::<T>(&j["x0"], "x0");
    if x0.len() != d {
        return Err(format!("{file}: x0 has length {}, d = {d}", x0.len()));
    }
    let mut ws = vec![T::ZERO; Smile::<T>::workspace_len(d)];
    let mut chain = Smile::new(cfg, &x0, &mut ws, 0, 0).map_err(|e| format!("{file}: init: {e}"))?;
    let steps = j["steps"].as_array().ok_or_else(|| format!("{file}: no steps"))?;
    if batches.len() < steps.len().min(max_steps) {
        return Err(format!("{file}: {} batches for {} steps", batches.len(), steps.len()));
    }
    let mut worst = Worst::default();
    let mut u = vec![T::ZERO; d];
    let n = steps.len().min(max_steps);
    for (k, s) in steps.iter().take(n).enumerate() {
        let at = |field: &str, detail: String| format!("{file} [{}]: step {} (1-based): {field}: {detail}", T::NAME, k + 1);
        let info = chain.step_with(&mut data.batch(&batches[k])).map_err(|e| at("step", e.to_string()))?;
        if info.divergence == smile::Divergence::NonFinite {
            return Err(at("divergence", "non-finite step".into()));
        }
        let x: Vec<f64> = chain.position().iter().map(|v| v.to_f64()).collect();
        chain.momentum(&mut u).unwrap();
        let uf: Vec<f64> = u.iter().map(|v| v.to_f64()).collect();
        let mut vecs = vec![("x", x), ("u", uf)];
        if precondition && !s["grad_sd"].is_null() {
            vecs.push(("grad_sd", chain.grad_sd().iter().map(|v| v.to_f64()).collect()));
        }
        for (field, got) in &vecs {
            if s[*field].is_null() {
                continue;
            }
            let want = vec_of::<f64>(&s[*field], field);
            let (e, i) = vec_err(got, &want);
            if *field == "grad_sd" {
                worst.grad_sd = worst.grad_sd.max(e);
            } else {
                worst.xu = worst.xu.max(e);
            }
            if !(e <= vec_tol) {
                let (g, w) = (got.get(i).copied().unwrap_or(f64::NAN), want.get(i).copied().unwrap_or(f64::NAN));
                return Err(at(field, format!("component {i}: got {g} want {w} (normalised error {e:.3e} > {vec_tol:.0e})")));
            }
        }
        if let Some(want) = s["reset"].as_bool() {
            if info.reset() != want {
                return Err(at("reset", format!("got {} want {want}", info.reset())));
            }
        }
        for (field, got) in [("step_size", info.next_step_size.to_f64()), ("energy_mean", info.energy_mean.to_f64()), ("energy_std", info.energy_std.to_f64())]
        {
            let Some(want) = s[field].as_f64() else { continue };
            let e = rel_err(got, want);
            worst.rel = worst.rel.max(e);
            if !(e <= rel_tol) {
                return Err(at(field, format!("got {got} want {want} (relative error {e:.3e} > {rel_tol:.0e})")));
            }
        }
        let size = s["logdensity"].as_f64().map_or(1.0, |l| l.abs().max(1.0));
        for (field, got) in
            [("abs_energy_change", info.abs_energy_change.to_f64()), ("energy_change", info.energy_change.to_f64()), ("logdensity", info.logdensity.to_f64())]
        {
            let Some(want) = s[field].as_f64() else { continue };
            let e = (got - want).abs() / size;
            worst.energy = worst.energy.max(e);
            if !(e <= energy_tol) {
                return Err(at(field, format!("got {got} want {want} (error {e:.3e} × max(1, |log p|) > {energy_tol:.0e})")));
            }
        }
    }
    // The file's summary, when present, must agree with what we counted.
    if n == steps.len() {
        if let Some(r) = j["summary"]["resets"].as_u64() {
            if chain.state().resets() != r {
                return Err(format!("{file}: {} resets, summary says {r}", chain.state().resets()));
            }
        }
    }
    Ok((n, worst))
}

#[test]
fn smile_trajectories_match_reference_code() {
    let mut ran = 0;
    let mut failures = Vec::new();
    for (file, j) in golden_files() {
        if j["kind"].as_str() != Some("smile_trajectory") {
            continue;
        }
        if let Some(dt) = j["dtype"].as_str() {
            if dt != "float64" {
                failures.push(format!("{file}: dtype {dt} not supported by this harness"));
                continue;
            }
        }
        match run_file::<f64>(&file, &j, usize::MAX, VEC_TOL, REL_TOL, ENERGY_TOL) {
            Ok((n, w)) => {
                println!(
                    "golden ok: {file} ({n} steps; max normalised error x/u {:.2e}, grad_sd {:.2e}; max relative error ε/m/s_E {:.2e}; energies {:.2e})",
                    w.xu, w.grad_sd, w.rel, w.energy
                );
                ran += 1;
            }
            Err(e) => failures.push(e),
        }
        // f32: the burn-in steps (no decisions yet), to a tolerance set by
        // f32 rounding: 6e-8 per operation, amplified by |log p|/|ΔE| ~ 1e3
        // in the energies and by a few per step in x/u.
        match run_file::<f32>(&file, &j, 9, 1e-4, 1e-3, 1e-5) {
            Ok((n, w)) => println!("  f32 first {n} steps: x/u {:.2e}, grad_sd {:.2e}, ε/m/s_E {:.2e}, energies {:.2e}", w.xu, w.grad_sd, w.rel, w.energy),
            Err(e) => failures.push(e),
        }
    }
    println!("smile_trajectory files checked: {ran}");
    assert!(failures.is_empty(), "golden mismatches:\n{}", failures.join("\n"));
}
