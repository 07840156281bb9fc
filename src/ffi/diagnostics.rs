//! C ABI of the convergence diagnostics (Rust [`crate::diagnostics`]):
//! `smile_effective_sample_size_*` and `smile_potential_scale_reduction_*`,
//! pure functions over a strided view of the caller's draws.

use core::mem::{align_of, size_of};

use super::instance::{overlaps, put};
use super::smile_status::*;
use super::{code, smile_status};
use crate::diagnostics::{effective_sample_size, potential_scale_reduction, Draws};
use crate::error::Error;
use crate::real::Real;

/// Checks the view and runs `f` on it, writing the result to `*out`.
///
/// # Safety
/// `data` is NULL or points to `chains·n·stride` readable values of `T`;
/// `out` is NULL or writable.
unsafe fn diagnose<T: Real>(
    data: *const T,
    chains: usize,
    n: usize,
    stride: usize,
    offset: usize,
    out: *mut f64,
    f: fn(Draws<'_, T>) -> Result<f64, Error>,
) -> smile_status {
    code((|| {
        if data.is_null() || out.is_null() {
            return Err(SMILE_ERR_NULL_POINTER);
        }
        if chains == 0 || n < 2 || stride == 0 || offset >= stride {
            return Err(SMILE_ERR_INVALID_SETTING);
        }
        let len =
            chains.checked_mul(n).and_then(|v| v.checked_mul(stride)).filter(|&v| v <= isize::MAX as usize / size_of::<T>()).ok_or(SMILE_ERR_BUFFER_LENGTH)?;
        if (data as usize) % align_of::<T>() != 0 {
            return Err(SMILE_ERR_ALIGNMENT);
        }
        let bytes = len * size_of::<T>();
        if overlaps((out as usize, size_of::<f64>()), (data as usize, bytes)) {
            return Err(SMILE_ERR_OVERLAP);
        }
        let view = Draws { data: core::slice::from_raw_parts(data, len), chains, n, stride, offset };
        let v = f(view)?;
        put(out, v)
    })())
}

/// Stamps out the diagnostics' C symbols for one precision.
macro_rules! diagnostics_ffi {
    (real: $t:ty, ess: $ess:ident, rhat: $rhat:ident $(,)?) => {
        /// Effective sample size of one scalar quantity over `chains` chains
        /// of `n` draws each (BlackJAX 1.7.1 conventions: chain-averaged
        /// autocovariance, Geyer's initial monotone sequence), written to
        /// `*out` (a double in both precisions).
        /// Draw `t` of chain `c` is `data[(c*n + t)*stride + offset]`, so
        /// `data` holds `chains*n*stride` values; for draws stored as
        /// `chains × n × d` (row-major), coordinate `j` is `stride = d`,
        /// `offset = j`. Draws without variation give 0, any NaN gives NaN.
        /// Time O(chains·n·K) for the K lags Geyer's sequence needs; no memory.
        /// Errors: `NULL_POINTER`, `INVALID_SETTING` (`chains` 0, `n` < 2,
        /// `stride` 0, `offset` ≥ `stride`), `BUFFER_LENGTH`
        /// (`chains*n*stride` values do not fit in memory), `ALIGNMENT`
        /// (`data` not aligned for its type), `OVERLAP` (`out` inside the data).
        #[no_mangle]
        pub unsafe extern "C" fn $ess(data: *const $t, chains: usize, n: usize, stride: usize, offset: usize, out: *mut f64) -> smile_status {
            diagnose::<$t>(data, chains, n, stride, offset, out, effective_sample_size::<$t>)
        }

        /// Gelman–Rubin potential scale reduction R̂ =
        /// `sqrt(((n−1)/n · W + B/n) / W)` (W: mean within-chain variance,
        /// B: n · variance of the chain means, both with ddof 1) of one
        /// scalar quantity, written to `*out`; the view of the draws is as
        /// for `smile_effective_sample_size_*`. Needs at least 2 chains.
        /// Errors: as `smile_effective_sample_size_*`, and `INVALID_SETTING`
        /// for one chain.
        #[no_mangle]
        pub unsafe extern "C" fn $rhat(data: *const $t, chains: usize, n: usize, stride: usize, offset: usize, out: *mut f64) -> smile_status {
            diagnose::<$t>(data, chains, n, stride, offset, out, potential_scale_reduction::<$t>)
        }
    };
}

diagnostics_ffi! { real: f64, ess: smile_effective_sample_size_f64, rhat: smile_potential_scale_reduction_f64 }
diagnostics_ffi! { real: f32, ess: smile_effective_sample_size_f32, rhat: smile_potential_scale_reduction_f32 }
