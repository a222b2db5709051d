//! `twh sign | twh verify` round trips for every scheme.

use crate::support::{SCHEMES, header_args, keypair, strs, twh};

const BODY: &[u8] = b"{\"order\":42,\"bin\":\"\xff\x00\"}";

#[test]
fn sign_then_verify_every_scheme() {
    for scheme in SCHEMES {
        let (sign_key, verify_key) = keypair(scheme);
        let signed = twh(
            &["sign", "--scheme", scheme, "--secret-env", "TWH_KEY"],
            &[("TWH_KEY", &sign_key)],
            BODY,
        );
        assert_eq!(signed.code, 0, "{scheme}: {}", signed.stderr);
        assert!(
            signed.stdout.lines().all(|l| l.contains(": ")),
            "{}",
            signed.stdout
        );

        let headers = header_args(&signed.stdout);
        let mut args = vec!["verify", "--scheme", scheme, "--secret-env", "TWH_KEY"];
        args.extend(strs(&headers));
        let verified = twh(&args, &[("TWH_KEY", &verify_key)], BODY);
        assert_eq!(verified.code, 0, "{scheme}: {}", verified.stderr);
        assert!(
            verified.stdout.starts_with("ok key="),
            "{}",
            verified.stdout
        );
        let key_id = verified.stdout["ok key=".len()..][..8].to_owned();
        assert!(key_id.bytes().all(|b| b.is_ascii_hexdigit()), "{key_id}");
        if matches!(scheme, "standard" | "stripe" | "slack" | "standard-v1a") {
            assert!(
                verified.stdout.contains(" timestamp="),
                "{}",
                verified.stdout
            );
        }
    }
}

#[test]
fn fixed_id_and_timestamp_are_used() {
    let (key, _) = keypair("standard");
    let signed = twh(
        &[
            "sign",
            "--secret",
            &key,
            "--id",
            "msg_fixed",
            "--timestamp",
            "1700000000",
        ],
        &[],
        b"x",
    );
    assert_eq!(signed.code, 0, "{}", signed.stderr);
    assert!(signed.stdout.contains("webhook-id: msg_fixed\n"));
    assert!(signed.stdout.contains("webhook-timestamp: 1700000000\n"));
    let headers = header_args(&signed.stdout);
    let mut args = vec!["verify", "--secret", &key, "--now", "1700000100"];
    args.extend(strs(&headers));
    let verified = twh(&args, &[], b"x");
    assert_eq!(verified.code, 0, "{}", verified.stderr);
    assert!(
        verified
            .stdout
            .contains(" id=msg_fixed timestamp=1700000000"),
        "{}",
        verified.stdout
    );
}

#[test]
fn files_and_piped_headers() {
    let dir = tempfile::tempdir().unwrap();
    let body = dir.path().join("body.bin");
    let secret = dir.path().join("secret");
    std::fs::write(&body, BODY).unwrap();
    let (key, _) = keypair("standard");
    // A trailing newline in a secret file (echo > file) is ignored.
    std::fs::write(&secret, format!("{key}\n")).unwrap();
    let (body, secret) = (body.to_str().unwrap(), secret.to_str().unwrap());

    let signed = twh(
        &["sign", "--secret-file", secret, "--body-file", body],
        &[],
        b"",
    );
    assert_eq!(signed.code, 0, "{}", signed.stderr);
    // Literally `twh sign … | twh verify --headers-file - …`.
    let verified = twh(
        &[
            "verify",
            "--secret-file",
            secret,
            "--headers-file",
            "-",
            "--body-file",
            body,
        ],
        &[],
        signed.stdout.as_bytes(),
    );
    assert_eq!(verified.code, 0, "{}", verified.stderr);
    assert!(verified.stdout.starts_with("ok key="));
}

#[test]
fn rotation_two_keys() {
    let (old, _) = keypair("standard");
    let (new, _) = keypair("standard");
    let signed = twh(&["sign", "--secret", &new, "--secret", &old], &[], b"r");
    assert_eq!(signed.code, 0, "{}", signed.stderr);
    let headers = header_args(&signed.stdout);
    for key in [&old, &new] {
        let mut args = vec!["verify", "--secret", key];
        args.extend(strs(&headers));
        assert_eq!(twh(&args, &[], b"r").code, 0);
    }
}

#[test]
fn header_names_case_insensitive() {
    let (key, _) = keypair("github");
    let signed = twh(
        &["sign", "--scheme", "github", "--secret", &key],
        &[],
        b"gh",
    );
    let sig_line = signed
        .stdout
        .lines()
        .find(|l| l.starts_with("x-hub-signature-256"))
        .unwrap();
    let shouted = sig_line.replacen("x-hub-signature-256", "X-Hub-Signature-256", 1);
    let verified = twh(
        &[
            "verify", "--scheme", "github", "--secret", &key, "--header", &shouted,
        ],
        &[],
        b"gh",
    );
    assert_eq!(verified.code, 0, "{}", verified.stderr);
}
