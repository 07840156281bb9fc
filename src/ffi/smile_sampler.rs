//! C ABI of the SMILE sampler (stochastic-gradient MCLMC with the
//! Gamma-quantile energy-error tuner; SMILE-naive and pSMILE are settings):
//! `smile_smile_*_f64` and `smile_smile_*_f32`. The prefix is the library's
//! name followed by the sampler's, as for `smile_mclmc_*` (Rust `smile::Smile`).

use core::ffi::c_void;
use core::mem::{offset_of, size_of, size_of_val};

use super::common::{self, chain_ffi, copy_in, copy_out, scalar, Chain, ConfigIn, ConfigOut, Kind};
use super::instance::{max_dim, Sampler};
use super::smile_status::*;
use super::{code, smile_progress, smile_status, Status};
use crate::dynamics::Integrator;
use crate::error::Error;
use crate::real::Real;
use crate::samplers::{Divergence, Request, Smile, SmileConfig, SmileMode, SmileProgress, SmileState, SmileStepInfo};
use crate::tune::TunerLevels;

/// Presets of `smile_smile_config_default_*` (the Rust constructors
/// `SmileConfig::smile`, `::naive`, `::psmile`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum smile_smile_preset {
    /// SMILE: the energy-error tuner with the paper's settings (ρ = 0.98,
    /// a = 0.1, δ = 0.02, β = 0.01), McLachlan, no refresh, corrected mode.
    SMILE_SMILE_PRESET_SMILE = 0,
    /// SMILE-naive: fixed step size, no resets (the averages of |ΔE| are
    /// still kept and reported): ρ = 1, a = 0, δ = 0.
    SMILE_SMILE_PRESET_NAIVE = 1,
    /// pSMILE: SMILE with gradient-noise preconditioning.
    SMILE_SMILE_PRESET_PSMILE = 2,
}

/// Values of `smile_smile_config_*.mode`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum smile_smile_mode {
    /// Reproduces the reference code (EmanuelSommer/SMILE) step for step,
    /// quirks included; use it with `zero_nan_gradients = 1` (that pair is
    /// the Rust `SmileConfig::reference()`).
    SMILE_SMILE_MODE_REFERENCE = 0,
    /// The reference's quirks fixed, explicit finiteness checks (default).
    SMILE_SMILE_MODE_CORRECTED = 1,
}

/// The SMILE sampler, for the instance plumbing.
pub(crate) struct SmileKind;

impl<T: Real> Sampler<T> for SmileKind {
    type State = SmileState<T>;
    const MAGIC: u64 = common::magic(b"smSMIL", T::NAME);
    /// The chain's workspace, then its tuner levels ([`TunerLevels`], plain
    /// data): kept in the instance so that the tuner's cache outlives each
    /// call, which rebuilds the chain. Without it every C step took the
    /// exact Gamma CDF (~65 ns); a checkpoint carries it like the rest.
    fn workspace_len(d: usize) -> Option<usize> {
        (d <= max_dim::<T>()).then(|| Smile::<T>::workspace_len(d) + levels_len::<T>())
    }
}

/// Values of `T` that hold a [`TunerLevels`].
const fn levels_len<T>() -> usize {
    size_of::<TunerLevels>().div_ceil(size_of::<T>())
}

/// The instance workspace split into the chain's and its tuner levels.
/// The levels sit at a multiple of 32 bytes from the 64-byte-aligned start
/// (`8d` values of `T`), so the cast is aligned; it is checked anyway, and
/// any bit pattern is a `TunerLevels` (floats and integers only).
fn split_levels<T>(ws: &mut [T]) -> Result<(&mut [T], Option<&mut TunerLevels>), Error> {
    let n = ws.len().checked_sub(levels_len::<T>()).ok_or(Error::BufferLength)?;
    let (chain, tail) = ws.split_at_mut(n);
    let p = tail.as_mut_ptr() as *mut TunerLevels;
    let fits = size_of_val(tail) >= size_of::<TunerLevels>() && p.is_aligned();
    // SAFETY: in bounds and aligned (checked), borrowed for as long as
    // `tail`; every bit pattern is a valid `TunerLevels`.
    Ok((chain, fits.then(|| unsafe { &mut *p })))
}

