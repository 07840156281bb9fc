//! Zero heap allocations per step: a counting `#[global_allocator]` in this
//! (std) test binary counts every allocation made by the current thread,
//! and steps of MCLMC (both integrators the benchmarks use, both refresh
//! modes, with and without a preconditioner), SMILE, pSMILE and the SGLD
//! family must leave the count unchanged, in f32 and f64, at a dimension
//! that is not a multiple of the SIMD width (so tails run too).

use smile::{
    Fsgld, FsgldConfig, Integrator, LogDensity, Mclmc, MclmcConfig, Psgld, PsgldConfig, Real, RefreshMode, Sghmc, SghmcConfig, Sgld, SgldConfig, Smile,
    SmileConfig,
};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

struct Counting;

thread_local! {
    // `const` initialisation: reading it never allocates (no lazy init, no destructor).
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        ALLOCS.with(|c| c.set(c.get() + 1));
        System.alloc(l)
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        ALLOCS.with(|c| c.set(c.get() + 1));
        System.alloc_zeroed(l)
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        ALLOCS.with(|c| c.set(c.get() + 1));
        System.realloc(p, l, n)
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        System.dealloc(p, l)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocs() -> u64 {
    ALLOCS.with(|c| c.get())
}

struct Gauss;
impl<T: Real> LogDensity<T> for Gauss {
    fn logp(&mut self, x: &[T], g: &mut [T]) -> T {
        let mut s = T::ZERO;
        for (g, &v) in g.iter_mut().zip(x) {
            *g = -v;
            s += v * v;
        }
        T::from_f64(-0.5) * s
    }
}

/// Runs `steps` calls of `step` and asserts none of them allocated.
fn no_alloc(name: &str, steps: usize, mut step: impl FnMut()) {
    step(); // first step outside the count: nothing lazy may hide in it either, but be fair
    let before = allocs();
    for _ in 0..steps {
        step();
    }
    let n = allocs() - before;
    assert_eq!(n, 0, "{name}: {n} allocations in {steps} steps");
}

const D: usize = 1003;

fn all<T: Real>() {
    let x0 = vec![T::ONE; D];
    let sd = T::from_usize(D).sqrt();
    for integ in [Integrator::VelocityVerlet, Integrator::McLachlan, Integrator::Omelyan] {
        for mode in [RefreshMode::Fused, RefreshMode::Split] {
            for precond in [false, true] {
                let mut ws = vec![T::ZERO; Mclmc::<T>::workspace_len(D)];
                let cfg = MclmcConfig { step_size: T::from_f64(0.05) * sd, decoherence_length: sd, max_energy_change: T::INFINITY, integrator: integ };
                let mut c = Mclmc::new(cfg, &x0, &mut ws, 1, 0).unwrap();
                c.set_refresh_mode(mode).unwrap();
                if precond {
                    c.set_preconditioner(Some(&[T::from_f64(0.9); D])).unwrap();
                }
                c.init_with(&mut Gauss).unwrap();
                no_alloc(&format!("mclmc {} {integ:?} {mode:?} precond={precond}", T::NAME), 50, || {
                    c.step_with(&mut Gauss).unwrap();
                });
            }
        }
    }
    // Ask/tell by hand as well (the C ABI's path).
    let mut ws = vec![T::ZERO; Mclmc::<T>::workspace_len(D)];
    let mut c = Mclmc::new(MclmcConfig::for_dim(D), &x0, &mut ws, 2, 0).unwrap();
    c.init_with(&mut Gauss).unwrap();
    no_alloc(&format!("mclmc ask/tell {}", T::NAME), 50, || loop {
        let r = c.ask();
        let lp = Gauss.logp(r.x, r.grad);
        if let smile::Progress::Step(_) = c.tell(lp).unwrap() {
            break;
        }
    });
    for cfg in [SmileConfig::smile(T::from_f64(0.05) * sd), SmileConfig::psmile(T::from_f64(0.05) * sd), SmileConfig::smile(T::from_f64(0.05) * sd).reference()]
    {
        let mut ws = vec![T::ZERO; Smile::<T>::workspace_len(D)];
        let cfg = SmileConfig { decoherence_length: sd, ..cfg };
        let mut c = Smile::new(cfg, &x0, &mut ws, 1, 0).unwrap();
        no_alloc(&format!("smile {} precond={} {:?}", T::NAME, cfg.precondition, cfg.mode), 50, || {
            c.step_with(&mut Gauss).unwrap();
        });
    }
    let h = T::from_f64(0.01);
    let mut ws = vec![T::ZERO; Sgld::<T>::workspace_len(D)];
    let mut c = Sgld::new(SgldConfig::constant(h), &x0, &mut ws, 1, 0).unwrap();
    no_alloc(&format!("sgld {}", T::NAME), 50, || {
        c.step_with(&mut Gauss).unwrap();
    });
    let mut ws = vec![T::ZERO; Psgld::<T>::workspace_len(D)];
    let mut c = Psgld::new(PsgldConfig::constant(h), &x0, &mut ws, 1, 0).unwrap();
    no_alloc(&format!("psgld {}", T::NAME), 50, || {
        c.step_with(&mut Gauss).unwrap();
    });
    let mut ws = vec![T::ZERO; Sghmc::<T>::workspace_len(D)];
    let mut c = Sghmc::new(SghmcConfig::constant(h, T::ONE), &x0, &mut ws, 1, 0).unwrap();
    no_alloc(&format!("sghmc {}", T::NAME), 50, || {
        c.step_with(&mut Gauss).unwrap();
    });
    let mut ws = vec![T::ZERO; Fsgld::<T>::workspace_len(D)];
    let mut c = Fsgld::new(FsgldConfig { n_perturbations: 3, ..FsgldConfig::constant(h, T::from_f64(0.1)) }, &x0, &mut ws, 1, 0).unwrap();
    no_alloc(&format!("fsgld {}", T::NAME), 50, || {
        c.step_with(&mut Gauss).unwrap();
    });
}

#[test]
fn steps_never_allocate() {
    // The counter works: a Vec allocates.
    let before = allocs();
    #[allow(clippy::useless_vec)] // the point: a heap allocation
    let v = vec![1u8; 10];
    assert!(allocs() > before && v.len() == 10);
    all::<f64>();
    all::<f32>();
}
