//! Shared test support: the golden-file directory, JSON helpers, and
//! building reference targets from a golden file's `"target"` object.
#![allow(dead_code)]

use serde_json::Value;
use smile::targets::{Banana, DenseGaussian, DiagGaussian, Funnel, Logistic, StdGaussian};
use smile::{LogDensity, Real};
use std::path::PathBuf;

/// `$SMILE_GOLDEN_DIR`, or `../shared/golden` next to the repository.
pub fn golden_dir() -> PathBuf {
    match std::env::var_os("SMILE_GOLDEN_DIR") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/golden"),
    }
}

/// Every `*.json` file in the golden directory, sorted, parsed. Panics with
/// a clear message if the directory is missing or a file is not JSON.
pub fn golden_files() -> Vec<(String, Value)> {
    let dir = golden_dir();
    let rd = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("golden directory {} unreadable: {e} (set SMILE_GOLDEN_DIR)", dir.display()));
    let mut paths: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.extension().is_some_and(|x| x == "json")).collect();
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: not JSON: {e}", p.display()));
            (p.file_name().unwrap().to_string_lossy().into_owned(), v)
        })
        .collect()
}

pub fn f64_of(v: &Value, what: &str) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("{what}: expected a number, got {v}"))
}

pub fn vec_of<T: Real>(v: &Value, what: &str) -> Vec<T> {
    v.as_array().unwrap_or_else(|| panic!("{what}: expected an array")).iter().map(|x| T::from_f64(f64_of(x, what))).collect()
}

/// Row-major flattening of an array of arrays; returns (values, rows, cols).
pub fn matrix_of<T: Real>(v: &Value, what: &str) -> (Vec<T>, usize, usize) {
    let rows = v.as_array().unwrap_or_else(|| panic!("{what}: expected an array of rows"));
    let cols = rows.first().and_then(|r| r.as_array()).map_or(0, |r| r.len());
    let mut out = Vec::with_capacity(rows.len() * cols);
    for r in rows {
        let r = vec_of::<T>(r, what);
        assert_eq!(r.len(), cols, "{what}: ragged matrix");
        out.extend(r);
    }
    (out, rows.len(), cols)
}

fn leak<T>(v: Vec<T>) -> &'static [T] {
    Box::leak(v.into_boxed_slice())
}

/// The target described by a golden file's `"target"` object, in precision
/// `T`, and its dimension. `None` for a target name this harness does not know.
pub fn target_from_json<T: Real>(t: &Value) -> Option<(Box<dyn LogDensity<T>>, usize)> {
    let name = t["name"].as_str().unwrap_or("");
    let f = |k: &str| T::from_f64(f64_of(&t[k], k));
    let dim = |k: &str| t[k].as_u64().map(|v| v as usize);
    Some(match name {
        "std_gaussian" => (Box::new(StdGaussian), dim("dim")?),
        "diag_gaussian" => {
            let s = leak(vec_of::<T>(&t["sigma"], "sigma"));
            (Box::new(DiagGaussian { sigma: s }), s.len())
        }
        "dense_gaussian" => {
            let (p, r, c) = matrix_of::<T>(&t["precision"], "precision");
            assert_eq!(r, c, "precision must be square");
            (Box::new(DenseGaussian { precision: leak(p) }), r)
        }
        "banana" => (Box::new(Banana { b: f("b"), sigma1: f("sigma1") }), dim("dim")?),
        "funnel" => (Box::new(Funnel { sigma_v: f("sigma_v") }), dim("dim")?),
        "logistic" => {
            let (x, _n, p) = matrix_of::<T>(&t["X"], "X");
            let y = vec_of::<T>(&t["y"], "y");
            (Box::new(Logistic { x: leak(x), y: leak(y), prior_sd: f("prior_sd") }), p)
        }
        _ => return None,
    })
}

/// Largest normalised error of `got` against `want` in the measure of the
/// golden README: `|got_i − want_i| / (|want_i| + max_j |want_j|)`, and its index.
pub fn vec_err(got: &[f64], want: &[f64]) -> (f64, usize) {
    let m = want.iter().fold(0.0f64, |a, v| a.max(v.abs()));
    let mut worst = (0.0, 0);
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let denom = w.abs() + m;
        let e = if denom > 0.0 { (g - w).abs() / denom } else { (g - w).abs() };
        if !(e <= worst.0) {
            worst = (if e.is_nan() { f64::INFINITY } else { e }, i);
        }
    }
    if got.len() != want.len() {
        return (f64::INFINITY, got.len().min(want.len()));
    }
    worst
}
