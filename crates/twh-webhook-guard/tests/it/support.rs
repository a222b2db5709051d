use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::Extension;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing;
use http::HeaderMap;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use twh_webhook_guard::VerifiedWebhook;
use twh_webhook_guard::twh_sig::{
    Message, Scheme, Signer, Verifier, WebhookSecret, new_message_id,
};

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A sender holding one key; signs like the Hub does.
#[derive(Clone)]
pub struct Sender {
    pub secret: WebhookSecret,
    signer: Signer,
}

impl Sender {
    pub fn new() -> Self {
        Self::with_secret(WebhookSecret::generate())
    }

    pub fn with_secret(secret: WebhookSecret) -> Self {
        let signer = Signer::new(Scheme::Standard, [secret.clone()]).unwrap();
        Self { secret, signer }
    }

    pub fn verifier(&self) -> Verifier {
        Verifier::new(Scheme::Standard, [self.secret.clone()]).unwrap()
    }

    pub fn sign_at(&self, id: &str, ts: u64, body: &[u8]) -> HeaderMap {
        self.signer
            .sign(&Message::new(id, ts, body))
            .unwrap()
            .into_header_map()
    }

    /// Fresh id, current time.
    pub fn sign(&self, body: &[u8]) -> HeaderMap {
        self.sign_at(&new_message_id(), now(), body)
    }
}

async fn echo(Extension(v): Extension<VerifiedWebhook>, body: Bytes) -> impl IntoResponse {
    (
        [
            ("x-message-id", v.message_id.clone().unwrap_or_default()),
            ("x-key-id", v.key_id.to_string()),
            ("x-scheme", v.scheme.to_string()),
        ],
        body,
    )
}

async fn boom(Extension(_v): Extension<VerifiedWebhook>) -> impl IntoResponse {
    (StatusCode::INTERNAL_SERVER_ERROR, "handler failed")
}

/// `/hook` echoes the verified body; `/boom` fails with 500 after verification.
pub fn routes() -> Router {
    Router::new()
        .route("/hook", routing::post(echo))
        .route("/boom", routing::post(boom))
}

/// Serves `router` on a free loopback port, with the peer address available
/// to the guard.
pub async fn serve(router: Router) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    addr
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

pub async fn post(
    addr: SocketAddr,
    path: &str,
    headers: HeaderMap,
    body: Vec<u8>,
) -> reqwest::Response {
    client()
        .post(format!("http://{addr}{path}"))
        .headers(headers)
        .body(body)
        .send()
        .await
        .unwrap()
}

/// The problem `type` of a response, asserting the media type.
pub async fn problem_type(res: reqwest::Response) -> String {
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let status = res.status().as_u16();
    let v: serde_json::Value = res.json().await.unwrap();
    assert_eq!(v["status"], status, "status in body matches");
    v["type"].as_str().unwrap().to_owned()
}

/// A raw HTTP/1.1 exchange: writes each part after its delay, then reads the
/// whole response (the request says `Connection: close`).
pub async fn raw(addr: SocketAddr, parts: Vec<(Duration, Vec<u8>)>) -> RawResponse {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    for (delay, bytes) in parts {
        tokio::time::sleep(delay).await;
        if stream.write_all(&bytes).await.is_err() {
            break; // the server may have answered and closed already
        }
    }
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut buf)).await;
    RawResponse::parse(&buf)
}

#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    pub head: String,
    pub body: Vec<u8>,
}

impl RawResponse {
    fn parse(buf: &[u8]) -> Self {
        let split = buf
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("a response head");
        let head = String::from_utf8_lossy(&buf[..split]).into_owned();
        let status = head.split(' ').nth(1).unwrap().parse().unwrap();
        Self {
            status,
            head,
            body: buf[split + 4..].to_vec(),
        }
    }

    pub fn problem_type(&self) -> String {
        let lower = self.head.to_ascii_lowercase();
        assert!(
            lower.contains("content-type: application/problem+json"),
            "{}",
            self.head
        );
        let v: serde_json::Value = serde_json::from_slice(&self.body).unwrap();
        v["type"].as_str().unwrap().to_owned()
    }
}

/// Request head for a raw POST /hook with the given signature headers.
pub fn raw_head(headers: &HeaderMap, framing: &str) -> Vec<u8> {
    let mut head = String::from("POST /hook HTTP/1.1\r\nhost: test\r\nconnection: close\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {}\r\n", v.to_str().unwrap()));
    }
    head.push_str(framing);
    head.push_str("\r\n");
    head.into_bytes()
}

/// One chunk in chunked transfer encoding.
pub fn chunk(data: &[u8]) -> Vec<u8> {
    let mut out = format!("{:x}\r\n", data.len()).into_bytes();
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
    out
}

/// The Redis address from `scripts/test`, `None` only with `TWH_SKIP_SERVICES=1`.
pub fn redis_url() -> Option<String> {
    match std::env::var("TWH_TEST_REDIS_URL") {
        Ok(url) => Some(url),
        Err(_) if std::env::var("TWH_SKIP_SERVICES").as_deref() == Ok("1") => {
            eprintln!("TWH_SKIP_SERVICES=1: skipping a Redis test");
            None
        }
        Err(_) => panic!(
            "TWH_TEST_REDIS_URL is not set: run the tests through `scripts/test` \
             (e.g. `scripts/test cargo test -p twh-webhook-guard`), which starts Redis, \
             or set TWH_SKIP_SERVICES=1 to skip the Redis tests explicitly"
        ),
    }
}

/// A key prefix unique to this test run.
pub fn unique_prefix(name: &str) -> String {
    format!("twh:test:{name}:{}:", new_message_id())
}
