//! Keys as the signer and verifier take them: HMAC or ed25519.

use crate::ed25519::{SigningKey, VerifyingKey, WHPK_PREFIX, WHSK_PREFIX};
use crate::error::KeyError;
use crate::scheme::Scheme;
use crate::secret::{KeyId, WebhookSecret};

/// A key that can sign: an HMAC secret or an ed25519 signing key.
///
/// `Debug` is redacted (it delegates to the redacted key types).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum SignKey {
    /// Symmetric HMAC-SHA256 secret.
    Hmac(WebhookSecret),
    /// ed25519 signing key (`standard-v1a`).
    Ed25519(SigningKey),
}

/// A key that can verify: an HMAC secret or an ed25519 public key.
///
/// `Debug` is redacted (it delegates to the redacted key types).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum VerifyKey {
    /// Symmetric HMAC-SHA256 secret.
    Hmac(WebhookSecret),
    /// ed25519 public key (`standard-v1a`).
    Ed25519(VerifyingKey),
}

impl From<WebhookSecret> for SignKey {
    fn from(secret: WebhookSecret) -> Self {
        Self::Hmac(secret)
    }
}

impl From<SigningKey> for SignKey {
    fn from(key: SigningKey) -> Self {
        Self::Ed25519(key)
    }
}

impl From<WebhookSecret> for VerifyKey {
    fn from(secret: WebhookSecret) -> Self {
        Self::Hmac(secret)
    }
}

impl From<VerifyingKey> for VerifyKey {
    fn from(key: VerifyingKey) -> Self {
        Self::Ed25519(key)
    }
}

impl From<SigningKey> for VerifyKey {
    fn from(key: SigningKey) -> Self {
        Self::Ed25519(key.verifying_key())
    }
}

impl From<&WebhookSecret> for SignKey {
    fn from(secret: &WebhookSecret) -> Self {
        Self::Hmac(secret.clone())
    }
}

impl From<&WebhookSecret> for VerifyKey {
    fn from(secret: &WebhookSecret) -> Self {
        Self::Hmac(secret.clone())
    }
}

impl SignKey {
    /// Parse the textual secret as issued, the way `scheme` interprets it:
    /// `whsec_…` (decoded) for `standard`, `whsk_…` for `standard-v1a`, the raw
    /// string for the platform schemes.
    ///
    /// # Errors
    ///
    /// [`KeyError`] if the text is not a valid key for `scheme`.
    pub fn parse(text: &str, scheme: Scheme) -> Result<Self, KeyError> {
        match scheme {
            Scheme::StandardV1a => SigningKey::parse(text).map(Self::Ed25519),
            _ => {
                let secret = WebhookSecret::parse(text, scheme.key_encoding())?;
                Ok(Self::Hmac(secret))
            }
        }
    }

    /// The short id of this key.
    #[must_use]
    pub const fn key_id(&self) -> KeyId {
        match self {
            Self::Hmac(secret) => secret.key_id(),
            Self::Ed25519(key) => key.key_id(),
        }
    }

    pub(crate) const fn kind_name(&self) -> &'static str {
        match self {
            Self::Hmac(_) => "an HMAC secret",
            Self::Ed25519(_) => "an ed25519 key",
        }
    }
}

impl VerifyKey {
    /// Parse the textual key as issued, the way `scheme` interprets it:
    /// `whsec_…` (decoded) for `standard`, `whpk_…` or `whsk_…` for
    /// `standard-v1a`, the raw string for the platform schemes.
    ///
    /// # Errors
    ///
    /// [`KeyError`] if the text is not a valid key for `scheme`.
    pub fn parse(text: &str, scheme: Scheme) -> Result<Self, KeyError> {
        match scheme {
            Scheme::StandardV1a => {
                if text.starts_with(WHSK_PREFIX) {
                    SigningKey::parse(text).map(Self::from)
                } else if text.starts_with(WHPK_PREFIX) {
                    VerifyingKey::parse(text).map(Self::Ed25519)
                } else {
                    crate::secret::lint_text(text)?;
                    Err(KeyError::MissingPrefix {
                        expected: WHPK_PREFIX,
                    })
                }
            }
            _ => {
                let secret = WebhookSecret::parse(text, scheme.key_encoding())?;
                Ok(Self::Hmac(secret))
            }
        }
    }

    /// The short id of this key.
    #[must_use]
    pub const fn key_id(&self) -> KeyId {
        match self {
            Self::Hmac(secret) => secret.key_id(),
            Self::Ed25519(key) => key.key_id(),
        }
    }

    pub(crate) const fn kind_name(&self) -> &'static str {
        match self {
            Self::Hmac(_) => "an HMAC secret",
            Self::Ed25519(_) => "an ed25519 key",
        }
    }
}
