//! Replay protection: a verified message id is accepted once per window.
//!
//! The layer sits behind the [verification layer](crate::verify) and reads its
//! [`VerifiedWebhook`](crate::VerifiedWebhook) extension, so only
//! authenticated messages are remembered (an attacker cannot fill the store
//! with ids it made up). A message whose id was already accepted inside the
//! window is answered `409` (`replayed`), even though its signature is valid.
//!
//! **Window.** Verification already rejects timestamps more than the
//! tolerance (default 5 minutes) away from now, so an id only has to be
//! remembered until `timestamp + max(window, tolerance) + 1 s` (the verifier
//! accepts an age of exactly the tolerance); after that, a replay fails as
//! `expired`. The verifier's tolerance travels with the
//! [`VerifiedWebhook`](crate::VerifiedWebhook), so a verifier with a longer
//! tolerance than [`ReplayLayer::window`] cannot reopen replays. Schemes
//! without a timestamp (GitHub, Shopify) are remembered for `window` from the
//! moment they were accepted — a replay later than that cannot be detected by
//! any bounded store.
//!
//! **Identity.** Standard Webhooks messages are remembered by their signed
//! `webhook-id`; every other scheme by a digest of the signed timestamp and
//! body, because GitHub's and Shopify's id headers are not signed (see
//! [`VerifiedWebhook::replay_key`](crate::VerifiedWebhook::replay_key)).
//!
//! Stores: [`InMemoryReplayStore`] (one process, bounded; see [`FullPolicy`])
//! and, with the `redis` feature, [`RedisReplayStore`] (`SET key NX PX ttl`,
//! one round trip; every instance behind a load balancer sees what the
//! others accepted). A store failure is answered `503` (fail closed).
//!
//! A message is only remembered for good once the handler succeeded: when the
//! handler answers `5xx` (or fails), the id is released again, so the sender's
//! retry is processed. A sender that retries a message the receiver already
//! accepted (because the first `2xx` got lost) sees `409 replayed`; treat that
//! answer as delivered.
//!
//! # Examples
//!
//! ```
//! use std::time::Duration;
//! use twh_webhook_guard::{FullPolicy, InMemoryReplayStore, ReplayLayer};
//!
//! let store = InMemoryReplayStore::new(100_000).full_policy(FullPolicy::Reject);
//! let layer = ReplayLayer::new(store).window(Duration::from_secs(600))?;
//! # let _ = layer;
//! # Ok::<(), twh_webhook_guard::ConfigError>(())
//! ```

mod layer;
mod memory;
#[cfg(feature = "redis")]
mod redis;
mod service;

use std::time::SystemTime;

use async_trait::async_trait;

pub use crate::boxed_future::ResponseFuture;
pub use layer::ReplayLayer;
pub use memory::{FullPolicy, InMemoryReplayStore};
#[cfg(feature = "redis")]
pub use redis::RedisReplayStore;
pub use service::Replay;

use crate::store::StoreError;

/// Whether a message id was new.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Freshness {
    /// Not seen inside its window; it is now recorded.
    Fresh,
    /// Already recorded and not yet expired.
    Seen,
}

/// Remembers message ids until they expire. See the [module docs](self).
#[async_trait]
pub trait ReplayStore: Send + Sync + std::fmt::Debug + 'static {
    /// Records `id` until `expires_at` and reports whether it was new, in one
    /// atomic step (two concurrent calls with the same id: exactly one is
    /// [`Freshness::Fresh`]).
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the backend fails or cannot record the id.
    async fn check_and_insert(
        &self,
        id: &str,
        expires_at: SystemTime,
    ) -> Result<Freshness, StoreError>;

    /// Forgets `id`, so the next message with it is [`Freshness::Fresh`]
    /// again. The layer calls this when the handler failed (`5xx` or a
    /// service error): the sender's retry of that message must be processed,
    /// not rejected as a replay.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the backend fails.
    async fn release(&self, id: &str) -> Result<(), StoreError>;
}
