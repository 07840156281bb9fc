//! SMILE's API contract: validation, the ask/tell protocol, checkpoints,
//! the reference/corrected reset semantics, and robustness to bad
//! evaluations (NaN/∞ gradients and log densities, enormous gradients).

use smile::rng::fill_normals;
use smile::tune::GammaTunerConfig;
use smile::{Divergence, Error, Integrator, Real, Rng, Smile, SmileConfig, SmileMode, SmileProgress, SmileState};

/// A standard Gaussian seen through noisy gradients: `log p_t(x) = −½|x|² + σ ξ_t·x`,
/// with `ξ_t ~ N(0, I)` fixed per step `t` (a "mini-batch"), as in the
/// `icg_data` target with isotropic noise.
struct NoisyGaussian {
    sigma: f64,
    rng: Rng,
    xi: Vec<f64>,
}

impl NoisyGaussian {
    fn new(d: usize, sigma: f64, seed: u64) -> Self {
        NoisyGaussian { sigma, rng: Rng::new(seed, 7), xi: vec![0.0; d] }
    }
    /// Draws the next step's batch.
    fn next_batch(&mut self) {
        fill_normals(&mut self.rng, &mut self.xi);
    }
    fn eval(&self, x: &[f64], g: &mut [f64]) -> f64 {
        let mut lp = 0.0;
        for i in 0..x.len() {
            g[i] = -x[i] + self.sigma * self.xi[i];
            lp += -0.5 * x[i] * x[i] + self.sigma * self.xi[i] * x[i];
        }
        lp
    }
}

fn x0(d: usize) -> Vec<f64> {
    (0..d).map(|i| 0.3 * ((i % 5) as f64 - 2.0)).collect()
}

fn run(chain: &mut Smile<f64>, target: &mut NoisyGaussian, n: usize) -> Vec<smile::SmileStepInfo<f64>> {
    (0..n)
        .map(|_| {
            target.next_batch();
            let t = &*target;
            chain.step_with(&mut |x: &[f64], g: &mut [f64]| t.eval(x, g)).unwrap()
        })
        .collect()
}

#[test]
fn construction_and_settings_are_validated() {
    let d = 4;
    let mut ws = vec![0.0; Smile::<f64>::workspace_len(d)];
    assert_eq!(Smile::<f64>::workspace_len(d), 8 * d);
    let ok = SmileConfig::smile(0.1);
    assert_eq!(Smile::new(ok, &[1.0], &mut ws[..8], 0, 0).err(), Some(Error::DimensionTooSmall));
    assert_eq!(Smile::new(ok, &x0(d), &mut ws[..8 * d - 1], 0, 0).err(), Some(Error::BufferLength));
    assert_eq!(Smile::new(ok, &[1.0, f64::NAN, 0.0, 0.0], &mut ws, 0, 0).err(), Some(Error::InvalidValue));
    for (cfg, e) in [
        (SmileConfig { step_size: f64::NAN, ..ok }, Error::InvalidStepSize),
        (SmileConfig { step_size: -0.1, ..ok }, Error::InvalidStepSize),
        (SmileConfig { step_size: f64::INFINITY, ..ok }, Error::InvalidStepSize),
        (SmileConfig { decoherence_length: 0.0, ..ok }, Error::InvalidDecoherenceLength),
        (SmileConfig { decoherence_length: f64::NAN, ..ok }, Error::InvalidDecoherenceLength),
        (SmileConfig { grad_clip: f64::NAN, ..ok }, Error::InvalidSetting),
        (SmileConfig { grad_clip: 0.0, ..ok }, Error::InvalidSetting),
        (SmileConfig { tuner: GammaTunerConfig { reset_prob: 0.0, ..ok.tuner }, ..ok }, Error::InvalidSetting),
        (SmileConfig { tuner: GammaTunerConfig { adaption_prob: f64::NAN, ..ok.tuner }, ..ok }, Error::InvalidSetting),
        (SmileConfig { tuner: GammaTunerConfig { smoothing_factor: 2.0, ..ok.tuner }, ..ok }, Error::InvalidSetting),
    ] {
        assert_eq!(Smile::new(cfg, &x0(d), &mut ws, 0, 0).err(), Some(e), "{cfg:?}");
    }
    let mut c = Smile::new(ok, &x0(d), &mut ws, 0, 0).unwrap();
    // tell with nothing pending.
    assert_eq!(c.tell(0.0).err(), Some(Error::OutOfOrder));
    // Mid-step: settings are refused.
    let _ = c.ask();
    assert_eq!(c.set_config(ok).err(), Some(Error::OutOfOrder));
    assert_eq!(c.set_step_size(0.2).err(), Some(Error::OutOfOrder));
    assert_eq!(c.set_position(&x0(d)).err(), Some(Error::OutOfOrder));
    let mut t = NoisyGaussian::new(d, 0.0, 1);
    run(&mut c, &mut t, 1);
    // Mode and preconditioning are fixed; other settings change.
    assert_eq!(c.set_config(ok.reference()).err(), Some(Error::InvalidSetting));
    assert_eq!(c.set_config(SmileConfig::psmile(0.1)).err(), Some(Error::InvalidSetting));
    let cfg2 = SmileConfig { integrator: Integrator::Yoshida, ..c.config() };
    c.set_config(cfg2).unwrap();
    assert_eq!(c.config(), cfg2);
    assert_eq!(c.set_step_size(0.0).err(), Some(Error::InvalidStepSize));
    assert_eq!(c.set_position(&[0.0; 3]).err(), Some(Error::BufferLength));
    assert_eq!(c.set_momentum(&[f64::INFINITY, 0.0, 0.0, 0.0]).err(), Some(Error::InvalidValue));
}