/// Generic mirror of `smile_smile_config_*` (same fields, same order).
#[repr(C)]
pub(crate) struct ConfigRepr<T> {
    pub struct_size: usize,
    pub step_size: T,
    pub reset_prob: T,
    pub adaption_prob: T,
    pub adaption_strength: T,
    pub smoothing_factor: T,
    pub decoherence_length: T,
    pub grad_clip: T,
    pub integrator: u32,
    pub precondition: u32,
    pub mode: u32,
    pub zero_nan_gradients: u32,
}

/// Generic mirror of `smile_smile_step_info_*`.
#[repr(C)]
pub(crate) struct InfoRepr<T> {
    pub step: u64,
    pub grad_evals: u64,
    pub divergences: u64,
    pub resets: u64,
    pub flagged_gradients: u64,
    pub energy_change: T,
    pub abs_energy_change: T,
    pub kinetic_change: T,
    pub logdensity: T,
    pub step_size: T,
    pub next_step_size: T,
    pub energy_mean: T,
    pub energy_std: T,
    pub divergence: u32,
    pub reset: u32,
    pub step_size_change: i32,
}

impl<T: Real> From<SmileStepInfo<T>> for InfoRepr<T> {
    fn from(i: SmileStepInfo<T>) -> Self {
        InfoRepr {
            step: i.step,
            grad_evals: i.grad_evals,
            divergences: i.divergences,
            resets: i.resets,
            flagged_gradients: i.flagged_gradients,
            energy_change: i.energy_change,
            abs_energy_change: i.abs_energy_change,
            kinetic_change: i.kinetic_change,
            logdensity: i.logdensity,
            step_size: i.step_size,
            next_step_size: i.next_step_size,
            energy_mean: i.energy_mean,
            energy_std: i.energy_std,
            divergence: match i.divergence {
                Divergence::None => 0,
                Divergence::NonFinite => 1,
                Divergence::EnergyError => 2,
            },
            reset: i.reset() as u32,
            step_size_change: i.step_size_change,
        }
    }
}

/// Known versions of the config struct: version 1 only.
fn sizes<T>() -> [usize; 1] {
    [size_of::<ConfigRepr<T>>()]
}

impl<'a, T: Real + 'a> Chain<'a, T> for Smile<'a, T> {
    type State = SmileState<T>;
    type Config = SmileConfig<T>;
    type Info = SmileStepInfo<T>;
    fn create(cfg: SmileConfig<T>, x0: &[T], ws: &'a mut [T], seed: u64, stream: u64) -> Result<Self, Error> {
        let (ws, lv) = split_levels(ws)?;
        let c = Smile::new(cfg, x0, ws, seed, stream)?;
        Ok(match lv {
            Some(lv) => {
                *lv = TunerLevels::new(&cfg.tuner);
                c.keep_levels(lv)
            }
            None => c,
        })
    }
    #[inline(always)]
    fn rebuild(st: SmileState<T>, ws: &'a mut [T]) -> Result<Self, Error> {
        let (ws, lv) = split_levels(ws)?;
        let c = Smile::from_parts(st, ws)?;
        Ok(match lv {
            Some(lv) => c.keep_levels(lv),
            None => c,
        })
    }
    fn snapshot(&self) -> SmileState<T> {
        self.state()
    }
    fn request(&mut self) -> Request<'_, T> {
        self.ask()
    }
    fn answer(&mut self, logp: T) -> Result<Option<SmileStepInfo<T>>, Error> {
        Ok(match self.tell(logp)? {
            SmileProgress::NeedEval => None,
            SmileProgress::Step(i) => Some(i),
        })
    }
    fn dim(&self) -> usize {
        Smile::dim(self)
    }
    fn position(&self) -> &[T] {
        Smile::position(self)
    }
    fn logdensity(&self) -> T {
        Smile::logdensity(self)
    }
    fn counters(&self) -> [u64; 3] {
        let s = self.state();
        [s.steps(), s.grad_evals(), s.divergences()]
    }
    fn config(&self) -> SmileConfig<T> {
        Smile::config(self)
    }
    fn set_config(&mut self, c: SmileConfig<T>) -> Result<(), Error> {
        Smile::set_config(self, c)
    }
    fn set_position(&mut self, x: &[T]) -> Result<(), Error> {
        Smile::set_position(self, x)
    }
}

