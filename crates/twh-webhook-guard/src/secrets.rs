//! [`SecretsKeyResolver`]: verification keys from a twh-secrets store.
//!
//! Every request asks the [`CachedProvider`] for the *active* versions of its
//! secret (the current one and any previous one still in its grace period),
//! so a `rotate` or `revoke` in the store takes effect without a restart:
//! at once for writes made through the same `CachedProvider`, within its TTL
//! for writes made elsewhere (the CLI, another instance). The
//! [`Verifier`] built from a set of versions is kept and reused until the set
//! changes, so a request costs one cache lookup, not a key parse.
//!
//! Stored values are the secret text exactly as issued (`whsec_…`, a
//! platform string, `whpk_…`), turned into keys with
//! [`VerifyKey::parse`](twh_sig::VerifyKey::parse) for the resolver's scheme.
//!
//! # Examples
//!
//! ```
//! use std::sync::Arc;
//! use twh_secrets::{CachedProvider, MemoryProvider, SecretName};
//! use twh_webhook_guard::{SecretsKeyResolver, WebhookGuard};
//! use twh_webhook_guard::twh_sig::Scheme;
//!
//! let store = Arc::new(CachedProvider::new(Arc::new(MemoryProvider::new())));
//! let resolver = SecretsKeyResolver::new(store, Scheme::Standard, SecretName::new("partners/acme")?);
//! let guard = WebhookGuard::builder().key_resolver(resolver).build();
//! # let _ = guard;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use http::request::Parts;
use twh_secrets::{
    ActiveSet, CachedProvider, SecretError, SecretName, SecretProvider as _, Version,
};
use twh_sig::{Scheme, Verifier, VerifyKey};

use crate::error::{ConfigError, positive};
use crate::verify::{KeyResolver, ResolveError};

type Select = dyn Fn(&Parts) -> Option<SecretName> + Send + Sync;

/// Resolves verification keys from a twh-secrets [`CachedProvider`]. Cheap to
/// clone. See the [module docs](self).
#[derive(Clone)]
pub struct SecretsKeyResolver {
    inner: Arc<Inner>,
}

struct Inner {
    provider: Arc<CachedProvider>,
    scheme: Scheme,
    select: Arc<Select>,
    tolerance: Option<Duration>,
    /// Per secret: the versions the verifier was built from, and the verifier.
    built: Mutex<HashMap<SecretName, (Vec<Version>, Verifier)>>,
}

impl fmt::Debug for SecretsKeyResolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretsKeyResolver")
            .field("scheme", &self.inner.scheme)
            .field("tolerance", &self.inner.tolerance)
            .finish_non_exhaustive()
    }
}

impl SecretsKeyResolver {
    /// Verifies every request with the active versions of one secret.
    #[must_use]
    pub fn new(provider: Arc<CachedProvider>, scheme: Scheme, name: SecretName) -> Self {
        Self::routed(provider, scheme, move |_: &Parts| Some(name.clone()))
    }

    /// Picks the secret per request (by path, host, a routing extension…);
    /// `None` answers `404 unknown-endpoint`.
    #[must_use]
    pub fn routed(
        provider: Arc<CachedProvider>,
        scheme: Scheme,
        select: impl Fn(&Parts) -> Option<SecretName> + Send + Sync + 'static,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                provider,
                scheme,
                select: Arc::new(select),
                tolerance: None,
                built: Mutex::default(),
            }),
        }
    }

    /// Sets the timestamp tolerance of the verifiers (default
    /// [`twh_sig::DEFAULT_TOLERANCE`]); keep the replay window at least as long.
    ///
    /// # Errors
    ///
    /// [`ConfigError::ZeroDuration`] for zero.
    pub fn tolerance(self, tolerance: Duration) -> Result<Self, ConfigError> {
        let tolerance = positive(tolerance, "tolerance")?;
        Ok(Self {
            inner: Arc::new(Inner {
                provider: Arc::clone(&self.inner.provider),
                scheme: self.inner.scheme,
                select: Arc::clone(&self.inner.select),
                tolerance: Some(tolerance),
                built: Mutex::default(),
            }),
        })
    }
}

impl Inner {
    fn verifier_for(&self, name: &SecretName, set: &ActiveSet) -> Result<Verifier, ResolveError> {
        let versions: Vec<Version> = set.iter().map(|v| v.version()).collect();
        let mut built = self.built.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((have, verifier)) = built.get(name) {
            if *have == versions {
                return Ok(verifier.clone());
            }
        }
        let mut keys = Vec::with_capacity(set.len());
        for secret in set.iter() {
            let parsed = secret
                .value()
                .expose_str()
                .map_err(|e| e.to_string())
                .and_then(|text| VerifyKey::parse(text, self.scheme).map_err(|e| e.to_string()));
            match parsed {
                Ok(key) => keys.push(key),
                // The error names the problem, never the value.
                Err(e) => tracing::error!(
                    secret = name.as_str(),
                    version = %secret.version(),
                    scheme = %self.scheme,
                    error = %e,
                    "stored secret is not a valid key for this scheme; skipped"
                ),
            }
        }
        let verifier = Verifier::new(self.scheme, keys).map_err(|e| {
            ResolveError::Backend(format!("no usable key in secret {}: {e}", name.as_str()).into())
        })?;
        let verifier = match self.tolerance {
            Some(t) => verifier
                .with_tolerance(t)
                .map_err(|e| ResolveError::Backend(Box::new(e)))?,
            None => verifier,
        };
        tracing::info!(secret = name.as_str(), versions = ?versions, "verification keys loaded");
        built.insert(name.clone(), (versions, verifier.clone()));
        Ok(verifier)
    }
}

impl KeyResolver for SecretsKeyResolver {
    type Future = Pin<Box<dyn Future<Output = Result<Verifier, ResolveError>> + Send>>;

    fn resolve(&self, parts: &Parts) -> Self::Future {
        let name = (self.inner.select)(parts);
        let inner = Arc::clone(&self.inner);
        Box::pin(async move {
            let name = name.ok_or(ResolveError::UnknownEndpoint)?;
            let set = inner.provider.active(&name).await.map_err(|e| match e {
                SecretError::NotFound { .. } => ResolveError::UnknownEndpoint,
                SecretError::Revoked { .. } | SecretError::Destroyed { .. } => {
                    ResolveError::NoActiveKey
                }
                other => ResolveError::Backend(Box::new(other)),
            })?;
            inner.verifier_for(&name, &set)
        })
    }
}
