//! CachedProvider: hits, TTL, single-flight, stale-if-error, eviction.

use std::sync::Arc;
use std::time::Duration;

use twh_secrets::{
    CachedProvider, FakeClock, Fault, FaultInjectingProvider, MemoryProvider, PutOptions,
    RevokeTarget, SecretError, SecretProvider, SecretValue, Version,
};

use crate::common::{HOUR, T0, name};

struct Rig {
    clock: Arc<FakeClock>,
    faulty: FaultInjectingProvider,
    cache: CachedProvider,
}

fn rig() -> Rig {
    let clock = Arc::new(FakeClock::at_unix(T0));
    let mem = MemoryProvider::new().with_clock(clock.clone());
    let faulty = FaultInjectingProvider::new(Arc::new(mem));
    let cache = CachedProvider::new(Arc::new(faulty.clone()))
        .with_ttl(Duration::from_secs(30))
        .with_stale_if_error(Duration::from_secs(300))
        .with_clock(clock.clone());
    Rig {
        clock,
        faulty,
        cache,
    }
}

async fn seed(r: &Rig, n: &str) {
    r.faulty
        .put(&name(n), SecretValue::from_bytes(b"v1"), PutOptions::new())
        .await
        .unwrap();
}

#[tokio::test]
async fn hit_within_ttl_then_refetch() {
    let r = rig();
    seed(&r, "webhooks/a").await;
    let base = r.faulty.calls();
    let a = r.cache.active(&name("webhooks/a")).await.unwrap();
    let b = r.cache.active(&name("webhooks/a")).await.unwrap();
    assert!(Arc::ptr_eq(&a, &b));
    assert_eq!(r.faulty.calls() - base, 1);
    r.clock.advance(Duration::from_secs(31));
    r.cache.active(&name("webhooks/a")).await.unwrap();
    assert_eq!(r.faulty.calls() - base, 2);
    // get has its own entry
    r.cache.get(&name("webhooks/a")).await.unwrap();
    r.cache.get(&name("webhooks/a")).await.unwrap();
    assert_eq!(r.faulty.calls() - base, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hundred_concurrent_cold_gets_make_one_backend_call() {
    let r = rig();
    seed(&r, "webhooks/cold").await;
    let base = r.faulty.calls();
    r.faulty.set_delay(Duration::from_millis(50));
    let cache = Arc::new(r.cache.clone());
    let barrier = Arc::new(tokio::sync::Barrier::new(100));
    let mut tasks = Vec::new();
    for _ in 0..100 {
        let c = cache.clone();
        let b = barrier.clone();
        tasks.push(tokio::spawn(async move {
            b.wait().await;
            c.get(&name("webhooks/cold")).await.unwrap()
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap().value().expose_secret(), b"v1");
    }
    assert_eq!(r.faulty.calls() - base, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_failures_share_one_call_too() {
    let r = rig();
    seed(&r, "webhooks/f").await;
    let base = r.faulty.calls();
    r.faulty.set_delay(Duration::from_millis(50));
    r.faulty.set_fault(Fault::Unavailable);
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let c = r.cache.clone();
        tasks.push(tokio::spawn(
            async move { c.active(&name("webhooks/f")).await },
        ));
    }
    for t in tasks {
        let e = t.await.unwrap().unwrap_err();
        assert!(matches!(e, SecretError::Unavailable { .. }));
    }
    assert!(r.faulty.calls() - base <= 2, "{}", r.faulty.calls() - base);
}

#[tokio::test]
async fn stale_if_error_serves_last_value_only_for_transient_errors_within_window() {
    let r = rig();
    seed(&r, "webhooks/s").await;
    let n = name("webhooks/s");
    let fresh = r.cache.active(&n).await.unwrap();
    r.faulty.set_fault(Fault::Unavailable);
    // Expired but inside the stale window: served, same answer.
    r.clock.advance(Duration::from_secs(60));
    let stale = r.cache.active(&n).await.unwrap();
    assert!(Arc::ptr_eq(&fresh, &stale));
    // get had no entry: nothing to serve.
    assert!(matches!(
        r.cache.get(&n).await,
        Err(SecretError::Unavailable { .. })
    ));
    // Past ttl + window: the error comes through.
    r.clock.advance(Duration::from_secs(300));
    assert!(matches!(
        r.cache.active(&n).await,
        Err(SecretError::Unavailable { .. })
    ));
}

#[tokio::test]
async fn non_transient_errors_evict_and_are_never_papered_over() {
    for fault in [Fault::PermissionDenied, Fault::Corrupt] {
        let r = rig();
        seed(&r, "webhooks/p").await;
        let n = name("webhooks/p");
        r.cache.active(&n).await.unwrap();
        r.clock.advance(Duration::from_secs(31));
        r.faulty.set_fault(fault);
        let e = r.cache.active(&n).await.unwrap_err();
        assert!(!e.is_transient(), "{e}");
        // Evicted: a later outage finds nothing stale to serve.
        r.faulty.set_fault(Fault::Unavailable);
        assert!(matches!(
            r.cache.active(&n).await,
            Err(SecretError::Unavailable { .. })
        ));
    }
}

#[tokio::test]
async fn revoke_through_cache_evicts_at_once() {
    let r = rig();
    let n = name("webhooks/r");
    seed(&r, "webhooks/r").await;
    r.cache
        .rotate(&n, &|| Ok(SecretValue::from_bytes(b"v2")), HOUR)
        .await
        .unwrap();
    assert_eq!(r.cache.active(&n).await.unwrap().len(), 2);
    r.cache
        .revoke(&n, RevokeTarget::Version(Version::FIRST), "compromised")
        .await
        .unwrap();
    // Within the TTL, the revoked v1 is gone from the answer.
    let active = r.cache.active(&n).await.unwrap();
    assert_eq!(active.len(), 1);
    assert_eq!(active[0].version().get(), 2);
    // Revoking everything: the cache never serves it, not even stale.
    r.cache
        .revoke(&n, RevokeTarget::All, "incident")
        .await
        .unwrap();
    assert!(matches!(
        r.cache.get(&n).await,
        Err(SecretError::Revoked { .. })
    ));
    r.faulty.set_fault(Fault::Unavailable);
    assert!(matches!(
        r.cache.active(&n).await,
        Err(SecretError::Unavailable { .. })
    ));
}

#[tokio::test]
async fn cached_active_set_drops_previous_version_when_grace_ends() {
    let r = rig();
    let n = name("webhooks/g");
    seed(&r, "webhooks/g").await;
    r.cache
        .rotate(
            &n,
            &|| Ok(SecretValue::from_bytes(b"v2")),
            Duration::from_secs(10),
        )
        .await
        .unwrap();
    let cache = r.cache.clone().with_ttl(HOUR);
    assert_eq!(cache.active(&n).await.unwrap().len(), 2);
    r.clock.advance(Duration::from_secs(11));
    // The TTL (1h) has not passed, but v1's grace has: no stale v1.
    assert_eq!(cache.active(&n).await.unwrap().len(), 1);
}

#[tokio::test]
async fn not_found_is_not_cached_as_a_value() {
    let r = rig();
    let n = name("webhooks/late");
    assert!(matches!(
        r.cache.get(&n).await,
        Err(SecretError::NotFound { .. })
    ));
    seed(&r, "webhooks/late").await;
    assert!(r.cache.get(&n).await.is_ok());
}
