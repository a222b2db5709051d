//! Error types.

use std::error::Error as StdError;
use std::sync::Arc;

/// A shared, type-erased backend error kept as the `source` of our errors.
pub(crate) type BoxedSource = Arc<dyn StdError + Send + Sync + 'static>;

/// Invalid configuration, rejected when it is set.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// An endpoint id is empty, too long or has characters outside `[a-z0-9._-]`.
    #[error("invalid endpoint id {id:?}: {reason}")]
    InvalidEndpointId {
        /// The rejected id.
        id: String,
        /// Why it was rejected.
        reason: &'static str,
    },
    /// An endpoint URL could not be parsed, is not `http`/`https`, or has no
    /// host.
    #[error("invalid endpoint URL: {reason}")]
    InvalidUrl {
        /// Why it was rejected.
        reason: String,
    },
    /// A retry schedule is empty or too long.
    #[error("invalid retry schedule: {reason}")]
    InvalidSchedule {
        /// Why it was rejected.
        reason: &'static str,
    },
    /// A jitter percentage above 100.
    #[error("jitter must be at most 100 percent, got {percent}")]
    InvalidJitter {
        /// The rejected percentage.
        percent: u8,
    },
    /// An allow-list entry that is not an IP address or CIDR block.
    #[error("invalid CIDR {value:?}")]
    InvalidCidr {
        /// The rejected text.
        value: String,
    },
    /// The HTTP client could not be built.
    #[error("HTTP client: {reason}")]
    HttpClient {
        /// What went wrong.
        reason: String,
    },
}

/// The durable outbox (SQLite) failed.
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OutboxError {
    /// The database could not be opened, read or written.
    #[error("outbox database: {context}")]
    Database {
        /// What the outbox was doing.
        context: &'static str,
        /// The database error.
        #[source]
        source: BoxedSource,
    },
    /// A message was sent to an endpoint the outbox does not know.
    #[error("unknown endpoint {id:?}")]
    UnknownEndpoint {
        /// The endpoint id.
        id: String,
    },
    /// An endpoint to register has an invalid id or URL (its public fields
    /// were changed after [`crate::Endpoint::new`]).
    #[error("endpoint {id:?} is invalid")]
    InvalidEndpoint {
        /// The endpoint id.
        id: String,
        /// What is wrong with it.
        #[source]
        source: ConfigError,
    },
    /// Stored data could not be decoded (e.g. a URL edited by hand).
    #[error("corrupt outbox row: {reason}")]
    Corrupt {
        /// What could not be decoded.
        reason: String,
    },
    /// The outbox's writer thread has stopped.
    #[error("outbox is closed")]
    Closed,
    /// The endpoint's secret could not be created on registration.
    #[error("could not create the secret of endpoint {id:?}")]
    Secret {
        /// The endpoint id.
        id: String,
        /// The key-source error.
        #[source]
        source: KeySourceError,
    },
}

impl OutboxError {
    pub(crate) fn db(context: &'static str) -> impl FnOnce(rusqlite::Error) -> Self {
        move |e| Self::Database {
            context,
            source: Arc::new(e),
        }
    }
}

/// Signing keys for an endpoint could not be obtained.
///
/// Messages never contain key material.
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeySourceError {
    /// No secret exists under this name.
    #[error("no secret named {name:?}")]
    NotFound {
        /// The secret name.
        name: String,
    },
    /// The secret exists but has no active key (e.g. all revoked).
    #[error("secret {name:?} has no active key")]
    NoActiveKey {
        /// The secret name.
        name: String,
    },
    /// A stored value is not a valid signing key.
    #[error("secret {name:?} holds an invalid signing key")]
    InvalidKey {
        /// The secret name.
        name: String,
    },
    /// The secret store failed (possibly transient).
    #[error("secret store failed for {name:?}")]
    Backend {
        /// The secret name.
        name: String,
        /// The store's error.
        #[source]
        source: BoxedSource,
    },
}

/// An alert could not be delivered to its sink.
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AlertError {
    /// The ops webhook could not be reached or did not answer 2xx.
    #[error("alert webhook failed: {reason}")]
    Webhook {
        /// What went wrong (status or error class).
        reason: String,
    },
    /// The alert could not be signed or encoded.
    #[error("alert could not be encoded or signed")]
    Encode,
}
