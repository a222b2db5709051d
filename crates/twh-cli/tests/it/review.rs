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

fn init(dir: &std::path::Path, extra: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_twh"))
        .args(["secret", "init"])
        .args(extra)
        .current_dir(dir)
        .env_remove("TWH_STORE")
        .env_remove("TWH_MASTER_KEY")
        .env_remove("TWH_MASTER_KEY_FILE")
        .env_remove("TWH_AUDIT_LOG")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// `init` over an existing store whose key file is elsewhere (or was made
/// from `TWH_MASTER_KEY`) used to write a fresh, non-matching key file
/// before noticing the store, leaving an orphan key that later commands
/// picked up ("the master key does not open this store").
#[test]
fn init_over_an_existing_store_writes_no_key_file() {
    let dir = tempfile::tempdir().unwrap();
    let first = init(dir.path(), &[]);
    assert!(first.status.success());
    let key = dir.path().join(".twh/store.key");
    let store = dir.path().join(".twh/store");
    std::fs::rename(&key, dir.path().join("kept.key")).unwrap();
    let before = std::fs::read(&store).unwrap();

    let again = init(dir.path(), &[]);
    let err = String::from_utf8_lossy(&again.stderr);
    assert_eq!(again.status.code(), Some(1), "{err}");
    assert!(err.contains("already exists"), "{err}");
    assert!(!key.exists(), "a failed init left a key file behind");
    assert_eq!(std::fs::read(&store).unwrap(), before);
}

/// A directory as the store path is named as such, and nothing is created.
#[test]
fn init_on_a_directory_says_so_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("sd")).unwrap();
    let out = init(dir.path(), &["--store", "file://./sd"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("is a directory"), "{err}");
    assert!(!dir.path().join("sd.key").exists());
}

fn twh_in(dir: &std::path::Path, args: &[&str], stdin: &[u8]) -> std::process::Output {
    use std::io::Write as _;
    let mut child = Command::new(env!("CARGO_BIN_EXE_twh"))
        .args(args)
        .current_dir(dir)
        .env_remove("TWH_STORE")
        .env_remove("TWH_MASTER_KEY")
        .env_remove("TWH_MASTER_KEY_FILE")
        .env_remove("TWH_AUDIT_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The process may exit before reading stdin (usage errors): that is fine.
    if let Err(e) = child.stdin.take().unwrap().write_all(stdin) {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
    }
    child.wait_with_output().unwrap()
}

/// Migrating into a store that already holds other data for a name used to
/// fail with "conflicting update … expected current 1, found 2", which reads
/// like a retryable race; it now says what happened and how to proceed, and
/// the target is untouched.
#[test]
fn migrate_into_a_non_empty_store_explains_the_refusal() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ok = |args: &[&str], stdin: &[u8]| {
        let out = twh_in(d, args, stdin);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    ok(&["secret", "init"], b"");
    ok(&["secret", "put", "webhooks/acme"], b"source-value-1");
    ok(&["secret", "init", "--store", "file://./other"], b"");
    for v in [&b"target-value-1"[..], b"target-value-2"] {
        ok(
            &[
                "secret",
                "put",
                "webhooks/acme",
                "--store",
                "file://./other",
            ],
            v,
        );
    }
    let before = std::fs::read(d.join("other")).unwrap();

    let out = twh_in(
        d,
        &[
            "secret",
            "migrate",
            "--from",
            "file://./.twh/store",
            "--to",
            "file://./other",
        ],
        b"",
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("webhooks/acme") && err.contains("--force"),
        "{err}"
    );
    assert!(!err.contains("conflicting update"), "{err}");
    assert!(!err.contains("value"), "no value in errors: {err}");
    assert_eq!(std::fs::read(d.join("other")).unwrap(), before);

    let forced = twh_in(
        d,
        &[
            "secret",
            "migrate",
            "--from",
            "file://./.twh/store",
            "--to",
            "file://./other",
            "--force",
        ],
        b"",
    );
    assert!(
        forced.status.success(),
        "{}",
        String::from_utf8_lossy(&forced.stderr)
    );
}

/// A wrong passphrase used to read "backup identity may not decrypt secret
/// backup bundle"; a damaged bundle blamed the store ("secret store corrupt").
#[test]
fn restore_errors_name_the_backup() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let run = |args: &[&str], pass: &str| {
        Command::new(env!("CARGO_BIN_EXE_twh"))
            .args(args)
            .current_dir(d)
            .env_remove("TWH_STORE")
            .env_remove("TWH_MASTER_KEY")
            .env_remove("TWH_MASTER_KEY_FILE")
            .env_remove("TWH_AUDIT_LOG")
            .env("REVIEW_PASS", pass)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    assert!(run(&["secret", "init"], "").status.success());
    assert!(
        run(&["secret", "put", "webhooks/a", "--generate"], "")
            .status
            .success()
    );
    let backup = [
        "secret",
        "backup",
        "--out",
        "b.age",
        "--passphrase-env",
        "REVIEW_PASS",
    ];
    assert!(run(&backup, "right").status.success());
    let restore = [
        "secret",
        "restore",
        "--in",
        "b.age",
        "--passphrase-env",
        "REVIEW_PASS",
    ];

    let out = run(&restore, "wrong");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("does not open the backup"), "{err}");

    let mut bytes = std::fs::read(d.join("b.age")).unwrap();
    bytes.truncate(bytes.len() - 30);
    std::fs::write(d.join("b.age"), bytes).unwrap();
    let out = run(&restore, "right");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("backup bundle") && !err.contains("store"),
        "{err}"
    );
}

