//! ed25519 keys for the Standard Webhooks `v1a` scheme (`whsk_…` / `whpk_…`).

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rand_core::OsRng;
use secrecy::SecretString;
use zeroize::Zeroizing;

use crate::error::KeyError;
use crate::secret::{KeyId, lint_text};

/// Prefix of a textual ed25519 signing key (base64 of the 32-byte seed).
pub(crate) const WHSK_PREFIX: &str = "whsk_";
/// Prefix of a textual ed25519 public key (base64 of the 32-byte key).
pub(crate) const WHPK_PREFIX: &str = "whpk_";

/// An ed25519 signing key (Standard Webhooks `v1a`), text form `whsk_<base64 seed>`.
///
/// Zeroized on drop. `Debug`/`Display` are redacted. The [`KeyId`] is that of
/// the public key, so signer and verifier logs name the same key.
#[derive(Clone)]
pub struct SigningKey {
    // Boxed: the expanded key is large and lives inside `SignKey`.
    inner: Box<ed25519_dalek::SigningKey>,
    id: KeyId,
}

/// An ed25519 public key (Standard Webhooks `v1a`), text form `whpk_<base64>`.
///
/// Not secret: partners hold it to verify without any shared secret.
#[derive(Clone, PartialEq, Eq)]
pub struct VerifyingKey {
    // Boxed: the decompressed point is large and lives inside `VerifyKey`.
    inner: Box<ed25519_dalek::VerifyingKey>,
    id: KeyId,
}

fn decode_32(text: &str, prefix: &'static str) -> Result<Zeroizing<[u8; 32]>, KeyError> {
    lint_text(text)?;
    let encoded = text
        .strip_prefix(prefix)
        .ok_or(KeyError::MissingPrefix { expected: prefix })?;
    let decoded = Zeroizing::new(
        STANDARD
            .decode(encoded)
            .map_err(|_| KeyError::InvalidBase64 { prefix })?,
    );
    let mut out = Zeroizing::new([0_u8; 32]);
    if decoded.len() != 32 {
        return Err(KeyError::InvalidLength {
            what: "an ed25519 key",
            actual: decoded.len(),
            min: 32,
            max: 32,
        });
    }
    out.copy_from_slice(&decoded);
    Ok(out)
}

impl SigningKey {
    /// A fresh signing key from the operating system's CSPRNG.
    #[must_use]
    pub fn generate() -> Self {
        Self::from_dalek(ed25519_dalek::SigningKey::generate(&mut OsRng))
    }

    fn from_dalek(inner: ed25519_dalek::SigningKey) -> Self {
        let id = KeyId::of(inner.verifying_key().as_bytes());
        Self {
            inner: Box::new(inner),
            id,
        }
    }

    /// Parse `whsk_<base64 of the 32-byte seed>`.
    ///
    /// # Errors
    ///
    /// [`KeyError`] for a missing prefix, invalid base64, a length other than
    /// 32 bytes, or a `whpk_` public key where a signing key is needed.
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        if text.starts_with(WHPK_PREFIX) {
            return Err(KeyError::WrongKind {
                expected: "an ed25519 signing key (whsk_)",
                found: "a public key (whpk_)",
            });
        }
        let seed = decode_32(text, WHSK_PREFIX)?;
        Ok(Self::from_dalek(ed25519_dalek::SigningKey::from_bytes(
            &seed,
        )))
    }

    /// Text form `whsk_<base64 seed>`.
    #[must_use]
    pub fn to_whsk(&self) -> SecretString {
        let seed = Zeroizing::new(self.inner.to_bytes());
        let mut text = String::with_capacity(WHSK_PREFIX.len() + 44);
        text.push_str(WHSK_PREFIX);
        STANDARD.encode_string(seed.as_slice(), &mut text);
        SecretString::from(text)
    }

    /// The matching public key.
    #[must_use]
    pub fn verifying_key(&self) -> VerifyingKey {
        VerifyingKey {
            inner: Box::new(self.inner.verifying_key()),
            id: self.id,
        }
    }

    /// Key id (of the public key).
    #[must_use]
    pub const fn key_id(&self) -> KeyId {
        self.id
    }

    pub(crate) fn sign(&self, content: &[u8]) -> [u8; 64] {
        use ed25519_dalek::Signer as _;
        self.inner.sign(content).to_bytes()
    }
}

impl VerifyingKey {
    /// Parse `whpk_<base64 of the 32-byte public key>`.
    ///
    /// # Errors
    ///
    /// [`KeyError`] for a missing prefix, invalid base64, a wrong length, or a
    /// point that is not a valid (non-weak) ed25519 public key.
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        let bytes = decode_32(text, WHPK_PREFIX)?;
        let inner = ed25519_dalek::VerifyingKey::from_bytes(&bytes)
            .map_err(|_| KeyError::InvalidPublicKey)?;
        if inner.is_weak() {
            return Err(KeyError::InvalidPublicKey);
        }
        Ok(Self {
            id: KeyId::of(inner.as_bytes()),
            inner: Box::new(inner),
        })
    }

    /// Text form `whpk_<base64>`.
    #[must_use]
    pub fn to_whpk(&self) -> String {
        let mut text = String::with_capacity(WHPK_PREFIX.len() + 44);
        text.push_str(WHPK_PREFIX);
        STANDARD.encode_string(self.inner.as_bytes(), &mut text);
        text
    }

    /// Key id.
    #[must_use]
    pub const fn key_id(&self) -> KeyId {
        self.id
    }

    /// Streaming verification of `signature` over content fed in parts,
    /// so the body is never copied.
    pub(crate) fn verify_parts(&self, signature: &[u8; 64], parts: &[&[u8]]) -> bool {
        let sig = ed25519_dalek::Signature::from_bytes(signature);
        let Ok(mut stream) = self.inner.verify_stream(&sig) else {
            return false;
        };
        for part in parts {
            stream.update(part);
        }
        stream.finalize_and_verify().is_ok()
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey(whsk_…redacted, key {})", self.id)
    }
}

impl fmt::Display for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VerifyingKey(key {})", self.id)
    }
}

impl fmt::Display for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}
