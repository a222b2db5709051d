//! Shopify: `X-Shopify-Hmac-Sha256: <base64>` over the body; id from `X-Shopify-Webhook-Id`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderMap, HeaderName};

use super::{
    Found, Tags, decode_b64, header_value, hmac_sha256, insert_id, match_hmac, optional_header,
    parse_id, required_header,
};
use crate::error::{SignError, VerifyError};
use crate::key::{SignKey, VerifyKey};
use crate::message::Message;

pub(crate) const SIGNATURE: &str = "x-shopify-hmac-sha256";
pub(crate) const WEBHOOK_ID: &str = "x-shopify-webhook-id";

pub(crate) fn sign(keys: &[SignKey], msg: &Message<'_>) -> Result<HeaderMap, SignError> {
    let mut map = HeaderMap::with_capacity(2);
    for key in super::only_hmac_key(keys) {
        let tag = hmac_sha256(key, &[msg.body]);
        map.insert(
            HeaderName::from_static(SIGNATURE),
            header_value(STANDARD.encode(tag))?,
        );
    }
    insert_id(&mut map, WEBHOOK_ID, msg)?;
    Ok(map)
}

pub(crate) fn verify(
    keys: &[VerifyKey],
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Found, VerifyError> {
    let value = required_header(headers, SIGNATURE)?;
    let id = optional_header(headers, WEBHOOK_ID)?
        .map(|id| parse_id(WEBHOOK_ID, id))
        .transpose()?;
    let mut tags = Tags::<32>::new();
    if let Some(tag) = decode_b64::<32>(value) {
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
