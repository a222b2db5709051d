//! The Warehouse Hub, end to end: signed, retried, logged, durable delivery
//! of warehouse events to two partners whose receivers sit behind
//! `WebhookGuard` — with a secret rotation, a receiver outage, a tampered and
//! a replayed request along the way.
//!
//! ```sh
//! cargo run --release --example hub_demo                 # 1,000 events, temp dir
//! cargo run --release --example hub_demo -- --events 5000 --outbox ./outbox.db
//! cargo run --release --example hub_demo -- --store file:///var/lib/twh/store
//! ```
//! Exits non-zero if any event was lost, any delivery failed verification,
//! or the tampered/replayed requests were not both rejected.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "example")]

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::pin::Pin;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Extension, Router};
use tokio::sync::oneshot;
use twh::delivery::{
    AlertKind, AlertPolicy, DeliveryClient, Dispatcher, DispatcherConfig, Endpoint, KeySource,
    LogAlertSink, MemoryAlertSink, MessageState, NewMessage, Outbox, RetryPolicy, SecretStoreKeys,
    SsrfPolicy, WebhookAlertSink,
};
use twh::guard::http::request::Parts;
use twh::guard::{KeyResolver, Quota, ResolveError, VerifiedWebhook, WebhookGuard};
use twh::secrets::{
    AuditedProvider, CachedProvider, DefaultKeySource, FileProvider, JsonFileSink, MasterKey,
    Principal, SecretError, SecretName, SecretProvider, StoreUrl, WebhookSecretGenerator,
    open_store,
};
use twh::sig::{Message, Scheme, Verifier, VerifyKey};

// ---------------------------------------------------------------------------
// Command line

struct Args {
    events: usize,
    cleanup: bool,
    store: Option<String>,
    outbox: Option<PathBuf>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        events: 1000,
        cleanup: false,
        store: None,
        outbox: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match a.as_str() {
            "--events" => {
                args.events = value("--events")?
                    .parse()
                    .map_err(|_| "--events must be a number".to_owned())?;
            }
            "--store" => args.store = Some(value("--store")?),
            "--outbox" => args.outbox = Some(PathBuf::from(value("--outbox")?)),
            "--cleanup" => args.cleanup = true,
            "-h" | "--help" => {
                println!(
                    "hub_demo [--events N] [--store URL] [--outbox PATH]\n\n\
                     --events N     events to generate (default 1000, at least 10; each goes to both partners)\n\
                     --store URL    secret store (default: a new file store in a temp dir)\n\
                     --outbox PATH  outbox database (default: in the temp dir)\n\
                     --cleanup      remove the temp dir (store, audit log) at the end"
                );
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?} (try --help)")),
        }
    }
    if args.events < 10 {
        return Err("--events must be at least 10".to_owned());
    }
    Ok(args)
}

// ---------------------------------------------------------------------------
// Deterministic warehouse events

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

/// Ids of requests the demo sends directly (not through the outbox).
const DIRECT_PREFIX: &str = "direct_";
const PARTNERS: [&str; 2] = ["acme-retail", "nordic-freight"];
const WAREHOUSES: [&str; 3] = ["DUB-1", "ORK-2", "GWY-1"];
const CARRIERS: [&str; 5] = ["DHL", "UPS", "DPD", "An Post", "FedEx"];
const CUSTOMERS: [&str; 6] = [
    "acme-retail",
    "green-grocers",
    "north-outdoor",
    "bits-and-bytes",
    "harbour-pharmacy",
    "kidz-toys",
];
const REASONS: [&str; 4] = ["cycle_count", "damaged", "receipt", "found"];
const CONDITIONS: [&str; 3] = ["resellable", "damaged", "opened"];

fn sku(rng: &mut Rng) -> String {
    format!("SKU-{:05}", 10_000 + rng.below(4_000))
}

