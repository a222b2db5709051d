//! # twh — webhook signing, secret management and webhook security
//!
//! The facade of the twh workspace. Each member crate is re-exported as a
//! module behind a feature of the same name:
//!
//! | feature    | module       | crate               |
//! |------------|--------------|---------------------|
//! | `sig` | [`sig`] | `twh-sig`           |
//! | `secrets`  | `secrets`    | `twh-secrets`       |
//! | `guard` (`guard-redis` adds the Redis stores, `guard-secrets` the store-backed key resolver) | `guard` | `twh-webhook-guard` |
//! | `delivery` | `delivery`   | `twh-delivery`      |
//! | `full`     | all of the above |                 |
//!
//! The default features are everything the Hub uses except `guard-redis`.
//! A partner who only verifies the Hub's signatures depends on
//! `twh = { version = "0.1", default-features = false, features = ["sig"] }`.
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod guide;

#[cfg(feature = "sig")]
#[cfg_attr(docsrs, doc(cfg(feature = "sig")))]
pub use twh_sig as sig;

#[cfg(feature = "secrets")]
#[cfg_attr(docsrs, doc(cfg(feature = "secrets")))]
pub use twh_secrets as secrets;

#[cfg(feature = "guard")]
#[cfg_attr(docsrs, doc(cfg(feature = "guard")))]
pub use twh_webhook_guard as guard;

#[cfg(feature = "delivery")]
#[cfg_attr(docsrs, doc(cfg(feature = "delivery")))]
pub use twh_delivery as delivery;

/// The README's Rust examples, compiled and run as doctests.
#[cfg(all(doctest, feature = "sig"))]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
