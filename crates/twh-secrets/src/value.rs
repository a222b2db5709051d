//! Secret values: zeroized, redacted, never serialized.

use std::fmt;
use std::sync::Arc;

use secrecy::{ExposeSecret, SecretSlice};

use crate::SecretError;

/// The key material of one secret version.
///
/// Zeroized when the last clone is dropped (clones share one buffer, so a
/// clone is an atomic increment). `Debug` prints only the length. There is no
/// `Display` and no `Serialize`: read it with [`SecretValue::expose_secret`].
///
/// Webhook secrets are stored as the text issued to the partner (`whsec_…`,
/// a Stripe `whsec_…`, a GitHub secret string): turn one into a key with
/// `twh_sig::VerifyKey::parse(value.expose_str()?, scheme)`.
#[derive(Clone)]
pub struct SecretValue(Arc<SecretSlice<u8>>);

impl SecretValue {
    /// Wraps bytes (copied; zeroize your own buffer if it matters).
    #[must_use]
    pub fn from_bytes(bytes: &[u8]) -> Self {
        Self::from_vec(bytes.to_vec())
    }

    /// Takes ownership of a buffer without copying.
    #[must_use]
    pub fn from_vec(bytes: Vec<u8>) -> Self {
        Self(Arc::new(SecretSlice::from(bytes)))
    }

    /// Wraps text (its UTF-8 bytes).
    #[must_use]
    pub fn from_string(text: String) -> Self {
        Self::from_vec(text.into_bytes())
    }

    /// The raw bytes.
    #[must_use]
    pub fn expose_secret(&self) -> &[u8] {
        self.0.expose_secret()
    }

    /// The value as text.
    ///
    /// # Errors
    /// [`SecretError::InvalidInput`] if the bytes are not UTF-8 (the message
    /// does not include them).
    pub fn expose_str(&self) -> Result<&str, SecretError> {
        std::str::from_utf8(self.expose_secret())
            .map_err(|_| SecretError::invalid("secret value is not UTF-8 text"))
    }

    /// Length in bytes.
    #[must_use]
    pub fn len(&self) -> usize {
        self.expose_secret().len()
    }

    /// True for an empty value.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.expose_secret().is_empty()
    }

    /// Constant-time comparison of two values (`subtle`; only the lengths
    /// may leak through timing).
    #[must_use]
    pub fn ct_eq(&self, other: &Self) -> bool {
        subtle::ConstantTimeEq::ct_eq(self.expose_secret(), other.expose_secret()).into()
    }
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretValue([redacted], {} bytes)", self.len())
    }
}

impl From<String> for SecretValue {
    fn from(s: String) -> Self {
        Self::from_string(s)
    }
}

impl From<Vec<u8>> for SecretValue {
    fn from(v: Vec<u8>) -> Self {
        Self::from_vec(v)
    }
}

impl From<secrecy::SecretString> for SecretValue {
    fn from(s: secrecy::SecretString) -> Self {
        Self::from_bytes(s.expose_secret().as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let v = SecretValue::from_string("whsec_topsecret".to_owned());
        let d = format!("{v:?}");
        assert!(!d.contains("topsecret"), "{d}");
        assert!(d.contains("15 bytes"));
    }

    #[test]
    fn expose() {
        let v = SecretValue::from_bytes(b"abc");
        assert_eq!(v.expose_secret(), b"abc");
        assert_eq!(v.expose_str().unwrap(), "abc");
        let bad = SecretValue::from_bytes(&[0xff, 0xfe]);
        let err = bad.expose_str().unwrap_err();
        assert!(matches!(err, SecretError::InvalidInput { .. }));
        assert!(v.ct_eq(&SecretValue::from_bytes(b"abc")));
        assert!(!v.ct_eq(&SecretValue::from_bytes(b"abd")));
        assert!(!v.ct_eq(&SecretValue::from_bytes(b"ab")));
    }
}
