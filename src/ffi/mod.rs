//! The C ABI (`include/smile.h`, generated from this module by cbindgen).
//!
//! Conventions, shared by every sampler:
//!
//! * One symbol family per precision: `smile_<sampler>_<verb>_f64` takes and
//!   returns `double`, `..._f32` takes `float`. Both are stamped out by one
//!   macro per sampler over the generic Rust core, so they run the same code.
//! * Every function returns a [`smile_status`]; results go through out
//!   pointers. Every pointer argument is required (NULL gives
//!   `SMILE_ERR_NULL_POINTER`) unless its documentation says "may be NULL".
//!   A failed call leaves the instance as it was, unless its documentation
//!   says otherwise.
//! * Instances live in caller memory: query the size with
//!   `..._memory_size`, hand `SMILE_ALIGN`-aligned memory of at least that
//!   size to `..._init`. Nothing allocates; there is no global state.
//!   An instance holds no pointers, so its bytes are its checkpoint.
//! * Configuration structs start with `struct_size`. Functions that *read* a
//!   config take its size from that field: `sizeof` of this or an older
//!   (shorter) version of the struct is accepted, missing fields take their
//!   defaults; a larger (newer, unknown) size is refused with
//!   `SMILE_ERR_STRUCT_SIZE`. Functions that *write* a config take the size
//!   of the caller's struct as an argument and write no byte beyond it.
//!
//! Adding a sampler: one file like [`smile_sampler`] or [`sg`] — a
//! `#[repr(C)]` config mirror with its field-by-field reader and writer, an
//! `instance::Sampler` impl (magic number, workspace length, minimum
//! dimension), `common::Kind` and `common::Chain` impls over the Rust
//! sampler, and a macro stamping the config struct, the `_default` filler and
//! the sampler's own accessors, which invokes `common::chain_ffi!` for the
//! entry points every chain has — plus one invocation per precision. The
//! status codes, the request/step-info structs, the callback type and the
//! instance plumbing here are shared. ([`mclmc`], the first sampler, spells
//! its entry points out itself.)
//!
//! Samplers: `smile_mclmc_*` (MCLMC), `smile_smile_*` (SMILE, SMILE-naive,
//! pSMILE: module [`smile_sampler`]), `smile_sgld_*`, `smile_psgld_*`,
//! `smile_sghmc_*`, `smile_fsgld_*` (module [`sg`]).

#![allow(non_camel_case_types)]
#![allow(clippy::missing_safety_doc)]

use core::ffi::{c_char, c_int, c_void, CStr};

use crate::error::Error;
use crate::real::Real;
use crate::samplers::{Divergence, RequestKind, StepInfo};

pub mod common;
pub mod instance;
pub mod mclmc;
pub mod sg;
pub mod smile_sampler;
// After the samplers: cbindgen emits items in module order.
pub mod adapter;
pub mod diagnostics;

#[cfg(test)]
mod tests;

/// Result of every smile call. `SMILE_OK` is 0; codes 1–31 mirror the Rust
/// API's `smile::Error`, codes 32 and up exist only in the C ABI. Values are
/// fixed forever; new codes may be added. `smile_status_str` describes any.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum smile_status {
    /// Success.
    SMILE_OK = 0,
    /// A required pointer argument is NULL.
    SMILE_ERR_NULL_POINTER = 1,
    /// The dimension is below the sampler's minimum (2 for MCLMC and SMILE,
    /// 1 for the SGLD family).
    SMILE_ERR_DIMENSION_TOO_SMALL = 2,
    /// A buffer (memory block, vector, checkpoint) is too short or its length
    /// does not match the dimension.
    SMILE_ERR_BUFFER_LENGTH = 3,
    /// The step size is not a finite positive number.
    SMILE_ERR_INVALID_STEP_SIZE = 4,
    /// The decoherence length is not positive (NaN included; +inf is allowed).
    SMILE_ERR_INVALID_DECOHERENCE_LENGTH = 5,
    /// Another setting is out of range or NaN (e.g. unknown integrator).
    SMILE_ERR_INVALID_SETTING = 6,
    /// The call does not fit the ask/tell sequence (e.g. `tell` with no
    /// pending request, a setter in the middle of a step).
    SMILE_ERR_OUT_OF_ORDER = 7,
    /// The log density or gradient at the initial point is not finite; the
    /// chain stays uninitialised (retry, or move it with `set_position`).
    SMILE_ERR_NON_FINITE_INITIAL_POINT = 8,
    /// A value given by the caller (position, momentum, preconditioner) is
    /// not finite or out of range.
    SMILE_ERR_INVALID_VALUE = 9,
    /// The instance or checkpoint is inconsistent (corrupt or overwritten).
    SMILE_ERR_INVALID_STATE = 10,
    /// The log-density callback returned non-zero. The step is left pending:
    /// calling `step` again (or `ask`/`tell`) retries the same evaluation.
    SMILE_ERR_CALLBACK_FAILED = 11,
    /// A config's `struct_size` (or the size argument of a function writing
    /// one) is not the size of a known version of the struct.
    SMILE_ERR_STRUCT_SIZE = 32,
    /// Memory or an array is not aligned: instance memory needs
    /// `SMILE_ALIGN`, arrays need the alignment of their element type.
    SMILE_ERR_ALIGNMENT = 33,
    /// The handle does not point to an initialised instance of this sampler
    /// in this precision (wrong magic number).
    SMILE_ERR_NOT_AN_INSTANCE = 34,
    /// A caller array overlaps the instance's memory.
    SMILE_ERR_OVERLAP = 35,
    /// The dimension is so large that the memory size overflows.
    SMILE_ERR_DIMENSION_TOO_LARGE = 36,
    /// The instance is inside a callback `step` (re-entrant call from the
    /// callback, or a callback that never returned).
    SMILE_ERR_BUSY = 37,
}

