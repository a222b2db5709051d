//! The provider trait and secret generators.

use std::fmt::Debug;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::{
    PutOptions, RevokeTarget, SecretError, SecretMetadata, SecretName, SecretValue, Version,
    VersionInfo, VersionedSecret,
};

/// The values a verifier must accept right now: the current version first,
/// then every previous version still inside its grace period (newest first).
/// Never contains a revoked, destroyed or expired version. Cheap to clone.
pub type ActiveSet = Arc<[VersionedSecret]>;

/// Versioned secret storage. Every backend (file, later Vault and KMS-wrapped
/// stores) and every wrapper ([`CachedProvider`](crate::CachedProvider),
/// [`AuditedProvider`](crate::AuditedProvider), [`PolicyProvider`](crate::PolicyProvider))
/// implements it, so they stack on an `Arc<dyn SecretProvider>`.
///
/// State machine (the same for every backend): `put` → **Current**;
/// `rotate` → new Current, old → **Previous { valid_until: now + grace }**;
/// `revoke` → **Revoked** at once; `destroy` → **Destroyed** (value erased,
/// metadata kept); `rollback` writes an old value as a *new* version.
///
/// # Errors
/// Every method returns [`SecretError`]; see each variant for its meaning.
#[async_trait]
pub trait SecretProvider: Send + Sync + Debug {
    /// The current version.
    ///
    /// # Errors
    /// `NotFound`; `Revoked` / `Destroyed` when the secret has no current version.
    async fn get(&self, name: &SecretName) -> Result<VersionedSecret, SecretError>;

    /// One version, whatever its state, as long as it still has a value.
    ///
    /// # Errors
    /// `NotFound`, `VersionNotFound`, `Revoked`, `Destroyed`.
    async fn get_version(
        &self,
        name: &SecretName,
        version: Version,
    ) -> Result<VersionedSecret, SecretError>;

    /// The values to accept now (current first, then previous ones in grace).
    /// Never empty.
    ///
    /// # Errors
    /// `NotFound`; `Revoked` (or `Destroyed`) when no version is active.
    async fn active(&self, name: &SecretName) -> Result<ActiveSet, SecretError>;

    /// Writes a new version and makes it current; the old current becomes
    /// `Previous { valid_until: now + options.grace }`.
    ///
    /// # Errors
    /// `Conflict` when `options.expect` does not hold.
    async fn put(
        &self,
        name: &SecretName,
        value: SecretValue,
        options: PutOptions,
    ) -> Result<Version, SecretError>;

    /// Name-level metadata.
    ///
    /// # Errors
    /// `NotFound`.
    async fn metadata(&self, name: &SecretName) -> Result<SecretMetadata, SecretError>;

    /// Every version (oldest first), without values.
    ///
    /// # Errors
    /// `NotFound`.
    async fn versions(&self, name: &SecretName) -> Result<Vec<VersionInfo>, SecretError>;

    /// Names starting with `prefix` (`""` lists all), sorted.
    ///
    /// # Errors
    /// Backend failures only.
    async fn list(&self, prefix: &str) -> Result<Vec<SecretName>, SecretError>;

    /// Generates a new current value; the old current stays valid for `grace`.
    ///
    /// # Errors
    /// `NotFound`; `Conflict` when another writer changed the secret meanwhile.
    async fn rotate(
        &self,
        name: &SecretName,
        generator: &dyn SecretGenerator,
        grace: Duration,
    ) -> Result<Version, SecretError>;

    /// Writes the value of version `to` as a new current version (history is
    /// append-only). The replaced current stops being accepted at once.
    ///
    /// # Errors
    /// `VersionNotFound`; `Revoked` / `Destroyed` when `to` has no usable value.
    async fn rollback(&self, name: &SecretName, to: Version) -> Result<Version, SecretError>;

    /// Revokes at once, without grace. Returns the versions newly revoked.
    ///
    /// # Errors
    /// `NotFound`, `VersionNotFound`; `InvalidInput` for an empty reason.
    async fn revoke(
        &self,
        name: &SecretName,
        target: RevokeTarget,
        reason: &str,
    ) -> Result<Vec<Version>, SecretError>;

    /// Erases the key material of a version (metadata stays). The current
    /// version cannot be destroyed: rotate or revoke it first.
    ///
    /// # Errors
    /// `VersionNotFound`; `InvalidInput` for the current version.
    async fn destroy(&self, name: &SecretName, version: Version) -> Result<(), SecretError>;

    /// Everything stored for a name, values included (backup and migration).
    ///
    /// # Errors
    /// `NotFound`.
    async fn export(&self, name: &SecretName) -> Result<SecretExport, SecretError>;

    /// Stores an exported secret with the same version numbers, states and
    /// metadata. Without [`ImportMode::Force`] it refuses (`Conflict`) to
    /// replace a secret that has newer or different versions.
    ///
    /// # Errors
    /// `Conflict`; `InvalidInput` for an inconsistent export.
    async fn import(
        &self,
        export: SecretExport,
        mode: ImportMode,
    ) -> Result<ImportOutcome, SecretError>;
}

