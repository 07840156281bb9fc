//! API contract of the SGLD family: bad input is an error, calls out of order
//! are refused, checkpoints resume bit for bit, divergences are reverted and
//! counted, schedules and temperature act as documented, f32 and f64 share
//! the code path.

use smile::samplers::fsgld::coupled_sigma;
use smile::{Error, Fsgld, FsgldConfig, Progress, Psgld, PsgldConfig, Real, Schedule, Sghmc, SghmcConfig, Sgld, SgldConfig};

/// `log p = −½|x|²` and its gradient, in any precision.
fn gauss<T: Real>(x: &[T], g: &mut [T]) -> T {
    let mut s = T::ZERO;
    for (gi, &xi) in g.iter_mut().zip(x) {
        *gi = -xi;
        s += xi * xi;
    }
    T::from_f64(-0.5) * s
}

/// Constructs each sampler over a fresh workspace and runs `$body` with it
/// bound to `$c`; `$d` is the dimension, `$T` the precision.
macro_rules! for_each_sampler {
    ($T:ty, $d:expr, |$c:ident| $body:block) => {{
        let d: usize = $d;
        let x0: Vec<$T> = (0..d).map(|i| <$T>::from_f64(0.3 * i as f64 - 0.5)).collect();
        let h = <$T>::from_f64(0.05);
        {
            let mut ws = vec![<$T>::ZERO; Sgld::<$T>::workspace_len(d)];
            let mut $c = Sgld::new(SgldConfig::constant(h), &x0, &mut ws, 1, 0).unwrap();
            $body
        }
        {
            let mut ws = vec![<$T>::ZERO; Psgld::<$T>::workspace_len(d)];
            let mut $c = Psgld::new(PsgldConfig::constant(h), &x0, &mut ws, 2, 0).unwrap();
            $body
        }
        {
            let mut ws = vec![<$T>::ZERO; Sghmc::<$T>::workspace_len(d)];
            let cfg = SghmcConfig { refresh_every: 7, ..SghmcConfig::constant(h, <$T>::from_f64(2.0)) };
            let mut $c = Sghmc::new(cfg, &x0, &mut ws, 3, 0).unwrap();
            $body
        }
        {
            let mut ws = vec![<$T>::ZERO; Fsgld::<$T>::workspace_len(d)];
            let cfg = FsgldConfig { n_perturbations: 2, ..FsgldConfig::constant(h, <$T>::from_f64(0.1)) };
            let mut $c = Fsgld::new(cfg, &x0, &mut ws, 4, 0).unwrap();
            $body
        }
    }};
}

