//! Webhook secret generation.

use crate::SecretValue;

/// `whsec_` + standard base64 of 32 CSPRNG bytes.
///
/// Written against `twh_sig::WebhookSecret::generate().to_whsec()`; see
/// `twh-sig` for the format. The bytes are zeroized after encoding.
pub(crate) fn whsec() -> SecretValue {
    use base64::Engine as _;
    use zeroize::Zeroize as _;
    let mut key = [0u8; 32];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut key);
    let mut text = String::with_capacity(6 + 44);
    text.push_str("whsec_");
    base64::engine::general_purpose::STANDARD.encode_string(key, &mut text);
    key.zeroize();
    SecretValue::from_string(text)
}
