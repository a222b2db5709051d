//! What the guard logs: outcome, reason, scheme, message id, key id — never a
//! secret, a signature or body bytes.
use std::io::Write;
use std::sync::{Arc, Mutex};

use twh_webhook_guard::WebhookGuard;

use crate::support::*;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// One global subscriber for the whole test binary, writing into a buffer.
/// (A thread-scoped subscriber races with the callsite interest cache while
/// other tests run in parallel.) Other tests' lines land there too; the
/// assertions below only look for this test's own markers.
fn capture() -> Captured {
    static CAPTURED: std::sync::OnceLock<Captured> = std::sync::OnceLock::new();
    CAPTURED
        .get_or_init(|| {
            let captured = Captured::default();
            let writer = captured.clone();
            let subscriber = tracing_subscriber::fmt()
                .with_max_level(tracing::Level::DEBUG)
                .with_ansi(false)
                .with_writer(move || writer.clone())
                .finish();
            tracing::subscriber::set_global_default(subscriber).unwrap();
            captured
        })
        .clone()
}

#[tokio::test]
async fn logs_name_the_outcome_but_never_secrets_signatures_or_bodies() {
    let captured = capture();
    let sender = Sender::new();
    let guard = WebhookGuard::builder()
        .key_resolver(sender.verifier())
        .build();
    let addr = serve(routes().layer(guard)).await;
    let body = br#"{"card":"BODY-MARKER-4111"}"#.to_vec();
    let ok_headers = sender.sign_at("msg_logged_1", now(), &body);
    let bad_headers = Sender::new().sign_at("msg_logged_2", now(), &body);
    let signatures = [
        ok_headers["webhook-signature"].to_str().unwrap().to_owned(),
        bad_headers["webhook-signature"]
            .to_str()
            .unwrap()
            .to_owned(),
    ];
    assert_eq!(
        post(addr, "/hook", ok_headers, body.clone()).await.status(),
        200
    );
    assert_eq!(
        post(addr, "/hook", bad_headers, body.clone())
            .await
            .status(),
        401
    );

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("webhook"), "{logs}");
    assert!(logs.contains("msg_logged_1"), "message id recorded: {logs}");
    assert!(
        logs.contains(&sender.secret.key_id().to_string()),
        "key id recorded: {logs}"
    );
    assert!(
        logs.contains("invalid-signature"),
        "reason recorded: {logs}"
    );
    assert!(!logs.contains("BODY-MARKER"), "no body bytes in logs");
    for sig in &signatures {
        for part in sig.split(' ') {
            let b64 = part.trim_start_matches("v1,");
            assert!(!logs.contains(b64), "no signature in logs");
        }
    }
    let whsec = sender.secret.to_whsec();
    let whsec = secrecy::ExposeSecret::expose_secret(&whsec);
    assert!(
        !logs.contains(whsec.trim_start_matches("whsec_")),
        "no secret in logs"
    );
}

#[tokio::test]
async fn truncated_body_is_a_bad_body() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let sender = Sender::new();
    let guard = WebhookGuard::builder()
        .key_resolver(sender.verifier())
        .build();
    let addr = serve(routes().layer(guard)).await;
    let body = vec![b'x'; 100];
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(&raw_head(&sender.sign(&body), "content-length: 200\r\n"))
        .await
        .unwrap();
    stream.write_all(&body).await.unwrap();
    // The client gives up half-way: the body ends before its announced length.
    stream.shutdown().await.unwrap();
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        stream.read_to_end(&mut buf),
    )
    .await;
    let text = String::from_utf8_lossy(&buf);
    assert!(text.starts_with("HTTP/1.1 400"), "{text}");
    assert!(text.contains("urn:twh:problem:bad-body"), "{text}");
}
