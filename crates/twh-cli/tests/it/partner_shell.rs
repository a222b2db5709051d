//! The partner quick-start for non-Rust partners: verify a `twh sign`
//! Standard Webhooks signature with plain `openssl` + `base64` in `sh`.
//! The script is read from the root README, so what partners copy is what is tested.

use std::process::Command;

use crate::support::{keypair, twh};

/// The root README's script, between its `partner-openssl` markers, so the
/// published snippet is the tested one.
fn script() -> String {
    let readme = include_str!("../../../../README.md");
    let block = readme
        .split("<!-- partner-openssl:start -->")
        .nth(1)
        .and_then(|rest| rest.split("<!-- partner-openssl:end -->").next())
        .expect("README.md has the partner-openssl markers");
    let body = block
        .trim()
        .strip_prefix("```sh")
        .and_then(|b| b.strip_suffix("```"))
        .expect("the partner-openssl block is one ```sh fence");
    assert!(
        body.contains("openssl dgst"),
        "unexpected README block: {body}"
    );
    body.to_owned()
}

fn header<'a>(signed: &'a str, name: &str) -> &'a str {
    signed
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name}: ")))
        .unwrap()
}

fn run_script(dir: &std::path::Path, secret: &str, signed: &str) -> std::process::Output {
    Command::new("sh")
        .arg("-c")
        .arg(script())
        .current_dir(dir)
        .env("WEBHOOK_SECRET", secret)
        .env("WEBHOOK_ID", header(signed, "webhook-id"))
        .env("WEBHOOK_TIMESTAMP", header(signed, "webhook-timestamp"))
        .env("WEBHOOK_SIGNATURE", header(signed, "webhook-signature"))
        .output()
        .expect("sh, openssl, base64 and od must be installed for the partner quick-start test")
}

#[test]
fn openssl_snippet_verifies_twh_signatures() {
    let dir = tempfile::tempdir().unwrap();
    let body = b"{\"event\":\"order.shipped\",\"note\":\"line\\nbreak . dots\"}\n";
    std::fs::write(dir.path().join("body.json"), body).unwrap();
    let (old, _) = keypair("standard");
    let (new, _) = keypair("standard");
    let signed = twh(&["sign", "--secret", &new, "--secret", &old], &[], body);
    assert_eq!(signed.code, 0, "{}", signed.stderr);

    for secret in [&new, &old] {
        let out = run_script(dir.path(), secret, &signed.stdout);
        assert!(
            out.status.success(),
            "stdout: {} stderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "signature ok");
    }
    let (stranger, _) = keypair("standard");
    let out = run_script(dir.path(), &stranger, &signed.stdout);
    assert!(!out.status.success());

    std::fs::write(dir.path().join("body.json"), b"tampered").unwrap();
    let out = run_script(dir.path(), &new, &signed.stdout);
    assert!(!out.status.success());
}
