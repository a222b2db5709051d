//! Webhook secret generation (delegated to `twh-sig`).

use crate::SecretValue;

/// `whsec_` + standard base64 of 32 CSPRNG bytes: `twh_sig::WebhookSecret::generate().to_whsec()`.
pub(crate) fn whsec() -> SecretValue {
    SecretValue::from(twh_sig::WebhookSecret::generate().to_whsec())
}
