//! Wire schemes: which headers carry what, and the shared bounded parsers.

mod github;
mod mac;
mod parse;
mod shopify;
mod slack;
mod standard;
mod stripe;

pub(crate) use mac::{HmacKey, ct_eq32, match_hmac};
pub(crate) use parse::{
    Tags, decode_b64, decode_hex32, find_headers, malformed, parse_id, parse_timestamp, required,
};

use std::fmt;
use std::str::FromStr;

use http::{HeaderMap, HeaderName, HeaderValue};

use crate::error::{SignError, VerifyError};
use crate::key::{SignKey, VerifyKey};
use crate::message::{Message, validate_id};
use crate::secret::{KeyEncoding, KeyId, WebhookSecret};
use crate::verify::Verified;

/// Longest signature (or any other verified) header value parsed, in bytes.
pub const MAX_SIGNATURE_HEADER_LEN: usize = 8 * 1024;
/// Most signature entries parsed from one header; more is a malformed header.
pub const MAX_SIGNATURES: usize = 32;
/// Longest message id accepted when signing or verifying, in bytes.
pub const MAX_ID_LEN: usize = 256;
/// Largest timestamp (unix seconds) signed or accepted: ten decimal digits.
pub const MAX_TIMESTAMP: u64 = 9_999_999_999;

/// A signature scheme, selectable by name.
///
/// | name | headers | signed content |
/// |---|---|---|
/// | `standard` | `webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<b64>…` | `{id}.{ts}.{body}`, HMAC-SHA256 |
/// | `standard-v1a` | same, `v1a,<b64>` entries | `{id}.{ts}.{body}`, ed25519 |
/// | `stripe` | `Stripe-Signature: t=…,v1=<hex>…` | `{t}.{body}`, HMAC-SHA256 |
/// | `github` | `X-Hub-Signature-256: sha256=<hex>` (+ `X-GitHub-Delivery`) | `{body}`, HMAC-SHA256 |
/// | `shopify` | `X-Shopify-Hmac-Sha256: <b64>` (+ `X-Shopify-Webhook-Id`) | `{body}`, HMAC-SHA256 |
/// | `slack` | `X-Slack-Signature: v0=<hex>`, `X-Slack-Request-Timestamp` | `v0:{ts}:{body}`, HMAC-SHA256 |
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Scheme {
    /// Standard Webhooks, symmetric (`v1`, HMAC-SHA256). The default.
    Standard,
    /// Standard Webhooks, asymmetric (`v1a`, ed25519).
    StandardV1a,
    /// Stripe (`Stripe-Signature`).
    Stripe,
    /// GitHub (`X-Hub-Signature-256`).
    GitHub,
    /// Shopify (`X-Shopify-Hmac-Sha256`).
    Shopify,
    /// Slack (`X-Slack-Signature`, v0).
    Slack,
}

impl Scheme {
    /// Every scheme, in a stable order.
    pub const ALL: [Self; 6] = [
        Self::Standard,
        Self::StandardV1a,
        Self::Stripe,
        Self::GitHub,
        Self::Shopify,
        Self::Slack,
    ];

    /// The scheme's name as used on the command line and in config.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Standard => "standard",
            Self::StandardV1a => "standard-v1a",
            Self::Stripe => "stripe",
            Self::GitHub => "github",
            Self::Shopify => "shopify",
            Self::Slack => "slack",
        }
    }

    /// How this scheme turns a textual HMAC secret into key bytes.
    ///
    /// For `standard-v1a` (which uses ed25519 keys, not HMAC secrets) this is
    /// [`KeyEncoding::Whsec`], the Standard Webhooks family's encoding.
    #[must_use]
    pub const fn key_encoding(self) -> KeyEncoding {
        match self {
            Self::Standard | Self::StandardV1a => KeyEncoding::Whsec,
            Self::Stripe | Self::GitHub | Self::Shopify | Self::Slack => KeyEncoding::Raw,
        }
    }

    /// Whether the scheme carries a signed timestamp (and so a replay window applies).
    #[must_use]
    pub const fn uses_timestamp(self) -> bool {
        match self {
            Self::Standard | Self::StandardV1a | Self::Stripe | Self::Slack => true,
            Self::GitHub | Self::Shopify => false,
        }
    }

    /// Whether the signature covers the message id, so the id can identify
    /// the message for replay protection. Standard Webhooks signs
    /// `{id}.{timestamp}.{body}`; GitHub's `X-GitHub-Delivery` and Shopify's
    /// `X-Shopify-Webhook-Id` are sent beside an HMAC of the body alone, so
    /// anyone can change them without breaking the signature.
    #[must_use]
    pub const fn signs_message_id(self) -> bool {
        matches!(self, Self::Standard | Self::StandardV1a)
    }

    /// Whether the scheme uses ed25519 keys rather than HMAC secrets.
    #[must_use]
    pub const fn is_asymmetric(self) -> bool {
        matches!(self, Self::StandardV1a)
    }

    /// How many signatures (so signing keys) one message carries.
    #[must_use]
    pub const fn max_signing_keys(self) -> usize {
        match self {
            Self::Standard | Self::StandardV1a | Self::Stripe => MAX_SIGNATURES,
            Self::GitHub | Self::Shopify | Self::Slack => 1,
        }
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An unknown scheme name was given to [`Scheme::from_str`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown scheme `{name}`; expected one of standard, standard-v1a, stripe, github, shopify, slack"
)]
#[non_exhaustive]
pub struct ParseSchemeError {
    /// The name that was given (truncated to 64 bytes).
    pub name: String,
}

