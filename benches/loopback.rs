//! Throughput over loopback, with and without the guard: the "under 2%" figure.
//!
//! `cargo bench --bench loopback --features guard [-- SECONDS CONNECTIONS ROUNDS [HANDLER…]]`
//!
//! An axum server (one Tokio worker thread) and a load generator (another
//! worker thread, raw HTTP/1.1 keep-alive connections) share this machine.
//! Every request is a 1 KiB Standard Webhooks POST with a fresh message id,
//! signed by the client in both configurations, so the client's work is the
//! same whether the server is guarded or not. Handlers:
//! * `empty`   — answers `200 ok` without reading the body;
//! * `json+file` — parses the JSON body and appends a record to a file;
//! * `json+fsync` — the same, and `fdatasync` before answering (durable receipt).
//!
//! The six configurations run interleaved (default three rounds). Reported:
//! the best round of each, and the median over rounds of the paired
//! guarded/bare ratio, as the guard's throughput loss. Throughput on a
//! shared 2-core machine swings by ±10 % between runs, so the bench also
//! reports the server's own CPU time per request (the server thread's
//! `/proc/self/task/*/schedstat`, kernel time for its sockets included),
//! which other processes disturb far less: guarded − bare is the guard's
//! cost per request as the server pays it.
//! Bounded by design: fixed duration per run, loopback only.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    reason = "bench"
)]

use std::io::Write as _;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use twh::guard::{DEFAULT_REPLAY_CAPACITY, FullPolicy, InMemoryReplayStore, Quota, WebhookGuard};
use twh::sig::{Message, Scheme, Signer, Verifier, WebhookSecret};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Handler {
    Empty,
    JsonFile,
    JsonFileSync,
}

impl Handler {
    const fn name(self) -> &'static str {
        match self {
            Self::Empty => "empty",
            Self::JsonFile => "json+file",
            Self::JsonFileSync => "json+fsync",
        }
    }
}

fn app(
    handler: Handler,
    guarded: bool,
    secret: &WebhookSecret,
    log: Arc<Mutex<std::fs::File>>,
) -> Router {
    let router = match handler {
        Handler::Empty => Router::new().route("/hook", post(|| async { "ok" })),
        Handler::JsonFile | Handler::JsonFileSync => {
            let sync = handler == Handler::JsonFileSync;
            Router::new()
                .route(
                    "/hook",
                    post(move |State(log): State<Arc<Mutex<std::fs::File>>>, body: Bytes| async move {
                        let v: serde_json::Value = match serde_json::from_slice(&body) {
                            Ok(v) => v,
                            Err(_) => return "bad json",
                        };
                        let line = format!("{} {}\n", v["type"], v["data"]["id"]);
                        let mut file = log.lock().unwrap();
                        file.write_all(line.as_bytes()).unwrap();
                        if sync {
                            // Durable before 2xx, as a receiver that must not lose events is.
                            file.sync_data().unwrap();
                        }
                        "ok"
                    }),
                )
                .with_state(log)
        }
    };
    if !guarded {
        return router;
    }
    let guard = WebhookGuard::builder()
        .key_resolver(Verifier::new(Scheme::Standard, [secret.clone()]).unwrap())
        // One client address generates all the load here; production quotas are per client.
        .rate_limit(Quota::per_second(NonZeroU32::MAX))
        .replay_store(
            InMemoryReplayStore::new(DEFAULT_REPLAY_CAPACITY)
                .full_policy(FullPolicy::EvictSoonestExpiring),
        )
        .build();
    router.layer(guard)
}

fn body() -> Vec<u8> {
    let mut b = br#"{"type":"order.created","data":{"id":42,"note":""#.to_vec();
    b.resize(1024 - 3, b'x');
    b.extend_from_slice(br#""}}"#);
    b
}

/// One keep-alive connection sending signed POSTs until `stop`.
async fn connection(
    addr: SocketAddr,
    signer: Signer,
    conn: u64,
    stop: Arc<AtomicBool>,
    ok: Arc<AtomicU64>,
    bad: Arc<AtomicU64>,
) {
    let body = body();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.set_nodelay(true).unwrap();
    let mut buf = vec![0u8; 64 * 1024];
    let mut n = 0u64;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let id = format!("msg_{conn}_{n}_{now}");
        let signed = signer.sign(&Message::new(&id, now, &body)).unwrap();
        let mut req = format!(
            "POST /hook HTTP/1.1\r\nhost: bench\r\ncontent-type: application/json\r\ncontent-length: {}\r\n",
            body.len()
        );
        for (k, v) in signed.iter() {
            req.push_str(&format!("{k}: {}\r\n", v.to_str().unwrap()));
        }
        req.push_str("\r\n");
        let mut bytes = req.into_bytes();
        bytes.extend_from_slice(&body);
        stream.write_all(&bytes).await.unwrap();
        // Read one response: head, then content-length bytes.
        let mut have = 0;
        let (head_end, len) = loop {
            let r = stream.read(&mut buf[have..]).await.unwrap();
            assert!(r > 0, "server closed");
            have += r;
            if let Some(p) = buf[..have].windows(4).position(|w| w == b"\r\n\r\n") {
                let head = std::str::from_utf8(&buf[..p]).unwrap().to_ascii_lowercase();
                let len: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .map_or(0, |v| v.trim().parse().unwrap());
                if head.starts_with("http/1.1 200") {
                    ok.fetch_add(1, Ordering::Relaxed);
                } else {
                    bad.fetch_add(1, Ordering::Relaxed);
                }
                break (p + 4, len);
            }
        };
        while have < head_end + len {
            have += stream.read(&mut buf[have..]).await.unwrap();
        }
    }
}

