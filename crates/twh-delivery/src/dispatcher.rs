//! The dispatcher: claims due messages, signs and sends them, records every
//! attempt, schedules retries and raises alerts.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rand_core::RngCore;
use tokio::sync::{Notify, mpsc, oneshot};
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::Instant;

use crate::alert::{Alert, AlertPolicy, AlertSink, HealthTracker, LogAlertSink};
use crate::client::{AttemptResult, DeliveryClient, ErrorClass};
use crate::endpoint::Endpoint;
use crate::keys::KeySource;
use crate::outbox::{AttemptOutcome, AttemptRecord, Claimed, Next, Outbox};
use crate::retry::{JitterRng, RetryPolicy, Verdict, classify_response};

/// Dispatcher settings.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct DispatcherConfig {
    /// Retry schedule (default: [`RetryPolicy::standard`]).
    pub retry: RetryPolicy,
    /// Attempts in flight per endpoint, so one slow partner cannot starve the
    /// others (default 16).
    pub max_in_flight_per_endpoint: NonZeroU32,
    /// How long a claim is held. A dispatcher killed mid-attempt loses its
    /// claims after this; keep it above the longest attempt timeout
    /// (default 60 s).
    pub lease: Duration,
    /// How often to look for due messages when nothing wakes the dispatcher
    /// (default 50 ms).
    pub poll_interval: Duration,
    /// Alerting and auto-disable thresholds.
    pub alerts: AlertPolicy,
}

impl Default for DispatcherConfig {
    fn default() -> Self {
        Self {
            retry: RetryPolicy::standard(),
            max_in_flight_per_endpoint: NonZeroU32::MIN.saturating_add(15),
            lease: Duration::from_secs(60),
            poll_interval: Duration::from_millis(50),
            alerts: AlertPolicy::default(),
        }
    }
}

impl DispatcherConfig {
    /// Sets the retry policy.
    #[must_use]
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Sets the per-endpoint concurrency cap.
    #[must_use]
    pub const fn max_in_flight_per_endpoint(mut self, n: NonZeroU32) -> Self {
        self.max_in_flight_per_endpoint = n;
        self
    }

    /// Sets the claim lease.
    #[must_use]
    pub const fn lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// Sets the idle poll interval.
    #[must_use]
    pub const fn poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }

    /// Sets the alert policy.
    #[must_use]
    pub const fn alerts(mut self, alerts: AlertPolicy) -> Self {
        self.alerts = alerts;
        self
    }
}

/// Builds a [`Dispatcher`]; see [`Dispatcher::builder`].
#[must_use]
pub struct DispatcherBuilder {
    outbox: Outbox,
    keys: Arc<dyn KeySource>,
    client: DeliveryClient,
    config: DispatcherConfig,
    sinks: Vec<Arc<dyn AlertSink>>,
    rng: Box<dyn RngCore + Send>,
}

impl fmt::Debug for DispatcherBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DispatcherBuilder")
            .field("outbox", &self.outbox)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl DispatcherBuilder {
    /// Sets the configuration.
    pub fn config(mut self, config: DispatcherConfig) -> Self {
        self.config = config;
        self
    }

    /// Adds an alert sink (default: only [`LogAlertSink`]).
    pub fn alert_sink(mut self, sink: impl AlertSink) -> Self {
        self.sinks.push(Arc::new(sink));
        self
    }

    /// Uses `rng` for retry jitter (default: [`JitterRng::from_os`]).
    pub fn rng(mut self, rng: impl RngCore + Send + 'static) -> Self {
        self.rng = Box::new(rng);
        self
    }

    /// The dispatcher.
    #[must_use]
    pub fn build(self) -> Dispatcher {
        let mut sinks = self.sinks;
        if sinks.is_empty() {
            sinks.push(Arc::new(LogAlertSink::new()));
        }
        let owner = format!("dsp_{:016x}", rand_core::OsRng.next_u64());
        let (alert_tx, alert_rx) = mpsc::unbounded_channel();
        Dispatcher {
            alert_rx,
            shared: Arc::new(Shared {
                alert_tx: Mutex::new(Some(alert_tx)),
                tracker: HealthTracker::new(self.config.alerts),
                outbox: self.outbox,
                keys: self.keys,
                client: self.client,
                config: self.config,
                sinks,
                rng: Mutex::new(self.rng),
                owner,
                inflight: Mutex::new(HashMap::new()),
                slot_freed: Notify::new(),
                pacing: Mutex::new(HashMap::new()),
            }),
        }
    }
}

struct Shared {
    outbox: Outbox,
    keys: Arc<dyn KeySource>,
    client: DeliveryClient,
    config: DispatcherConfig,
    tracker: HealthTracker,
    sinks: Vec<Arc<dyn AlertSink>>,
    alert_tx: Mutex<Option<mpsc::UnboundedSender<Alert>>>,
    rng: Mutex<Box<dyn RngCore + Send>>,
    owner: String,
    inflight: Mutex<HashMap<String, u32>>,
    slot_freed: Notify,
    pacing: Mutex<HashMap<String, Instant>>,
}

