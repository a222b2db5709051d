//! Happy path, delivery log, per-endpoint concurrency cap, rate limit.

use std::num::NonZeroU32;
use std::sync::atomic::Ordering;
use std::time::Duration;

use twh_delivery::{
    AttemptOutcome, ConfigError, Endpoint, KeySource, MessageState, NewMessage, OutboxError,
    StaticKeys,
};

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivers_signed_messages_and_logs_every_attempt() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = outbox(&dir).await;
    let keys = StaticKeys::new();
    let rx = Receiver::start().await;
    register(&outbox, &keys, "acme", &rx.url()).await;
    rx.verify_with(keys.get("webhooks/acme"));
    rx.default_reply(Reply::status(200).body("ok thanks"));

    let mut ids = Vec::new();
    for i in 0..20 {
        ids.push(
            outbox
                .send("acme", "order.created", format!(r#"{{"order":"SO-{i}"}}"#))
                .await
                .unwrap(),
        );
    }
    let handle = dispatcher(&outbox, keys.clone(), fast_config(&[0, 10]))
        .build()
        .spawn();
    assert!(wait_settled(&outbox, Duration::from_secs(10)).await);
    handle.shutdown().await;

    let got = rx.received();
    assert_eq!(got.len(), 20);
    assert!(
        got.iter().all(|r| r.verified == Some(true)),
        "every request verifies"
    );
    let mut got_ids: Vec<_> = got.iter().map(|r| r.id.clone()).collect();
    got_ids.sort();
    let mut want = ids.clone();
    want.sort();
    assert_eq!(got_ids, want);
    let stats = outbox.stats().await.unwrap();
    assert_eq!(
        (stats.delivered, stats.pending, stats.failed, stats.attempts),
        (20, 0, 0, 20)
    );
    assert!(stats.latency_p50.is_some());

    let log = outbox.attempts_by_message(&ids[3]).await.unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].status, Some(200));
    assert_eq!(log[0].attempt, 1);
    assert_eq!(log[0].outcome, AttemptOutcome::Delivered);
    assert_eq!(log[0].response_body, b"ok thanks");
    assert_eq!(
        outbox
            .attempts_by_endpoint("acme", 100)
            .await
            .unwrap()
            .len(),
        20
    );
    let info = outbox.message(&ids[3]).await.unwrap().unwrap();
    assert_eq!(info.state, MessageState::Delivered);
    assert_eq!(info.attempts, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_is_durable_before_it_returns_and_rejects_unknown_endpoints() {
    let dir = tempfile::tempdir().unwrap();
    let keys = StaticKeys::new();
    let id = {
        let outbox = outbox(&dir).await;
        register(&outbox, &keys, "acme", "http://127.0.0.1:9/x").await;
        let err = outbox.send("nobody", "x", "{}").await.unwrap_err();
        assert!(matches!(err, OutboxError::UnknownEndpoint { .. }), "{err}");
        let batch = outbox
            .send_batch(vec![
                NewMessage::new("acme", "a", "{}"),
                NewMessage::new("nobody", "b", "{}"),
            ])
            .await;
        assert!(batch.is_err(), "a batch is all or nothing");
        outbox.send("acme", "order.created", "{}").await.unwrap()
    };
    // A new handle (as after a restart) sees exactly the committed message.
    let reopened = outbox(&dir).await;
    let stats = reopened.stats().await.unwrap();
    assert_eq!(stats.pending, 1);
    assert_eq!(
        reopened.message(&id).await.unwrap().unwrap().state,
        MessageState::Pending
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_http_and_https_endpoints_are_registered() {
    assert!(matches!(
        Endpoint::new("a", "ftp://x/y"),
        Err(ConfigError::InvalidUrl { .. })
    ));
    let dir = tempfile::tempdir().unwrap();
    let outbox = outbox(&dir).await;
    let keys = StaticKeys::new();
    // The fields are public: registration checks again.
    let mut ep = Endpoint::new("acme", "https://hooks.example/x").unwrap();
    ep.url = url::Url::parse("ftp://user:hunter2@x/y?token=abc").unwrap();
    let mut bad_id = Endpoint::new("acme", "https://hooks.example/x").unwrap();
    bad_id.id = "Bad Id".to_owned();
    for (ep, what) in [(ep, "ftp"), (bad_id, "id")] {
        let err = outbox.register_endpoint(&ep, &keys).await.unwrap_err();
        let OutboxError::InvalidEndpoint { source, .. } = &err else {
            panic!("{what}: {err:?}");
        };
        let text = format!("{err}: {source}");
        assert!(text.contains(what), "{text}");
        assert!(
            !text.contains("hunter2") && !text.contains("token"),
            "{text}"
        );
        let err = outbox.upsert_endpoint(&ep).await.unwrap_err();
        assert!(
            matches!(err, OutboxError::InvalidEndpoint { .. }),
            "{err:?}"
        );
    }
    assert!(outbox.endpoints().await.unwrap().is_empty());
    assert!(
        keys.signer("webhooks/acme").await.is_err(),
        "no secret is created for a refused endpoint"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_endpoint_concurrency_cap_protects_other_endpoints() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = outbox(&dir).await;
    let keys = StaticKeys::new();
    let slow = Receiver::start().await;
    slow.set_delay(Duration::from_millis(200));
    let fast = Receiver::start().await;
    register(&outbox, &keys, "slow", &slow.url()).await;
    register(&outbox, &keys, "fast", &fast.url()).await;
    for _ in 0..40 {
        outbox.send("slow", "t", "{}").await.unwrap();
    }
    for _ in 0..40 {
        outbox.send("fast", "t", "{}").await.unwrap();
    }
    let cfg = fast_config(&[0]).max_in_flight_per_endpoint(NonZeroU32::new(4).unwrap());
    let handle = dispatcher(&outbox, keys.clone(), cfg).build().spawn();
    // The fast endpoint finishes while the slow one is still far from done.
    assert!(
        wait_until(Duration::from_secs(5), || async {
            fast.received().len() == 40
        })
        .await,
        "fast endpoint starved"
    );
    assert!(slow.received().len() < 40);
    assert!(wait_settled(&outbox, Duration::from_secs(20)).await);
    handle.shutdown().await;
    let max = slow.state.max_in_flight.load(Ordering::SeqCst);
    assert!(
        (2..=4).contains(&max),
        "slow endpoint saw {max} concurrent requests"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_spaces_deliveries() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = outbox(&dir).await;
    let keys = StaticKeys::new();
    let rx = Receiver::start().await;
    let ep = Endpoint::new("limited", &rx.url())
        .unwrap()
        .with_rate_limit(NonZeroU32::new(20).unwrap());
    outbox.register_endpoint(&ep, &keys).await.unwrap();
    for _ in 0..11 {
        outbox.send("limited", "t", "{}").await.unwrap();
    }
    let handle = dispatcher(&outbox, keys.clone(), fast_config(&[0]))
        .build()
        .spawn();
    assert!(wait_settled(&outbox, Duration::from_secs(10)).await);
    handle.shutdown().await;
    let got = rx.received();
    assert_eq!(got.len(), 11);
    let first = got.iter().map(|r| r.at).min().unwrap();
    let last = got.iter().map(|r| r.at).max().unwrap();
    // 11 deliveries at 20/s span at least 10 intervals of 50 ms.
    assert!(
        last - first >= Duration::from_millis(450),
        "{:?}",
        last - first
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prune_removes_only_old_delivered_messages() {
    use twh_delivery::{ManualClock, Outbox, OutboxOptions};
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(1_700_000_000_000);
    let outbox = Outbox::open_with(
        dir.path().join("o.db"),
        OutboxOptions::default().clock(clock.clone()),
    )
    .await
    .unwrap();
    let keys = StaticKeys::new();
    let ok = Receiver::start().await;
    let bad = Receiver::start().await;
    bad.default_reply(Reply::status(500));
    register(&outbox, &keys, "ok", &ok.url()).await;
    register(&outbox, &keys, "bad", &bad.url()).await;
    let delivered = outbox.send("ok", "t", "{}").await.unwrap();
    let failed = outbox.send("bad", "t", "{}").await.unwrap();
    let handle = dispatcher(&outbox, keys.clone(), fast_config(&[0]))
        .build()
        .spawn();
    assert!(wait_settled(&outbox, Duration::from_secs(5)).await);
    handle.shutdown().await;
    assert_eq!(
        outbox
            .prune_delivered(Duration::from_secs(3600))
            .await
            .unwrap(),
        0
    );
    clock.advance(Duration::from_secs(7200));
    let pending = outbox.send("ok", "t", "{}").await.unwrap();
    assert_eq!(
        outbox
            .prune_delivered(Duration::from_secs(3600))
            .await
            .unwrap(),
        1
    );
    assert!(outbox.message(&delivered).await.unwrap().is_none());
    assert!(
        outbox
            .attempts_by_message(&delivered)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        outbox.message(&failed).await.unwrap().unwrap().state,
        MessageState::Failed
    );
    assert_eq!(outbox.attempts_by_message(&failed).await.unwrap().len(), 1);
    assert!(outbox.message(&pending).await.unwrap().is_some());
}

#[tokio::test]
async fn an_older_outbox_is_upgraded_and_a_newer_one_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outbox.db");
    drop(twh_delivery::Outbox::open(&path).await.unwrap());
    let version = |path: &std::path::Path| -> i64 {
        rusqlite::Connection::open(path)
            .unwrap()
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap()
    };
    let set = |v: i64| {
        rusqlite::Connection::open(&path)
            .unwrap()
            .execute_batch(&format!("PRAGMA user_version={v}"))
            .unwrap();
    };
    assert_eq!(
        version(&path),
        2,
        "attempts may be `blocked` since version 2"
    );
    set(1);
    drop(twh_delivery::Outbox::open(&path).await.unwrap());
    assert_eq!(version(&path), 2, "a version-1 outbox is upgraded in place");
    set(3);
    let err = twh_delivery::Outbox::open(&path).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("schema version 3 is newer than this build (2)"),
        "{err}"
    );
}
