//! Failure alerting: one alert per endpoint state change, never a storm.

use std::collections::HashMap;
use std::fmt;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use http::header::CONTENT_TYPE;
use serde::Serialize;
use twh_sig::{Message, Signer};
use url::Url;

use crate::error::AlertError;

/// What changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum AlertKind {
    /// The endpoint reached the configured number of consecutive failures.
    Failing,
    /// The endpoint was disabled (410 Gone, an SSRF policy refusal, or a
    /// too-long failure streak).
    Disabled,
    /// A delivery succeeded again after `Failing` or `Disabled`.
    Recovered,
}

impl AlertKind {
    /// Lower-case name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Failing => "failing",
            Self::Disabled => "disabled",
            Self::Recovered => "recovered",
        }
    }
}

/// An alert about one endpoint. Serialized as JSON by [`WebhookAlertSink`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Alert {
    /// What changed.
    pub kind: AlertKind,
    /// The endpoint.
    pub endpoint_id: String,
    /// When (Unix ms).
    pub at_ms: u64,
    /// Consecutive failed attempts at that moment.
    pub consecutive_failures: u32,
    /// Human-readable detail (last status or error class, reason).
    pub detail: String,
}

/// Where alerts go.
#[async_trait]
pub trait AlertSink: Send + Sync + fmt::Debug + 'static {
    /// Delivers one alert.
    ///
    /// # Errors
    /// [`AlertError`] if it could not be delivered (the dispatcher logs it).
    async fn send(&self, alert: &Alert) -> Result<(), AlertError>;
}

/// Logs alerts as `tracing` warnings (target `twh_delivery::alert`).
#[derive(Clone, Copy, Debug, Default)]
#[non_exhaustive]
pub struct LogAlertSink;

impl LogAlertSink {
    /// The log sink.
    #[must_use]
    pub const fn new() -> Self {
        Self
    }
}

#[async_trait]
impl AlertSink for LogAlertSink {
    async fn send(&self, alert: &Alert) -> Result<(), AlertError> {
        tracing::warn!(
            target: "twh_delivery::alert",
            kind = alert.kind.as_str(),
            endpoint = %alert.endpoint_id,
            consecutive_failures = alert.consecutive_failures,
            detail = %alert.detail,
            "delivery alert"
        );
        Ok(())
    }
}

/// Keeps alerts in memory (tests, demo summaries). Clones share the list.
#[derive(Clone, Debug, Default)]
pub struct MemoryAlertSink(Arc<Mutex<Vec<Alert>>>);

impl MemoryAlertSink {
    /// An empty sink.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Every alert so far, oldest first.
    #[must_use]
    pub fn alerts(&self) -> Vec<Alert> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

#[async_trait]
impl AlertSink for MemoryAlertSink {
    async fn send(&self, alert: &Alert) -> Result<(), AlertError> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(alert.clone());
        Ok(())
    }
}

/// POSTs each alert as JSON to an ops URL, signed (Standard Webhooks) with
/// its own key so the ops side can verify it.
///
/// The ops URL is operator configuration, not partner input, so it is not
/// subject to the SSRF policy; redirects are not followed.
pub struct WebhookAlertSink {
    url: Url,
    signer: Signer,
    http: reqwest::Client,
}

impl fmt::Debug for WebhookAlertSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookAlertSink")
            .field("url", &crate::endpoint::redact_url(&self.url))
            .finish_non_exhaustive()
    }
}

impl WebhookAlertSink {
    /// Alerts to `url`, signed by `signer`.
    ///
    /// # Errors
    /// [`AlertError::Webhook`] if the HTTP client cannot be built.
    pub fn new(url: Url, signer: Signer) -> Result<Self, AlertError> {
        let http = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| AlertError::Webhook {
                reason: e.to_string(),
            })?;
        Ok(Self { url, signer, http })
    }
}

