//! Rejections exit 1 with a one-line reason, distinct per failure.

use crate::support::{header_args, keypair, strs, twh};

fn signed_headers(key: &str, ts: &str) -> Vec<String> {
    let out = twh(
        &[
            "sign",
            "--secret",
            key,
            "--id",
            "msg_rej",
            "--timestamp",
            ts,
        ],
        &[],
        b"original",
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    header_args(&out.stdout)
}

fn verify(key: &str, headers: &[String], extra: &[&str], body: &[u8]) -> crate::support::Run {
    let mut args = vec!["verify", "--secret", key];
    args.extend(strs(headers));
    args.extend(extra);
    twh(&args, &[], body)
}

#[test]
fn each_failure_exits_1_with_its_own_message() {
    let (key, _) = keypair("standard");
    let (other, _) = keypair("standard");
    let now = "1700000000";
    let headers = signed_headers(&key, now);
    let at_now = ["--now", now];

    let tampered = verify(&key, &headers, &at_now, b"original!");
    let wrong_key = verify(&other, &headers, &at_now, b"original");
    let expired = verify(&key, &headers, &["--now", "1700000301"], b"original");
    let future = verify(&key, &headers, &["--now", "1699999699"], b"original");
    let mut bad = headers.clone();
    let i = bad
        .iter()
        .position(|h| h.starts_with("webhook-signature"))
        .unwrap();
    bad[i] = "webhook-signature: not-a-signature".to_owned();
    let malformed = verify(&key, &bad, &at_now, b"original");
    let mut missing = headers.clone();
    missing.drain(i - 1..=i);
    let missing = verify(&key, &missing, &at_now, b"original");

    let cases = [
        ("tampered", &tampered, "signature mismatch"),
        ("wrong key", &wrong_key, "signature mismatch"),
        ("expired", &expired, "timestamp is 301s old"),
        ("future", &future, "in the future"),
        ("malformed", &malformed, "malformed header"),
        (
            "missing",
            &missing,
            "missing header: missing `webhook-signature` header",
        ),
    ];
    for (what, run, needle) in &cases {
        assert_eq!(run.code, 1, "{what}: {}", run.stderr);
        assert!(run.stdout.is_empty(), "{what}: {}", run.stdout);
        assert_eq!(
            run.stderr.lines().count(),
            1,
            "{what}: one line: {}",
            run.stderr
        );
        assert!(run.stderr.contains(needle), "{what}: {}", run.stderr);
        assert!(!run.all().contains(&key[6..]) && !run.all().contains(&other[6..]));
    }
    // Distinct messages for the distinct failures (tampered body and wrong key
    // are both "no matching signature", by design).
    let messages: std::collections::HashSet<_> =
        cases.iter().map(|(_, run, _)| run.stderr.clone()).collect();
    assert_eq!(messages.len(), 5);
}

#[test]
fn tolerance_flag_widens_the_window() {
    let (key, _) = keypair("standard");
    let headers = signed_headers(&key, "1700000000");
    let late = ["--now", "1700000900"];
    assert_eq!(verify(&key, &headers, &late, b"original").code, 1);
    let widened = ["--now", "1700000900", "--tolerance", "1000"];
    assert_eq!(verify(&key, &headers, &widened, b"original").code, 0);
}

#[test]
fn milliseconds_timestamp_is_named() {
    let (key, _) = keypair("standard");
    let mut headers = signed_headers(&key, "1700000000");
    let i = headers
        .iter()
        .position(|h| h.starts_with("webhook-timestamp"))
        .unwrap();
    headers[i] = "webhook-timestamp: 1700000000000".to_owned();
    let run = verify(&key, &headers, &[], b"original");
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("milliseconds"), "{}", run.stderr);
}

#[test]
fn other_schemes_reject_tampering() {
    for scheme in ["standard-v1a", "stripe", "github", "shopify", "slack"] {
        let (sign_key, verify_key) = keypair(scheme);
        let signed = twh(
            &["sign", "--scheme", scheme, "--secret", &sign_key],
            &[],
            b"body",
        );
        let headers = header_args(&signed.stdout);
        let mut args = vec!["verify", "--scheme", scheme, "--secret", &verify_key];
        args.extend(strs(&headers));
        let run = twh(&args, &[], b"b0dy");
        assert_eq!(run.code, 1, "{scheme}");
        assert!(
            run.stderr.contains("signature mismatch"),
            "{scheme}: {}",
            run.stderr
        );
    }
}