#[test]
fn requests_name_step_and_stage_and_ask_is_idempotent() {
    for integ in Integrator::ALL {
        let d = 3;
        let mut ws = vec![0.0; Smile::<f64>::workspace_len(d)];
        let mut c = Smile::new(SmileConfig { integrator: integ, ..SmileConfig::smile(0.05) }, &x0(d), &mut ws, 0, 0).unwrap();
        let m = integ.grads_per_step();
        for step in 1..=3u64 {
            for stage in 1..=m {
                let x1: Vec<f64> = {
                    let r = c.ask();
                    assert_eq!((r.step, r.stage), (step, stage), "{integ:?}");
                    r.x.to_vec()
                };
                let r = c.ask();
                assert_eq!(r.x, &x1[..], "ask must not advance");
                let lp = -0.5 * r.x.iter().map(|v| v * v).sum::<f64>();
                for (g, x) in r.grad.iter_mut().zip(r.x.iter()) {
                    *g = -x;
                }
                match c.tell(lp).unwrap() {
                    SmileProgress::NeedEval => assert!(stage < m),
                    SmileProgress::Step(info) => {
                        assert_eq!(stage, m);
                        assert_eq!(info.step, step);
                        assert_eq!(info.grad_evals, step * m as u64);
                    }
                }
            }
        }
    }
}

/// Bytes of a state, for bit-exact comparisons and corruption tests.
fn bytes<T: Copy>(s: &T) -> Vec<u8> {
    // SAFETY: reading the bytes of a plain-data Copy value (padding bytes
    // of SmileState are explicit fields, so every byte is initialised).
    unsafe { std::slice::from_raw_parts(s as *const T as *const u8, std::mem::size_of::<T>()).to_vec() }
}

