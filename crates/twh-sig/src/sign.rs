//! Signing: [`Signer`] and the headers it produces.

use std::fmt;
use std::sync::Arc;

use http::{HeaderMap, HeaderName, HeaderValue};

use crate::error::{KeyError, SignError};
use crate::key::SignKey;
use crate::message::Message;
use crate::scheme::{self, Scheme};

/// Signs messages for one scheme with one or more keys.
///
/// With several keys (Standard Webhooks, Stripe) every key adds its own
/// signature — that is how key rotation overlaps. Cheap to clone (`Arc`
/// inside); `Debug` shows only the scheme and key ids.
///
/// ```
/// use twh_sig::{Message, Scheme, Signer, WebhookSecret};
/// let secret = WebhookSecret::generate();
/// let signer = Signer::new(Scheme::Standard, [secret])?;
/// let headers = signer.sign(&Message::new("msg_1", 1_700_000_000, b"{}"))?;
/// assert!(headers.to_string().contains("webhook-signature: v1,"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Signer {
    inner: Arc<SignerInner>,
}

struct SignerInner {
    scheme: Scheme,
    keys: Vec<SignKey>,
}

impl Signer {
    /// A signer for `scheme` with the given keys.
    ///
    /// # Errors
    ///
    /// [`KeyError::NoKeys`] without keys; [`KeyError::WrongKind`] when a key
    /// does not fit the scheme (ed25519 for `standard-v1a`, HMAC otherwise);
    /// [`KeyError::InvalidLength`] for a Standard Webhooks secret outside
    /// 24..=64 bytes; [`KeyError::TooManyKeys`] for more keys than the scheme
    /// carries signatures.
    pub fn new<K: Into<SignKey>>(
        scheme: Scheme,
        keys: impl IntoIterator<Item = K>,
    ) -> Result<Self, KeyError> {
        let keys: Vec<SignKey> = keys.into_iter().map(Into::into).collect();
        if keys.is_empty() {
            return Err(KeyError::NoKeys);
        }
        if keys.len() > scheme.max_signing_keys() {
            return Err(KeyError::TooManyKeys {
                scheme,
                count: keys.len(),
                max: scheme.max_signing_keys(),
            });
        }
        for key in &keys {
            match (key, scheme.is_asymmetric()) {
                (SignKey::Hmac(secret), false) => {
                    if matches!(scheme, Scheme::Standard) {
                        secret.check_standard_length()?;
                    }
                }
                (SignKey::Ed25519(_), true) => {}
                (key, asymmetric) => {
                    return Err(KeyError::WrongKind {
                        expected: if asymmetric {
                            "an ed25519 signing key (whsk_)"
                        } else {
                            "an HMAC secret"
                        },
                        found: key.kind_name(),
                    });
                }
            }
        }
        Ok(Self {
            inner: Arc::new(SignerInner { scheme, keys }),
        })
    }

    /// Sign `msg`: one signature per key, in the scheme's headers.
    ///
    /// # Errors
    ///
    /// [`SignError::InvalidId`] for an id that would make the signed content
    /// ambiguous (empty, containing `.`, whitespace, control or non-ASCII
    /// characters, longer than 256 bytes); [`SignError::TimestampOutOfRange`]
    /// for a timestamp over ten digits; [`SignError::HeaderTooLong`] if the
    /// signature header would exceed 8 KiB.
    pub fn sign(&self, msg: &Message<'_>) -> Result<SignedHeaders, SignError> {
        scheme::sign(self.inner.scheme, &self.inner.keys, msg).map(|map| SignedHeaders { map })
    }

    /// The scheme this signer produces.
    #[must_use]
    pub fn scheme(&self) -> Scheme {
        self.inner.scheme
    }
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer")
            .field("scheme", &self.inner.scheme)
            .field(
                "keys",
                &self
                    .inner
                    .keys
                    .iter()
                    .map(SignKey::key_id)
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// Header name/value pairs to send with a signed message.
///
/// `Display` writes one `name: value` per line (names in lowercase, as HTTP/2
/// carries them; HTTP header names are case-insensitive).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedHeaders {
    map: HeaderMap,
}

impl SignedHeaders {
    /// The headers, in the scheme's order.
    pub fn iter(&self) -> impl Iterator<Item = (&HeaderName, &HeaderValue)> {
        self.map.iter()
    }

    /// Insert (replacing) every header into `headers`.
    pub fn apply_to(&self, headers: &mut HeaderMap) {
        for (name, value) in &self.map {
            headers.insert(name.clone(), value.clone());
        }
    }

    /// The headers as an [`http::HeaderMap`].
    #[must_use]
    pub fn into_header_map(self) -> HeaderMap {
        self.map
    }

    /// The value of one header, by (case-insensitive) name.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&HeaderValue> {
        self.map.get(name)
    }
}

impl fmt::Display for SignedHeaders {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (name, value) in &self.map {
            // Values are built from ASCII by this crate.
            writeln!(f, "{}: {}", name, value.to_str().unwrap_or_default())?;
        }
        Ok(())
    }
}
