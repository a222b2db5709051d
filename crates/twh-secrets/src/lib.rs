#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod clock;
mod error;
#[cfg(feature = "file")]
mod file;
mod generate;
mod master_key;
mod memory;
mod name;
mod provider;
mod state;
mod types;
mod url;
mod value;

pub use clock::{Clock, FakeClock, SystemClock};
pub use error::{BackendError, SecretError, VersionDisplay};
#[cfg(feature = "file")]
pub use file::FileProvider;
pub use master_key::{DefaultKeySource, MASTER_KEY_ENV, MasterKey, MasterKeySource};
pub use memory::MemoryProvider;
pub use name::{MAX_NAME_LEN, SecretName};
pub use provider::{
    ActiveSet, ExportedVersion, ImportMode, ImportOutcome, SecretExport, SecretGenerator,
    SecretProvider, WebhookSecretGenerator, generate_random_bytes, generate_webhook_secret,
};
pub use types::{
    Precondition, Principal, PutOptions, RevokeTarget, RotationPolicy, SecretMetadata, Version,
    VersionInfo, VersionState, VersionedSecret,
};
pub use url::{DEFAULT_STORE_URL, StoreUrl, open_store};
pub use value::SecretValue;

pub use secrecy;