#[test]
fn bad_input_is_an_error() {
    let x = [0.0f64; 3];
    let mut ws = vec![0.0f64; 30];
    // d = 0 (d = 1 is allowed: nothing in the family divides by d − 1).
    assert_eq!(Sgld::new(SgldConfig::constant(0.1), &[], &mut ws[..0], 0, 0).err(), Some(Error::DimensionTooSmall));
    assert_eq!(Psgld::new(PsgldConfig::constant(0.1), &[], &mut ws[..0], 0, 0).err(), Some(Error::DimensionTooSmall));
    assert_eq!(Sghmc::new(SghmcConfig::constant(0.1, 1.0), &[], &mut ws[..0], 0, 0).err(), Some(Error::DimensionTooSmall));
    assert_eq!(Fsgld::new(FsgldConfig::constant(0.1, 0.1), &[], &mut ws[..0], 0, 0).err(), Some(Error::DimensionTooSmall));
    assert!(Sgld::new(SgldConfig::constant(0.1), &[1.0], &mut ws[..4], 0, 0).is_ok());
    // Workspace lengths: 4d, 6d, 5d, 5d.
    assert_eq!(Sgld::<f64>::workspace_len(3), 12);
    assert_eq!(Psgld::<f64>::workspace_len(3), 18);
    assert_eq!(Sghmc::<f64>::workspace_len(3), 15);
    assert_eq!(Fsgld::<f64>::workspace_len(3), 15);
    assert_eq!(Sgld::new(SgldConfig::constant(0.1), &x, &mut ws[..11], 0, 0).err(), Some(Error::BufferLength));
    assert_eq!(Psgld::new(PsgldConfig::constant(0.1), &x, &mut ws[..15], 0, 0).err(), Some(Error::BufferLength));
    assert_eq!(Sghmc::new(SghmcConfig::constant(0.1, 1.0), &x, &mut ws[..16], 0, 0).err(), Some(Error::BufferLength));
    assert_eq!(Fsgld::new(FsgldConfig::constant(0.1, 0.1), &x, &mut ws[..12], 0, 0).err(), Some(Error::BufferLength));
    // Starting point.
    assert_eq!(Sgld::new(SgldConfig::constant(0.1), &[0.0, f64::NAN, 0.0], &mut ws[..12], 0, 0).err(), Some(Error::InvalidValue));
    // Settings.
    let sg = |c: SgldConfig<f64>| Sgld::new(c, &x, &mut [0.0; 12], 0, 0).err();
    for h in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        assert_eq!(sg(SgldConfig::constant(h)), Some(Error::InvalidStepSize));
    }
    for t in [-1.0, f64::NAN, f64::INFINITY] {
        assert_eq!(sg(SgldConfig { temperature: t, ..SgldConfig::constant(0.1) }), Some(Error::InvalidSetting));
    }
    assert_eq!(sg(SgldConfig { schedule: Schedule::polynomial(0.1, -1.0, 0.55), temperature: 1.0 }), Some(Error::InvalidSetting));
    let ps = |c: PsgldConfig<f64>| Psgld::new(c, &x, &mut [0.0; 18], 0, 0).err();
    for (a, l) in [(1.0, 1e-5), (-0.1, 1e-5), (f64::NAN, 1e-5), (0.99, 0.0), (0.99, -1.0), (0.99, f64::NAN), (0.99, f64::INFINITY)] {
        assert_eq!(ps(PsgldConfig { alpha: a, lambda: l, ..PsgldConfig::constant(0.1) }), Some(Error::InvalidSetting), "α {a} λ {l}");
    }
    let hm = |c: SghmcConfig<f64>| Sghmc::new(c, &x, &mut [0.0; 15], 0, 0).err();
    // αh ≥ 1 (also when only the schedule's first step is that large).
    assert_eq!(hm(SghmcConfig::constant(0.1, 10.0)), Some(Error::InvalidSetting));
    assert_eq!(hm(SghmcConfig { schedule: Schedule::polynomial(0.5, 1.0, 1.0), ..SghmcConfig::constant(0.1, 2.0) }), Some(Error::InvalidSetting));
    assert!(hm(SghmcConfig::constant(0.1, 9.99)).is_none());
    for a in [0.0, -1.0, f64::NAN] {
        assert_eq!(hm(SghmcConfig::constant(0.1, a)), Some(Error::InvalidSetting));
    }
    // hβ > 2αT: negative noise variance. At T = 0 any β > 0 is refused.
    assert_eq!(hm(SghmcConfig { noise_estimate: 41.0, ..SghmcConfig::constant(0.1, 2.0) }), Some(Error::InvalidSetting));
    assert!(hm(SghmcConfig { noise_estimate: 40.0, ..SghmcConfig::constant(0.1, 2.0) }).is_none());
    assert_eq!(hm(SghmcConfig { noise_estimate: 1.0, temperature: 0.0, ..SghmcConfig::constant(0.1, 2.0) }), Some(Error::InvalidSetting));
    assert_eq!(hm(SghmcConfig { noise_estimate: -1.0, ..SghmcConfig::constant(0.1, 2.0) }), Some(Error::InvalidSetting));
    let fs = |c: FsgldConfig<f64>| Fsgld::new(c, &x, &mut [0.0; 15], 0, 0).err();
    for s in [-0.1, f64::NAN, f64::INFINITY] {
        assert_eq!(fs(FsgldConfig::constant(0.1, s)), Some(Error::InvalidSetting));
    }
    assert_eq!(fs(FsgldConfig { n_perturbations: 0, ..FsgldConfig::constant(0.1, 0.1) }), Some(Error::InvalidSetting));
    assert!(fs(FsgldConfig::constant(0.1, 0.0)).is_none());
}

