//! MCLMC through its Rust API: protocol, guardrails, bad input, checkpoints.

use smile::targets::StdGaussian;
use smile::{Divergence, Error, Integrator, LogDensity, Mclmc, MclmcConfig, Progress, RequestKind};

fn cfg(eps: f64, l: f64) -> MclmcConfig<f64> {
    MclmcConfig { step_size: eps, decoherence_length: l, ..MclmcConfig::for_dim(4) }
}

#[test]
fn bad_construction_returns_errors() {
    let mut ws = vec![0.0; 6 * 4];
    let x = [0.5; 4];
    assert_eq!(Mclmc::new(cfg(0.5, 2.0), &[1.0], &mut ws[..6], 0, 0).err(), Some(Error::DimensionTooSmall));
    assert_eq!(Mclmc::new(cfg(0.5, 2.0), &[], &mut ws[..0], 0, 0).err(), Some(Error::DimensionTooSmall));
    assert_eq!(Mclmc::new(cfg(0.5, 2.0), &x, &mut ws[..23], 0, 0).err(), Some(Error::BufferLength));
    let mut big = vec![0.0; 25];
    assert_eq!(Mclmc::new(cfg(0.5, 2.0), &x, &mut big, 0, 0).err(), Some(Error::BufferLength));
    for eps in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        assert_eq!(Mclmc::new(cfg(eps, 2.0), &x, &mut ws, 0, 0).err(), Some(Error::InvalidStepSize), "eps={eps}");
    }
    for l in [0.0, -1.0, f64::NAN, f64::NEG_INFINITY] {
        assert_eq!(Mclmc::new(cfg(0.5, l), &x, &mut ws, 0, 0).err(), Some(Error::InvalidDecoherenceLength), "L={l}");
    }
    let c = MclmcConfig { max_energy_change: f64::NAN, ..cfg(0.5, 2.0) };
    assert_eq!(Mclmc::new(c, &x, &mut ws, 0, 0).err(), Some(Error::InvalidSetting));
    assert_eq!(Mclmc::new(cfg(0.5, 2.0), &[0.0, f64::NAN, 0.0, 0.0], &mut ws, 0, 0).err(), Some(Error::InvalidValue));
    assert!(Mclmc::new(cfg(0.5, f64::INFINITY), &x, &mut ws, 0, 0).is_ok());
}

