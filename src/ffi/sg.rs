//! C ABI of the stochastic-gradient Langevin family: `smile_sgld_*`,
//! `smile_psgld_*`, `smile_sghmc_*`, `smile_fsgld_*` (each `_f64` and
//! `_f32`), their step-size schedule struct `smile_schedule_*`, and
//! `smile_schedule_step_size_*` / `smile_fsgld_coupled_sigma_*`.
//!
//! Conventions (the Rust module `samplers::sgld`): the caller tells `ĝ`, an
//! unbiased estimate of the gradient of the FULL-data log posterior
//! (`∇log prior + (N/n) Σ_B ∇log lik`: the caller applies N/n); the update is
//! `x ← x + h ĝ + sqrt(2 T h) ξ` (BlackJAX's `h`; Welling–Teh's ε is `2h`).

use core::ffi::c_void;
use core::mem::{offset_of, size_of};

use super::common::{self, chain_ffi, copy_in, copy_out, Chain, ConfigIn, ConfigOut, Kind};
use super::instance::{max_dim, put, Sampler};
use super::smile_status::*;
use super::{code, smile_progress, smile_status, Status, StepInfoRepr};
use crate::error::Error;
use crate::real::Real;
use crate::samplers::fsgld::coupled_sigma;
use crate::samplers::{
    Fsgld, FsgldConfig, FsgldState, Progress, Psgld, PsgldConfig, PsgldState, Request, Schedule, Sghmc, SghmcConfig, SghmcState, Sgld, SgldConfig, SgldState,
    StepInfo,
};

/// Values of `smile_schedule_*.kind`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum smile_schedule_kind {
    /// `h(t) = scale`.
    SMILE_SCHEDULE_CONSTANT = 0,
    /// `h(t) = scale · (offset + t)^(−power)` (Welling & Teh; `offset` > 0,
    /// `power` ≥ 0, usually in (0.5, 1]).
    SMILE_SCHEDULE_POLYNOMIAL = 1,
    /// cSGLD's cosine cycles: `h(t) = floor + (scale − floor)/2 · (1 + cos(π r))`,
    /// `r = (t mod period)/period`; no injected noise while `r < explore`.
    SMILE_SCHEDULE_CYCLICAL = 2,
}

/// Generic mirror of the SGLD config (same fields, same order as `smile_sgld_config_*`).
#[repr(C)]
pub(crate) struct SgldRepr<T> {
    pub struct_size: usize,
    pub schedule: Schedule<T>,
    pub temperature: T,
}

/// Generic mirror of `smile_psgld_config_*`.
#[repr(C)]
pub(crate) struct PsgldRepr<T> {
    pub struct_size: usize,
    pub schedule: Schedule<T>,
    pub temperature: T,
    pub alpha: T,
    pub lambda: T,
}

/// Generic mirror of `smile_sghmc_config_*`.
#[repr(C)]
pub(crate) struct SghmcRepr<T> {
    pub struct_size: usize,
    pub schedule: Schedule<T>,
    pub temperature: T,
    pub friction: T,
    pub noise_estimate: T,
    pub refresh_every: u32,
}

/// Generic mirror of `smile_fsgld_config_*`.
#[repr(C)]
pub(crate) struct FsgldRepr<T> {
    pub struct_size: usize,
    pub schedule: Schedule<T>,
    pub temperature: T,
    pub sigma: T,
    pub n_perturbations: u32,
}

/// Reads the schedule at byte offset `base` field by field (kind first
/// checked by the sampler's `validate`).
fn read_schedule<T: Real>(r: &ConfigIn, base: usize, s: &mut Schedule<T>) {
    type S<T> = Schedule<T>;
    r.get(base + offset_of!(S<T>, period), &mut s.period);
    r.get(base + offset_of!(S<T>, scale), &mut s.scale);
    r.get(base + offset_of!(S<T>, offset), &mut s.offset);
    r.get(base + offset_of!(S<T>, power), &mut s.power);
    r.get(base + offset_of!(S<T>, floor), &mut s.floor);
    r.get(base + offset_of!(S<T>, explore), &mut s.explore);
    r.get(base + offset_of!(S<T>, kind), &mut s.kind);
}

fn write_schedule<T: Real>(w: &ConfigOut, base: usize, s: &Schedule<T>) {
    type S<T> = Schedule<T>;
    w.put(base + offset_of!(S<T>, period), s.period);
    w.put(base + offset_of!(S<T>, scale), s.scale);
    w.put(base + offset_of!(S<T>, offset), s.offset);
    w.put(base + offset_of!(S<T>, power), s.power);
    w.put(base + offset_of!(S<T>, floor), s.floor);
    w.put(base + offset_of!(S<T>, explore), s.explore);
    w.put(base + offset_of!(S<T>, kind), s.kind);
}