fn location(rng: &mut Rng) -> String {
    format!(
        "{}-{:02}-{:02}",
        ["A", "B", "C", "D"][rng.below(4) as usize],
        1 + rng.below(40),
        1 + rng.below(6)
    )
}

/// Event `n` of the stream: `(type, JSON bytes)`.
fn event(rng: &mut Rng, n: usize, ts: u64) -> (&'static str, Vec<u8>) {
    use serde_json::json;
    let order = format!("SO-{:07}", 1_000_000 + n / 3);
    let wh = rng.pick(&WAREHOUSES);
    let (ty, data) = match rng.below(100) {
        0..=29 => {
            let lines: Vec<_> = (0..1 + rng.below(4))
                .map(|_| {
                    json!({"sku": sku(rng), "qty": 1 + rng.below(12),
                           "unit_price": format!("{}.{:02}", 2 + rng.below(200), rng.below(100))})
                })
                .collect();
            (
                "order.created",
                json!({"order_id": order, "customer": rng.pick(&CUSTOMERS),
                                      "warehouse": wh, "lines": lines, "currency": "EUR"}),
            )
        }
        30..=54 => {
            let picks: Vec<_> = (0..1 + rng.below(3))
                .map(|_| json!({"sku": sku(rng), "location": location(rng), "qty": 1 + rng.below(12)}))
                .collect();
            (
                "order.allocated",
                json!({"order_id": order, "warehouse": wh, "allocations": picks}),
            )
        }
        55..=79 => {
            let carrier = rng.pick(&CARRIERS);
            (
                "shipment.dispatched",
                json!({
                "shipment_id": format!("SH-{:07}", 500_000 + n), "order_id": order, "warehouse": wh,
                "carrier": carrier,
                "tracking": format!("{}{:010}", &carrier[..2].to_uppercase(), rng.below(10_000_000_000)),
                "parcels": 1 + rng.below(3), "weight_kg": format!("{}.{}", 1 + rng.below(30), rng.below(10))}),
            )
        }
        80..=93 => {
            let delta = rng.below(41) as i64 - 20;
            (
                "inventory.adjusted",
                json!({"sku": sku(rng), "warehouse": wh, "location": location(rng),
                                           "delta": if delta == 0 { 1 } else { delta },
                                           "reason": rng.pick(&REASONS)}),
            )
        }
        _ => (
            "return.received",
            json!({
            "rma": format!("RMA-{:06}", 20_000 + n), "order_id": order, "warehouse": wh,
            "sku": sku(rng), "qty": 1 + rng.below(3), "condition": rng.pick(&CONDITIONS)}),
        ),
    };
    let body = json!({"type": ty, "timestamp": ts, "data": data});
    (ty, serde_json::to_vec(&body).unwrap())
}

// ---------------------------------------------------------------------------
// Partner receivers: axum behind WebhookGuard, keys from the secret store

/// Resolves a partner's verification keys from the store on every request
/// (through the cache), so a rotation takes effect without a restart.
#[derive(Clone)]
struct StoreResolver {
    provider: Arc<dyn SecretProvider>,
    name: SecretName,
}

impl KeyResolver for StoreResolver {
    type Future = Pin<Box<dyn Future<Output = Result<Verifier, ResolveError>> + Send>>;

    fn resolve(&self, _parts: &Parts) -> Self::Future {
        let (provider, name) = (Arc::clone(&self.provider), self.name.clone());
        Box::pin(async move {
            let active = provider.active(&name).await.map_err(|e| match e {
                SecretError::NotFound { .. } => ResolveError::UnknownEndpoint,
                SecretError::Revoked { .. } | SecretError::Destroyed { .. } => {
                    ResolveError::NoActiveKey
                }
                other => ResolveError::Backend(Box::new(other)),
            })?;
            let keys = active
                .iter()
                .filter_map(|v| v.value().expose_str().ok())
                .filter_map(|t| VerifyKey::parse(t, Scheme::Standard).ok())
                .collect::<Vec<_>>();
            Verifier::new(Scheme::Standard, keys).map_err(|_| ResolveError::NoActiveKey)
        })
    }
}

