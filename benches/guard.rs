//! The guard's own cost per request, in process, next to the cost of the one
//! thing it cannot avoid: the HMAC-SHA256 of the signed content.
//!
//! `cargo bench --bench guard --features guard`
//!
//! Three measurements in one run, same 1 KiB Standard Webhooks POST:
//! * `hmac_sha256` — bare HMAC-SHA256 over `id.timestamp.body`;
//! * `bare` — an axum router with the handler, through `tower::ServiceExt::oneshot`;
//! * `guarded` — the same router behind `WebhookGuard` (secure headers, span,
//!   in-memory rate limit, size limit, verification, in-memory replay store).
//!
//! Each request is signed with a fresh message id outside the timed part.
//! At the end the bench prints `guarded − bare` in µs and as a multiple of
//! the HMAC cost (goal: guard overhead beyond HMAC ≤ half the HMAC cost).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    reason = "bench"
)]

use std::hint::black_box;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::routing::post;
use criterion::{BatchSize, Criterion};
use hmac::{Hmac, Mac};
use http_body_util::{BodyExt as _, Full};
use sha2::Sha256;
use tower::{Layer as _, ServiceExt as _};
use twh::guard::{
    DEFAULT_BODY_LIMIT, DEFAULT_FAILURE_QUOTA, DEFAULT_REPLAY_CAPACITY, FullPolicy,
    InMemoryRateLimitStore, InMemoryReplayStore, Quota, RateLimitLayer, ReplayLayer,
    SecureHeadersLayer, SizeLimitLayer, VerifyWebhookLayer, WebhookGuard, WebhookTraceLayer,
};
use twh::sig::{Message, Scheme, Signer, Verifier, WebhookSecret};

const BODY_LEN: usize = 1024;