fn checkpoint_roundtrip(cfg: SmileConfig<f64>) {
    let d = 7;
    let mut ws = vec![0.0; Smile::<f64>::workspace_len(d)];
    let mut t = NoisyGaussian::new(d, 3.0, 5);
    let mut a = Smile::new(cfg, &x0(d), &mut ws, 11, 2).unwrap();
    run(&mut a, &mut t, 60);
    // Checkpoint in the middle of a step: stage 1 told, stage 2 pending.
    t.next_batch();
    {
        let r = a.ask();
        let lp = t.eval(r.x, r.grad);
        assert_eq!(a.tell(lp).unwrap(), SmileProgress::NeedEval);
    }
    let (st, ws_a) = a.into_parts();
    let saved_ws = ws_a.to_vec();
    let saved_t = (t.rng, t.xi.clone());
    let mut a = Smile::from_parts(st, ws_a).unwrap();
    let finish = |c: &mut Smile<f64>, t: &NoisyGaussian| c.step_with(&mut |x: &[f64], g: &mut [f64]| t.eval(x, g)).unwrap();
    let mut trace_a = vec![finish(&mut a, &t)];
    trace_a.extend(run(&mut a, &mut t, 80));
    let end_a = (bytes(&a.state()), a.position().to_vec(), a.gradient().to_vec(), a.grad_sd().to_vec());

    let mut ws_b = saved_ws;
    let mut b = Smile::from_parts(st, &mut ws_b).unwrap();
    let mut t2 = NoisyGaussian { sigma: t.sigma, rng: saved_t.0, xi: saved_t.1 };
    let mut trace_b = vec![finish(&mut b, &t2)];
    trace_b.extend(run(&mut b, &mut t2, 80));
    let end_b = (bytes(&b.state()), b.position().to_vec(), b.gradient().to_vec(), b.grad_sd().to_vec());
    assert_eq!(trace_a, trace_b, "{cfg:?}");
    assert_eq!(end_a, end_b, "{cfg:?}");
    assert!(trace_a.iter().any(|i| i.step_size_change != 0) || cfg.tuner.adaption_strength == 0.0, "the tuner should have moved ε");
}

#[test]
fn checkpoint_resume_is_bit_identical() {
    checkpoint_roundtrip(SmileConfig::smile(0.2));
    checkpoint_roundtrip(SmileConfig::psmile(0.2).reference());
    checkpoint_roundtrip(SmileConfig { decoherence_length: 2.0, integrator: Integrator::Yoshida, ..SmileConfig::psmile(0.2) });
    checkpoint_roundtrip(SmileConfig::naive(0.2));
}

#[test]
fn corrupt_or_mismatched_checkpoints_are_refused() {
    let d = 3;
    let mut ws = vec![0.0; Smile::<f64>::workspace_len(d)];
    let c = Smile::new(SmileConfig::smile(0.1), &x0(d), &mut ws, 0, 0).unwrap();
    let (st, ws) = c.into_parts();
    assert_eq!(Smile::from_parts(st, &mut ws[..8 * d - 1]).err(), Some(Error::BufferLength));
    let mut ws_big = vec![0.0; Smile::<f64>::workspace_len(d + 1)];
    assert_eq!(Smile::from_parts(st, &mut ws_big).err(), Some(Error::BufferLength));
    for fill in [0x00u8, 0xFF, 0x7F] {
        let mut bad: SmileState<f64> = st;
        // SAFETY: SmileState is plain integers and floats; any bit pattern is a value.
        unsafe { std::ptr::write_bytes(&mut bad as *mut SmileState<f64> as *mut u8, fill, std::mem::size_of::<SmileState<f64>>()) };
        assert!(Smile::from_parts(bad, ws).is_err(), "fill {fill:#x}");
    }
    assert!(Smile::from_parts(st, ws).is_ok());
}