#[derive(Default)]
struct Inbox {
    /// webhook-id → times accepted by the handler.
    ids: HashMap<String, u32>,
    /// Verifying key id → count (shows the rotation).
    by_key: BTreeMap<String, u64>,
    types: BTreeMap<String, u64>,
}

struct Partner {
    id: &'static str,
    addr: SocketAddr,
    inbox: Arc<Mutex<Inbox>>,
    provider: Arc<dyn SecretProvider>,
    stop: Option<(oneshot::Sender<()>, tokio::task::JoinHandle<()>)>,
}

async fn partner_handler(
    State(inbox): State<Arc<Mutex<Inbox>>>,
    Extension(hook): Extension<VerifiedWebhook>,
    body: Bytes,
) -> StatusCode {
    let Ok(event) = serde_json::from_slice::<serde_json::Value>(&body) else {
        return StatusCode::BAD_REQUEST;
    };
    let id = hook.message_id.unwrap_or_default();
    if id.starts_with(DIRECT_PREFIX) {
        return StatusCode::NO_CONTENT; // the demo's own hostile-request probe
    }
    let mut inbox = inbox.lock().unwrap();
    let ty = event["type"].as_str().unwrap_or("?").to_owned();
    *inbox.types.entry(ty).or_default() += 1;
    *inbox.by_key.entry(hook.key_id.to_string()).or_default() += 1;
    *inbox.ids.entry(id).or_default() += 1;
    StatusCode::NO_CONTENT
}

impl Partner {
    async fn start(&mut self) {
        let guard = WebhookGuard::builder()
            .key_resolver(StoreResolver {
                provider: Arc::clone(&self.provider),
                name: SecretName::new(&format!("webhooks/{}", self.id)).unwrap(),
            })
            // A partner sized for the Hub's traffic (all of it from one IP here).
            .rate_limit(Quota::per_second(NonZeroU32::new(5_000).unwrap()))
            .build();
        let app = Router::new()
            .route("/webhooks", post(partner_handler))
            .layer(guard)
            .with_state(Arc::clone(&self.inbox));
        let listener = tokio::net::TcpListener::bind(self.addr).await.unwrap();
        self.addr = listener.local_addr().unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        let join = tokio::spawn(async move {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await
            .unwrap();
        });
        self.stop = Some((tx, join));
    }

    async fn stop(&mut self) {
        if let Some((tx, join)) = self.stop.take() {
            let _ = tx.send(());
            if tokio::time::timeout(Duration::from_secs(2), join)
                .await
                .is_err()
            {
                eprintln!("  ({} did not stop gracefully)", self.id);
            }
        }
    }

    fn url(&self) -> String {
        format!("http://{}/webhooks", self.addr)
    }
}

/// The ops team's alert receiver: verifies each alert's signature.
async fn ops_receiver(verifier: Verifier) -> (String, Arc<Mutex<Vec<(bool, String)>>>) {
    let seen: Arc<Mutex<Vec<(bool, String)>>> = Arc::default();
    let s = Arc::clone(&seen);
    let app = Router::new().route(
        "/alerts",
        post(move |headers: HeaderMap, body: Bytes| {
            let (s, verifier) = (Arc::clone(&s), verifier.clone());
            async move {
                let ok = verifier.verify(&headers, &body).is_ok();
                let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
                s.lock()
                    .unwrap()
                    .push((ok, v["kind"].as_str().unwrap_or("?").to_owned()));
                if ok {
                    StatusCode::NO_CONTENT
                } else {
                    StatusCode::UNAUTHORIZED
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/alerts", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, seen)
}

// ---------------------------------------------------------------------------

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn problem_type(body: &[u8]) -> String {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            v["type"]
                .as_str()
                .map(|t| t.rsplit(':').next().unwrap_or(t).to_owned())
        })
        .unwrap_or_else(|| "-".to_owned())
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("hub_demo: {e}");
            return ExitCode::from(2);
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "warn,twh_secrets=error".into()),
        )
        .with_target(false)
        .init();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    match rt.block_on(run(args)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("hub_demo: {e}");
            ExitCode::FAILURE
        }
    }
}

