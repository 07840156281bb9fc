//! C ABI of the MCLMC sampler: `smile_mclmc_*_f64` and `smile_mclmc_*_f32`.
//!
//! The generic functions below do the work; `mclmc_ffi!` stamps out the
//! `extern "C"` symbols and the precision-specific structs.

use core::ffi::c_void;
use core::mem::{offset_of, size_of};

use super::instance::{self, in_slice, max_dim, open, out_slice, put, Hdr, Sampler};
use super::smile_progress::*;
use super::smile_status::*;
use super::{code, request_kind, smile_progress, smile_status, LogDensityFn, RequestRepr, Status, StepInfoRepr, SMILE_ALIGN};
use crate::dynamics::Integrator;
use crate::real::Real;
use crate::samplers::{Mclmc, MclmcConfig, MclmcState, Progress, StepInfo};

/// The MCLMC sampler, for the instance plumbing.
pub(crate) struct Kind;

impl<T: Real> Sampler<T> for Kind {
    type State = MclmcState<T>;
    const MAGIC: u64 = super::common::magic(b"smMCLC", T::NAME);
    fn workspace_len(d: usize) -> Option<usize> {
        (d <= max_dim::<T>()).then(|| Mclmc::<T>::workspace_len(d))
    }
}

/// Generic mirror of `smile_mclmc_config_*` (same fields, same order).
#[repr(C)]
pub(crate) struct ConfigRepr<T> {
    pub struct_size: usize,
    pub step_size: T,
    pub decoherence_length: T,
    pub max_energy_change: T,
    pub integrator: u32,
}

/// Accepted `struct_size` values: the end of each field from `step_size` on
/// (older, shorter versions of the struct) and the full size.
fn size_ok<T>(s: usize) -> bool {
    let t = size_of::<T>();
    s == offset_of!(ConfigRepr<T>, step_size) + t
        || s == offset_of!(ConfigRepr<T>, decoherence_length) + t
        || s == offset_of!(ConfigRepr<T>, max_energy_change) + t
        || s == offset_of!(ConfigRepr<T>, integrator) + size_of::<u32>()
        || s == size_of::<ConfigRepr<T>>()
}

/// Reads a caller's config (any alignment); missing fields default for `d`.
///
/// # Safety
/// `p` points to at least `struct_size` readable bytes (whatever it says).
unsafe fn read_config<T: Real>(p: *const ConfigRepr<T>, d: usize) -> Status<MclmcConfig<T>> {
    let b = p as *const u8;
    let size = (b as *const usize).read_unaligned();
    if !size_ok::<T>(size) {
        return Err(SMILE_ERR_STRUCT_SIZE);
    }
    let mut c = MclmcConfig::<T>::for_dim(d);
    let fits = |off: usize, len: usize| off + len <= size;
    let real = |off: usize| (b.add(off) as *const T).read_unaligned();
    let t = size_of::<T>();
    let o = offset_of!(ConfigRepr<T>, step_size);
    if fits(o, t) {
        c.step_size = real(o);
    }
    let o = offset_of!(ConfigRepr<T>, decoherence_length);
    if fits(o, t) {
        c.decoherence_length = real(o);
    }
    let o = offset_of!(ConfigRepr<T>, max_energy_change);
    if fits(o, t) {
        c.max_energy_change = real(o);
    }
    let o = offset_of!(ConfigRepr<T>, integrator);
    if fits(o, 4) {
        let v = (b.add(o) as *const u32).read_unaligned();
        c.integrator = Integrator::from_u32(v).ok_or(SMILE_ERR_INVALID_SETTING)?;
    }
    c.validate()?;
    Ok(c)
}