use smile_status::*;

impl From<Error> for smile_status {
    fn from(e: Error) -> Self {
        // Exhaustive: a new `Error` variant must get its code here.
        match e {
            Error::NullPointer => SMILE_ERR_NULL_POINTER,
            Error::DimensionTooSmall => SMILE_ERR_DIMENSION_TOO_SMALL,
            Error::BufferLength => SMILE_ERR_BUFFER_LENGTH,
            Error::InvalidStepSize => SMILE_ERR_INVALID_STEP_SIZE,
            Error::InvalidDecoherenceLength => SMILE_ERR_INVALID_DECOHERENCE_LENGTH,
            Error::InvalidSetting => SMILE_ERR_INVALID_SETTING,
            Error::OutOfOrder => SMILE_ERR_OUT_OF_ORDER,
            Error::NonFiniteInitialPoint => SMILE_ERR_NON_FINITE_INITIAL_POINT,
            Error::InvalidValue => SMILE_ERR_INVALID_VALUE,
            Error::InvalidState => SMILE_ERR_INVALID_STATE,
            Error::CallbackFailed => SMILE_ERR_CALLBACK_FAILED,
        }
    }
}

/// Internal result type of the generic implementations.
pub(crate) type Status<T = ()> = Result<T, smile_status>;

/// Turns an internal result into the returned code.
#[inline]
pub(crate) fn code(r: Status) -> smile_status {
    match r {
        Ok(()) => SMILE_OK,
        Err(s) => s,
    }
}

/// The errors of the Rust API, in code order (codes 1, 2, …).
const CORE: [Error; 11] = [
    Error::NullPointer,
    Error::DimensionTooSmall,
    Error::BufferLength,
    Error::InvalidStepSize,
    Error::InvalidDecoherenceLength,
    Error::InvalidSetting,
    Error::OutOfOrder,
    Error::NonFiniteInitialPoint,
    Error::InvalidValue,
    Error::InvalidState,
    Error::CallbackFailed,
];

const MSG_LEN: usize = 160;

/// `s` as a NUL-terminated byte array (checked at compile time).
const fn c_message(s: &str) -> [u8; MSG_LEN] {
    let b = s.as_bytes();
    assert!(b.len() < MSG_LEN, "message too long");
    let mut out = [0u8; MSG_LEN];
    let mut i = 0;
    while i < b.len() {
        assert!(b[i] != 0, "NUL inside a message");
        out[i] = b[i];
        i += 1;
    }
    out
}

/// The Rust API's messages, NUL-terminated: C and Rust say the same.
static CORE_MESSAGES: [[u8; MSG_LEN]; CORE.len()] = {
    let mut m = [[0u8; MSG_LEN]; CORE.len()];
    let mut i = 0;
    while i < CORE.len() {
        assert!(CORE[i] as usize == i + 1, "CORE is in code order");
        m[i] = c_message(CORE[i].message());
        i += 1;
    }
    m
};

fn status_cstr(status: c_int) -> &'static CStr {
    match status {
        0 => c"success",
        1..=11 => match CStr::from_bytes_until_nul(&CORE_MESSAGES[status as usize - 1]) {
            Ok(m) => m,
            Err(_) => c"unknown status code",
        },
        32 => c"struct_size is not the size of a known version of the struct",
        33 => c"memory or array is not suitably aligned",
        34 => c"handle is not an initialised instance of this sampler and precision",
        35 => c"an array overlaps the instance memory",
        36 => c"dimension too large: memory size overflows",
        37 => c"instance is busy in a callback step (re-entrant call)",
        _ => c"unknown status code",
    }
}

