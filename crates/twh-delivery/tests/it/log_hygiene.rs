//! Delivery log and tracing output never contain a secret or a signature.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use twh_delivery::StaticKeys;
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

#[test]
fn no_secret_or_signature_in_traces_or_delivery_log() {
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    // Current-thread runtime: every task runs where the subscriber is set.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
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
