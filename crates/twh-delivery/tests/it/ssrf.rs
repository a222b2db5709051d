//! SSRF: every refused class is blocked before any connection; allow-list overrides.

use std::time::Duration;

use bytes::Bytes;
use twh_delivery::{AttemptOutcome, DeliveryClient, Endpoint, ErrorClass, SsrfPolicy, StaticKeys};
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
