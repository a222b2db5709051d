//! `twh secret …` and `twh audit verify` against the built binary.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use twh_secrets::secrecy::ExposeSecret as _;

struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self, p: &str) -> std::path::PathBuf {
        self.dir.path().join(p)
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_twh"));
        c.args(args)
            .current_dir(self.dir.path())
            .env_remove("TWH_STORE")
            .env_remove("TWH_MASTER_KEY")
            .env_remove("TWH_MASTER_KEY_FILE")
            .env_remove("TWH_AUDIT_LOG")
            .env("USER", "tester");
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.run_stdin(args, None)
    }

    fn run_stdin(&self, args: &[&str], stdin: Option<&[u8]>) -> Output {
        let mut c = self.cmd(args);
        c.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = c.spawn().unwrap();
        let mut input = child.stdin.take().unwrap();
        if let Some(bytes) = stdin {
            // The process may exit before reading stdin (usage errors): that is fine.
            if let Err(e) = input.write_all(bytes) {
                assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
            }
        }
        drop(input);
        child.wait_with_output().unwrap()
    }

    /// Runs and asserts success; returns stdout.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "{args:?} failed: {}",
            text(&out.stderr)
        );
        text(&out.stdout)
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

const VALUE: &str = "whsec_Q0xJLXRlc3QtdmFsdWUtbWFya2VyLTAxMjM0NTY3";

#[test]
fn full_lifecycle_through_the_cli() {
    let e = Env::new();
    let out = e.ok(&["secret", "init"]);
    assert!(out.contains("created store ./.twh/store"), "{out}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(e.path(".twh/store.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // A second init refuses.
    assert!(!e.run(&["secret", "init"]).status.success());

    let put = e.run_stdin(
        &["secret", "put", "webhooks/acme", "--label", "team=payments"],
        Some(format!("{VALUE}\n").as_bytes()),
    );
    assert!(put.status.success(), "{}", text(&put.stderr));
    assert!(text(&put.stdout).contains("version 1 is current"));

    let get = e.ok(&["secret", "get", "webhooks/acme"]);
    assert!(
        get.contains("version: 1") && get.contains("state: current"),
        "{get}"
    );
    assert!(
        get.contains("cli:tester") && get.contains("label: team=payments"),
        "{get}"
    );
    assert!(!get.contains(VALUE), "value printed without --reveal");
    // --reveal prints exactly the value (trailing newline from stdin stripped).
    assert_eq!(e.ok(&["secret", "get", "webhooks/acme", "--reveal"]), VALUE);

    let rot = e.ok(&["secret", "rotate", "webhooks/acme", "--grace", "1h"]);
    assert!(rot.contains("version 2 is current"), "{rot}");
    let v2 = e.ok(&["secret", "get", "webhooks/acme", "--reveal"]);
    assert!(v2.starts_with("whsec_") && v2 != VALUE);
    let versions = e.ok(&["secret", "versions", "webhooks/acme"]);
    assert!(versions.contains("1\tprevious (valid until"), "{versions}");
    assert!(versions.contains("2\tcurrent"), "{versions}");

    e.ok(&["secret", "put", "webhooks/zeta", "--generate"]);
    e.ok(&["secret", "put", "db/password", "--generate"]);
    assert_eq!(
        e.ok(&["secret", "list", "webhooks/"]),
        "webhooks/acme\nwebhooks/zeta\n"
    );
    assert_eq!(e.ok(&["secret", "list"]).lines().count(), 3);

    let rb = e.ok(&["secret", "rollback", "webhooks/acme", "--to", "1"]);
    assert!(rb.contains("version 3"), "{rb}");
    assert_eq!(e.ok(&["secret", "get", "webhooks/acme", "--reveal"]), VALUE);

    let rv = e.ok(&[
        "secret",
        "revoke",
        "webhooks/acme",
        "--version",
        "2",
        "--reason",
        "leaked",
    ]);
    assert!(rv.contains("revoked version(s) 2"), "{rv}");
    let g2 = e.run(&["secret", "get", "webhooks/acme", "--version", "2"]);
    assert_eq!(g2.status.code(), Some(1));
    assert!(text(&g2.stderr).contains("revoked"), "{}", text(&g2.stderr));

    // destroy: current refused (usage), previous ok.
    assert_eq!(
        e.run(&["secret", "destroy", "webhooks/acme", "--version", "3"])
            .status
            .code(),
        Some(2)
    );
    e.ok(&["secret", "destroy", "webhooks/acme", "--version", "1"]);
    assert!(
        e.ok(&["secret", "versions", "webhooks/acme"])
            .contains("1\tdestroyed")
    );

    let all = e.ok(&[
        "secret",
        "revoke",
        "webhooks/acme",
        "--all",
        "--reason",
        "incident",
    ]);
    assert!(all.contains("revoked version(s) 3"), "{all}");
    assert_eq!(
        e.run(&["secret", "get", "webhooks/acme"]).status.code(),
        Some(1)
    );
    // revoke needs --version or --all, and a reason.
    assert_eq!(
        e.run(&["secret", "revoke", "webhooks/zeta", "--reason", "x"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        e.run(&["secret", "revoke", "webhooks/zeta", "--all"])
            .status
            .code(),
        Some(2)
    );
    // Store encrypted at rest.
    let raw = std::fs::read(e.path(".twh/store")).unwrap();
    assert!(!text(&raw).contains("Q0xJLXRlc3QtdmFsdWUtbWFya2Vy"));
}

#[test]
fn put_never_takes_the_value_from_argv_and_rejects_empty_stdin() {
    let e = Env::new();
    e.ok(&["secret", "init"]);
    let out = e.run(&["secret", "put", "webhooks/a", VALUE]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        !text(&out.stderr).contains("Q0xJLXRlc3Q"),
        "value echoed in error"
    );
    let empty = e.run_stdin(&["secret", "put", "webhooks/a"], Some(b""));
    assert_eq!(empty.status.code(), Some(2));
    assert!(text(&empty.stderr).contains("--generate"));
    let bad_name = e.run_stdin(&["secret", "put", "Bad Name"], Some(b"x"));
    assert_eq!(bad_name.status.code(), Some(2));
}

#[cfg(unix)]
#[test]
fn group_readable_key_file_is_refused_and_env_key_works() {
    use std::os::unix::fs::PermissionsExt as _;
    let e = Env::new();
    e.ok(&["secret", "init"]);
    e.ok(&["secret", "put", "webhooks/a", "--generate"]);
    let key = e.path(".twh/store.key");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o640)).unwrap();
    let out = e.run(&["secret", "list"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("chmod 600") && err.contains("store.key"),
        "{err}"
    );
    // The same key through TWH_MASTER_KEY works regardless of the file.
    let b64 = std::fs::read_to_string(&key).unwrap();
    let out = e
        .cmd(&["secret", "list"])
        .env("TWH_MASTER_KEY", b64.trim())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "webhooks/a\n");
    // A wrong key is refused clearly.
    let wrong = twh_secrets::MasterKey::generate();
    let out = e
        .cmd(&["secret", "list"])
        .env("TWH_MASTER_KEY", wrong.to_base64().expose_secret())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("master key"));
}