#[allow(
    clippy::too_many_lines,
    reason = "a linear script reads best in one piece"
)]
async fn run(args: Args) -> Result<bool, Box<dyn std::error::Error>> {
    let started = Instant::now();
    let tmp = tempfile::Builder::new().prefix("twh-hub-demo-").tempdir()?;
    let work = tmp.path().to_path_buf();
    let audit_path = work.join("audit.jsonl");
    let outbox_path = args
        .outbox
        .clone()
        .unwrap_or_else(|| work.join("outbox.db"));

    // 1. Secret store (audited, cached) and outbox.
    let base: Arc<dyn SecretProvider> = match &args.store {
        Some(url) => {
            let key_file = StoreUrl::parse(url)?
                .default_key_file()
                .unwrap_or_else(|| work.join("master.key"));
            open_store(url, &DefaultKeySource::new(key_file))?
        }
        None => Arc::new(FileProvider::open_or_init(
            work.join("store"),
            MasterKey::generate(),
        )?),
    };
    let audited: Arc<dyn SecretProvider> = Arc::new(AuditedProvider::new(
        base,
        Arc::new(JsonFileSink::open(&audit_path)?),
        Principal::new("hub-demo"),
    ));
    let store: Arc<dyn SecretProvider> =
        Arc::new(CachedProvider::new(audited).with_ttl(Duration::from_millis(250)));
    let keys = SecretStoreKeys::new(Arc::clone(&store));
    let outbox = Outbox::open(&outbox_path).await?;
    // A kept `--outbox` may hold earlier runs: count only what this run adds.
    let before = outbox.stats().await?;
    println!(
        "The Warehouse Hub demo — {} events to 2 partners",
        args.events
    );
    println!(
        "  secret store : {}",
        args.store.as_deref().unwrap_or("file store in temp dir")
    );
    println!("  outbox       : {}", outbox_path.display());

    // 2. Partners behind WebhookGuard, registered as endpoints (creates their secrets).
    let mut partners = Vec::new();
    for id in PARTNERS {
        let mut p = Partner {
            id,
            addr: "127.0.0.1:0".parse()?,
            inbox: Arc::default(),
            provider: Arc::clone(&store),
            stop: None,
        };
        keys.create_secret(&format!("webhooks/{id}")).await?;
        p.start().await;
        outbox
            .register_endpoint(
                &Endpoint::new(id, &p.url())?.with_timeout(Duration::from_secs(5)),
                &keys,
            )
            .await?;
        println!("  partner      : {id:<15} {}", p.url());
        partners.push(p);
    }
    // Ops alert webhook, signed with its own secret from the store.
    keys.create_secret("ops/alerts").await?;
    let ops_active = store.active(&SecretName::new("ops/alerts")?).await?;
    let ops_text = ops_active[0].value().expose_str()?;
    let (ops_url, ops_seen) = ops_receiver(Verifier::new(
        Scheme::Standard,
        [VerifyKey::parse(ops_text, Scheme::Standard)?],
    )?)
    .await;
    let alerts = MemoryAlertSink::new();
    let retry = RetryPolicy::new(
        [
            0, 250, 500, 1000, 2000, 2000, 3000, 3000, 5000, 5000, 5000, 5000,
        ]
        .map(Duration::from_millis),
    )?;
    let dispatcher = Dispatcher::builder(
        outbox.clone(),
        keys.clone(),
        DeliveryClient::new(
            SsrfPolicy::strict()
                .with_insecure_http()
                .allow_net("127.0.0.1")?,
        )?,
    )
    .config(
        DispatcherConfig::default()
            .retry(retry)
            .lease(Duration::from_secs(15))
            .poll_interval(Duration::from_millis(20))
            .alerts(AlertPolicy::default().alert_after(NonZeroU32::new(3).unwrap())),
    )
    .alert_sink(LogAlertSink::new())
    .alert_sink(alerts.clone())
    .alert_sink(WebhookAlertSink::new(
        url::Url::parse(&ops_url)?,
        keys.signer("ops/alerts").await?,
    )?)
    .build()
    .spawn();

    // 3./4. The stream, with a rotation, an outage and two hostile requests.
    let n = args.events;
    let mut rng = Rng(0x7477_685f_6875_6221);
    let mut sent: Vec<(String, String)> = Vec::new(); // (endpoint, message id)
    let mut by_type: BTreeMap<&str, u64> = BTreeMap::new();
    let mut direct: Vec<(&str, u16, String)> = Vec::new();
    let mut outage: Option<tokio::task::JoinHandle<Partner>> = None;
    let (mut rotated, mut went_down) = (false, false);
    let stream_start = Instant::now();
    // At least ~20 chunks, so the rotation, outage and hostile requests
    // (at 25 %, 40 %, 60 % of the stream) happen for small runs too.
    let chunk = (n / 20).clamp(1, 20);
    for start in (0..n).step_by(chunk) {
        let mut batch = Vec::new();
        for i in start..(start + chunk).min(n) {
            let (ty, body) = event(&mut rng, i, now_secs());
            *by_type.entry(ty).or_default() += 1;
            for ep in PARTNERS {
                batch.push(NewMessage::new(ep, ty, body.clone()));
            }
        }
        let endpoints: Vec<String> = batch.iter().map(|m| m.endpoint_id.clone()).collect();
        let ids = outbox.send_batch(batch).await?;
        sent.extend(endpoints.into_iter().zip(ids));

        let progress = (start + chunk).min(n) * 100 / n;
        if progress >= 25 && !rotated {
            rotated = true;
            let name = SecretName::new("webhooks/acme-retail")?;
            let v = store
                .rotate(&name, &WebhookSecretGenerator, Duration::from_secs(3600))
                .await?;
            println!(
                "  [{:>5.2}s] rotated webhooks/acme-retail → v{v} (old key valid 1 h)",
                started.elapsed().as_secs_f64()
            );
        }
        if progress >= 40 && !went_down {
            went_down = true;
            let mut p = partners.remove(1);
            p.stop().await;
            println!(
                "  [{:>5.2}s] nordic-freight receiver DOWN for 3 s",
                started.elapsed().as_secs_f64()
            );
            outage = Some(tokio::spawn(async move {
                tokio::time::sleep(Duration::from_secs(3)).await;
                p.start().await;
                p
            }));
        }
        if progress >= 60 && direct.is_empty() {
            direct = hostile_requests(&keys, &partners[0]).await?;
            for (what, status, problem) in &direct {
                println!(
                    "  [{:>5.2}s] direct {what:<8} request → {status} {problem}",
                    started.elapsed().as_secs_f64()
                );
            }
        }
        // A steady producer: about 400 events/s.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    if let Some(handle) = outage.take() {
        let p = handle.await?;
        println!(
            "  [{:>5.2}s] nordic-freight receiver UP again",
            started.elapsed().as_secs_f64()
        );
        partners.insert(1, p);
    }
    let sent_done = stream_start.elapsed();

    // 5. Drain, then account for every event.
    let drained = {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let st = outbox.stats().await?;
            if st.pending == 0 || Instant::now() > deadline {
                break st.pending == 0;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    let elapsed = stream_start.elapsed();
    dispatcher.shutdown().await;
    tokio::time::sleep(Duration::from_millis(200)).await; // last alert webhook
    // Latency percentiles are outbox-wide; the counts are this run's messages only
    // (a reused `--outbox` may hold earlier ones, even some this run delivered).
    let mut stats = outbox.stats().await?;
    let (mut delivered, mut failed, mut attempts, mut retried) = (0, 0, 0, 0);
    for (_, id) in &sent {
        let Some(m) = outbox.message(id).await? else {
            continue;
        };
        delivered += u64::from(m.state == MessageState::Delivered);
        failed += u64::from(m.state == MessageState::Failed);
        attempts += u64::from(m.attempts);
        retried += u64::from(m.attempts > 1);
    }
    (stats.delivered, stats.failed, stats.attempts, stats.retried) =
        (delivered, failed, attempts, retried);
    let this_run: HashSet<&str> = sent.iter().map(|(_, id)| id.as_str()).collect();

    let mut lost = 0_u64;
    let mut duplicates = 0_u64;
    for (ep, id) in &sent {
        let p = partners.iter().find(|p| p.id == ep).unwrap();
        match p.inbox.lock().unwrap().ids.get(id) {
            None => lost += 1,
            Some(&c) if c > 1 => duplicates += u64::from(c - 1),
            Some(_) => {}
        }
    }
    let mut rejected: BTreeMap<String, u64> = BTreeMap::new();
    for p in &partners {
        for a in outbox.attempts_by_endpoint(p.id, u32::MAX).await? {
            if !this_run.contains(a.message_id.as_str()) {
                continue;
            }
            let reason = match (a.status, a.error.as_deref()) {
                (_, Some(e)) => format!("{e} (receiver down)"),
                (Some(s), None) if !(200..300).contains(&s) => format!("HTTP {s}"),
                _ => continue,
            };
            *rejected.entry(reason).or_default() += 1;
        }
    }
    let verify_failures: u64 = rejected
        .iter()
        .filter(|(k, _)| k.as_str() == "HTTP 401" || k.as_str() == "HTTP 409")
        .map(|(_, v)| v)
        .sum();
    let tampered_ok = direct.iter().any(|(w, s, _)| *w == "tampered" && *s == 401);
    let replay_ok = direct.iter().any(|(w, s, _)| *w == "replayed" && *s == 409);
    let alert_list = alerts.alerts();
    let kinds = |k: AlertKind| alert_list.iter().filter(|a| a.kind == k).count();
    let ops = ops_seen.lock().unwrap().clone();

    // Summary.
    let line = "─".repeat(66);
    println!("\n{line}\n  Summary\n{line}");
    let row = |k: &str, v: String| println!("  {k:<40} {v}");
    row(
        "events generated",
        format!(
            "{n} ({})",
            by_type
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    );
    row("messages sent (2 partners)", sent.len().to_string());
    row("delivered (acknowledged once)", stats.delivered.to_string());
    row("lost", lost.to_string());
    row("retried (needed > 1 attempt)", stats.retried.to_string());
    row("attempts", stats.attempts.to_string());
    row("duplicates seen by receivers", duplicates.to_string());
    for (reason, count) in &rejected {
        row(&format!("rejected/failed: {reason}"), count.to_string());
    }
    for (what, status, problem) in &direct {
        row(
            &format!("direct {what} request"),
            format!("rejected with HTTP {status} ({problem})"),
        );
    }
    for p in &partners {
        let inbox = p.inbox.lock().unwrap();
        let keys: Vec<String> = inbox
            .by_key
            .iter()
            .map(|(k, v)| format!("{k}×{v}"))
            .collect();
        row(&format!("{} verified by key", p.id), keys.join(", "));
    }
    row(
        "alerts",
        format!(
            "{} (failing {}, disabled {}, recovered {}); ops webhook got {} signed",
            alert_list.len(),
            kinds(AlertKind::Failing),
            kinds(AlertKind::Disabled),
            kinds(AlertKind::Recovered),
            ops.iter().filter(|(ok, _)| *ok).count()
        ),
    );
    let ms = |d: Option<Duration>| d.map_or("-".to_owned(), |d| format!("{} ms", d.as_millis()));
    if before.delivered + before.failed + before.pending > 0 {
        row(
            "outbox reused",
            format!(
                "{} earlier messages not counted above (latency covers all)",
                before.delivered + before.failed + before.pending
            ),
        );
    }
    row(
        "delivery latency p50 / p99",
        format!("{} / {}", ms(stats.latency_p50), ms(stats.latency_p99)),
    );
    row(
        "deliveries/s (stream + drain)",
        format!("{:.0}", stats.delivered as f64 / elapsed.as_secs_f64()),
    );
    row(
        "stream / drain time",
        format!(
            "{:.2} s / {:.2} s",
            sent_done.as_secs_f64(),
            elapsed.as_secs_f64()
        ),
    );
    let outbox_kept = !args.cleanup || !outbox_path.starts_with(&work);
    if outbox_kept {
        row(
            "delivery log (SQLite outbox)",
            outbox_path.display().to_string(),
        );
        row(
            "  read it with",
            format!(
                "twh delivery log --endpoint acme-retail --outbox {}",
                outbox_path.display()
            ),
        );
    }
    if args.cleanup {
        row(
            "audit log, store",
            "removed (--cleanup); run without it to keep them".to_owned(),
        );
    } else {
        row(
            "audit log (hash-chained JSONL)",
            audit_path.display().to_string(),
        );
        row(
            "  check it with",
            format!("twh audit verify {}", audit_path.display()),
        );
    }
    println!("{line}");

    let ok = drained
        && lost == 0
        && verify_failures == 0
        && tampered_ok
        && replay_ok
        && stats.failed == 0;
    if ok {
        println!(
            "  OK: every event delivered, no verification failure, hostile requests rejected."
        );
    } else {
        println!(
            "  FAILED: drained={drained} lost={lost} verify_failures={verify_failures} \
                  tampered_rejected={tampered_ok} replay_rejected={replay_ok} failed={}",
            stats.failed
        );
    }
    if args.cleanup {
        drop(tmp);
    } else {
        // Keep the store, audit log and outbox for inspection.
        println!("  (files kept in {})", tmp.keep().display());
    }
    Ok(ok)
}

/// Sends one genuine request (accepted), the same again (replayed) and a
/// tampered copy (body changed after signing) straight to `partner`.
async fn hostile_requests(
    keys: &SecretStoreKeys,
    partner: &Partner,
) -> Result<Vec<(&'static str, u16, String)>, Box<dyn std::error::Error>> {
    let signer = keys.signer(&format!("webhooks/{}", partner.id)).await?;
    let id = format!("{DIRECT_PREFIX}{}", twh::sig::new_message_id());
    let body = br#"{"type":"inventory.adjusted","data":{"sku":"SKU-12345","delta":-2}}"#.to_vec();
    let headers = signer.sign(&Message::new(&id, now_secs(), &body))?;
    let client = reqwest::Client::new();
    let send = |body: Vec<u8>| {
        let mut req = client
            .post(partner.url())
            .header("content-type", "application/json")
            .body(body);
        for (k, v) in headers.iter() {
            req = req.header(k, v);
        }
        req.send()
    };
    let mut out = Vec::new();
    for (what, body) in [
        ("genuine", body.clone()),
        ("replayed", body.clone()),
        (
            "tampered",
            body.iter()
                .map(|b| if *b == b'2' { b'9' } else { *b })
                .collect(),
        ),
    ] {
        let resp = send(body).await?;
        let status = resp.status().as_u16();
        let problem = problem_type(&resp.bytes().await?);
        if what != "genuine" {
            out.push((what, status, problem));
        } else if status >= 300 {
            return Err(format!("genuine direct request refused: {status} {problem}").into());
        }
    }
    Ok(out)
}
