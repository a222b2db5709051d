//! Standard Webhooks: `v1` (HMAC-SHA256) and `v1a` (ed25519) over `{id}.{timestamp}.{body}`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderMap, HeaderName, HeaderValue};
use subtle::Choice;

use super::{
    Found, MAX_SIGNATURE_HEADER_LEN, MAX_SIGNATURES, Tags, Window, ct_eq32, decode_b64,
    find_headers, header_value, malformed, parse_id, parse_timestamp, required,
};
use crate::error::{SignError, VerifyError};
use crate::key::{SignKey, VerifyKey};
use crate::message::{Message, validate_id};

pub(crate) const ID_NAME: &str = "webhook-id";
pub(crate) const ID: HeaderName = HeaderName::from_static(ID_NAME);
pub(crate) const TIMESTAMP_NAME: &str = "webhook-timestamp";
pub(crate) const TIMESTAMP: HeaderName = HeaderName::from_static(TIMESTAMP_NAME);
pub(crate) const SIGNATURE_NAME: &str = "webhook-signature";
pub(crate) const SIGNATURE: HeaderName = HeaderName::from_static(SIGNATURE_NAME);

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
                let tag = secret.mac(&[msg.id.as_bytes(), b".", ts.as_bytes(), b".", msg.body]);
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
    map.insert(ID, header_value(msg.id.to_owned())?);
    map.insert(TIMESTAMP, HeaderValue::from(msg.timestamp));
    map.insert(SIGNATURE, header_value(value)?);
    Ok(map)
}

pub(crate) fn verify(
    keys: &[VerifyKey],
    headers: &HeaderMap,
    body: &[u8],
    window: Window,
) -> Result<Found, VerifyError> {
    let [id, ts_text, signature] = find_headers(
        headers,
        &[
            (ID, ID_NAME),
            (TIMESTAMP, TIMESTAMP_NAME),
            (SIGNATURE, SIGNATURE_NAME),
        ],
    )?;
    let id_bytes = required(id, ID_NAME)?;
    let ts_text = required(ts_text, TIMESTAMP_NAME)?;
    let signature = required(signature, SIGNATURE_NAME)?;
    let id = parse_id(ID_NAME, id_bytes)?;
    let timestamp = parse_timestamp(TIMESTAMP_NAME, ts_text)?;
    window.check(timestamp)?;

    let parts: [&[u8]; 5] = [id_bytes, b".", ts_text, b".", body];

    // Only the entries this verifier's key kind can match are decoded.
    let v1a_keys = keys.iter().any(|k| matches!(k, VerifyKey::Ed25519(_)));
    let key_id = if v1a_keys {
        let mut v1a = Tags::<64>::new();
        parse_entries(signature, b"v1a", |encoded| {
            if let Some(sig) = decode_b64::<64>(encoded) {
                v1a.push(sig);
            }
        })?;
        keys.iter().find_map(|key| match key {
            VerifyKey::Ed25519(public) => v1a
                .as_slice()
                .iter()
                .any(|sig| public.verify_parts(sig, &parts))
                .then(|| public.key_id()),
            VerifyKey::Hmac(_) => None,
        })
    } else {
        // Each key's tag is computed once, then compared (in constant time)
        // with every `v1` entry as it is decoded into a fixed buffer.
        let mut matched = None;
        for key in keys {
            let VerifyKey::Hmac(secret) = key else {
                continue;
            };
            let tag = secret.mac(&parts);
            let mut hit = Choice::from(0);
            parse_entries(signature, b"v1", |encoded| {
                if let Some(candidate) = decode_b64::<32>(encoded) {
                    hit |= ct_eq32(&tag, &candidate);
                }
            })?;
            if bool::from(hit) {
                matched = Some(secret.key_id());
                break;
            }
        }
        matched
    };
    match key_id {
        Some(key_id) => Ok(Found {
            id: Some(id),
            timestamp: Some(timestamp),
            key_id,
        }),
        None => Err(VerifyError::NoMatchingSignature),
    }
}

/// Walk the space-separated `version,signature` entries (at most
/// [`MAX_SIGNATURES`]), handing those of `version` to `accept`. Unknown
/// versions are ignored, per the spec; undecodable signatures are left to
/// `accept`, which drops them (they never match).
fn parse_entries(
    header: &[u8],
    version: &[u8],
    mut accept: impl FnMut(&[u8]),
) -> Result<(), VerifyError> {
    let mut count = 0_usize;
    for entry in header.split(|b| *b == b' ').filter(|e| !e.is_empty()) {
        count += 1;
        if count > MAX_SIGNATURES {
            return Err(malformed(SIGNATURE_NAME, "more than 32 signatures"));
        }
        let Some(comma) = entry.iter().position(|b| *b == b',') else {
            return Err(malformed(
                SIGNATURE_NAME,
                "entry without a version prefix (expected `v1,<base64>`)",
            ));
        };
        if &entry[..comma] == version {
            accept(&entry[comma + 1..]);
        }
    }
    if count == 0 {
        return Err(malformed(SIGNATURE_NAME, "no signature entries"));
    }
    Ok(())
}
