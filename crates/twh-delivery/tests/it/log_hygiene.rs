//! Delivery log and tracing output never contain a secret or a signature.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use twh_delivery::{
    AlertKind, AttemptOutcome, Endpoint, LogAlertSink, MemoryAlertSink, StaticKeys,
};
use twh_sig::secrecy::ExposeSecret;

use crate::support::*;

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A TRACE-level subscriber writing into the returned buffer, and a
/// current-thread runtime (every task runs where the subscriber is set).
fn capturing() -> (Capture, impl tracing::Subscriber, tokio::runtime::Runtime) {
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    (capture, subscriber, rt)
}

#[test]
fn no_secret_or_signature_in_traces_or_delivery_log() {
    let (capture, subscriber, rt) = capturing();
    let (secret_text, signatures, id, log) = tracing::subscriber::with_default(subscriber, || {
        rt.block_on(async {
            let dir = tempfile::tempdir().unwrap();
            let outbox = outbox(&dir).await;
            let keys = StaticKeys::new();
            let rx = Receiver::start().await;
            register(&outbox, &keys, "acme", &rx.url()).await;
            rx.script([Reply::status(500).body("try later")]);
            let id = outbox.send("acme", "order.created", "{}").await.unwrap();
            let handle = dispatcher(&outbox, keys.clone(), fast_config(&[0, 10]))
                .build()
                .spawn();
            assert!(wait_settled(&outbox, Duration::from_secs(5)).await);
            handle.shutdown().await;
            let secret = keys.get("webhooks/acme").remove(0);
            let text = secret.to_whsec().expose_secret().to_owned();
            let sigs: Vec<String> = rx.received().iter().map(|r| r.signature.clone()).collect();
            let log = outbox.attempts_by_message(&id).await.unwrap();
            (text, sigs, id, log)
        })
    });
    let out = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(
        out.contains("delivery attempt"),
        "attempts are traced:\n{out}"
    );
    assert!(out.contains(&id));
    assert_eq!(signatures.len(), 2);
    let key_b64 = secret_text.trim_start_matches("whsec_");
    for needle in std::iter::once(key_b64.to_owned()).chain(
        signatures
            .iter()
            .flat_map(|s| s.split(' ').map(|p| p.trim_start_matches("v1,").to_owned())),
    ) {
        assert!(!out.contains(&needle), "secret or signature in traces");
        for a in &log {
            let row = format!("{a:?}");
            assert!(
                !row.contains(&needle),
                "secret or signature in the delivery log"
            );
        }
    }
    assert_eq!(log.len(), 2);
    assert_eq!(log[0].response_body, b"try later");
}

#[test]
fn no_url_password_or_query_in_debug_traces_delivery_log_or_alerts() {
    let (capture, subscriber, rt) = capturing();
    let (texts, log) = tracing::subscriber::with_default(subscriber, || {
        rt.block_on(async {
            let dir = tempfile::tempdir().unwrap();
            let outbox = outbox(&dir).await;
            let keys = StaticKeys::new();
            let rx = Receiver::start().await;
            let host = rx.addr;
            // Delivered: a token in the query is fine for the policy.
            let token = register(
                &outbox,
                &keys,
                "token",
                &format!("http://{host}/h?token=abc"),
            )
            .await;
            rx.script([Reply::status(500)]);
            // Refused by the policy (credentials in the URL): disabled, alerted.
            let basic = register(
                &outbox,
                &keys,
                "basic",
                &format!("http://user:hunter2@{host}/h?token=abc"),
            )
            .await;
            let alerts = MemoryAlertSink::new();
            let handle = dispatcher(&outbox, keys.clone(), fast_config(&[0, 10]))
                .alert_sink(LogAlertSink::new())
                .alert_sink(alerts.clone())
                .build()
                .spawn();
            let a = outbox.send("token", "t", "{}").await.unwrap();
            let b = outbox.send("basic", "t", "{}").await.unwrap();
            assert!(wait_settled(&outbox, Duration::from_secs(5)).await);
            handle.shutdown().await;
            assert_eq!(rx.received().len(), 2, "token: 500, then 200");
            let mut log = outbox.attempts_by_message(&a).await.unwrap();
            log.extend(outbox.attempts_by_message(&b).await.unwrap());
            let alerts = alerts.alerts();
            assert_eq!(alerts.len(), 1, "{alerts:?}");
            assert_eq!(alerts[0].kind, AlertKind::Disabled);
            let stored: Vec<Endpoint> = outbox.endpoints().await.unwrap();
            let texts = vec![
                format!("{token:?}"),
                format!("{basic:?}"),
                format!("{stored:?}"),
                format!("{alerts:?}"),
                format!("{:?}", outbox.disabled_reason("basic").await.unwrap()),
            ];
            (texts, log)
        })
    });
    let out = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(
        out.contains("delivery attempt"),
        "attempts are traced:\n{out}"
    );
    assert!(out.contains("delivery alert"), "alerts are traced:\n{out}");
    assert!(
        out.contains("URL must not carry credentials"),
        "the refusal is traced:\n{out}"
    );
    let outcomes: Vec<_> = log.iter().map(|a| a.outcome).collect();
    assert_eq!(
        outcomes,
        [
            AttemptOutcome::Retry,
            AttemptOutcome::Delivered,
            AttemptOutcome::Blocked
        ]
    );
    assert!(
        texts[0].contains("/h?…") && texts[1].contains("***@"),
        "{texts:?}"
    );
    for needle in ["hunter2", "token=abc"] {
        assert!(!out.contains(needle), "{needle} in traces:\n{out}");
        for text in &texts {
            assert!(!text.contains(needle), "{needle} in {text}");
        }
        for a in &log {
            let row = format!("{a:?}");
            assert!(!row.contains(needle), "{needle} in the delivery log: {row}");
        }
    }
}
