//! Wire schemes: which headers carry what, and the shared bounded parsers.

mod github;
mod shopify;
mod slack;
mod standard;
mod stripe;

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac as _};
use http::{HeaderMap, HeaderName, HeaderValue};
use sha2::Sha256;
use subtle::{Choice, ConstantTimeEq as _};

use crate::error::{SignError, VerifyError};
use crate::key::{SignKey, VerifyKey};
use crate::message::{Message, validate_id};
use crate::secret::{KeyEncoding, KeyId};
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

// ---------------------------------------------------------------------------
// Shared bounded parsing

/// The single value of header `name`, if present.
///
/// Refuses a repeated header, a value over [`MAX_SIGNATURE_HEADER_LEN`], and
/// non-visible-ASCII values.
pub(crate) fn optional_header<'h>(
    headers: &'h HeaderMap,
    name: &'static str,
) -> Result<Option<&'h str>, VerifyError> {
    let mut values = headers.get_all(name).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(malformed(name, "header appears more than once"));
    }
    if value.len() > MAX_SIGNATURE_HEADER_LEN {
        return Err(malformed(name, "longer than 8 KiB"));
    }
    let text = value
        .to_str()
        .map_err(|_| malformed(name, "not visible ASCII"))?;
    Ok(Some(text))
}

/// The single value of required header `name`.
pub(crate) fn required_header<'h>(
    headers: &'h HeaderMap,
    name: &'static str,
) -> Result<&'h str, VerifyError> {
    optional_header(headers, name)?.ok_or(VerifyError::MissingHeader { name })
}

/// An id header value, bounded, as an owned string.
pub(crate) fn parse_id(name: &'static str, value: &str) -> Result<String, VerifyError> {
    if value.is_empty() {
        return Err(malformed(name, "empty id"));
    }
    if value.len() > MAX_ID_LEN {
        return Err(malformed(name, "id longer than 256 bytes"));
    }
    Ok(value.to_owned())
}

pub(crate) const fn malformed(name: &'static str, reason: &'static str) -> VerifyError {
    VerifyError::MalformedHeader { name, reason }
}

/// Strict unix-seconds timestamp: canonical decimal, no sign, no leading
/// zeros, no spaces, at most ten digits. Thirteen digits read as milliseconds.
pub(crate) fn parse_timestamp(name: &'static str, text: &str) -> Result<u64, VerifyError> {
    let bytes = text.as_bytes();
    if bytes.is_empty() {
        return Err(malformed(name, "empty timestamp"));
    }
    if !bytes.iter().all(u8::is_ascii_digit) {
        return Err(malformed(
            name,
            "timestamp is not plain decimal unix seconds",
        ));
    }
    if bytes.len() > 1 && bytes[0] == b'0' {
        return Err(malformed(name, "timestamp has a leading zero"));
    }
    if bytes.len() == 13 {
        return Err(VerifyError::TimestampInMilliseconds);
    }
    if bytes.len() > 10 {
        return Err(malformed(name, "timestamp out of range"));
    }
    let mut value = 0_u64;
    for b in bytes {
        value = value * 10 + u64::from(b - b'0');
    }
    Ok(value)
}

/// Up to [`MAX_SIGNATURES`] decoded signatures of `N` bytes, on the stack.
pub(crate) struct Tags<const N: usize> {
    buf: [[u8; N]; MAX_SIGNATURES],
    len: usize,
}

impl<const N: usize> Tags<N> {
    pub(crate) const fn new() -> Self {
        Self {
            buf: [[0; N]; MAX_SIGNATURES],
            len: 0,
        }
    }

    /// Add a decoded signature; the caller has already bounded the entry count.
    pub(crate) fn push(&mut self, tag: [u8; N]) {
        if let Some(slot) = self.buf.get_mut(self.len) {
            *slot = tag;
            self.len += 1;
        }
    }

    pub(crate) fn as_slice(&self) -> &[[u8; N]] {
        &self.buf[..self.len]
    }

    pub(crate) const fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// Decode exactly `N` bytes of padded standard base64, or `None`.
/// The length is checked before decoding; no allocation.
pub(crate) fn decode_b64<const N: usize>(text: &str) -> Option<[u8; N]> {
    if text.len() != N.div_ceil(3) * 4 {
        return None;
    }
    let mut buf = [0_u8; 96];
    let len = STANDARD.decode_slice(text, &mut buf).ok()?;
    if len != N {
        return None;
    }
    let mut out = [0_u8; N];
    out.copy_from_slice(&buf[..N]);
    Some(out)
}

/// Decode exactly 32 bytes of lowercase hex (64 chars), or `None`.
///
/// Only lowercase is accepted (every platform sends lowercase), so each
/// signature has exactly one spelling and any bit flip changes its meaning.
pub(crate) fn decode_hex32(text: &str) -> Option<[u8; 32]> {
    if text.len() != 64 || text.bytes().any(|b| b.is_ascii_uppercase()) {
        return None;
    }
    let mut out = [0_u8; 32];
    hex::decode_to_slice(text, &mut out).ok()?;
    Some(out)
}

/// HMAC-SHA256 over the concatenation of `parts`, fed incrementally (no copy).
pub(crate) fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// Whether `tag` equals any of `entries`, comparing every entry in constant time.
pub(crate) fn any_eq<const N: usize>(tag: &[u8; N], entries: &[[u8; N]]) -> bool {
    let mut hit = Choice::from(0);
    for entry in entries {
        hit |= tag[..].ct_eq(&entry[..]);
    }
    hit.into()
}

/// For each HMAC key, compute the tag once and compare against every entry.
pub(crate) fn match_hmac(keys: &[VerifyKey], parts: &[&[u8]], entries: &Tags<32>) -> Option<KeyId> {
    if entries.is_empty() {
        return None;
    }
    keys.iter().find_map(|key| match key {
        VerifyKey::Hmac(secret) => {
            let tag = hmac_sha256(secret.expose_secret(), parts);
            any_eq(&tag, entries.as_slice()).then(|| secret.key_id())
        }
        VerifyKey::Ed25519(_) => None,
    })
}

/// The single HMAC key of a one-signature scheme (enforced by `Signer::new`).
pub(crate) fn only_hmac_key(keys: &[SignKey]) -> impl Iterator<Item = &[u8]> {
    keys.iter().filter_map(|key| match key {
        SignKey::Hmac(secret) => Some(secret.expose_secret()),
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
    name: &'static str,
    msg: &Message<'_>,
) -> Result<(), SignError> {
    if !msg.id.is_empty() {
        validate_id(msg.id)?;
        map.insert(
            HeaderName::from_static(name),
            header_value(msg.id.to_owned())?,
        );
    }
    Ok(())
}