/// Implements [`Chain`] for an SG sampler (they share their API shape).
macro_rules! sg_chain {
    ($chain:ident, $state:ident, $config:ident) => {
        impl<'a, T: Real + 'a> Chain<'a, T> for $chain<'a, T> {
            type State = $state<T>;
            type Config = $config<T>;
            type Info = StepInfo<T>;
            fn create(cfg: $config<T>, x0: &[T], ws: &'a mut [T], seed: u64, stream: u64) -> Result<Self, Error> {
                $chain::new(cfg, x0, ws, seed, stream)
            }
            fn rebuild(st: $state<T>, ws: &'a mut [T]) -> Result<Self, Error> {
                $chain::from_parts(st, ws)
            }
            fn snapshot(&self) -> $state<T> {
                self.state()
            }
            fn request(&mut self) -> Request<'_, T> {
                self.ask()
            }
            fn answer(&mut self, logp: T) -> Result<Option<StepInfo<T>>, Error> {
                Ok(match self.tell(logp)? {
                    Progress::Step(i) => Some(i),
                    // `Initialized` does not occur: the SG samplers have no initial evaluation.
                    Progress::NeedEval | Progress::Initialized => None,
                })
            }
            fn dim(&self) -> usize {
                $chain::dim(self)
            }
            fn position(&self) -> &[T] {
                $chain::position(self)
            }
            fn logdensity(&self) -> T {
                $chain::logdensity(self)
            }
            fn counters(&self) -> [u64; 3] {
                let s = self.state();
                [s.steps(), s.grad_evals(), s.divergences()]
            }
            fn config(&self) -> $config<T> {
                $chain::config(self)
            }
            fn set_config(&mut self, c: $config<T>) -> Result<(), Error> {
                $chain::set_config(self, c)
            }
            fn set_position(&mut self, x: &[T]) -> Result<(), Error> {
                $chain::set_position(self, x)
            }
        }
    };
}

sg_chain!(Sgld, SgldState, SgldConfig);
sg_chain!(Psgld, PsgldState, PsgldConfig);
sg_chain!(Sghmc, SghmcState, SghmcConfig);
sg_chain!(Fsgld, FsgldState, FsgldConfig);

/// Declares an SG sampler kind: its `Sampler` and `Kind` impls; the config
/// I/O is given as two blocks over `r`/`w` and `c`.
macro_rules! sg_kind {
    (
        $kind:ident, $chain:ident, $state:ident, $config:ident, $repr:ident, $tag:literal,
        base: $base:expr,
        read: |$r:ident, $rc:ident| $read:block,
        write: |$w:ident, $wc:ident| $write:block
    ) => {
        pub(crate) struct $kind;

        impl<T: Real> Sampler<T> for $kind {
            type State = $state<T>;
            const MAGIC: u64 = common::magic($tag, T::NAME);
            const MIN_DIM: usize = 1;
            fn workspace_len(d: usize) -> Option<usize> {
                (d <= max_dim::<T>()).then(|| $chain::<T>::workspace_len(d))
            }
        }

        impl<T: Real> Kind<T> for $kind {
            type Config = $config<T>;
            type Info = StepInfo<T>;
            type Chain<'a>
                = $chain<'a, T>
            where
                T: 'a;
            type ConfigRepr = $repr<T>;
            type InfoRepr = StepInfoRepr<T>;

            unsafe fn read_config(p: *const $repr<T>) -> Status<$config<T>> {
                let $r = ConfigIn::open(p as *const c_void, &[size_of::<$repr<T>>()])?;
                #[allow(clippy::redundant_closure_call)]
                let base: fn() -> $config<T> = $base;
                let mut $rc = base();
                read_schedule(&$r, offset_of!($repr<T>, schedule), &mut $rc.schedule);
                $r.get(offset_of!($repr<T>, temperature), &mut $rc.temperature);
                $read
                $rc.validate()?;
                Ok($rc)
            }

            unsafe fn write_config(p: *mut $repr<T>, size: usize, $wc: &$config<T>) -> Status {
                let $w = ConfigOut::open(p as *mut c_void, size, &[size_of::<$repr<T>>()])?;
                write_schedule(&$w, offset_of!($repr<T>, schedule), &$wc.schedule);
                $w.put(offset_of!($repr<T>, temperature), $wc.temperature);
                $write
                Ok(())
            }
        }
    };
}

sg_kind!(SgldKind, Sgld, SgldState, SgldConfig, SgldRepr, b"smSGLD",
    base: || SgldConfig::constant(T::ONE),
    read: |r, c| {},
    write: |w, c| {}
);

sg_kind!(PsgldKind, Psgld, PsgldState, PsgldConfig, PsgldRepr, b"smPSGL",
    base: || PsgldConfig::constant(T::ONE),
    read: |r, c| {
        r.get(offset_of!(PsgldRepr<T>, alpha), &mut c.alpha);
        r.get(offset_of!(PsgldRepr<T>, lambda), &mut c.lambda);
    },
    write: |w, c| {
        w.put(offset_of!(PsgldRepr<T>, alpha), c.alpha);
        w.put(offset_of!(PsgldRepr<T>, lambda), c.lambda);
    }
);

