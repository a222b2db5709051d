//! How a command fails: the exit code and the one-line message on stderr.

use std::error::Error;
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
        }
    }
}

/// `error` and its whole `source()` chain on one line: `outer: inner: innermost`
/// (a source already quoted by its parent is not repeated). For the CLI's
/// own error types only (`SecretError`, `DeliveryError` and the io errors
/// they carry), whose messages never hold key material.
pub(crate) fn chain(error: &dyn Error) -> String {
    let mut line = error.to_string();
    let mut next = error.source();
    while let Some(e) = next {
        let text = e.to_string();
        if !line.contains(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
        next = e.source();
    }
    line
}
