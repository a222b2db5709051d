//! Retry schedule, Retry-After, 410 Gone, exhaustion and operator re-queue.

use std::time::Duration;

use twh_delivery::{AttemptOutcome, MessageState, StaticKeys};

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_are_retried_with_same_id_and_fresh_timestamp() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = outbox(&dir).await;
    let keys = StaticKeys::new();
    let rx = Receiver::start().await;
    register(&outbox, &keys, "acme", &rx.url()).await;
    rx.script([
        Reply::status(500).body("boom"),
        Reply::status(404),
        Reply::status(502),
    ]);
    let id = outbox.send("acme", "order.created", "{}").await.unwrap();
    let handle = dispatcher(&outbox, keys.clone(), fast_config(&[0, 20, 20, 20, 20]))
        .build()
        .spawn();
    assert!(wait_settled(&outbox, Duration::from_secs(10)).await);
    handle.shutdown().await;

    let got = rx.received();
    assert_eq!(got.len(), 4);
    assert!(
        got.iter().all(|r| r.id == id),
        "same webhook-id on every retry"
    );
    let log = outbox.attempts_by_message(&id).await.unwrap();
    let statuses: Vec<_> = log.iter().map(|a| a.status).collect();
    assert_eq!(statuses, [Some(500), Some(404), Some(502), Some(200)]);
    let attempts: Vec<_> = log.iter().map(|a| a.attempt).collect();
    assert_eq!(attempts, [1, 2, 3, 4]);
    let outcomes: Vec<_> = log.iter().map(|a| a.outcome).collect();
    assert_eq!(
        outcomes,
        [
            AttemptOutcome::Retry,
            AttemptOutcome::Retry,
            AttemptOutcome::Retry,
            AttemptOutcome::Delivered
        ]
    );
    assert_eq!(log[0].response_body, b"boom");
    let stats = outbox.stats().await.unwrap();
    assert_eq!((stats.delivered, stats.retried), (1, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timestamps_are_fresh_per_attempt() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = outbox(&dir).await;
    let keys = StaticKeys::new();
    let rx = Receiver::start().await;
    register(&outbox, &keys, "acme", &rx.url()).await;
    rx.verify_with(keys.get("webhooks/acme"));
    rx.script([Reply::status(500)]);
    let id = outbox.send("acme", "t", "{}").await.unwrap();
    // 1.1 s between attempts so the second-resolution timestamp must change.
    let handle = dispatcher(&outbox, keys.clone(), fast_config(&[0, 1100]))
        .build()
        .spawn();
    assert!(wait_settled(&outbox, Duration::from_secs(10)).await);
    handle.shutdown().await;
    let got = rx.received();
    assert_eq!(got.len(), 2);
    assert!(got.iter().all(|r| r.id == id && r.verified == Some(true)));
    assert_ne!(
        got[0].signature, got[1].signature,
        "re-signed with a new timestamp"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_seconds_and_http_date_are_honoured() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = outbox(&dir).await;
    let keys = StaticKeys::new();
    let rx = Receiver::start().await;
    register(&outbox, &keys, "acme", &rx.url()).await;
    let date = httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(4));
    rx.script([
        Reply::status(429).header("retry-after", "1"),
        Reply::status(503).header("retry-after", date),
    ]);
    outbox.send("acme", "t", "{}").await.unwrap();
    let handle = dispatcher(&outbox, keys.clone(), fast_config(&[0, 10, 10, 10]))
        .build()
        .spawn();
    assert!(wait_settled(&outbox, Duration::from_secs(15)).await);
    handle.shutdown().await;
    let got = rx.received();
    assert_eq!(got.len(), 3);
    let gap1 = got[1].at - got[0].at;
    let gap2 = got[2].at - got[1].at;
    assert!(
        gap1 >= Duration::from_millis(950),
        "Retry-After: 1 ignored ({gap1:?})"
    );
    // The HTTP-date was 4 s after the start (≈ 3 s after the 503 arrived);
    // whole-second resolution.
    assert!(
        gap2 >= Duration::from_millis(1500),
        "HTTP-date Retry-After ignored ({gap2:?})"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gone_disables_the_endpoint() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = outbox(&dir).await;
    let keys = StaticKeys::new();
    let rx = Receiver::start().await;
    register(&outbox, &keys, "gone", &rx.url()).await;
    rx.script([Reply::status(410)]);
    let first = outbox.send("gone", "t", "{}").await.unwrap();
    let handle = dispatcher(&outbox, keys.clone(), fast_config(&[0, 10]))
        .build()
        .spawn();
    assert!(
        wait_until(Duration::from_secs(5), || async {
            !outbox.endpoint("gone").await.unwrap().unwrap().enabled
        })
        .await
    );
    let second = outbox.send("gone", "t", "{}").await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    handle.shutdown().await;
    assert_eq!(
        rx.received().len(),
        1,
        "nothing is sent to a disabled endpoint"
    );
    assert_eq!(
        outbox.message(&first).await.unwrap().unwrap().state,
        MessageState::Failed
    );
    assert_eq!(
        outbox.message(&second).await.unwrap().unwrap().state,
        MessageState::Pending
    );
    assert_eq!(
        outbox.disabled_reason("gone").await.unwrap().as_deref(),
        Some("410 Gone")
    );
    let log = outbox.attempts_by_endpoint("gone", 10).await.unwrap();
    assert_eq!(log[0].outcome, AttemptOutcome::Gone);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exhausted_messages_fail_and_can_be_requeued() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = outbox(&dir).await;
    let keys = StaticKeys::new();
    let rx = Receiver::start().await;
    register(&outbox, &keys, "acme", &rx.url()).await;
    rx.default_reply(Reply::status(500));
    let a = outbox.send("acme", "t", "{}").await.unwrap();
    let b = outbox.send("acme", "t", "{}").await.unwrap();
    let handle = dispatcher(&outbox, keys.clone(), fast_config(&[0, 10, 10]))
        .build()
        .spawn();
    assert!(wait_settled(&outbox, Duration::from_secs(10)).await);
    let stats = outbox.stats().await.unwrap();
    assert_eq!((stats.failed, stats.delivered, stats.attempts), (2, 0, 6));
    let log = outbox.attempts_by_message(&a).await.unwrap();
    assert_eq!(log.last().unwrap().outcome, AttemptOutcome::Exhausted);

    // The receiver is fixed; the operator re-queues.
    rx.default_reply(Reply::status(200));
    assert_eq!(outbox.requeue_failed("acme").await.unwrap(), 2);
    assert!(wait_settled(&outbox, Duration::from_secs(10)).await);
    handle.shutdown().await;
    for id in [&a, &b] {
        let info = outbox.message(id).await.unwrap().unwrap();
        assert_eq!(info.state, MessageState::Delivered);
        assert_eq!(
            info.attempts, 4,
            "attempt numbers continue after a re-queue"
        );
    }
    assert_eq!(outbox.requeue_failed("acme").await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guard_replayed_answer_acknowledges_the_message() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = outbox(&dir).await;
    let keys = StaticKeys::new();
    let rx = Receiver::start().await;
    register(&outbox, &keys, "acme", &rx.url()).await;
    // What twh-webhook-guard answers for a webhook-id it already accepted
    // (the earlier attempt's answer was lost).
    rx.script([Reply::status(409)
        .header("content-type", "application/problem+json")
        .body(r#"{"type":"urn:twh:problem:replayed","status":409}"#)]);
    let id = outbox.send("acme", "t", "{}").await.unwrap();
    // A plain 409 is just a failure and is retried.
    rx.default_reply(Reply::status(409).body("conflict"));
    let other = outbox.send("acme", "t", "{}").await.unwrap();
    let handle = dispatcher(&outbox, keys.clone(), fast_config(&[0, 10, 10]))
        .build()
        .spawn();
    assert!(wait_settled(&outbox, Duration::from_secs(5)).await);
    handle.shutdown().await;
    let first = outbox.message(&id).await.unwrap().unwrap();
    let second = outbox.message(&other).await.unwrap().unwrap();
    // Which of the two got the scripted reply depends on ordering; exactly
    // one of them is delivered after one attempt, the other failed after 3.
    let mut states = [
        (first.state, first.attempts),
        (second.state, second.attempts),
    ];
    states.sort_by_key(|s| s.1);
    assert_eq!(
        states,
        [(MessageState::Delivered, 1), (MessageState::Failed, 3)]
    );
}
