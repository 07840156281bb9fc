//! C ABI of the MCLMC auto-tuner (Rust [`MclmcAdapter`]):
//! `smile_mclmc_adapter_*_f64` and `smile_mclmc_adapter_*_f32`.
//!
//! An adapter is an instance in caller memory like a chain (same header,
//! same checks, same save/restore), holding the adaptation state and its
//! `2d` workspace. `observe` opens the adapter and an MCLMC chain of the
//! same precision, checks that the step info handed in is the chain's last
//! finished step and that it was not observed before, and lets the Rust
//! adapter update the chain's settings.

use core::ffi::c_void;
use core::mem::{offset_of, size_of};

use super::common::{self, ConfigIn, ConfigOut};
use super::instance::{self, open, overlaps, put, Sampler};
use super::mclmc::Kind as MclmcKind;
use super::smile_status::*;
use super::{code, smile_status, Status, StepInfoRepr, SMILE_ALIGN};
use crate::real::Real;
use crate::samplers::{Divergence, Mclmc, StepInfo};
use crate::tune::{AdaptPhase, MclmcAdaptConfig, MclmcAdaptState, MclmcAdapter};

/// Phases of the MCLMC adaptation (`smile_mclmc_adapter_phase_*`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum smile_adapt_phase {
    /// Phase 1: step size only.
    SMILE_ADAPT_PHASE_STEP_SIZE = 0,
    /// Phase 2: step size, and the posterior moments are accumulated.
    SMILE_ADAPT_PHASE_MOMENTS = 1,
    /// After phase 2 with diagonal preconditioning: the step size again,
    /// for the new preconditioner.
    SMILE_ADAPT_PHASE_RESCALE = 2,
    /// Finished: the chain holds the tuned step size, L and preconditioner.
    SMILE_ADAPT_PHASE_DONE = 3,
}

fn c_phase(p: AdaptPhase) -> smile_adapt_phase {
    match p {
        AdaptPhase::StepSize => smile_adapt_phase::SMILE_ADAPT_PHASE_STEP_SIZE,
        AdaptPhase::Moments => smile_adapt_phase::SMILE_ADAPT_PHASE_MOMENTS,
        AdaptPhase::Rescale => smile_adapt_phase::SMILE_ADAPT_PHASE_RESCALE,
        AdaptPhase::Done => smile_adapt_phase::SMILE_ADAPT_PHASE_DONE,
    }
}

/// What an adapter instance stores: the Rust adapter's state and the step
/// counter of the last chain step it observed (0: none yet).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub(crate) struct AdapterState<T> {
    st: MclmcAdaptState<T>,
    last_step: u64,
}

/// The MCLMC adapter, for the instance plumbing.
pub(crate) struct AdapterKind;

impl<T: Real> Sampler<T> for AdapterKind {
    type State = AdapterState<T>;
    const MAGIC: u64 = common::magic(b"smMADP", T::NAME);
    fn workspace_len(d: usize) -> Option<usize> {
        (d <= instance::max_dim::<T>()).then(|| MclmcAdapter::<T>::workspace_len(d))
    }
}

/// Generic mirror of `smile_mclmc_adapter_config_*` (same fields, same order).
#[repr(C)]
pub(crate) struct ConfigRepr<T> {
    pub struct_size: usize,
    pub num_steps: u64,
    pub frac_tune1: T,
    pub frac_tune2: T,
    pub desired_energy_var: T,
    pub trust_in_estimate: T,
    pub num_effective_samples: T,
    pub diagonal_preconditioning: u32,
}

/// Known versions of the config struct: version 1 only.
fn sizes<T>() -> [usize; 1] {
    [size_of::<ConfigRepr<T>>()]
}

/// Largest `num_steps` accepted: the phase lengths are computed in f64, and
/// their sums must not overflow.
const MAX_NUM_STEPS: u64 = 1 << 53;