fn body() -> Vec<u8> {
    let mut b = br#"{"type":"order.created","data":{"note":""#.to_vec();
    b.resize(BODY_LEN - 3, b'x');
    b.extend_from_slice(br#""}}"#);
    b
}

fn router() -> Router {
    Router::new().route(
        "/hook",
        post(|body: Bytes| async move { black_box(body.len()).to_string() }),
    )
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let secret = WebhookSecret::generate();
    let signer = Signer::new(Scheme::Standard, [secret.clone()]).unwrap();
    let body = Bytes::from(body());
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut n = 0u64;
    let mut request = move || {
        n += 1;
        let id = format!("msg_bench_{n}");
        let signed = signer.sign(&Message::new(&id, now, &body)).unwrap();
        let mut req = http::Request::post("/hook")
            .header("content-type", "application/json")
            .header("content-length", BODY_LEN)
            .extension(SocketAddr::from(([192, 0, 2, 1], 40_000)))
            .body(Full::new(body.clone()))
            .unwrap();
        signed.apply_to(req.headers_mut());
        req
    };

    let mut group = c.benchmark_group("guard_1KiB");
    group.measurement_time(Duration::from_secs(4));

    let key = secret.expose_secret().to_vec();
    let content = {
        let mut c = format!("msg_bench_0.{now}.").into_bytes();
        c.extend_from_slice(&self::body());
        c
    };
    group.bench_function("hmac_sha256", |b| {
        b.iter(|| {
            let mut mac = Hmac::<Sha256>::new_from_slice(black_box(&key)).unwrap();
            mac.update(black_box(&content));
            black_box(mac.finalize().into_bytes())
        });
    });

    // `with_state(())` turns the handlers into services once, as
    // `into_make_service` does when serving; otherwise axum would re-apply
    // every layer on each call.
    let bare: Router = router().with_state(());
    group.bench_function("bare", |b| {
        b.iter_batched(
            &mut request,
            |req| rt.block_on(async { drain(bare.clone().oneshot(req).await.unwrap()).await }),
            BatchSize::SmallInput,
        );
    });

    let secret_for_layers = secret.clone();
    let guard = WebhookGuard::builder()
        .key_resolver(Verifier::new(Scheme::Standard, [secret]).unwrap())
        .rate_limit(Quota::per_second(NonZeroU32::MAX))
        // Steady state: a full store (the default 100 000 ids) where every new
        // id displaces one, as expiry does in a long-running receiver.
        .replay_store(
            InMemoryReplayStore::new(DEFAULT_REPLAY_CAPACITY)
                .full_policy(FullPolicy::EvictSoonestExpiring),
        )
        .build();
    let guarded: Router = router().layer(guard).with_state(());
    group.bench_function("guarded", |b| {
        b.iter_batched(
            &mut request,
            |req| {
                let status =
                    rt.block_on(async { drain(guarded.clone().oneshot(req).await.unwrap()).await });
                assert_eq!(status, 200);
            },
            BatchSize::SmallInput,
        );
    });
    group.finish();

    // Each layer alone around the same (already built) router, applied as a
    // plain tower layer: where the guard's cost goes.
    let mut layers = c.benchmark_group("guard_layers_1KiB");
    layers.measurement_time(Duration::from_secs(3));
    let verifier = Verifier::new(Scheme::Standard, [secret_for_layers]).unwrap();
    let base: Router = router().with_state(());
    let mut run = |name: &str, svc: &dyn Fn(http::Request<Full<Bytes>>) -> u16| {
        layers.bench_function(name, |b| {
            b.iter_batched(&mut request, svc, BatchSize::SmallInput);
        });
    };
    macro_rules! ablation {
        ($name:expr, $svc:expr) => {{
            let svc = $svc;
            run($name, &|req| {
                rt.block_on(async { drain(svc.clone().oneshot(req).await.unwrap()).await })
            });
        }};
    }
    ablation!("router", base.clone());
    ablation!(
        "whole_guard",
        WebhookGuard::builder()
            .key_resolver(verifier.clone())
            .rate_limit(Quota::per_second(NonZeroU32::MAX))
            .replay_store(
                InMemoryReplayStore::new(DEFAULT_REPLAY_CAPACITY)
                    .full_policy(FullPolicy::EvictSoonestExpiring)
            )
            .build()
            .layer(base.clone())
    );
    ablation!(
        "secure_headers",
        SecureHeadersLayer::overriding().layer(base.clone())
    );
    ablation!("trace", WebhookTraceLayer::new().layer(base.clone()));
    ablation!(
        "rate_limit",
        RateLimitLayer::new(
            InMemoryRateLimitStore::new(),
            Quota::per_second(NonZeroU32::MAX)
        )
        .failure_quota(DEFAULT_FAILURE_QUOTA)
        .layer(base.clone())
    );
    ablation!(
        "size_limit",
        SizeLimitLayer::new(DEFAULT_BODY_LIMIT).layer(base.clone())
    );
    ablation!(
        "verify",
        VerifyWebhookLayer::new(verifier.clone()).layer(base.clone())
    );
    ablation!(
        "verify_replay",
        VerifyWebhookLayer::new(verifier).layer(
            ReplayLayer::new(
                InMemoryReplayStore::new(DEFAULT_REPLAY_CAPACITY)
                    .full_policy(FullPolicy::EvictSoonestExpiring)
            )
            .layer(base.clone())
        )
    );
    layers.finish();
    c.final_summary();
    report();
}

async fn drain<B>(res: http::Response<B>) -> u16
where
    B: http_body::Body,
    B::Error: std::fmt::Debug,
{
    let status = res.status().as_u16();
    black_box(res.into_body().collect().await.unwrap());
    status
}

/// Reads criterion's estimates (medians: robust to preemption on a busy
/// machine) back and prints the ratios.
fn report() {
    let dir = std::env::var_os("CRITERION_HOME")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("CARGO_TARGET_DIR").map(|d| PathBuf::from(d).join("criterion"))
        })
        .unwrap_or_else(|| PathBuf::from("target/criterion"));
    let mean = |name: &str| -> Option<f64> {
        let path = dir.join("guard_1KiB").join(name).join("new/estimates.json");
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
        v["median"]["point_estimate"].as_f64().map(|ns| ns / 1000.0)
    };
    let (Some(hmac), Some(bare), Some(guarded)) =
        (mean("hmac_sha256"), mean("bare"), mean("guarded"))
    else {
        println!("(ratios need all three benchmarks; run without a filter)");
        return;
    };
    let overhead = guarded - bare;
    println!("\n== guard overhead, 1 KiB Standard Webhooks POST, in process ==");
    println!("HMAC-SHA256 of the signed content : {hmac:8.3} µs");
    println!("bare router                       : {bare:8.3} µs");
    println!("guarded router                    : {guarded:8.3} µs");
    println!(
        "guard cost (guarded − bare)       : {overhead:8.3} µs = {:.2} × HMAC",
        overhead / hmac
    );
    println!(
        "guard cost beyond HMAC            : {:8.3} µs = {:.2} × HMAC (goal ≤ 0.50)",
        overhead - hmac,
        (overhead - hmac) / hmac
    );
    let layer = |name: &str| -> Option<f64> {
        let path = dir
            .join("guard_layers_1KiB")
            .join(name)
            .join("new/estimates.json");
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
        v["median"]["point_estimate"].as_f64().map(|ns| ns / 1000.0)
    };
    let Some(base) = layer("router") else { return };
    println!("-- each layer alone (tower layer on the built router), cost over it --");
    for name in [
        "whole_guard",
        "secure_headers",
        "trace",
        "rate_limit",
        "size_limit",
        "verify",
        "verify_replay",
    ] {
        if let Some(t) = layer(name) {
            println!("{name:34}: {:8.3} µs", t - base);
        }
    }
}