/// Every fenced `sh` block of the crate README runs as written, in an empty
/// directory, with the built `twh` first on `PATH` (`set -e`: any failing
/// command fails the test).
#[test]
fn readme_blocks_run_as_written() {
    let readme = include_str!("../../README.md");
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_twh"))
        .parent()
        .unwrap()
        .to_owned();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let blocks: Vec<&str> = readme
        .split("```sh\n")
        .skip(1)
        .map(|rest| rest.split("```").next().unwrap())
        .collect();
    assert_eq!(blocks.len(), 2, "README blocks changed: update this test");
    for block in blocks {
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new("sh")
            .arg("-ec")
            .arg(block)
            .current_dir(dir.path())
            .env("PATH", &path)
            .env_remove("TWH_STORE")
            .env_remove("TWH_MASTER_KEY")
            .env_remove("TWH_MASTER_KEY_FILE")
            .env_remove("TWH_AUDIT_LOG")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "block failed:\n{block}\nstdout:\n{stdout}\nstderr:\n{stderr}"
        );
        if block.contains("twh sign") {
            assert!(stdout.contains("ok key="), "{stdout}");
            assert!(
                stdout.contains("tampered body rejected (exit 1)"),
                "{stdout}"
            );
            let key = std::fs::read_to_string(dir.path().join("partner.key")).unwrap();
            assert!(!stdout.contains(key.trim()) && !stderr.contains(key.trim()));
            // `umask 077` made the key files private: no readable-file warning.
            assert!(!stderr.contains("warning"), "{stderr}");
            assert_eq!(stdout.matches("ok key=").count(), 2, "{stdout}");
        }
    }
}

/// With `--audit-log` on a log whose last line is damaged, every operation
/// used to succeed silently without an audit record (the provider only logs
/// sink failures and the CLI shows no logs). The CLI now fails (exit 1) and
/// says the record was not written.
#[test]
fn unwritable_audit_record_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ok = |args: &[&str]| {
        let out = twh_in(d, args, b"");
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    ok(&["secret", "init"]);
    ok(&[
        "secret",
        "put",
        "webhooks/a",
        "--generate",
        "--audit-log",
        "audit.jsonl",
    ]);
    let log = d.join("audit.jsonl");
    let mut bytes = std::fs::read(&log).unwrap();
    bytes.truncate(bytes.len() - 5);
    std::fs::write(&log, &bytes).unwrap();

    let out = twh_in(
        d,
        &["secret", "get", "webhooks/a", "--audit-log", "audit.jsonl"],
        b"",
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("audit record") && err.contains("audit.jsonl"),
        "{err}"
    );
    assert_eq!(
        std::fs::read(&log).unwrap(),
        bytes,
        "the damaged log was appended to"
    );
}

/// `rotate` after `revoke --all` used to claim flatly "the previous version
/// stays valid for 1day" although it was revoked; and a newline in a
/// revocation reason forged an extra row in `versions` output.
#[test]
fn rotate_and_versions_output_tell_the_truth() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let run = |args: &[&str]| {
        let out = twh_in(d, args, b"");
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    run(&["secret", "init"]);
    run(&["secret", "put", "a", "--generate"]);
    let out = run(&["secret", "rotate", "a", "--grace", "1h"]);
    assert!(
        out.contains("stays valid for 1h unless it was revoked"),
        "{out}"
    );
    run(&[
        "secret",
        "revoke",
        "a",
        "--all",
        "--reason",
        "line one\nforged\trow",
    ]);
    run(&["secret", "rotate", "a"]);
    let out = run(&["secret", "versions", "a"]);
    assert_eq!(out.lines().count(), 3, "{out}");
    assert!(out.contains(r"line one\nforged\trow"), "{out}");
}
