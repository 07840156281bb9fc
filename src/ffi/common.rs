//! Generic C-ABI plumbing for the samplers exported after MCLMC (SMILE and
//! the SGLD family): one implementation of the entry points every chain has
//! — size query, init, ask/tell, callback step, save/restore, dimension,
//! position, log density, counters, get/set config, set position — over the
//! `Chain` trait, plus helpers to read and write versioned config structs
//! field by field. A sampler module implements `Kind` and `Chain`, and
//! invokes `chain_ffi!` once per precision; its own extra entry points
//! (momentum, preconditioner, …) use `with`.

use core::ffi::c_void;
use core::mem::size_of;

use super::instance::{self, in_slice, open, out_slice, put, Hdr, Sampler};
use super::smile_progress::*;
use super::smile_status::*;
use super::{code, request_kind, smile_progress, smile_status, LogDensityFn, RequestRepr, Status, SMILE_ALIGN};
use crate::error::Error;
use crate::real::Real;
use crate::samplers::Request;

/// The operations the generic entry points need from a Rust chain over a
/// borrowed workspace.
pub(crate) trait Chain<'a, T: Real>: Sized {
    type State: Copy;
    type Config: Copy;
    type Info: Copy;
    fn create(cfg: Self::Config, x0: &[T], ws: &'a mut [T], seed: u64, stream: u64) -> Result<Self, Error>;
    fn rebuild(st: Self::State, ws: &'a mut [T]) -> Result<Self, Error>;
    fn snapshot(&self) -> Self::State;
    fn request(&mut self) -> Request<'_, T>;
    /// `Some(info)` when the step finished, `None` when it needs another evaluation.
    fn answer(&mut self, logp: T) -> Result<Option<Self::Info>, Error>;
    fn dim(&self) -> usize;
    fn position(&self) -> &[T];
    fn logdensity(&self) -> T;
    /// Steps, gradient evaluations, divergences.
    fn counters(&self) -> [u64; 3];
    fn config(&self) -> Self::Config;
    fn set_config(&mut self, c: Self::Config) -> Result<(), Error>;
    fn set_position(&mut self, x: &[T]) -> Result<(), Error>;
}

/// A sampler exported through `chain_ffi!`: its instance layout
/// ([`Sampler`]), its Rust chain, and its C config and step-info mirrors.
pub(crate) trait Kind<T: Real>: Sampler<T> {
    type Config: Copy;
    type Info: Copy;
    type Chain<'a>: Chain<'a, T, State = Self::State, Config = Self::Config, Info = Self::Info>
    where
        T: 'a;
    /// Generic mirror of the C config struct.
    type ConfigRepr;
    /// Generic mirror of the C step-info struct.
    type InfoRepr: From<Self::Info>;
    /// Reads and validates a caller's config (any alignment).
    ///
    /// # Safety
    /// `p` is non-NULL and points to at least `struct_size` readable bytes.
    unsafe fn read_config(p: *const Self::ConfigRepr) -> Status<Self::Config>;
    /// Writes `c` into a caller's struct of `size` bytes (any alignment).
    ///
    /// # Safety
    /// `p` is NULL or points to `size` writable bytes.
    unsafe fn write_config(p: *mut Self::ConfigRepr, size: usize, c: &Self::Config) -> Status;
}

/// A caller's config struct being read: `struct_size` checked, fields read
/// only if they lie inside it (missing ones keep the value they had).
pub(crate) struct ConfigIn {
    b: *const u8,
    size: usize,
}

impl ConfigIn {
    /// Checks `struct_size` against the known versions' sizes.
    ///
    /// # Safety
    /// `p` is non-NULL and points to at least `struct_size` readable bytes.
    pub unsafe fn open(p: *const c_void, sizes: &[usize]) -> Status<ConfigIn> {
        let size = (p as *const usize).read_unaligned();
        if !sizes.contains(&size) {
            return Err(SMILE_ERR_STRUCT_SIZE);
        }
        Ok(ConfigIn { b: p as *const u8, size })
    }
    /// Reads the field at byte offset `off` into `out` if it lies inside the
    /// struct. `V` is an integer or float type (every bit pattern valid).
    pub fn get<V: Copy>(&self, off: usize, out: &mut V) {
        if off + size_of::<V>() <= self.size {
            // SAFETY: inside the caller's `size` bytes (`open`'s contract).
            *out = unsafe { (self.b.add(off) as *const V).read_unaligned() };
        }
    }
    /// Reads a 0/1 flag. Error: `INVALID_SETTING` for any other value.
    pub fn flag(&self, off: usize, out: &mut bool) -> Status {
        let mut v = *out as u32;
        self.get(off, &mut v);
        match v {
            0 | 1 => {
                *out = v == 1;
                Ok(())
            }
            _ => Err(SMILE_ERR_INVALID_SETTING),
        }
    }
}

/// A caller's config struct being written: `size` checked, `struct_size`
/// set, fields written only if they lie inside it.
pub(crate) struct ConfigOut {
    b: *mut u8,
    size: usize,
}

impl ConfigOut {
    /// # Safety
    /// `p` is NULL or points to `size` writable bytes.
    pub unsafe fn open(p: *mut c_void, size: usize, sizes: &[usize]) -> Status<ConfigOut> {
        if p.is_null() {
            return Err(SMILE_ERR_NULL_POINTER);
        }
        if !sizes.contains(&size) {
            return Err(SMILE_ERR_STRUCT_SIZE);
        }
        (p as *mut usize).write_unaligned(size);
        Ok(ConfigOut { b: p as *mut u8, size })
    }
    pub fn put<V: Copy>(&self, off: usize, v: V) {
        if off + size_of::<V>() <= self.size {
            // SAFETY: inside the caller's `size` bytes (`open`'s contract).
            unsafe { (self.b.add(off) as *mut V).write_unaligned(v) }
        }
    }
}

/// Opens the instance `h`, rebuilds the chain, runs `f`, and (if `write`)
/// stores the state back.
///
/// # Safety
/// As for [`instance::open`].
pub(crate) unsafe fn with<K: Kind<T>, T: Real, R>(h: *const c_void, write: bool, f: impl FnOnce(&mut K::Chain<'_>, &Hdr<K::State>) -> Status<R>) -> Status<R> {
    let o = open::<K, T>(h)?;
    let hdr = o.hdr;
    let mut chain = <K::Chain<'_> as Chain<'_, T>>::rebuild(hdr.state(), o.ws).map_err(|_| SMILE_ERR_INVALID_STATE)?;
    let r = f(&mut chain, &hdr);
    if write {
        hdr.set_state(chain.snapshot());
    }
    r
}

pub(crate) unsafe fn memory_size<K: Kind<T>, T: Real>(dim: usize, cfg: *const K::ConfigRepr, size: *mut usize, align: *mut usize) -> smile_status {
    code((|| {
        if size.is_null() || align.is_null() {
            return Err(SMILE_ERR_NULL_POINTER);
        }
        let bytes = instance::memory_size::<K, T>(dim)?;
        if !cfg.is_null() {
            K::read_config(cfg)?;
        }
        put(size, bytes)?;
        put(align, SMILE_ALIGN)
    })())
}

#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn init<K: Kind<T>, T: Real>(
    mem: *mut c_void,
    mem_size: usize,
    dim: usize,
    cfg: *const K::ConfigRepr,
    x0: *const T,
    seed: u64,
    stream: u64,
    out: *mut *mut c_void,
) -> smile_status {
    code((|| {
        put(out, core::ptr::null_mut())?;
        if mem.is_null() || x0.is_null() || cfg.is_null() {
            return Err(SMILE_ERR_NULL_POINTER);
        }
        let o = instance::create::<K, T>(mem, mem_size, dim)?;
        let c = K::read_config(cfg)?;
        let x0 = in_slice(x0, dim, dim, o.hdr.span)?;
        let chain = <K::Chain<'_> as Chain<'_, T>>::create(c, x0, o.ws, seed, stream)?;
        o.hdr.publish(K::MAGIC, chain.snapshot());
        put(out, mem)
    })())
}

pub(crate) unsafe fn ask<K: Kind<T>, T: Real>(h: *mut c_void, req: *mut RequestRepr<T>) -> smile_status {
    code((|| {
        if h.is_null() || req.is_null() {
            return Err(SMILE_ERR_NULL_POINTER);
        }
        let r = with::<K, T, _>(h, true, |c, hdr| {
            let r = c.request();
            hdr.set_asked(true);
            Ok(RequestRepr { x: r.x.as_ptr(), grad: r.grad.as_mut_ptr(), dim: hdr.dim, step: r.step, stage: r.stage, kind: request_kind(r.kind) })
        })?;
        put(req, r)
    })())
}

pub(crate) unsafe fn tell<K: Kind<T>, T: Real>(h: *mut c_void, logp: T, progress: *mut smile_progress, info: *mut K::InfoRepr) -> smile_status {
    code((|| {
        if h.is_null() || progress.is_null() {
            return Err(SMILE_ERR_NULL_POINTER);
        }
        let p = with::<K, T, _>(h, true, |c, hdr| {
            // `tell` answers a request from `ask`; a failed `tell` leaves it pending.
            if !hdr.asked() {
                return Err(SMILE_ERR_OUT_OF_ORDER);
            }
            let p = c.answer(logp)?;
            hdr.set_asked(false);
            Ok(p)
        })?;
        match p {
            None => put(progress, SMILE_PROGRESS_NEED_EVAL),
            Some(i) => {
                if !info.is_null() {
                    put(info, K::InfoRepr::from(i))?;
                }
                put(progress, SMILE_PROGRESS_STEP_DONE)
            }
        }
    })())
}

/// One whole step through the callback.
fn run<'a, C: Chain<'a, T>, T: Real>(c: &mut C, f: LogDensityFn<T>, user: *mut c_void, d: usize) -> Status<C::Info> {
    loop {
        let r = c.request();
        let mut lp = T::from_f64(f64::NAN);
        // SAFETY: `x` and `grad` are `d` values each inside the instance; the
        // callback's contract is the caller's.
        let rc = unsafe { f(user, d, r.x.as_ptr(), r.grad.as_mut_ptr(), &mut lp) };
        if rc != 0 {
            return Err(SMILE_ERR_CALLBACK_FAILED);
        }
        if let Some(i) = c.answer(lp)? {
            return Ok(i);
        }
    }
}

pub(crate) unsafe fn step<K: Kind<T>, T: Real>(h: *mut c_void, f: Option<LogDensityFn<T>>, user: *mut c_void, info: *mut K::InfoRepr) -> smile_status {
    code((|| {
        if h.is_null() {
            return Err(SMILE_ERR_NULL_POINTER);
        }
        let f = f.ok_or(SMILE_ERR_NULL_POINTER)?;
        let o = open::<K, T>(h)?;
        let hdr = o.hdr;
        let mut chain = <K::Chain<'_> as Chain<'_, T>>::rebuild(hdr.state(), o.ws).map_err(|_| SMILE_ERR_INVALID_STATE)?;
        hdr.set_busy(true);
        let r = run(&mut chain, f, user, hdr.dim);
        hdr.set_state(chain.snapshot());
        hdr.set_asked(false);
        hdr.set_busy(false);
        let i = r?;
        if !info.is_null() {
            put(info, K::InfoRepr::from(i))?;
        }
        Ok(())
    })())
}

pub(crate) unsafe fn save<K: Kind<T>, T: Real>(h: *const c_void, buf: *mut c_void, buf_size: usize) -> smile_status {
    code(instance::save::<K, T>(h, buf, buf_size))
}

pub(crate) unsafe fn restore<K: Kind<T>, T: Real>(
    mem: *mut c_void,
    mem_size: usize,
    buf: *const c_void,
    buf_size: usize,
    out: *mut *mut c_void,
) -> smile_status {
    code((|| {
        put(out, core::ptr::null_mut())?;
        instance::restore::<K, T>(mem, mem_size, buf, buf_size, |st, ws| {
            <K::Chain<'_> as Chain<'_, T>>::rebuild(st, ws).map(|_| ()).map_err(|_| SMILE_ERR_INVALID_STATE)
        })?;
        put(out, mem)
    })())
}

pub(crate) unsafe fn dim<K: Kind<T>, T: Real>(h: *const c_void, out: *mut usize) -> smile_status {
    code((|| {
        if h.is_null() || out.is_null() {
            return Err(SMILE_ERR_NULL_POINTER);
        }
        let d = with::<K, T, _>(h, false, |c, _| Ok(c.dim()))?;
        put(out, d)
    })())
}

/// Copies a vector of the chain (`get(chain, out)`) into a caller array of
/// `len` values.
pub(crate) unsafe fn copy_out<K: Kind<T>, T: Real>(
    h: *const c_void,
    out: *mut T,
    len: usize,
    get: impl FnOnce(&K::Chain<'_>, &mut [T]) -> Status,
) -> smile_status {
    code((|| {
        if h.is_null() || out.is_null() {
            return Err(SMILE_ERR_NULL_POINTER);
        }
        with::<K, T, _>(h, false, |c, hdr| {
            let o = out_slice(out, len, hdr.dim, hdr.span)?;
            get(c, o)
        })
    })())
}

/// Hands a caller array of `len` values to a setter (`set(chain, v)`),
/// between steps.
pub(crate) unsafe fn copy_in<K: Kind<T>, T: Real>(
    h: *mut c_void,
    v: *const T,
    len: usize,
    set: impl FnOnce(&mut K::Chain<'_>, &[T]) -> Result<(), Error>,
) -> smile_status {
    code((|| {
        if h.is_null() || v.is_null() {
            return Err(SMILE_ERR_NULL_POINTER);
        }
        with::<K, T, _>(h, true, |c, hdr| {
            let v = in_slice(v, len, hdr.dim, hdr.span)?;
            set(c, v)?;
            hdr.set_asked(false);
            Ok(())
        })
    })())
}

/// Reads one value of the chain (`get(chain)`) into `*out`.
pub(crate) unsafe fn scalar<K: Kind<T>, T: Real, V>(h: *const c_void, out: *mut V, get: impl FnOnce(&K::Chain<'_>) -> V) -> smile_status {
    code((|| {
        if h.is_null() || out.is_null() {
            return Err(SMILE_ERR_NULL_POINTER);
        }
        let v = with::<K, T, _>(h, false, |c, _| Ok(get(c)))?;
        put(out, v)
    })())
}

pub(crate) unsafe fn position<K: Kind<T>, T: Real>(h: *const c_void, out: *mut T, len: usize) -> smile_status {
    copy_out::<K, T>(h, out, len, |c, o| {
        o.copy_from_slice(c.position());
        Ok(())
    })
}

pub(crate) unsafe fn logdensity<K: Kind<T>, T: Real>(h: *const c_void, out: *mut T) -> smile_status {
    scalar::<K, T, T>(h, out, |c| c.logdensity())
}

pub(crate) unsafe fn counters<K: Kind<T>, T: Real>(h: *const c_void, steps: *mut u64, grad_evals: *mut u64, divergences: *mut u64) -> smile_status {
    code((|| {
        if h.is_null() || steps.is_null() || grad_evals.is_null() || divergences.is_null() {
            return Err(SMILE_ERR_NULL_POINTER);
        }
        let [s, e, d] = with::<K, T, _>(h, false, |c, _| Ok(c.counters()))?;
        put(steps, s)?;
        put(grad_evals, e)?;
        put(divergences, d)
    })())
}

pub(crate) unsafe fn get_config<K: Kind<T>, T: Real>(h: *const c_void, cfg: *mut K::ConfigRepr, cfg_size: usize) -> smile_status {
    code((|| {
        if h.is_null() || cfg.is_null() {
            return Err(SMILE_ERR_NULL_POINTER);
        }
        let c = with::<K, T, _>(h, false, |c, _| Ok(c.config()))?;
        K::write_config(cfg, cfg_size, &c)
    })())
}

pub(crate) unsafe fn set_config<K: Kind<T>, T: Real>(h: *mut c_void, cfg: *const K::ConfigRepr) -> smile_status {
    code((|| {
        if h.is_null() || cfg.is_null() {
            return Err(SMILE_ERR_NULL_POINTER);
        }
        with::<K, T, _>(h, true, |c, hdr| {
            let new = K::read_config(cfg)?;
            c.set_config(new)?;
            hdr.set_asked(false);
            Ok(())
        })
    })())
}

pub(crate) unsafe fn set_position<K: Kind<T>, T: Real>(h: *mut c_void, x: *const T, len: usize) -> smile_status {
    copy_in::<K, T>(h, x, len, |c, v| c.set_position(v))
}

/// Version of the instance layouts (the states' fields and their order),
/// part of every magic number: an instance or checkpoint made by a smile
/// with another layout is refused as `NOT_AN_INSTANCE` instead of being
/// misread. Raise it whenever a state's layout changes. 1: the first
/// layouts; 2 (2026-11-22): the states without padding; 3 (2026-11-23):
/// the SMILE instance keeps the tuner's cache after its workspace, with
/// 8 cells per octave and bounds in four lanes; 4 (2026-11-23): 32 cache
/// slots instead of 16.
pub(crate) const LAYOUT_VERSION: u8 = 4;

/// `u64` magic number of an instance: six tag bytes, the precision's
/// digits (`"64"` or `"32"`), the last one offset by the layout version
/// (version 1 had the plain digits).
pub(crate) const fn magic(tag: &[u8; 6], name: &str) -> u64 {
    let n = name.as_bytes();
    u64::from_le_bytes([tag[0], tag[1], tag[2], tag[3], tag[4], tag[5], n[1], n[2].wrapping_add(LAYOUT_VERSION - 1)])
}

/// Stamps out the entry points every chain has, for one sampler and one
/// precision. The sampler's module provides the generic functions' `Kind`,
/// the C types, and the symbol names; `$what` names the sampler in the docs.
macro_rules! chain_ffi {
    (
        kind: $k:ty,
        real: $t:ty,
        min_dim: $min:literal,
        handle: $h:ident,
        config: $cfg:ident,
        info: $info:ident,
        request: $req:ident,
        logdensity: $ld:ident,
        memory_size: $memory_size:ident,
        init: $init:ident,
        ask: $ask:ident,
        tell: $tell:ident,
        step: $step:ident,
        save: $save:ident,
        restore: $restore:ident,
        dim: $dim:ident,
        position: $position:ident,
        logdensity_at: $logdensity_at:ident,
        counters: $counters:ident,
        get_config: $get_config:ident,
        set_config: $set_config:ident,
        set_position: $set_position:ident $(,)?
    ) => {
        #[doc = concat!("Memory needed by a chain of dimension `dim` (at least ", stringify!($min), "): writes")]
        /// the size in bytes to `*size` and the required alignment
        /// (`SMILE_ALIGN`) to `*align`. A checkpoint (`..._save`) has the same
        /// size. `cfg` may be NULL; if given it is validated.
        /// Errors: `NULL_POINTER`, `DIMENSION_TOO_SMALL`,
        /// `DIMENSION_TOO_LARGE`, the config's errors.
        #[no_mangle]
        pub unsafe extern "C" fn $memory_size(dim: usize, cfg: *const $cfg, size: *mut usize, align: *mut usize) -> smile_status {
            $crate::ffi::common::memory_size::<$k, $t>(dim, cfg as *const _, size, align)
        }

        /// Sets up a chain of dimension `dim` starting at `x0` (`dim` values)
        /// in `mem` (`mem_size` bytes, at least the size from
        /// `..._memory_size`, aligned to `SMILE_ALIGN`), with settings `cfg`
        /// (required: fill it with `..._config_default` first) and random
        /// stream (`seed`, `stream`): chains with the same seed and different
        /// streams are independent. Writes the handle (== `mem`) to `*out`
        /// (NULL on failure). The caller keeps ownership of `mem`; the
        /// library keeps no pointer to it. On failure `mem` is untouched.
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
            $crate::ffi::common::init::<$k, $t>(mem, mem_size, dim, cfg as *const _, x0, seed, stream, out as *mut *mut c_void)
        }

        /// Reverse communication, part 1: writes the next evaluation into
        /// `*req` (`kind` is always `SMILE_REQUEST_STAGE`; `step` is the
        /// 1-based index of the step it belongs to: evaluate every request
        /// with the same `step` on the same mini-batch, and draw a new
        /// mini-batch when `step` changes). Compute the gradient estimate at
        /// `req->x` into `req->grad`, then call `..._tell`. Asking again
        /// before telling returns the same request. While a step is in
        /// progress (from its first `ask` to the `tell` that finishes it)
        /// the setters return `OUT_OF_ORDER`.
        /// Errors: the handle's errors.
        #[no_mangle]
        pub unsafe extern "C" fn $ask(s: *mut $h, req: *mut $req) -> smile_status {
            $crate::ffi::common::ask::<$k, $t>(s as *mut c_void, req as *mut _)
        }

        /// Reverse communication, part 2: hands the (mini-batch) `log p` at
        /// the requested point to the chain (the gradient must already be in
        /// `req->grad`). Writes `SMILE_PROGRESS_NEED_EVAL` (ask again) or
        /// `SMILE_PROGRESS_STEP_DONE` to `*progress`; in the latter case the
        /// step's info goes to `*info` if `info` is not NULL. A NaN/inf
        /// `logp` or gradient is a divergence reported in the info (tell NaN
        /// for a failed evaluation). Each successful `tell` answers the
        /// request of the latest `ask`; a failed one leaves it pending.
        /// Errors: `NULL_POINTER`, `OUT_OF_ORDER` (no request pending: call
        /// `ask` first), the handle's errors.
        #[no_mangle]
        pub unsafe extern "C" fn $tell(s: *mut $h, logp: $t, progress: *mut smile_progress, info: *mut $info) -> smile_status {
            $crate::ffi::common::tell::<$k, $t>(s as *mut c_void, logp, progress, info as *mut _)
        }

        /// Runs one whole step (or finishes the one begun by `ask`),
        /// calling `f(user, dim, x, grad, &logp)` for each evaluation; all of
        /// them belong to the same step, so a stochastic-gradient caller
        /// selects the step's mini-batch (e.g. through `user`) before the
        /// call. Writes the step's info to `*info` (may be NULL). The
        /// instance is `BUSY` while `f` runs: `f` must not use it.
        /// Errors: `NULL_POINTER` (`s` or `f`), `CALLBACK_FAILED` (the step
        /// stays pending: calling again, with the same mini-batch,
        /// re-evaluates the same point), the handle's errors.
        #[no_mangle]
        pub unsafe extern "C" fn $step(s: *mut $h, f: $ld, user: *mut c_void, info: *mut $info) -> smile_status {
            $crate::ffi::common::step::<$k, $t>(s as *mut c_void, f, user, info as *mut _)
        }

        /// Checkpoint: copies the whole chain (settings, random stream,
        /// vectors, step in progress) into `buf` (`buf_size` bytes, at least
        /// the size from `..._memory_size`; any alignment). Native-endian
        /// bytes: restore on the same kind of machine.
        /// Errors: `NULL_POINTER`, `BUFFER_LENGTH`, `OVERLAP`, the handle's errors.
        #[no_mangle]
        pub unsafe extern "C" fn $save(s: *const $h, buf: *mut c_void, buf_size: usize) -> smile_status {
            $crate::ffi::common::save::<$k, $t>(s as *const c_void, buf, buf_size)
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
            $crate::ffi::common::restore::<$k, $t>(mem, mem_size, buf, buf_size, out as *mut *mut c_void)
        }

        /// Writes the dimension to `*out`. Errors: `NULL_POINTER`, the handle's errors.
        #[no_mangle]
        pub unsafe extern "C" fn $dim(s: *const $h, out: *mut usize) -> smile_status {
            $crate::ffi::common::dim::<$k, $t>(s as *const c_void, out)
        }

        /// Copies the current position (the last accepted one; unchanged
        /// while a step is in progress) into `out` (`len` must equal the dimension).
        /// Errors: `NULL_POINTER`, `BUFFER_LENGTH`, `ALIGNMENT`, `OVERLAP`, the handle's errors.
        #[no_mangle]
        pub unsafe extern "C" fn $position(s: *const $h, out: *mut $t, len: usize) -> smile_status {
            $crate::ffi::common::position::<$k, $t>(s as *const c_void, out, len)
        }

        /// Writes the `log p` value stored for the current position (the
        /// caller's mini-batch estimate, as told; 0 before the first step).
        /// Errors: `NULL_POINTER`, the handle's errors.
        #[no_mangle]
        pub unsafe extern "C" fn $logdensity_at(s: *const $h, out: *mut $t) -> smile_status {
            $crate::ffi::common::logdensity::<$k, $t>(s as *const c_void, out)
        }

        /// Writes the steps completed, gradient evaluations told and
        /// rejected (divergent) steps so far.
        /// Errors: `NULL_POINTER`, the handle's errors.
        #[no_mangle]
        pub unsafe extern "C" fn $counters(s: *const $h, steps: *mut u64, grad_evals: *mut u64, divergences: *mut u64) -> smile_status {
            $crate::ffi::common::counters::<$k, $t>(s as *const c_void, steps, grad_evals, divergences)
        }

        /// Writes the current settings into `*cfg` (`cfg_size` = `sizeof *cfg`).
        /// Errors: `NULL_POINTER`, `STRUCT_SIZE`, the handle's errors.
        #[no_mangle]
        pub unsafe extern "C" fn $get_config(s: *const $h, cfg: *mut $cfg, cfg_size: usize) -> smile_status {
            $crate::ffi::common::get_config::<$k, $t>(s as *const c_void, cfg as *mut _, cfg_size)
        }

        /// Changes the settings between steps.
        /// Errors: `NULL_POINTER`, `OUT_OF_ORDER` (inside a step),
        /// `STRUCT_SIZE`, `INVALID_STEP_SIZE`, `INVALID_SETTING` (a value out
        /// of range, or one that cannot change after init), the handle's errors.
        #[no_mangle]
        pub unsafe extern "C" fn $set_config(s: *mut $h, cfg: *const $cfg) -> smile_status {
            $crate::ffi::common::set_config::<$k, $t>(s as *mut c_void, cfg as *const _)
        }

        /// Moves the chain to `x` (`len` = dimension, finite values).
        /// Errors: `NULL_POINTER`, `BUFFER_LENGTH`, `ALIGNMENT`, `OVERLAP`,
        /// `INVALID_VALUE`, `OUT_OF_ORDER` (inside a step), the handle's errors.
        #[no_mangle]
        pub unsafe extern "C" fn $set_position(s: *mut $h, x: *const $t, len: usize) -> smile_status {
            $crate::ffi::common::set_position::<$k, $t>(s as *mut c_void, x, len)
        }
    };
}

pub(crate) use chain_ffi;
