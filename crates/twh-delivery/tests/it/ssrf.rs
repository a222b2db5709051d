//! SSRF: every refused class is blocked before any connection; allow-list overrides.

use std::time::Duration;

use bytes::Bytes;
use twh_delivery::{
    AlertKind, AttemptOutcome, DeliveryClient, Dispatcher, Endpoint, ErrorClass, MemoryAlertSink,
    MessageState, Outbox, SsrfPolicy, StaticKeys,
};
use twh_sig::{Scheme, Signer, WebhookSecret};

use crate::support::*;

fn signer() -> Signer {
    Signer::new(Scheme::Standard, [WebhookSecret::generate()]).unwrap()
}

async fn attempt(client: &DeliveryClient, url: &str) -> Option<ErrorClass> {
    let ep = Endpoint::new("x", url).unwrap();
    client
        .attempt(
            &ep,
            &signer(),
            "msg_1",
            1_700_000_000,
            &Bytes::from_static(b"{}"),
        )
        .await
        .error
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_refused_class_is_blocked() {
    let strict = DeliveryClient::new(SsrfPolicy::strict().with_insecure_http()).unwrap();
    // Literal addresses never reach the network: the policy refuses them first.
    for url in [
        "http://127.0.0.1:9/",              // loopback
        "http://[::1]:9/",                  // loopback v6
        "http://10.0.0.1/",                 // RFC 1918
        "http://172.16.0.1/",               // RFC 1918
        "http://192.168.0.1/",              // RFC 1918
        "http://[fd00::1]/",                // ULA
        "http://169.254.169.254/latest/",   // link-local metadata
        "http://[fe80::1]/",                // link-local v6
        "http://224.0.0.1/",                // multicast
        "http://[ff02::1]/",                // multicast v6
        "http://0.0.0.0/",                  // unspecified
        "http://[::]/",                     // unspecified v6
        "http://[::ffff:127.0.0.1]:9/",     // IPv4-mapped loopback
        "http://[::ffff:169.254.169.254]/", // IPv4-mapped metadata
        "http://[::ffff:10.0.0.1]/",        // IPv4-mapped private
        "http://100.64.0.1/",               // CGNAT
    ] {
        assert_eq!(
            attempt(&strict, url).await,
            Some(ErrorClass::Blocked),
            "{url}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_are_checked_after_resolution_and_http_needs_opt_in() {
    let rx = Receiver::start().await;
    let port = rx.addr.port();
    let strict_http = DeliveryClient::new(SsrfPolicy::strict().with_insecure_http()).unwrap();
    // `localhost` resolves to loopback: refused after DNS, nothing received.
    assert_eq!(
        attempt(&strict_http, &format!("http://localhost:{port}/")).await,
        Some(ErrorClass::Blocked)
    );
    assert!(rx.received().is_empty());
    // https is required unless allowed.
    let https_only =
        DeliveryClient::new(SsrfPolicy::strict().allow_net("127.0.0.1").unwrap()).unwrap();
    assert_eq!(
        attempt(&https_only, &format!("http://127.0.0.1:{port}/")).await,
        Some(ErrorClass::Blocked)
    );
    assert!(rx.received().is_empty());
    // The allow-list overrides, for both literal and resolved hosts.
    let allowed = client();
    assert_eq!(
        attempt(&allowed, &format!("http://127.0.0.1:{port}/")).await,
        None
    );
    assert_eq!(
        attempt(&allowed, &format!("http://localhost:{port}/")).await,
        None
    );
    let by_host = DeliveryClient::new(
        SsrfPolicy::strict()
            .with_insecure_http()
            .allow_host("localhost"),
    )
    .unwrap();
    assert_eq!(
        attempt(&by_host, &format!("http://localhost:{port}/")).await,
        None
    );
    assert_eq!(rx.received().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_are_not_followed_and_checked_when_enabled() {
    let rx = Receiver::start().await;
    rx.default_reply(
        Reply::status(302).header("location", "http://169.254.169.254/latest/meta-data"),
    );
    // Default: the 302 is a failed attempt; nothing follows it.
    let dir = tempfile::tempdir().unwrap();
    let outbox = outbox(&dir).await;
    let keys = StaticKeys::new();
    register(&outbox, &keys, "redir", &rx.url()).await;
    let id = outbox.send("redir", "t", "{}").await.unwrap();
    let handle = dispatcher(&outbox, keys.clone(), fast_config(&[0]))
        .build()
        .spawn();
    assert!(wait_settled(&outbox, Duration::from_secs(5)).await);
    handle.shutdown().await;
    let log = outbox.attempts_by_message(&id).await.unwrap();
    assert_eq!(log[0].status, Some(302));
    assert_eq!(log[0].outcome, AttemptOutcome::Exhausted);

    // Following enabled: the redirect target is checked and refused.
    let follow = DeliveryClient::new(loopback_policy().follow_redirects(3)).unwrap();
    let err = attempt(&follow, &rx.url()).await;
    assert!(
        matches!(err, Some(ErrorClass::Blocked | ErrorClass::Redirect)),
        "{err:?}"
    );
    assert_eq!(rx.received().len(), 2);
}

/// Runs a dispatcher with `policy` against endpoint `id` at `url`: sends one
/// message, waits until the endpoint is disabled, sends a second, and gives
/// the dispatcher time to (wrongly) try again. Returns the two ids and the
/// alerts raised.
async fn refused_delivery(
    outbox: &Outbox,
    keys: &StaticKeys,
    policy: SsrfPolicy,
    id: &str,
    url: &str,
) -> (String, String, Vec<twh_delivery::Alert>) {
    register(outbox, keys, id, url).await;
    let alerts = MemoryAlertSink::new();
    let client = DeliveryClient::new(policy).unwrap();
    // Retries, were any scheduled, would come within milliseconds.
    let handle = Dispatcher::builder(outbox.clone(), keys.clone(), client)
        .config(fast_config(&[0, 10, 10, 10]))
        .alert_sink(alerts.clone())
        .build()
        .spawn();
    let first = outbox.send(id, "t", "{}").await.unwrap();
    assert!(
        wait_until(Duration::from_secs(5), || async {
            !outbox.endpoint(id).await.unwrap().unwrap().enabled
        })
        .await,
        "a policy refusal disables the endpoint"
    );
    let second = outbox.send(id, "t", "{}").await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    handle.shutdown().await;
    (first, second, alerts.alerts())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_loopback_endpoint_is_disabled_at_once_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = outbox(&dir).await;
    let keys = StaticKeys::new();
    let rx = Receiver::start().await;
    let strict = SsrfPolicy::strict().with_insecure_http();
    let (first, second, alerts) = refused_delivery(&outbox, &keys, strict, "lo", &rx.url()).await;

    let reason = "127.0.0.1 is a loopback address (allow it with SsrfPolicy::allow_net)";
    let log = outbox.attempts_by_endpoint("lo", 10).await.unwrap();
    assert_eq!(log.len(), 1, "no further attempts: {log:?}");
    assert_eq!(
        log[0].error.as_deref(),
        Some(&*format!("blocked: {reason}"))
    );
    assert_eq!(log[0].outcome, AttemptOutcome::Blocked);
    assert_eq!(
        outbox.disabled_reason("lo").await.unwrap().as_deref(),
        Some(&*format!("refused by the SSRF policy: {reason}"))
    );
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0].kind, AlertKind::Disabled);
    assert!(
        alerts[0].detail.contains("SSRF policy") && alerts[0].detail.contains(reason),
        "{}",
        alerts[0].detail
    );
    assert!(rx.received().is_empty());
    // The message failed like on 410 Gone; the one sent later waits.
    assert_eq!(
        outbox.message(&first).await.unwrap().unwrap().state,
        MessageState::Failed
    );
    assert_eq!(
        outbox.message(&second).await.unwrap().unwrap().state,
        MessageState::Pending
    );

    // The operator allows loopback, re-enables and re-queues: both arrive.
    let handle = dispatcher(&outbox, keys.clone(), fast_config(&[0]))
        .build()
        .spawn();
    assert!(outbox.set_endpoint_enabled("lo", true, None).await.unwrap());
    assert_eq!(outbox.requeue_failed("lo").await.unwrap(), 1);
    assert!(wait_settled(&outbox, Duration::from_secs(5)).await);
    handle.shutdown().await;
    for id in [&first, &second] {
        assert_eq!(
            outbox.message(id).await.unwrap().unwrap().state,
            MessageState::Delivered
        );
    }
    assert_eq!(rx.received().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_under_an_https_only_policy_is_disabled_with_the_scheme_reason() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = outbox(&dir).await;
    let keys = StaticKeys::new();
    let rx = Receiver::start().await;
    let https_only = SsrfPolicy::strict().allow_net("127.0.0.1").unwrap();
    let (_, second, alerts) =
        refused_delivery(&outbox, &keys, https_only, "plain", &rx.url()).await;

    let reason =
        "plain http is not allowed (https required; allow it with SsrfPolicy::with_insecure_http)";
    let log = outbox.attempts_by_endpoint("plain", 10).await.unwrap();
    assert_eq!(log.len(), 1, "no further attempts: {log:?}");
    assert_eq!(
        log[0].error.as_deref(),
        Some(&*format!("blocked: {reason}"))
    );
    assert_eq!(log[0].outcome, AttemptOutcome::Blocked);
    assert!(
        outbox
            .disabled_reason("plain")
            .await
            .unwrap()
            .is_some_and(|r| r.contains(reason))
    );
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0].kind, AlertKind::Disabled);
    assert!(alerts[0].detail.contains(reason), "{}", alerts[0].detail);
    assert!(rx.received().is_empty());
    assert_eq!(
        outbox.message(&second).await.unwrap().unwrap().state,
        MessageState::Pending
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_resolving_to_loopback_is_disabled_but_an_unresolved_name_is_retried() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = outbox(&dir).await;
    let keys = StaticKeys::new();
    let rx = Receiver::start().await;
    let url = format!("http://localhost:{}/hooks", rx.addr.port());
    let strict = SsrfPolicy::strict().with_insecure_http();
    let (_, _, alerts) = refused_delivery(&outbox, &keys, strict.clone(), "name", &url).await;
    let log = outbox.attempts_by_endpoint("name", 10).await.unwrap();
    assert_eq!(log.len(), 1, "{log:?}");
    let error = log[0].error.clone().unwrap();
    // `localhost` may resolve to ::1 or 127.0.0.1 first.
    assert!(
        error.starts_with("blocked: localhost resolved to ")
            && error.contains("a loopback address"),
        "{error}"
    );
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].kind, AlertKind::Disabled);
    assert!(rx.received().is_empty());

    // A name that does not resolve (RFC 6761 `.invalid`) may resolve later:
    // retried on schedule, the endpoint stays enabled.
    register(&outbox, &keys, "nxdomain", "http://nothing.invalid/hooks").await;
    let id = outbox.send("nxdomain", "t", "{}").await.unwrap();
    let handle = Dispatcher::builder(
        outbox.clone(),
        keys.clone(),
        DeliveryClient::new(strict).unwrap(),
    )
    .config(fast_config(&[0, 10, 10]))
    .build()
    .spawn();
    assert!(
        wait_until(Duration::from_secs(20), || async {
            outbox.message(&id).await.unwrap().unwrap().state == MessageState::Failed
        })
        .await
    );
    handle.shutdown().await;
    let log = outbox.attempts_by_message(&id).await.unwrap();
    let outcomes: Vec<_> = log.iter().map(|a| a.outcome).collect();
    assert_eq!(
        outcomes,
        [
            AttemptOutcome::Retry,
            AttemptOutcome::Retry,
            AttemptOutcome::Exhausted
        ]
    );
    assert_eq!(
        log[0].error.as_deref(),
        Some(r#"blocked: host "nothing.invalid" did not resolve"#)
    );
    assert!(outbox.endpoint("nxdomain").await.unwrap().unwrap().enabled);
}
