//! Tuners: algorithms that adapt a sampler's settings from its own output.

pub mod mclmc;

pub use mclmc::{AdaptPhase, MclmcAdaptConfig, MclmcAdaptState, MclmcAdapter};
