//! Symmetric HMAC secrets, their textual encodings, and short key ids.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rand_core::{OsRng, RngCore as _};
use secrecy::{ExposeSecret as _, SecretSlice, SecretString};
use sha2::{Digest as _, Sha256};

use crate::error::KeyError;
use crate::scheme::HmacKey;

/// Prefix of a Standard Webhooks secret.
pub(crate) const WHSEC_PREFIX: &str = "whsec_";
/// Smallest Standard Webhooks key, in bytes.
pub(crate) const STANDARD_MIN_KEY: usize = 24;
/// Largest Standard Webhooks key, in bytes.
pub(crate) const STANDARD_MAX_KEY: usize = 64;

/// A short, non-reversible key id: the first 4 bytes of SHA-256 over the key
/// bytes (for ed25519: over the public key), shown as 8 lowercase hex chars.
///
/// Lets logs and CLI output say *which* key matched without revealing it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub struct KeyId([u8; 4]);

impl KeyId {
    /// Key id of arbitrary key bytes.
    pub(crate) fn of(bytes: &[u8]) -> Self {
        let digest = Sha256::digest(bytes);
        let mut id = [0_u8; 4];
        id.copy_from_slice(&digest[..4]);
        Self(id)
    }

    /// The four id bytes.
    #[must_use]
    pub const fn to_bytes(self) -> [u8; 4] {
        self.0
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({self})")
    }
}

/// How a textual secret becomes key bytes — a typed choice, never a guess.
///
/// The same text `whsec_…` means *base64-decoded bytes* to Standard Webhooks
/// but *the whole string's bytes* to Stripe. [`crate::Scheme::key_encoding`]
/// gives the right one per scheme.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyEncoding {
    /// `whsec_` followed by standard base64; the decoded bytes are the key
    /// (24 to 64 bytes). Used by Standard Webhooks.
    Whsec,
    /// The exact bytes of the text, whatever they are (non-empty). Used by
    /// Stripe, GitHub, Shopify and Slack, which take the secret as issued.
    Raw,
}

/// A symmetric HMAC key.
///
/// Zeroized on drop, cheap to clone, never serialized. `Debug` and `Display`
/// are redacted: `WebhookSecret(whsec_…redacted, 32 bytes, key 1a2b3c4d)`.
///
/// ```
/// use twh_sig::{KeyEncoding, WebhookSecret};
/// let secret = WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", KeyEncoding::Whsec)?;
/// assert_eq!(secret.len(), 24);
/// assert!(!format!("{secret:?}").contains("MfKQ9r8G"));
/// # Ok::<(), twh_sig::KeyError>(())
/// ```
#[derive(Clone)]
pub struct WebhookSecret {
    key: SecretSlice<u8>,
    id: KeyId,
    /// The key's HMAC state with both pad blocks absorbed (key-equivalent).
    mac: HmacKey,
}

impl WebhookSecret {
    /// A fresh 32-byte secret from the operating system's CSPRNG.
    ///
    /// # Panics
    ///
    /// Panics if the operating system cannot provide randomness, which leaves
    /// no safe way to continue.
    #[must_use]
    pub fn generate() -> Self {
        let mut bytes = vec![0_u8; 32];
        OsRng.fill_bytes(&mut bytes);
        Self::from_vec(bytes)
    }

    /// Parse a secret from its textual form.
    ///
    /// Lints the text first: empty, surrounding whitespace, or a pasted
    /// signature (`v1,…`) are refused with a clear error.
    ///
    /// # Errors
    ///
    /// [`KeyError`] describing what is wrong: missing `whsec_` prefix, invalid
    /// base64, a decoded length outside 24..=64 bytes for
    /// [`KeyEncoding::Whsec`], or one of the lints above.
    pub fn parse(text: &str, encoding: KeyEncoding) -> Result<Self, KeyError> {
        lint_text(text)?;
        match encoding {
            KeyEncoding::Raw => Self::from_bytes(text.as_bytes()),
            KeyEncoding::Whsec => {
                if text.starts_with(crate::ed25519::WHSK_PREFIX)
                    || text.starts_with(crate::ed25519::WHPK_PREFIX)
                {
                    return Err(KeyError::WrongKind {
                        expected: "an HMAC secret (whsec_)",
                        found: "an ed25519 key",
                    });
                }
                let encoded = text
                    .strip_prefix(WHSEC_PREFIX)
                    .ok_or(KeyError::MissingPrefix {
                        expected: WHSEC_PREFIX,
                    })?;
                let decoded = STANDARD
                    .decode(encoded)
                    .map_err(|_| KeyError::InvalidBase64 {
                        prefix: WHSEC_PREFIX,
                    })?;
                // Wrap first so the decoded bytes are zeroized on every path.
                let secret = Self::from_vec(decoded);
                secret.check_standard_length()?;
                Ok(secret)
            }
        }
    }

