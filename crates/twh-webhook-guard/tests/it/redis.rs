use std::num::NonZeroU32;
use std::time::{Duration, SystemTime};

use twh_webhook_guard::{
    Freshness, Quota, RateLimitStore, RedisRateLimitStore, RedisReplayStore, ReplayStore,
    WebhookGuard,
};

use crate::support::*;

async fn instance(sender: &Sender, url: &str, prefix: &str, quota: Quota) -> std::net::SocketAddr {
    let replay = RedisReplayStore::connect(url)
        .await
        .unwrap()
        .with_prefix(format!("{prefix}replay:"));
    let limits = RedisRateLimitStore::connect(url)
        .await
        .unwrap()
        .with_prefix(format!("{prefix}rl:"));
    let guard = WebhookGuard::builder()
        .key_resolver(sender.verifier())
        .replay_store(replay)
        .rate_limit_store(limits)
        .rate_limit(quota)
        .build();
    serve(routes().layer(guard)).await
}

#[tokio::test]
async fn replay_to_another_instance_is_rejected() {
    let Some(url) = redis_url() else { return };
    let prefix = unique_prefix("replay");
    let sender = Sender::new();
    let many = Quota::per_second(NonZeroU32::new(1000).unwrap());
    let a = instance(&sender, &url, &prefix, many).await;
    let b = instance(&sender, &url, &prefix, many).await;
    let h = sender.sign(b"{\"n\":1}");
    assert_eq!(
        post(a, "/hook", h.clone(), b"{\"n\":1}".to_vec())
            .await
            .status(),
        200
    );
    let res = post(b, "/hook", h, b"{\"n\":1}".to_vec()).await;
    assert_eq!(res.status(), 409);
    assert_eq!(problem_type(res).await, "urn:twh:problem:replayed");
    // A different message goes through on B.
    assert_eq!(
        post(b, "/hook", sender.sign(b"{}"), b"{}".to_vec())
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn rate_limit_is_shared_across_instances() {
    let Some(url) = redis_url() else { return };
    let prefix = unique_prefix("rl");
    let sender = Sender::new();
    // 5 per second for everyone from this client, both instances together.
    let quota = Quota::per_second(NonZeroU32::new(5).unwrap());
    let a = instance(&sender, &url, &prefix, quota).await;
    let b = instance(&sender, &url, &prefix, quota).await;
    let mut statuses = Vec::new();
    let start = std::time::Instant::now();
    for i in 0..8 {
        let addr = if i % 2 == 0 { a } else { b };
        statuses.push(
            post(addr, "/hook", sender.sign(b"{}"), b"{}".to_vec())
                .await
                .status()
                .as_u16(),
        );
    }
    let elapsed = start.elapsed();
    let ok = statuses.iter().filter(|&&s| s == 200).count();
    // 5 at once, plus at most one cell refilled per 200 ms that passed.
    let refill = (elapsed.as_millis() / 200) as usize;
    assert!(ok >= 5 && ok <= 5 + refill, "{statuses:?} in {elapsed:?}");
    assert!(statuses.contains(&429), "{statuses:?}");
    // After a second the budget is back, on either instance.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        post(b, "/hook", sender.sign(b"{}"), b"{}".to_vec())
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn redis_gcra_script_matches_the_arithmetic() {
    let Some(url) = redis_url() else { return };
    let store = RedisRateLimitStore::connect(&url)
        .await
        .unwrap()
        .with_prefix(unique_prefix("gcra"));
    // One request per millisecond, bursts of 3; a pinned clock in microseconds.
    let quota = Quota::with_interval(Duration::from_millis(1))
        .unwrap()
        .allow_burst(NonZeroU32::new(3).unwrap());
    let t0 = 1_000_000_000u64;
    let mut remaining = Vec::new();
    for _ in 0..3 {
        let d = store.check_at_micros("k", quota, 1, t0).await.unwrap();
        assert!(d.allowed);
        remaining.push(d.remaining);
    }
    assert_eq!(remaining, [2, 1, 0]);
    let peek = store.check_at_micros("k", quota, 0, t0).await.unwrap();
    assert!(!peek.allowed);
    let denied = store
        .check_at_micros("k", quota, 1, t0 + 250)
        .await
        .unwrap();
    assert!(!denied.allowed);
    assert_eq!(denied.retry_after, Duration::from_micros(750));
    assert_eq!(denied.reset, Duration::from_micros(2750));
    assert!(
        !store
            .check_at_micros("k", quota, 1, t0 + 999)
            .await
            .unwrap()
            .allowed
    );
    let d = store
        .check_at_micros("k", quota, 1, t0 + 1000)
        .await
        .unwrap();
    assert!(d.allowed);
    assert_eq!(d.remaining, 0);
    // Through the trait (Redis' own clock): a fresh key starts full.
    let d = store.check("fresh", quota, 1).await.unwrap();
    assert!(d.allowed);
    assert_eq!(d.remaining, 2);
}

#[tokio::test]
async fn redis_replay_store_is_atomic_and_expires() {
    let Some(url) = redis_url() else { return };
    let store = RedisReplayStore::connect(&url)
        .await
        .unwrap()
        .with_prefix(unique_prefix("nx"));
    let expires = SystemTime::now() + Duration::from_millis(300);
    // 20 concurrent inserts of one id: exactly one is fresh.
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store.check_and_insert("msg_race", expires).await.unwrap()
        }));
    }
    let mut fresh = 0;
    for t in tasks {
        if t.await.unwrap() == Freshness::Fresh {
            fresh += 1;
        }
    }
    assert_eq!(fresh, 1);
    tokio::time::sleep(Duration::from_millis(400)).await;
    let later = SystemTime::now() + Duration::from_secs(5);
    assert_eq!(
        store.check_and_insert("msg_race", later).await.unwrap(),
        Freshness::Fresh,
        "expired with PX"
    );
    assert_eq!(
        store.check_and_insert("msg_race", later).await.unwrap(),
        Freshness::Seen
    );
}
