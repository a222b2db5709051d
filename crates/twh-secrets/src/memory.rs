//! An in-memory provider (tests, examples, restore targets).

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_trait::async_trait;

use crate::state::{Plain, State};
use crate::{
    ActiveSet, Clock, ImportMode, ImportOutcome, Principal, PutOptions, RevokeTarget, SecretError,
    SecretExport, SecretGenerator, SecretMetadata, SecretName, SecretProvider, SecretValue,
    SystemClock, Version, VersionInfo, VersionedSecret,
};

/// A provider that keeps everything in process memory (values stay in
/// zeroizing buffers). Nothing survives the process. Cheap to clone (shared state).
#[derive(Clone)]
pub struct MemoryProvider {
    state: Arc<Mutex<State<SecretValue>>>,
    clock: Arc<dyn Clock>,
    principal: Principal,
}

impl fmt::Debug for MemoryProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryProvider")
            .field("principal", &self.principal)
            .finish_non_exhaustive()
    }
}

impl Default for MemoryProvider {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryProvider {
    /// An empty store using the system clock, acting as [`Principal::local`].
    #[must_use]
    pub fn new() -> Self {
        Self {
            state: Arc::default(),
            clock: Arc::new(SystemClock),
            principal: Principal::local(),
        }
    }

    /// Uses another clock.
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Records writes as made by `principal`.
    #[must_use]
    pub fn with_principal(mut self, principal: Principal) -> Self {
        self.principal = principal;
        self
    }

    fn lock(&self) -> MutexGuard<'_, State<SecretValue>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait]
impl SecretProvider for MemoryProvider {
    async fn get(&self, name: &SecretName) -> Result<VersionedSecret, SecretError> {
        self.lock().get(&Plain, name)
    }

    async fn get_version(
        &self,
        name: &SecretName,
        version: Version,
    ) -> Result<VersionedSecret, SecretError> {
        self.lock().get_version(&Plain, name, version)
    }

    async fn active(&self, name: &SecretName) -> Result<ActiveSet, SecretError> {
        self.lock().active(&Plain, name, self.clock.now())
    }

    async fn put(
        &self,
        name: &SecretName,
        value: SecretValue,
        options: PutOptions,
    ) -> Result<Version, SecretError> {
        let now = self.clock.now();
        self.lock()
            .put(&Plain, name, &value, &options, now, &self.principal)
    }

    async fn metadata(&self, name: &SecretName) -> Result<SecretMetadata, SecretError> {
        self.lock().metadata(name)
    }

    async fn versions(&self, name: &SecretName) -> Result<Vec<VersionInfo>, SecretError> {
        self.lock().versions(name)
    }

    async fn list(&self, prefix: &str) -> Result<Vec<SecretName>, SecretError> {
        Ok(self.lock().list(prefix))
    }

    async fn rotate(
        &self,
        name: &SecretName,
        generator: &dyn SecretGenerator,
        grace: Duration,
    ) -> Result<Version, SecretError> {
        let expected = self.lock().current_version(name)?;
        let value = generator.generate()?;
        let now = self.clock.now();
        self.lock()
            .rotate(&Plain, name, expected, &value, grace, now, &self.principal)
    }

    async fn rollback(&self, name: &SecretName, to: Version) -> Result<Version, SecretError> {
        let now = self.clock.now();
        self.lock().rollback(&Plain, name, to, now, &self.principal)
    }

    async fn revoke(
        &self,
        name: &SecretName,
        target: RevokeTarget,
        reason: &str,
    ) -> Result<Vec<Version>, SecretError> {
        let now = self.clock.now();
        self.lock().revoke(name, target, reason, now)
    }

    async fn destroy(&self, name: &SecretName, version: Version) -> Result<(), SecretError> {
        self.lock().destroy(name, version)
    }

    async fn export(&self, name: &SecretName) -> Result<SecretExport, SecretError> {
        self.lock().export(&Plain, name)
    }

    async fn import(
        &self,
        export: SecretExport,
        mode: ImportMode,
    ) -> Result<ImportOutcome, SecretError> {
        self.lock().import(&Plain, &export, mode)
    }
}
