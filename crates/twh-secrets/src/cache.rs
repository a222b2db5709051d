//! [`CachedProvider`]: TTL cache with single-flight and stale-if-error.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use tokio::sync::OnceCell;

use crate::{
    ActiveSet, Clock, ImportMode, ImportOutcome, PutOptions, RevokeTarget, SecretError,
    SecretExport, SecretGenerator, SecretMetadata, SecretName, SecretProvider, SecretValue,
    SystemClock, Version, VersionInfo, VersionState, VersionedSecret,
};

/// Default time a cached answer is served without asking the backend.
pub const DEFAULT_TTL: Duration = Duration::from_secs(30);
/// Default window after expiry in which a transient backend failure is
/// answered with the last known value.
pub const DEFAULT_STALE_IF_ERROR: Duration = Duration::from_secs(300);

struct Entry<T> {
    value: T,
    fetched_at: SystemTime,
    /// Served without asking the backend before this.
    fresh_until: SystemTime,
    /// Served on a transient backend failure before this.
    stale_until: SystemTime,
}

type Flight<T> = Arc<OnceCell<Result<T, SecretError>>>;

struct Slot<T> {
    entries: RwLock<HashMap<SecretName, Entry<T>>>,
    flights: Mutex<HashMap<SecretName, Flight<T>>>,
}

impl<T> Default for Slot<T> {
    fn default() -> Self {
        Self {
            entries: RwLock::default(),
            flights: Mutex::default(),
        }
    }
}

impl<T: Clone> Slot<T> {
    fn fresh(&self, name: &SecretName, now: SystemTime) -> Option<T> {
        let map = self.entries.read().unwrap_or_else(PoisonError::into_inner);
        let e = map.get(name)?;
        (now < e.fresh_until && now >= e.fetched_at).then(|| e.value.clone())
    }

    fn stale(&self, name: &SecretName, now: SystemTime) -> Option<(T, SystemTime)> {
        let map = self.entries.read().unwrap_or_else(PoisonError::into_inner);
        let e = map.get(name)?;
        (now < e.stale_until && now >= e.fetched_at).then(|| (e.value.clone(), e.fetched_at))
    }

    fn evict(&self, name: &SecretName) {
        self.entries
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(name);
        self.flights
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(name);
    }

    fn clear(&self) {
        self.entries
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
        self.flights
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    fn flight(&self, name: &SecretName) -> Flight<T> {
        let mut f = self.flights.lock().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(f.entry(name.clone()).or_default())
    }

    fn land(&self, name: &SecretName, flight: &Flight<T>) {
        let mut f = self.flights.lock().unwrap_or_else(PoisonError::into_inner);
        if f.get(name).is_some_and(|x| Arc::ptr_eq(x, flight)) {
            f.remove(name);
        }
    }
}

/// Wraps any provider with a TTL cache of [`SecretProvider::get`] and
/// [`SecretProvider::active`].
///
/// * **Single-flight:** concurrent misses of one name share one backend call.
/// * **Stale-if-error:** when the backend fails *transiently*
///   ([`SecretError::is_transient`]: unreachable, timeout, 5xx), the last known
///   answer is served for up to the stale window after it expired, with a
///   warning log. Permission denials, revocations, destroyed versions,
///   integrity failures and "not found" are never hidden: they evict the entry
///   and are returned.
/// * **Revocation:** every write through the cache (`revoke` first of all)
///   evicts the name at once, and an answer fetched before an eviction is never
///   stored after it. A cached active set never contains a previous version
///   past its `valid_until`. Revocations made by *another* process reach this
///   cache within the TTL.
///
/// Other methods pass through uncached.
///
/// # Examples
/// ```
/// # use std::{sync::Arc, time::Duration};
/// # use twh_secrets::*;
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), SecretError> {
/// let backend: Arc<dyn SecretProvider> = Arc::new(MemoryProvider::new());
/// let name = SecretName::new("webhooks/acme")?;
/// backend.put(&name, generate_webhook_secret(), PutOptions::new()).await?;
///
/// let cached = CachedProvider::new(backend)
///     .with_ttl(Duration::from_secs(30))
///     .with_stale_if_error(Duration::from_secs(600));
/// let keys = cached.active(&name).await?; // backend call
/// let again = cached.active(&name).await?; // served from memory
/// assert!(Arc::ptr_eq(&keys, &again));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct CachedProvider {
    inner: Arc<dyn SecretProvider>,
    shared: Arc<Shared>,
    ttl: Duration,
    stale_if_error: Duration,
    clock: Arc<dyn Clock>,
}

