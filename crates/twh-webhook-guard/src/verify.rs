//! Signature verification on the raw body bytes.
//!
//! [`VerifyWebhookLayer::new`] takes a [`KeyResolver`], which maps a request
//! (its path, a header, an extension set by routing) to the
//! [`Verifier`](twh_sig::Verifier) that holds the scheme and the keys to
//! accept. The layer then
//!
//! 1. buffers the body, up to the [size limit](crate::limit) (`413` past it)
//!    and within the [body timeout](VerifyWebhookLayer::body_timeout) (`408`),
//! 2. verifies the exact bytes with twh-sig,
//! 3. passes the same bytes on, unchanged, with a [`VerifiedWebhook`] request
//!    extension naming the scheme, message id, timestamp and matching key id.
//!
//! A missing or malformed header answers `400`, a timestamp outside the
//! window `401` (`expired`), and every signature mismatch the same `401`
//! (`invalid-signature`) body, whatever key or byte was wrong. The precise
//! cause goes to the log and into the [`GuardError`](crate::GuardError)
//! response extension, never to the client.
//!
//! # Examples
//!
//! ```
//! use twh_webhook_guard::VerifyWebhookLayer;
//! use twh_webhook_guard::twh_sig::{Scheme, Verifier, WebhookSecret};
//!
//! let secret = WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", Scheme::Standard.key_encoding())?;
//! let layer = VerifyWebhookLayer::new(Verifier::new(Scheme::Standard, [secret])?);
//! # let _ = layer;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod layer;
mod resolver;
mod service;

pub use crate::boxed_future::ResponseFuture;
pub use layer::{DEFAULT_BODY_TIMEOUT, VerifyWebhookLayer};
pub use resolver::{KeyResolver, ResolveError, VerifiedWebhook};
pub use service::VerifyWebhook;
