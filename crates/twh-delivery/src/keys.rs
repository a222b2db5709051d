//! Where signing keys come from.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use twh_sig::{Scheme, SignKey, Signer, WebhookSecret};

use crate::error::KeySourceError;

/// Supplies the signing keys of an endpoint's secret.
///
/// [`KeySource::signer`] is called for every attempt, so a rotation in the
/// store takes effect at once: during a grace period the signer holds the
/// current *and* previous keys and every request carries both signatures.
/// The twh-secrets adapter is [`crate::SecretStoreKeys`].
#[async_trait]
pub trait KeySource: Send + Sync + fmt::Debug + 'static {
    /// A Standard Webhooks signer with every active key of `secret_name`.
    ///
    /// # Errors
    /// [`KeySourceError`] if the secret is missing, has no active key or the
    /// store failed.
    async fn signer(&self, secret_name: &str) -> Result<Signer, KeySourceError>;

    /// Creates `secret_name` with a fresh random key if it does not exist.
    ///
    /// # Errors
    /// [`KeySourceError::Backend`] if the store failed.
    async fn create_secret(&self, secret_name: &str) -> Result<(), KeySourceError>;
}

#[async_trait]
impl<K: KeySource + ?Sized> KeySource for Arc<K> {
    async fn signer(&self, secret_name: &str) -> Result<Signer, KeySourceError> {
        (**self).signer(secret_name).await
    }

    async fn create_secret(&self, secret_name: &str) -> Result<(), KeySourceError> {
        (**self).create_secret(secret_name).await
    }
}

/// Builds a Standard Webhooks signer from stored `whsec_…` texts.
///
/// # Errors
/// [`KeySourceError::NoActiveKey`] for an empty list,
/// [`KeySourceError::InvalidKey`] if a text is not a valid key.
pub fn signer_from_texts<'a>(
    secret_name: &str,
    texts: impl IntoIterator<Item = &'a str>,
) -> Result<Signer, KeySourceError> {
    let keys = texts
        .into_iter()
        .map(|t| SignKey::parse(t, Scheme::Standard))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| KeySourceError::InvalidKey {
            name: secret_name.to_owned(),
        })?;
    if keys.is_empty() {
        return Err(KeySourceError::NoActiveKey {
            name: secret_name.to_owned(),
        });
    }
    Signer::new(Scheme::Standard, keys).map_err(|_| KeySourceError::InvalidKey {
        name: secret_name.to_owned(),
    })
}

/// In-memory keys (tests, benches, single-process tools).
///
/// Clones share the same map.
#[derive(Clone, Default)]
pub struct StaticKeys {
    inner: Arc<Mutex<HashMap<String, Vec<WebhookSecret>>>>,
}

impl fmt::Debug for StaticKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<String> = self.lock().keys().cloned().collect();
        f.debug_struct("StaticKeys").field("names", &names).finish()
    }
}

impl StaticKeys {
    /// An empty key set.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Vec<WebhookSecret>>> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sets the active keys of `name` (first = current).
    pub fn set(&self, name: &str, keys: Vec<WebhookSecret>) {
        self.lock().insert(name.to_owned(), keys);
    }

    /// The active keys of `name`.
    #[must_use]
    pub fn get(&self, name: &str) -> Vec<WebhookSecret> {
        self.lock().get(name).cloned().unwrap_or_default()
    }
}

#[async_trait]
impl KeySource for StaticKeys {
    async fn signer(&self, secret_name: &str) -> Result<Signer, KeySourceError> {
        let keys =
            self.lock()
                .get(secret_name)
                .cloned()
                .ok_or_else(|| KeySourceError::NotFound {
                    name: secret_name.to_owned(),
                })?;
        if keys.is_empty() {
            return Err(KeySourceError::NoActiveKey {
                name: secret_name.to_owned(),
            });
        }
        Signer::new(Scheme::Standard, keys).map_err(|_| KeySourceError::InvalidKey {
            name: secret_name.to_owned(),
        })
    }

    async fn create_secret(&self, secret_name: &str) -> Result<(), KeySourceError> {
        self.lock()
            .entry(secret_name.to_owned())
            .or_insert_with(|| vec![WebhookSecret::generate()]);
        Ok(())
    }
}