sg_kind!(SghmcKind, Sghmc, SghmcState, SghmcConfig, SghmcRepr, b"smSGHM",
    base: || SghmcConfig::constant(T::ONE, T::from_f64(0.1)),
    read: |r, c| {
        r.get(offset_of!(SghmcRepr<T>, friction), &mut c.friction);
        r.get(offset_of!(SghmcRepr<T>, noise_estimate), &mut c.noise_estimate);
        r.get(offset_of!(SghmcRepr<T>, refresh_every), &mut c.refresh_every);
    },
    write: |w, c| {
        w.put(offset_of!(SghmcRepr<T>, friction), c.friction);
        w.put(offset_of!(SghmcRepr<T>, noise_estimate), c.noise_estimate);
        w.put(offset_of!(SghmcRepr<T>, refresh_every), c.refresh_every);
    }
);

sg_kind!(FsgldKind, Fsgld, FsgldState, FsgldConfig, FsgldRepr, b"smFSGL",
    base: || FsgldConfig::constant(T::ONE, T::ZERO),
    read: |r, c| {
        r.get(offset_of!(FsgldRepr<T>, sigma), &mut c.sigma);
        r.get(offset_of!(FsgldRepr<T>, n_perturbations), &mut c.n_perturbations);
    },
    write: |w, c| {
        w.put(offset_of!(FsgldRepr<T>, sigma), c.sigma);
        w.put(offset_of!(FsgldRepr<T>, n_perturbations), c.n_perturbations);
    }
);

/// Validates `c` and writes it into the caller's struct (nothing on failure).
unsafe fn config_default<K: Kind<T>, T: Real>(cfg: *mut K::ConfigRepr, cfg_size: usize, c: Status<K::Config>) -> smile_status {
    code((|| {
        if cfg.is_null() {
            return Err(SMILE_ERR_NULL_POINTER);
        }
        K::write_config(cfg, cfg_size, &c?)
    })())
}

fn checked<C>(c: C, v: impl FnOnce(&C) -> Result<(), Error>) -> Status<C> {
    v(&c)?;
    Ok(c)
}

pub(crate) unsafe fn schedule_step_size<T: Real>(s: *const Schedule<T>, t: u64, h: *mut T, exploring: *mut u32) -> smile_status {
    code((|| {
        if s.is_null() || h.is_null() {
            return Err(SMILE_ERR_NULL_POINTER);
        }
        let s = s.read_unaligned();
        s.validate()?;
        if !exploring.is_null() {
            put(exploring, s.exploring(t) as u32)?;
        }
        put(h, s.step_size(t))
    })())
}

pub(crate) unsafe fn fsgld_coupled_sigma<T: Real>(beta: T, eta: T, out: *mut T) -> smile_status {
    code((|| {
        if out.is_null() {
            return Err(SMILE_ERR_NULL_POINTER);
        }
        if !(beta > T::ZERO && eta.is_finite()) {
            return Err(SMILE_ERR_INVALID_SETTING);
        }
        put(out, coupled_sigma(beta, eta))
    })())
}

/// The shared items of one precision: the schedule struct and the schedule
/// and σ helpers.
macro_rules! sg_shared_ffi {
    (real: $t:ty, schedule: $sched:ident, schedule_step_size: $ssz:ident, coupled_sigma: $cs:ident $(,)?) => {
        /// A step-size schedule `h(t)` of the SGLD family, `t` = steps
        /// completed before the step (0 for the first; rejected steps count).
        /// Set `kind` (a `smile_schedule_kind`) and the fields it uses; the
        /// others are ignored. The values are computed in double precision.
        #[repr(C)]
        #[derive(Clone, Copy, Debug)]
        pub struct $sched {
            /// Cyclical: steps per cycle (≥ 1).
            pub period: u64,
            /// Constant: h. Polynomial: a. Cyclical: h_max. Finite, > 0.
            pub scale: $t,
            /// Polynomial: b (finite, > 0).
            pub offset: $t,
            /// Polynomial: γ (finite, ≥ 0).
            pub power: $t,
            /// Cyclical: h_min (finite, in [0, scale]).
            pub floor: $t,
            /// Cyclical: fraction of each cycle spent exploring without
            /// injected noise, in [0, 1).
            pub explore: $t,
            /// A `smile_schedule_kind`.
            pub kind: u32,
        }

        const _: () = {
            use core::mem::{align_of, offset_of, size_of};
            type S = Schedule<$t>;
            assert!(size_of::<$sched>() == size_of::<S>() && align_of::<$sched>() == align_of::<S>());
            assert!(offset_of!($sched, period) == offset_of!(S, period));
            assert!(offset_of!($sched, scale) == offset_of!(S, scale));
            assert!(offset_of!($sched, offset) == offset_of!(S, offset));
            assert!(offset_of!($sched, power) == offset_of!(S, power));
            assert!(offset_of!($sched, floor) == offset_of!(S, floor));
            assert!(offset_of!($sched, explore) == offset_of!(S, explore));
            assert!(offset_of!($sched, kind) == offset_of!(S, kind));
        };

        /// Evaluates a schedule: writes `h(t)` to `*h` and, if `exploring`
        /// is not NULL, 1 to `*exploring` when step `t` injects no noise
        /// (cyclical exploration stage), else 0.
        /// Errors: `NULL_POINTER`, `INVALID_STEP_SIZE` (`scale`),
        /// `INVALID_SETTING` (unknown kind or another field out of range).
        #[no_mangle]
        pub unsafe extern "C" fn $ssz(schedule: *const $sched, t: u64, h: *mut $t, exploring: *mut u32) -> smile_status {
            schedule_step_size::<$t>(schedule as *const Schedule<$t>, t, h, exploring)
        }

        /// fSGLD's β–σ coupling σ = β^(−(1+η)/4) (the paper's default η =
        /// 0.01). In smile's convention β = N/T (N data, temperature T).
        /// Errors: `NULL_POINTER`, `INVALID_SETTING` (β not > 0, η not finite).
        #[no_mangle]
        pub unsafe extern "C" fn $cs(beta: $t, eta: $t, sigma: *mut $t) -> smile_status {
            fsgld_coupled_sigma::<$t>(beta, eta, sigma)
        }
    };
}