#[async_trait]
impl AlertSink for WebhookAlertSink {
    async fn send(&self, alert: &Alert) -> Result<(), AlertError> {
        let body = serde_json::to_vec(alert).map_err(|_| AlertError::Encode)?;
        let id = twh_sig::new_message_id();
        // Signed now (wall clock), whatever clock stamped the alert.
        let ts = crate::clock::Clock::now_ms(&crate::clock::SystemClock::new()) / 1000;
        let headers = self
            .signer
            .sign(&Message::new(&id, ts, &body))
            .map_err(|_| AlertError::Encode)?;
        let mut req = self
            .http
            .post(self.url.clone())
            .header(CONTENT_TYPE, "application/json")
            .body(body);
        for (k, v) in headers.iter() {
            req = req.header(k, v);
        }
        let resp = req.send().await.map_err(|e| AlertError::Webhook {
            reason: if e.is_timeout() {
                "timeout".to_owned()
            } else {
                "connection failed".to_owned()
            },
        })?;
        if resp.status().is_success() {
            Ok(())
        } else {
            Err(AlertError::Webhook {
                reason: format!("status {}", resp.status().as_u16()),
            })
        }
    }
}

/// When to alert and when to disable an endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct AlertPolicy {
    /// Consecutive failed attempts before a [`AlertKind::Failing`] alert
    /// (default 5).
    pub alert_after: NonZeroU32,
    /// Disable the endpoint after this many consecutive failures (default: never).
    pub disable_after_failures: Option<NonZeroU32>,
    /// Disable the endpoint after failing continuously this long (default 5 days).
    pub disable_after: Option<Duration>,
}

impl Default for AlertPolicy {
    fn default() -> Self {
        Self {
            alert_after: NonZeroU32::MIN.saturating_add(4),
            disable_after_failures: None,
            disable_after: Some(Duration::from_secs(5 * 24 * 3600)),
        }
    }
}

impl AlertPolicy {
    /// Sets the failure count that raises a `Failing` alert.
    #[must_use]
    pub const fn alert_after(mut self, failures: NonZeroU32) -> Self {
        self.alert_after = failures;
        self
    }

    /// Disables an endpoint after `failures` consecutive failures.
    #[must_use]
    pub const fn disable_after_failures(mut self, failures: Option<NonZeroU32>) -> Self {
        self.disable_after_failures = failures;
        self
    }

    /// Disables an endpoint after failing continuously for `duration`.
    #[must_use]
    pub const fn disable_after(mut self, duration: Option<Duration>) -> Self {
        self.disable_after = duration;
        self
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Health {
    Healthy,
    Failing,
    Disabled,
}

#[derive(Debug)]
struct EndpointHealth {
    state: Health,
    consecutive: u32,
    failing_since_ms: Option<u64>,
}

/// What the dispatcher must do after a health update.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct HealthChange {
    pub(crate) alerts: Vec<Alert>,
    pub(crate) disable: bool,
}

/// The per-endpoint state machine: Healthy → Failing → Disabled, and back to
/// Healthy on a success; each transition produces exactly one alert.
#[derive(Debug)]
pub(crate) struct HealthTracker {
    policy: AlertPolicy,
    endpoints: Mutex<HashMap<String, EndpointHealth>>,
}

impl HealthTracker {
    pub(crate) fn new(policy: AlertPolicy) -> Self {
        Self {
            policy,
            endpoints: Mutex::new(HashMap::new()),
        }
    }

    pub(crate) fn success(&self, endpoint: &str, now_ms: u64) -> HealthChange {
        let mut map = self
            .endpoints
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let Some(h) = map.get_mut(endpoint) else {
            return HealthChange::default();
        };
        let was = h.state;
        let failures = h.consecutive;
        h.state = Health::Healthy;
        h.consecutive = 0;
        h.failing_since_ms = None;
        let mut change = HealthChange::default();
        if was != Health::Healthy {
            change.alerts.push(Alert {
                kind: AlertKind::Recovered,
                endpoint_id: endpoint.to_owned(),
                at_ms: now_ms,
                consecutive_failures: failures,
                detail: "delivery succeeded".to_owned(),
            });
        }
        change
    }