/// Drives a chain past burn-in, then makes step `bad` evaluate with `poison`
/// applied to its last stage; returns the chain's view before and after.
#[allow(clippy::type_complexity)]
fn poisoned_step(
    mode: SmileMode,
    poison: fn(&mut [f64], f64) -> f64,
) -> (smile::SmileStepInfo<f64>, Vec<f64>, Vec<f64>, f64, Vec<f64>, Vec<f64>, f64, Smile<'static, f64>, SmileState<f64>) {
    let d = 6;
    let ws: &'static mut [f64] = Box::leak(vec![0.0; Smile::<f64>::workspace_len(d)].into_boxed_slice());
    let cfg = if mode == SmileMode::Reference { SmileConfig::smile(0.1).reference() } else { SmileConfig::smile(0.1) };
    let mut c = Smile::new(cfg, &x0(d), ws, 0, 0).unwrap();
    let mut t = NoisyGaussian::new(d, 2.0, 3);
    run(&mut c, &mut t, 50);
    let (x_before, g_before, lp_before) = (c.position().to_vec(), c.gradient().to_vec(), c.logdensity());
    let st_before = c.state();
    t.next_batch();
    let info = c
        .step_with(&mut |x: &[f64], g: &mut [f64]| {
            let lp = t.eval(x, g);
            poison(g, lp)
        })
        .unwrap();
    (info, x_before, g_before, lp_before, c.position().to_vec(), c.gradient().to_vec(), c.logdensity(), c, st_before)
}

#[test]
fn reset_restores_gradient_and_logdensity_only_in_corrected_mode() {
    // A log density off by 1e4 at both stages of one step: finite, but A far
    // beyond the reset quantile.
    fn shift(_: &mut [f64], lp: f64) -> f64 {
        lp + 1e4
    }
    let (info, x_b, g_b, lp_b, x_a, g_a, lp_a, c, before) = poisoned_step(SmileMode::Corrected, shift);
    assert!(info.reset() && info.diverged());
    assert_eq!((info.resets, info.divergences), (before.resets() + 1, before.divergences() + 1));
    assert!(info.abs_energy_change > 1e3);
    assert_eq!(x_a, x_b, "position restored");
    assert_eq!((g_a, lp_a), (g_b, lp_b), "corrected: gradient and log p restored");
    let mut u = vec![1.0; 6];
    c.momentum(&mut u).unwrap();
    assert!(u.iter().all(|&v| v == 0.0), "momentum zeroed");
    // Corrected mode caps the outlier in the averages at the reset quantile.
    assert!(info.energy_mean < 1e2, "mean {}", info.energy_mean);

    let (info, x_b, g_b, lp_b, x_a, g_a, lp_a, _, _) = poisoned_step(SmileMode::Reference, shift);
    assert!(info.reset());
    assert_eq!(x_a, x_b, "position restored");
    assert_ne!(g_a, g_b, "reference: the rejected proposal's gradient is kept");
    assert!((lp_a - lp_b).abs() > 1e3 && lp_a == info.logdensity, "reference: the rejected log p is kept");
    // The reference feeds the whole outlier to the averages: m ≥ 0.01·A.
    assert!(info.energy_mean > 0.009 * info.abs_energy_change);
}

/// Resets in the 200 steps after `poisoned_step`'s chain takes an ordinary step instead.
fn control_resets(mode: SmileMode) -> usize {
    let (.., mut c, _) = poisoned_step(mode, |_, lp| lp);
    let mut t = NoisyGaussian::new(6, 2.0, 99);
    run(&mut c, &mut t, 200).iter().filter(|i| i.reset()).count()
}