#[test]
fn calls_out_of_order_are_refused() {
    for_each_sampler!(f64, 3, |c| {
        assert_eq!(c.tell(0.0).err(), Some(Error::OutOfOrder));
        let cfg = c.config();
        let before = c.position().to_vec();
        let r = c.ask();
        let x1 = r.x.to_vec();
        assert_eq!((r.step, r.stage), (1, 1));
        // ask is idempotent.
        let r = c.ask();
        assert_eq!(r.x, &x1[..]);
        assert_eq!(c.set_config(cfg).err(), Some(Error::OutOfOrder));
        assert_eq!(c.set_position(&[0.0; 3]).err(), Some(Error::OutOfOrder));
        assert_eq!(c.position(), &before[..]);
        let info = c.step_with(&mut gauss::<f64>).unwrap();
        assert_eq!(info.step, 1);
        assert!(!info.diverged());
        assert_eq!(c.tell(0.0).err(), Some(Error::OutOfOrder));
        assert_eq!(c.set_config(cfg), Ok(()));
        assert_eq!(c.set_position(&[1.0; 2]).err(), Some(Error::BufferLength));
        assert_eq!(c.set_position(&[1.0, f64::NAN, 0.0]).err(), Some(Error::InvalidValue));
        assert_eq!(c.set_position(&[1.0; 3]), Ok(()));
        assert_eq!(c.position(), &[1.0; 3]);
    });
}

fn resume_is_bit_identical<T: Real>() {
    for_each_sampler!(T, 11, |c| {
        for _ in 0..20 {
            c.step_with(&mut gauss::<T>).unwrap();
        }
        // A checkpoint in the middle of a step: after `ask`, before `tell`.
        let _ = c.ask();
        let (st, ws) = c.into_parts();
        let saved = ws.to_vec();
        let mut c = smile_from_parts(st, ws);
        let mut a = Vec::new();
        for _ in 0..30 {
            let r = c.ask();
            let lp = gauss(r.x, r.grad);
            if let Progress::Step(_) = c.tell(lp).unwrap() {
                a.extend_from_slice(c.position());
            }
        }
        let end = c.state();
        let mut ws2 = saved.clone();
        let mut c2 = smile_from_parts(st, &mut ws2);
        let mut b = Vec::new();
        for _ in 0..30 {
            let r = c2.ask();
            let lp = gauss(r.x, r.grad);
            if let Progress::Step(_) = c2.tell(lp).unwrap() {
                b.extend_from_slice(c2.position());
            }
        }
        assert!(!a.is_empty());
        assert_eq!(a.iter().map(|v| v.to_f64().to_bits()).collect::<Vec<_>>(), b.iter().map(|v| v.to_f64().to_bits()).collect::<Vec<_>>());
        assert_eq!(end, c2.state());
        // A state does not fit a workspace of another length.
        let mut short = saved[..saved.len() - 1].to_vec();
        assert_eq!(smile_try_from_parts(st, &mut short).err(), Some(Error::BufferLength));
    });
}

