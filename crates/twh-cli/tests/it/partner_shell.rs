//! The partner quick-start for non-Rust partners: verify a `twh sign`
//! Standard Webhooks signature with plain `openssl` + `base64` in `sh`.
//! The script below is the one in the root README; keep them identical.

use std::process::Command;

use crate::support::{keypair, twh};

const SCRIPT: &str = r#"
set -eu
# Inputs: WEBHOOK_SECRET (whsec_…), the three webhook-* header values, body in body.json.
key_hex=$(printf '%s' "${WEBHOOK_SECRET#whsec_}" | base64 -d | od -An -v -tx1 | tr -d ' \n')
expected=$( { printf '%s.%s.' "$WEBHOOK_ID" "$WEBHOOK_TIMESTAMP"; cat body.json; } \
  | openssl dgst -sha256 -mac HMAC -macopt "hexkey:$key_hex" -binary | base64)
now=$(date +%s)
age=$(( now - WEBHOOK_TIMESTAMP )); [ "${age#-}" -le 300 ] || { echo "stale timestamp" >&2; exit 1; }
for sig in $WEBHOOK_SIGNATURE; do
  [ "$sig" = "v1,$expected" ] && { echo "signature ok"; exit 0; }
done
echo "no matching signature" >&2; exit 1
"#;

fn header<'a>(signed: &'a str, name: &str) -> &'a str {
    signed
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name}: ")))
        .unwrap()
}

fn run_script(dir: &std::path::Path, secret: &str, signed: &str) -> std::process::Output {
    Command::new("sh")
        .arg("-c")
        .arg(SCRIPT)
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
