use std::num::NonZeroU32;
use std::time::Duration;

use twh_webhook_guard::{ClientIp, Quota, WebhookGuard};

use crate::support::*;

#[tokio::test]
async fn over_quota_gets_429_with_retry_after_and_ratelimit_headers() {
    let sender = Sender::new();
    let quota = Quota::with_interval(Duration::from_secs(20))
        .unwrap()
        .allow_burst(NonZeroU32::new(3).unwrap());
    let guard = WebhookGuard::builder()
        .key_resolver(sender.verifier())
        .rate_limit(quota)
        .build();
    let addr = serve(routes().layer(guard)).await;
    for _ in 0..3 {
        assert_eq!(
            post(addr, "/hook", sender.sign(b"{}"), b"{}".to_vec())
                .await
                .status(),
            200
        );
    }
    let res = post(addr, "/hook", sender.sign(b"{}"), b"{}".to_vec()).await;
    assert_eq!(res.status(), 429);
    let h = res.headers().clone();
    let retry: u64 = h["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((19..=20).contains(&retry), "retry-after {retry}");
    assert_eq!(h["ratelimit-limit"], "3");
    assert_eq!(h["ratelimit-remaining"], "0");
    let reset: u64 = h["ratelimit-reset"].to_str().unwrap().parse().unwrap();
    assert!((59..=60).contains(&reset), "reset {reset}");
    assert_eq!(h["ratelimit-policy"], "3;w=60");
    assert_eq!(problem_type(res).await, "urn:twh:problem:rate-limited");
}

#[tokio::test]
async fn failed_verifications_hit_the_stricter_limit_first() {
    let sender = Sender::new();
    let guard = WebhookGuard::builder()
        .key_resolver(sender.verifier())
        .failure_quota(Quota::per_minute(NonZeroU32::new(2).unwrap()))
        .build();
    let addr = serve(routes().layer(guard)).await;
    let attacker = Sender::new();
    assert_eq!(
        post(addr, "/hook", attacker.sign(b"{}"), b"{}".to_vec())
            .await
            .status(),
        401
    );
    assert_eq!(
        post(addr, "/hook", attacker.sign(b"{}"), b"{}".to_vec())
            .await
            .status(),
        401
    );
    // The failure budget is spent: even a correct signature from this client
    // now waits, and verification is not attempted.
    let res = post(addr, "/hook", sender.sign(b"{}"), b"{}".to_vec()).await;
    assert_eq!(res.status(), 429);
    let retry: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((29..=30).contains(&retry), "retry-after {retry}");
}

#[tokio::test]
async fn keys_separate_clients() {
    let sender = Sender::new();
    // Key on a header, as a trusted gateway would set it.
    let by_tenant = |parts: &http::request::Parts| {
        parts
            .headers
            .get("x-tenant")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let guard = WebhookGuard::builder()
        .key_resolver(sender.verifier())
        .rate_limit(Quota::per_minute(NonZeroU32::new(1).unwrap()))
        .rate_limit_key(by_tenant)
        .build();
    let addr = serve(routes().layer(guard)).await;
    let send = |tenant: &'static str| {
        let mut h = sender.sign(b"{}");
        h.insert("x-tenant", http::HeaderValue::from_static(tenant));
        post(addr, "/hook", h, b"{}".to_vec())
    };
    assert_eq!(send("a").await.status(), 200);
    assert_eq!(send("b").await.status(), 200);
    assert_eq!(send("a").await.status(), 429);
}

#[tokio::test]
async fn forwarded_for_is_used_only_from_trusted_proxies() {
    let sender = Sender::new();
    let one = Quota::per_minute(NonZeroU32::new(1).unwrap());
    let build = |ip: ClientIp| {
        WebhookGuard::builder()
            .key_resolver(sender.verifier())
            .rate_limit(one)
            .rate_limit_key(ip)
            .build()
    };
    let send = |addr, client: &'static str| {
        let mut h = sender.sign(b"{}");
        h.insert("x-forwarded-for", http::HeaderValue::from_static(client));
        post(addr, "/hook", h, b"{}".to_vec())
    };
    // Loopback is our proxy: each forwarded client has its own bucket.
    let addr =
        serve(routes().layer(build(ClientIp::trusting_proxies(["127.0.0.0/8"]).unwrap()))).await;
    assert_eq!(send(addr, "198.51.100.1").await.status(), 200);
    assert_eq!(send(addr, "198.51.100.2").await.status(), 200);
    assert_eq!(send(addr, "198.51.100.1").await.status(), 429);
    // Not trusted: the header is ignored, everything is 127.0.0.1.
    let addr = serve(routes().layer(build(ClientIp::peer()))).await;
    assert_eq!(send(addr, "198.51.100.1").await.status(), 200);
    assert_eq!(send(addr, "198.51.100.2").await.status(), 429);
}
