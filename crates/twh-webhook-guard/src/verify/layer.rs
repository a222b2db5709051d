use std::time::Duration;

use tower_layer::Layer;

use super::resolver::KeyResolver;
use super::service::VerifyWebhook;
use crate::error::{ConfigError, positive};
use crate::limit::DEFAULT_BODY_LIMIT;

/// Default time allowed to receive the whole body: 30 seconds.
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(30);

/// Verifies webhook signatures. See the [module docs](crate::verify).
#[derive(Clone, Debug)]
pub struct VerifyWebhookLayer<R> {
    pub(crate) resolver: R,
    pub(crate) limit: usize,
    pub(crate) body_timeout: Duration,
}

impl<R: KeyResolver> VerifyWebhookLayer<R> {
    /// Verifies every request with the verifier `resolver` returns; bodies up
    /// to [`DEFAULT_BODY_LIMIT`], received within [`DEFAULT_BODY_TIMEOUT`].
    #[must_use]
    pub const fn new(resolver: R) -> Self {
        Self {
            resolver,
            limit: DEFAULT_BODY_LIMIT,
            body_timeout: DEFAULT_BODY_TIMEOUT,
        }
    }

    /// The most body bytes buffered; more answers `413`.
    #[must_use]
    pub const fn body_limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }

    /// The time allowed from the first poll of the body to its last byte; a
    /// slower sender gets `408`. Needs a Tokio runtime with timers.
    ///
    /// # Errors
    ///
    /// [`ConfigError::ZeroDuration`] for a zero timeout.
    pub fn body_timeout(mut self, timeout: Duration) -> Result<Self, ConfigError> {
        self.body_timeout = positive(timeout, "body timeout")?;
        Ok(self)
    }
}

impl<S, R: Clone> Layer<S> for VerifyWebhookLayer<R> {
    type Service = VerifyWebhook<S, R>;

    fn layer(&self, inner: S) -> Self::Service {
        VerifyWebhook {
            inner,
            resolver: self.resolver.clone(),
            limit: self.limit,
            body_timeout: self.body_timeout,
        }
    }
}