/// Reads and validates a caller's config (any alignment).
///
/// # Safety
/// `p` is non-NULL and points to at least `struct_size` readable bytes.
unsafe fn read_config<T: Real>(p: *const ConfigRepr<T>) -> Status<MclmcAdaptConfig<T>> {
    type R<T> = ConfigRepr<T>;
    let r = ConfigIn::open(p as *const c_void, &sizes::<T>())?;
    let mut c = MclmcAdaptConfig::<T>::new(0);
    r.get(offset_of!(R<T>, num_steps), &mut c.num_steps);
    r.get(offset_of!(R<T>, frac_tune1), &mut c.frac_tune1);
    r.get(offset_of!(R<T>, frac_tune2), &mut c.frac_tune2);
    r.get(offset_of!(R<T>, desired_energy_var), &mut c.desired_energy_var);
    r.get(offset_of!(R<T>, trust_in_estimate), &mut c.trust_in_estimate);
    r.get(offset_of!(R<T>, num_effective_samples), &mut c.num_effective_samples);
    r.flag(offset_of!(R<T>, diagonal_preconditioning), &mut c.diagonal_preconditioning)?;
    if c.num_steps > MAX_NUM_STEPS {
        return Err(SMILE_ERR_INVALID_SETTING);
    }
    // Validated by `MclmcAdapter::new` (the only place the config is used);
    // `memory_size` checks it through a throw-away adapter of dimension 2.
    Ok(c)
}

/// Checks a config the way `init` does, without an instance.
fn check_config<T: Real>(c: MclmcAdaptConfig<T>) -> Status {
    let mut ws = [T::ZERO; 4];
    MclmcAdapter::new(c, 2, &mut ws)?;
    Ok(())
}

/// Writes `c` into a caller's struct of `size` bytes (any alignment).
///
/// # Safety
/// `p` is NULL or points to `size` writable bytes.
unsafe fn write_config<T: Real>(p: *mut ConfigRepr<T>, size: usize, c: &MclmcAdaptConfig<T>) -> Status {
    type R<T> = ConfigRepr<T>;
    let w = ConfigOut::open(p as *mut c_void, size, &sizes::<T>())?;
    w.put(offset_of!(R<T>, num_steps), c.num_steps);
    w.put(offset_of!(R<T>, frac_tune1), c.frac_tune1);
    w.put(offset_of!(R<T>, frac_tune2), c.frac_tune2);
    w.put(offset_of!(R<T>, desired_energy_var), c.desired_energy_var);
    w.put(offset_of!(R<T>, trust_in_estimate), c.trust_in_estimate);
    w.put(offset_of!(R<T>, num_effective_samples), c.num_effective_samples);
    w.put(offset_of!(R<T>, diagonal_preconditioning), c.diagonal_preconditioning as u32);
    Ok(())
}

pub(crate) unsafe fn config_default<T: Real>(cfg: *mut ConfigRepr<T>, cfg_size: usize, num_steps: u64) -> smile_status {
    code((|| {
        if cfg.is_null() {
            return Err(SMILE_ERR_NULL_POINTER);
        }
        if num_steps > MAX_NUM_STEPS {
            return Err(SMILE_ERR_INVALID_SETTING);
        }
        write_config(cfg, cfg_size, &MclmcAdaptConfig::new(num_steps))
    })())
}

pub(crate) unsafe fn memory_size<T: Real>(dim: usize, cfg: *const ConfigRepr<T>, size: *mut usize, align: *mut usize) -> smile_status {
    code((|| {
        if size.is_null() || align.is_null() {
            return Err(SMILE_ERR_NULL_POINTER);
        }
        let bytes = instance::memory_size::<AdapterKind, T>(dim)?;
        if !cfg.is_null() {
            check_config(read_config(cfg)?)?;
        }
        put(size, bytes)?;
        put(align, SMILE_ALIGN)
    })())
}

pub(crate) unsafe fn init<T: Real>(mem: *mut c_void, mem_size: usize, dim: usize, cfg: *const ConfigRepr<T>, out: *mut *mut c_void) -> smile_status {
    code((|| {
        put(out, core::ptr::null_mut())?;
        if mem.is_null() || cfg.is_null() {
            return Err(SMILE_ERR_NULL_POINTER);
        }
        let o = instance::create::<AdapterKind, T>(mem, mem_size, dim)?;
        let c = read_config(cfg)?;
        // Validate before `new` touches the workspace: on failure `mem` is untouched.
        check_config(c)?;
        let ad = MclmcAdapter::new(c, dim, o.ws)?;
        o.hdr.publish(<AdapterKind as Sampler<T>>::MAGIC, AdapterState { st: ad.state(), last_step: 0 });
        put(out, mem)
    })())
}