impl<T: Real> Kind<T> for SmileKind {
    type Config = SmileConfig<T>;
    type Info = SmileStepInfo<T>;
    type Chain<'a>
        = Smile<'a, T>
    where
        T: 'a;
    type ConfigRepr = ConfigRepr<T>;
    type InfoRepr = InfoRepr<T>;

    unsafe fn read_config(p: *const ConfigRepr<T>) -> Status<SmileConfig<T>> {
        type R<T> = ConfigRepr<T>;
        let r = ConfigIn::open(p as *const c_void, &sizes::<T>())?;
        let mut c = SmileConfig::<T>::smile(T::ONE);
        r.get(offset_of!(R<T>, step_size), &mut c.step_size);
        r.get(offset_of!(R<T>, reset_prob), &mut c.tuner.reset_prob);
        r.get(offset_of!(R<T>, adaption_prob), &mut c.tuner.adaption_prob);
        r.get(offset_of!(R<T>, adaption_strength), &mut c.tuner.adaption_strength);
        r.get(offset_of!(R<T>, smoothing_factor), &mut c.tuner.smoothing_factor);
        r.get(offset_of!(R<T>, decoherence_length), &mut c.decoherence_length);
        r.get(offset_of!(R<T>, grad_clip), &mut c.grad_clip);
        let mut v = c.integrator as u32;
        r.get(offset_of!(R<T>, integrator), &mut v);
        c.integrator = Integrator::from_u32(v).ok_or(SMILE_ERR_INVALID_SETTING)?;
        r.flag(offset_of!(R<T>, precondition), &mut c.precondition)?;
        let mut v = c.mode as u32;
        r.get(offset_of!(R<T>, mode), &mut v);
        c.mode = SmileMode::from_u32(v).ok_or(SMILE_ERR_INVALID_SETTING)?;
        r.flag(offset_of!(R<T>, zero_nan_gradients), &mut c.zero_nan_gradients)?;
        c.validate()?;
        Ok(c)
    }

    unsafe fn write_config(p: *mut ConfigRepr<T>, size: usize, c: &SmileConfig<T>) -> Status {
        type R<T> = ConfigRepr<T>;
        let w = ConfigOut::open(p as *mut c_void, size, &sizes::<T>())?;
        w.put(offset_of!(R<T>, step_size), c.step_size);
        w.put(offset_of!(R<T>, reset_prob), c.tuner.reset_prob);
        w.put(offset_of!(R<T>, adaption_prob), c.tuner.adaption_prob);
        w.put(offset_of!(R<T>, adaption_strength), c.tuner.adaption_strength);
        w.put(offset_of!(R<T>, smoothing_factor), c.tuner.smoothing_factor);
        w.put(offset_of!(R<T>, decoherence_length), c.decoherence_length);
        w.put(offset_of!(R<T>, grad_clip), c.grad_clip);
        w.put(offset_of!(R<T>, integrator), c.integrator as u32);
        w.put(offset_of!(R<T>, precondition), c.precondition as u32);
        w.put(offset_of!(R<T>, mode), c.mode as u32);
        w.put(offset_of!(R<T>, zero_nan_gradients), c.zero_nan_gradients as u32);
        Ok(())
    }
}

pub(crate) unsafe fn config_default<T: Real>(cfg: *mut ConfigRepr<T>, cfg_size: usize, preset: u32, step_size: T) -> smile_status {
    code((|| {
        if cfg.is_null() {
            return Err(SMILE_ERR_NULL_POINTER);
        }
        let c = match preset {
            0 => SmileConfig::smile(step_size),
            1 => SmileConfig::naive(step_size),
            2 => SmileConfig::psmile(step_size),
            _ => return Err(SMILE_ERR_INVALID_SETTING),
        };
        if !(step_size > T::ZERO && step_size.is_finite()) {
            return Err(SMILE_ERR_INVALID_STEP_SIZE);
        }
        <SmileKind as Kind<T>>::write_config(cfg, cfg_size, &c)
    })())
}

