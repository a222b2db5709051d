#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod clock;
mod ed25519;
mod error;
mod key;
mod message;
mod scheme;
mod secret;
mod sign;
mod verify;

pub use clock::{Clock, FixedClock, SystemClock};
pub use ed25519::{SigningKey, VerifyingKey};
pub use error::{ConfigError, KeyError, SignError, VerifyError, VerifyErrorKind};
pub use key::{SignKey, VerifyKey};
pub use message::{Message, new_message_id};
pub use scheme::{
    MAX_ID_LEN, MAX_SIGNATURE_HEADER_LEN, MAX_SIGNATURES, MAX_TIMESTAMP, ParseSchemeError, Scheme,
};
pub use secret::{KeyEncoding, KeyId, WebhookSecret};
pub use sign::{SignedHeaders, Signer};
pub use verify::{DEFAULT_TOLERANCE, MAX_TOLERANCE, Verified, Verifier};

pub use http;
pub use secrecy;
