//! Shared helpers: deterministic keys per scheme, header surgery.

use twh_sig::http::{HeaderMap, HeaderName, HeaderValue};
use twh_sig::{Scheme, SignKey, VerifyKey, WebhookSecret};

/// The textual secret #`i` for `scheme` (deterministic, valid).
pub(crate) fn secret_text(scheme: Scheme, i: u8) -> String {
    let bytes = [i.wrapping_mul(37).wrapping_add(1); 32];
    match scheme {
        Scheme::Standard => WebhookSecret::from_bytes(&bytes)
            .unwrap()
            .to_whsec()
            .expose_secret()
            .to_owned(),
        Scheme::StandardV1a => format!(
            "whsk_{}",
            WebhookSecret::from_bytes(&bytes)
                .unwrap()
                .to_base64()
                .expose_secret()
        ),
        _ => format!("platform-secret-{i}"),
    }
}

use twh_sig::secrecy::ExposeSecret as _;

pub(crate) fn sign_key(scheme: Scheme, i: u8) -> SignKey {
    SignKey::parse(&secret_text(scheme, i), scheme).unwrap()
}

pub(crate) fn verify_key(scheme: Scheme, i: u8) -> VerifyKey {
    VerifyKey::parse(&secret_text(scheme, i), scheme).unwrap()
}

/// Replace (or insert) header `name` with `value`.
pub(crate) fn set(headers: &mut HeaderMap, name: &str, value: &str) {
    headers.insert(
        HeaderName::from_bytes(name.as_bytes()).unwrap(),
        HeaderValue::from_str(value).unwrap(),
    );
}

pub(crate) fn get(headers: &HeaderMap, name: &str) -> String {
    headers.get(name).unwrap().to_str().unwrap().to_owned()
}

/// The header carrying the signature for `scheme`.
pub(crate) const fn signature_header(scheme: Scheme) -> &'static str {
    match scheme {
        Scheme::Stripe => "stripe-signature",
        Scheme::GitHub => "x-hub-signature-256",
        Scheme::Shopify => "x-shopify-hmac-sha256",
        Scheme::Slack => "x-slack-signature",
        _ => "webhook-signature",
    }
}