/// Which vector an accessor copies out.
#[derive(Clone, Copy)]
pub(crate) enum Vector {
    Momentum,
    Gradient,
    Preconditioner,
}

pub(crate) unsafe fn vector<T: Real>(h: *const c_void, which: Vector, out: *mut T, len: usize) -> smile_status {
    copy_out::<SmileKind, T>(h, out, len, |c, o| {
        match which {
            Vector::Momentum => c.momentum(o)?,
            Vector::Gradient => o.copy_from_slice(c.gradient()),
            Vector::Preconditioner => o.copy_from_slice(c.preconditioner()),
        }
        Ok(())
    })
}

pub(crate) unsafe fn set_momentum<T: Real>(h: *mut c_void, u: *const T, len: usize) -> smile_status {
    copy_in::<SmileKind, T>(h, u, len, |c, v| c.set_momentum(v))
}

pub(crate) unsafe fn set_step_size<T: Real>(h: *mut c_void, eps: T) -> smile_status {
    code(common::with::<SmileKind, T, _>(h, true, |c, hdr| {
        c.set_step_size(eps)?;
        hdr.set_asked(false);
        Ok(())
    }))
}

pub(crate) unsafe fn tuner<T: Real>(h: *const c_void, mean: *mut T, std: *mut T, observed: *mut u64) -> smile_status {
    code((|| {
        if h.is_null() || mean.is_null() || std.is_null() || observed.is_null() {
            return Err(SMILE_ERR_NULL_POINTER);
        }
        let t = common::with::<SmileKind, T, _>(h, false, |c, _| Ok(c.tuner()))?;
        super::instance::put(mean, t.mean)?;
        super::instance::put(std, t.std)?;
        super::instance::put(observed, t.t)
    })())
}

pub(crate) unsafe fn resets_flagged<T: Real>(h: *const c_void, resets: *mut u64, flagged: *mut u64) -> smile_status {
    code((|| {
        if h.is_null() || resets.is_null() || flagged.is_null() {
            return Err(SMILE_ERR_NULL_POINTER);
        }
        let s = common::with::<SmileKind, T, _>(h, false, |c, _| Ok(c.state()))?;
        super::instance::put(resets, s.resets())?;
        super::instance::put(flagged, s.flagged_gradients())
    })())
}