use super::{smile_logdensity_f32, smile_logdensity_f64, smile_request_f32, smile_request_f64, smile_step_info_f32, smile_step_info_f64};

sg_shared_ffi!(real: f64, schedule: smile_schedule_f64, schedule_step_size: smile_schedule_step_size_f64, coupled_sigma: smile_fsgld_coupled_sigma_f64);
sg_shared_ffi!(real: f32, schedule: smile_schedule_f32, schedule_step_size: smile_schedule_step_size_f32, coupled_sigma: smile_fsgld_coupled_sigma_f32);

/// SGLD for one precision.
macro_rules! sgld_ffi {
    (real: $t:ty, sched: $sched:ident, handle: $h:ident, config: $cfg:ident, config_default: $cd:ident,
     info: $info:ident, request: $req:ident, logdensity: $ld:ident, common: { $($common:tt)* } $(,)?) => {
        /// An SGLD chain in caller memory (opaque).
        ///
        /// Stochastic-gradient Langevin dynamics (Welling & Teh 2011), and
        /// the convention of the whole SGLD family (SGLD, pSGLD, SGHMC,
        /// fSGLD): each step asks for `ĝ`, an unbiased estimate of the
        /// gradient of the FULL-data log posterior at `req->x`,
        /// `ĝ = ∇log prior + (N/n) Σ_{i∈B} ∇log p(y_i | x)` for a mini-batch
        /// B of n of the N data — the caller applies N/n, the library never
        /// sees N or n — one mini-batch per step (`req->step`). The update is
        /// `x ← x + h ĝ + sqrt(2 T h) ξ`, ξ ~ N(0, I): `h` multiplies the
        /// gradient as in BlackJAX; Welling & Teh's ε is 2h. Temperature T
        /// (default 1) targets p^(1/T); T = 0 is stochastic gradient ascent.
        /// The log density told is only checked (non-finite = divergence) and
        /// reported back; pass 0 if it is not computed. A divergence (a
        /// non-finite value or update) rejects the step and returns the chain
        /// to its previous position. The dimension may be 1.
        pub struct $h {
            _opaque: [u8; 0],
        }

        /// Settings of an SGLD chain (fill with `..._config_default`).
        /// Version 1: `struct_size` must be `sizeof` of this struct.
        #[repr(C)]
        #[derive(Clone, Copy, Debug)]
        pub struct $cfg {
            /// `sizeof` of the struct as the caller compiled it.
            pub struct_size: usize,
            /// Step size h(t). Default: constant.
            pub schedule: $sched,
            /// Temperature T (finite, ≥ 0). Default 1.
            pub temperature: $t,
        }

        const _: () = {
            use core::mem::{align_of, offset_of, size_of};
            type R = SgldRepr<$t>;
            assert!(size_of::<$cfg>() == size_of::<R>() && align_of::<$cfg>() == align_of::<R>());
            assert!(offset_of!($cfg, schedule) == offset_of!(R, schedule));
            assert!(offset_of!($cfg, temperature) == offset_of!(R, temperature));
        };

        /// Fills `*cfg` with a constant step size `step_size` (h: finite and
        /// positive) and temperature 1; sets `cfg->struct_size = cfg_size`
        /// (pass `sizeof *cfg`). Writes nothing on failure.
        /// Errors: `NULL_POINTER`, `STRUCT_SIZE`, `INVALID_STEP_SIZE`.
        #[no_mangle]
        pub unsafe extern "C" fn $cd(cfg: *mut $cfg, cfg_size: usize, step_size: $t) -> smile_status {
            config_default::<SgldKind, $t>(cfg as *mut _, cfg_size, checked(SgldConfig::constant(step_size), |c| c.validate()))
        }

        chain_ffi! { kind: SgldKind, real: $t, min_dim: 1, handle: $h, config: $cfg, info: $info, request: $req, logdensity: $ld, $($common)* }
    };
}