/// `from_parts` for whichever sampler's state this is.
trait FromParts<'a, T: Real>: Sized {
    type Chain;
    fn rebuild(self, ws: &'a mut [T]) -> Result<Self::Chain, Error>;
}
macro_rules! from_parts_impl {
    ($s:ident, $c:ident) => {
        impl<'a, T: Real> FromParts<'a, T> for smile::$s<T> {
            type Chain = $c<'a, T>;
            fn rebuild(self, ws: &'a mut [T]) -> Result<$c<'a, T>, Error> {
                $c::from_parts(self, ws)
            }
        }
    };
}
from_parts_impl!(SgldState, Sgld);
from_parts_impl!(PsgldState, Psgld);
from_parts_impl!(SghmcState, Sghmc);
from_parts_impl!(FsgldState, Fsgld);
fn smile_from_parts<'a, T: Real, S: FromParts<'a, T>>(s: S, ws: &'a mut [T]) -> S::Chain {
    s.rebuild(ws).unwrap()
}
fn smile_try_from_parts<'a, T: Real, S: FromParts<'a, T>>(s: S, ws: &'a mut [T]) -> Result<S::Chain, Error> {
    s.rebuild(ws)
}

#[test]
fn resume_is_bit_identical_f64() {
    resume_is_bit_identical::<f64>();
}

#[test]
fn resume_is_bit_identical_f32() {
    resume_is_bit_identical::<f32>();
}

#[test]
fn divergences_revert_and_are_counted() {
    for_each_sampler!(f64, 5, |c| {
        let mut prev = c.position().to_vec();
        for k in 1..=40u64 {
            let pos = c.position().to_vec();
            // Every 10th step the "density" fails: a NaN gradient (twice a NaN
            // log density instead).
            let info = c
                .step_with(&mut |x: &[f64], g: &mut [f64]| {
                    let lp = gauss(x, g);
                    match k % 20 {
                        10 => {
                            g[2] = f64::NAN;
                            lp
                        }
                        0 => f64::NAN,
                        _ => lp,
                    }
                })
                .unwrap();
            assert_eq!(info.step, k);
            assert_eq!(info.divergences, k / 10);
            if k % 10 == 0 {
                assert!(info.diverged());
                // Back to the position before the one whose gradient failed.
                assert_eq!(c.position(), &prev[..], "step {k}");
            } else {
                assert!(!info.diverged());
                assert!(c.position().iter().all(|v| v.is_finite()));
            }
            prev = pos;
        }
        assert_eq!(c.state().divergences(), 4);
    });
}

#[test]
fn sgd_limit_and_schedules() {
    // T = 0: no noise, x ← x + h ĝ = (1 − h) x on the standard Gaussian.
    let mut ws = vec![0.0; 8];
    let cfg = SgldConfig { schedule: Schedule::polynomial(0.5, 2.0, 1.0), temperature: 0.0 };
    let mut c = Sgld::new(cfg, &[1.0, -2.0], &mut ws, 0, 0).unwrap();
    let mut want = [1.0, -2.0];
    for t in 0..10u64 {
        let info = c.step_with(&mut gauss::<f64>).unwrap();
        let h = smile::samplers::schedule::polynomial_decay(0.5, 2.0, 1.0, t);
        assert!((h - 0.5 / (2.0 + t as f64)).abs() < 1e-16);
        assert_eq!(info.step_size, h);
        for w in &mut want {
            *w *= 1.0 - h;
        }
        assert!((c.position()[0] - want[0]).abs() < 1e-15 && (c.position()[1] - want[1]).abs() < 1e-15);
    }
    // Cyclical with exploration: with a zero gradient, the chain moves only
    // in the sampling stage of each cycle (r ≥ 0.5 here).
    let mut ws = vec![0.0; 4];
    let cfg = SgldConfig { schedule: Schedule::cyclical(0.1, 0.0, 10, 0.5), temperature: 1.0 };
    let mut c = Sgld::new(cfg, &[0.0], &mut ws, 0, 0).unwrap();
    for t in 0..30u64 {
        let before = c.position()[0];
        let info = c
            .step_with(&mut |_: &[f64], g: &mut [f64]| {
                g[0] = 0.0;
                0.0
            })
            .unwrap();
        assert_eq!(info.step_size, smile::samplers::schedule::cyclical_cosine(0.1, 0.0, 10, t));
        assert_eq!(c.position()[0] == before, t % 10 < 5, "step {t}");
    }
}

#[test]
fn fsgld_without_perturbation_is_sgld_with_averaged_gradients() {
    // σ = 0, M = 3: three identical gradients averaged, and the same noise
    // stream as SGLD (σ = 0 draws nothing), so the chains agree to rounding.
    let d = 9;
    let x0: Vec<f64> = (0..d).map(|i| i as f64 * 0.2 - 1.0).collect();
    let mut w1 = vec![0.0; Sgld::<f64>::workspace_len(d)];
    let mut w2 = vec![0.0; Fsgld::<f64>::workspace_len(d)];
    let mut a = Sgld::new(SgldConfig::constant(0.1), &x0, &mut w1, 9, 1).unwrap();
    let cfg = FsgldConfig { n_perturbations: 3, ..FsgldConfig::constant(0.1, 0.0) };
    let mut b = Fsgld::new(cfg, &x0, &mut w2, 9, 1).unwrap();
    for _ in 0..100 {
        a.step_with(&mut gauss::<f64>).unwrap();
        let info = b.step_with(&mut gauss::<f64>).unwrap();
        for (u, v) in a.position().iter().zip(b.position()) {
            assert!((u - v).abs() < 1e-12, "{u} vs {v}");
        }
        assert_eq!(info.grad_evals % 3, 0);
    }
    assert_eq!(b.state().grad_evals(), 300);
}

#[test]
fn sghmc_momentum_refresh_and_accessors() {
    let mut ws = vec![0.0f32; Sghmc::<f32>::workspace_len(4)];
    let cfg = SghmcConfig { refresh_every: 5, ..SghmcConfig::constant(0.01f32, 1.0) };
    let mut c = Sghmc::new(cfg, &[0.0; 4], &mut ws, 1, 0).unwrap();
    assert_eq!(c.set_momentum(&[1.0; 3]).err(), Some(Error::BufferLength));
    assert_eq!(c.set_momentum(&[1.0, f32::INFINITY, 0.0, 0.0]).err(), Some(Error::InvalidValue));
    c.set_momentum(&[1.0, 2.0, 3.0, 4.0]).unwrap();
    // Step 0 is a refresh step (0 mod 5): the momentum set above is redrawn.
    let _ = c.ask();
    assert_ne!(c.momentum(), &[1.0, 2.0, 3.0, 4.0]);
}

#[test]
fn psgld_second_moment_starts_at_the_first_squared_gradient() {
    let mut ws = vec![0.0; Psgld::<f64>::workspace_len(2)];
    let mut c = Psgld::new(PsgldConfig::constant(1e-3), &[3.0, -4.0], &mut ws, 1, 0).unwrap();
    assert_eq!(c.second_moment(), &[0.0, 0.0]);
    c.step_with(&mut gauss::<f64>).unwrap();
    assert_eq!(c.second_moment(), &[9.0, 16.0]);
    let x = c.position().to_vec();
    c.step_with(&mut gauss::<f64>).unwrap();
    let v = c.second_moment();
    assert!((v[0] - (0.99 * 9.0 + 0.01 * x[0] * x[0])).abs() < 1e-12);
}

#[test]
fn coupling_formula() {
    // σ = β^(−(1+η)/4): β⁻¹ = 1e-8, η = 0.01 → 10^(−2.02) ≈ 9.55e-3.
    // (ALGORITHMS.md §4.2 quotes ≈ 9.1e-3 for this example, which the
    // formula it states gives only for η ≈ 0.02; we follow the formula.)
    let s: f64 = coupled_sigma(1e8, 0.01);
    assert!((s - 1e-8f64.powf(1.01 / 4.0)).abs() < 1e-15 && (s - 9.55e-3).abs() < 1e-5);
    let c = FsgldConfig::coupled(Schedule::constant(0.1), 2.0, 5e4, 0.01);
    assert!((c.sigma - (5e4f64 / 2.0).powf(-1.01 / 4.0)).abs() < 1e-15);
    assert_eq!(c.validate(), Ok(()));
}
