//! Standard Webhooks: `v1` (HMAC-SHA256) and `v1a` (ed25519) over `{id}.{timestamp}.{body}`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderMap, HeaderName, HeaderValue};

use super::{
    Found, MAX_SIGNATURE_HEADER_LEN, MAX_SIGNATURES, Tags, Window, decode_b64, header_value,
    hmac_sha256, malformed, match_hmac, parse_id, parse_timestamp, required_header,
};
use crate::error::{SignError, VerifyError};
use crate::key::{SignKey, VerifyKey};
use crate::message::{Message, validate_id};

pub(crate) const ID: &str = "webhook-id";
pub(crate) const TIMESTAMP: &str = "webhook-timestamp";
pub(crate) const SIGNATURE: &str = "webhook-signature";

pub(crate) fn sign(keys: &[SignKey], msg: &Message<'_>) -> Result<HeaderMap, SignError> {
    validate_id(msg.id)?;
    let ts = msg.timestamp.to_string();
    let mut value = String::with_capacity(keys.len() * 92);
    // ed25519 signs the contiguous content; HMAC streams it.
    let mut content: Option<Vec<u8>> = None;
    for key in keys {
        if !value.is_empty() {
            value.push(' ');
        }
        match key {
            SignKey::Hmac(secret) => {
                let tag = hmac_sha256(
                    secret.expose_secret(),
                    &[msg.id.as_bytes(), b".", ts.as_bytes(), b".", msg.body],
                );
                value.push_str("v1,");
                STANDARD.encode_string(tag, &mut value);
            }
            SignKey::Ed25519(signing) => {
                let content = content.get_or_insert_with(|| {
                    let mut c = Vec::with_capacity(msg.id.len() + ts.len() + 2 + msg.body.len());
                    c.extend_from_slice(msg.id.as_bytes());
                    c.push(b'.');
                    c.extend_from_slice(ts.as_bytes());
                    c.push(b'.');
                    c.extend_from_slice(msg.body);
                    c
                });
                value.push_str("v1a,");
                STANDARD.encode_string(signing.sign(content), &mut value);
            }
        }
    }
    if value.len() > MAX_SIGNATURE_HEADER_LEN {
        return Err(SignError::HeaderTooLong {
            len: value.len(),
            max: MAX_SIGNATURE_HEADER_LEN,
        });
    }
    let mut map = HeaderMap::with_capacity(3);
    map.insert(
        HeaderName::from_static(ID),
        header_value(msg.id.to_owned())?,
    );
    map.insert(
        HeaderName::from_static(TIMESTAMP),
        HeaderValue::from(msg.timestamp),
    );
    map.insert(HeaderName::from_static(SIGNATURE), header_value(value)?);
    Ok(map)
}

pub(crate) fn verify(
    keys: &[VerifyKey],
    headers: &HeaderMap,
    body: &[u8],
    window: Window,
) -> Result<Found, VerifyError> {
    let id = required_header(headers, ID)?;
    let ts_text = required_header(headers, TIMESTAMP)?;
    let signature = required_header(headers, SIGNATURE)?;
    let id = parse_id(ID, id)?;
    let timestamp = parse_timestamp(TIMESTAMP, ts_text)?;
    window.check(timestamp)?;

    let mut v1 = Tags::<32>::new();
    let mut v1a = Tags::<64>::new();
    let mut count = 0_usize;
    for entry in signature.split(' ').filter(|e| !e.is_empty()) {
        count += 1;
        if count > MAX_SIGNATURES {
            return Err(malformed(SIGNATURE, "more than 32 signatures"));
        }
        let Some((version, encoded)) = entry.split_once(',') else {
            return Err(malformed(
                SIGNATURE,
                "entry without a version prefix (expected `v1,<base64>`)",
            ));
        };
        // Undecodable or wrong-length signatures are kept out: they never match.
        match version {
            "v1" => {
                if let Some(tag) = decode_b64::<32>(encoded) {
                    v1.push(tag);
                }
            }
            "v1a" => {
                if let Some(sig) = decode_b64::<64>(encoded) {
                    v1a.push(sig);
                }
            }
            _ => {} // unknown versions are ignored, per the spec
        }
    }
    if count == 0 {
        return Err(malformed(SIGNATURE, "no signature entries"));
    }

    let parts: [&[u8]; 5] = [id.as_bytes(), b".", ts_text.as_bytes(), b".", body];
    let key_id = match_hmac(keys, &parts, &v1).or_else(|| {
        keys.iter().find_map(|key| match key {
            VerifyKey::Ed25519(public) => v1a
                .as_slice()
                .iter()
                .any(|sig| public.verify_parts(sig, &parts))
                .then(|| public.key_id()),
            VerifyKey::Hmac(_) => None,
        })
    });
    match key_id {
        Some(key_id) => Ok(Found {
            id: Some(id),
            timestamp: Some(timestamp),
            key_id,
        }),
        None => Err(VerifyError::NoMatchingSignature),
    }
}
