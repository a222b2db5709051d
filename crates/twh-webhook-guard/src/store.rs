//! The error type shared by the replay and rate-limit stores.

use std::error::Error;
use std::fmt;

/// A replay or rate-limit store failed (Redis unreachable, script error, the
/// in-memory store full). The guard refuses the request with `503` rather than
/// letting it through unchecked.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
#[error("{what}")]
pub struct StoreError {
    what: &'static str,
    #[source]
    source: Option<Box<dyn Error + Send + Sync>>,
}

impl StoreError {
    /// A failure described by `what`, caused by `source`.
    #[must_use]
    pub fn new(what: &'static str, source: impl Into<Box<dyn Error + Send + Sync>>) -> Self {
        Self {
            what,
            source: Some(source.into()),
        }
    }

    /// A failure without an underlying error.
    #[must_use]
    pub const fn message(what: &'static str) -> Self {
        Self { what, source: None }
    }
}

/// Writes an error and its whole `source()` chain on one line, for logs.
pub(crate) struct Chain<'a>(pub(crate) &'a (dyn Error + 'static));

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut next = self.0.source();
        while let Some(e) = next {
            write!(f, ": {e}")?;
            next = e.source();
        }
        Ok(())
    }
}
