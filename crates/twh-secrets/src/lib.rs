#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod audit;
#[cfg(feature = "backup")]
mod backup;
mod cache;
mod clock;
mod error;
mod fault;
#[cfg(feature = "file")]
mod file;
mod generate;
mod master_key;
mod memory;
mod migrate;
mod name;
mod operation;
mod policy;
mod progress;
mod provider;
mod rotator;
mod state;
mod types;
mod url;
mod value;

pub use audit::{
    AuditEvent, AuditLogError, AuditSink, AuditVerification, AuditedProvider, GENESIS_HASH,
    JsonFileSink, Outcome, TracingSink, verify_audit_log, verify_audit_log_with_head,
    with_request_id,
};
#[cfg(feature = "backup")]
pub use backup::{
    BackupIdentity, BackupRecipient, BackupReport, MAX_BUNDLE_BYTES, RestoreReport, backup,
    decrypt_bundle, generate_backup_identity, read_bundle, restore,
};
pub use cache::{CachedProvider, DEFAULT_STALE_IF_ERROR, DEFAULT_TTL};
pub use clock::{Clock, FakeClock, SystemClock};
pub use error::{BackendError, SecretError, VersionDisplay};
pub use fault::{Fault, FaultInjectingProvider};
#[cfg(feature = "file")]
pub use file::FileProvider;
pub use master_key::{DefaultKeySource, MASTER_KEY_ENV, MasterKey, MasterKeySource};
pub use memory::MemoryProvider;
pub use migrate::{
    EnvImportReport, EnvMapping, EnvSource, MigratedSecret, MigrationReport, content_hash,
    import_env, migrate,
};
pub use name::{MAX_NAME_LEN, SecretName};
pub use operation::Operation;
pub use policy::{Glob, Policy, PolicyProvider};
pub use progress::{NoProgress, Progress};
pub use provider::{
    ActiveSet, ExportedVersion, ImportMode, ImportOutcome, SecretExport, SecretGenerator,
    SecretProvider, WebhookSecretGenerator, generate_random_bytes, generate_webhook_secret,
};
pub use rotator::{RotationReport, Rotator};
pub use types::{
    Precondition, Principal, PutOptions, RevokeTarget, RotationPolicy, SecretMetadata, Version,
    VersionInfo, VersionState, VersionedSecret,
};
pub use url::{DEFAULT_STORE_URL, StoreUrl, open_store};
pub use value::SecretValue;

pub use secrecy;
