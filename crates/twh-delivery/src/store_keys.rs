//! [`KeySource`] over a twh-secrets [`SecretProvider`].

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use twh_secrets::{
    Precondition, PutOptions, SecretError, SecretName, SecretProvider, generate_webhook_secret,
};
use twh_sig::Signer;

use crate::error::KeySourceError;
use crate::keys::{KeySource, signer_from_texts};

/// Signing keys from a twh-secrets store: every attempt signs with all
/// *active* versions (current, plus previous ones inside their rotation grace
/// period), so partners that have not switched yet keep verifying.
///
/// Wrap the backend in a `CachedProvider` (and `AuditedProvider` /
/// `PolicyProvider` as needed) before handing it over: `active()` is called
/// for every attempt.
#[derive(Clone)]
pub struct SecretStoreKeys {
    provider: Arc<dyn SecretProvider>,
}

impl fmt::Debug for SecretStoreKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretStoreKeys")
            .field("provider", &self.provider)
            .finish()
    }
}

impl SecretStoreKeys {
    /// Keys from `provider` (normally a `CachedProvider`).
    #[must_use]
    pub fn new(provider: Arc<dyn SecretProvider>) -> Self {
        Self { provider }
    }

    /// The provider.
    #[must_use]
    pub fn provider(&self) -> &Arc<dyn SecretProvider> {
        &self.provider
    }
}

fn name_of(secret_name: &str) -> Result<SecretName, KeySourceError> {
    SecretName::new(secret_name).map_err(|_| KeySourceError::NotFound {
        name: secret_name.chars().take(80).collect(),
    })
}

fn map_err(secret_name: &str, e: SecretError) -> KeySourceError {
    let name = secret_name.to_owned();
    match e {
        SecretError::NotFound { .. } => KeySourceError::NotFound { name },
        SecretError::Revoked { .. } | SecretError::Destroyed { .. } => {
            KeySourceError::NoActiveKey { name }
        }
        other => KeySourceError::Backend {
            name,
            source: Arc::new(other),
        },
    }
}

#[async_trait]
impl KeySource for SecretStoreKeys {
    async fn signer(&self, secret_name: &str) -> Result<Signer, KeySourceError> {
        let name = name_of(secret_name)?;
        let active = self
            .provider
            .active(&name)
            .await
            .map_err(|e| map_err(secret_name, e))?;
        let texts = active
            .iter()
            .map(|v| v.value().expose_str())
            .collect::<Result<Vec<&str>, _>>()
            .map_err(|_| KeySourceError::InvalidKey {
                name: secret_name.to_owned(),
            })?;
        signer_from_texts(secret_name, texts)
    }

    async fn create_secret(&self, secret_name: &str) -> Result<(), KeySourceError> {
        let name = name_of(secret_name)?;
        let options = PutOptions::new().expect(Precondition::Absent);
        match self
            .provider
            .put(&name, generate_webhook_secret(), options)
            .await
        {
            // Conflict: it already exists, which is what we want.
            Ok(_) | Err(SecretError::Conflict { .. }) => Ok(()),
            Err(e) => Err(map_err(secret_name, e)),
        }
    }
}
