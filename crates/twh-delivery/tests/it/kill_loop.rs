//! SIGKILL loop: a dispatcher process killed at random points loses nothing
//! and acknowledges every message exactly once.
//!
//! The child dispatcher is this test binary re-executed with
//! `TWH_KILL_LOOP_OUTBOX` set, running only [`child_dispatcher`].

use std::collections::HashSet;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use twh_delivery::{
    AttemptOutcome, DeliveryClient, Dispatcher, Durability, JitterRng, KeySource, Outbox,
    OutboxOptions, StaticKeys,
};
use twh_sig::{KeyEncoding, WebhookSecret};

use crate::support::*;

const ENV_OUTBOX: &str = "TWH_KILL_LOOP_OUTBOX";
const ENV_KEY: &str = "TWH_KILL_LOOP_KEY";

async fn run_worker(outbox_path: &str, key: WebhookSecret, stop: impl Future<Output = ()> + Send) {
    let outbox = Outbox::open_with(
        outbox_path,
        OutboxOptions::default().durability(Durability::Full),
    )
    .await
    .unwrap();
    let keys = StaticKeys::new();
    keys.set("webhooks/sink", vec![key]);
    let client = DeliveryClient::new(loopback_policy()).unwrap();
    let cfg = fast_config(&[0, 20, 50, 100, 200, 400, 800, 1000, 1000, 1000, 1000, 1000])
        .lease(Duration::from_millis(400))
        .max_in_flight_per_endpoint(std::num::NonZeroU32::new(4).unwrap());
    Dispatcher::builder(outbox, keys, client)
        .config(cfg)
        .build()
        .run(stop)
        .await;
}

/// In a child process: the dispatcher under test, until killed. In the
/// normal test run: the same worker code delivers a few messages in-process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn child_dispatcher() {
    if let Ok(path) = std::env::var(ENV_OUTBOX) {
        let key =
            WebhookSecret::parse(&std::env::var(ENV_KEY).unwrap(), KeyEncoding::Whsec).unwrap();
        run_worker(&path, key, std::future::pending()).await;
        unreachable!("the child dispatcher runs until killed");
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outbox.db");
    let outbox = Outbox::open(&path).await.unwrap();
    let keys = StaticKeys::new();
    let rx = Receiver::start().await;
    register(&outbox, &keys, "sink", &rx.url()).await;
    let key = keys.get("webhooks/sink").remove(0);
    rx.verify_with(vec![key.clone()]);
    for _ in 0..5 {
        outbox.send("sink", "t", "{}").await.unwrap();
    }
    let ob = outbox.clone();
    run_worker(path.to_str().unwrap(), key, async move {
        wait_settled(&ob, Duration::from_secs(10)).await;
    })
    .await;
    assert_eq!(outbox.stats().await.unwrap().delivered, 5);
    assert!(rx.received().iter().all(|r| r.verified == Some(true)));
}

fn spawn_child(path: &str, key: &WebhookSecret) -> Child {
    use twh_sig::secrecy::ExposeSecret;
    Command::new(std::env::current_exe().unwrap())
        .args([
            "kill_loop::child_dispatcher",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(ENV_OUTBOX, path)
        .env(ENV_KEY, key.to_whsec().expose_secret())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Kills a dispatcher process `KILLS` times at random points while it
/// delivers `MESSAGES` to `url` (whose secret is `key`), then lets a last one
/// finish. Checks that every message is acknowledged exactly once in the
/// outbox and returns the ids sent.
pub(crate) async fn kill_loop(
    dir: &tempfile::TempDir,
    url: &str,
    keys: &StaticKeys,
) -> HashSet<String> {
    const MESSAGES: usize = 1000;
    const KILLS: usize = 10;
    let path = dir.path().join("outbox.db");
    let path_s = path.to_str().unwrap().to_owned();
    let outbox = Outbox::open(&path).await.unwrap();
    register(&outbox, keys, "sink", url).await;
    let key = keys.get("webhooks/sink").remove(0);
    let mut ids = HashSet::new();
    for i in 0..MESSAGES {
        ids.insert(
            outbox
                .send("sink", "order.created", format!(r#"{{"n":{i}}}"#))
                .await
                .unwrap(),
        );
    }
    let mut rng_state = JitterRng::seed_from_u64(0x5eed);
    let mut killed_with_work_left = 0;
    for _ in 0..KILLS {
        let mut child = spawn_child(&path_s, &key);
        let ms = 100 + rand_core::RngCore::next_u64(&mut rng_state) % 200;
        tokio::time::sleep(Duration::from_millis(ms)).await;
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        if outbox.stats().await.unwrap().pending > 0 {
            killed_with_work_left += 1;
        }
    }
    assert!(
        killed_with_work_left >= 3,
        "kills did not interrupt work ({killed_with_work_left})"
    );
    // A final dispatcher finishes the rest.
    let mut child = spawn_child(&path_s, &key);
    let done = wait_settled(&outbox, Duration::from_secs(60)).await;
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        done,
        "outbox did not drain: {:?}",
        outbox.stats().await.unwrap()
    );

    let stats = outbox.stats().await.unwrap();
    assert_eq!((stats.delivered, stats.failed), (MESSAGES as u64, 0));
    let mut replay_acks = 0;
    for id in &ids {
        let log = outbox.attempts_by_message(id).await.unwrap();
        let acks = log
            .iter()
            .filter(|a| {
                matches!(
                    a.outcome,
                    AttemptOutcome::Delivered | AttemptOutcome::AlreadyReceived
                )
            })
            .count();
        assert_eq!(acks, 1, "message {id} acknowledged {acks} times");
        replay_acks += log
            .iter()
            .filter(|a| a.outcome == AttemptOutcome::AlreadyReceived)
            .count();
    }
    eprintln!("kill loop: {KILLS} kills, {replay_acks} acknowledged by a 409 replayed answer");
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_loop_loses_nothing_and_acknowledges_once() {
    let dir = tempfile::tempdir().unwrap();
    let keys = StaticKeys::new();
    keys.create_secret("webhooks/sink").await.unwrap();
    let rx = Receiver::start().await;
    // Slow enough that kills land in the middle of deliveries.
    rx.set_delay(Duration::from_millis(8));
    rx.verify_with(keys.get("webhooks/sink"));
    // Some transient failures too, so retries are in flight when killed.
    rx.script((0..30).map(|i| Reply::status(if i % 2 == 0 { 503 } else { 500 })));
    let ids = kill_loop(&dir, &rx.url(), &keys).await;
    let received = rx.received();
    assert!(received.iter().all(|r| r.verified == Some(true)));
    let got: HashSet<_> = received.iter().map(|r| r.id.clone()).collect();
    assert_eq!(got, ids, "every message id received at least once");
    eprintln!(
        "plain receiver: {} requests for {} messages",
        received.len(),
        ids.len()
    );
}
