//! Convergence diagnostics over stored draws: effective sample size and the
//! potential scale reduction. Not on any sampler's hot path; computed in f64
//! whatever the draws' precision, with no allocation.

mod ess;

pub use ess::{effective_sample_size, potential_scale_reduction, Draws};