/// Delivers what the [`Outbox`] holds. Run it with [`Dispatcher::spawn`] or
/// [`Dispatcher::run`]; several dispatchers (threads or processes) may share
/// one outbox — claims are leased.
pub struct Dispatcher {
    shared: Arc<Shared>,
    alert_rx: mpsc::UnboundedReceiver<Alert>,
}

impl fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dispatcher")
            .field("owner", &self.shared.owner)
            .field("outbox", &self.shared.outbox)
            .field("config", &self.shared.config)
            .finish_non_exhaustive()
    }
}

/// A running dispatcher; [`DispatcherHandle::shutdown`] stops it gracefully.
#[derive(Debug)]
pub struct DispatcherHandle {
    stop: Option<oneshot::Sender<()>>,
    join: JoinHandle<()>,
}

impl DispatcherHandle {
    /// Stops claiming, waits for attempts in flight to be recorded, returns.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        // A panicked dispatcher task has nothing left to wait for.
        let _ = (&mut self.join).await;
    }
}

impl Dispatcher {
    /// Starts building a dispatcher over `outbox`, signing with keys from
    /// `keys` and sending through `client`.
    pub fn builder(
        outbox: Outbox,
        keys: impl KeySource,
        client: DeliveryClient,
    ) -> DispatcherBuilder {
        DispatcherBuilder {
            outbox,
            keys: Arc::new(keys),
            client,
            config: DispatcherConfig::default(),
            sinks: Vec::new(),
            rng: Box::new(JitterRng::from_os()),
        }
    }

    /// Runs on the current tokio runtime until [`DispatcherHandle::shutdown`].
    #[must_use = "dropping the handle leaves the dispatcher running until the runtime stops"]
    pub fn spawn(self) -> DispatcherHandle {
        let (tx, rx) = oneshot::channel();
        let join = tokio::spawn(self.run(async {
            // A dropped handle (rather than `shutdown`) leaves it running.
            if rx.await.is_err() {
                std::future::pending::<()>().await;
            }
        }));
        DispatcherHandle {
            stop: Some(tx),
            join,
        }
    }

    /// Runs until `shutdown` completes, then waits for attempts in flight.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send) {
        let shared = self.shared;
        let mut alert_rx = self.alert_rx;
        let sinks = shared.sinks.clone();
        // One task sends alerts in the order the state changes happened.
        let alert_worker = tokio::spawn(async move {
            while let Some(alert) = alert_rx.recv().await {
                for sink in &sinks {
                    if let Err(e) = sink.send(&alert).await {
                        tracing::error!(endpoint = %alert.endpoint_id, error = %e, "alert sink failed");
                    }
                }
            }
        });
        let mut tasks = JoinSet::new();
        tokio::pin!(shutdown);
        let max = shared.config.max_in_flight_per_endpoint.get();
        loop {
            let remaining: HashMap<String, u32> = shared
                .lock_inflight()
                .iter()
                .map(|(k, v)| (k.clone(), max.saturating_sub(*v)))
                .collect();
            let claimed = shared
                .outbox
                .claim(shared.owner.clone(), shared.config.lease, remaining, max)
                .await;
            let mut got = 0_usize;
            match claimed {
                Ok(batches) => {
                    for (ep, msgs) in batches {
                        let ep = Arc::new(ep);
                        let n = u32::try_from(msgs.len()).unwrap_or(u32::MAX);
                        *shared.lock_inflight().entry(ep.id.clone()).or_insert(0) += n;
                        for m in msgs {
                            got += 1;
                            tasks.spawn(deliver(Arc::clone(&shared), Arc::clone(&ep), m));
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "claiming due messages failed"),
            }
            while tasks.try_join_next().is_some() {}
            if got > 0 {
                // More may be due right away (capacity permitting).
                tokio::task::yield_now().await;
                continue;
            }
            tokio::select! {
                () = &mut shutdown => break,
                () = shared.outbox.wake_handle().notified() => {}
                () = shared.slot_freed.notified() => {}
                () = tokio::time::sleep(shared.config.poll_interval) => {}
            }
        }
        while tasks.join_next().await.is_some() {}
        drop(
            shared
                .alert_tx
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take(),
        );
        let _ = alert_worker.await;
    }
}

impl Shared {
    fn lock_inflight(&self) -> std::sync::MutexGuard<'_, HashMap<String, u32>> {
        self.inflight.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Spaces deliveries to `ep` to its rate limit.
    async fn pace(&self, ep: &Endpoint) {
        let Some(rate) = ep.rate_limit else { return };
        let interval = Duration::from_secs(1) / rate.get();
        let at = {
            let mut map = self.pacing.lock().unwrap_or_else(PoisonError::into_inner);
            let now = Instant::now();
            let slot = map.entry(ep.id.clone()).or_insert(now);
            let at = (*slot).max(now);
            *slot = at + interval;
            at
        };
        tokio::time::sleep_until(at).await;
    }
}

/// Releases the endpoint's in-flight slot even if the attempt panics.
struct Slot<'a> {
    shared: &'a Shared,
    endpoint: &'a str,
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        if let Some(n) = self.shared.lock_inflight().get_mut(self.endpoint) {
            *n = n.saturating_sub(1);
        }
        self.shared.slot_freed.notify_one();
    }
}

