//! `twh delivery retry` and `twh delivery log` against a real outbox.

use std::process::Command;
use std::time::Duration;

use twh_delivery::{
    DeliveryClient, Dispatcher, DispatcherConfig, Endpoint, MessageState, Outbox, RetryPolicy,
    SsrfPolicy, StaticKeys,
};

fn twh(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_twh"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// An outbox with one failed message (its endpoint refused the connection).
pub(crate) async fn failed_outbox(dir: &tempfile::TempDir) -> (String, String) {
    let path = dir.path().join("outbox.db");
    let outbox = Outbox::open(&path).await.unwrap();
    let keys = StaticKeys::new();
    // A port nobody listens on: bind, note it, close.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let ep = Endpoint::new("acme", &format!("http://127.0.0.1:{port}/hooks")).unwrap();
    outbox.register_endpoint(&ep, &keys).await.unwrap();
    let id = outbox.send("acme", "order.created", "{}").await.unwrap();
    let policy = SsrfPolicy::strict()
        .with_insecure_http()
        .allow_net("127.0.0.1")
        .unwrap();
    let cfg = DispatcherConfig::default()
        .retry(RetryPolicy::new([Duration::ZERO]).unwrap())
        .poll_interval(Duration::from_millis(5));
    let handle = Dispatcher::builder(outbox.clone(), keys, DeliveryClient::new(policy).unwrap())
        .config(cfg)
        .build()
        .spawn();
    for _ in 0..500 {
        if outbox.count(MessageState::Failed).await.unwrap() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    handle.shutdown().await;
    assert_eq!(outbox.count(MessageState::Failed).await.unwrap(), 1);
    (path.to_str().unwrap().to_owned(), id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_requeues_failed_messages_and_log_lists_attempts() {
    let dir = tempfile::tempdir().unwrap();
    let (path, id) = failed_outbox(&dir).await;

    let (code, out, err) = twh(&["delivery", "log", "--message", &id, "--outbox", &path]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(&id) && out.contains("connect") && out.contains("exhausted"),
        "{out}"
    );
    let (code, out, _) = twh(&["delivery", "log", "--endpoint", "acme", "--outbox", &path]);
    assert_eq!(code, 0);
    assert_eq!(out.lines().count(), 2, "header + one attempt: {out}");

    let (code, out, err) = twh(&["delivery", "retry", "--endpoint", "acme", "--outbox", &path]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("re-queued 1 failed message"), "{out}");
    let outbox = Outbox::open(&path).await.unwrap();
    assert_eq!(
        outbox.message(&id).await.unwrap().unwrap().state,
        MessageState::Pending
    );
    let (_, out, _) = twh(&["delivery", "retry", "--endpoint", "acme", "--outbox", &path]);
    assert!(out.contains("re-queued 0"), "{out}");
    // Nothing delivered yet, so nothing to prune; a bad duration is a usage error.
    let (code, out, err) = twh(&["delivery", "prune", "--older-than", "1h", "--outbox", &path]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("pruned 0 delivered message(s) older than 1h"),
        "{out}"
    );
    let (code, _, _) = twh(&[
        "delivery",
        "prune",
        "--older-than",
        "soon",
        "--outbox",
        &path,
    ]);
    assert_eq!(code, 2);
}

#[test]
fn bad_arguments_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.db");
    let missing = missing.to_str().unwrap();
    let (code, _, err) = twh(&["delivery", "retry", "--endpoint", "x", "--outbox", missing]);
    assert_eq!(code, 2);
    assert!(err.contains("no outbox"), "{err}");
    assert!(
        !dir.path().join("nope.db").exists(),
        "a typo must not create an outbox"
    );
    let (code, _, _) = twh(&["delivery", "log", "--outbox", missing]);
    assert_eq!(code, 2, "--endpoint or --message is required");
}