#[derive(Default)]
struct Shared {
    get: Slot<VersionedSecret>,
    active: Slot<ActiveSet>,
    /// Bumped by every eviction: a fetch that started before one does not store its answer.
    epoch: AtomicU64,
}

impl fmt::Debug for CachedProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CachedProvider")
            .field("inner", &self.inner)
            .field("ttl", &self.ttl)
            .field("stale_if_error", &self.stale_if_error)
            .finish_non_exhaustive()
    }
}

/// Which cached operation, for log lines.
#[derive(Clone, Copy)]
enum Op {
    Get,
    Active,
}

impl Op {
    fn as_str(self) -> &'static str {
        match self {
            Self::Get => "get",
            Self::Active => "active",
        }
    }
}

impl CachedProvider {
    /// Caches `inner` with [`DEFAULT_TTL`] and [`DEFAULT_STALE_IF_ERROR`].
    #[must_use]
    pub fn new(inner: Arc<dyn SecretProvider>) -> Self {
        Self {
            inner,
            shared: Arc::default(),
            ttl: DEFAULT_TTL,
            stale_if_error: DEFAULT_STALE_IF_ERROR,
            clock: Arc::new(SystemClock),
        }
    }

    /// How long an answer is served without asking the backend.
    #[must_use]
    pub fn with_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// How long after expiry an answer may still be served when the backend
    /// fails transiently (`Duration::ZERO` disables stale serving).
    #[must_use]
    pub fn with_stale_if_error(mut self, window: Duration) -> Self {
        self.stale_if_error = window;
        self
    }

    /// Uses another clock (tests).
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The wrapped provider.
    #[must_use]
    pub fn get_ref(&self) -> &Arc<dyn SecretProvider> {
        &self.inner
    }

    /// Drops everything cached for `name`.
    pub fn invalidate(&self, name: &SecretName) {
        self.shared.epoch.fetch_add(1, Ordering::SeqCst);
        self.shared.get.evict(name);
        self.shared.active.evict(name);
    }

    /// Drops everything cached.
    pub fn clear(&self) {
        self.shared.epoch.fetch_add(1, Ordering::SeqCst);
        self.shared.get.clear();
        self.shared.active.clear();
    }

    fn entry<T>(&self, value: T, now: SystemTime, expires: Option<SystemTime>) -> Entry<T> {
        let mut fresh_until = now.checked_add(self.ttl).unwrap_or(now);
        let mut stale_until = fresh_until
            .checked_add(self.stale_if_error)
            .unwrap_or(fresh_until);
        // A previous version leaving its grace period ends the entry's life.
        if let Some(exp) = expires {
            fresh_until = fresh_until.min(exp);
            stale_until = stale_until.min(exp);
        }
        Entry {
            value,
            fetched_at: now,
            fresh_until,
            stale_until,
        }
    }

    async fn cached<T, F, Fut>(
        &self,
        op: Op,
        slot: &Slot<T>,
        name: &SecretName,
        expires: fn(&T) -> Option<SystemTime>,
        fetch: F,
    ) -> Result<T, SecretError>
    where
        T: Clone + Send + Sync,
        F: FnOnce() -> Fut + Send,
        Fut: Future<Output = Result<T, SecretError>> + Send,
    {
        if let Some(v) = slot.fresh(name, self.clock.now()) {
            return Ok(v);
        }
        let flight = slot.flight(name);
        let result = flight
            .get_or_init(|| async {
                // Another flight may have landed between our miss and now.
                if let Some(v) = slot.fresh(name, self.clock.now()) {
                    return Ok(v);
                }
                let epoch = self.shared.epoch.load(Ordering::SeqCst);
                match fetch().await {
                    Ok(v) => {
                        let now = self.clock.now();
                        let entry = self.entry(v.clone(), now, expires(&v));
                        let mut map = slot.entries.write().unwrap_or_else(PoisonError::into_inner);
                        if self.shared.epoch.load(Ordering::SeqCst) == epoch {
                            map.insert(name.clone(), entry);
                        }
                        Ok(v)
                    }
                    Err(e) if e.is_transient() => {
                        let now = self.clock.now();
                        match slot.stale(name, now) {
                            Some((v, fetched_at)) => {
                                let age = now.duration_since(fetched_at).unwrap_or_default();
                                tracing::warn!(
                                    secret = %name,
                                    operation = op.as_str(),
                                    age_secs = age.as_secs(),
                                    error = %e,
                                    "secret backend unavailable: serving the last known answer (stale-if-error)"
                                );
                                Ok(v)
                            }
                            None => Err(e),
                        }
                    }
                    Err(e) => {
                        tracing::debug!(secret = %name, operation = op.as_str(), error = %e, "evicting cached secret");
                        self.invalidate(name);
                        Err(e)
                    }
                }
            })
            .await
            .clone();
        slot.land(name, &flight);
        result
    }

