//! Sustained signed deliveries per second to a local receiver that answers
//! 200 at once: through the durable outbox (SQLite, fsync per group commit)
//! and without it (sign + POST only). Prints peak memory (VmHWM) at the end.
//!
//! `cargo bench --bench delivery --features delivery`
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    reason = "bench"
)]

use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::StatusCode;
use criterion::{Criterion, Throughput, criterion_group};
use tokio::runtime::Runtime;
use twh::delivery::bytes::Bytes;
use twh::delivery::{
    DeliveryClient, Dispatcher, DispatcherConfig, Durability, Endpoint, MessageState, NewMessage,
    Outbox, OutboxOptions, SsrfPolicy, StaticKeys,
};

const BATCH: u64 = 2_000;
const IN_FLIGHT: u32 = 64;

fn payload(i: u64) -> Bytes {
    Bytes::from(format!(
        r#"{{"type":"order.created","data":{{"order_id":"SO-{i:08}","warehouse":"DUB-1","lines":[{{"sku":"SKU-{:05}","qty":{}}}]}}}}"#,
        i % 50_000,
        1 + i % 7
    ))
}

fn policy() -> SsrfPolicy {
    SsrfPolicy::strict()
        .with_insecure_http()
        .allow_net("127.0.0.1")
        .unwrap()
}

async fn receiver() -> (String, Arc<AtomicU64>) {
    let count = Arc::new(AtomicU64::new(0));
    let c = Arc::clone(&count);
    let app = Router::new().fallback(move || {
        let c = Arc::clone(&c);
        async move {
            c.fetch_add(1, Ordering::Relaxed);
            StatusCode::OK
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/hooks"), count)
}

fn peak_memory() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM"))
                .map(str::to_owned)
        })
        .unwrap_or_else(|| "VmHWM: unavailable".to_owned())
}

fn bench_outbox(c: &mut Criterion, rt: &Runtime, durability: Durability, name: &str) {
    let dir = tempfile::tempdir().unwrap();
    let (outbox, count) = rt.block_on(async {
        let (url, count) = receiver().await;
        let outbox = Outbox::open_with(
            dir.path().join("outbox.db"),
            OutboxOptions::default().durability(durability),
        )
        .await
        .unwrap();
        let keys = StaticKeys::new();
        outbox
            .register_endpoint(&Endpoint::new("bench", &url).unwrap(), &keys)
            .await
            .unwrap();
        let cfg = DispatcherConfig::default()
            .max_in_flight_per_endpoint(NonZeroU32::new(IN_FLIGHT).unwrap())
            .poll_interval(Duration::from_millis(5));
        let client = DeliveryClient::new(policy()).unwrap();
        // Runs for the rest of the process.
        drop(
            Dispatcher::builder(outbox.clone(), keys, client)
                .config(cfg)
                .build()
                .spawn(),
        );
        (outbox, count)
    });
    let mut g = c.benchmark_group("delivery");
    g.throughput(Throughput::Elements(BATCH));
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(8));
    let mut n = 0_u64;
    g.bench_function(name, |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let start = Instant::now();
                for _ in 0..iters {
                    let target = count.load(Ordering::Relaxed) + BATCH;
                    // Enqueue like a producer would: many concurrent sends.
                    let mut sends = tokio::task::JoinSet::new();
                    for chunk in 0..(BATCH / 100) {
                        let ob = outbox.clone();
                        let base = n + chunk * 100;
                        sends.spawn(async move {
                            let msgs = (0..100)
                                .map(|i| {
                                    NewMessage::new("bench", "order.created", payload(base + i))
                                })
                                .collect();
                            ob.send_batch(msgs).await.unwrap();
                        });
                    }
                    n += BATCH;
                    while sends.join_next().await.is_some() {}
                    while count.load(Ordering::Relaxed) < target
                        || outbox.count(MessageState::Pending).await.unwrap() > 0
                    {
                        tokio::time::sleep(Duration::from_millis(1)).await;
                    }
                }
                start.elapsed()
            })
        });
    });
    g.finish();
}

fn bench_direct(c: &mut Criterion, rt: &Runtime) {
    let (client, ep, signer) = rt.block_on(async {
        let (url, _count) = receiver().await;
        let keys = StaticKeys::new();
        use twh::delivery::KeySource as _;
        keys.create_secret("webhooks/bench").await.unwrap();
        let signer = keys.signer("webhooks/bench").await.unwrap();
        (
            DeliveryClient::new(policy()).unwrap(),
            Arc::new(Endpoint::new("bench", &url).unwrap()),
            signer,
        )
    });
    let mut g = c.benchmark_group("delivery");
    g.throughput(Throughput::Elements(BATCH));
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(8));
    g.bench_function("outbox_off_signed_post", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let start = Instant::now();
                for it in 0..iters {
                    let sem = Arc::new(tokio::sync::Semaphore::new(IN_FLIGHT as usize));
                    let mut set = tokio::task::JoinSet::new();
                    for i in 0..BATCH {
                        let permit = Arc::clone(&sem).acquire_owned().await.unwrap();
                        let (client, ep, signer) =
                            (client.clone(), Arc::clone(&ep), signer.clone());
                        set.spawn(async move {
                            let id = format!("msg_bench_{it}_{i}");
                            let now = std::time::SystemTime::now()
                                .duration_since(std::time::UNIX_EPOCH)
                                .unwrap()
                                .as_secs();
                            let r = client.attempt(&ep, &signer, &id, now, &payload(i)).await;
                            assert!(r.is_success(), "{r:?}");
                            drop(permit);
                        });
                    }
                    while set.join_next().await.is_some() {}
                }
                start.elapsed()
            })
        });
    });
    g.finish();
}

fn benches(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    bench_direct(c, &rt);
    bench_outbox(c, &rt, Durability::Full, "outbox_on_fsync_full");
    bench_outbox(c, &rt, Durability::Normal, "outbox_on_sync_normal");
}

criterion_group!(group, benches);

fn main() {
    group();
    Criterion::default().configure_from_args().final_summary();
    println!("peak memory: {}", peak_memory());
}
