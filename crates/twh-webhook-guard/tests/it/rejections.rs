use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use http::HeaderValue;
use twh_webhook_guard::twh_sig::{self, Scheme, Verifier};
use twh_webhook_guard::{
    Freshness, GuardError, RejectionKind, ReplayLayer, ReplayStore, ResolveError, StoreError,
    WebhookGuard,
};

use crate::support::*;

const BODY: &[u8] = br#"{"type":"order.created","data":{"id":42}}"#;

#[tokio::test]
async fn accepted_body_reaches_the_handler_unchanged() {
    let sender = Sender::new();
    let guard = WebhookGuard::builder()
        .key_resolver(sender.verifier())
        .build();
    let addr = serve(routes().layer(guard)).await;
    // Bytes that any re-serialisation would change: whitespace, key order, non-ASCII, a NUL.
    let body = b"{ \"b\":1,  \"a\":\"\xc3\xa9\\u00e9\" }\n\0trailing".to_vec();
    let headers = sender.sign_at("msg_exact", now(), &body);
    let res = post(addr, "/hook", headers, body.clone()).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["x-message-id"], "msg_exact");
    assert_eq!(
        res.headers()["x-key-id"],
        sender.secret.key_id().to_string().as_str()
    );
    assert_eq!(res.headers()["x-scheme"], "standard");
    assert_eq!(res.bytes().await.unwrap().as_ref(), body.as_slice());
}

#[tokio::test]
async fn every_verification_failure_has_its_status_and_type() {
    let sender = Sender::new();
    let guard = WebhookGuard::builder()
        .key_resolver(sender.verifier())
        .build();
    let addr = serve(routes().layer(guard)).await;

    // Missing headers.
    let res = post(addr, "/hook", http::HeaderMap::new(), BODY.to_vec()).await;
    assert_eq!(res.status(), 400);
    assert_eq!(problem_type(res).await, "urn:twh:problem:missing-header");

    // Malformed timestamp.
    let mut h = sender.sign(BODY);
    h.insert("webhook-timestamp", HeaderValue::from_static("yesterday"));
    let res = post(addr, "/hook", h, BODY.to_vec()).await;
    assert_eq!(res.status(), 400);
    assert_eq!(problem_type(res).await, "urn:twh:problem:malformed-header");

    // Correctly signed, but an hour old / an hour ahead.
    for ts in [now() - 3600, now() + 3600] {
        let h = sender.sign_at("msg_old", ts, BODY);
        let res = post(addr, "/hook", h, BODY.to_vec()).await;
        assert_eq!(res.status(), 401);
        assert_eq!(problem_type(res).await, "urn:twh:problem:expired");
    }
}

#[tokio::test]
async fn all_signature_mismatches_answer_the_same_401_body() {
    let sender = Sender::new();
    let guard = WebhookGuard::builder()
        .key_resolver(sender.verifier())
        .build();
    let addr = serve(routes().layer(guard)).await;

    let wrong_key = post(addr, "/hook", Sender::new().sign(BODY), BODY.to_vec()).await;
    let tampered = post(
        addr,
        "/hook",
        sender.sign(BODY),
        b"{\"type\":\"order.deleted\"}".to_vec(),
    )
    .await;
    let mut h = sender.sign(BODY);
    let sig = h["webhook-signature"].to_str().unwrap().to_owned();
    h.insert(
        "webhook-signature",
        HeaderValue::from_str(&sig[..sig.len() - 4]).unwrap(),
    );
    let truncated = post(addr, "/hook", h, BODY.to_vec()).await;

    let mut bodies = Vec::new();
    for res in [wrong_key, tampered, truncated] {
        assert_eq!(res.status(), 401);
        assert_eq!(res.headers()["content-type"], "application/problem+json");
        bodies.push(res.bytes().await.unwrap());
    }
    assert_eq!(bodies[0], bodies[1]);
    assert_eq!(bodies[1], bodies[2]);
    let v: serde_json::Value = serde_json::from_slice(&bodies[0]).unwrap();
    assert_eq!(v["type"], "urn:twh:problem:invalid-signature");
    assert_eq!(
        v.as_object().unwrap().len(),
        3,
        "type, title, status only: {v}"
    );
}

#[tokio::test]
async fn replay_and_size_and_unknown_endpoint() {
    let sender = Sender::new();
    let verifier = sender.verifier();
    let resolver = move |parts: &http::request::Parts| {
        if parts.uri.path() == "/hook" {
            Ok(verifier.clone())
        } else {
            Err(ResolveError::UnknownEndpoint)
        }
    };
    let guard = WebhookGuard::builder()
        .key_resolver(resolver)
        .body_limit(1024)
        .build();
    let addr = serve(
        routes()
            .route("/other", axum::routing::post(|| async { "x" }))
            .layer(guard),
    )
    .await;

    let h = sender.sign(BODY);
    assert_eq!(
        post(addr, "/hook", h.clone(), BODY.to_vec()).await.status(),
        200
    );
    let res = post(addr, "/hook", h, BODY.to_vec()).await;
    assert_eq!(res.status(), 409);
    assert_eq!(problem_type(res).await, "urn:twh:problem:replayed");

    let big = vec![b'x'; 1025];
    let res = post(addr, "/hook", sender.sign(&big), big).await;
    assert_eq!(res.status(), 413);
    assert_eq!(problem_type(res).await, "urn:twh:problem:payload-too-large");

    let res = post(addr, "/other", sender.sign(BODY), BODY.to_vec()).await;
    assert_eq!(res.status(), 404);
    assert_eq!(problem_type(res).await, "urn:twh:problem:unknown-endpoint");
}

