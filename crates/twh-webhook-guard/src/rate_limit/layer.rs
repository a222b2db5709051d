use std::sync::Arc;

use tower_layer::Layer;

use super::key::{ClientIp, KeyExtractor};
use super::service::RateLimit;
use super::{Quota, RateLimitStore};

/// Keyed rate limiting. See the [module docs](crate::rate_limit).
#[derive(Clone, Debug)]
pub struct RateLimitLayer<K = ClientIp> {
    pub(crate) store: Arc<dyn RateLimitStore>,
    pub(crate) quota: Quota,
    pub(crate) failure_quota: Option<Quota>,
    pub(crate) key: K,
}

impl RateLimitLayer {
    /// Limits each client IP ([`ClientIp::peer`]) to `quota`, with state in `store`.
    #[must_use]
    pub fn new(store: impl RateLimitStore, quota: Quota) -> Self {
        Self::from_shared(Arc::new(store), quota)
    }

    /// Like [`RateLimitLayer::new`], with a store shared with other layers.
    #[must_use]
    pub fn from_shared(store: Arc<dyn RateLimitStore>, quota: Quota) -> Self {
        Self {
            store,
            quota,
            failure_quota: None,
            key: ClientIp::peer(),
        }
    }
}

impl<K> RateLimitLayer<K> {
    /// Uses `key` to pick each request's bucket.
    #[must_use]
    pub fn key_extractor<K2: KeyExtractor>(self, key: K2) -> RateLimitLayer<K2> {
        RateLimitLayer {
            store: self.store,
            quota: self.quota,
            failure_quota: self.failure_quota,
            key,
        }
    }

    /// Also charges every unauthenticated rejection to a second, stricter
    /// quota, and answers `429` while it is exhausted (before verification).
    #[must_use]
    pub fn failure_quota(mut self, quota: Quota) -> Self {
        self.failure_quota = Some(quota);
        self
    }

    /// The quota per key.
    #[must_use]
    pub const fn quota(&self) -> Quota {
        self.quota
    }
}

impl<S, K: Clone> Layer<S> for RateLimitLayer<K> {
    type Service = RateLimit<S, K>;

    fn layer(&self, inner: S) -> Self::Service {
        RateLimit {
            inner,
            config: Arc::new(self.clone_config()),
        }
    }
}

impl<K: Clone> RateLimitLayer<K> {
    fn clone_config(&self) -> Self {
        self.clone()
    }
}
