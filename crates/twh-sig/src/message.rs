//! The message to sign and message-id rules.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand_core::{OsRng, RngCore as _};

use crate::error::SignError;
use crate::scheme::MAX_ID_LEN;

/// A message to sign: id, unix-seconds timestamp, and the exact body bytes.
///
/// `id` is the `webhook-id` for Standard Webhooks (and the delivery id header
/// for GitHub and Shopify); schemes without an id ignore it. The timestamp is
/// ignored by schemes without one (GitHub, Shopify).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Message<'a> {
    /// Message id (`msg_…`). Must not contain `.`, whitespace or control characters.
    pub id: &'a str,
    /// Unix seconds.
    pub timestamp: u64,
    /// The exact bytes sent; never re-serialized.
    pub body: &'a [u8],
}

impl<'a> Message<'a> {
    /// A message with the given id, timestamp (unix seconds) and body.
    #[must_use]
    pub const fn new(id: &'a str, timestamp: u64, body: &'a [u8]) -> Self {
        Self {
            id,
            timestamp,
            body,
        }
    }
}

/// A fresh message id: `msg_` followed by 22 URL-safe characters (128 random bits).
///
/// # Panics
///
/// Panics if the operating system cannot provide randomness.
#[must_use]
pub fn new_message_id() -> String {
    let mut bytes = [0_u8; 16];
    OsRng.fill_bytes(&mut bytes);
    let mut id = String::with_capacity(4 + 22);
    id.push_str("msg_");
    URL_SAFE_NO_PAD.encode_string(bytes, &mut id);
    id
}

/// Refuse ids that would make `{id}.{timestamp}.{body}` ambiguous or that
/// cannot travel in a header.
pub(crate) fn validate_id(id: &str) -> Result<(), SignError> {
    let reason = if id.is_empty() {
        "empty"
    } else if id.len() > MAX_ID_LEN {
        "longer than 256 bytes"
    } else if id.contains('.') {
        "contains `.`, which makes the signed content ambiguous"
    } else if id.bytes().any(|b| b.is_ascii_whitespace()) {
        "contains whitespace"
    } else if id.bytes().any(|b| b.is_ascii_control()) {
        "contains a control character"
    } else if !id.is_ascii() {
        "contains non-ASCII characters"
    } else {
        return Ok(());
    };
    Err(SignError::InvalidId { reason })
}
