//! Request size limit: `413 Payload Too Large` before any signature work.
//!
//! A request whose `Content-Length` exceeds the limit is answered at once,
//! without reading a byte of its body. Every other body (chunked, or with a
//! `Content-Length` the transport does not enforce) is wrapped in
//! [`http_body_util::Limited`], which fails the read as soon as more than the
//! limit has arrived; the [verification layer](crate::verify) turns that
//! failure into the same `413`. Axum's body extractors recognise the same
//! error, so the limit also holds for handlers behind this layer alone.
//!
//! The default limit is [`DEFAULT_BODY_LIMIT`] (1 MiB). For a different limit
//! on one route, give that route its own guard or `SizeLimitLayer`.
//!
//! # Examples
//!
//! ```
//! use twh_webhook_guard::SizeLimitLayer;
//!
//! let layer = SizeLimitLayer::new(64 * 1024);
//! assert_eq!(layer.limit(), 64 * 1024);
//! ```

mod future;
mod layer;
mod service;

pub use future::ResponseFuture;
pub use layer::{DEFAULT_BODY_LIMIT, SizeLimitLayer};
pub use service::SizeLimit;
