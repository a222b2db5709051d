//! Sign and verify throughput per scheme, next to raw HMAC-SHA256 over the
//! same signed content. One group per body size, so ratios read directly:
//! `cargo bench --bench sig -- --warm-up-time 1 --measurement-time 3`.
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "bench"
)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hmac::{Hmac, Mac as _};
use sha2::Sha256;
use twh::sig::{Message, Scheme, Signer, SigningKey, Verifier, WebhookSecret};

const SIZES: [usize; 4] = [256, 1024, 16 * 1024, 256 * 1024];
const ID: &str = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W";
const TS: u64 = 1_700_000_000;

fn bench(c: &mut Criterion) {
    let secret = WebhookSecret::from_bytes(&[0x42; 32]).unwrap();
    let ed = SigningKey::generate();

    for size in SIZES {
        let body: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
        let msg = Message::new(ID, TS, &body);
        let mut group = c.benchmark_group(format!("sig/{size}B"));
        group.throughput(Throughput::Bytes(size as u64));

        // Baseline: HMAC-SHA256 (key setup included) over the exact Standard
        // Webhooks signed content, prepared contiguously in advance.
        let mut content = format!("{ID}.{TS}.").into_bytes();
        content.extend_from_slice(&body);
        group.bench_function("raw_hmac_sha256", |b| {
            b.iter(|| {
                let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose_secret()).unwrap();
                mac.update(black_box(&content));
                black_box(mac.finalize().into_bytes())
            });
        });

        for scheme in [Scheme::Standard, Scheme::Stripe, Scheme::GitHub] {
            let signer = Signer::new(scheme, [secret.clone()]).unwrap();
            let verifier = Verifier::new(scheme, [secret.clone()]).unwrap();
            let headers = signer.sign(&msg).unwrap().into_header_map();
            group.bench_function(format!("{scheme}_sign"), |b| {
                b.iter(|| black_box(signer.sign(black_box(&msg)).unwrap()));
            });
            group.bench_function(format!("{scheme}_verify"), |b| {
                b.iter(|| {
                    black_box(
                        verifier
                            .verify_at(black_box(&headers), black_box(&body), TS)
                            .unwrap(),
                    )
                });
            });
        }

        let signer = Signer::new(Scheme::StandardV1a, [ed.clone()]).unwrap();
        let verifier = Verifier::new(Scheme::StandardV1a, [ed.verifying_key()]).unwrap();
        let headers = signer.sign(&msg).unwrap().into_header_map();
        group.bench_function("standard-v1a_sign", |b| {
            b.iter(|| black_box(signer.sign(black_box(&msg)).unwrap()));
        });
        group.bench_function("standard-v1a_verify", |b| {
            b.iter(|| {
                black_box(
                    verifier
                        .verify_at(black_box(&headers), black_box(&body), TS)
                        .unwrap(),
                )
            });
        });
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