/// Writes `c` into a caller's struct of `size` bytes (any alignment), field
/// by field, never past `size`.
///
/// # Safety
/// `p` is NULL or points to `size` writable bytes.
unsafe fn write_config<T: Real>(p: *mut ConfigRepr<T>, size: usize, c: &MclmcConfig<T>) -> Status {
    if p.is_null() {
        return Err(SMILE_ERR_NULL_POINTER);
    }
    if !size_ok::<T>(size) {
        return Err(SMILE_ERR_STRUCT_SIZE);
    }
    let b = p as *mut u8;
    let t = size_of::<T>();
    let real = |off: usize, v: T| {
        if off + t <= size {
            (b.add(off) as *mut T).write_unaligned(v);
        }
    };
    (b as *mut usize).write_unaligned(size);
    real(offset_of!(ConfigRepr<T>, step_size), c.step_size);
    real(offset_of!(ConfigRepr<T>, decoherence_length), c.decoherence_length);
    real(offset_of!(ConfigRepr<T>, max_energy_change), c.max_energy_change);
    let o = offset_of!(ConfigRepr<T>, integrator);
    if o + 4 <= size {
        (b.add(o) as *mut u32).write_unaligned(c.integrator as u32);
    }
    Ok(())
}

/// Opens the instance `h`, rebuilds the chain, runs `f`, and (if `write`)
/// stores the state back.
///
/// # Safety
/// As for [`instance::open`].
unsafe fn with<T: Real, R>(h: *const c_void, write: bool, f: impl FnOnce(&mut Mclmc<'_, T>, &Hdr<MclmcState<T>>) -> Status<R>) -> Status<R> {
    let o = open::<Kind, T>(h)?;
    let hdr = o.hdr;
    let mut chain = Mclmc::from_parts(hdr.state(), o.ws).map_err(|_| SMILE_ERR_INVALID_STATE)?;
    let r = f(&mut chain, &hdr);
    if write {
        hdr.set_state(chain.state());
    }
    r
}

pub(crate) unsafe fn config_default<T: Real>(cfg: *mut ConfigRepr<T>, cfg_size: usize, dim: usize) -> smile_status {
    code((|| {
        if cfg.is_null() {
            return Err(SMILE_ERR_NULL_POINTER);
        }
        if dim < 2 {
            return Err(SMILE_ERR_DIMENSION_TOO_SMALL);
        }
        write_config(cfg, cfg_size, &MclmcConfig::for_dim(dim))
    })())
}

pub(crate) unsafe fn memory_size<T: Real>(dim: usize, cfg: *const ConfigRepr<T>, size: *mut usize, align: *mut usize) -> smile_status {
    code((|| {
        if size.is_null() || align.is_null() {
            return Err(SMILE_ERR_NULL_POINTER);
        }
        let bytes = instance::memory_size::<Kind, T>(dim)?;
        if !cfg.is_null() {
            read_config(cfg, dim)?;
        }
        put(size, bytes)?;
        put(align, SMILE_ALIGN)
    })())
}

#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn init<T: Real>(
    mem: *mut c_void,
    mem_size: usize,
    dim: usize,
    cfg: *const ConfigRepr<T>,
    x0: *const T,
    seed: u64,
    stream: u64,
    out: *mut *mut c_void,
) -> smile_status {
    code((|| {
        put(out, core::ptr::null_mut())?;
        if mem.is_null() || x0.is_null() {
            return Err(SMILE_ERR_NULL_POINTER);
        }
        let o = instance::create::<Kind, T>(mem, mem_size, dim)?;
        let c = if cfg.is_null() { MclmcConfig::for_dim(dim) } else { read_config(cfg, dim)? };
        let x0 = in_slice(x0, dim, dim, o.hdr.span)?;
        let chain = Mclmc::new(c, x0, o.ws, seed, stream)?;
        o.hdr.publish(<Kind as Sampler<T>>::MAGIC, chain.state());
        put(out, mem)
    })())
}

pub(crate) unsafe fn ask<T: Real>(h: *mut c_void, req: *mut RequestRepr<T>) -> smile_status {
    code((|| {
        if h.is_null() || req.is_null() {
            return Err(SMILE_ERR_NULL_POINTER);
        }
        let r = with::<T, _>(h, true, |c, hdr| {
            let r = c.ask();
            hdr.set_asked(true);
            Ok(RequestRepr { x: r.x.as_ptr(), grad: r.grad.as_mut_ptr(), dim: hdr.dim, step: r.step, stage: r.stage, kind: request_kind(r.kind) })
        })?;
        put(req, r)
    })())
}