    /// Records a failed attempt. `disabled` is the reason when the outbox has
    /// already disabled the endpoint (410 Gone, an SSRF policy refusal).
    pub(crate) fn failure(
        &self,
        endpoint: &str,
        now_ms: u64,
        detail: &str,
        disabled: Option<&str>,
    ) -> HealthChange {
        let mut map = self
            .endpoints
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let h = map.entry(endpoint.to_owned()).or_insert(EndpointHealth {
            state: Health::Healthy,
            consecutive: 0,
            failing_since_ms: None,
        });
        h.consecutive = h.consecutive.saturating_add(1);
        let since = *h.failing_since_ms.get_or_insert(now_ms);
        let mut change = HealthChange::default();
        let alert = |kind, detail: String, n| Alert {
            kind,
            endpoint_id: endpoint.to_owned(),
            at_ms: now_ms,
            consecutive_failures: n,
            detail,
        };
        if h.state == Health::Healthy && h.consecutive >= self.policy.alert_after.get() {
            h.state = Health::Failing;
            change.alerts.push(alert(
                AlertKind::Failing,
                format!("{} consecutive failures, last: {detail}", h.consecutive),
                h.consecutive,
            ));
        }
        let too_many = self
            .policy
            .disable_after_failures
            .is_some_and(|n| h.consecutive >= n.get());
        let too_long = self
            .policy
            .disable_after
            .is_some_and(|d| now_ms.saturating_sub(since) >= crate::clock::duration_ms(d));
        if h.state != Health::Disabled && (disabled.is_some() || too_many || too_long) {
            h.state = Health::Disabled;
            // 410 and policy refusals are disabled by the outbox itself.
            change.disable = disabled.is_none();
            let why = disabled.map_or_else(
                || format!("{} consecutive failures, last: {detail}", h.consecutive),
                str::to_owned,
            );
            change
                .alerts
                .push(alert(AlertKind::Disabled, why, h.consecutive));
        }
        change
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(c: &HealthChange) -> Vec<AlertKind> {
        c.alerts.iter().map(|a| a.kind).collect()
    }

    #[test]
    fn one_alert_per_state_change() {
        let t = HealthTracker::new(
            AlertPolicy::default()
                .alert_after(NonZeroU32::new(3).unwrap())
                .disable_after_failures(NonZeroU32::new(6)),
        );
        assert!(kinds(&t.success("a", 0)).is_empty());
        assert!(kinds(&t.failure("a", 1, "500", None)).is_empty());
        assert!(kinds(&t.failure("a", 2, "500", None)).is_empty());
        assert_eq!(kinds(&t.failure("a", 3, "500", None)), [AlertKind::Failing]);
        assert!(kinds(&t.failure("a", 4, "500", None)).is_empty());
        assert!(kinds(&t.failure("a", 5, "500", None)).is_empty());
        let c = t.failure("a", 6, "500", None);
        assert_eq!(kinds(&c), [AlertKind::Disabled]);
        assert!(c.disable);
        assert!(kinds(&t.failure("a", 7, "500", None)).is_empty());
        assert_eq!(kinds(&t.success("a", 8)), [AlertKind::Recovered]);
        assert!(kinds(&t.success("a", 9)).is_empty());
        // Another endpoint is independent.
        assert!(kinds(&t.failure("b", 9, "timeout", None)).is_empty());
    }

    #[test]
    fn webhook_sink_debug_hides_url_credentials_and_query() {
        let url = Url::parse("https://ops:hunter2@ops.example/alerts?token=abc").unwrap();
        let signer = Signer::new(
            twh_sig::Scheme::Standard,
            [twh_sig::WebhookSecret::generate()],
        )
        .unwrap();
        let debug = format!("{:?}", WebhookAlertSink::new(url, signer).unwrap());
        assert!(
            !debug.contains("hunter2") && !debug.contains("token"),
            "{debug}"
        );
        assert!(
            debug.contains("https://***@ops.example/alerts?…"),
            "{debug}"
        );
    }

    #[test]
    fn gone_disables_at_once_and_duration_disables() {
        let t =
            HealthTracker::new(AlertPolicy::default().disable_after(Some(Duration::from_secs(10))));
        let c = t.failure("g", 0, "410", Some("410 Gone"));
        assert_eq!(kinds(&c), [AlertKind::Disabled]);
        assert_eq!(c.alerts[0].detail, "410 Gone");
        assert!(!c.disable);
        assert!(kinds(&t.failure("d", 0, "500", None)).is_empty());
        assert_eq!(
            kinds(&t.failure("d", 10_000, "500", None)),
            [AlertKind::Disabled]
        );
    }
}
