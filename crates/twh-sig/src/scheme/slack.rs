//! Slack: `X-Slack-Signature: v0=<hex>` over `v0:{ts}:{body}`, with `X-Slack-Request-Timestamp`.

use std::fmt::Write as _;

use http::{HeaderMap, HeaderName, HeaderValue};

use super::{
    Found, Tags, Window, decode_hex32, find_headers, header_value, malformed, match_hmac,
    parse_timestamp, required,
};
use crate::error::{SignError, VerifyError};
use crate::key::{SignKey, VerifyKey};
use crate::message::Message;

pub(crate) const SIGNATURE_NAME: &str = "x-slack-signature";
pub(crate) const SIGNATURE: HeaderName = HeaderName::from_static(SIGNATURE_NAME);
pub(crate) const TIMESTAMP_NAME: &str = "x-slack-request-timestamp";
pub(crate) const TIMESTAMP: HeaderName = HeaderName::from_static(TIMESTAMP_NAME);

pub(crate) fn sign(keys: &[SignKey], msg: &Message<'_>) -> Result<HeaderMap, SignError> {
    let ts = msg.timestamp.to_string();
    let mut map = HeaderMap::with_capacity(2);
    for key in super::hmac_keys(keys) {
        let tag = key.mac(&[b"v0:", ts.as_bytes(), b":", msg.body]);
        let mut value = String::with_capacity(3 + 64);
        value.push_str("v0=");
        for b in tag {
            let _ = write!(value, "{b:02x}");
        }
        map.insert(SIGNATURE, header_value(value)?);
    }
    map.insert(TIMESTAMP, HeaderValue::from(msg.timestamp));
    Ok(map)
}

pub(crate) fn verify(
    keys: &[VerifyKey],
    headers: &HeaderMap,
    body: &[u8],
    window: Window,
) -> Result<Found, VerifyError> {
    let [value, ts_text] = find_headers(
        headers,
        &[(SIGNATURE, SIGNATURE_NAME), (TIMESTAMP, TIMESTAMP_NAME)],
    )?;
    let value = required(value, SIGNATURE_NAME)?;
    let ts_text = required(ts_text, TIMESTAMP_NAME)?;
    let timestamp = parse_timestamp(TIMESTAMP_NAME, ts_text)?;
    let hex = value
        .strip_prefix(b"v0=")
        .ok_or(malformed(SIGNATURE_NAME, "expected `v0=<hex>`"))?;
    window.check(timestamp)?;
    let mut tags = Tags::<32>::new();
    if let Some(tag) = decode_hex32(hex) {
        tags.push(tag);
    }
    match_hmac(keys, &[b"v0:", ts_text, b":", body], &tags)
        .map(|key_id| Found {
            id: None,
            timestamp: Some(timestamp),
            key_id,
        })
        .ok_or(VerifyError::NoMatchingSignature)
}
