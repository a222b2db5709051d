//! How a command fails: the exit code and the one-line message on stderr.

use std::fmt::Display;
use std::process::ExitCode;

/// A command's failure. Messages never contain key material.
#[derive(Debug)]
pub(crate) enum Failure {
    /// Bad arguments, unreadable input, invalid key text: exit 2 (like clap's own errors).
    Usage(String),
    /// Verification rejected the message: exit 1.
    Rejected(String),
    /// An operation failed (secret store, audit log): exit 1.
    Failed(String),
    /// Stdout was closed by its reader (`| head`): stop, print nothing, exit 0.
    Quiet,
}

impl Failure {
    pub(crate) fn usage(message: impl Display) -> Self {
        Self::Usage(message.to_string())
    }

    pub(crate) fn failed(message: impl Display) -> Self {
        Self::Failed(message.to_string())
    }

    /// Print the message to stderr and return the exit code.
    pub(crate) fn report(self) -> ExitCode {
        match self {
            Self::Usage(message) => {
                eprintln!("twh: error: {message}");
                ExitCode::from(2)
            }
            Self::Rejected(message) => {
                eprintln!("twh: rejected: {message}");
                ExitCode::from(1)
            }
            Self::Failed(message) => {
                eprintln!("twh: error: {message}");
                ExitCode::from(1)
            }
            Self::Quiet => ExitCode::SUCCESS,
        }
    }
}