#[test]
fn protocol_order_is_enforced() {
    let mut ws = vec![0.0; 6 * 4];
    let mut c = Mclmc::new(cfg(0.5, 2.0), &[0.5; 4], &mut ws, 1, 0).unwrap();
    // The initial evaluation comes first and is idempotent until told.
    let r = c.ask();
    assert_eq!((r.kind, r.step, r.stage), (RequestKind::Initial, 0, 0));
    assert_eq!(r.x, &[0.5; 4]);
    // A failed initial evaluation is refused and leaves the chain waiting for it.
    assert_eq!(c.tell(f64::NAN), Err(Error::NonFiniteInitialPoint));
    let r = c.ask();
    assert_eq!(r.kind, RequestKind::Initial);
    r.grad.copy_from_slice(&[-0.5; 4]);
    assert_eq!(c.tell(-0.5), Ok(Progress::Initialized));
    // Nothing is pending now: tell is out of order.
    assert_eq!(c.tell(0.0), Err(Error::OutOfOrder));
    let r = c.ask();
    assert_eq!((r.kind, r.step, r.stage), (RequestKind::Stage, 1, 1));
    let x1 = r.x.to_vec();
    // Asking twice returns the same point without advancing.
    assert_eq!(c.ask().x, &x1[..]);
    // Settings cannot change mid-step.
    assert_eq!(c.set_config(cfg(0.1, 1.0)), Err(Error::OutOfOrder));
    assert_eq!(c.set_preconditioner(None), Err(Error::OutOfOrder));
    assert_eq!(c.set_momentum(&[1.0; 4]), Err(Error::OutOfOrder));
    assert_eq!(c.set_position(&[1.0; 4]), Err(Error::OutOfOrder));
    let mut f = StdGaussian;
    let r = c.ask();
    let lp = f.logp(r.x, r.grad);
    assert_eq!(c.tell(lp), Ok(Progress::NeedEval));
    let r = c.ask();
    assert_eq!((r.step, r.stage), (1, 2));
    let lp = f.logp(r.x, r.grad);
    match c.tell(lp) {
        Ok(Progress::Step(info)) => {
            assert_eq!(info.step, 1);
            assert_eq!(info.grad_evals, 3);
            assert!(!info.diverged());
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(c.set_config(cfg(0.1, 1.0)), Ok(()));
}

#[test]
fn bad_setters_are_refused_without_change() {
    let mut ws = vec![0.0; 6 * 4];
    let mut c = Mclmc::new(cfg(0.5, 2.0), &[0.5; 4], &mut ws, 1, 0).unwrap();
    assert_eq!(c.set_momentum(&[0.0; 4]), Err(Error::InvalidValue));
    assert_eq!(c.set_momentum(&[1.0; 3]), Err(Error::BufferLength));
    assert_eq!(c.set_momentum(&[f64::INFINITY, 0.0, 0.0, 0.0]), Err(Error::InvalidValue));
    assert_eq!(c.set_preconditioner(Some(&[1.0, 2.0, 0.0, 1.0])), Err(Error::InvalidValue));
    assert_eq!(c.set_preconditioner(Some(&[1.0, 2.0, -1.0, 1.0])), Err(Error::InvalidValue));
    assert_eq!(c.set_preconditioner(Some(&[1.0, f64::NAN, 1.0, 1.0])), Err(Error::InvalidValue));
    assert_eq!(c.set_preconditioner(Some(&[1.0; 5])), Err(Error::BufferLength));
    assert_eq!(c.preconditioner(), &[1.0; 4]);
    assert_eq!(c.set_config(cfg(f64::NAN, 1.0)), Err(Error::InvalidStepSize));
    assert_eq!(c.config().step_size, 0.5);
    let mut out = [0.0; 3];
    assert_eq!(c.momentum(&mut out), Err(Error::BufferLength));
}

/// The standard Gaussian, except that evaluations number 6 and 12 (counting
/// the initial one) return `value` as the log density or in the gradient.
struct Flaky {
    calls: u64,
    value: f64,
    in_grad: bool,
}

impl LogDensity<f64> for Flaky {
    fn logp(&mut self, x: &[f64], g: &mut [f64]) -> f64 {
        self.calls += 1;
        let lp = StdGaussian.logp(x, g);
        if self.calls != 6 && self.calls != 12 {
            lp
        } else if self.in_grad {
            g[1] = self.value;
            lp
        } else {
            self.value
        }
    }
}

#[test]
fn non_finite_evaluations_are_counted_divergences_and_revert() {
    for in_grad in [false, true] {
        for value in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let mut ws = vec![0.0; 6 * 4];
            let mut c = Mclmc::new(cfg(0.7, 2.0), &[0.5, -0.3, 0.2, 1.0], &mut ws, 9, 0).unwrap();
            // Evaluation 6 is stage 1 of step 3 (1 + 2·2 + 1); after that divergence
            // ends step 3 early, evaluation 12 is stage 2 of step 6.
            let mut f = Flaky { calls: 0, value, in_grad };
            let mut before = Vec::new();
            let mut diverged_steps = Vec::new();
            for step in 1..=20u64 {
                before.clear();
                before.extend_from_slice(c.position());
                let lp_before = c.logdensity();
                let info = c.step_with(&mut f).unwrap();
                assert_eq!(info.step, step);
                if info.diverged() {
                    diverged_steps.push(step);
                    assert_eq!(info.divergence, Divergence::NonFinite);
                    assert_eq!(c.position(), &before[..], "position restored");
                    assert_eq!(c.logdensity(), lp_before);
                    assert_eq!((info.energy_change, info.kinetic_change), (0.0, 0.0));
                    let mut g = [0.0; 4];
                    let lp = StdGaussian.logp(c.position(), &mut g);
                    assert_eq!(c.gradient(), &g[..], "gradient restored");
                    assert_eq!(lp, c.logdensity());
                }
                assert!(c.position().iter().all(|v| v.is_finite()));
                assert_eq!(info.divergences, diverged_steps.len() as u64);
            }
            assert_eq!(diverged_steps, [3, 6], "in_grad={in_grad} value={value}");
            assert_eq!(c.state().grad_evals(), 1 + 2 * 20 - 1, "step 3 stopped after its first evaluation");
        }
    }
}

#[test]
fn energy_cutoff_rejects_large_errors() {
    let mut ws = vec![0.0; 6 * 4];
    let c = MclmcConfig { max_energy_change: 1e-6, ..cfg(3.0, 2.0) };
    let mut chain = Mclmc::new(c, &[2.0, -1.0, 0.5, 1.5], &mut ws, 3, 0).unwrap();
    let mut rejected = 0;
    for _ in 0..50 {
        let info = chain.step_with(&mut StdGaussian).unwrap();
        if info.divergence == Divergence::EnergyError {
            rejected += 1;
        } else {
            assert!(info.energy_change.abs() <= 1e-6);
        }
    }
    assert!(rejected > 25, "with ε = 3 almost every step exceeds |ΔE| = 1e-6; rejected {rejected}");
}

fn run_positions(chain: &mut Mclmc<'_, f64>, n: usize) -> Vec<f64> {
    let mut out = Vec::new();
    for _ in 0..n {
        chain.step_with(&mut StdGaussian).unwrap();
        out.extend_from_slice(chain.position());
    }
    out
}

#[test]
fn checkpoint_resume_is_bit_identical() {
    for integ in Integrator::ALL {
        let d = 7;
        let c = MclmcConfig { step_size: 0.9, decoherence_length: 2.5, max_energy_change: f64::INFINITY, integrator: integ };
        let mut ws = vec![0.0; Mclmc::<f64>::workspace_len(d)];
        let mut chain = Mclmc::new(c, &[0.3; 7], &mut ws, 77, 5).unwrap();
        chain.set_preconditioner(Some(&[1.0, 2.0, 0.5, 1.0, 1.5, 0.7, 1.1])).unwrap();
        run_positions(&mut chain, 30);
        // Checkpoint in the middle of a step too: after the first evaluation request.
        let r = chain.ask();
        let lp = StdGaussian.logp(r.x, r.grad);
        let saved_state = chain.state();
        let (_, ws_ref) = chain.into_parts();
        let saved_ws = ws_ref.to_vec();
        let mut chain = Mclmc::from_parts(saved_state, ws_ref).unwrap();
        let finish = |chain: &mut Mclmc<'_, f64>, lp: f64| {
            let mut p = chain.tell(lp).unwrap();
            while !matches!(p, Progress::Step(_)) {
                let r = chain.ask();
                let lp = StdGaussian.logp(r.x, r.grad);
                p = chain.tell(lp).unwrap();
            }
        };
        finish(&mut chain, lp);
        let a = run_positions(&mut chain, 40);
        let mut ws2 = saved_ws.clone();
        let mut chain2 = Mclmc::from_parts(saved_state, &mut ws2).unwrap();
        finish(&mut chain2, lp);
        let b = run_positions(&mut chain2, 40);
        assert_eq!(a.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), b.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), "{integ:?}");
        assert_eq!(chain.state(), chain2.state());
    }
}