#[test]
fn store_flag_and_env_select_the_store() {
    let e = Env::new();
    let url = format!("file://{}", e.path("custom/s").display());
    e.ok(&["secret", "init", "--store", &url]);
    assert!(e.path("custom/s").exists() && e.path("custom/s.key").exists());
    e.ok(&["secret", "put", "webhooks/a", "--generate", "--store", &url]);
    let out = e
        .cmd(&["secret", "list"])
        .env("TWH_STORE", &url)
        .output()
        .unwrap();
    assert_eq!(text(&out.stdout), "webhooks/a\n");
    // The default store does not exist here.
    let out = e.run(&["secret", "list"]);
    assert!(
        text(&out.stderr).contains("twh secret init"),
        "{}",
        text(&out.stderr)
    );
    let out = e.run(&["secret", "list", "--store", "vault://x"]);
    assert_eq!(out.status.code(), Some(2));
}

fn write_identity(e: &Env) -> (std::path::PathBuf, String) {
    let (id, recipient) = twh_secrets::generate_backup_identity();
    let p = e.path("backup.key");
    std::fs::write(&p, id.expose_secret()).unwrap();
    (p, recipient)
}

#[test]
fn backup_restore_with_progress_lines_and_refusal() {
    let e = Env::new();
    e.ok(&["secret", "init"]);
    e.run_stdin(&["secret", "put", "webhooks/acme"], Some(VALUE.as_bytes()));
    e.ok(&["secret", "rotate", "webhooks/acme"]);
    e.ok(&["secret", "put", "webhooks/zeta", "--generate"]);
    let (identity, recipient) = write_identity(&e);
    let out = e.run(&[
        "secret",
        "backup",
        "--out",
        "b.age",
        "--recipient",
        &recipient,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("2 secrets, 3 versions"));
    // Not a terminal: plain progress lines.
    assert!(
        text(&out.stderr).contains("backup: webhooks/acme (1/2)"),
        "{}",
        text(&out.stderr)
    );
    assert!(!text(&std::fs::read(e.path("b.age")).unwrap()).contains("Q0xJLXRlc3Q"));
    // Refuses to overwrite an existing bundle file.
    assert_eq!(
        e.run(&[
            "secret",
            "backup",
            "--out",
            "b.age",
            "--recipient",
            &recipient
        ])
        .status
        .code(),
        Some(2)
    );

    let other = format!("file://{}", e.path("other/s").display());
    e.ok(&["secret", "init", "--store", &other]);
    let id = identity.to_str().unwrap();
    let r = e.ok(&[
        "secret",
        "restore",
        "--in",
        "b.age",
        "--identity",
        id,
        "--store",
        &other,
    ]);
    assert!(
        r.contains("2 created, 0 updated, 0 unchanged, 0 refused"),
        "{r}"
    );
    assert_eq!(
        e.ok(&[
            "secret",
            "get",
            "webhooks/acme",
            "--version",
            "1",
            "--reveal",
            "--store",
            &other
        ]),
        VALUE
    );
    // The target moves on; restore refuses without --force, succeeds with it.
    e.ok(&["secret", "rotate", "webhooks/zeta", "--store", &other]);
    let out = e.run(&[
        "secret",
        "restore",
        "--in",
        "b.age",
        "--identity",
        id,
        "--store",
        &other,
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("webhooks/zeta") && text(&out.stderr).contains("--force"));
    let r = e.ok(&[
        "secret",
        "restore",
        "--in",
        "b.age",
        "--identity",
        id,
        "--force",
        "--store",
        &other,
    ]);
    assert!(r.contains("1 updated"), "{r}");

    // Passphrase from the environment.
    let out = e
        .cmd(&[
            "secret",
            "backup",
            "--out",
            "p.age",
            "--passphrase-env",
            "BACKUP_PASS",
        ])
        .env("BACKUP_PASS", "a long passphrase for tests")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let fresh = format!("file://{}", e.path("fresh/s").display());
    e.ok(&["secret", "init", "--store", &fresh]);
    let out = e
        .cmd(&[
            "secret",
            "restore",
            "--in",
            "p.age",
            "--passphrase-env",
            "BACKUP_PASS",
            "--store",
            &fresh,
        ])
        .env("BACKUP_PASS", "a long passphrase for tests")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = e
        .cmd(&[
            "secret",
            "restore",
            "--in",
            "p.age",
            "--passphrase-env",
            "BACKUP_PASS",
            "--store",
            &fresh,
        ])
        .env("BACKUP_PASS", "wrong")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn import_env_and_migrate_are_idempotent() {
    let e = Env::new();
    e.ok(&["secret", "init"]);
    std::fs::write(
        e.path(".env"),
        format!("WEBHOOK_SECRET_ACME={VALUE}\nOTHER=1\n"),
    )
    .unwrap();
    let out = e.ok(&["secret", "import-env", "--env-file", ".env"]);
    assert!(
        out.contains("imported webhooks/acme") && out.contains("1 imported"),
        "{out}"
    );
    let again = e.ok(&["secret", "import-env", "--env-file", ".env"]);
    assert!(again.contains("0 imported, 1 unchanged"), "{again}");
    // Process environment with a custom mapping.
    let out = e
        .cmd(&["secret", "import-env", "--map", "TWHTEST_HOOK_=webhooks/"])
        .env("TWHTEST_HOOK_GLOBEX", "whsec_Z2xvYmV4")
        .output()
        .unwrap();
    assert!(
        text(&out.stdout).contains("imported webhooks/globex"),
        "{}",
        text(&out.stdout)
    );

    let to = format!("file://{}", e.path("target/s").display());
    e.ok(&["secret", "init", "--store", &to]);
    let first = e.ok(&[
        "secret",
        "migrate",
        "--from",
        "file://./.twh/store",
        "--to",
        &to,
    ]);
    assert!(
        first.contains("2 created, 0 updated, 0 unchanged"),
        "{first}"
    );
    let second = e.ok(&[
        "secret",
        "migrate",
        "--from",
        "file://./.twh/store",
        "--to",
        &to,
    ]);
    assert!(
        second.contains("0 created, 0 updated, 2 unchanged"),
        "{second}"
    );
    let hashes = |s: &str| -> Vec<String> {
        s.lines()
            .filter_map(|l| l.split("sha256:").nth(1).map(str::to_owned))
            .collect()
    };
    assert_eq!(hashes(&first), hashes(&second));
    assert_eq!(hashes(&first).len(), 2);
    assert_eq!(
        e.ok(&["secret", "get", "webhooks/acme", "--reveal", "--store", &to]),
        VALUE
    );
}

#[test]
fn rotate_due_follows_policies() {
    let e = Env::new();
    e.ok(&["secret", "init"]);
    e.ok(&["secret", "put", "webhooks/a", "--generate"]);
    e.ok(&["secret", "put", "db/p", "--generate"]);
    let none = e.ok(&["secret", "rotate-due", "--policy", "webhooks/=90d,1d"]);
    assert!(none.contains("0 rotated, 1 not due, 0 failed"), "{none}");
    std::thread::sleep(std::time::Duration::from_millis(20));
    let out = e.ok(&["secret", "rotate-due", "--policy", "webhooks/=1ms,1h"]);
    assert!(out.contains("rotated webhooks/a to version 2"), "{out}");
    assert!(out.contains("1 rotated"), "{out}");
    // Recorded policy via put --rotate-every.
    e.ok(&[
        "secret",
        "put",
        "db/p",
        "--generate",
        "--rotate-every",
        "1ms",
    ]);
    std::thread::sleep(std::time::Duration::from_millis(20));
    let out = e.ok(&["secret", "rotate-due"]);
    assert!(out.contains("rotated db/p to version 3"), "{out}");
    assert_eq!(
        e.run(&["secret", "rotate-due", "--policy", "nonsense"])
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn audit_log_and_verify() {
    let e = Env::new();
    e.ok(&["secret", "init"]);
    let log = "audit.jsonl";
    for args in [
        &[
            "secret",
            "put",
            "webhooks/a",
            "--generate",
            "--audit-log",
            log,
        ][..],
        &[
            "secret",
            "get",
            "webhooks/a",
            "--audit-log",
            log,
            "--as",
            "ops:alice",
        ],
        &["secret", "rotate", "webhooks/a", "--audit-log", log],
    ] {
        e.ok(args);
    }
    let _ = e.run(&["secret", "get", "webhooks/missing", "--audit-log", log]);
    let content = std::fs::read_to_string(e.path(log)).unwrap();
    assert_eq!(content.lines().count(), 5, "{content}"); // get = get + metadata
    assert!(content.contains("\"principal\":\"ops:alice\""));
    assert!(content.contains("\"outcome\":\"not_found\""));
    let ok = e.ok(&["audit", "verify", log]);
    assert!(ok.starts_with("ok: 5 records, head "), "{ok}");
    let head = ok.split("head ").nth(1).unwrap()[..64].to_owned();
    e.ok(&["audit", "verify", log, "--head", &head]);
    // Edit a line: verification fails with exit 1 and names the line.
    let tampered = content.replacen("\"ops:alice\"", "\"ops:mallory\"", 1);
    std::fs::write(e.path(log), tampered).unwrap();
    let out = e.run(&["audit", "verify", log]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("line 3"),
        "{}",
        text(&out.stderr)
    );
    // Truncation is caught with --head.
    let lines: Vec<&str> = content.lines().collect();
    std::fs::write(e.path(log), format!("{}\n", lines[..4].join("\n"))).unwrap();
    e.ok(&["audit", "verify", log]);
    assert_eq!(
        e.run(&["audit", "verify", log, "--head", &head])
            .status
            .code(),
        Some(1)
    );
}

#[test]
fn every_secret_subcommand_has_help() {
    let e = Env::new();
    for sub in [
        "init",
        "put",
        "get",
        "list",
        "versions",
        "rotate",
        "rollback",
        "revoke",
        "destroy",
        "backup",
        "restore",
        "import-env",
        "migrate",
        "rotate-due",
    ] {
        let out = e.run(&["secret", sub, "--help"]);
        assert!(out.status.success(), "{sub}: {}", text(&out.stderr));
        assert!(
            text(&out.stdout).contains("--store") || sub == "migrate",
            "{sub}"
        );
    }
    assert!(e.run(&["audit", "verify", "--help"]).status.success());
    let _ = Path::new(".");
}
