//! Tuners: algorithms that adapt a sampler's settings from its own output.

pub mod gamma_brackets;
pub mod gamma_quantile;
pub mod mclmc;
pub mod noise_precond;

pub use gamma_quantile::{Decision, Fit, GammaTuner, GammaTunerConfig, TunerLevels};
pub use mclmc::{AdaptPhase, MclmcAdaptConfig, MclmcAdaptState, MclmcAdapter};