#[test]
fn bad_evaluations_never_poison_the_chain() {
    fn nan_grad(g: &mut [f64], lp: f64) -> f64 {
        g[2] = f64::NAN;
        lp
    }
    fn inf_grad(g: &mut [f64], lp: f64) -> f64 {
        g[0] = f64::NEG_INFINITY;
        lp
    }
    fn nan_logp(_: &mut [f64], _: f64) -> f64 {
        f64::NAN
    }
    fn inf_logp(_: &mut [f64], _: f64) -> f64 {
        f64::INFINITY
    }
    fn huge_grad(g: &mut [f64], lp: f64) -> f64 {
        g.iter_mut().for_each(|v| *v *= 1e12);
        lp
    }
    for mode in [SmileMode::Corrected, SmileMode::Reference] {
        for (name, poison) in [
            ("nan_grad", nan_grad as fn(&mut [f64], f64) -> f64),
            ("inf_grad", inf_grad),
            ("nan_logp", nan_logp),
            ("inf_logp", inf_logp),
            ("huge_grad", huge_grad),
        ] {
            let (info, x_b, g_b, lp_b, x_a, g_a, lp_a, mut c, before) = poisoned_step(mode, poison);
            let tuner_before_mean = before.tuner().mean;
            let what = format!("{mode:?} {name}");
            let grad_entry_bad = name.ends_with("grad");
            if mode == SmileMode::Reference && (name == "nan_grad" || name == "inf_grad") {
                // The reference cleans the entry (NaN → 0, −∞ → −1e6) and goes on;
                // the cleaning is counted, never silent.
                assert!(info.flagged_gradients >= 1, "{what}");
                assert!(info.abs_energy_change.is_finite(), "{what}");
            } else if name == "huge_grad" {
                // Clipped to ±1e6: finite, but a huge energy error → reset.
                assert!(info.flagged_gradients >= 1 && info.reset(), "{what}: {info:?}");
                assert_eq!(x_a, x_b, "{what}");
            } else {
                assert_eq!(info.divergence, Divergence::NonFinite, "{what}");
                assert_eq!((info.divergences, info.resets), (before.divergences() + 1, before.resets()), "{what}");
                assert_eq!((&x_a, &g_a, lp_a), (&x_b, &g_b, lp_b), "{what}: everything restored");
                assert!(!grad_entry_bad || info.flagged_gradients >= 1, "{what}");
                assert!(info.step_size_change == -1 && info.next_step_size < info.step_size, "{what}");
            }
            assert!(info.energy_mean.is_finite() && info.energy_std.is_finite(), "{what}");
            // The chain keeps going, and the tuner is not poisoned: in corrected mode
            // the averages stay at the scale of ordinary steps.
            let mut t = NoisyGaussian::new(6, 2.0, 99);
            let after = run(&mut c, &mut t, 200);
            assert!(after.iter().all(|i| i.divergence != Divergence::NonFinite), "{what}");
            assert!(c.position().iter().all(|v| v.is_finite()), "{what}");
            let last = after.last().unwrap();
            assert!(last.energy_mean.is_finite() && last.energy_std.is_finite(), "{what}");
            if mode == SmileMode::Corrected {
                assert!(last.energy_mean < 10.0 * tuner_before_mean.max(1.0), "{what}: m = {}", last.energy_mean);
                let resets_after = after.iter().filter(|i| i.reset()).count();
                // Ordinary steps reset at ~2% (ρ = 0.98); allow up to 10%.
                // The same chain with an ordinary step in place of the poisoned
                // one resets at its own rate (about 11% on this noisy target);
                // the poisoned chain may differ by chance, not by a storm.
                let control = control_resets(mode);
                assert!(resets_after <= control + 10, "{what}: {resets_after} resets in 200 steps vs {control} without the poison");
            }
        }
    }
}

#[test]
fn f32_chain_runs_and_tracks_f64() {
    // Same chain in f32 and f64 over the burn-in steps (no decisions): the
    // trajectories agree to f32 rounding amplified by a few per step.
    let d = 5;
    let mut ws64 = vec![0.0f64; Smile::<f64>::workspace_len(d)];
    let mut ws32 = vec![0.0f32; Smile::<f32>::workspace_len(d)];
    let x: Vec<f64> = x0(d);
    let x32: Vec<f32> = x.iter().map(|v| *v as f32).collect();
    let mut a = Smile::new(SmileConfig::psmile(0.05), &x, &mut ws64, 0, 0).unwrap();
    let mut b = Smile::new(SmileConfig::psmile(0.05f32), &x32, &mut ws32, 0, 0).unwrap();
    for _ in 0..9 {
        a.step_with(&mut smile::targets::StdGaussian).unwrap();
        b.step_with(&mut smile::targets::StdGaussian).unwrap();
    }
    for (p, q) in a.position().iter().zip(b.position()) {
        assert!((p - q.to_f64()).abs() < 1e-5, "{p} vs {q}");
    }
    for _ in 0..500 {
        let i = b.step_with(&mut smile::targets::StdGaussian).unwrap();
        assert!(i.divergence != Divergence::NonFinite);
    }
    assert!(b.position().iter().all(|v| v.is_finite()));
}

