//! Benchmarks: `CachedProvider::active` hit latency (goal < 200 ns) next to a
//! plain `HashMap` lookup + `Arc` clone baseline, and file-backend `get` latency.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    reason = "benches"
)]

use std::collections::HashMap;
use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::sync::{Arc, RwLock};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use twh_secrets::{
    ActiveSet, CachedProvider, FileProvider, MasterKey, MemoryProvider, PutOptions, SecretName,
    SecretProvider, WebhookSecretGenerator, generate_webhook_secret,
};

/// Polls a future that must complete without waiting (a cache hit) once.
fn poll_ready<F: Future>(f: F) -> F::Output {
    let mut cx = Context::from_waker(Waker::noop());
    match pin!(f).poll(&mut cx) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("a cache hit must not wait"),
    }
}

async fn seed(p: &dyn SecretProvider, names: &[SecretName]) {
    for n in names {
        p.put(n, generate_webhook_secret(), PutOptions::new())
            .await
            .unwrap();
        p.rotate(n, &WebhookSecretGenerator, Duration::from_secs(3600))
            .await
            .unwrap();
    }
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let names: Vec<SecretName> = (0..100)
        .map(|i| SecretName::new(&format!("webhooks/partner-{i}")).unwrap())
        .collect();
    let hot = names[42].clone();

    // CachedProvider over a memory backend, warmed.
    let mem = MemoryProvider::new();
    rt.block_on(seed(&mem, &names));
    let cache = CachedProvider::new(Arc::new(mem.clone())).with_ttl(Duration::from_secs(3600));
    let warm = rt.block_on(cache.active(&hot)).unwrap();
    assert_eq!(warm.len(), 2);

    // Baselines: the same data in a HashMap (with and without a RwLock).
    let mut map: HashMap<SecretName, ActiveSet> = HashMap::new();
    for n in &names {
        map.insert(n.clone(), rt.block_on(mem.active(n)).unwrap());
    }
    let locked = RwLock::new(map.clone());

    let mut g = c.benchmark_group("active_hit");
    g.bench_function("baseline_hashmap_get_arc_clone", |b| {
        b.iter(|| Arc::clone(map.get(black_box(&hot)).unwrap()));
    });
    g.bench_function("baseline_rwlock_hashmap_get_arc_clone", |b| {
        b.iter(|| Arc::clone(locked.read().unwrap().get(black_box(&hot)).unwrap()));
    });
    g.bench_function("cached_provider_active_hit", |b| {
        b.iter(|| poll_ready(cache.active(black_box(&hot))).unwrap());
    });
    let dyn_cache: Arc<dyn SecretProvider> = Arc::new(cache.clone());
    g.bench_function("cached_provider_active_hit_via_arc_dyn", |b| {
        b.iter(|| poll_ready(dyn_cache.active(black_box(&hot))).unwrap());
    });
    g.finish();

    // File backend: 100 secrets x 2 versions. A get checks the file's head and
    // stamp, reuses the decoded store while it is unchanged, and decrypts one
    // value; `open_full_decode` is the full read + parse + MAC check a changed
    // file costs (what every get cost before the decode cache).
    let dir = tempfile::tempdir().unwrap();
    let key = MasterKey::generate();
    let path = dir.path().join("store");
    let file = FileProvider::init(&path, key.clone()).unwrap();
    rt.block_on(seed(&file, &names));
    let mut g = c.benchmark_group("file_backend");
    g.sample_size(30);
    g.bench_function("open_full_decode_100_secrets_store", |b| {
        b.iter(|| FileProvider::open(black_box(&path), key.clone()).unwrap());
    });
    g.bench_function("get_100_secrets_store", |b| {
        b.iter(|| rt.block_on(file.get(black_box(&hot))).unwrap());
    });
    g.bench_function("active_100_secrets_store", |b| {
        b.iter(|| rt.block_on(file.active(black_box(&hot))).unwrap());
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
