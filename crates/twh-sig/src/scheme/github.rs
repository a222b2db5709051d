//! GitHub: `X-Hub-Signature-256: sha256=<hex>` over the body; id from `X-GitHub-Delivery`.

use std::fmt::Write as _;

use http::{HeaderMap, HeaderName};

use super::{
    Found, Tags, decode_hex32, find_headers, header_value, insert_id, malformed, match_hmac,
    parse_id, required,
};
use crate::error::{SignError, VerifyError};
use crate::key::{SignKey, VerifyKey};
use crate::message::Message;

pub(crate) const SIGNATURE_NAME: &str = "x-hub-signature-256";
pub(crate) const SIGNATURE: HeaderName = HeaderName::from_static(SIGNATURE_NAME);
pub(crate) const DELIVERY_NAME: &str = "x-github-delivery";
pub(crate) const DELIVERY: HeaderName = HeaderName::from_static(DELIVERY_NAME);

pub(crate) fn sign(keys: &[SignKey], msg: &Message<'_>) -> Result<HeaderMap, SignError> {
    let mut map = HeaderMap::with_capacity(2);
    for key in super::hmac_keys(keys) {
        let tag = key.mac(&[msg.body]);
        let mut value = String::with_capacity(7 + 64);
        value.push_str("sha256=");
        for b in tag {
            let _ = write!(value, "{b:02x}");
        }
        map.insert(SIGNATURE, header_value(value)?);
    }
    insert_id(&mut map, DELIVERY, msg)?;
    Ok(map)
}

pub(crate) fn verify(
    keys: &[VerifyKey],
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Found, VerifyError> {
    let [value, id] = find_headers(
        headers,
        &[(SIGNATURE, SIGNATURE_NAME), (DELIVERY, DELIVERY_NAME)],
    )?;
    let value = required(value, SIGNATURE_NAME)?;
    let id = id.map(|id| parse_id(DELIVERY_NAME, id)).transpose()?;
    let hex = value
        .strip_prefix(b"sha256=")
        .ok_or(malformed(SIGNATURE_NAME, "expected `sha256=<hex>`"))?;
    let mut tags = Tags::<32>::new();
    if let Some(tag) = decode_hex32(hex) {
        tags.push(tag);
    }
    match_hmac(keys, &[body], &tags)
        .map(|key_id| Found {
            id,
            timestamp: None,
            key_id,
        })
        .ok_or(VerifyError::NoMatchingSignature)
}