macro_rules! smile_ffi {
    (
        real: $t:ty,
        handle: $h:ident,
        config: $cfg:ident,
        info: $info:ident,
        request: $req:ident,
        logdensity: $ld:ident,
        config_default: $config_default:ident,
        momentum: $momentum:ident,
        gradient: $gradient:ident,
        preconditioner: $preconditioner:ident,
        step_size: $step_size:ident,
        tuner: $tuner:ident,
        resets: $resets:ident,
        set_momentum: $set_momentum:ident,
        set_step_size: $set_step_size:ident,
        common: { $($common:tt)* } $(,)?
    ) => {
        /// A SMILE chain in caller memory (opaque; a handle is the address of
        /// the memory given to `init`/`restore`).
        ///
        /// SMILE (Sommer et al.) is MCLMC driven by mini-batch gradients: one
        /// step is one integrator step (McLachlan: 2 evaluations) without
        /// momentum refresh; after each step the Gamma-quantile tuner looks
        /// at A = |ΔE| and may reset the chain (position restored, momentum
        /// zeroed), shrink ε by (1 − δ) or grow it by (1 + δ).
        /// The caller evaluates all requests of one step on one mini-batch
        /// B, and draws a new mini-batch for every step. Tell the mini-batch
        /// estimate of the full-data log posterior and write its gradient:
        /// ℓ̂_B(x) = log prior(x) + (N/|B|) Σ_{i∈B} log p(y_i | x) — the
        /// caller applies N/|B|. The dimension must be at least 2.
        pub struct $h {
            _opaque: [u8; 0],
        }

        /// Settings of a SMILE chain. Fill with `..._config_default` (which
        /// sets `struct_size` and the preset's values), then change fields.
        /// Version 1: `struct_size` must be `sizeof` of this struct.
        #[repr(C)]
        #[derive(Clone, Copy, Debug)]
        pub struct $cfg {
            /// `sizeof` of the struct as the caller compiled it.
            pub struct_size: usize,
            /// Initial step size ε (finite, > 0); the tuner adapts it
            /// within [1e-8, 10]. `get_config` reports the current ε.
            pub step_size: $t,
            /// ρ in (0, 1]: reset when A is above the ρ quantile of the
            /// fitted Gamma (1 disables resets). Preset: 0.98 (naive: 1).
            pub reset_prob: $t,
            /// a in [0, 1): tail mass for step-size moves (a/3 below, 2a/3
            /// above). Preset: 0.1 (naive: 0).
            pub adaption_prob: $t,
            /// δ in [0, 1): multiplicative step-size change (0 freezes ε).
            /// Preset: 0.02 (naive: 0).
            pub adaption_strength: $t,
            /// β in (0, 1]: weight of the newest A in the moving averages.
            /// Preset: 0.01.
            pub smoothing_factor: $t,
            /// Decoherence length L of an optional partial momentum refresh
            /// around each step (> 0); +inf (the preset) disables it.
            pub decoherence_length: $t,
            /// Gradient entries are clipped to [−grad_clip, grad_clip] (> 0;
            /// +inf disables clipping). Preset: 1e6.
            pub grad_clip: $t,
            /// A `smile_integrator`. Preset: `SMILE_INTEGRATOR_MCLACHLAN`.
            pub integrator: u32,
            /// 1: gradient-noise preconditioning (pSMILE), 0: none. Fixed at init.
            pub precondition: u32,
            /// A `smile_smile_mode`. Preset: `SMILE_SMILE_MODE_CORRECTED`. Fixed at init.
            pub mode: u32,
            /// 1: NaN gradient entries become 0 and ±inf become ±grad_clip
            /// (reference behaviour); 0 (preset): a non-finite entry makes
            /// the step a divergence.
            pub zero_nan_gradients: u32,
        }

        /// What one finished SMILE step did.
        #[repr(C)]
        #[derive(Clone, Copy, Debug)]
        pub struct $info {
            /// Steps completed so far (this one included).
            pub step: u64,
            /// Gradient evaluations so far.
            pub grad_evals: u64,
            /// Rejected steps so far: resets plus non-finite steps.
            pub divergences: u64,
            /// Tuner resets so far.
            pub resets: u64,
            /// Gradient entries of this step that were NaN, infinite or clipped.
            pub flagged_gradients: u64,
            /// ΔE = ΔK + (ℓ_old − ℓ_new) (the potential term is skipped until
            /// a log density has been stored); 0 for a non-finite step.
            pub energy_change: $t,
            /// A = |ΔE|, what the tuner saw.
            pub abs_energy_change: $t,
            /// Kinetic-energy change of the step; 0 for a non-finite step.
            pub kinetic_change: $t,
            /// The stored mini-batch `log p` after the step.
            pub logdensity: $t,
            /// Step size ε used by this step.
            pub step_size: $t,
            /// Step size for the next step (after the tuner).
            pub next_step_size: $t,
            /// The tuner's moving average of A after the step.
            pub energy_mean: $t,
            /// The tuner's moving standard deviation of A after the step.
            pub energy_std: $t,
            /// A `smile_divergence`: `NONE`; `ENERGY_ERROR` for a tuner
            /// reset; `NON_FINITE` for a non-finite log density, gradient or
            /// energy (position restored, momentum zeroed).
            pub divergence: u32,
            /// 1 if the tuner reset the chain in this step, else 0.
            pub reset: u32,
            /// −1 if ε shrank, +1 if it grew, 0 otherwise.
            pub step_size_change: i32,
        }

        const _: () = {
            use core::mem::{align_of, offset_of, size_of};
            type R = ConfigRepr<$t>;
            assert!(size_of::<$cfg>() == size_of::<R>() && align_of::<$cfg>() == align_of::<R>());
            assert!(offset_of!($cfg, step_size) == offset_of!(R, step_size));
            assert!(offset_of!($cfg, grad_clip) == offset_of!(R, grad_clip));
            assert!(offset_of!($cfg, integrator) == offset_of!(R, integrator));
            assert!(offset_of!($cfg, zero_nan_gradients) == offset_of!(R, zero_nan_gradients));
            type I = InfoRepr<$t>;
            assert!(size_of::<$info>() == size_of::<I>() && align_of::<$info>() == align_of::<I>());
            assert!(offset_of!($info, flagged_gradients) == offset_of!(I, flagged_gradients));
            assert!(offset_of!($info, energy_change) == offset_of!(I, energy_change));
            assert!(offset_of!($info, energy_std) == offset_of!(I, energy_std));
            assert!(offset_of!($info, divergence) == offset_of!(I, divergence));
            assert!(offset_of!($info, step_size_change) == offset_of!(I, step_size_change));
        };

        /// Fills `*cfg` with a preset (`smile_smile_preset`) and initial step
        /// size `step_size`, and sets `cfg->struct_size = cfg_size`. Pass
        /// `sizeof *cfg` as `cfg_size`. For the reference code's behaviour
        /// set `mode = SMILE_SMILE_MODE_REFERENCE` and `zero_nan_gradients = 1`
        /// afterwards. Writes nothing on failure.
        /// Errors: `NULL_POINTER`, `STRUCT_SIZE`, `INVALID_SETTING` (unknown
        /// preset), `INVALID_STEP_SIZE` (not finite and > 0).
        #[no_mangle]
        pub unsafe extern "C" fn $config_default(cfg: *mut $cfg, cfg_size: usize, preset: u32, step_size: $t) -> smile_status {
            config_default::<$t>(cfg as *mut ConfigRepr<$t>, cfg_size, preset, step_size)
        }

        /// Copies the unit momentum into `out` (`len` = dimension); zeros at
        /// the start and after a reset or divergence.
        /// Errors: `NULL_POINTER`, `BUFFER_LENGTH`, `ALIGNMENT`, `OVERLAP`, the handle's errors.
        #[no_mangle]
        pub unsafe extern "C" fn $momentum(s: *const $h, out: *mut $t, len: usize) -> smile_status {
            vector::<$t>(s as *const c_void, Vector::Momentum, out, len)
        }

        /// Copies the stored mini-batch gradient (cleaned; zero before the
        /// first step) into `out` (`len` = dimension). Errors: as `..._momentum`.
        #[no_mangle]
        pub unsafe extern "C" fn $gradient(s: *const $h, out: *mut $t, len: usize) -> smile_status {
            vector::<$t>(s as *const c_void, Vector::Gradient, out, len)
        }

        /// Copies the diagonal s = 1/P the dynamics use (pSMILE's
        /// preconditioner; ones without preconditioning) into `out`
        /// (`len` = dimension). Errors: as `..._momentum`.
        #[no_mangle]
        pub unsafe extern "C" fn $preconditioner(s: *const $h, out: *mut $t, len: usize) -> smile_status {
            vector::<$t>(s as *const c_void, Vector::Preconditioner, out, len)
        }

        /// Writes the current (adapted) step size ε to `*out`.
        /// Errors: `NULL_POINTER`, the handle's errors.
        #[no_mangle]
        pub unsafe extern "C" fn $step_size(s: *const $h, out: *mut $t) -> smile_status {
            scalar::<SmileKind, $t, $t>(s as *const c_void, out, |c| c.step_size())
        }

        /// Writes the tuner's moving mean and standard deviation of
        /// A = |ΔE| and the number of steps it has observed.
        /// Errors: `NULL_POINTER`, the handle's errors.
        #[no_mangle]
        pub unsafe extern "C" fn $tuner(s: *const $h, energy_mean: *mut $t, energy_std: *mut $t, observed: *mut u64) -> smile_status {
            tuner::<$t>(s as *const c_void, energy_mean, energy_std, observed)
        }

        /// Writes the tuner resets and the flagged (NaN, infinite or
        /// clipped) gradient entries so far.
        /// Errors: `NULL_POINTER`, the handle's errors.
        #[no_mangle]
        pub unsafe extern "C" fn $resets(s: *const $h, resets: *mut u64, flagged_gradients: *mut u64) -> smile_status {
            resets_flagged::<$t>(s as *const c_void, resets, flagged_gradients)
        }

        /// Sets the momentum (`len` = dimension; normalised internally;
        /// finite; the zero vector is allowed, as after a reset).
        /// Errors: `NULL_POINTER`, `BUFFER_LENGTH`, `ALIGNMENT`, `OVERLAP`,
        /// `INVALID_VALUE`, `OUT_OF_ORDER` (inside a step), the handle's errors.
        #[no_mangle]
        pub unsafe extern "C" fn $set_momentum(s: *mut $h, u: *const $t, len: usize) -> smile_status {
            set_momentum::<$t>(s as *mut c_void, u, len)
        }

        /// Sets the step size ε (finite, > 0) between steps; the tuner
        /// continues from it.
        /// Errors: `INVALID_STEP_SIZE`, `OUT_OF_ORDER` (inside a step), the handle's errors.
        #[no_mangle]
        pub unsafe extern "C" fn $set_step_size(s: *mut $h, step_size: $t) -> smile_status {
            set_step_size::<$t>(s as *mut c_void, step_size)
        }

        chain_ffi! { kind: SmileKind, real: $t, min_dim: 2, handle: $h, config: $cfg, info: $info, request: $req, logdensity: $ld, $($common)* }
    };
}