/// A static, NUL-terminated English description of `status` (any value,
/// known or not; never NULL). Do not free it.
#[no_mangle]
pub extern "C" fn smile_status_str(status: c_int) -> *const c_char {
    status_cstr(status).as_ptr()
}

/// Major version of the library the header belongs to.
pub const SMILE_VERSION_MAJOR: u32 = 0;
/// Minor version of the header.
pub const SMILE_VERSION_MINOR: u32 = 1;
/// Patch version of the header.
pub const SMILE_VERSION_PATCH: u32 = 0;
/// `MAJOR * 10000 + MINOR * 100 + PATCH`; compare with `smile_version_number()`
/// to detect a header/library mismatch.
pub const SMILE_VERSION_NUMBER: u32 = SMILE_VERSION_MAJOR * 10000 + SMILE_VERSION_MINOR * 100 + SMILE_VERSION_PATCH;

/// Required alignment, in bytes, of instance memory (`..._init`,
/// `..._restore`). Checkpoint buffers need no alignment. For speed, align
/// instance memory to 64 (a cache line): the vectors inside then start on
/// cache lines too.
pub const SMILE_ALIGN: usize = 8;

const VERSION_CSTR: &CStr = c"0.1.0";

/// The library's version as a static string, e.g. `"0.1.0"` (never NULL).
#[no_mangle]
pub extern "C" fn smile_version() -> *const c_char {
    VERSION_CSTR.as_ptr()
}

/// The library's version as `MAJOR * 10000 + MINOR * 100 + PATCH`.
#[no_mangle]
pub extern "C" fn smile_version_number() -> u32 {
    SMILE_VERSION_NUMBER
}

/// Integrators, for the `integrator` field of configs.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum smile_integrator {
    /// Velocity Verlet (leapfrog): 1 gradient per step, 2nd order.
    SMILE_INTEGRATOR_VELOCITY_VERLET = 0,
    /// McLachlan's minimal-norm scheme: 2 gradients per step, 2nd order (default).
    SMILE_INTEGRATOR_MCLACHLAN = 1,
    /// BlackJAX's "Yoshida" coefficients: 3 gradients per step, 2nd order
    /// with a smaller error constant than McLachlan.
    SMILE_INTEGRATOR_YOSHIDA = 2,
    /// Omelyan's 11-stage scheme: 5 gradients per step, 4th order.
    SMILE_INTEGRATOR_OMELYAN = 3,
}

/// Values of `smile_step_info_*.divergence`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum smile_divergence {
    /// The step was accepted.
    SMILE_DIVERGENCE_NONE = 0,
    /// A log density, gradient or energy change was NaN or infinite (this
    /// includes a NaN told by the caller for a failed evaluation).
    SMILE_DIVERGENCE_NON_FINITE = 1,
    /// `|energy change|` exceeded the configured `max_energy_change`.
    SMILE_DIVERGENCE_ENERGY_ERROR = 2,
}

/// Values of `smile_request_*.kind`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum smile_request_kind {
    /// The initial point (before the first step, or after `set_position`).
    SMILE_REQUEST_INITIAL = 0,
    /// A position stage inside a step.
    SMILE_REQUEST_STAGE = 1,
}

/// What `tell` did.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum smile_progress {
    /// The initial evaluation was accepted; the chain is ready to step.
    SMILE_PROGRESS_INITIALIZED = 0,
    /// The step needs another evaluation: `ask` again.
    SMILE_PROGRESS_NEED_EVAL = 1,
    /// A step finished; the step info was written (if asked for).
    SMILE_PROGRESS_STEP_DONE = 2,
}

/// Generic mirror of `smile_request_*` (same fields, same order).
#[repr(C)]
pub(crate) struct RequestRepr<T> {
    pub x: *const T,
    pub grad: *mut T,
    pub dim: usize,
    pub step: u64,
    pub stage: u32,
    pub kind: u32,
}

/// Generic mirror of `smile_step_info_*`.
#[repr(C)]
pub(crate) struct StepInfoRepr<T> {
    pub step: u64,
    pub grad_evals: u64,
    pub divergences: u64,
    pub energy_change: T,
    pub kinetic_change: T,
    pub logdensity: T,
    pub step_size: T,
    pub divergence: u32,
}