pub(crate) unsafe fn tell<T: Real>(h: *mut c_void, logp: T, progress: *mut smile_progress, info: *mut StepInfoRepr<T>) -> smile_status {
    code((|| {
        if h.is_null() || progress.is_null() {
            return Err(SMILE_ERR_NULL_POINTER);
        }
        let p = with::<T, _>(h, true, |c, hdr| {
            // `tell` answers a request from `ask`; a failed `tell` leaves it pending.
            if !hdr.asked() {
                return Err(SMILE_ERR_OUT_OF_ORDER);
            }
            let p = c.tell(logp)?;
            hdr.set_asked(false);
            Ok(p)
        })?;
        match p {
            Progress::Initialized => put(progress, SMILE_PROGRESS_INITIALIZED),
            Progress::NeedEval => put(progress, SMILE_PROGRESS_NEED_EVAL),
            Progress::Step(i) => {
                if !info.is_null() {
                    put(info, i.into())?;
                }
                put(progress, SMILE_PROGRESS_STEP_DONE)
            }
        }
    })())
}

/// One whole step through the callback (initialising first if needed).
fn run<T: Real>(c: &mut Mclmc<'_, T>, f: LogDensityFn<T>, user: *mut c_void, d: usize) -> Status<StepInfo<T>> {
    loop {
        let r = c.ask();
        let mut lp = T::from_f64(f64::NAN);
        // SAFETY: `x` and `grad` are `d` values each inside the instance; the
        // callback's contract is the caller's.
        let rc = unsafe { f(user, d, r.x.as_ptr(), r.grad.as_mut_ptr(), &mut lp) };
        if rc != 0 {
            return Err(SMILE_ERR_CALLBACK_FAILED);
        }
        if let Progress::Step(i) = c.tell(lp)? {
            return Ok(i);
        }
    }
}

pub(crate) unsafe fn step<T: Real>(h: *mut c_void, f: Option<LogDensityFn<T>>, user: *mut c_void, info: *mut StepInfoRepr<T>) -> smile_status {
    code((|| {
        if h.is_null() {
            return Err(SMILE_ERR_NULL_POINTER);
        }
        let f = f.ok_or(SMILE_ERR_NULL_POINTER)?;
        let o = open::<Kind, T>(h)?;
        let hdr = o.hdr;
        let mut chain = Mclmc::from_parts(hdr.state(), o.ws).map_err(|_| SMILE_ERR_INVALID_STATE)?;
        hdr.set_busy(true);
        let r = run(&mut chain, f, user, hdr.dim);
        hdr.set_state(chain.state());
        hdr.set_asked(false);
        hdr.set_busy(false);
        let i = r?;
        if !info.is_null() {
            put(info, i.into())?;
        }
        Ok(())
    })())
}

pub(crate) unsafe fn save<T: Real>(h: *const c_void, buf: *mut c_void, buf_size: usize) -> smile_status {
    code(instance::save::<Kind, T>(h, buf, buf_size))
}

pub(crate) unsafe fn restore<T: Real>(mem: *mut c_void, mem_size: usize, buf: *const c_void, buf_size: usize, out: *mut *mut c_void) -> smile_status {
    code((|| {
        put(out, core::ptr::null_mut())?;
        instance::restore::<Kind, T>(mem, mem_size, buf, buf_size, |st, ws| Mclmc::from_parts(st, ws).map(|_| ()).map_err(|_| SMILE_ERR_INVALID_STATE))?;
        put(out, mem)
    })())
}

pub(crate) unsafe fn dim<T: Real>(h: *const c_void, out: *mut usize) -> smile_status {
    code((|| {
        if h.is_null() || out.is_null() {
            return Err(SMILE_ERR_NULL_POINTER);
        }
        let d = with::<T, _>(h, false, |c, _| Ok(c.dim()))?;
        put(out, d)
    })())
}

/// Which vector an accessor copies out.
#[derive(Clone, Copy)]
pub(crate) enum Vector {
    Position,
    Momentum,
    Gradient,
}

