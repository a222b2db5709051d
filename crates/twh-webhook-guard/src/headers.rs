//! Secure response headers on every response, rejections and handler errors
//! included.
//!
//! The defaults suit a machine-to-machine webhook endpoint that never serves a
//! page to a browser:
//!
//! | header | default value |
//! |---|---|
//! | `Strict-Transport-Security` | `max-age=31536000; includeSubDomains` ([`Hsts`]) |
//! | `Content-Security-Policy` | `default-src 'none'; frame-ancestors 'none'` |
//! | `X-Content-Type-Options` | `nosniff` |
//! | `X-Frame-Options` | `DENY` |
//! | `Referrer-Policy` | `no-referrer` |
//! | `Cache-Control` | `no-store` |
//! | `Cross-Origin-Resource-Policy` | `same-origin` |
//!
//! Every value can be replaced with [`SecureHeadersLayer::header`] or left out
//! with [`SecureHeadersLayer::without`]. [`SecureHeadersLayer::overriding`]
//! replaces whatever the handler set; [`SecureHeadersLayer::if_not_present`]
//! keeps a header the handler set itself.
//!
//! All headers are set in one pass from a list built once, instead of nesting
//! seven `tower_http::set_header::SetResponseHeaderLayer`s: the result is the
//! same, with one future and one type instead of seven. For a single extra
//! header, add tower-http's `SetResponseHeaderLayer` yourself.
//!
//! # Examples
//!
//! ```
//! use std::time::Duration;
//! use twh_webhook_guard::{Hsts, SecureHeadersLayer};
//!
//! let layer = SecureHeadersLayer::overriding()
//!     .hsts(Hsts::new(Duration::from_secs(63_072_000)).preload(true))
//!     .header(http::header::REFERRER_POLICY, "same-origin")?;
//! # let _ = layer;
//! # Ok::<(), twh_webhook_guard::ConfigError>(())
//! ```

mod future;
mod layer;
mod service;

pub use future::ResponseFuture;
pub use layer::{Hsts, SecureHeadersLayer};
pub use service::SecureHeaders;
