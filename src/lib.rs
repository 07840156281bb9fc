//! # smile — allocation-free gradient-based Bayesian sampling
//!
//! An embeddable `no_std` kernel for microcanonical Langevin Monte Carlo
//! (MCLMC) and its stochastic-gradient relatives, in `f32` and `f64`, over
//! memory the caller owns. The layers, bottom up:
//!
//! * [`real`], [`simd`], [`rng`]: the scalar abstraction, SIMD slice kernels,
//!   seeded random streams and vectorised normals;
//! * [`dynamics`]: the isokinetic (ESH) momentum update, the integrators and
//!   the partial momentum refresh;
//! * [`samplers`]: MCLMC and friends, driven by reverse communication
//!   (`ask` → evaluate → `tell`), with a callback convenience on top;
//! * [`targets`]: reference log densities for tests, examples and benchmarks.
//!
//! Nothing allocates; every buffer is a slice whose length a `workspace_len`
//! function gives; bad input returns an [`Error`], never panics.
//! Any alignment works, but for speed start a workspace on a 64-byte
//! boundary (a cache line; `vec!` does not promise it; [`align_workspace`]
//! finds one): then no vector load straddles two lines, and the workspace's
//! vectors all start on lines when `d` values fill whole lines (d a multiple
//! of 16 in `f32`, of 8 in `f64`). Measured at d = 1000: 10–15 % per step.
//!
//! ```
//! use smile::{Mclmc, MclmcConfig};
//! let d = 10;
//! let mut ws = vec![0.0f64; Mclmc::<f64>::workspace_len(d)];
//! let cfg = MclmcConfig { step_size: 0.8, decoherence_length: 3.0, ..MclmcConfig::for_dim(d) };
//! let mut chain = Mclmc::new(cfg, &vec![1.0; d], &mut ws, 42, 0).unwrap();
//! // standard Gaussian: log p = -|x|²/2, gradient -x
//! let mut logp = |x: &[f64], g: &mut [f64]| {
//!     g.iter_mut().zip(x).for_each(|(g, x)| *g = -x);
//!     -0.5 * x.iter().map(|v| v * v).sum::<f64>()
//! };
//! for _ in 0..100 {
//!     let info = chain.step_with(&mut logp).unwrap();
//!     assert!(!info.diverged());
//! }
//! ```

#![no_std]

// Hosted targets link std only for its panic runtime (the code never uses
// it); bare-metal builds get a halting panic handler so the staticlib links
// into C firmware. Every panic is unreachable from the public API by design.
#[cfg(not(target_os = "none"))]
extern crate std;

#[cfg(all(target_os = "none", not(feature = "external-panic-handler"), not(test)))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    loop {
        core::hint::spin_loop();
    }
}

pub mod diagnostics;
pub mod dynamics;
pub mod error;
pub mod ffi;
pub mod real;
pub mod rng;
pub mod samplers;
pub mod simd;
pub mod special;
pub mod targets;
pub mod tune;

pub use dynamics::Integrator;
pub use error::Error;
pub use real::Real;
pub use rng::Rng;
pub use samplers::{align_workspace, workspace_pad, WORKSPACE_ALIGN};
pub use samplers::{Divergence, LogDensity, Mclmc, MclmcConfig, MclmcState, Progress, RefreshMode, Request, RequestKind, StepInfo};
pub use samplers::{
    Fsgld, FsgldConfig, FsgldState, Psgld, PsgldConfig, PsgldState, Schedule, ScheduleKind, Sghmc, SghmcConfig, SghmcState, Sgld, SgldConfig, SgldState,
};
pub use samplers::{Smile, SmileConfig, SmileMode, SmileProgress, SmileState, SmileStepInfo};