pub(crate) unsafe fn vector<T: Real>(h: *const c_void, which: Vector, out: *mut T, len: usize) -> smile_status {
    code((|| {
        if h.is_null() || out.is_null() {
            return Err(SMILE_ERR_NULL_POINTER);
        }
        with::<T, _>(h, false, |c, hdr| {
            let o = out_slice(out, len, hdr.dim, hdr.span)?;
            match which {
                Vector::Position => o.copy_from_slice(c.position()),
                Vector::Gradient => o.copy_from_slice(c.gradient()),
                Vector::Momentum => c.momentum(o)?,
            }
            Ok(())
        })
    })())
}

pub(crate) unsafe fn logdensity<T: Real>(h: *const c_void, out: *mut T) -> smile_status {
    code((|| {
        if h.is_null() || out.is_null() {
            return Err(SMILE_ERR_NULL_POINTER);
        }
        let v = with::<T, _>(h, false, |c, _| Ok(c.logdensity()))?;
        put(out, v)
    })())
}

pub(crate) unsafe fn counters<T: Real>(h: *const c_void, steps: *mut u64, grad_evals: *mut u64, divergences: *mut u64) -> smile_status {
    code((|| {
        if h.is_null() || steps.is_null() || grad_evals.is_null() || divergences.is_null() {
            return Err(SMILE_ERR_NULL_POINTER);
        }
        let s = with::<T, _>(h, false, |c, _| Ok(c.state()))?;
        put(steps, s.steps())?;
        put(grad_evals, s.grad_evals())?;
        put(divergences, s.divergences())
    })())
}

pub(crate) unsafe fn get_config<T: Real>(h: *const c_void, cfg: *mut ConfigRepr<T>, cfg_size: usize) -> smile_status {
    code((|| {
        if h.is_null() || cfg.is_null() {
            return Err(SMILE_ERR_NULL_POINTER);
        }
        let c = with::<T, _>(h, false, |c, _| Ok(c.config()))?;
        write_config(cfg, cfg_size, &c)
    })())
}

pub(crate) unsafe fn set_config<T: Real>(h: *mut c_void, cfg: *const ConfigRepr<T>) -> smile_status {
    code((|| {
        if h.is_null() || cfg.is_null() {
            return Err(SMILE_ERR_NULL_POINTER);
        }
        with::<T, _>(h, true, |c, hdr| {
            let new = read_config(cfg, hdr.dim)?;
            c.set_config(new)?;
            hdr.set_asked(false);
            Ok(())
        })
    })())
}

/// Which vector a setter replaces.
#[derive(Clone, Copy)]
pub(crate) enum Input {
    Position,
    Momentum,
}

pub(crate) unsafe fn set_vector<T: Real>(h: *mut c_void, which: Input, v: *const T, len: usize) -> smile_status {
    code((|| {
        if h.is_null() || v.is_null() {
            return Err(SMILE_ERR_NULL_POINTER);
        }
        with::<T, _>(h, true, |c, hdr| {
            let v = in_slice(v, len, hdr.dim, hdr.span)?;
            match which {
                Input::Position => c.set_position(v)?,
                Input::Momentum => c.set_momentum(v)?,
            }
            hdr.set_asked(false);
            Ok(())
        })
    })())
}

pub(crate) unsafe fn set_preconditioner<T: Real>(h: *mut c_void, s: *const T, len: usize) -> smile_status {
    code((|| {
        if h.is_null() {
            return Err(SMILE_ERR_NULL_POINTER);
        }
        with::<T, _>(h, true, |c, hdr| {
            if s.is_null() {
                c.set_preconditioner(None)?;
            } else {
                c.set_preconditioner(Some(in_slice(s, len, hdr.dim, hdr.span)?))?;
            }
            hdr.set_asked(false);
            Ok(())
        })
    })())
}

