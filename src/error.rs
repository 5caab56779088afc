//! Exit codes and user-facing errors, decided in one place.

use std::fmt;
use std::io;

/// The documented exit codes.
pub mod exit {
    /// Everything conformed.
    pub const OK: u8 = 0;
    /// The target answered but broke the contract, or an expectation failed.
    pub const FAIL: u8 = 1;
    /// Usage or input error (clap uses 2 as well).
    pub const USAGE: u8 = 2;
    /// The target could not be reached.
    pub const UNREACHABLE: u8 = 3;
    /// oa-hook itself failed (no runtime, no thread); never the user's input.
    pub const INTERNAL: u8 = 4;
    /// Stopped by Ctrl-C (SIGINT): 128 + 2, as shells report it. Never a pass.
    pub const INTERRUPTED: u8 = 130;
    /// Stopped by SIGTERM: 128 + 15. Never a pass.
    pub const TERMINATED: u8 = 143;
}

/// How a command that ran to the end came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Pass,
    Fail,
    /// Stopped by a signal before the end: what ran was reported, and it is no pass.
    Interrupted(crate::interrupt::Signal),
}

impl Outcome {
    pub(crate) fn exit_code(self) -> u8 {
        match self {
            Outcome::Pass => exit::OK,
            Outcome::Fail => exit::FAIL,
            Outcome::Interrupted(signal) => signal.exit_code(),
        }
    }

    pub(crate) fn from_pass(pass: bool) -> Self {
        if pass { Outcome::Pass } else { Outcome::Fail }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ErrorKind {
    /// The user asked for something that cannot be done as asked: exit 2.
    Usage,
    /// The target could not be reached: exit 3.
    Unreachable,
    /// oa-hook itself failed: exit 4, said as an internal error.
    Internal,
}

/// An error a user reads: what went wrong, and what to change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Error {
    pub kind: ErrorKind,
    pub message: String,
    pub hint: Option<String>,
}

pub(crate) type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn usage(message: impl Into<String>) -> Self {
        Error {
            kind: ErrorKind::Usage,
            message: message.into(),
            hint: None,
        }
    }

    pub(crate) fn unreachable(message: impl Into<String>) -> Self {
        Error {
            kind: ErrorKind::Unreachable,
            message: message.into(),
            hint: None,
        }
    }

    /// oa-hook failed where the user can change nothing (the OS refused a thread or a runtime).
    pub(crate) fn internal(message: impl Into<String>) -> Self {
        Error {
            kind: ErrorKind::Internal,
            message: format!("internal error: {}", message.into()),
            hint: None,
        }
    }

    pub(crate) fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub(crate) fn exit_code(&self) -> u8 {
        match self.kind {
            ErrorKind::Usage => exit::USAGE,
            ErrorKind::Unreachable => exit::UNREACHABLE,
            ErrorKind::Internal => exit::INTERNAL,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// Writing output failed. stdout and stderr never fail this way (see `crate::output`).
impl From<io::Error> for Error {
    fn from(e: io::Error) -> Self {
        Error::usage(format!("cannot write output: {e}"))
    }
}
