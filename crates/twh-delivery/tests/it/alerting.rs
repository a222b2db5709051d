//! Alerts: one per state change, recovery alert, signed ops webhook.

use std::num::NonZeroU32;
use std::time::Duration;

use twh_delivery::{AlertKind, AlertPolicy, MemoryAlertSink, StaticKeys, WebhookAlertSink};
use twh_sig::{Scheme, Signer, WebhookSecret};

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receiver_down_then_up_gives_one_failing_and_one_recovered_alert() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = outbox(&dir).await;
    let keys = StaticKeys::new();
    // Reserve a port, then leave it closed: connection refused.
    let rx = Receiver::start().await;
    let (addr, state) = rx.stop().await;
    let url = format!("http://{addr}/hooks");
    register(&outbox, &keys, "partner", &url).await;

    let ops_rx = Receiver::start().await;
    let ops_key = WebhookSecret::generate();
    ops_rx.verify_with(vec![ops_key.clone()]);
    let ops_sink = WebhookAlertSink::new(
        url::Url::parse(&ops_rx.url()).unwrap(),
        Signer::new(Scheme::Standard, [ops_key]).unwrap(),
    )
    .unwrap();

    let memory = MemoryAlertSink::new();
    let cfg = fast_config(&[
        0, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20,
    ])
    .alerts(AlertPolicy::default().alert_after(NonZeroU32::new(3).unwrap()));
    let handle = dispatcher(&outbox, keys.clone(), cfg)
        .alert_sink(memory.clone())
        .alert_sink(ops_sink)
        .build()
        .spawn();
    for _ in 0..5 {
        outbox.send("partner", "t", "{}").await.unwrap();
    }
    assert!(
        wait_until(Duration::from_secs(5), || async {
            !memory.alerts().is_empty()
        })
        .await,
        "no failing alert"
    );
    // Keep failing a while: still exactly one alert.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(memory.alerts().len(), 1);
    let failing = &memory.alerts()[0];
    assert_eq!(failing.kind, AlertKind::Failing);
    assert_eq!(failing.endpoint_id, "partner");
    assert!(failing.detail.contains("connect"), "{}", failing.detail);

    // The receiver comes back on the same port.
    let back = Receiver::start_on(addr, state).await;
    assert!(wait_settled(&outbox, Duration::from_secs(10)).await);
    handle.shutdown().await;
    assert_eq!(back.received().len(), 5);
    let kinds: Vec<_> = memory.alerts().iter().map(|a| a.kind).collect();
    assert_eq!(kinds, [AlertKind::Failing, AlertKind::Recovered]);

    // The ops webhook got the same two alerts, signed.
    let ops = ops_rx.received();
    assert_eq!(ops.len(), 2);
    assert!(ops.iter().all(|r| r.verified == Some(true)));
    let first: serde_json::Value = serde_json::from_slice(&ops[0].body).unwrap();
    assert_eq!(first["kind"], "failing");
    assert_eq!(first["endpoint_id"], "partner");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failure_streak_auto_disables_with_one_alert() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = outbox(&dir).await;
    let keys = StaticKeys::new();
    let rx = Receiver::start().await;
    rx.default_reply(Reply::status(500));
    register(&outbox, &keys, "flaky", &rx.url()).await;
    let memory = MemoryAlertSink::new();
    let cfg = fast_config(&[0, 10, 10, 10, 10, 10, 10, 10, 10, 10]).alerts(
        AlertPolicy::default()
            .alert_after(NonZeroU32::new(2).unwrap())
            .disable_after_failures(NonZeroU32::new(4)),
    );
    let handle = dispatcher(&outbox, keys.clone(), cfg)
        .alert_sink(memory.clone())
        .build()
        .spawn();
    outbox.send("flaky", "t", "{}").await.unwrap();
    assert!(
        wait_until(Duration::from_secs(5), || async {
            !outbox.endpoint("flaky").await.unwrap().unwrap().enabled
        })
        .await
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    handle.shutdown().await;
    let kinds: Vec<_> = memory.alerts().iter().map(|a| a.kind).collect();
    assert_eq!(kinds, [AlertKind::Failing, AlertKind::Disabled]);
    assert_eq!(rx.received().len(), 4, "nothing sent after auto-disable");
    assert_eq!(
        outbox.stats().await.unwrap().pending,
        1,
        "message kept for re-enable"
    );
}
