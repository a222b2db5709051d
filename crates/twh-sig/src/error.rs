//! Error types. None of them ever carries key material or an expected signature.

use crate::scheme::Scheme;

/// A key or secret could not be loaded or does not fit where it is used.
///
/// Every message describes the *shape* of the problem (length, prefix,
/// encoding), never the key text itself.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The secret text or key bytes were empty.
    #[error("secret is empty")]
    Empty,
    /// The secret text starts or ends with whitespace (often a stray newline from a file or env var).
    #[error("secret has leading or trailing whitespace; check how it was pasted or loaded")]
    SurroundingWhitespace,
    /// The text looks like a pasted signature header entry, not a secret.
    #[error("secret starts with `{prefix}`, which looks like a pasted signature, not a secret")]
    LooksLikeSignature {
        /// The signature-like prefix that was found.
        prefix: &'static str,
    },
    /// The text lacks the prefix its encoding requires.
    #[error("secret must start with `{expected}`")]
    MissingPrefix {
        /// The required prefix, e.g. `whsec_`.
        expected: &'static str,
    },
    /// The text after the prefix is not valid standard (padded) base64.
    #[error(
        "text after `{prefix}` is not valid standard base64 (A-Z a-z 0-9 + /, `=`-padded to a \
         multiple of 4 characters; URL-safe `-` `_` is not accepted)"
    )]
    InvalidBase64 {
        /// The prefix after which the base64 was expected.
        prefix: &'static str,
    },
    /// The decoded key has a length the scheme does not accept.
    #[error("key is {actual} bytes; {what} requires {min} to {max} bytes")]
    InvalidLength {
        /// What imposes the limit, e.g. "Standard Webhooks".
        what: &'static str,
        /// The length that was found.
        actual: usize,
        /// Smallest accepted length.
        min: usize,
        /// Largest accepted length.
        max: usize,
    },
    /// A key of the wrong kind for this use (e.g. an HMAC secret for `standard-v1a`).
    #[error("wrong kind of key: {expected} expected, {found} given")]
    WrongKind {
        /// The kind of key that is required.
        expected: &'static str,
        /// The kind of key that was given.
        found: &'static str,
    },
    /// The ed25519 public key is not a valid, non-weak curve point.
    #[error("public key is not a valid ed25519 key")]
    InvalidPublicKey,
    /// A signer or verifier was built without any key.
    #[error("at least one key is required")]
    NoKeys,
    /// More signing keys than the scheme's signature header carries
    /// (one for GitHub, Shopify and Slack; 32 for Standard Webhooks and Stripe).
    #[error("the {scheme} scheme carries at most {max} signature(s); {count} signing keys given")]
    TooManyKeys {
        /// The scheme.
        scheme: Scheme,
        /// How many keys were given.
        count: usize,
        /// How many the scheme carries.
        max: usize,
    },
}

/// A configuration value was refused when it was set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A timestamp tolerance under one second would reject every message;
    /// "no check" is spelled `verify_ignoring_timestamp`, never a zero tolerance.
    #[error("timestamp tolerance must be at least one second")]
    ZeroTolerance,
    /// A tolerance over [`MAX_TOLERANCE`](crate::MAX_TOLERANCE) is no replay
    /// window at all; for audits of stored messages use
    /// `verify_ignoring_timestamp`.
    #[error("timestamp tolerance of {secs} s is longer than the 24 h maximum")]
    ToleranceTooLong {
        /// The tolerance asked for, in seconds.
        secs: u64,
    },
    /// The tolerance is compared with whole-second timestamps; a fraction
    /// would be dropped silently.
    #[error("timestamp tolerance must be a whole number of seconds")]
    FractionalTolerance,
}

/// A message could not be signed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignError {
    /// The message id would make the signed content ambiguous or is not a valid header value.
    #[error("invalid message id: {reason}")]
    InvalidId {
        /// Why the id was refused.
        reason: &'static str,
    },
    /// The timestamp is beyond what verifiers accept as unix seconds.
    #[error("timestamp {timestamp} is out of range (at most {max} unix seconds)")]
    TimestampOutOfRange {
        /// The timestamp given.
        timestamp: u64,
        /// The largest accepted timestamp.
        max: u64,
    },
    /// The resulting signature header would exceed what verifiers parse.
    #[error("signature header would be {len} bytes, over the {max}-byte limit (too many keys)")]
    HeaderTooLong {
        /// Length the header would have.
        len: usize,
        /// The limit.
        max: usize,
    },
}

/// Why a webhook was not accepted.
///
/// Messages name the header and the problem but never a key, a key id, or the
/// expected signature. Use [`VerifyError::kind`] to map failures to responses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// A required header is absent.
    #[error("missing `{name}` header")]
    MissingHeader {
        /// The header name.
        name: &'static str,
    },
    /// A header is present but cannot be parsed.
    #[error("malformed `{name}` header: {reason}")]
    MalformedHeader {
        /// The header name.
        name: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The timestamp is older than the tolerance allows.
    #[error("timestamp is {age_secs}s old, outside the {tolerance_secs}s tolerance")]
    TimestampTooOld {
        /// How far in the past the timestamp is.
        age_secs: u64,
        /// The configured tolerance.
        tolerance_secs: u64,
    },
    /// The timestamp is further in the future than the tolerance allows.
    #[error("timestamp is {ahead_secs}s in the future, outside the {tolerance_secs}s tolerance")]
    TimestampTooNew {
        /// How far in the future the timestamp is.
        ahead_secs: u64,
        /// The configured tolerance.
        tolerance_secs: u64,
    },
    /// The timestamp has 13 digits: milliseconds where unix seconds are required.
    #[error("timestamp looks like milliseconds; unix seconds are required")]
    TimestampInMilliseconds,
    /// No signature in the header matches any configured key (tampered body,
    /// wrong key, or a signature over different content).
    #[error("no signature matches any configured key")]
    NoMatchingSignature,
}

/// Coarse classification of a [`VerifyError`], for choosing a response or a metric label.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum VerifyErrorKind {
    /// A required header is absent.
    Missing,
    /// A header cannot be parsed.
    Malformed,
    /// The timestamp is outside the window (too old, too new, or in milliseconds).
    Expired,
    /// No signature matched.
    Mismatch,
}

impl VerifyError {
    /// The coarse class of this failure.
    #[must_use]
    pub const fn kind(&self) -> VerifyErrorKind {
        match self {
            Self::MissingHeader { .. } => VerifyErrorKind::Missing,
            Self::MalformedHeader { .. } => VerifyErrorKind::Malformed,
            Self::TimestampTooOld { .. }
            | Self::TimestampTooNew { .. }
            | Self::TimestampInMilliseconds => VerifyErrorKind::Expired,
            Self::NoMatchingSignature => VerifyErrorKind::Mismatch,
        }
    }
}
