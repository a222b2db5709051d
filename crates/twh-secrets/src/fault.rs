//! [`FaultInjectingProvider`]: makes a backend fail on purpose (tests of
//! stale-if-error, retries and alerting).

use std::fmt;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;

use crate::{
    ActiveSet, ImportMode, ImportOutcome, PutOptions, RevokeTarget, SecretError, SecretExport,
    SecretGenerator, SecretMetadata, SecretName, SecretProvider, SecretValue, Version, VersionInfo,
    VersionedSecret,
};

/// The failure a [`FaultInjectingProvider`] returns.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Pass every call through.
    None,
    /// [`SecretError::Unavailable`] (transient), as for a KMS outage.
    Unavailable,
    /// [`SecretError::PermissionDenied`].
    PermissionDenied,
    /// [`SecretError::Corrupt`].
    Corrupt,
}

impl Fault {
    fn code(self) -> u8 {
        match self {
            Self::None => 0,
            Self::Unavailable => 1,
            Self::PermissionDenied => 2,
            Self::Corrupt => 3,
        }
    }

    fn from_code(c: u8) -> Self {
        match c {
            1 => Self::Unavailable,
            2 => Self::PermissionDenied,
            3 => Self::Corrupt,
            _ => Self::None,
        }
    }
}

/// Wraps a provider, counts calls, optionally delays them, and fails them on
/// demand with a chosen [`Fault`]. Cheap to clone (shared switches).
#[derive(Clone)]
pub struct FaultInjectingProvider {
    inner: Arc<dyn SecretProvider>,
    fault: Arc<AtomicU8>,
    calls: Arc<AtomicUsize>,
    delay: Arc<Mutex<Duration>>,
}

impl fmt::Debug for FaultInjectingProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FaultInjectingProvider")
            .field("inner", &self.inner)
            .field("fault", &self.fault())
            .finish_non_exhaustive()
    }
}

impl FaultInjectingProvider {
    /// Passes everything through until told otherwise.
    #[must_use]
    pub fn new(inner: Arc<dyn SecretProvider>) -> Self {
        Self {
            inner,
            fault: Arc::default(),
            calls: Arc::default(),
            delay: Arc::default(),
        }
    }

    /// From now on, fail every call with `fault` ([`Fault::None`] heals).
    pub fn set_fault(&self, fault: Fault) {
        self.fault.store(fault.code(), Ordering::SeqCst);
    }

    /// The current fault.
    #[must_use]
    pub fn fault(&self) -> Fault {
        Fault::from_code(self.fault.load(Ordering::SeqCst))
    }

    /// Sleeps this long in every call before answering.
    pub fn set_delay(&self, delay: Duration) {
        *self.delay.lock().unwrap_or_else(PoisonError::into_inner) = delay;
    }

    /// Calls received so far (failed ones included).
    #[must_use]
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    async fn enter(&self, op: &'static str) -> Result<(), SecretError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let delay = *self.delay.lock().unwrap_or_else(PoisonError::into_inner);
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        match self.fault() {
            Fault::None => Ok(()),
            Fault::Unavailable => Err(SecretError::Unavailable {
                context: format!("injected fault during {op}"),
                source: None,
            }),
            Fault::PermissionDenied => Err(SecretError::PermissionDenied {
                principal: "fault-injection".to_owned(),
                operation: op,
                name: "*".to_owned(),
            }),
            Fault::Corrupt => Err(SecretError::corrupt(format!("injected fault during {op}"))),
        }
    }
}

#[async_trait]
impl SecretProvider for FaultInjectingProvider {
    async fn get(&self, name: &SecretName) -> Result<VersionedSecret, SecretError> {
        self.enter("get").await?;
        self.inner.get(name).await
    }

    async fn get_version(
        &self,
        name: &SecretName,
        version: Version,
    ) -> Result<VersionedSecret, SecretError> {
        self.enter("get_version").await?;
        self.inner.get_version(name, version).await
    }

    async fn active(&self, name: &SecretName) -> Result<ActiveSet, SecretError> {
        self.enter("active").await?;
        self.inner.active(name).await
    }

    async fn put(
        &self,
        name: &SecretName,
        value: SecretValue,
        options: PutOptions,
    ) -> Result<Version, SecretError> {
        self.enter("put").await?;
        self.inner.put(name, value, options).await
    }

    async fn metadata(&self, name: &SecretName) -> Result<SecretMetadata, SecretError> {
        self.enter("metadata").await?;
        self.inner.metadata(name).await
    }

    async fn versions(&self, name: &SecretName) -> Result<Vec<VersionInfo>, SecretError> {
        self.enter("versions").await?;
        self.inner.versions(name).await
    }

    async fn list(&self, prefix: &str) -> Result<Vec<SecretName>, SecretError> {
        self.enter("list").await?;
        self.inner.list(prefix).await
    }

    async fn rotate(
        &self,
        name: &SecretName,
        generator: &dyn SecretGenerator,
        grace: Duration,
    ) -> Result<Version, SecretError> {
        self.enter("rotate").await?;
        self.inner.rotate(name, generator, grace).await
    }

    async fn rollback(&self, name: &SecretName, to: Version) -> Result<Version, SecretError> {
        self.enter("rollback").await?;
        self.inner.rollback(name, to).await
    }

    async fn revoke(
        &self,
        name: &SecretName,
        target: RevokeTarget,
        reason: &str,
    ) -> Result<Vec<Version>, SecretError> {
        self.enter("revoke").await?;
        self.inner.revoke(name, target, reason).await
    }

    async fn destroy(&self, name: &SecretName, version: Version) -> Result<(), SecretError> {
        self.enter("destroy").await?;
        self.inner.destroy(name, version).await
    }

    async fn export(&self, name: &SecretName) -> Result<SecretExport, SecretError> {
        self.enter("export").await?;
        self.inner.export(name).await
    }

    async fn import(
        &self,
        export: SecretExport,
        mode: ImportMode,
    ) -> Result<ImportOutcome, SecretError> {
        self.enter("import").await?;
        self.inner.import(export, mode).await
    }
}
