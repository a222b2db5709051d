//! [`WebhookGuard`]: every layer, in the right order, with safe defaults.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use tower_layer::Layer;

use crate::error::{ConfigError, positive, replay_window};
use crate::headers::{SecureHeaders, SecureHeadersLayer};
use crate::limit::{DEFAULT_BODY_LIMIT, SizeLimit, SizeLimitLayer};
use crate::rate_limit::{
    ClientIp, InMemoryRateLimitStore, KeyExtractor, Quota, RateLimit, RateLimitLayer,
    RateLimitStore,
};
use crate::replay::{InMemoryReplayStore, Replay, ReplayLayer, ReplayStore};
use crate::trace::{WebhookTrace, WebhookTraceLayer};
use crate::verify::{DEFAULT_BODY_TIMEOUT, KeyResolver, VerifyWebhook, VerifyWebhookLayer};

/// Default per-client quota: 100 requests per second, bursts of 100.
pub const DEFAULT_QUOTA: Quota = Quota::per_second(nz(100));
/// Default failure quota: 10 failed verifications per minute per client.
pub const DEFAULT_FAILURE_QUOTA: Quota = Quota::per_minute(nz(10));
const fn nz(n: u32) -> NonZeroU32 {
    match NonZeroU32::new(n) {
        Some(n) => n,
        None => NonZeroU32::MIN,
    }
}

/// Default capacity of the in-memory replay store: 100 000 message ids.
pub const DEFAULT_REPLAY_CAPACITY: usize = 100_000;

/// The service [`WebhookGuard`] wraps around `S`: secure headers → trace span
/// → rate limit → size limit → verification → replay → `S`.
pub type Guarded<S, R, K = ClientIp> =
    SecureHeaders<WebhookTrace<RateLimit<SizeLimit<VerifyWebhook<Replay<S>, R>>, K>>>;

/// Every guard layer in one, in the only sensible order: secure headers
/// (outermost, so rejections get them too), a tracing span, rate limit, size
/// limit, signature verification, replay protection, then your handler.
///
/// The handler receives `Request<http_body_util::Full<Bytes>>` holding the
/// exact bytes that were verified, and a
/// [`VerifiedWebhook`](crate::VerifiedWebhook) extension.
///
/// # Examples
///
/// ```
/// use twh_webhook_guard::WebhookGuard;
/// use twh_webhook_guard::twh_sig::{Scheme, Verifier, WebhookSecret};
///
/// let verifier = Verifier::new(Scheme::Standard, [WebhookSecret::generate()])?;
/// let guard = WebhookGuard::builder().key_resolver(verifier).build();
/// # let _ = guard;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct WebhookGuard<R, K = ClientIp> {
    headers: SecureHeadersLayer,
    rate_limit: RateLimitLayer<K>,
    size_limit: SizeLimitLayer,
    verify: VerifyWebhookLayer<R>,
    replay: ReplayLayer,
}

/// Marker for a [`WebhookGuardBuilder`] that has no key resolver yet.
#[derive(Clone, Copy, Debug, Default)]
#[non_exhaustive]
pub struct NoResolver;

impl WebhookGuard<NoResolver> {
    /// A builder with safe defaults: 1 MiB bodies received within 30 s,
    /// [`DEFAULT_QUOTA`] per client IP, [`DEFAULT_FAILURE_QUOTA`] for failed
    /// verifications, an in-memory replay store of
    /// [`DEFAULT_REPLAY_CAPACITY`] ids (refusing when full) with a
    /// five-minute window, in-memory rate-limit state, and
    /// [`SecureHeadersLayer::overriding`]. Only the key resolver is required.
    #[must_use]
    pub fn builder() -> WebhookGuardBuilder<NoResolver> {
        WebhookGuardBuilder {
            resolver: NoResolver,
            key: ClientIp::peer(),
            headers: SecureHeadersLayer::overriding(),
            rate_store: Arc::new(InMemoryRateLimitStore::new()),
            quota: DEFAULT_QUOTA,
            failure_quota: DEFAULT_FAILURE_QUOTA,
            body_limit: DEFAULT_BODY_LIMIT,
            body_timeout: DEFAULT_BODY_TIMEOUT,
            replay_store: Arc::new(InMemoryReplayStore::new(DEFAULT_REPLAY_CAPACITY)),
            replay_window: twh_sig::DEFAULT_TOLERANCE,
        }
    }
}

/// Builds a [`WebhookGuard`]; see [`WebhookGuard::builder`].
#[derive(Clone, Debug)]
pub struct WebhookGuardBuilder<R, K = ClientIp> {
    resolver: R,
    key: K,
    headers: SecureHeadersLayer,
    rate_store: Arc<dyn RateLimitStore>,
    quota: Quota,
    failure_quota: Quota,
    body_limit: usize,
    body_timeout: Duration,
    replay_store: Arc<dyn ReplayStore>,
    replay_window: Duration,
}