/// Runs `steps` steps on a noisy Gaussian (gradient `−x + σξ`, ξ fresh per
/// step, so `σ` large makes entries exceed a small clip now and then), either
/// on one chain or on a chain rebuilt from its parts after every step, and
/// returns the step infos and the final state bytes and workspace.
fn traced<T: Real>(cfg: SmileConfig<T>, d: usize, sigma: f64, steps: usize, rebuild: bool) -> (Vec<smile::SmileStepInfo<T>>, Vec<u8>, Vec<T>) {
    traced_switch(cfg, d, sigma, steps, rebuild, None)
}

/// [`traced`], with the settings changed to `switch.1` before step `switch.0`.
fn traced_switch<T: Real>(
    cfg: SmileConfig<T>,
    d: usize,
    sigma: f64,
    steps: usize,
    rebuild: bool,
    switch: Option<(usize, SmileConfig<T>)>,
) -> (Vec<smile::SmileStepInfo<T>>, Vec<u8>, Vec<T>) {
    let mut ws = vec![T::ZERO; Smile::<T>::workspace_len(d)];
    let x: Vec<T> = x0(d).iter().map(|&v| T::from_f64(v)).collect();
    let (mut st, _) = Smile::new(cfg, &x, &mut ws, 3, 1).unwrap().into_parts();
    let mut rng = Rng::new(17, 0);
    let mut xi = vec![0.0f64; d];
    let mut infos = Vec::new();
    let mut chain = Smile::from_parts(st, &mut ws).unwrap();
    for step in 0..steps {
        if let Some((at, cfg2)) = switch {
            if step == at {
                chain.set_config(cfg2).unwrap();
            }
        }
        fill_normals(&mut rng, &mut xi);
        let mut f = |x: &[T], g: &mut [T]| -> T {
            let mut lp = 0.0;
            for i in 0..x.len() {
                let xv = x[i].to_f64();
                g[i] = T::from_f64(-xv + sigma * xi[i]);
                lp += -0.5 * xv * xv + sigma * xi[i] * xv;
            }
            T::from_f64(lp)
        };
        infos.push(chain.step_with(&mut f).unwrap());
        if rebuild {
            let (s, w) = chain.into_parts();
            st = s;
            chain = Smile::from_parts(st, w).unwrap();
            chain.drop_derived();
        }
    }
    // The states are compared without the derived sums, which only the
    // chain that kept them still holds.
    chain.drop_derived();
    let (st, w) = chain.into_parts();
    (infos, bytes(&st), w.to_vec())
}