use super::{smile_logdensity_f32, smile_logdensity_f64, smile_request_f32, smile_request_f64};

smile_ffi! {
    real: f64,
    handle: smile_smile_f64,
    config: smile_smile_config_f64,
    info: smile_smile_step_info_f64,
    request: smile_request_f64,
    logdensity: smile_logdensity_f64,
    config_default: smile_smile_config_default_f64,
    momentum: smile_smile_momentum_f64,
    gradient: smile_smile_gradient_f64,
    preconditioner: smile_smile_preconditioner_f64,
    step_size: smile_smile_step_size_f64,
    tuner: smile_smile_tuner_f64,
    resets: smile_smile_resets_f64,
    set_momentum: smile_smile_set_momentum_f64,
    set_step_size: smile_smile_set_step_size_f64,
    common: {
        memory_size: smile_smile_memory_size_f64,
        init: smile_smile_init_f64,
        ask: smile_smile_ask_f64,
        tell: smile_smile_tell_f64,
        step: smile_smile_step_f64,
        save: smile_smile_save_f64,
        restore: smile_smile_restore_f64,
        dim: smile_smile_dim_f64,
        position: smile_smile_position_f64,
        logdensity_at: smile_smile_logdensity_f64,
        counters: smile_smile_counters_f64,
        get_config: smile_smile_get_config_f64,
        set_config: smile_smile_set_config_f64,
        set_position: smile_smile_set_position_f64,
    }
}