/// pSGLD for one precision.
macro_rules! psgld_ffi {
    (real: $t:ty, sched: $sched:ident, handle: $h:ident, config: $cfg:ident, config_default: $cd:ident,
     second_moment: $sm:ident, info: $info:ident, request: $req:ident, logdensity: $ld:ident, common: { $($common:tt)* } $(,)?) => {
        /// A pSGLD chain in caller memory (opaque): SGLD with an RMSprop
        /// diagonal preconditioner (Li et al. 2016), same conventions as
        /// SGLD (see `smile_sgld_f64`). Per step:
        /// `V ← α V + (1 − α) ĝ⊙ĝ` (V ← ĝ⊙ĝ at the first step),
        /// `G = 1/(λ + sqrt(V))`, `x ← x + h G⊙ĝ + sqrt(2 T h G)⊙ξ`; the
        /// correction term Γ is omitted, as in the paper's experiments.
        pub struct $h {
            _opaque: [u8; 0],
        }

        /// Settings of a pSGLD chain (fill with `..._config_default`).
        /// Version 1: `struct_size` must be `sizeof` of this struct.
        #[repr(C)]
        #[derive(Clone, Copy, Debug)]
        pub struct $cfg {
            /// `sizeof` of the struct as the caller compiled it.
            pub struct_size: usize,
            /// Step size h(t). Default: constant.
            pub schedule: $sched,
            /// Temperature T (finite, ≥ 0). Default 1.
            pub temperature: $t,
            /// Decay α of the squared-gradient average, in [0, 1). Default 0.99.
            pub alpha: $t,
            /// Regulariser λ (finite, > 0). Default 1e-5.
            pub lambda: $t,
        }

        const _: () = {
            use core::mem::{align_of, offset_of, size_of};
            type R = PsgldRepr<$t>;
            assert!(size_of::<$cfg>() == size_of::<R>() && align_of::<$cfg>() == align_of::<R>());
            assert!(offset_of!($cfg, schedule) == offset_of!(R, schedule));
            assert!(offset_of!($cfg, temperature) == offset_of!(R, temperature));
            assert!(offset_of!($cfg, alpha) == offset_of!(R, alpha));
            assert!(offset_of!($cfg, lambda) == offset_of!(R, lambda));
        };

        /// Fills `*cfg` with a constant step size `step_size` (h: finite and
        /// positive), temperature 1, α = 0.99, λ = 1e-5; sets
        /// `cfg->struct_size = cfg_size`. Writes nothing on failure.
        /// Errors: `NULL_POINTER`, `STRUCT_SIZE`, `INVALID_STEP_SIZE`.
        #[no_mangle]
        pub unsafe extern "C" fn $cd(cfg: *mut $cfg, cfg_size: usize, step_size: $t) -> smile_status {
            config_default::<PsgldKind, $t>(cfg as *mut _, cfg_size, checked(PsgldConfig::constant(step_size), |c| c.validate()))
        }

        /// Copies the running average V of ĝ⊙ĝ (zeros before the first
        /// step; the preconditioner is G = 1/(λ + sqrt(V))) into `out`
        /// (`len` = dimension).
        /// Errors: `NULL_POINTER`, `BUFFER_LENGTH`, `ALIGNMENT`, `OVERLAP`, the handle's errors.
        #[no_mangle]
        pub unsafe extern "C" fn $sm(s: *const $h, out: *mut $t, len: usize) -> smile_status {
            copy_out::<PsgldKind, $t>(s as *const c_void, out, len, |c, o| {
                o.copy_from_slice(c.second_moment());
                Ok(())
            })
        }

        chain_ffi! { kind: PsgldKind, real: $t, min_dim: 1, handle: $h, config: $cfg, info: $info, request: $req, logdensity: $ld, $($common)* }
    };
}