/// The step info as the Rust API has it. Errors: `INVALID_VALUE` (unknown
/// divergence code, non-finite energy change of a step that was not a
/// non-finite divergence).
fn step_info<T: Real>(i: &StepInfoRepr<T>) -> Status<StepInfo<T>> {
    let divergence = match i.divergence {
        0 => Divergence::None,
        1 => Divergence::NonFinite,
        2 => Divergence::EnergyError,
        _ => return Err(SMILE_ERR_INVALID_VALUE),
    };
    if divergence != Divergence::NonFinite && !i.energy_change.is_finite() {
        return Err(SMILE_ERR_INVALID_VALUE);
    }
    Ok(StepInfo {
        step: i.step,
        grad_evals: i.grad_evals,
        divergences: i.divergences,
        energy_change: i.energy_change,
        kinetic_change: i.kinetic_change,
        logdensity: i.logdensity,
        step_size: i.step_size,
        divergence,
    })
}

pub(crate) unsafe fn observe<T: Real>(a: *mut c_void, chain: *mut c_void, info: *const StepInfoRepr<T>, phase: *mut smile_adapt_phase) -> smile_status {
    code((|| {
        if a.is_null() || chain.is_null() || info.is_null() {
            return Err(SMILE_ERR_NULL_POINTER);
        }
        // A copy: `info` may point anywhere, even into an instance.
        let i = info.read_unaligned();
        // The two instances must be disjoint: find the chain's extent first
        // (its mapping is dropped at once), then map both.
        let chain_span = open::<MclmcKind, T>(chain)?.hdr.span;
        let ao = open::<AdapterKind, T>(a)?;
        if overlaps(ao.hdr.span, chain_span) {
            return Err(SMILE_ERR_OVERLAP);
        }
        let co = open::<MclmcKind, T>(chain)?;
        let st = ao.hdr.state();
        let mut ad = MclmcAdapter::from_parts(st.st, ao.ws).map_err(|_| SMILE_ERR_INVALID_STATE)?;
        let mut c = Mclmc::from_parts(co.hdr.state(), co.ws).map_err(|_| SMILE_ERR_INVALID_STATE)?;
        if ad.dim() != c.dim() {
            return Err(SMILE_ERR_BUFFER_LENGTH);
        }
        let info = step_info(&i)?;
        // The info must be the chain's last finished step (its counters are
        // the chain's now), a step not observed yet, and the chain must be
        // between steps (a no-op `set_config` fails inside a step).
        let cs = c.state();
        let last = info.step == cs.steps() && info.grad_evals == cs.grad_evals() && info.divergences == cs.divergences();
        if !last || info.step == 0 || info.step <= st.last_step {
            return Err(SMILE_ERR_OUT_OF_ORDER);
        }
        c.set_config(c.config()).map_err(|_| SMILE_ERR_OUT_OF_ORDER)?;
        // Cannot fail after the checks above; if it did, neither header is
        // written back.
        let p = ad.observe(&mut c, &info)?;
        ao.hdr.set_state(AdapterState { st: ad.state(), last_step: info.step });
        co.hdr.set_state(c.state());
        // The chain's settings changed: like a setter, withdraw its request.
        co.hdr.set_asked(false);
        if !phase.is_null() {
            put(phase, c_phase(p))?;
        }
        Ok(())
    })())
}

pub(crate) unsafe fn get_phase<T: Real>(a: *const c_void, out: *mut smile_adapt_phase) -> smile_status {
    code((|| {
        if a.is_null() || out.is_null() {
            return Err(SMILE_ERR_NULL_POINTER);
        }
        let o = open::<AdapterKind, T>(a)?;
        let ad = MclmcAdapter::from_parts(o.hdr.state().st, o.ws).map_err(|_| SMILE_ERR_INVALID_STATE)?;
        put(out, c_phase(ad.phase()))
    })())
}

pub(crate) unsafe fn planned_steps<T: Real>(a: *const c_void, out: *mut u64) -> smile_status {
    code((|| {
        if a.is_null() || out.is_null() {
            return Err(SMILE_ERR_NULL_POINTER);
        }
        let o = open::<AdapterKind, T>(a)?;
        let ad = MclmcAdapter::from_parts(o.hdr.state().st, o.ws).map_err(|_| SMILE_ERR_INVALID_STATE)?;
        put(out, ad.planned_steps())
    })())
}

