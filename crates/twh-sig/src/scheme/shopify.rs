//! Shopify: `X-Shopify-Hmac-Sha256: <base64>` over the body; id from `X-Shopify-Webhook-Id`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderMap, HeaderName};

use super::{
    Found, Tags, decode_b64, find_headers, header_value, insert_id, match_hmac, parse_id, required,
};
use crate::error::{SignError, VerifyError};
use crate::key::{SignKey, VerifyKey};
use crate::message::Message;

pub(crate) const SIGNATURE_NAME: &str = "x-shopify-hmac-sha256";
pub(crate) const SIGNATURE: HeaderName = HeaderName::from_static(SIGNATURE_NAME);
pub(crate) const WEBHOOK_ID_NAME: &str = "x-shopify-webhook-id";
pub(crate) const WEBHOOK_ID: HeaderName = HeaderName::from_static(WEBHOOK_ID_NAME);

pub(crate) fn sign(keys: &[SignKey], msg: &Message<'_>) -> Result<HeaderMap, SignError> {
    let mut map = HeaderMap::with_capacity(2);
    for key in super::hmac_keys(keys) {
        let tag = key.mac(&[msg.body]);
        map.insert(SIGNATURE, header_value(STANDARD.encode(tag))?);
    }
    insert_id(&mut map, WEBHOOK_ID, msg)?;
    Ok(map)
}

pub(crate) fn verify(
    keys: &[VerifyKey],
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Found, VerifyError> {
    let [value, id] = find_headers(
        headers,
        &[(SIGNATURE, SIGNATURE_NAME), (WEBHOOK_ID, WEBHOOK_ID_NAME)],
    )?;
    let value = required(value, SIGNATURE_NAME)?;
    let id = id.map(|id| parse_id(WEBHOOK_ID_NAME, id)).transpose()?;
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
