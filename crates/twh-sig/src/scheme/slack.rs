//! Slack: `X-Slack-Signature: v0=<hex>` over `v0:{ts}:{body}`, with `X-Slack-Request-Timestamp`.

use std::fmt::Write as _;

use http::{HeaderMap, HeaderName, HeaderValue};

use super::{
    Found, Tags, Window, decode_hex32, header_value, hmac_sha256, malformed, match_hmac,
    parse_timestamp, required_header,
};
use crate::error::{SignError, VerifyError};
use crate::key::{SignKey, VerifyKey};
use crate::message::Message;

pub(crate) const SIGNATURE: &str = "x-slack-signature";
pub(crate) const TIMESTAMP: &str = "x-slack-request-timestamp";

pub(crate) fn sign(keys: &[SignKey], msg: &Message<'_>) -> Result<HeaderMap, SignError> {
    let ts = msg.timestamp.to_string();
    let mut map = HeaderMap::with_capacity(2);
    for key in super::only_hmac_key(keys) {
        let tag = hmac_sha256(key, &[b"v0:", ts.as_bytes(), b":", msg.body]);
        let mut value = String::with_capacity(3 + 64);
        value.push_str("v0=");
        for b in tag {
            let _ = write!(value, "{b:02x}");
        }
        map.insert(HeaderName::from_static(SIGNATURE), header_value(value)?);
    }
    map.insert(
        HeaderName::from_static(TIMESTAMP),
        HeaderValue::from(msg.timestamp),
    );
    Ok(map)
}

pub(crate) fn verify(
    keys: &[VerifyKey],
    headers: &HeaderMap,
    body: &[u8],
    window: Window,
) -> Result<Found, VerifyError> {
    let value = required_header(headers, SIGNATURE)?;
    let ts_text = required_header(headers, TIMESTAMP)?;
    let timestamp = parse_timestamp(TIMESTAMP, ts_text)?;
    let hex = value
        .strip_prefix("v0=")
        .ok_or(malformed(SIGNATURE, "expected `v0=<hex>`"))?;
    window.check(timestamp)?;
    let mut tags = Tags::<32>::new();
    if let Some(tag) = decode_hex32(hex) {
        tags.push(tag);
    }
    match_hmac(keys, &[b"v0:", ts_text.as_bytes(), b":", body], &tags)
        .map(|key_id| Found {
            id: None,
            timestamp: Some(timestamp),
            key_id,
        })
        .ok_or(VerifyError::NoMatchingSignature)
}