impl FromStr for Scheme {
    type Err = ParseSchemeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|scheme| scheme.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| ParseSchemeError {
                name: s.chars().take(64).collect(),
            })
    }
}

// ---------------------------------------------------------------------------
// Dispatch

/// The replay window to apply, or none (audit tooling only).
#[derive(Clone, Copy, Debug)]
pub(crate) enum Window {
    Check { now: u64, tolerance_secs: u64 },
    Ignore,
}

impl Window {
    pub(crate) const fn check(self, timestamp: u64) -> Result<(), VerifyError> {
        match self {
            Self::Ignore => Ok(()),
            Self::Check {
                now,
                tolerance_secs,
            } => {
                if timestamp < now {
                    let age_secs = now - timestamp;
                    if age_secs > tolerance_secs {
                        return Err(VerifyError::TimestampTooOld {
                            age_secs,
                            tolerance_secs,
                        });
                    }
                } else {
                    let ahead_secs = timestamp - now;
                    if ahead_secs > tolerance_secs {
                        return Err(VerifyError::TimestampTooNew {
                            ahead_secs,
                            tolerance_secs,
                        });
                    }
                }
                Ok(())
            }
        }
    }
}

pub(crate) fn sign(
    scheme: Scheme,
    keys: &[SignKey],
    msg: &Message<'_>,
) -> Result<HeaderMap, SignError> {
    if scheme.uses_timestamp() && msg.timestamp > MAX_TIMESTAMP {
        return Err(SignError::TimestampOutOfRange {
            timestamp: msg.timestamp,
            max: MAX_TIMESTAMP,
        });
    }
    match scheme {
        Scheme::Standard | Scheme::StandardV1a => standard::sign(keys, msg),
        Scheme::Stripe => stripe::sign(keys, msg),
        Scheme::GitHub => github::sign(keys, msg),
        Scheme::Shopify => shopify::sign(keys, msg),
        Scheme::Slack => slack::sign(keys, msg),
    }
}

pub(crate) fn verify(
    scheme: Scheme,
    keys: &[VerifyKey],
    headers: &HeaderMap,
    body: &[u8],
    window: Window,
) -> Result<Verified, VerifyError> {
    let found = match scheme {
        Scheme::Standard | Scheme::StandardV1a => standard::verify(keys, headers, body, window),
        Scheme::Stripe => stripe::verify(keys, headers, body, window),
        Scheme::GitHub => github::verify(keys, headers, body),
        Scheme::Shopify => shopify::verify(keys, headers, body),
        Scheme::Slack => slack::verify(keys, headers, body, window),
    }?;
    Ok(Verified {
        scheme,
        id: found.id,
        timestamp: found.timestamp,
        key_id: found.key_id,
    })
}

/// What a scheme's verifier found, before it becomes a [`Verified`].
pub(crate) struct Found {
    pub(crate) id: Option<String>,
    pub(crate) timestamp: Option<u64>,
    pub(crate) key_id: KeyId,
}

/// The HMAC keys among `keys` (all of them, for the HMAC schemes; `Signer::new` checks).
pub(crate) fn hmac_keys(keys: &[SignKey]) -> impl Iterator<Item = &WebhookSecret> {
    keys.iter().filter_map(|key| match key {
        SignKey::Hmac(secret) => Some(secret),
        SignKey::Ed25519(_) => None,
    })
}

pub(crate) fn header_value(text: String) -> Result<HeaderValue, SignError> {
    HeaderValue::try_from(text).map_err(|_| SignError::InvalidId {
        reason: "not a valid header value",
    })
}

/// Add an optional delivery-id header (GitHub, Shopify) if the message has an id.
pub(crate) fn insert_id(
    map: &mut HeaderMap,
    name: HeaderName,
    msg: &Message<'_>,
) -> Result<(), SignError> {
    if !msg.id.is_empty() {
        validate_id(msg.id)?;
        map.insert(name, header_value(msg.id.to_owned())?);
    }
    Ok(())
}
