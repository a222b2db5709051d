//! Keyed rate limiting (GCRA), in memory or shared through Redis.
//!
//! Every request costs one cell of its key's [`Quota`]. A request over the
//! quota is answered `429 Too Many Requests` with `Retry-After` and the
//! `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset` and
//! `RateLimit-Policy` headers (IETF draft `ratelimit-headers`).
//!
//! **Failed authentication costs more.** With a
//! [failure quota](RateLimitLayer::failure_quota), each request the inner
//! layers reject as unauthenticated (missing, malformed, expired or wrong
//! signature) also costs one cell of a second, stricter quota; while that one
//! is exhausted the key gets `429` before its request reaches verification, so
//! guessing signatures is slowed down to the failure rate.
//!
//! The key comes from a [`KeyExtractor`]: by default [`ClientIp`] (the peer
//! address; IPv6 grouped by /64), or any closure
//! `Fn(&http::request::Parts) -> Option<String>`, e.g. keyed by the route
//! (one bucket per sender endpoint) or by a sender header.
//!
//! Stores: [`InMemoryRateLimitStore`] (one process; the concurrent keyed
//! state store of `governor`) and, with the `redis` feature,
//! [`RedisRateLimitStore`] (one atomic Lua script per check; every instance
//! behind a load balancer shares the same budget). A store failure is
//! answered `503` (fail closed).
//!
//! # Deployment caveat
//!
//! Behind a reverse proxy or load balancer every request arrives from the
//! proxy's address, so keying by peer address puts all clients in one bucket.
//! Use [`ClientIp::trusting_proxies`] with exactly the addresses of *your*
//! proxies: `X-Forwarded-For` is then read from the right, skipping trusted
//! hops, and the first untrusted address is the client. Never trust
//! `X-Forwarded-For` from an address that is not your proxy — any client can
//! send the header and pick its own key.
//!
//! # Examples
//!
//! ```
//! use std::num::NonZeroU32;
//! use twh_webhook_guard::{ClientIp, InMemoryRateLimitStore, Quota, RateLimitLayer};
//!
//! let per_second = Quota::per_second(NonZeroU32::new(50).unwrap_or(NonZeroU32::MIN));
//! let layer = RateLimitLayer::new(InMemoryRateLimitStore::new(), per_second)
//!     .key_extractor(ClientIp::trusting_proxies(["10.0.0.0/8"])?)
//!     .failure_quota(Quota::per_minute(NonZeroU32::MIN.saturating_add(9)));
//! # let _ = layer;
//! # Ok::<(), twh_webhook_guard::ConfigError>(())
//! ```

mod gcra;
mod key;
mod layer;
mod memory;
mod quota;
#[cfg(feature = "redis")]
mod redis;
mod service;

use async_trait::async_trait;

pub use crate::boxed_future::ResponseFuture;
pub use key::{ClientIp, KeyExtractor};
pub use layer::RateLimitLayer;
pub use memory::InMemoryRateLimitStore;
pub use quota::{Quota, RateLimitDecision};
#[cfg(feature = "redis")]
pub use redis::RedisRateLimitStore;
pub use service::RateLimit;

use crate::store::StoreError;

/// Where GCRA state lives. Implemented by [`InMemoryRateLimitStore`] and
/// [`RedisRateLimitStore`]; see the [module docs](self).
#[async_trait]
pub trait RateLimitStore: Send + Sync + std::fmt::Debug + 'static {
    /// Charges `cost` cells of `quota` to `key` and tells whether the request
    /// is allowed. A denied request changes nothing. `cost == 0` only asks
    /// whether one request would be allowed now.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the backend fails.
    async fn check(
        &self,
        key: &str,
        quota: Quota,
        cost: u32,
    ) -> Result<RateLimitDecision, StoreError>;
}
