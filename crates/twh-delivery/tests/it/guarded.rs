//! SIGKILL loop against a receiver behind twh-webhook-guard.

use std::collections::HashSet;
use std::time::Duration;

use twh_delivery::{KeySource, StaticKeys};

use crate::kill_loop::kill_loop;

/// The same against a receiver behind `WebhookGuard`: its replay store turns
/// re-sent messages into `409 replayed`, which acknowledges them
/// (`AlreadyReceived`), so the handler sees every message exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_loop_against_a_guarded_receiver_reaches_the_handler_exactly_once() {
    use std::collections::HashMap;
    use std::net::SocketAddr;
    use std::sync::{Arc, Mutex};

    use axum::{Extension, Router, routing::post};
    use twh_sig::{Scheme, Verifier};
    use twh_webhook_guard::{Quota, VerifiedWebhook, WebhookGuard};

    let dir = tempfile::tempdir().unwrap();
    let keys = StaticKeys::new();
    keys.create_secret("webhooks/sink").await.unwrap();
    let seen: Arc<Mutex<HashMap<String, u32>>> = Arc::default();
    let s = Arc::clone(&seen);
    let guard = WebhookGuard::builder()
        .key_resolver(Verifier::new(Scheme::Standard, keys.get("webhooks/sink")).unwrap())
        .rate_limit(Quota::per_second(
            std::num::NonZeroU32::new(100_000).unwrap(),
        ))
        .build();
    let app = Router::new()
        .route(
            "/hooks",
            post(move |Extension(hook): Extension<VerifiedWebhook>| {
                let s = Arc::clone(&s);
                async move {
                    // Take the event before the first `.await`: a handler
                    // cancelled (client killed) after the guard recorded the
                    // id but before taking the event would lose it.
                    *s.lock()
                        .unwrap()
                        .entry(hook.message_id.unwrap_or_default())
                        .or_default() += 1;
                    tokio::time::sleep(Duration::from_millis(8)).await;
                    "ok"
                }
            }),
        )
        .layer(guard);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks", listener.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    let ids = kill_loop(&dir, &url, &keys).await;
    let seen = seen.lock().unwrap();
    let got: HashSet<String> = seen.keys().cloned().collect();
    assert_eq!(got, ids, "every message reached the handler");
    assert!(
        seen.values().all(|&n| n == 1),
        "the guard let a message through twice"
    );
}