smile_ffi! {
    real: f32,
    handle: smile_smile_f32,
    config: smile_smile_config_f32,
    info: smile_smile_step_info_f32,
    request: smile_request_f32,
    logdensity: smile_logdensity_f32,
    config_default: smile_smile_config_default_f32,
    momentum: smile_smile_momentum_f32,
    gradient: smile_smile_gradient_f32,
    preconditioner: smile_smile_preconditioner_f32,
    step_size: smile_smile_step_size_f32,
    tuner: smile_smile_tuner_f32,
    resets: smile_smile_resets_f32,
    set_momentum: smile_smile_set_momentum_f32,
    set_step_size: smile_smile_set_step_size_f32,
    common: {
        memory_size: smile_smile_memory_size_f32,
        init: smile_smile_init_f32,
        ask: smile_smile_ask_f32,
        tell: smile_smile_tell_f32,
        step: smile_smile_step_f32,
        save: smile_smile_save_f32,
        restore: smile_smile_restore_f32,
        dim: smile_smile_dim_f32,
        position: smile_smile_position_f32,
        logdensity_at: smile_smile_logdensity_f32,
        counters: smile_smile_counters_f32,
        get_config: smile_smile_get_config_f32,
        set_config: smile_smile_set_config_f32,
        set_position: smile_smile_set_position_f32,
    }
}