/// One version inside a [`SecretExport`].
#[non_exhaustive]
#[derive(Debug, Clone)]
pub struct ExportedVersion {
    /// Version metadata.
    pub info: VersionInfo,
    /// The value (`None` once destroyed).
    pub value: Option<SecretValue>,
}

impl ExportedVersion {
    /// Builds one.
    #[must_use]
    pub fn new(info: VersionInfo, value: Option<SecretValue>) -> Self {
        Self { info, value }
    }

    pub(crate) fn same_as(&self, other: &Self) -> bool {
        self.info == other.info
            && match (&self.value, &other.value) {
                (Some(a), Some(b)) => a.ct_eq(b),
                (None, None) => true,
                _ => false,
            }
    }
}

/// A complete secret: metadata and every version with its value.
#[non_exhaustive]
#[derive(Debug, Clone)]
pub struct SecretExport {
    /// The name.
    pub name: SecretName,
    /// Name-level metadata.
    pub metadata: SecretMetadata,
    /// Versions, oldest first.
    pub versions: Vec<ExportedVersion>,
}

impl SecretExport {
    /// Builds one.
    #[must_use]
    pub fn new(name: SecretName, metadata: SecretMetadata, versions: Vec<ExportedVersion>) -> Self {
        Self {
            name,
            metadata,
            versions,
        }
    }

    /// True when both hold the same metadata, versions, states and values.
    #[must_use]
    pub fn same_content(&self, other: &Self) -> bool {
        self.name == other.name
            && self.metadata == other.metadata
            && self.versions.len() == other.versions.len()
            && self
                .versions
                .iter()
                .zip(&other.versions)
                .all(|(a, b)| a.same_as(b))
    }

    /// Checks version numbering (strictly increasing) and at most one current.
    ///
    /// # Errors
    /// [`SecretError::InvalidInput`].
    pub fn validate(&self) -> Result<(), SecretError> {
        if self.versions.is_empty() {
            return Err(SecretError::invalid(format!(
                "export of {} has no versions",
                self.name
            )));
        }
        let mut last = 0;
        let mut currents = 0;
        for v in &self.versions {
            if v.info.version.get() <= last {
                return Err(SecretError::invalid(format!(
                    "export of {}: versions not increasing",
                    self.name
                )));
            }
            last = v.info.version.get();
            if v.info.state == crate::VersionState::Current {
                currents += 1;
            }
            if v.value.is_none() && v.info.state != crate::VersionState::Destroyed {
                return Err(SecretError::invalid(format!(
                    "export of {} version {}: value missing",
                    self.name, v.info.version
                )));
            }
        }
        if currents > 1 {
            return Err(SecretError::invalid(format!(
                "export of {} has {currents} current versions",
                self.name
            )));
        }
        Ok(())
    }
}

/// How [`SecretProvider::import`] treats an existing secret.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ImportMode {
    /// Refuse to replace newer or diverging data (`Conflict`).
    #[default]
    IfNotNewer,
    /// Replace whatever is there.
    Force,
}

/// What [`SecretProvider::import`] did.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportOutcome {
    /// The name did not exist.
    Created,
    /// The name existed with older or other data and was replaced.
    Updated,
    /// Identical content was already there.
    Unchanged,
}

/// Makes new secret values (for [`SecretProvider::rotate`]).
///
/// Any `Fn() -> Result<SecretValue, SecretError>` closure is a generator.
pub trait SecretGenerator: Send + Sync {
    /// A fresh value.
    ///
    /// # Errors
    /// Whatever the source of randomness reports.
    fn generate(&self) -> Result<SecretValue, SecretError>;
}

impl<F> SecretGenerator for F
where
    F: Fn() -> Result<SecretValue, SecretError> + Send + Sync,
{
    fn generate(&self) -> Result<SecretValue, SecretError> {
        self()
    }
}

/// Generates Standard Webhooks secrets (`whsec_` + base64 of 32 random bytes from the OS CSPRNG).
#[expect(clippy::exhaustive_structs, reason = "unit struct used as a value")]
#[derive(Debug, Clone, Copy, Default)]
pub struct WebhookSecretGenerator;

impl SecretGenerator for WebhookSecretGenerator {
    fn generate(&self) -> Result<SecretValue, SecretError> {
        Ok(generate_webhook_secret())
    }
}

/// A new Standard Webhooks secret, `whsec_…`, 32 bytes from the OS CSPRNG.
#[must_use]
pub fn generate_webhook_secret() -> SecretValue {
    crate::generate::whsec()
}

/// A new random value of `len` bytes from the OS CSPRNG (for non-webhook secrets).
///
/// # Panics
/// Never in practice: only if the operating system's random source fails.
#[must_use]
pub fn generate_random_bytes(len: usize) -> SecretValue {
    let mut buf = vec![0u8; len];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut buf);
    SecretValue::from_vec(buf)
}