/// Stamps out the MCLMC C symbols and structs for one precision.
macro_rules! mclmc_ffi {
    (
        real: $t:ty,
        handle: $h:ident,
        config: $cfg:ident,
        request: $req:ident,
        info: $info:ident,
        logdensity: $ld:ident,
        config_default: $config_default:ident,
        memory_size: $memory_size:ident,
        init: $init:ident,
        ask: $ask:ident,
        tell: $tell:ident,
        step: $step:ident,
        save: $save:ident,
        restore: $restore:ident,
        dim: $dim:ident,
        position: $position:ident,
        momentum: $momentum:ident,
        gradient: $gradient:ident,
        logdensity_at: $logdensity_at:ident,
        counters: $counters:ident,
        get_config: $get_config:ident,
        set_config: $set_config:ident,
        set_position: $set_position:ident,
        set_momentum: $set_momentum:ident,
        set_preconditioner: $set_preconditioner:ident $(,)?
    ) => {
        /// An MCLMC chain in caller memory (opaque; a handle is the address
        /// of the memory given to `init`/`restore`).
        pub struct $h {
            _opaque: [u8; 0],
        }

        /// Settings of an MCLMC chain. Fill with `..._config_default` (which
        /// sets `struct_size`), then change fields.
        #[repr(C)]
        #[derive(Clone, Copy, Debug)]
        pub struct $cfg {
            /// `sizeof` of the struct as the caller compiled it.
            pub struct_size: usize,
            /// Step size: finite, > 0. Default `0.25 * sqrt(d)` (untuned).
            pub step_size: $t,
            /// Momentum decoherence length L: > 0; +inf disables the partial
            /// momentum refresh. Default `sqrt(d)`.
            pub decoherence_length: $t,
            /// Steps whose |energy change| exceeds this are rejected as
            /// divergences: > 0; +inf (the default) disables the check.
            pub max_energy_change: $t,
            /// A `smile_integrator`. Default `SMILE_INTEGRATOR_MCLACHLAN`.
            pub integrator: u32,
        }

        const _: () = {
            use core::mem::{align_of, offset_of, size_of};
            type R = ConfigRepr<$t>;
            assert!(size_of::<$cfg>() == size_of::<R>() && align_of::<$cfg>() == align_of::<R>());
            assert!(offset_of!($cfg, step_size) == offset_of!(R, step_size));
            assert!(offset_of!($cfg, decoherence_length) == offset_of!(R, decoherence_length));
            assert!(offset_of!($cfg, max_energy_change) == offset_of!(R, max_energy_change));
            assert!(offset_of!($cfg, integrator) == offset_of!(R, integrator));
        };

        /// Fills `*cfg` with the defaults for dimension `dim` and sets
        /// `cfg->struct_size = cfg_size`. Pass `sizeof *cfg` as `cfg_size`;
        /// no byte past it is written.
        /// Errors: `NULL_POINTER`, `STRUCT_SIZE`, `DIMENSION_TOO_SMALL`.
        #[no_mangle]
        pub unsafe extern "C" fn $config_default(cfg: *mut $cfg, cfg_size: usize, dim: usize) -> smile_status {
            config_default::<$t>(cfg as *mut ConfigRepr<$t>, cfg_size, dim)
        }

        /// Memory needed by a chain of dimension `dim`: writes the size in
        /// bytes to `*size` and the required alignment (`SMILE_ALIGN`) to
        /// `*align`. A checkpoint (`..._save`) has the same size. `cfg` may be
        /// NULL (defaults); if given it is validated.
        /// Errors: `NULL_POINTER`, `DIMENSION_TOO_SMALL`,
        /// `DIMENSION_TOO_LARGE`, the config's errors.
        #[no_mangle]
        pub unsafe extern "C" fn $memory_size(dim: usize, cfg: *const $cfg, size: *mut usize, align: *mut usize) -> smile_status {
            memory_size::<$t>(dim, cfg as *const ConfigRepr<$t>, size, align)
        }

        /// Sets up a chain of dimension `dim` starting at `x0` (`dim` values)
        /// in `mem` (`mem_size` bytes, at least the size from
        /// `..._memory_size`, aligned to `SMILE_ALIGN`), with settings `cfg`
        /// (may be NULL: defaults for `dim`) and random stream
        /// (`seed`, `stream`): chains with the same seed and different
        /// streams are independent. Writes the handle (== `mem`) to `*out`
        /// (NULL on failure). The caller keeps ownership of `mem`; the
        /// library keeps no pointer to it. On failure `mem` is untouched.
        /// The first `ask` requests the log density at `x0`.
        /// Errors: `NULL_POINTER`, `DIMENSION_TOO_SMALL`,
        /// `DIMENSION_TOO_LARGE`, `BUFFER_LENGTH` (mem too small),
        /// `ALIGNMENT`, `STRUCT_SIZE`, `INVALID_STEP_SIZE`,
        /// `INVALID_DECOHERENCE_LENGTH`, `INVALID_SETTING`, `INVALID_VALUE`
        /// (x0 not finite), `OVERLAP` (x0 inside mem).
        #[no_mangle]
        pub unsafe extern "C" fn $init(
            mem: *mut c_void,
            mem_size: usize,
            dim: usize,
            cfg: *const $cfg,
            x0: *const $t,
            seed: u64,
            stream: u64,
            out: *mut *mut $h,
        ) -> smile_status {
            init::<$t>(mem, mem_size, dim, cfg as *const ConfigRepr<$t>, x0, seed, stream, out as *mut *mut c_void)
        }

        /// Reverse communication, part 1: writes the next evaluation the
        /// chain needs into `*req`. Compute the gradient of `log p` at
        /// `req->x` into `req->grad`, then call `..._tell` with `log p`.
        /// Asking again before telling returns the same request.
        /// Errors: `NULL_POINTER`, `ALIGNMENT`, `NOT_AN_INSTANCE`, `BUSY`,
        /// `INVALID_STATE`.
        #[no_mangle]
        pub unsafe extern "C" fn $ask(s: *mut $h, req: *mut $req) -> smile_status {
            ask::<$t>(s as *mut c_void, req as *mut RequestRepr<$t>)
        }

        /// Reverse communication, part 2: hands `log p` at the requested
        /// point to the chain (the gradient must already be in `req->grad`).
        /// Writes what happened to `*progress`; when it is
        /// `SMILE_PROGRESS_STEP_DONE` and `info` is not NULL, the step's
        /// info goes to `*info` (`info` may be NULL). A NaN/inf `logp` or
        /// gradient inside a step is a divergence reported in the info; tell
        /// NaN for a failed evaluation.
        /// Each successful `tell` answers the request of the latest `ask`; a
        /// failed one leaves it pending (fix the gradient and tell again).
        /// A setter, `step` or `restore` in between withdraws the request.
        /// Errors: `NULL_POINTER`, `OUT_OF_ORDER` (no request pending: call
        /// `ask` first), `NON_FINITE_INITIAL_POINT`, the handle's errors.
        #[no_mangle]
        pub unsafe extern "C" fn $tell(s: *mut $h, logp: $t, progress: *mut smile_progress, info: *mut $info) -> smile_status {
            tell::<$t>(s as *mut c_void, logp, progress, info as *mut StepInfoRepr<$t>)
        }

        /// Runs one whole step, calling `f(user, dim, x, grad, &logp)` for
        /// each evaluation (and for the initial point first if still
        /// pending). Writes the step's info to `*info` (may be NULL).
        /// The instance is `BUSY` while `f` runs: `f` must not use it.
        /// Errors: `NULL_POINTER` (`s` or `f`), `CALLBACK_FAILED` (the step
        /// stays pending; calling again re-evaluates the same point),
        /// `NON_FINITE_INITIAL_POINT`, the handle's errors.
        #[no_mangle]
        pub unsafe extern "C" fn $step(s: *mut $h, f: $ld, user: *mut c_void, info: *mut $info) -> smile_status {
            step::<$t>(s as *mut c_void, f, user, info as *mut StepInfoRepr<$t>)
        }

        /// Checkpoint: copies the whole chain (settings, random stream,
        /// position, momentum, pending request) into `buf` (`buf_size` bytes,
        /// at least the size from `..._memory_size`; any alignment). The
        /// bytes are native-endian: restore on the same kind of machine.
        /// Errors: `NULL_POINTER`, `BUFFER_LENGTH`, `OVERLAP`, the handle's errors.
        #[no_mangle]
        pub unsafe extern "C" fn $save(s: *const $h, buf: *mut c_void, buf_size: usize) -> smile_status {
            save::<$t>(s as *const c_void, buf, buf_size)
        }

        /// Restores a checkpoint from `buf` (`buf_size` bytes) into `mem`
        /// (`mem_size` bytes, aligned to `SMILE_ALIGN`; `mem` may be `buf`
        /// itself), and writes the handle (== `mem`) to `*out` (NULL on
        /// failure). The restored chain continues bit-identically.
        /// Errors: `NULL_POINTER`, `BUFFER_LENGTH`, `ALIGNMENT`,
        /// `NOT_AN_INSTANCE` (not a checkpoint of this sampler/precision),
        /// `INVALID_STATE` (corrupt; `mem` then holds no instance).
        #[no_mangle]
        pub unsafe extern "C" fn $restore(mem: *mut c_void, mem_size: usize, buf: *const c_void, buf_size: usize, out: *mut *mut $h) -> smile_status {
            restore::<$t>(mem, mem_size, buf, buf_size, out as *mut *mut c_void)
        }

        /// Writes the dimension to `*out`. Errors: `NULL_POINTER`, the handle's errors.
        #[no_mangle]
        pub unsafe extern "C" fn $dim(s: *const $h, out: *mut usize) -> smile_status {
            dim::<$t>(s as *const c_void, out)
        }

        /// Copies the position of the last accepted state into `out`
        /// (`len` must equal the dimension).
        /// Errors: `NULL_POINTER`, `BUFFER_LENGTH`, `ALIGNMENT`, `OVERLAP`, the handle's errors.
        #[no_mangle]
        pub unsafe extern "C" fn $position(s: *const $h, out: *mut $t, len: usize) -> smile_status {
            vector::<$t>(s as *const c_void, Vector::Position, out, len)
        }

        /// Copies the unit momentum into `out` (`len` must equal the dimension).
        /// Errors: as `..._position`.
        #[no_mangle]
        pub unsafe extern "C" fn $momentum(s: *const $h, out: *mut $t, len: usize) -> smile_status {
            vector::<$t>(s as *const c_void, Vector::Momentum, out, len)
        }

        /// Copies the gradient of `log p` at the position into `out` (`len`
        /// must equal the dimension); meaningful once the initial point has
        /// been evaluated. Errors: as `..._position`.
        #[no_mangle]
        pub unsafe extern "C" fn $gradient(s: *const $h, out: *mut $t, len: usize) -> smile_status {
            vector::<$t>(s as *const c_void, Vector::Gradient, out, len)
        }

        /// Writes `log p` at the position to `*out`; meaningful once the
        /// initial point has been evaluated.
        /// Errors: `NULL_POINTER`, the handle's errors.
        #[no_mangle]
        pub unsafe extern "C" fn $logdensity_at(s: *const $h, out: *mut $t) -> smile_status {
            logdensity::<$t>(s as *const c_void, out)
        }

        /// Writes the steps completed, log-density evaluations made and
        /// divergent steps so far.
        /// Errors: `NULL_POINTER`, the handle's errors.
        #[no_mangle]
        pub unsafe extern "C" fn $counters(s: *const $h, steps: *mut u64, grad_evals: *mut u64, divergences: *mut u64) -> smile_status {
            counters::<$t>(s as *const c_void, steps, grad_evals, divergences)
        }

        /// Writes the current settings into `*cfg` (`cfg_size` = `sizeof *cfg`,
        /// as for `..._config_default`).
        /// Errors: `NULL_POINTER`, `STRUCT_SIZE`, the handle's errors.
        #[no_mangle]
        pub unsafe extern "C" fn $get_config(s: *const $h, cfg: *mut $cfg, cfg_size: usize) -> smile_status {
            get_config::<$t>(s as *const c_void, cfg as *mut ConfigRepr<$t>, cfg_size)
        }

        /// Changes the settings between steps (fields missing from an older,
        /// shorter struct take their defaults).
        /// Errors: `NULL_POINTER`, `OUT_OF_ORDER` (inside a step),
        /// `STRUCT_SIZE`, `INVALID_STEP_SIZE`, `INVALID_DECOHERENCE_LENGTH`,
        /// `INVALID_SETTING`, the handle's errors.
        #[no_mangle]
        pub unsafe extern "C" fn $set_config(s: *mut $h, cfg: *const $cfg) -> smile_status {
            set_config::<$t>(s as *mut c_void, cfg as *const ConfigRepr<$t>)
        }

        /// Moves the chain to `x` (`len` = dimension, finite values); the log
        /// density there is requested by the next `ask`.
        /// Errors: `NULL_POINTER`, `BUFFER_LENGTH`, `ALIGNMENT`, `OVERLAP`,
        /// `INVALID_VALUE`, `OUT_OF_ORDER` (inside a step), the handle's errors.
        #[no_mangle]
        pub unsafe extern "C" fn $set_position(s: *mut $h, x: *const $t, len: usize) -> smile_status {
            set_vector::<$t>(s as *mut c_void, Input::Position, x, len)
        }

        /// Sets the momentum direction (`len` = dimension; normalised
        /// internally; finite and not all zero).
        /// Errors: as `..._set_position`.
        #[no_mangle]
        pub unsafe extern "C" fn $set_momentum(s: *mut $h, u: *const $t, len: usize) -> smile_status {
            set_vector::<$t>(s as *mut c_void, Input::Momentum, u, len)
        }

        /// Sets the diagonal preconditioner (`len` = dimension; finite,
        /// positive values, usually posterior standard deviations), or
        /// removes it when `scale` is NULL (then `len` is ignored).
        /// Errors: as `..._set_position`.
        #[no_mangle]
        pub unsafe extern "C" fn $set_preconditioner(s: *mut $h, scale: *const $t, len: usize) -> smile_status {
            set_preconditioner::<$t>(s as *mut c_void, scale, len)
        }
    };
}