/// A replay store whose backend is down: a real implementation of the public
/// trait that fails, as a broken Redis connection would.
#[derive(Debug)]
struct DownStore;

#[async_trait]
impl ReplayStore for DownStore {
    async fn check_and_insert(&self, _: &str, _: SystemTime) -> Result<Freshness, StoreError> {
        Err(StoreError::message("backend down"))
    }

    async fn release(&self, _: &str) -> Result<(), StoreError> {
        Err(StoreError::message("backend down"))
    }
}

#[tokio::test]
async fn failing_store_is_503_and_replay_without_verify_is_500() {
    let sender = Sender::new();
    let guard = WebhookGuard::builder()
        .key_resolver(sender.verifier())
        .replay_store(DownStore)
        .build();
    let addr = serve(routes().layer(guard)).await;
    let res = post(addr, "/hook", sender.sign(BODY), BODY.to_vec()).await;
    assert_eq!(res.status(), 503);
    assert_eq!(problem_type(res).await, "urn:twh:problem:unavailable");

    let misconfigured = axum::Router::new()
        .route("/hook", axum::routing::post(|| async { "unreachable" }))
        .layer(ReplayLayer::from_shared(Arc::new(DownStore)));
    let addr = serve(misconfigured).await;
    let res = post(addr, "/hook", sender.sign(BODY), BODY.to_vec()).await;
    assert_eq!(res.status(), 500);
    assert_eq!(problem_type(res).await, "urn:twh:problem:misconfigured");
}

#[tokio::test]
async fn rejection_is_in_the_response_extensions() {
    use tower::ServiceExt as _;
    let sender = Sender::new();
    let guard = WebhookGuard::builder()
        .key_resolver(sender.verifier())
        .build();
    let svc = tower::layer::Layer::layer(
        &guard,
        tower::service_fn(
            |_req: http::Request<http_body_util::Full<bytes::Bytes>>| async {
                Ok::<_, std::convert::Infallible>(http::Response::new(http_body_util::Full::new(
                    bytes::Bytes::new(),
                )))
            },
        ),
    );
    let req = http::Request::post("/hook")
        .extension(std::net::SocketAddr::from(([127, 0, 0, 1], 1)))
        .body(http_body_util::Full::new(bytes::Bytes::from_static(BODY)))
        .unwrap();
    let res = svc.oneshot(req).await.unwrap();
    let err = res
        .extensions()
        .get::<GuardError>()
        .expect("error extension");
    assert_eq!(err.kind(), RejectionKind::MissingHeader);
    assert!(
        std::error::Error::source(err).is_some(),
        "precise cause kept for logs"
    );
}

#[tokio::test]
async fn slow_sender_gets_408_and_timestamp_less_scheme_works() {
    let sender = Sender::new();
    let guard = WebhookGuard::builder()
        .key_resolver(sender.verifier())
        .body_timeout(Duration::from_millis(400))
        .unwrap()
        .build();
    let addr = serve(routes().layer(guard)).await;
    let h = sender.sign(BODY);
    let head = raw_head(&h, "transfer-encoding: chunked\r\n");
    let parts = vec![
        (Duration::ZERO, head),
        (Duration::ZERO, chunk(&BODY[..10])),
        (Duration::from_millis(700), chunk(&BODY[10..])),
        (Duration::ZERO, b"0\r\n\r\n".to_vec()),
    ];
    let res = raw(addr, parts).await;
    assert_eq!(res.status, 408, "{}", res.head);
    assert_eq!(res.problem_type(), "urn:twh:problem:body-timeout");

    // GitHub: no message id, no timestamp — still verified, and a replay of
    // the identical delivery is caught through the body digest.
    let secret = twh_sig::WebhookSecret::from_bytes(b"it's a secret to everybody").unwrap();
    let verifier = Verifier::new(Scheme::GitHub, [secret.clone()]).unwrap();
    let signer = twh_sig::Signer::new(Scheme::GitHub, [secret]).unwrap();
    let guard = WebhookGuard::builder().key_resolver(verifier).build();
    let addr = serve(routes().layer(guard)).await;
    let mut h = signer
        .sign(&twh_sig::Message::new("gh-delivery-1", 0, BODY))
        .unwrap()
        .into_header_map();
    h.remove("x-github-delivery");
    assert_eq!(
        post(addr, "/hook", h.clone(), BODY.to_vec()).await.status(),
        200
    );
    assert_eq!(post(addr, "/hook", h, BODY.to_vec()).await.status(), 409);
}

#[tokio::test]
async fn a_message_the_handler_failed_on_can_be_retried() {
    let sender = Sender::new();
    let guard = WebhookGuard::builder()
        .key_resolver(sender.verifier())
        .build();
    let addr = serve(routes().layer(guard)).await;
    let h = sender.sign(BODY);
    // The handler fails: the id is released, the sender's retry is processed…
    assert_eq!(
        post(addr, "/boom", h.clone(), BODY.to_vec()).await.status(),
        500
    );
    assert_eq!(
        post(addr, "/hook", h.clone(), BODY.to_vec()).await.status(),
        200
    );
    // …and once handled, it is a replay.
    assert_eq!(post(addr, "/hook", h, BODY.to_vec()).await.status(), 409);
}
