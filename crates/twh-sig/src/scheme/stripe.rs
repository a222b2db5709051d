//! Stripe: `Stripe-Signature: t=<ts>,v1=<hex>[,v1=<hex>…]` over `{t}.{body}`.

use std::fmt::Write as _;

use http::{HeaderMap, HeaderName};

use super::{
    Found, MAX_SIGNATURES, Tags, Window, decode_hex32, header_value, hmac_sha256, malformed,
    match_hmac, parse_timestamp, required_header,
};
use crate::error::{SignError, VerifyError};
use crate::key::{SignKey, VerifyKey};
use crate::message::Message;

pub(crate) const SIGNATURE: &str = "stripe-signature";

pub(crate) fn sign(keys: &[SignKey], msg: &Message<'_>) -> Result<HeaderMap, SignError> {
    let ts = msg.timestamp.to_string();
    let mut value = format!("t={ts}");
    for key in super::only_hmac_key(keys) {
        let tag = hmac_sha256(key, &[ts.as_bytes(), b".", msg.body]);
        value.push_str(",v1=");
        for b in tag {
            let _ = write!(value, "{b:02x}");
        }
    }
    let mut map = HeaderMap::with_capacity(1);
    map.insert(HeaderName::from_static(SIGNATURE), header_value(value)?);
    Ok(map)
}

pub(crate) fn verify(
    keys: &[VerifyKey],
    headers: &HeaderMap,
    body: &[u8],
    window: Window,
) -> Result<Found, VerifyError> {
    let value = required_header(headers, SIGNATURE)?;
    let mut ts_text: Option<&str> = None;
    let mut v1 = Tags::<32>::new();
    for (count, item) in value.split(',').enumerate() {
        if count > MAX_SIGNATURES {
            return Err(malformed(SIGNATURE, "more than 32 signatures"));
        }
        let Some((name, item_value)) = item.split_once('=') else {
            return Err(malformed(SIGNATURE, "item without `=`"));
        };
        match name {
            "t" if ts_text.is_some() => {
                return Err(malformed(SIGNATURE, "more than one `t=`"));
            }
            "t" => ts_text = Some(item_value),
            "v1" => {
                if let Some(tag) = decode_hex32(item_value) {
                    v1.push(tag);
                }
            }
            _ => {} // v0 and unknown schemes are ignored
        }
    }
    let ts_text = ts_text.ok_or(malformed(SIGNATURE, "no `t=` timestamp"))?;
    let timestamp = parse_timestamp(SIGNATURE, ts_text)?;
    window.check(timestamp)?;
    match_hmac(keys, &[ts_text.as_bytes(), b".", body], &v1)
        .map(|key_id| Found {
            id: None,
            timestamp: Some(timestamp),
            key_id,
        })
        .ok_or(VerifyError::NoMatchingSignature)
}