pub(crate) unsafe fn save<T: Real>(a: *const c_void, buf: *mut c_void, buf_size: usize) -> smile_status {
    code(instance::save::<AdapterKind, T>(a, buf, buf_size))
}

pub(crate) unsafe fn restore<T: Real>(mem: *mut c_void, mem_size: usize, buf: *const c_void, buf_size: usize, out: *mut *mut c_void) -> smile_status {
    code((|| {
        put(out, core::ptr::null_mut())?;
        instance::restore::<AdapterKind, T>(mem, mem_size, buf, buf_size, |st, ws| {
            MclmcAdapter::from_parts(st.st, ws).map(|_| ()).map_err(|_| SMILE_ERR_INVALID_STATE)
        })?;
        put(out, mem)
    })())
}

/// Stamps out the adapter's C symbols and structs for one precision.
macro_rules! adapter_ffi {
    (
        real: $t:ty,
        handle: $h:ident,
        chain: $chain:ident,
        info: $info:ident,
        config: $cfg:ident,
        config_default: $config_default:ident,
        memory_size: $memory_size:ident,
        init: $init:ident,
        observe: $observe:ident,
        phase: $phase:ident,
        planned_steps: $planned_steps:ident,
        save: $save:ident,
        restore: $restore:ident $(,)?
    ) => {
        /// An MCLMC auto-tuner in caller memory (opaque; a handle is the
        /// address of the memory given to `init`/`restore`).
        ///
        /// It tunes one MCLMC chain of the same dimension and precision
        /// (BlackJAX 1.7.1 `mclmc_find_L_and_step_size`, phases 1–2): run the
        /// chain step by step as usual (`step` or ask/tell) and hand every
        /// finished step's info to `..._observe`, which updates the chain's
        /// step size, and at the end of phase 2 its decoherence length L and
        /// diagonal preconditioner, until the phase is
        /// `SMILE_ADAPT_PHASE_DONE` (after `..._planned_steps` observed
        /// steps). Then keep sampling with the tuned chain.
        pub struct $h {
            _opaque: [u8; 0],
        }

        /// Settings of the MCLMC adaptation. Fill with `..._config_default`
        /// (which sets `struct_size` and BlackJAX's defaults), then change
        /// fields. Version 1: `struct_size` must be `sizeof` of this struct.
        #[repr(C)]
        #[derive(Clone, Copy, Debug)]
        pub struct $cfg {
            /// `sizeof` of the struct as the caller compiled it.
            pub struct_size: usize,
            /// Planned number of sampling steps N (at most 2^53); the phases
            /// are fractions of it: phase 1 `round(N·frac_tune1)` steps,
            /// phase 2 `round(N·frac_tune2)`, then (with preconditioning)
            /// `round(phase 2 / 3)` steps.
            pub num_steps: u64,
            /// Phase 1 fraction, in [0, 1]. Default 0.1.
            pub frac_tune1: $t,
            /// Phase 2 fraction, in [0, 1]. Default 0.1.
            pub frac_tune2: $t,
            /// Target `Var[ΔE]/d` (finite, > 0). Default 5e-4.
            pub desired_energy_var: $t,
            /// Width of the weight in `ln ξ` (finite, > 0). Default 1.5.
            pub trust_in_estimate: $t,
            /// Memory of the step-size averages (finite, > 1). Default 150.
            pub num_effective_samples: $t,
            /// 1 (default): at the end of phase 2 set the chain's
            /// preconditioner to the estimated posterior standard deviations
            /// and L to sqrt(d), then re-adapt the step size; 0: keep the
            /// preconditioner, set L = sqrt(sum of the variances).
            pub diagonal_preconditioning: u32,
        }

        const _: () = {
            use core::mem::{align_of, offset_of, size_of};
            type R = ConfigRepr<$t>;
            assert!(size_of::<$cfg>() == size_of::<R>() && align_of::<$cfg>() == align_of::<R>());
            assert!(offset_of!($cfg, num_steps) == offset_of!(R, num_steps));
            assert!(offset_of!($cfg, frac_tune1) == offset_of!(R, frac_tune1));
            assert!(offset_of!($cfg, num_effective_samples) == offset_of!(R, num_effective_samples));
            assert!(offset_of!($cfg, diagonal_preconditioning) == offset_of!(R, diagonal_preconditioning));
        };

        /// Fills `*cfg` with BlackJAX's defaults for a run of `num_steps`
        /// steps and sets `cfg->struct_size = cfg_size`. Pass `sizeof *cfg`
        /// as `cfg_size`. Writes nothing on failure.
        /// Errors: `NULL_POINTER`, `STRUCT_SIZE`, `INVALID_SETTING`
        /// (`num_steps` above 2^53).
        #[no_mangle]
        pub unsafe extern "C" fn $config_default(cfg: *mut $cfg, cfg_size: usize, num_steps: u64) -> smile_status {
            config_default::<$t>(cfg as *mut ConfigRepr<$t>, cfg_size, num_steps)
        }

        /// Memory needed by an adapter for chains of dimension `dim` (at
        /// least 2): writes the size in bytes to `*size` and the required
        /// alignment (`SMILE_ALIGN`) to `*align`. A checkpoint
        /// (`..._save`) has the same size. `cfg` may be NULL; if given it is
        /// validated.
        /// Errors: `NULL_POINTER`, `DIMENSION_TOO_SMALL`,
        /// `DIMENSION_TOO_LARGE`, `STRUCT_SIZE`, `INVALID_SETTING`.
        #[no_mangle]
        pub unsafe extern "C" fn $memory_size(dim: usize, cfg: *const $cfg, size: *mut usize, align: *mut usize) -> smile_status {
            memory_size::<$t>(dim, cfg as *const ConfigRepr<$t>, size, align)
        }

        /// Sets up an adapter for chains of dimension `dim` in `mem`
        /// (`mem_size` bytes, at least the size from `..._memory_size`,
        /// aligned to `SMILE_ALIGN`) with settings `cfg` (required: fill it
        /// with `..._config_default` first). Writes the handle (== `mem`)
        /// to `*out` (NULL on failure). The caller keeps ownership of
        /// `mem`; on failure it is untouched. If the planned adaptation is
        /// empty (`..._planned_steps` 0) the phase is already `DONE`.
        /// Errors: `NULL_POINTER`, `DIMENSION_TOO_SMALL`,
        /// `DIMENSION_TOO_LARGE`, `BUFFER_LENGTH` (mem too small),
        /// `ALIGNMENT`, `STRUCT_SIZE`, `INVALID_SETTING` (a field out of
        /// range, NaN, or `diagonal_preconditioning` not 0/1).
        #[no_mangle]
        pub unsafe extern "C" fn $init(mem: *mut c_void, mem_size: usize, dim: usize, cfg: *const $cfg, out: *mut *mut $h) -> smile_status {
            init::<$t>(mem, mem_size, dim, cfg as *const ConfigRepr<$t>, out as *mut *mut c_void)
        }

        /// Feeds the step `*info` that the last `step` (or the `tell` that
        /// finished a step) of `chain` returned, and updates the chain's
        /// settings: its step size (every phase), and at the end of phase 2
        /// its L and preconditioner. Writes the phase after this step to
        /// `*phase` (may be NULL). Observe every step, in order, from the
        /// first one after `init` until the phase is `DONE` (later calls
        /// change nothing and report `DONE`). Like a setter, a successful
        /// call withdraws a request the chain handed out by `ask`. The
        /// adapter and the chain are separate instances (both may be saved
        /// and restored, together).
        /// Errors: `NULL_POINTER`, `BUFFER_LENGTH` (the chain's dimension is
        /// not the adapter's), `OUT_OF_ORDER` (`*info` is not the chain's
        /// last finished step — its `step`, `grad_evals` and `divergences`
        /// differ from the chain's counters —, or that step was observed
        /// already, or the chain has taken no step, or is inside a step),
        /// `INVALID_VALUE` (`info->divergence` unknown, or a non-finite
        /// `energy_change` not marked as a non-finite divergence),
        /// `OVERLAP` (the two instances overlap), the handle's errors for
        /// either handle. A failed call changes neither instance.
        #[no_mangle]
        pub unsafe extern "C" fn $observe(adapter: *mut $h, chain: *mut $chain, info: *const $info, phase: *mut smile_adapt_phase) -> smile_status {
            observe::<$t>(adapter as *mut c_void, chain as *mut c_void, info as *const StepInfoRepr<$t>, phase)
        }

        /// Writes the current phase to `*out`.
        /// Errors: `NULL_POINTER`, the handle's errors.
        #[no_mangle]
        pub unsafe extern "C" fn $phase(adapter: *const $h, out: *mut smile_adapt_phase) -> smile_status {
            get_phase::<$t>(adapter as *const c_void, out)
        }

        /// Writes the number of steps the adaptation takes (phase 1 +
        /// phase 2 + rescale; fixed at init) to `*out`. Unless the moments
        /// of phase 2 come out degenerate (which skips the rescale), the
        /// phase is `DONE` after exactly that many observed steps.
        /// Errors: `NULL_POINTER`, the handle's errors.
        #[no_mangle]
        pub unsafe extern "C" fn $planned_steps(adapter: *const $h, out: *mut u64) -> smile_status {
            planned_steps::<$t>(adapter as *const c_void, out)
        }

        /// Checkpoint: copies the whole adapter into `buf` (`buf_size`
        /// bytes, at least the size from `..._memory_size`; any alignment).
        /// Save the chain at the same point. Native-endian bytes: restore on
        /// the same kind of machine.
        /// Errors: `NULL_POINTER`, `BUFFER_LENGTH`, `OVERLAP`, the handle's errors.
        #[no_mangle]
        pub unsafe extern "C" fn $save(adapter: *const $h, buf: *mut c_void, buf_size: usize) -> smile_status {
            save::<$t>(adapter as *const c_void, buf, buf_size)
        }

        /// Restores a checkpoint from `buf` (`buf_size` bytes) into `mem`
        /// (`mem_size` bytes, aligned to `SMILE_ALIGN`; `mem` may be `buf`
        /// itself), and writes the handle (== `mem`) to `*out` (NULL on
        /// failure). The restored adapter continues bit-identically.
        /// Errors: `NULL_POINTER`, `BUFFER_LENGTH`, `ALIGNMENT`,
        /// `NOT_AN_INSTANCE` (not an adapter checkpoint of this precision),
        /// `INVALID_STATE` (corrupt; `mem` then holds no instance).
        #[no_mangle]
        pub unsafe extern "C" fn $restore(mem: *mut c_void, mem_size: usize, buf: *const c_void, buf_size: usize, out: *mut *mut $h) -> smile_status {
            restore::<$t>(mem, mem_size, buf, buf_size, out as *mut *mut c_void)
        }
    };
}

