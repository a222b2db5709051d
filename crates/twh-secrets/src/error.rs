//! The one error type of every provider.

use std::error::Error as StdError;
use std::sync::Arc;

use crate::{SecretName, Version};

/// A boxed backend failure (I/O, a Vault or KMS client error, …), shared so
/// that [`SecretError`] stays `Clone` (the cache hands one result to many waiters).
pub type BackendError = Arc<dyn StdError + Send + Sync + 'static>;

/// Everything that can go wrong when reading or changing a secret.
///
/// Messages name the secret and the version, never the value.
/// [`SecretError::is_transient`] tells which failures are worth a retry (and
/// which ones [`CachedProvider`](crate::CachedProvider) may answer from a stale entry).
#[non_exhaustive]
#[derive(Debug, Clone, thiserror::Error)]
pub enum SecretError {
    /// No secret of that name exists.
    #[error("secret {name} not found")]
    NotFound {
        /// The secret asked for.
        name: SecretName,
    },
    /// The secret exists but not that version.
    #[error("secret {name} has no version {version}")]
    VersionNotFound {
        /// The secret asked for.
        name: SecretName,
        /// The missing version.
        version: Version,
    },
    /// The version (or, for `get`, the latest version) was revoked.
    #[error("secret {name} version {version} is revoked")]
    Revoked {
        /// The secret asked for.
        name: SecretName,
        /// The revoked version.
        version: Version,
    },
    /// The version's key material was destroyed (its metadata remains).
    #[error("secret {name} version {version} is destroyed")]
    Destroyed {
        /// The secret asked for.
        name: SecretName,
        /// The destroyed version.
        version: Version,
    },
    /// A concurrent writer changed the secret first (compare-and-set lost).
    /// Re-read and retry.
    #[error("conflicting update of secret {name}: expected current {expected}, found {found}")]
    Conflict {
        /// The secret being changed.
        name: SecretName,
        /// What the writer expected as the current version (`none` = absent).
        expected: VersionDisplay,
        /// What the store held.
        found: VersionDisplay,
    },
    /// The caller may not perform this operation on this secret.
    #[error("{principal} may not {operation} secret {name}")]
    PermissionDenied {
        /// Who asked.
        principal: String,
        /// What was asked.
        operation: &'static str,
        /// The secret concerned (or the list prefix).
        name: String,
    },
    /// The backend could not be reached or did not answer in time (transient).
    #[error("secret backend unavailable: {context}")]
    Unavailable {
        /// What was being done.
        context: String,
        /// The underlying failure, if any.
        #[source]
        source: Option<BackendError>,
    },
    /// Stored data failed its integrity check (wrong master key, tampering, bad format).
    #[error("secret store corrupt: {context}")]
    Corrupt {
        /// What failed to verify or parse.
        context: String,
        /// The underlying failure, if any.
        #[source]
        source: Option<BackendError>,
    },
    /// The caller passed something invalid (a bad name, an impossible state change…).
    #[error("invalid input: {reason}")]
    InvalidInput {
        /// Why it was refused.
        reason: String,
    },
    /// A non-transient backend failure (permissions on the store file, a full disk…).
    #[error("secret backend failed: {context}")]
    Backend {
        /// What was being done.
        context: String,
        /// The underlying failure.
        #[source]
        source: Option<BackendError>,
    },
}

impl SecretError {
    /// True for failures that may succeed when retried: [`SecretError::Unavailable`]
    /// and [`SecretError::Conflict`].
    #[must_use]
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Unavailable { .. } | Self::Conflict { .. })
    }

    /// A short, stable name of the variant (for audit records and metrics).
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotFound { .. } => "not_found",
            Self::VersionNotFound { .. } => "version_not_found",
            Self::Revoked { .. } => "revoked",
            Self::Destroyed { .. } => "destroyed",
            Self::Conflict { .. } => "conflict",
            Self::PermissionDenied { .. } => "permission_denied",
            Self::Unavailable { .. } => "unavailable",
            Self::Corrupt { .. } => "corrupt",
            Self::InvalidInput { .. } => "invalid_input",
            Self::Backend { .. } => "backend",
        }
    }

    pub(crate) fn invalid(reason: impl Into<String>) -> Self {
        Self::InvalidInput {
            reason: reason.into(),
        }
    }

    pub(crate) fn corrupt(context: impl Into<String>) -> Self {
        Self::Corrupt {
            context: context.into(),
            source: None,
        }
    }

    pub(crate) fn unavailable(
        context: impl Into<String>,
        source: impl StdError + Send + Sync + 'static,
    ) -> Self {
        Self::Unavailable {
            context: context.into(),
            source: Some(Arc::new(source)),
        }
    }

    pub(crate) fn backend(
        context: impl Into<String>,
        source: impl StdError + Send + Sync + 'static,
    ) -> Self {
        Self::Backend {
            context: context.into(),
            source: Some(Arc::new(source)),
        }
    }

    /// Maps an I/O error: interruptions, timeouts and lock contention are
    /// transient ([`SecretError::Unavailable`]), the rest is [`SecretError::Backend`].
    pub(crate) fn io(context: impl Into<String>, err: std::io::Error) -> Self {
        use std::io::ErrorKind as K;
        match err.kind() {
            K::Interrupted
            | K::TimedOut
            | K::WouldBlock
            | K::ConnectionRefused
            | K::ConnectionReset
            | K::ConnectionAborted
            | K::NotConnected => Self::unavailable(context, err),
            _ => Self::backend(context, err),
        }
    }
}

/// An optional version, displayed as the number or `none`.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VersionDisplay(pub Option<Version>);

impl std::fmt::Display for VersionDisplay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(v) => write!(f, "{v}"),
            None => f.write_str("none"),
        }
    }
}