impl<T: Real> From<StepInfo<T>> for StepInfoRepr<T> {
    fn from(i: StepInfo<T>) -> Self {
        StepInfoRepr {
            step: i.step,
            grad_evals: i.grad_evals,
            divergences: i.divergences,
            energy_change: i.energy_change,
            kinetic_change: i.kinetic_change,
            logdensity: i.logdensity,
            step_size: i.step_size,
            divergence: match i.divergence {
                Divergence::None => 0,
                Divergence::NonFinite => 1,
                Divergence::EnergyError => 2,
            },
        }
    }
}

pub(crate) fn request_kind(k: RequestKind) -> u32 {
    match k {
        RequestKind::Initial => 0,
        RequestKind::Stage => 1,
    }
}

/// The C log-density callback, generic form.
pub(crate) type LogDensityFn<T> = unsafe extern "C" fn(*mut c_void, usize, *const T, *mut T, *mut T) -> c_int;

/// Stamps out the precision-specific types shared by all samplers, and
/// checks at compile time that they mirror the generic forms.
macro_rules! common_types {
    ($t:ty, $request:ident, $info:ident, $logdensity:ident) => {
        /// A pending evaluation, written by `ask`: write the gradient of
        /// `log p` at `x` into `grad`, then pass `log p(x)` to `tell`.
        /// `x` and `grad` point into the instance and stay valid until the
        /// next call on it.
        #[repr(C)]
        #[derive(Clone, Copy, Debug)]
        pub struct $request {
            /// The point to evaluate at (`dim` values). Do not write to it.
            pub x: *const $t,
            /// Where the gradient goes (`dim` values); its content on entry is unspecified.
            pub grad: *mut $t,
            /// Dimension d.
            pub dim: usize,
            /// 1-based index of the step this evaluation belongs to (0 for
            /// the initial point). Stochastic-gradient callers use one
            /// mini-batch per step index.
            pub step: u64,
            /// 1-based position stage within the step (0 for the initial point).
            pub stage: u32,
            /// A `smile_request_kind`.
            pub kind: u32,
        }

        /// What one finished step did.
        #[repr(C)]
        #[derive(Clone, Copy, Debug)]
        pub struct $info {
            /// Steps completed so far (this one included).
            pub step: u64,
            /// Log-density evaluations so far, the initial one included.
            pub grad_evals: u64,
            /// Rejected (divergent) steps so far.
            pub divergences: u64,
            /// Energy change of the step; 0 for a rejected step.
            pub energy_change: $t,
            /// Kinetic-energy change of the step; 0 for a rejected step.
            pub kinetic_change: $t,
            /// `log p` at the position after the step (the old one if rejected).
            pub logdensity: $t,
            /// Step size used.
            pub step_size: $t,
            /// A `smile_divergence`: 0 if the step was accepted; otherwise why
            /// it was rejected (position, log density and gradient restored,
            /// a fresh random momentum drawn).
            pub divergence: u32,
        }

        /// Log-density callback: write the gradient of `log p` at `x` into
        /// `grad` (`dim` values each) and `log p(x)` into `*logp`; return 0.
        /// Return non-zero to stop (the call returns
        /// `SMILE_ERR_CALLBACK_FAILED`). A NaN or infinite `*logp` or gradient
        /// is a divergence (the step is rejected, sampling goes on).
        /// `*logp` is NaN on entry, so leaving it unset is a divergence too.
        /// `user` is passed through untouched. The callback must not call
        /// smile functions on the instance that is calling it.
        pub type $logdensity = Option<unsafe extern "C" fn(user: *mut c_void, dim: usize, x: *const $t, grad: *mut $t, logp: *mut $t) -> c_int>;

        const _: () = {
            use core::mem::{align_of, offset_of, size_of};
            assert!(size_of::<$request>() == size_of::<RequestRepr<$t>>());
            assert!(align_of::<$request>() == align_of::<RequestRepr<$t>>());
            assert!(offset_of!($request, dim) == offset_of!(RequestRepr<$t>, dim));
            assert!(offset_of!($request, kind) == offset_of!(RequestRepr<$t>, kind));
            assert!(size_of::<$info>() == size_of::<StepInfoRepr<$t>>());
            assert!(align_of::<$info>() == align_of::<StepInfoRepr<$t>>());
            assert!(offset_of!($info, energy_change) == offset_of!(StepInfoRepr<$t>, energy_change));
            assert!(offset_of!($info, step_size) == offset_of!(StepInfoRepr<$t>, step_size));
            assert!(offset_of!($info, divergence) == offset_of!(StepInfoRepr<$t>, divergence));
        };
    };
}

common_types!(f64, smile_request_f64, smile_step_info_f64, smile_logdensity_f64);
common_types!(f32, smile_request_f32, smile_step_info_f32, smile_logdensity_f32);