/// SGHMC for one precision.
macro_rules! sghmc_ffi {
    (real: $t:ty, sched: $sched:ident, handle: $h:ident, config: $cfg:ident, config_default: $cd:ident,
     momentum: $mom:ident, set_momentum: $smom:ident, info: $info:ident, request: $req:ident, logdensity: $ld:ident,
     common: { $($common:tt)* } $(,)?) => {
        /// An SGHMC chain in caller memory (opaque): stochastic-gradient HMC
        /// (Chen et al. 2014), same conventions as SGLD (see
        /// `smile_sgld_f64`). Per step, with friction α and gradient-noise
        /// variance estimate β: `p ← (1 − α h) p + h ĝ + sqrt(2 α T h − h² β) ξ`,
        /// then `x ← x + h p` (kick first, drift with the new momentum). The
        /// momentum starts as N(0, T I) and persists unless `refresh_every`
        /// is set; a divergence returns to the previous position and redraws it.
        pub struct $h {
            _opaque: [u8; 0],
        }

        /// Settings of an SGHMC chain (fill with `..._config_default`).
        /// Version 1: `struct_size` must be `sizeof` of this struct.
        /// Refused: `α h ≥ 1` or `h β > 2 α T` (h = the schedule's largest step).
        #[repr(C)]
        #[derive(Clone, Copy, Debug)]
        pub struct $cfg {
            /// `sizeof` of the struct as the caller compiled it.
            pub struct_size: usize,
            /// Step size h(t). Default: constant.
            pub schedule: $sched,
            /// Temperature T (finite, ≥ 0). Default 1.
            pub temperature: $t,
            /// Friction α (finite, > 0, α h < 1).
            pub friction: $t,
            /// Gradient-noise variance estimate β (finite, ≥ 0; 0 = none, the default).
            pub noise_estimate: $t,
            /// Redraw p ~ N(0, T I) at the start of every `refresh_every`-th
            /// step (0 = never, the default; BlackJAX uses 10).
            pub refresh_every: u32,
        }

        const _: () = {
            use core::mem::{align_of, offset_of, size_of};
            type R = SghmcRepr<$t>;
            assert!(size_of::<$cfg>() == size_of::<R>() && align_of::<$cfg>() == align_of::<R>());
            assert!(offset_of!($cfg, schedule) == offset_of!(R, schedule));
            assert!(offset_of!($cfg, temperature) == offset_of!(R, temperature));
            assert!(offset_of!($cfg, friction) == offset_of!(R, friction));
            assert!(offset_of!($cfg, noise_estimate) == offset_of!(R, noise_estimate));
            assert!(offset_of!($cfg, refresh_every) == offset_of!(R, refresh_every));
        };

        /// Fills `*cfg` with a constant step size `step_size` (h), friction
        /// `friction` (α), temperature 1, β = 0, no refresh; sets
        /// `cfg->struct_size = cfg_size`. Writes nothing on failure.
        /// Errors: `NULL_POINTER`, `STRUCT_SIZE`, `INVALID_STEP_SIZE`,
        /// `INVALID_SETTING` (α not > 0, or α h ≥ 1).
        #[no_mangle]
        pub unsafe extern "C" fn $cd(cfg: *mut $cfg, cfg_size: usize, step_size: $t, friction: $t) -> smile_status {
            config_default::<SghmcKind, $t>(cfg as *mut _, cfg_size, checked(SghmcConfig::constant(step_size, friction), |c| c.validate()))
        }

        /// Copies the momentum p (stationary law N(0, T I)) into `out`
        /// (`len` = dimension).
        /// Errors: `NULL_POINTER`, `BUFFER_LENGTH`, `ALIGNMENT`, `OVERLAP`, the handle's errors.
        #[no_mangle]
        pub unsafe extern "C" fn $mom(s: *const $h, out: *mut $t, len: usize) -> smile_status {
            copy_out::<SghmcKind, $t>(s as *const c_void, out, len, |c, o| {
                o.copy_from_slice(c.momentum());
                Ok(())
            })
        }

        /// Sets the momentum p (`len` = dimension, finite values).
        /// Errors: `NULL_POINTER`, `BUFFER_LENGTH`, `ALIGNMENT`, `OVERLAP`,
        /// `INVALID_VALUE`, `OUT_OF_ORDER` (inside a step), the handle's errors.
        #[no_mangle]
        pub unsafe extern "C" fn $smom(s: *mut $h, p: *const $t, len: usize) -> smile_status {
            copy_in::<SghmcKind, $t>(s as *mut c_void, p, len, |c, v| c.set_momentum(v))
        }

        chain_ffi! { kind: SghmcKind, real: $t, min_dim: 1, handle: $h, config: $cfg, info: $info, request: $req, logdensity: $ld, $($common)* }
    };
}

/// fSGLD for one precision.
macro_rules! fsgld_ffi {
    (real: $t:ty, sched: $sched:ident, handle: $h:ident, config: $cfg:ident, config_default: $cd:ident,
     info: $info:ident, request: $req:ident, logdensity: $ld:ident, common: { $($common:tt)* } $(,)?) => {
        /// An fSGLD chain in caller memory (opaque): flatness-aware SGLD
        /// (Bruno et al. 2025), same conventions as SGLD (see
        /// `smile_sgld_f64`). Each step asks for the gradient estimate at M
        /// perturbed points `x + σ ζ_m` (stages 1..M, all with the same
        /// `req->step`: use one mini-batch for all of them), then
        /// `x ← x + h (1/M) Σ_m ĝ_m + sqrt(2 T h) ξ`. σ = 0 is SGLD;
        /// `smile_fsgld_coupled_sigma_f64` gives the paper's σ(β).
        pub struct $h {
            _opaque: [u8; 0],
        }

        /// Settings of an fSGLD chain (fill with `..._config_default`).
        /// Version 1: `struct_size` must be `sizeof` of this struct.
        #[repr(C)]
        #[derive(Clone, Copy, Debug)]
        pub struct $cfg {
            /// `sizeof` of the struct as the caller compiled it.
            pub struct_size: usize,
            /// Step size h(t). Default: constant.
            pub schedule: $sched,
            /// Temperature T (finite, ≥ 0). Default 1.
            pub temperature: $t,
            /// Perturbation scale σ (finite, ≥ 0).
            pub sigma: $t,
            /// Perturbations M averaged per step, 1..=65536. Default 1.
            pub n_perturbations: u32,
        }

        const _: () = {
            use core::mem::{align_of, offset_of, size_of};
            type R = FsgldRepr<$t>;
            assert!(size_of::<$cfg>() == size_of::<R>() && align_of::<$cfg>() == align_of::<R>());
            assert!(offset_of!($cfg, schedule) == offset_of!(R, schedule));
            assert!(offset_of!($cfg, temperature) == offset_of!(R, temperature));
            assert!(offset_of!($cfg, sigma) == offset_of!(R, sigma));
            assert!(offset_of!($cfg, n_perturbations) == offset_of!(R, n_perturbations));
        };

        /// Fills `*cfg` with a constant step size `step_size` (h),
        /// perturbation scale `sigma`, temperature 1, M = 1; sets
        /// `cfg->struct_size = cfg_size`. Writes nothing on failure.
        /// Errors: `NULL_POINTER`, `STRUCT_SIZE`, `INVALID_STEP_SIZE`,
        /// `INVALID_SETTING` (σ negative or not finite).
        #[no_mangle]
        pub unsafe extern "C" fn $cd(cfg: *mut $cfg, cfg_size: usize, step_size: $t, sigma: $t) -> smile_status {
            config_default::<FsgldKind, $t>(cfg as *mut _, cfg_size, checked(FsgldConfig::constant(step_size, sigma), |c| c.validate()))
        }

        chain_ffi! { kind: FsgldKind, real: $t, min_dim: 1, handle: $h, config: $cfg, info: $info, request: $req, logdensity: $ld, $($common)* }
    };
}

