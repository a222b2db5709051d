//! [`Rotator`]: rotates what is due under a [`RotationPolicy`] per name or prefix.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::{
    Clock, NoProgress, Progress, RotationPolicy, SecretError, SecretGenerator, SecretName,
    SecretProvider, SystemClock, Version, VersionState, WebhookSecretGenerator,
};

/// What one [`Rotator::rotate_due`] pass did.
#[non_exhaustive]
#[derive(Debug, Default)]
pub struct RotationReport {
    /// Rotated secrets and their new current version.
    pub rotated: Vec<(SecretName, Version)>,
    /// Secrets with a policy that were not due.
    pub not_due: Vec<SecretName>,
    /// Secrets whose rotation failed.
    pub failed: Vec<(SecretName, SecretError)>,
}

/// Rotates secrets whose current version is older than their policy's `max_age`.
///
/// The policy of a name is the one recorded in its metadata
/// ([`PutOptions::rotation`](crate::PutOptions::rotation)) if any, else the
/// longest matching prefix given to [`Rotator::policy`]. New values come from
/// the generator (default [`WebhookSecretGenerator`]).
///
/// # Examples
/// ```
/// # use std::{sync::Arc, time::Duration};
/// # use twh_secrets::*;
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), SecretError> {
/// let store: Arc<dyn SecretProvider> = Arc::new(MemoryProvider::new());
/// store.put(&SecretName::new("webhooks/acme")?, generate_webhook_secret(), PutOptions::new()).await?;
/// let rotator = Rotator::new(store).policy(
///     "webhooks/",
///     RotationPolicy::new(Duration::from_secs(90 * 86_400), Duration::from_secs(86_400)),
/// );
/// let report = rotator.rotate_due(&NoProgress).await?;
/// assert!(report.rotated.is_empty()); // just written: not due yet
/// // In a service: let handle = rotator.spawn(Duration::from_secs(3600));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Rotator {
    provider: Arc<dyn SecretProvider>,
    policies: Vec<(String, RotationPolicy)>,
    generator: Arc<dyn SecretGenerator>,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for Rotator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rotator")
            .field("provider", &self.provider)
            .field("policies", &self.policies)
            .finish_non_exhaustive()
    }
}

impl Rotator {
    /// A rotator without prefix policies (only recorded policies apply).
    #[must_use]
    pub fn new(provider: Arc<dyn SecretProvider>) -> Self {
        Self {
            provider,
            policies: Vec::new(),
            generator: Arc::new(WebhookSecretGenerator),
            clock: Arc::new(SystemClock),
        }
    }

    /// Applies `policy` to names starting with `prefix` (a full name works too).
    #[must_use]
    pub fn policy(mut self, prefix: &str, policy: RotationPolicy) -> Self {
        self.policies.push((prefix.to_owned(), policy));
        self
    }

    /// Where new values come from.
    #[must_use]
    pub fn with_generator(mut self, generator: Arc<dyn SecretGenerator>) -> Self {
        self.generator = generator;
        self
    }

    /// Uses another clock (tests).
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    fn prefix_policy(&self, name: &SecretName) -> Option<RotationPolicy> {
        self.policies
            .iter()
            .filter(|(p, _)| name.as_str().starts_with(p.as_str()))
            .max_by_key(|(p, _)| p.len())
            .map(|(_, pol)| *pol)
    }

    /// Due time of `name`'s current version, or `None` without policy / current.
    async fn due(
        &self,
        name: &SecretName,
    ) -> Result<Option<(bool, RotationPolicy, Version)>, SecretError> {
        let meta = self.provider.metadata(name).await?;
        let Some(policy) = meta.rotation.or_else(|| self.prefix_policy(name)) else {
            return Ok(None);
        };
        let versions = self.provider.versions(name).await?;
        let Some(cur) = versions.iter().find(|v| v.state == VersionState::Current) else {
            return Ok(None);
        };
        let now: SystemTime = self.clock.now();
        let age = now.duration_since(cur.created_at).unwrap_or_default();
        Ok(Some((age >= policy.max_age, policy, cur.version)))
    }

    /// One pass over every secret. A `Conflict` (another rotator won) is
    /// re-checked once: if the winner's version is fresh, nothing is done.
    ///
    /// # Errors
    /// Only when listing fails; per-secret failures are in the report.
    pub async fn rotate_due(&self, progress: &dyn Progress) -> Result<RotationReport, SecretError> {
        let names = self.provider.list("").await?;
        progress.begin(names.len());
        let mut report = RotationReport::default();
        for name in names {
            let mut attempt = 0;
            loop {
                attempt += 1;
                match self.due(&name).await {
                    Ok(None) => {}
                    Ok(Some((false, ..))) => report.not_due.push(name.clone()),
                    Ok(Some((true, policy, old))) => {
                        match self
                            .provider
                            .rotate(&name, self.generator.as_ref(), policy.grace)
                            .await
                        {
                            Ok(v) => {
                                tracing::info!(secret = %name, from = old.get(), to = v.get(), "rotated secret");
                                report.rotated.push((name.clone(), v));
                            }
                            Err(SecretError::Conflict { .. }) if attempt < 2 => continue,
                            Err(e) => report.failed.push((name.clone(), e)),
                        }
                    }
                    Err(e) => report.failed.push((name.clone(), e)),
                }
                break;
            }
            progress.advance(&name);
        }
        progress.finish();
        Ok(report)
    }

    /// Runs [`Rotator::rotate_due`] every `every` on the tokio runtime until
    /// the handle is aborted. Failures are logged.
    #[must_use = "dropping the handle does not stop the task; keep it to abort"]
    pub fn spawn(self, every: Duration) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                match self.rotate_due(&NoProgress).await {
                    Ok(r) => {
                        for (name, e) in &r.failed {
                            tracing::warn!(secret = %name, error = %e, "rotation failed");
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "rotation pass failed"),
                }
            }
        })
    }
}
