//! Samplers: they own the step logic (refresh, guards, counters) and speak
//! the reverse-communication protocol of [`request`]; the numerics come from
//! [`crate::dynamics`].

pub mod mclmc;
pub mod request;
pub mod smile;

pub use mclmc::{Mclmc, MclmcConfig, MclmcState, RefreshMode};
pub use request::{Divergence, LogDensity, Progress, Request, RequestKind, StepInfo};
pub use smile::{Smile, SmileConfig, SmileMode, SmileProgress, SmileState, SmileStepInfo};
