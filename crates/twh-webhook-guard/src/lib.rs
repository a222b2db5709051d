#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod body;
mod error;
pub mod headers;
pub mod limit;
mod observe;
pub mod rate_limit;
mod store;

pub use body::GuardBody;
pub use error::{ConfigError, GuardError, PROBLEM_JSON, RejectionKind};
pub use headers::{Hsts, SecureHeaders, SecureHeadersLayer};
pub use limit::{DEFAULT_BODY_LIMIT, SizeLimit, SizeLimitLayer};
pub use rate_limit::{
    ClientIp, InMemoryRateLimitStore, KeyExtractor, Quota, RateLimit, RateLimitDecision,
    RateLimitLayer, RateLimitStore,
};
#[cfg(feature = "redis")]
pub use rate_limit::RedisRateLimitStore;
pub use store::StoreError;

pub use http;
pub use tower_layer;

/// `get_ref` / `get_mut` / `into_inner` for a service with an `inner` field.
macro_rules! inner_accessors {
    ($name:ident) => {
        impl<S> $name<S> {
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