use super::{smile_logdensity_f32, smile_logdensity_f64, smile_request_f32, smile_request_f64, smile_step_info_f32, smile_step_info_f64};

mclmc_ffi! {
    real: f64,
    handle: smile_mclmc_f64,
    config: smile_mclmc_config_f64,
    request: smile_request_f64,
    info: smile_step_info_f64,
    logdensity: smile_logdensity_f64,
    config_default: smile_mclmc_config_default_f64,
    memory_size: smile_mclmc_memory_size_f64,
    init: smile_mclmc_init_f64,
    ask: smile_mclmc_ask_f64,
    tell: smile_mclmc_tell_f64,
    step: smile_mclmc_step_f64,
    save: smile_mclmc_save_f64,
    restore: smile_mclmc_restore_f64,
    dim: smile_mclmc_dim_f64,
    position: smile_mclmc_position_f64,
    momentum: smile_mclmc_momentum_f64,
    gradient: smile_mclmc_gradient_f64,
    logdensity_at: smile_mclmc_logdensity_f64,
    counters: smile_mclmc_counters_f64,
    get_config: smile_mclmc_get_config_f64,
    set_config: smile_mclmc_set_config_f64,
    set_position: smile_mclmc_set_position_f64,
    set_momentum: smile_mclmc_set_momentum_f64,
    set_preconditioner: smile_mclmc_set_preconditioner_f64,
}

mclmc_ffi! {
    real: f32,
    handle: smile_mclmc_f32,
    config: smile_mclmc_config_f32,
    request: smile_request_f32,
    info: smile_step_info_f32,
    logdensity: smile_logdensity_f32,
    config_default: smile_mclmc_config_default_f32,
    memory_size: smile_mclmc_memory_size_f32,
    init: smile_mclmc_init_f32,
    ask: smile_mclmc_ask_f32,
    tell: smile_mclmc_tell_f32,
    step: smile_mclmc_step_f32,
    save: smile_mclmc_save_f32,
    restore: smile_mclmc_restore_f32,
    dim: smile_mclmc_dim_f32,
    position: smile_mclmc_position_f32,
    momentum: smile_mclmc_momentum_f32,
    gradient: smile_mclmc_gradient_f32,
    logdensity_at: smile_mclmc_logdensity_f32,
    counters: smile_mclmc_counters_f32,
    get_config: smile_mclmc_get_config_f32,
    set_config: smile_mclmc_set_config_f32,
    set_position: smile_mclmc_set_position_f32,
    set_momentum: smile_mclmc_set_momentum_f32,
    set_preconditioner: smile_mclmc_set_preconditioner_f32,
}
