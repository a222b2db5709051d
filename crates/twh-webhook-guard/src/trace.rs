//! One `tracing` span per request, with the outcome.
//!
//! The span is named `webhook` and carries `method`, `outcome`
//! (`accepted`, `rejected` or `error`), `reason` (the
//! [`RejectionKind`](crate::RejectionKind) name), `status`, `scheme`,
//! `message_id`, `key_id` (a non-reversible fingerprint) and `latency_us`.
//! The path is left out on purpose: some senders put tokens in URLs. No
//! field ever holds a secret, a signature or body bytes. Rejections are
//! logged inside the span with their precise, log-only cause; counters go
//! through the [`metrics`] facade (see the crate docs).
//!
//! # Examples
//!
//! ```
//! use twh_webhook_guard::WebhookTraceLayer;
//!
//! let layer = WebhookTraceLayer::new();
//! # let _ = layer;
//! ```

mod future;
mod layer;
mod service;

pub use future::ResponseFuture;
pub use layer::WebhookTraceLayer;
pub use service::WebhookTrace;
