use std::error::Error;
use std::future::{Ready, ready};
use std::time::Duration;

use http::request::Parts;
use twh_sig::{KeyId, Scheme, Verifier};

/// Maps a request to the [`Verifier`] (scheme and accepted keys) for it.
///
/// Implemented by [`Verifier`] itself (one set of keys for every request),
/// by closures `Fn(&Parts) -> Result<Verifier, ResolveError>` (routing on
/// path or headers), and by
#[cfg_attr(
    feature = "secrets",
    doc = "[`SecretsKeyResolver`](crate::SecretsKeyResolver)"
)]
#[cfg_attr(
    not(feature = "secrets"),
    doc = "`SecretsKeyResolver` (feature `secrets`)"
)]
/// (keys from a twh-secrets store, rotation without restart).
/// Must be cheap to clone: a clone serves each connection.
pub trait KeyResolver: Clone + Send + Sync + 'static {
    /// What [`resolve`](KeyResolver::resolve) returns.
    type Future: Future<Output = Result<Verifier, ResolveError>> + Send + 'static;

    /// The verifier for this request. Copy what you need out of `parts`; the
    /// future must not borrow it.
    fn resolve(&self, parts: &Parts) -> Self::Future;
}

impl KeyResolver for Verifier {
    type Future = Ready<Result<Self, ResolveError>>;

    fn resolve(&self, _parts: &Parts) -> Self::Future {
        ready(Ok(self.clone()))
    }
}

impl<F> KeyResolver for F
where
    F: Fn(&Parts) -> Result<Verifier, ResolveError> + Clone + Send + Sync + 'static,
{
    type Future = Ready<Result<Verifier, ResolveError>>;

    fn resolve(&self, parts: &Parts) -> Self::Future {
        ready(self(parts))
    }
}

/// Why a [`KeyResolver`] found no verifier.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    /// No webhook endpoint is configured for this request. `404`.
    #[error("no webhook endpoint configured for this request")]
    UnknownEndpoint,
    /// The endpoint exists but has no key that may verify right now (all
    /// revoked or expired). Answered like a bad signature: `401`.
    #[error("no active key for this endpoint")]
    NoActiveKey,
    /// The key backend failed. `503`.
    #[error("key backend failed")]
    Backend(#[source] Box<dyn Error + Send + Sync>),
}

/// What the verification layer established about an accepted request; a
/// request extension for the handler.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedWebhook {
    /// The scheme that verified.
    pub scheme: Scheme,
    /// The sender's message id, if the scheme has one.
    pub message_id: Option<String>,
    /// The signed timestamp (unix seconds), for timestamped schemes.
    pub timestamp: Option<u64>,
    /// The fingerprint of the key whose signature matched.
    pub key_id: KeyId,
    replay_key: String,
    /// The verifier's timestamp tolerance: the replay layer remembers the
    /// message at least this long past its timestamp.
    pub(crate) tolerance: Duration,
}

impl VerifiedWebhook {
    pub(crate) fn new(v: twh_sig::Verified, body: &[u8], tolerance: Duration) -> Self {
        let replay_key = match &v.id {
            // Only an id the signature covers may name the message: GitHub's
            // and Shopify's id headers can be changed freely by a replayer.
            // One namespace for v1 and v1a: they sign the same `{id}.{ts}.{body}`,
            // so a message sent with both must not pass once per scheme.
            Some(id) if v.scheme.signs_message_id() => format!("standard:{id}"),
            _ => {
                use sha2::Digest as _;
                let mut h = sha2::Sha256::new();
                h.update(v.timestamp.unwrap_or(0).to_be_bytes());
                h.update(body);
                format!("{}:sha256:{}", v.scheme, hex::encode(h.finalize()))
            }
        };
        Self {
            scheme: v.scheme,
            message_id: v.id,
            timestamp: v.timestamp,
            key_id: v.key_id,
            replay_key,
            tolerance,
        }
    }

    /// The identity the replay layer remembers: `standard:message-id` for
    /// Standard Webhooks, `v1` and `v1a` alike (the signature covers the id), else
    /// `scheme:sha256:<digest of the signed timestamp and body>` — GitHub's
    /// and Shopify's id headers are not signed, so a replayer could change
    /// them. (A sender's redelivery of the same body inside the window is
    /// therefore answered `409`, as a replay.)
    #[must_use]
    pub fn replay_key(&self) -> &str {
        &self.replay_key
    }
}
