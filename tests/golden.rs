//! Golden tests: every `isokinetic_trajectory` file in `$SMILE_GOLDEN_DIR`
//! (default `../shared/golden`) is replayed step by step through the MCLMC
//! sampler with the refresh disabled (L = ∞), in f64 to the README's
//! tolerances and in f32 over the first steps to a looser one.
//! Files of other kinds are left to their own harnesses (tests/golden_*.rs).

mod common;

use common::*;
use serde_json::Value;
use smile::{Integrator, Mclmc, MclmcConfig, Real};

/// f64: the golden README's suggested tolerances.
const F64_VEC_TOL: f64 = 1e-9;
const F64_ENERGY_TOL: f64 = 1e-9; // × d, absolute

/// f32: checked over the first `F32_STEPS` steps. Rounding alone is
/// `2⁻²⁴ ≈ 6e-8` relative per operation; the data (X, σ, x0, u0) are rounded
/// to f32 on input, and every step applies O(10) operations per component
/// plus reductions over d terms whose rounding error grows like √d·6e-8.
/// Over 10 steps of dynamics with Lyapunov growth of at most a few per step,
/// that stays below ~1e-5 in the normalised measure; 2e-4 leaves margin for
/// the chaotic targets (funnel, banana) while still failing on any formula
/// error, which shows up at the 1e-2 level within a step or two.
const F32_STEPS: usize = 10;
const F32_VEC_TOL: f64 = 2e-4;
/// Energies in f32 are differences of log densities of size |ℓ|, so their
/// rounding error scales with max(1, |ℓ|)·6e-8 per operation.
const F32_ENERGY_TOL: f64 = 2e-4;

struct Golden<'a> {
    file: &'a str,
    j: &'a Value,
}

impl Golden<'_> {
    fn run<T: Real>(&self, max_steps: usize, vec_tol: f64, energy_tol: f64) -> Result<(usize, f64, f64), String> {
        let j = self.j;
        let file = self.file;
        let (mut target, dim) = match target_from_json::<T>(&j["target"]) {
            Some(t) => t,
            None => return Err(format!("{file}: unknown target {}", j["target"]["name"])),
        };
        let integ_name = j["integrator"].as_str().unwrap_or("");
        let integrator = Integrator::from_name(integ_name).ok_or_else(|| format!("{file}: unknown integrator {integ_name}"))?;
        let x0 = vec_of::<T>(&j["x0"], "x0");
        let u0 = vec_of::<T>(&j["u0"], "u0");
        let precond = vec_of::<T>(&j["precond"], "precond");
        assert_eq!(x0.len(), dim, "{file}: x0 length");
        let cfg = MclmcConfig {
            step_size: T::from_f64(f64_of(&j["step_size"], "step_size")),
            decoherence_length: T::INFINITY,
            max_energy_change: T::INFINITY,
            integrator,
        };
        let mut ws = vec![T::ZERO; Mclmc::<T>::workspace_len(dim)];
        let mut chain = Mclmc::new(cfg, &x0, &mut ws, 0, 0).map_err(|e| format!("{file}: init: {e}"))?;
        chain.set_momentum(&u0).map_err(|e| format!("{file}: u0: {e}"))?;
        if precond.iter().any(|&s| s != T::ONE) {
            chain.set_preconditioner(Some(&precond)).map_err(|e| format!("{file}: precond: {e}"))?;
        }
        chain.init_with(&mut *target).map_err(|e| format!("{file}: initial point: {e}"))?;
        let d = dim as f64;
        let scale_e = |want: f64| energy_tol * d * want.abs().max(1.0);
        let lp0 = f64_of(&j["logdensity0"], "logdensity0");
        if (chain.logdensity().to_f64() - lp0).abs() > scale_e(lp0) {
            return Err(format!("{file} [{}]: logdensity0 {} vs {lp0}", T::NAME, chain.logdensity().to_f64()));
        }
        let steps = j["steps"].as_array().ok_or_else(|| format!("{file}: no steps"))?;
        let mut u = vec![T::ZERO; dim];
        let (mut worst_vec, mut worst_energy) = (0.0f64, 0.0f64);
        let n = steps.len().min(max_steps);
        for (k, s) in steps.iter().take(n).enumerate() {
            let info = chain.step_with(&mut *target).map_err(|e| format!("{file}: step {}: {e}", k + 1))?;
            let at = |field: &str, detail: String| format!("{file} [{}]: step {} (1-based): {field}: {detail}", T::NAME, k + 1);
            if info.diverged() {
                return Err(at("divergence", format!("{:?}", info.divergence)));
            }
            let x: Vec<f64> = chain.position().iter().map(|v| v.to_f64()).collect();
            chain.momentum(&mut u).unwrap();
            let uf: Vec<f64> = u.iter().map(|v| v.to_f64()).collect();
            for (field, got) in [("x", &x), ("u", &uf)] {
                let want = vec_of::<f64>(&s[field], field);
                let (e, i) = vec_err(got, &want);
                worst_vec = worst_vec.max(e);
                if !(e <= vec_tol) {
                    return Err(at(
                        field,
                        format!(
                            "component {i}: got {} want {} (normalised error {e:.3e} > {vec_tol:.0e})",
                            got[i.min(got.len() - 1)],
                            want[i.min(want.len() - 1)]
                        ),
                    ));
                }
            }
            for (field, got) in
                [("logdensity", info.logdensity.to_f64()), ("kinetic_change", info.kinetic_change.to_f64()), ("energy_change", info.energy_change.to_f64())]
            {
                let want = f64_of(&s[field], field);
                // Energies are differences of log densities: scale by the log density's size.
                let size = f64_of(&s["logdensity"], "logdensity").abs().max(want.abs());
                worst_energy = worst_energy.max((got - want).abs() / (d * size.max(1.0)));
                if !((got - want).abs() <= scale_e(size)) {
                    return Err(at(field, format!("got {got} want {want}")));
                }
            }
        }
        Ok((n, worst_vec, worst_energy))
    }
}

#[test]
fn isokinetic_trajectories_match_blackjax() {
    let files = golden_files();
    let mut ran = 0;
    let mut failures = Vec::new();
    for (file, j) in &files {
        let kind = j["kind"].as_str().unwrap_or("<none>");
        if kind != "isokinetic_trajectory" {
            if !["smile_trajectory", "ess"].contains(&kind) {
                println!("golden: skipping {file}: kind `{kind}` has no harness in this project yet");
            }
            continue;
        }
        let g = Golden { file, j };
        let dtype = j["dtype"].as_str().unwrap_or("float64");
        let res = if dtype == "float32" {
            g.run::<f32>(usize::MAX, F32_VEC_TOL, F32_ENERGY_TOL)
        } else {
            g.run::<f64>(usize::MAX, F64_VEC_TOL, F64_ENERGY_TOL).and_then(|r| {
                let r32 = g.run::<f32>(F32_STEPS, F32_VEC_TOL, F32_ENERGY_TOL)?;
                println!("  f32 first {} steps: max normalised error x/u {:.2e}, energies {:.2e}", r32.0, r32.1, r32.2);
                Ok(r)
            })
        };
        match res {
            Ok((n, ev, ee)) => {
                println!("golden ok: {file} ({n} steps; max normalised error x/u {ev:.2e}, energies {ee:.2e})");
                ran += 1;
            }
            Err(e) => failures.push(e),
        }
    }
    println!("isokinetic_trajectory files checked: {ran}");
    assert!(failures.is_empty(), "golden mismatches:\n{}", failures.join("\n"));
}
