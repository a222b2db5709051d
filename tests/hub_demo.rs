//! Runs `examples/hub_demo.rs` end to end with a small event count.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    reason = "tests"
)]

use std::ffi::OsStr;
use std::process::{Command, Output};

/// Runs the demo through cargo with `args`.
fn demo(args: &[&OsStr]) -> Output {
    Command::new(env!("CARGO"))
        .args([
            "run",
            "--quiet",
            "--example",
            "hub_demo",
            "--features",
            "full",
            "--",
        ])
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap()
}

#[test]
fn hub_demo_delivers_everything_with_a_small_stream() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = dir.path().join("kept-outbox.db");
    let out = demo(&[
        "--events".as_ref(),
        "120".as_ref(),
        "--cleanup".as_ref(),
        "--outbox".as_ref(),
        outbox.as_os_str(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "demo failed:\n{stdout}\n{stderr}");
    let row = |name: &str| {
        stdout
            .lines()
            .find(|l| l.trim_start().starts_with(name))
            .unwrap_or_else(|| panic!("no {name:?} row in:\n{stdout}"))
            .trim_start()[name.len()..]
            .trim()
            .to_owned()
    };
    assert_eq!(row("messages sent (2 partners)"), "240");
    assert_eq!(row("delivered (acknowledged once)"), "240");
    assert_eq!(row("lost"), "0");
    assert!(row("direct replayed request").starts_with("rejected with HTTP 409"));
    assert!(row("direct tampered request").starts_with("rejected with HTTP 401"));
    assert!(
        row("rejected/failed: connect (receiver down)")
            .parse::<u64>()
            .unwrap()
            > 0
    );
    // The outage produced a failing alert and a recovery alert, both signed to ops.
    assert!(
        row("alerts")
            .starts_with("2 (failing 1, disabled 0, recovered 1); ops webhook got 2 signed"),
        "{}",
        row("alerts")
    );
    assert!(row("retried (needed > 1 attempt)").parse::<u64>().unwrap() > 0);
    assert!(stdout.contains("OK: every event delivered"));
    // The kept outbox holds the delivery log; the removed audit log is not advertised.
    assert!(outbox.is_file());
    assert_eq!(
        row("delivery log (SQLite outbox)"),
        outbox.display().to_string()
    );
    assert!(!stdout.contains("twh audit verify"), "{stdout}");
}

#[test]
fn hub_demo_runs_the_whole_scenario_with_the_smallest_stream() {
    let out = demo(&["--events".as_ref(), "10".as_ref(), "--cleanup".as_ref()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "demo failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for step in [
        "rotated webhooks/acme-retail",
        "receiver DOWN",
        "direct tampered request",
    ] {
        assert!(stdout.contains(step), "no {step:?} in:\n{stdout}");
    }
}