async fn deliver(shared: Arc<Shared>, ep: Arc<Endpoint>, m: Claimed) {
    let slot = Slot {
        shared: &shared,
        endpoint: &ep.id,
    };
    shared.pace(&ep).await;
    let clock = Arc::clone(shared.outbox.clock());
    let attempt = m.attempts.saturating_add(1);
    let started_ms = clock.now_ms();
    let result = match shared.keys.signer(&ep.secret_name).await {
        Ok(signer) => {
            shared
                .client
                .attempt(&ep, &signer, &m.id, started_ms / 1000, &m.payload)
                .await
        }
        Err(e) => {
            tracing::warn!(endpoint = %ep.id, error = %e, "no signing keys for endpoint");
            AttemptResult::failed(ErrorClass::Keys)
        }
    };
    // The request is over: free the endpoint's slot now. The message stays
    // leased until its record is committed, so nobody claims it meanwhile,
    // and the next request need not wait for this fsync.
    drop(slot);
    let error = result.error_text();
    // A policy refusal is not transient: like 410 Gone, the endpoint is
    // disabled until an operator changes the policy or the URL (its messages
    // stay in the outbox for `requeue_failed`).
    let refused = result
        .violation
        .as_ref()
        .filter(|v| v.is_permanent())
        .map(|v| format!("refused by the SSRF policy: {v}"));
    let verdict = match (result.status, result.error) {
        (Some(s), _) => classify_response(s, result.retry_after, &result.body_prefix),
        (None, _) => Verdict::Retry { retry_after: None },
    };
    let next = if let Some(reason) = &refused {
        Next::Blocked(reason.clone())
    } else {
        match verdict {
            Verdict::Delivered => Next::Delivered,
            Verdict::AlreadyReceived => Next::AlreadyReceived,
            Verdict::Gone => Next::Gone,
            Verdict::Retry { retry_after } => {
                let made = attempt.saturating_sub(m.schedule_base);
                let delay = {
                    let mut rng = shared.rng.lock().unwrap_or_else(PoisonError::into_inner);
                    shared
                        .config
                        .retry
                        .next_delay(made, retry_after, &mut **rng)
                };
                match delay {
                    Some(d) => {
                        Next::RetryAt(clock.now_ms().saturating_add(crate::clock::duration_ms(d)))
                    }
                    None => Next::Exhausted,
                }
            }
        }
    };
    let record = AttemptRecord {
        seq: m.seq,
        message_id: m.id.clone(),
        endpoint_id: ep.id.clone(),
        owner: shared.owner.clone(),
        attempt,
        at_ms: started_ms,
        status: result.status,
        error: error.clone(),
        latency: result.latency,
        body: result.body_prefix,
        next,
    };
    let outcome = match shared.outbox.record(record).await {
        Ok(o) => o,
        Err(e) => {
            // Not recorded: the lease expires and the message is tried again.
            tracing::error!(message_id = %m.id, endpoint = %ep.id, error = %e, "recording an attempt failed");
            return;
        }
    };
    tracing::info!(
        target: "twh_delivery::attempt",
        message_id = %m.id,
        endpoint = %ep.id,
        event_type = %m.event_type,
        attempt,
        status = result.status,
        error = error.as_deref(),
        latency_ms = u64::try_from(result.latency.as_millis()).unwrap_or(u64::MAX),
        outcome = outcome.as_str(),
        "delivery attempt"
    );
    let now = clock.now_ms();
    let change = match outcome {
        AttemptOutcome::Delivered | AttemptOutcome::Duplicate | AttemptOutcome::AlreadyReceived => {
            shared.tracker.success(&ep.id, now)
        }
        AttemptOutcome::Retry
        | AttemptOutcome::Exhausted
        | AttemptOutcome::Gone
        | AttemptOutcome::Blocked => {
            let detail = match (result.status, error) {
                (_, Some(e)) => e,
                (Some(s), None) => format!("status {s}"),
                (None, None) => "failed".to_owned(),
            };
            let disabled = match outcome {
                AttemptOutcome::Gone => Some("410 Gone"),
                AttemptOutcome::Blocked => refused.as_deref(),
                _ => None,
            };
            shared.tracker.failure(&ep.id, now, &detail, disabled)
        }
    };
    if change.disable {
        if let Err(e) = shared
            .outbox
            .set_endpoint_enabled(&ep.id, false, Some("auto-disabled after failures"))
            .await
        {
            tracing::error!(endpoint = %ep.id, error = %e, "disabling endpoint failed");
        }
    }
    if !change.alerts.is_empty() {
        let tx = shared
            .alert_tx
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        for alert in change.alerts {
            if let Some(tx) = tx.as_ref() {
                let _ = tx.send(alert);
            }
        }
    }
}
