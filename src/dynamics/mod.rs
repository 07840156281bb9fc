//! Isokinetic (ESH) dynamics on flat slices: the momentum update, the
//! palindromic integrators that alternate it with position updates, and the
//! partial momentum refresh. Samplers compose these; nothing here knows about
//! step-size tuning, divergences or the ask/tell protocol.

pub mod esh;
pub mod integrator;
pub mod refresh;

pub use esh::{esh_update, esh_update_next, esh_update_split, KineticForm, KineticSum, NonFinite};
pub use integrator::{Integrator, StageOutcome, Stepper};
pub use refresh::{partial_refresh, random_direction, refresh_scale};