use super::mclmc::{smile_mclmc_f32, smile_mclmc_f64};
use super::{smile_step_info_f32, smile_step_info_f64};

adapter_ffi! {
    real: f64,
    handle: smile_mclmc_adapter_f64,
    chain: smile_mclmc_f64,
    info: smile_step_info_f64,
    config: smile_mclmc_adapter_config_f64,
    config_default: smile_mclmc_adapter_config_default_f64,
    memory_size: smile_mclmc_adapter_memory_size_f64,
    init: smile_mclmc_adapter_init_f64,
    observe: smile_mclmc_adapter_observe_f64,
    phase: smile_mclmc_adapter_phase_f64,
    planned_steps: smile_mclmc_adapter_planned_steps_f64,
    save: smile_mclmc_adapter_save_f64,
    restore: smile_mclmc_adapter_restore_f64,
}

adapter_ffi! {
    real: f32,
    handle: smile_mclmc_adapter_f32,
    chain: smile_mclmc_f32,
    info: smile_step_info_f32,
    config: smile_mclmc_adapter_config_f32,
    config_default: smile_mclmc_adapter_config_default_f32,
    memory_size: smile_mclmc_adapter_memory_size_f32,
    init: smile_mclmc_adapter_init_f32,
    observe: smile_mclmc_adapter_observe_f32,
    phase: smile_mclmc_adapter_phase_f32,
    planned_steps: smile_mclmc_adapter_planned_steps_f32,
    save: smile_mclmc_adapter_save_f32,
    restore: smile_mclmc_adapter_restore_f32,
}
