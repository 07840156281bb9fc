//! Golden tests for the diagnostics: every file of kind `ess` in
//! `$SMILE_GOLDEN_DIR` (default `../shared/golden`) and in
//! `tests/golden-extra/` (made by BlackJAX 1.7.1 with x64 enabled, covering
//! one chain, several chains with odd n, sequences that never turn negative,
//! and the 1/log10(cn) floor) is reproduced to relative 1e-6.

mod common;

use common::*;
use serde_json::Value;
use smile::diagnostics::{effective_sample_size, potential_scale_reduction, Draws};
use std::path::PathBuf;

const TOL: f64 = 1e-6;

fn check(file: &str, j: &Value) -> Result<(), String> {
    // Flatten to chains × n × d, row-major.
    let (data, c, n, d) = if let Some(ch) = j.get("chains").filter(|v| v.is_array()) {
        let chains = ch.as_array().unwrap();
        let mut data = Vec::new();
        let (mut n, mut d) = (0, 0);
        for chain in chains {
            let (m, rows, cols) = matrix_of::<f64>(chain, "chains");
            n = rows;
            d = cols;
            data.extend(m);
        }
        (data, chains.len(), n, d)
    } else {
        let (m, rows, cols) = matrix_of::<f64>(&j["samples"], "samples");
        (m, 1, rows, cols)
    };
    let want = vec_of::<f64>(&j["ess"], "ess");
    let rhat = j.get("rhat").map(|r| vec_of::<f64>(r, "rhat"));
    if want.len() != d {
        return Err(format!("{file}: ess has {} values for d = {d}", want.len()));
    }
    for k in 0..d {
        let view = Draws { data: &data, chains: c, n, stride: d, offset: k };
        let got = effective_sample_size(view).map_err(|e| format!("{file}: {e}"))?;
        let ok = (got.is_nan() && want[k].is_nan()) || (got - want[k]).abs() <= TOL * want[k].abs().max(1e-300);
        if !ok {
            return Err(format!("{file}: ess[{k}]: got {got} want {}", want[k]));
        }
        if let Some(r) = &rhat {
            let got = potential_scale_reduction(view).map_err(|e| format!("{file}: {e}"))?;
            if !((got - r[k]).abs() <= TOL * r[k].abs()) {
                return Err(format!("{file}: rhat[{k}]: got {got} want {}", r[k]));
            }
        }
    }
    Ok(())
}

#[test]
fn ess_and_rhat_match_blackjax() {
    let mut files = golden_files();
    let extra = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden-extra");
    let mut paths: Vec<_> = std::fs::read_dir(&extra).unwrap().filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for p in paths {
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
        files.push((format!("golden-extra/{}", p.file_name().unwrap().to_string_lossy()), v));
    }
    let mut ran = 0;
    let mut failures = Vec::new();
    for (file, j) in &files {
        if j["kind"].as_str() != Some("ess") {
            continue;
        }
        match check(file, j) {
            Ok(()) => {
                println!("golden ok: {file}");
                ran += 1;
            }
            Err(e) => failures.push(e),
        }
    }
    println!("ess files checked: {ran}");
    assert!(ran >= 4, "the bundled golden-extra files must be found");
    assert!(failures.is_empty(), "ess mismatches:\n{}", failures.join("\n"));
}
