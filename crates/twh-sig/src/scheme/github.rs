//! GitHub: `X-Hub-Signature-256: sha256=<hex>` over the body; id from `X-GitHub-Delivery`.

use std::fmt::Write as _;

use http::{HeaderMap, HeaderName};

use super::{
    Found, Tags, decode_hex32, header_value, hmac_sha256, insert_id, malformed, match_hmac,
    optional_header, parse_id, required_header,
};
use crate::error::{SignError, VerifyError};
use crate::key::{SignKey, VerifyKey};
use crate::message::Message;

pub(crate) const SIGNATURE: &str = "x-hub-signature-256";
pub(crate) const DELIVERY: &str = "x-github-delivery";

pub(crate) fn sign(keys: &[SignKey], msg: &Message<'_>) -> Result<HeaderMap, SignError> {
    let mut map = HeaderMap::with_capacity(2);
    for key in super::only_hmac_key(keys) {
        let tag = hmac_sha256(key, &[msg.body]);
        let mut value = String::with_capacity(7 + 64);
        value.push_str("sha256=");
        for b in tag {
            let _ = write!(value, "{b:02x}");
        }
        map.insert(HeaderName::from_static(SIGNATURE), header_value(value)?);
    }
    insert_id(&mut map, DELIVERY, msg)?;
    Ok(map)
}

pub(crate) fn verify(
    keys: &[VerifyKey],
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Found, VerifyError> {
    let value = required_header(headers, SIGNATURE)?;
    let id = optional_header(headers, DELIVERY)?
        .map(|id| parse_id(DELIVERY, id))
        .transpose()?;
    let hex = value
        .strip_prefix("sha256=")
        .ok_or(malformed(SIGNATURE, "expected `sha256=<hex>`"))?;
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
