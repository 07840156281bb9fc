//! Errors of the Rust API. Each has a fixed discriminant; the C ABI's status
//! codes reuse them.

use core::fmt;

/// Why a call was refused. No call that returns an `Error` has changed the
/// sampler's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Error {
    /// A required pointer was NULL (C ABI only).
    NullPointer = 1,
    /// The dimension is below the sampler's minimum: 2 for the microcanonical
    /// samplers (their dynamics divide by `d − 1`), 1 for the SGLD family.
    DimensionTooSmall = 2,
    /// A buffer's length does not match what the dimension requires.
    BufferLength = 3,
    /// The step size is not a finite positive number.
    InvalidStepSize = 4,
    /// The decoherence length L is not positive (NaN included; +∞ is allowed).
    InvalidDecoherenceLength = 5,
    /// Another setting is out of its documented range or not a number.
    InvalidSetting = 6,
    /// The call does not fit the ask/tell sequence (e.g. `tell` with no
    /// pending request, or a setting changed in the middle of a step).
    OutOfOrder = 7,
    /// The log density or gradient at the initial point is not finite.
    NonFiniteInitialPoint = 8,
    /// A value given by the caller (position, momentum, preconditioner) is
    /// not finite or not in range.
    InvalidValue = 9,
    /// A saved state is inconsistent (corrupt checkpoint or wrong dimension).
    InvalidState = 10,
    /// The log-density callback asked to stop (convenience API).
    CallbackFailed = 11,
}

impl Error {
    /// A static, human-readable description.
    pub const fn message(self) -> &'static str {
        match self {
            Error::NullPointer => "a required pointer is NULL",
            Error::DimensionTooSmall => "dimension too small (at least 2 for MCLMC/SMILE, 1 for the SGLD family)",
            Error::BufferLength => "buffer length does not match the dimension",
            Error::InvalidStepSize => "step size must be finite and positive",
            Error::InvalidDecoherenceLength => "decoherence length L must be positive (or +inf to disable refresh)",
            Error::InvalidSetting => "a setting is out of range or not a number",
            Error::OutOfOrder => "call out of order in the ask/tell sequence",
            Error::NonFiniteInitialPoint => "log density or gradient at the initial point is not finite",
            Error::InvalidValue => "a value is not finite or out of range",
            Error::InvalidState => "saved state is inconsistent",
            Error::CallbackFailed => "the log-density callback reported failure",
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}
