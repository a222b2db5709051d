//! `twh secret generate`.

use crate::support::twh;

#[test]
fn formats() {
    let whsec = twh(&["secret", "generate"], &[], b"");
    assert_eq!(whsec.code, 0);
    let text = whsec.stdout.trim();
    assert!(text.starts_with("whsec_") && text.len() == 6 + 44, "{text}");

    let hex = twh(&["secret", "generate", "--format", "hex"], &[], b"");
    let hex = hex.stdout.trim();
    assert_eq!(hex.len(), 64);
    assert!(
        hex.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    );

    let b64 = twh(&["secret", "generate", "--format", "base64"], &[], b"");
    let b64 = b64.stdout.trim();
    assert_eq!(b64.len(), 44);
    assert!(b64.ends_with('='));

    // Fresh every time.
    let again = twh(&["secret", "generate"], &[], b"");
    assert_ne!(again.stdout.trim(), text);
}

#[test]
fn asymmetric_pair() {
    let run = twh(&["secret", "generate", "--asymmetric"], &[], b"");
    assert_eq!(run.code, 0, "{}", run.stderr);
    let lines: Vec<_> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 2);
    assert!(lines[0].starts_with("whsk_") && lines[1].starts_with("whpk_"));
    let conflict = twh(
        &["secret", "generate", "--asymmetric", "--format", "hex"],
        &[],
        b"",
    );
    assert_eq!(conflict.code, 2);
}