    /// Evicts `name` around a write, also when the write fails.
    async fn write<T>(
        &self,
        name: &SecretName,
        fut: impl Future<Output = Result<T, SecretError>>,
    ) -> Result<T, SecretError> {
        self.invalidate(name);
        let r = fut.await;
        self.invalidate(name);
        r
    }
}

fn active_expiry(set: &ActiveSet) -> Option<SystemTime> {
    set.iter()
        .filter_map(|s| match s.state() {
            VersionState::Previous { valid_until } => Some(*valid_until),
            _ => None,
        })
        .min()
}

fn no_expiry(_: &VersionedSecret) -> Option<SystemTime> {
    None
}

#[async_trait]
impl SecretProvider for CachedProvider {
    async fn get(&self, name: &SecretName) -> Result<VersionedSecret, SecretError> {
        self.cached(Op::Get, &self.shared.get, name, no_expiry, || {
            self.inner.get(name)
        })
        .await
    }

    async fn get_version(
        &self,
        name: &SecretName,
        version: Version,
    ) -> Result<VersionedSecret, SecretError> {
        self.inner.get_version(name, version).await
    }

    async fn active(&self, name: &SecretName) -> Result<ActiveSet, SecretError> {
        self.cached(Op::Active, &self.shared.active, name, active_expiry, || {
            self.inner.active(name)
        })
        .await
    }

    async fn put(
        &self,
        name: &SecretName,
        value: SecretValue,
        options: PutOptions,
    ) -> Result<Version, SecretError> {
        self.write(name, self.inner.put(name, value, options)).await
    }

    async fn metadata(&self, name: &SecretName) -> Result<SecretMetadata, SecretError> {
        self.inner.metadata(name).await
    }

    async fn versions(&self, name: &SecretName) -> Result<Vec<VersionInfo>, SecretError> {
        self.inner.versions(name).await
    }

    async fn list(&self, prefix: &str) -> Result<Vec<SecretName>, SecretError> {
        self.inner.list(prefix).await
    }

    async fn rotate(
        &self,
        name: &SecretName,
        generator: &dyn SecretGenerator,
        grace: Duration,
    ) -> Result<Version, SecretError> {
        self.write(name, self.inner.rotate(name, generator, grace))
            .await
    }

    async fn rollback(&self, name: &SecretName, to: Version) -> Result<Version, SecretError> {
        self.write(name, self.inner.rollback(name, to)).await
    }

    async fn revoke(
        &self,
        name: &SecretName,
        target: RevokeTarget,
        reason: &str,
    ) -> Result<Vec<Version>, SecretError> {
        self.write(name, self.inner.revoke(name, target, reason))
            .await
    }

    async fn destroy(&self, name: &SecretName, version: Version) -> Result<(), SecretError> {
        self.write(name, self.inner.destroy(name, version)).await
    }

    async fn export(&self, name: &SecretName) -> Result<SecretExport, SecretError> {
        self.inner.export(name).await
    }

    async fn import(
        &self,
        export: SecretExport,
        mode: ImportMode,
    ) -> Result<ImportOutcome, SecretError> {
        let name = export.name.clone();
        self.write(&name, self.inner.import(export, mode)).await
    }
}
