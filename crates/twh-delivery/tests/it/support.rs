//! A scriptable webhook receiver and helpers.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use tokio::sync::oneshot;
use twh_delivery::{
    DeliveryClient, Dispatcher, DispatcherConfig, Durability, Endpoint, KeySource, Outbox,
    OutboxOptions, RetryPolicy, SsrfPolicy,
};
use twh_sig::{Scheme, Verifier, WebhookSecret};

/// What the receiver answers.
#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
}

impl Reply {
    pub fn status(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: String::new(),
        }
    }

    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    pub fn body(mut self, body: impl Into<String>) -> Self {
        self.body = body.into();
        self
    }
}

/// One request as received.
#[derive(Clone, Debug)]
pub struct Received {
    pub id: String,
    pub signature: String,
    pub body: Bytes,
    /// `Some(true)` if it verified with the receiver's keys.
    pub verified: Option<bool>,
    pub at: Instant,
}

#[derive(Default)]
pub struct RecvState {
    pub received: Mutex<Vec<Received>>,
    pub script: Mutex<VecDeque<Reply>>,
    pub default: Mutex<Option<Reply>>,
    pub verifier: Mutex<Option<Verifier>>,
    pub delay: Mutex<Duration>,
    pub in_flight: AtomicU32,
    pub max_in_flight: AtomicU32,
}

pub struct Receiver {
    pub addr: SocketAddr,
    pub state: Arc<RecvState>,
    stop: Option<oneshot::Sender<()>>,
    join: Option<tokio::task::JoinHandle<()>>,
}

impl Receiver {
    /// Starts on a free loopback port.
    pub async fn start() -> Self {
        Self::start_on(
            "127.0.0.1:0".parse().unwrap(),
            Arc::new(RecvState::default()),
        )
        .await
    }

    /// Starts on `addr` with `state` (to restart a receiver where it was).
    pub async fn start_on(addr: SocketAddr, state: Arc<RecvState>) -> Self {
        let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&state));
        let (tx, rx) = oneshot::channel::<()>();
        let join = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await
                .unwrap();
        });
        Self {
            addr,
            state,
            stop: Some(tx),
            join: Some(join),
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}/hooks", self.addr)
    }

    /// Stops listening (the port is free afterwards).
    pub async fn stop(mut self) -> (SocketAddr, Arc<RecvState>) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(j) = self.join.take() {
            let _ = tokio::time::timeout(Duration::from_secs(5), j).await;
        }
        (self.addr, Arc::clone(&self.state))
    }

    pub fn verify_with(&self, keys: Vec<WebhookSecret>) {
        *self.state.verifier.lock().unwrap() = Some(Verifier::new(Scheme::Standard, keys).unwrap());
    }

    pub fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        self.state.script.lock().unwrap().extend(replies);
    }

    pub fn default_reply(&self, reply: Reply) {
        *self.state.default.lock().unwrap() = Some(reply);
    }

    pub fn set_delay(&self, d: Duration) {
        *self.state.delay.lock().unwrap() = d;
    }

    pub fn received(&self) -> Vec<Received> {
        self.state.received.lock().unwrap().clone()
    }
}

async fn handle(State(state): State<Arc<RecvState>>, headers: HeaderMap, body: Bytes) -> Response {
    let n = state.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    state.max_in_flight.fetch_max(n, Ordering::SeqCst);
    let delay = *state.delay.lock().unwrap();
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let get = |h: &str| {
        headers
            .get(h)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let verified = state
        .verifier
        .lock()
        .unwrap()
        .as_ref()
        .map(|v| v.verify(&headers, &body).is_ok());
    state.received.lock().unwrap().push(Received {
        id: get("webhook-id"),
        signature: get("webhook-signature"),
        body,
        verified,
        at: Instant::now(),
    });
    let reply = state
        .script
        .lock()
        .unwrap()
        .pop_front()
        .or_else(|| state.default.lock().unwrap().clone())
        .unwrap_or_else(|| Reply::status(200));
    state.in_flight.fetch_sub(1, Ordering::SeqCst);
    let mut resp = (StatusCode::from_u16(reply.status).unwrap(), reply.body).into_response();
    for (k, v) in reply.headers {
        resp.headers_mut().insert(
            HeaderName::from_static(k),
            HeaderValue::from_str(&v).unwrap(),
        );
    }
    resp
}

/// The policy tests use: loopback allowed, plain http allowed.
pub fn loopback_policy() -> SsrfPolicy {
    SsrfPolicy::strict()
        .with_insecure_http()
        .allow_net("127.0.0.1")
        .unwrap()
}

pub fn client() -> DeliveryClient {
    DeliveryClient::new(loopback_policy())
        .unwrap()
        .with_default_timeout(Duration::from_secs(5))
}

/// A millisecond-scale retry policy without jitter.
pub fn fast_retry(steps_ms: &[u64]) -> RetryPolicy {
    RetryPolicy::new(steps_ms.iter().map(|&ms| Duration::from_millis(ms)))
        .unwrap()
        .with_jitter_percent(0)
        .unwrap()
}

pub fn fast_config(steps_ms: &[u64]) -> DispatcherConfig {
    DispatcherConfig::default()
        .retry(fast_retry(steps_ms))
        .poll_interval(Duration::from_millis(5))
        .lease(Duration::from_secs(10))
}

pub async fn outbox(dir: &tempfile::TempDir) -> Outbox {
    Outbox::open_with(
        dir.path().join("outbox.db"),
        OutboxOptions::default().durability(Durability::Normal),
    )
    .await
    .unwrap()
}

pub async fn register(outbox: &Outbox, keys: &impl KeySource, id: &str, url: &str) -> Endpoint {
    let ep = Endpoint::new(id, url).unwrap();
    outbox.register_endpoint(&ep, keys).await.unwrap();
    ep
}

pub fn dispatcher(
    outbox: &Outbox,
    keys: impl KeySource,
    config: DispatcherConfig,
) -> twh_delivery::DispatcherBuilder {
    Dispatcher::builder(outbox.clone(), keys, client()).config(config)
}

/// Polls `cond` every 10 ms until it holds or `timeout` passes.
pub async fn wait_until<F, Fut>(timeout: Duration, mut cond: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if cond().await {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

pub async fn wait_settled(outbox: &Outbox, timeout: Duration) -> bool {
    wait_until(timeout, || async {
        outbox.stats().await.unwrap().pending == 0
    })
    .await
}