sgld_ffi! {
    real: f64,
    sched: smile_schedule_f64,
    handle: smile_sgld_f64,
    config: smile_sgld_config_f64,
    config_default: smile_sgld_config_default_f64,
    info: smile_step_info_f64,
    request: smile_request_f64,
    logdensity: smile_logdensity_f64,
    common: {
        memory_size: smile_sgld_memory_size_f64,
        init: smile_sgld_init_f64,
        ask: smile_sgld_ask_f64,
        tell: smile_sgld_tell_f64,
        step: smile_sgld_step_f64,
        save: smile_sgld_save_f64,
        restore: smile_sgld_restore_f64,
        dim: smile_sgld_dim_f64,
        position: smile_sgld_position_f64,
        logdensity_at: smile_sgld_logdensity_f64,
        counters: smile_sgld_counters_f64,
        get_config: smile_sgld_get_config_f64,
        set_config: smile_sgld_set_config_f64,
        set_position: smile_sgld_set_position_f64,
    }
}

psgld_ffi! {
    real: f64,
    sched: smile_schedule_f64,
    handle: smile_psgld_f64,
    config: smile_psgld_config_f64,
    config_default: smile_psgld_config_default_f64,
    second_moment: smile_psgld_second_moment_f64,
    info: smile_step_info_f64,
    request: smile_request_f64,
    logdensity: smile_logdensity_f64,
    common: {
        memory_size: smile_psgld_memory_size_f64,
        init: smile_psgld_init_f64,
        ask: smile_psgld_ask_f64,
        tell: smile_psgld_tell_f64,
        step: smile_psgld_step_f64,
        save: smile_psgld_save_f64,
        restore: smile_psgld_restore_f64,
        dim: smile_psgld_dim_f64,
        position: smile_psgld_position_f64,
        logdensity_at: smile_psgld_logdensity_f64,
        counters: smile_psgld_counters_f64,
        get_config: smile_psgld_get_config_f64,
        set_config: smile_psgld_set_config_f64,
        set_position: smile_psgld_set_position_f64,
    }
}

sghmc_ffi! {
    real: f64,
    sched: smile_schedule_f64,
    handle: smile_sghmc_f64,
    config: smile_sghmc_config_f64,
    config_default: smile_sghmc_config_default_f64,
    momentum: smile_sghmc_momentum_f64,
    set_momentum: smile_sghmc_set_momentum_f64,
    info: smile_step_info_f64,
    request: smile_request_f64,
    logdensity: smile_logdensity_f64,
    common: {
        memory_size: smile_sghmc_memory_size_f64,
        init: smile_sghmc_init_f64,
        ask: smile_sghmc_ask_f64,
        tell: smile_sghmc_tell_f64,
        step: smile_sghmc_step_f64,
        save: smile_sghmc_save_f64,
        restore: smile_sghmc_restore_f64,
        dim: smile_sghmc_dim_f64,
        position: smile_sghmc_position_f64,
        logdensity_at: smile_sghmc_logdensity_f64,
        counters: smile_sghmc_counters_f64,
        get_config: smile_sghmc_get_config_f64,
        set_config: smile_sghmc_set_config_f64,
        set_position: smile_sghmc_set_position_f64,
    }
}