#[test]
fn corrupt_checkpoints_are_refused() {
    let mut ws = vec![0.0; 6 * 4];
    let chain = Mclmc::new(cfg(0.5, 2.0), &[0.5; 4], &mut ws, 1, 0).unwrap();
    let st = chain.state();
    let (_, ws) = chain.into_parts();
    assert_eq!(Mclmc::from_parts(st, &mut ws[..18]).err(), Some(Error::BufferLength));
    // Corrupt single fields through the byte representation, as a C caller might.
    let n = core::mem::size_of_val(&st);
    let bytes = unsafe { core::slice::from_raw_parts(&st as *const _ as *const u8, n) }.to_vec();
    let mut refused = 0;
    for pos in 0..n {
        let mut b = bytes.clone();
        b[pos] ^= 0xff;
        let st2: smile::MclmcState<f64> = unsafe { core::ptr::read_unaligned(b.as_ptr() as *const _) };
        match Mclmc::from_parts(st2, &mut ws[..]) {
            Ok(mut c) => {
                // Accepted corruptions (RNG state, log density, counters, settings
                // that are still valid) must still give a working chain.
                for _ in 0..5 {
                    c.step_with(&mut StdGaussian).unwrap();
                }
                assert!(c.position().iter().all(|v| v.is_finite()), "byte {pos}");
            }
            Err(_) => refused += 1,
        }
    }
    assert!(refused > 0);
}

