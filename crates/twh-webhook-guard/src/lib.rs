#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod body;
mod boxed_future;
mod error;
mod guard;
pub mod headers;
pub mod limit;
mod observe;
pub mod rate_limit;
pub mod replay;
#[cfg(feature = "secrets")]
#[cfg_attr(docsrs, doc(cfg(feature = "secrets")))]
pub mod secrets;
mod store;
pub mod trace;
pub mod verify;

pub use body::GuardBody;
pub use error::{ConfigError, GuardError, MAX_REPLAY_WINDOW, PROBLEM_JSON, RejectionKind};
pub use guard::{
    DEFAULT_FAILURE_QUOTA, DEFAULT_QUOTA, DEFAULT_REPLAY_CAPACITY, Guarded, NoResolver,
    WebhookGuard, WebhookGuardBuilder,
};
pub use headers::{Hsts, SecureHeaders, SecureHeadersLayer};
pub use limit::{DEFAULT_BODY_LIMIT, SizeLimit, SizeLimitLayer};
#[cfg(feature = "redis")]
pub use rate_limit::RedisRateLimitStore;
pub use rate_limit::{
    ClientIp, InMemoryRateLimitStore, KeyExtractor, Quota, RateLimit, RateLimitDecision,
    RateLimitLayer, RateLimitStore,
};
#[cfg(feature = "redis")]
pub use replay::RedisReplayStore;
pub use replay::{Freshness, FullPolicy, InMemoryReplayStore, Replay, ReplayLayer, ReplayStore};
#[cfg(feature = "secrets")]
pub use secrets::SecretsKeyResolver;
pub use store::StoreError;
pub use trace::{WebhookTrace, WebhookTraceLayer};
pub use verify::{KeyResolver, ResolveError, VerifiedWebhook, VerifyWebhook, VerifyWebhookLayer};

pub use http;
pub use tower_layer;
pub use twh_sig;

/// `get_ref` / `get_mut` / `into_inner` for a service with an `inner` field.
macro_rules! inner_accessors {
    ($name:ident $(, $param:ident)*) => {
        impl<S $(, $param)*> $name<S $(, $param)*> {
            /// The inner service.
            pub const fn get_ref(&self) -> &S {
                &self.inner
            }

            /// The inner service, mutably.
            pub const fn get_mut(&mut self) -> &mut S {
                &mut self.inner
            }

            /// Consumes `self`, returning the inner service.
            pub fn into_inner(self) -> S {
                self.inner
            }
        }
    };
}
pub(crate) use inner_accessors;
