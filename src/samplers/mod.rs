//! Samplers: they own the step logic (refresh, guards, counters) and speak
//! the reverse-communication protocol of [`request`]; the numerics come from
//! [`crate::dynamics`].

pub mod fsgld;
pub mod mclmc;
pub mod psgld;
pub mod request;
pub mod schedule;
pub(crate) mod sg;
pub mod sghmc;
pub mod sgld;
pub mod smile;
pub mod workspace;

pub use fsgld::{Fsgld, FsgldConfig, FsgldState};
pub use mclmc::{Mclmc, MclmcConfig, MclmcState, RefreshMode};
pub use psgld::{Psgld, PsgldConfig, PsgldState};
pub use request::{Divergence, LogDensity, Progress, Request, RequestKind, StepInfo};
pub use schedule::{Schedule, ScheduleKind};
pub use sghmc::{Sghmc, SghmcConfig, SghmcState};
pub use sgld::{Sgld, SgldConfig, SgldState};
pub use smile::{Smile, SmileConfig, SmileMode, SmileProgress, SmileState, SmileStepInfo};
pub use workspace::{align_workspace, workspace_pad, WORKSPACE_ALIGN};