impl<R, K> WebhookGuardBuilder<R, K> {
    /// Where the keys come from (required): a
    /// [`Verifier`](twh_sig::Verifier), a closure, or a
    /// [`KeyResolver`] of your own.
    #[must_use]
    pub fn key_resolver<R2: KeyResolver>(self, resolver: R2) -> WebhookGuardBuilder<R2, K> {
        WebhookGuardBuilder {
            resolver,
            key: self.key,
            headers: self.headers,
            rate_store: self.rate_store,
            quota: self.quota,
            failure_quota: self.failure_quota,
            body_limit: self.body_limit,
            body_timeout: self.body_timeout,
            replay_store: self.replay_store,
            replay_window: self.replay_window,
        }
    }

    /// How requests are grouped for rate limiting (default: client IP).
    #[must_use]
    pub fn rate_limit_key<K2: KeyExtractor>(self, key: K2) -> WebhookGuardBuilder<R, K2> {
        WebhookGuardBuilder {
            resolver: self.resolver,
            key,
            headers: self.headers,
            rate_store: self.rate_store,
            quota: self.quota,
            failure_quota: self.failure_quota,
            body_limit: self.body_limit,
            body_timeout: self.body_timeout,
            replay_store: self.replay_store,
            replay_window: self.replay_window,
        }
    }

    /// The quota per key.
    #[must_use]
    pub const fn rate_limit(mut self, quota: Quota) -> Self {
        self.quota = quota;
        self
    }

    /// The stricter quota charged for each failed verification.
    #[must_use]
    pub const fn failure_quota(mut self, quota: Quota) -> Self {
        self.failure_quota = quota;
        self
    }

    /// Where rate-limit state lives (e.g. a
    /// `RedisRateLimitStore` shared by all instances).
    #[must_use]
    pub fn rate_limit_store(mut self, store: impl RateLimitStore) -> Self {
        self.rate_store = Arc::new(store);
        self
    }

    /// Where seen message ids live (e.g. a `RedisReplayStore`).
    #[must_use]
    pub fn replay_store(mut self, store: impl ReplayStore) -> Self {
        self.replay_store = Arc::new(store);
        self
    }

    /// How long past its timestamp a message id is remembered (default five
    /// minutes); the verifier's tolerance is used instead when it is longer.
    ///
    /// # Errors
    ///
    /// [`ConfigError::ZeroDuration`] for a zero window,
    /// [`ConfigError::DurationTooLong`] over
    /// [`MAX_REPLAY_WINDOW`](crate::MAX_REPLAY_WINDOW).
    pub fn replay_window(mut self, window: Duration) -> Result<Self, ConfigError> {
        self.replay_window = replay_window(window)?;
        Ok(self)
    }

    /// The largest body accepted, in bytes (a body of exactly this size passes).
    #[must_use]
    pub const fn body_limit(mut self, limit: usize) -> Self {
        self.body_limit = limit;
        self
    }

    /// The time allowed to receive the whole body.
    ///
    /// # Errors
    ///
    /// [`ConfigError::ZeroDuration`] for a zero timeout.
    pub fn body_timeout(mut self, timeout: Duration) -> Result<Self, ConfigError> {
        self.body_timeout = positive(timeout, "body timeout")?;
        Ok(self)
    }

    /// The security headers (default [`SecureHeadersLayer::overriding`]).
    #[must_use]
    pub fn secure_headers(mut self, headers: SecureHeadersLayer) -> Self {
        self.headers = headers;
        self
    }
}

impl<R: KeyResolver, K: KeyExtractor> WebhookGuardBuilder<R, K> {
    /// The guard layer.
    #[must_use]
    pub fn build(self) -> WebhookGuard<R, K> {
        let verify = VerifyWebhookLayer::new(self.resolver).body_limit(self.body_limit);
        let verify = verify
            .clone()
            .body_timeout(self.body_timeout)
            .unwrap_or(verify);
        let replay = ReplayLayer::from_shared(self.replay_store);
        let replay = replay.clone().window(self.replay_window).unwrap_or(replay);
        WebhookGuard {
            headers: self.headers,
            rate_limit: RateLimitLayer::from_shared(self.rate_store, self.quota)
                .key_extractor(self.key)
                .failure_quota(self.failure_quota),
            size_limit: SizeLimitLayer::new(self.body_limit),
            verify,
            replay,
        }
    }
}

impl<S, R: Clone, K: Clone> Layer<S> for WebhookGuard<R, K> {
    type Service = Guarded<S, R, K>;

    fn layer(&self, inner: S) -> Self::Service {
        let s = self.replay.layer(inner);
        let s = self.verify.layer(s);
        let s = self.size_limit.layer(s);
        let s = self.rate_limit.layer(s);
        let s = WebhookTraceLayer::new().layer(s);
        self.headers.layer(s)
    }
}