/// What a chain derives and keeps between steps (the next step's first
/// reduction made by the last kick or by pSMILE's preconditioner pass, in
/// the state; the tuner's constants, outside it) must not change a bit: a
/// chain rebuilt from its parts after every step with all of it dropped
/// recomputes it and must match a chain that kept it.
#[test]
fn derived_values_kept_between_steps_change_no_bit() {
    fn check<T: Real>() {
        let base = |c: SmileConfig<T>, clip: f64| SmileConfig { grad_clip: T::from_f64(clip), ..c };
        let eps = T::from_f64(0.3);
        let cfgs = [
            base(SmileConfig::smile(eps), 1e6),
            base(SmileConfig::smile(eps), 4.0),
            base(SmileConfig::smile(eps).reference(), 4.0),
            base(SmileConfig::naive(eps), 4.0),
            base(SmileConfig::psmile(eps), 4.0),
            base(SmileConfig::psmile(eps).reference(), 4.0),
            SmileConfig { decoherence_length: T::from_f64(3.0), ..base(SmileConfig::smile(eps), 4.0) },
            SmileConfig { integrator: Integrator::VelocityVerlet, ..base(SmileConfig::smile(eps), 4.0) },
        ];
        for cfg in cfgs {
            for d in [2usize, 7, 33, 100] {
                let a = traced(cfg, d, 1.5, 150, false);
                let b = traced(cfg, d, 1.5, 150, true);
                assert!(a.0 == b.0, "{} {cfg:?} d={d}: step infos differ", T::NAME);
                assert!(a.1 == b.1, "{} {cfg:?} d={d}: states differ", T::NAME);
                let same_ws = a.2.iter().zip(&b.2).all(|(p, q)| p.to_f64().to_bits() == q.to_f64().to_bits());
                assert!(same_ws, "{} {cfg:?} d={d}: workspaces differ", T::NAME);
                assert!(
                    a.0.iter().any(|i| i.flagged_gradients > 0) || cfg.grad_clip > T::from_f64(100.0),
                    "{cfg:?} d={d}: no clipped gradient exercised the cleaning pass"
                );
            }
        }
    }
    check::<f64>();
    check::<f32>();
}

/// What a chain derives from its settings (the tuner's levels and cache,
/// which a step no longer compares with the settings) follows
/// `set_config`: a chain that keeps them across a change of levels and
/// integrator must match one that rebuilds them every step.
#[test]
fn derived_values_follow_a_settings_change() {
    fn check<T: Real>() {
        let eps = T::from_f64(0.3);
        let cfg = SmileConfig::smile(eps);
        let tuner = GammaTunerConfig { reset_prob: T::from_f64(0.9), adaption_prob: T::from_f64(0.3), ..cfg.tuner };
        let cfg2 = SmileConfig { tuner, integrator: Integrator::Yoshida, ..cfg };
        let a = traced_switch(cfg, 33, 1.5, 400, false, Some((200, cfg2)));
        let b = traced_switch(cfg, 33, 1.5, 400, true, Some((200, cfg2)));
        assert!(a.0 == b.0, "{}: step infos differ", T::NAME);
        assert!(a.1 == b.1, "{}: states differ", T::NAME);
        // The change is visible: more step-size moves after it.
        let moves = |r: core::ops::Range<usize>| a.0[r].iter().filter(|i| i.next_step_size != i.step_size).count();
        assert!(moves(300..400) > moves(100..200), "{}: the new levels did not act", T::NAME);
    }
    check::<f64>();
    check::<f32>();
}

/// The tuner's bracket cache (built only in a chain that persists, after
/// dozens of steps) must not change a decision: long runs of the exact rule,
/// resets on and off, kept against rebuilt every step. Checked to fail when
/// the cache's lower bounds are moved 5 % above the thresholds (finer errors
/// are the unit tests' job: `tune::gamma_brackets`).
#[test]
fn tuner_cache_changes_no_bit_over_long_runs() {
    fn check<T: Real>() {
        let eps = T::from_f64(0.3);
        let no_reset = |c: SmileConfig<T>| SmileConfig { tuner: GammaTunerConfig { reset_prob: T::ONE, ..c.tuner }, ..c };
        for cfg in [SmileConfig::smile(eps), no_reset(SmileConfig::smile(eps)), SmileConfig::psmile(eps)] {
            let a = traced(cfg, 33, 1.5, 4000, false);
            let b = traced(cfg, 33, 1.5, 4000, true);
            assert!(a.0 == b.0, "{} {cfg:?}: step infos differ", T::NAME);
            assert!(a.1 == b.1 && a.2.iter().zip(&b.2).all(|(p, q)| p.to_f64().to_bits() == q.to_f64().to_bits()), "{} {cfg:?}: states differ", T::NAME);
            let moves = a.0.iter().filter(|i| i.next_step_size != i.step_size).count();
            assert!(moves > 200, "{} {cfg:?}: only {moves} step-size moves", T::NAME);
        }
    }
    check::<f64>();
    check::<f32>();
}