#[test]
fn seeds_and_streams_select_reproducible_chains() {
    let run = |seed, stream| {
        let mut ws = vec![0.0; 6 * 4];
        let mut c = Mclmc::new(cfg(0.8, 1.5), &[0.5; 4], &mut ws, seed, stream).unwrap();
        run_positions(&mut c, 20)
    };
    assert_eq!(run(1, 2), run(1, 2));
    assert_ne!(run(1, 2), run(1, 3));
    assert_ne!(run(1, 2), run(2, 2));
}

#[test]
fn f32_chain_runs_and_matches_protocol() {
    let d = 16;
    let mut ws = vec![0.0f32; Mclmc::<f32>::workspace_len(d)];
    let mut c = Mclmc::new(MclmcConfig::for_dim(d), &vec![1.0f32; d], &mut ws, 4, 0).unwrap();
    for _ in 0..200 {
        let info = c.step_with(&mut StdGaussian).unwrap();
        assert!(!info.diverged() && info.energy_change.is_finite());
    }
    assert_eq!(c.state().grad_evals(), 401);
}

/// Standard Gaussian whose 25th evaluation returns NaN (a divergence).
struct NanOnce(u64);

impl LogDensity<f64> for NanOnce {
    fn logp(&mut self, x: &[f64], g: &mut [f64]) -> f64 {
        self.0 += 1;
        let lp = StdGaussian.logp(x, g);
        if self.0 == 25 {
            f64::NAN
        } else {
            lp
        }
    }
}

