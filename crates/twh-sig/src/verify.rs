//! Verification: [`Verifier`] and what it reports on success.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use http::HeaderMap;

use crate::clock::{Clock, SystemClock};
use crate::error::{ConfigError, KeyError, VerifyError};
use crate::key::VerifyKey;
use crate::scheme::{self, Scheme, Window};
use crate::secret::KeyId;

/// Default replay window: five minutes each way.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(5 * 60);

/// The longest tolerance [`Verifier::with_tolerance`] accepts: one day.
pub const MAX_TOLERANCE: Duration = Duration::from_secs(24 * 60 * 60);

/// Verifies webhooks of one scheme against a set of keys.
///
/// Accepts when any signature in the headers matches any key (rotation
/// overlap). For timestamped schemes the timestamp must lie within the
/// tolerance of the clock's "now" (default [`DEFAULT_TOLERANCE`], system
/// clock). Cheap to clone (`Arc` inside); `Debug` shows only key ids.
///
/// ```
/// use twh_sig::{FixedClock, Message, Scheme, Signer, Verifier, WebhookSecret};
/// let secret = WebhookSecret::generate();
/// let signer = Signer::new(Scheme::Standard, [secret.clone()])?;
/// let headers = signer.sign(&Message::new("msg_1", 1_700_000_000, b"hi"))?.into_header_map();
///
/// let verifier = Verifier::new(Scheme::Standard, [secret])?.with_clock(FixedClock::new(1_700_000_060));
/// let verified = verifier.verify(&headers, b"hi")?;
/// assert_eq!(verified.id.as_deref(), Some("msg_1"));
/// assert!(verifier.verify(&headers, b"hi!").is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Verifier {
    inner: Arc<VerifierInner>,
}

#[derive(Clone)]
struct VerifierInner {
    scheme: Scheme,
    keys: Vec<VerifyKey>,
    tolerance_secs: u64,
    clock: Arc<dyn Clock>,
}

/// What a successful verification established.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Verified {
    /// The scheme that verified.
    pub scheme: Scheme,
    /// Message id (`webhook-id`, `X-GitHub-Delivery`, `X-Shopify-Webhook-Id`), if the scheme has one and it was sent.
    /// Only Standard Webhooks signs it ([`Scheme::signs_message_id`]): for
    /// GitHub and Shopify it is unauthenticated, so never key replay
    /// protection or deduplication on it alone.
    pub id: Option<String>,
    /// Verified timestamp (unix seconds) for timestamped schemes.
    pub timestamp: Option<u64>,
    /// Which key matched.
    pub key_id: KeyId,
}

impl Verifier {
    /// A verifier for `scheme` accepting signatures by any of `keys`.
    ///
    /// # Errors
    ///
    /// [`KeyError::NoKeys`] without keys; [`KeyError::WrongKind`] when a key
    /// does not fit the scheme; [`KeyError::InvalidLength`] for a Standard
    /// Webhooks secret outside 24..=64 bytes.
    pub fn new<K: Into<VerifyKey>>(
        scheme: Scheme,
        keys: impl IntoIterator<Item = K>,
    ) -> Result<Self, KeyError> {
        let keys: Vec<VerifyKey> = keys.into_iter().map(Into::into).collect();
        if keys.is_empty() {
            return Err(KeyError::NoKeys);
        }
        for key in &keys {
            match (key, scheme.is_asymmetric()) {
                (VerifyKey::Hmac(secret), false) => {
                    if matches!(scheme, Scheme::Standard) {
                        secret.check_standard_length()?;
                    }
                }
                (VerifyKey::Ed25519(_), true) => {}
                (key, asymmetric) => {
                    return Err(KeyError::WrongKind {
                        expected: if asymmetric {
                            "an ed25519 public key (whpk_)"
                        } else {
                            "an HMAC secret"
                        },
                        found: key.kind_name(),
                    });
                }
            }
        }
        Ok(Self {
            inner: Arc::new(VerifierInner {
                scheme,
                keys,
                tolerance_secs: DEFAULT_TOLERANCE.as_secs(),
                clock: Arc::new(SystemClock),
            }),
        })
    }

    /// Set the replay window (symmetric: this far in the past or the future).
    ///
    /// # Errors
    ///
    /// [`ConfigError::ZeroTolerance`] for a tolerance under one second (there
    /// is no "zero means off" — see [`Self::verify_ignoring_timestamp`]),
    /// [`ConfigError::ToleranceTooLong`] over [`MAX_TOLERANCE`],
    /// [`ConfigError::FractionalTolerance`] for a fraction of a second.
    pub fn with_tolerance(mut self, tolerance: Duration) -> Result<Self, ConfigError> {
        if tolerance.as_secs() == 0 {
            return Err(ConfigError::ZeroTolerance);
        }
        if tolerance > MAX_TOLERANCE {
            return Err(ConfigError::ToleranceTooLong {
                secs: tolerance.as_secs(),
            });
        }
        if tolerance.subsec_nanos() != 0 {
            return Err(ConfigError::FractionalTolerance);
        }
        Arc::make_mut(&mut self.inner).tolerance_secs = tolerance.as_secs();
        Ok(self)
    }

    /// Use `clock` for "now" (tests, replays of recorded traffic).
    #[must_use]
    pub fn with_clock(mut self, clock: impl Clock + 'static) -> Self {
        Arc::make_mut(&mut self.inner).clock = Arc::new(clock);
        self
    }

    /// Verify `body` against `headers` at the clock's current time.
    ///
    /// # Errors
    ///
    /// [`VerifyError`]: a missing or malformed header, a timestamp outside
    /// the window (or in milliseconds), or no matching signature.
    pub fn verify(&self, headers: &HeaderMap, body: &[u8]) -> Result<Verified, VerifyError> {
        self.verify_at(headers, body, self.inner.clock.now_unix())
    }

    /// Verify as if "now" were `now_unix` (e.g. replaying recorded traffic).
    ///
    /// # Errors
    ///
    /// As [`Self::verify`].
    pub fn verify_at(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now_unix: u64,
    ) -> Result<Verified, VerifyError> {
        let window = Window::Check {
            now: now_unix,
            tolerance_secs: self.inner.tolerance_secs,
        };
        scheme::verify(self.inner.scheme, &self.inner.keys, headers, body, window)
    }

    /// Verify the signature **without the replay window**. For audit tooling
    /// over stored messages only — never for live traffic, where it would
    /// accept replays of any message ever sent. The timestamp is still parsed
    /// strictly and reported.
    ///
    /// # Errors
    ///
    /// As [`Self::verify`], except that no timestamp is too old or too new.
    pub fn verify_ignoring_timestamp(
        &self,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Verified, VerifyError> {
        scheme::verify(
            self.inner.scheme,
            &self.inner.keys,
            headers,
            body,
            Window::Ignore,
        )
    }

    /// The scheme this verifier checks.
    #[must_use]
    pub fn scheme(&self) -> Scheme {
        self.inner.scheme
    }

    /// The configured tolerance.
    #[must_use]
    pub fn tolerance(&self) -> Duration {
        Duration::from_secs(self.inner.tolerance_secs)
    }

    /// Ids of the configured keys, in order.
    pub fn key_ids(&self) -> impl Iterator<Item = KeyId> + '_ {
        self.inner.keys.iter().map(VerifyKey::key_id)
    }
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("scheme", &self.inner.scheme)
            .field("keys", &self.key_ids().collect::<Vec<_>>())
            .field("tolerance_secs", &self.inner.tolerance_secs)
            .field("clock", &self.inner.clock)
            .finish()
    }
}