/// Numbers the runs, so each run's server threads have a name of their own
/// (threads of an earlier run may still be shutting down).
static RUN: AtomicU64 = AtomicU64::new(0);

/// CPU time (ns, user + system) consumed so far by the threads named
/// `thread` (at most 15 bytes: `comm` is truncated to that).
fn server_cpu_ns(thread: &str) -> u64 {
    let mut total = 0;
    for task in std::fs::read_dir("/proc/self/task")
        .into_iter()
        .flatten()
        .flatten()
    {
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        if comm.trim_end() != thread {
            continue;
        }
        let stat = std::fs::read_to_string(task.path().join("schedstat")).unwrap_or_default();
        total += stat
            .split_whitespace()
            .next()
            .and_then(|ns| ns.parse::<u64>().ok())
            .unwrap_or(0);
    }
    total
}

/// One run: (requests/s, server CPU µs per request).
fn run(handler: Handler, guarded: bool, secs: u64, conns: u64) -> (f64, f64) {
    let secret = WebhookSecret::generate();
    let path = std::env::temp_dir().join(format!("twh-loopback-{}.log", std::process::id()));
    let log = Arc::new(Mutex::new(
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .unwrap(),
    ));
    let server_thread = format!("twh-srv-{}", RUN.fetch_add(1, Ordering::Relaxed));
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name(&server_thread)
        .enable_all()
        .build()
        .unwrap();
    let listener = server_rt
        .block_on(TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let router = app(handler, guarded, &secret, log);
    server_rt.spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });

    let client_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let signer = Signer::new(Scheme::Standard, [secret]).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let ok = Arc::new(AtomicU64::new(0));
    let bad = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let cpu_before = server_cpu_ns(&server_thread);
    let tasks: Vec<_> = (0..conns)
        .map(|c| {
            client_rt.spawn(connection(
                addr,
                signer.clone(),
                c,
                Arc::clone(&stop),
                Arc::clone(&ok),
                Arc::clone(&bad),
            ))
        })
        .collect();
    std::thread::sleep(Duration::from_secs(secs));
    stop.store(true, Ordering::Relaxed);
    client_rt.block_on(async {
        for t in tasks {
            t.await.unwrap();
        }
    });
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = server_cpu_ns(&server_thread).saturating_sub(cpu_before);
    server_rt.shutdown_background();
    let _ = std::fs::remove_file(&path);
    assert_eq!(
        bad.load(Ordering::Relaxed),
        0,
        "every request must be accepted"
    );
    let done = ok.load(Ordering::Relaxed) as f64;
    (done / elapsed, cpu as f64 / 1000.0 / done.max(1.0))
}

fn main() {
    // `cargo bench` passes `--bench`; numbers are our own arguments.
    let nums: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    // An argument naming a handler (`empty`, `json+file`, `json+fsync`) runs only that one.
    let only: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| ["empty", "json+file", "json+fsync"].contains(&a.as_str()))
        .collect();
    let secs = nums.first().copied().unwrap_or(5);
    let conns = nums.get(1).copied().unwrap_or(16);
    let rounds = nums.get(2).copied().unwrap_or(3);
    println!(
        "loopback: {secs}s per run, {conns} connections, {rounds} rounds, best round reported"
    );
    let configs = [
        (Handler::Empty, false),
        (Handler::Empty, true),
        (Handler::JsonFile, false),
        (Handler::JsonFile, true),
        (Handler::JsonFileSync, false),
        (Handler::JsonFileSync, true),
    ];
    let mut best = [0f64; 6];
    // Per round, guarded/bare of the two adjacent runs: drift in the
    // machine's load cancels out better than in best-of figures.
    let mut ratios: [Vec<f64>; 3] = Default::default();
    // Server CPU µs per request, per configuration, over rounds.
    let mut cpu: [Vec<f64>; 6] = Default::default();
    for round in 1..=rounds {
        let mut this_round = [0f64; 6];
        for (i, (h, g)) in configs.iter().enumerate() {
            if !only.is_empty() && !only.iter().any(|o| o == h.name()) {
                continue;
            }
            let (rps, us) = run(*h, *g, secs, conns);
            cpu[i].push(us);
            println!(
                "round {round} {:9} {:8}: {rps:9.0} req/s, server CPU {us:6.2} µs/request",
                h.name(),
                if *g { "guarded" } else { "bare" }
            );
            best[i] = best[i].max(rps);
            this_round[i] = rps;
        }
        for (k, pair) in this_round.chunks(2).enumerate() {
            if pair[0] > 0.0 {
                ratios[k].push(pair[1] / pair[0]);
            }
        }
    }
    for (i, pair) in best.chunks(2).enumerate() {
        let (name, bare, guarded) = (configs[2 * i].0.name(), pair[0], pair[1]);
        if bare == 0.0 {
            continue;
        }
        let r = &mut ratios[i];
        r.sort_by(f64::total_cmp);
        let median = r[r.len() / 2];
        println!(
            "{name:10}: best bare {bare:8.0} req/s, best guarded {guarded:8.0} req/s, loss {:5.1}% (best-of), {:5.1}% (median of paired rounds)",
            (1.0 - guarded / bare) * 100.0,
            (1.0 - median) * 100.0,
        );
    }
    println!("-- server CPU per request (median over rounds) --");
    for (i, pair) in cpu.chunks_mut(2).enumerate() {
        if pair[0].is_empty() {
            continue;
        }
        let [bare, guarded] = pair else { continue };
        let (bare, guarded) = (median(bare), median(guarded));
        println!(
            "{:10}: bare {bare:6.2} µs, guarded {guarded:6.2} µs, guard cost {:5.2} µs = {:5.1}% of the bare request",
            configs[2 * i].0.name(),
            guarded - bare,
            (guarded - bare) / bare * 100.0,
        );
    }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}
