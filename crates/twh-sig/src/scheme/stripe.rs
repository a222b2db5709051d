//! Stripe: `Stripe-Signature: t=<ts>,v1=<hex>[,v1=<hex>…]` over `{t}.{body}`.

use std::fmt::Write as _;

use http::{HeaderMap, HeaderName};

use super::{
    Found, MAX_SIGNATURES, Tags, Window, decode_hex32, find_headers, header_value, malformed,
    match_hmac, parse_timestamp, required,
};
use crate::error::{SignError, VerifyError};
use crate::key::{SignKey, VerifyKey};
use crate::message::Message;

pub(crate) const SIGNATURE_NAME: &str = "stripe-signature";
pub(crate) const SIGNATURE: HeaderName = HeaderName::from_static(SIGNATURE_NAME);

pub(crate) fn sign(keys: &[SignKey], msg: &Message<'_>) -> Result<HeaderMap, SignError> {
    let ts = msg.timestamp.to_string();
    let mut value = format!("t={ts}");
    for key in super::hmac_keys(keys) {
        let tag = key.mac(&[ts.as_bytes(), b".", msg.body]);
        value.push_str(",v1=");
        for b in tag {
            let _ = write!(value, "{b:02x}");
        }
    }
    let mut map = HeaderMap::with_capacity(1);
    map.insert(SIGNATURE, header_value(value)?);
    Ok(map)
}

pub(crate) fn verify(
    keys: &[VerifyKey],
    headers: &HeaderMap,
    body: &[u8],
    window: Window,
) -> Result<Found, VerifyError> {
    let [value] = find_headers(headers, &[(SIGNATURE, SIGNATURE_NAME)])?;
    let value = required(value, SIGNATURE_NAME)?;
    let mut ts_text: Option<&[u8]> = None;
    let mut v1 = Tags::<32>::new();
    for (count, item) in value.split(|b| *b == b',').enumerate() {
        if count > MAX_SIGNATURES {
            return Err(malformed(SIGNATURE_NAME, "more than 32 signatures"));
        }
        let Some(eq) = item.iter().position(|b| *b == b'=') else {
            return Err(malformed(SIGNATURE_NAME, "item without `=`"));
        };
        let (name, item_value) = (&item[..eq], &item[eq + 1..]);
        match name {
            b"t" if ts_text.is_some() => {
                return Err(malformed(SIGNATURE_NAME, "more than one `t=`"));
            }
            b"t" => ts_text = Some(item_value),
            b"v1" => {
                if let Some(tag) = decode_hex32(item_value) {
                    v1.push(tag);
                }
            }
            _ => {} // v0 and unknown schemes are ignored
        }
    }
    let ts_text = ts_text.ok_or(malformed(SIGNATURE_NAME, "no `t=` timestamp"))?;
    let timestamp = parse_timestamp(SIGNATURE_NAME, ts_text)?;
    window.check(timestamp)?;
    match_hmac(keys, &[ts_text, b".", body], &v1)
        .map(|key_id| Found {
            id: None,
            timestamp: Some(timestamp),
            key_id,
        })
        .ok_or(VerifyError::NoMatchingSignature)
}