fsgld_ffi! {
    real: f64,
    sched: smile_schedule_f64,
    handle: smile_fsgld_f64,
    config: smile_fsgld_config_f64,
    config_default: smile_fsgld_config_default_f64,
    info: smile_step_info_f64,
    request: smile_request_f64,
    logdensity: smile_logdensity_f64,
    common: {
        memory_size: smile_fsgld_memory_size_f64,
        init: smile_fsgld_init_f64,
        ask: smile_fsgld_ask_f64,
        tell: smile_fsgld_tell_f64,
        step: smile_fsgld_step_f64,
        save: smile_fsgld_save_f64,
        restore: smile_fsgld_restore_f64,
        dim: smile_fsgld_dim_f64,
        position: smile_fsgld_position_f64,
        logdensity_at: smile_fsgld_logdensity_f64,
        counters: smile_fsgld_counters_f64,
        get_config: smile_fsgld_get_config_f64,
        set_config: smile_fsgld_set_config_f64,
        set_position: smile_fsgld_set_position_f64,
    }
}

sgld_ffi! {
    real: f32,
    sched: smile_schedule_f32,
    handle: smile_sgld_f32,
    config: smile_sgld_config_f32,
    config_default: smile_sgld_config_default_f32,
    info: smile_step_info_f32,
    request: smile_request_f32,
    logdensity: smile_logdensity_f32,
    common: {
        memory_size: smile_sgld_memory_size_f32,
        init: smile_sgld_init_f32,
        ask: smile_sgld_ask_f32,
        tell: smile_sgld_tell_f32,
        step: smile_sgld_step_f32,
        save: smile_sgld_save_f32,
        restore: smile_sgld_restore_f32,
        dim: smile_sgld_dim_f32,
        position: smile_sgld_position_f32,
        logdensity_at: smile_sgld_logdensity_f32,
        counters: smile_sgld_counters_f32,
        get_config: smile_sgld_get_config_f32,
        set_config: smile_sgld_set_config_f32,
        set_position: smile_sgld_set_position_f32,
    }
}

psgld_ffi! {
    real: f32,
    sched: smile_schedule_f32,
    handle: smile_psgld_f32,
    config: smile_psgld_config_f32,
    config_default: smile_psgld_config_default_f32,
    second_moment: smile_psgld_second_moment_f32,
    info: smile_step_info_f32,
    request: smile_request_f32,
    logdensity: smile_logdensity_f32,
    common: {
        memory_size: smile_psgld_memory_size_f32,
        init: smile_psgld_init_f32,
        ask: smile_psgld_ask_f32,
        tell: smile_psgld_tell_f32,
        step: smile_psgld_step_f32,
        save: smile_psgld_save_f32,
        restore: smile_psgld_restore_f32,
        dim: smile_psgld_dim_f32,
        position: smile_psgld_position_f32,
        logdensity_at: smile_psgld_logdensity_f32,
        counters: smile_psgld_counters_f32,
        get_config: smile_psgld_get_config_f32,
        set_config: smile_psgld_set_config_f32,
        set_position: smile_psgld_set_position_f32,
    }
}

sghmc_ffi! {
    real: f32,
    sched: smile_schedule_f32,
    handle: smile_sghmc_f32,
    config: smile_sghmc_config_f32,
    config_default: smile_sghmc_config_default_f32,
    momentum: smile_sghmc_momentum_f32,
    set_momentum: smile_sghmc_set_momentum_f32,
    info: smile_step_info_f32,
    request: smile_request_f32,
    logdensity: smile_logdensity_f32,
    common: {
        memory_size: smile_sghmc_memory_size_f32,
        init: smile_sghmc_init_f32,
        ask: smile_sghmc_ask_f32,
        tell: smile_sghmc_tell_f32,
        step: smile_sghmc_step_f32,
        save: smile_sghmc_save_f32,
        restore: smile_sghmc_restore_f32,
        dim: smile_sghmc_dim_f32,
        position: smile_sghmc_position_f32,
        logdensity_at: smile_sghmc_logdensity_f32,
        counters: smile_sghmc_counters_f32,
        get_config: smile_sghmc_get_config_f32,
        set_config: smile_sghmc_set_config_f32,
        set_position: smile_sghmc_set_position_f32,
    }
}

fsgld_ffi! {
    real: f32,
    sched: smile_schedule_f32,
    handle: smile_fsgld_f32,
    config: smile_fsgld_config_f32,
    config_default: smile_fsgld_config_default_f32,
    info: smile_step_info_f32,
    request: smile_request_f32,
    logdensity: smile_logdensity_f32,
    common: {
        memory_size: smile_fsgld_memory_size_f32,
        init: smile_fsgld_init_f32,
        ask: smile_fsgld_ask_f32,
        tell: smile_fsgld_tell_f32,
        step: smile_fsgld_step_f32,
        save: smile_fsgld_save_f32,
        restore: smile_fsgld_restore_f32,
        dim: smile_fsgld_dim_f32,
        position: smile_fsgld_position_f32,
        logdensity_at: smile_fsgld_logdensity_f32,
        counters: smile_fsgld_counters_f32,
        get_config: smile_fsgld_get_config_f32,
        set_config: smile_fsgld_set_config_f32,
        set_position: smile_fsgld_set_position_f32,
    }
}