/// A chain keeps the next step's first reduction from the last pass of
/// the step before (in its state, so checkpoints keep it too). A chain
/// whose sums are dropped before every step makes the reduction pass
/// instead: the two must agree to the bit, through every integrator,
/// refresh or none, fused or split, with and without a preconditioner,
/// across divergences (which drop the cached sums), a new preconditioner
/// and a new momentum (ditto) and a new step size (which keeps them), at
/// sizes with vector tails.
#[test]
fn cached_first_reduction_changes_no_bit() {
    use smile::RefreshMode;
    for integ in Integrator::ALL {
        for (l, mode) in [(2.5, RefreshMode::Fused), (f64::INFINITY, RefreshMode::Fused), (2.5, RefreshMode::Split)] {
            for d in [7usize, 37] {
                for precond in [false, true] {
                    let x0: Vec<f64> = (0..d).map(|i| 0.1 * i as f64 - 0.5).collect();
                    let s: Vec<f64> = (0..d).map(|i| 0.6 + 0.05 * i as f64).collect();
                    let s2: Vec<f64> = s.iter().map(|v| 1.0 / v).collect();
                    let u_new: Vec<f64> = (0..d).map(|i| ((i * 7) % 5) as f64 - 1.7).collect();
                    let run = |rebuild: bool, cutoff: f64| {
                        let c = MclmcConfig { step_size: 0.6, decoherence_length: l, max_energy_change: cutoff, integrator: integ };
                        let mut ws = vec![0.0; Mclmc::<f64>::workspace_len(d)];
                        let mut chain = Mclmc::new(c, &x0, &mut ws, 11, 3).unwrap();
                        chain.set_refresh_mode(mode).unwrap();
                        if precond {
                            chain.set_preconditioner(Some(&s)).unwrap();
                        }
                        let mut f = NanOnce(0);
                        let (mut out, mut de) = (Vec::new(), Vec::new());
                        let (mut nan, mut cut) = (0, 0);
                        for step in 0..40 {
                            if rebuild {
                                // A checkpoint round trip keeps the sums (they
                                // are in the state); a setter drops them, even
                                // one that changes nothing.
                                let (st, ws) = chain.into_parts();
                                chain = Mclmc::from_parts(st, ws).unwrap();
                                chain.set_refresh_mode(mode).unwrap();
                            }
                            if step == 10 && precond {
                                chain.set_preconditioner(Some(&s2)).unwrap();
                            }
                            if step == 20 {
                                chain.set_momentum(&u_new).unwrap();
                            }
                            if step == 30 {
                                chain.set_config(MclmcConfig { step_size: 0.45, ..c }).unwrap();
                            }
                            let info = chain.step_with(&mut f).unwrap();
                            nan += (info.divergence == Divergence::NonFinite) as u32;
                            cut += (info.divergence == Divergence::EnergyError) as u32;
                            out.extend(chain.position().iter().map(|v| v.to_bits()));
                            out.push(info.energy_change.to_bits());
                            de.push(info.energy_change.abs());
                        }
                        assert_eq!(nan, 1);
                        (out, chain.state(), de, cut)
                    };
                    // An energy cutoff that rejects some steps after their
                    // last pass, where the sums are made (the NaN step ends
                    // before it): the 3rd quartile of |ΔE| in a pilot run.
                    let (_, _, mut de, _) = run(false, f64::INFINITY);
                    de.sort_by(f64::total_cmp);
                    let (a, sa, _, cut) = run(false, de[30]);
                    let (b, sb, _, _) = run(true, de[30]);
                    assert!(cut >= 1, "{integ:?} L={l} {mode:?} d={d}: {cut} energy rejections");
                    assert!(a == b && sa == sb, "{integ:?} L={l} {mode:?} d={d} precond={precond}");
                }
            }
        }
    }
}

/// A checkpoint taken between steps carries the next step's first
/// reduction (in the state); the chain restored from it continues exactly
/// as the chain that was never interrupted, and so does one restored from
/// the same checkpoint with the sums dropped.
#[test]
fn checkpoint_between_steps_keeps_the_cached_reduction() {
    let d = 37;
    let c = MclmcConfig { step_size: 0.7, decoherence_length: 3.0, ..MclmcConfig::for_dim(d) };
    let x0: Vec<f64> = (0..d).map(|i| (i as f64 * 0.37).sin()).collect();
    let mut ws = vec![0.0; Mclmc::<f64>::workspace_len(d)];
    let mut a = Mclmc::new(c, &x0, &mut ws, 5, 2).unwrap();
    run_positions(&mut a, 25);
    let st = a.state();
    let mut ws_b = a.into_parts().1.to_vec();
    let mut ws_c = ws_b.clone();
    let mut a = Mclmc::from_parts(st, &mut ws).unwrap();
    let want = run_positions(&mut a, 30);
    let mut b = Mclmc::from_parts(st, &mut ws_b).unwrap();
    let got = run_positions(&mut b, 30);
    let mut cc = Mclmc::from_parts(st, &mut ws_c).unwrap();
    cc.set_refresh_mode(smile::RefreshMode::Fused).unwrap();
    // The mode is unchanged, so only the dropped sums tell the states apart.
    assert_ne!(st, cc.state(), "the checkpoint carried the sums");
    let cold = run_positions(&mut cc, 30);
    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&want), bits(&got));
    assert_eq!(bits(&want), bits(&cold));
    assert_eq!(a.state(), b.state());
}