    /// A secret from raw key bytes (copied).
    ///
    /// # Errors
    ///
    /// [`KeyError::Empty`] if `bytes` is empty.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        if bytes.is_empty() {
            return Err(KeyError::Empty);
        }
        Ok(Self::from_vec(bytes.to_vec()))
    }

    fn from_vec(bytes: Vec<u8>) -> Self {
        let id = KeyId::of(&bytes);
        let mac = HmacKey::new(&bytes);
        Self {
            key: SecretSlice::from(bytes),
            id,
            mac,
        }
    }

    /// The key bytes. Handle with care: never log them.
    #[must_use]
    pub fn expose_secret(&self) -> &[u8] {
        self.key.expose_secret()
    }

    /// The Standard Webhooks text form, `whsec_<base64>`.
    #[must_use]
    pub fn to_whsec(&self) -> SecretString {
        let mut text = String::with_capacity(WHSEC_PREFIX.len() + self.len().div_ceil(3) * 4);
        text.push_str(WHSEC_PREFIX);
        STANDARD.encode_string(self.expose_secret(), &mut text);
        SecretString::from(text)
    }

    /// The key bytes as lowercase hex (for tools that take hex secrets).
    #[must_use]
    pub fn to_hex(&self) -> SecretString {
        SecretString::from(hex::encode(self.expose_secret()))
    }

    /// The key bytes as standard padded base64, without the `whsec_` prefix.
    #[must_use]
    pub fn to_base64(&self) -> SecretString {
        SecretString::from(STANDARD.encode(self.expose_secret()))
    }

    /// The short, non-reversible id of this key (first 4 bytes of its
    /// SHA-256), for logs. For random keys (`generate`, `whsec_` secrets)
    /// it reveals nothing; for a short secret a person chose (GitHub and
    /// Slack let users type one), a logged id lets whoever reads the log test
    /// guesses offline, so such secrets should be long and random.
    #[must_use]
    pub const fn key_id(&self) -> KeyId {
        self.id
    }

    /// Key length in bytes (never zero).
    #[must_use]
    pub fn len(&self) -> usize {
        self.expose_secret().len()
    }

    /// Always `false`: a secret is never empty. Present for API symmetry with `len`.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.expose_secret().is_empty()
    }

    /// HMAC-SHA256 of the concatenation of `parts` under this key.
    pub(crate) fn mac(&self, parts: &[&[u8]]) -> [u8; 32] {
        self.mac.mac(parts)
    }

    /// Refuse keys outside Standard Webhooks' 24..=64 bytes.
    pub(crate) fn check_standard_length(&self) -> Result<(), KeyError> {
        let len = self.len();
        if (STANDARD_MIN_KEY..=STANDARD_MAX_KEY).contains(&len) {
            Ok(())
        } else {
            Err(KeyError::InvalidLength {
                what: "Standard Webhooks",
                actual: len,
                min: STANDARD_MIN_KEY,
                max: STANDARD_MAX_KEY,
            })
        }
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "WebhookSecret(whsec_…redacted, {} bytes, key {})",
            self.len(),
            self.id
        )
    }
}

impl fmt::Display for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// Lints shared by every textual key form.
pub(crate) fn lint_text(text: &str) -> Result<(), KeyError> {
    if text.is_empty() {
        return Err(KeyError::Empty);
    }
    if text.trim() != text {
        return Err(KeyError::SurroundingWhitespace);
    }
    for prefix in ["v1,", "v1a,", "v1=", "v0=", "sha256="] {
        if text.starts_with(prefix) {
            return Err(KeyError::LooksLikeSignature { prefix });
        }
    }
    Ok(())
}
