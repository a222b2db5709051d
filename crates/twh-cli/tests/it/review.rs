//! Regressions found in the security review.

use std::process::{Command, Stdio};

/// A non-UTF-8 `--secret-env` value must not be echoed (std's `VarError`
/// Display prints it, escaped).
#[cfg(unix)]
#[test]
fn non_utf8_secret_env_is_not_echoed() {
    use std::ffi::OsString;
    use std::os::unix::ffi::OsStringExt as _;

    let mut value = b"whsec_TOPSECRETVALUE".to_vec();
    value.push(0xFF);
    for (cmd, extra) in [("sign", None), ("verify", Some("webhook-id: msg_1"))] {
        let mut args = vec![cmd, "--secret-env", "TWH_REVIEW_SECRET"];
        if let Some(header) = extra {
            args.extend(["--header", header]);
        }
        let out = Command::new(env!("CARGO_BIN_EXE_twh"))
            .args(&args)
            .env("TWH_REVIEW_SECRET", OsString::from_vec(value.clone()))
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.status.code(), Some(2), "{cmd}: {all}");
        assert!(!all.contains("TOPSECRET"), "{cmd} leaked the value: {all}");
        assert!(all.contains("not valid UTF-8"), "{cmd}: {all}");
    }
}
