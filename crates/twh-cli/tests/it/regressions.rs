//! Regressions found in the second CLI review: each test runs the built
//! binary in a fresh directory.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// A scratch directory with no `TWH_*` variables leaking in from the caller.
struct Dir {
    dir: tempfile::TempDir,
}

impl Dir {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_twh"));
        c.args(args)
            .current_dir(self.path())
            .env_remove("TWH_STORE")
            .env_remove("TWH_MASTER_KEY")
            .env_remove("TWH_MASTER_KEY_FILE")
            .env_remove("TWH_AUDIT_LOG")
            .env("USER", "tester");
        c
    }

    fn run_env(&self, args: &[&str], env: &[(&str, &str)], stdin: &[u8]) -> Output {
        let mut child = self
            .cmd(args)
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // The process may exit before reading stdin (usage errors): that is fine.
        let _ = child.stdin.take().unwrap().write_all(stdin);
        child.wait_with_output().unwrap()
    }

    fn run(&self, args: &[&str], stdin: &[u8]) -> Output {
        self.run_env(args, &[], stdin)
    }

    /// Runs, asserts exit 0 and returns stdout.
    fn ok(&self, args: &[&str], stdin: &[u8]) -> String {
        let out = self.run(args, stdin);
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

/// `outbox.db` in `d` with one registered endpoint `id`.
async fn outbox_with_endpoint(d: &Dir, id: &str) -> std::path::PathBuf {
    let path = d.path().join("outbox.db");
    let outbox = twh_delivery::Outbox::open(&path).await.unwrap();
    let ep = twh_delivery::Endpoint::new(id, "https://example.com/hooks").unwrap();
    outbox
        .register_endpoint(&ep, &twh_delivery::StaticKeys::new())
        .await
        .unwrap();
    path
}

/// `migrate` rejected `--audit-log` and left no audit trail of copying every
/// secret. It now audits the source's reads and the target's writes into one
/// chain.
#[test]
fn migrate_is_audited() {
    let d = Dir::new();
    d.ok(&["secret", "init"], b"");
    d.ok(&["secret", "put", "webhooks/acme"], b"value-acme");
    d.ok(&["secret", "put", "webhooks/globex"], b"value-globex");
    d.ok(&["secret", "init", "--store", "file://./other"], b"");
    let migrate = [
        "secret",
        "migrate",
        "--from",
        "file://./.twh/store",
        "--to",
        "file://./other",
    ];
    let mut args = migrate.to_vec();
    args.extend(["--audit-log", "audit.jsonl"]);
    d.ok(&args, b"");
    let log = std::fs::read_to_string(d.path().join("audit.jsonl")).unwrap();
    for name in ["webhooks/acme", "webhooks/globex"] {
        for op in ["export", "import"] {
            assert!(
                log.lines()
                    .any(|l| l.contains(&format!("\"name\":\"{name}\""))
                        && l.contains(&format!("\"operation\":\"{op}\""))
                        && l.contains("\"outcome\":\"ok\"")),
                "no {op} record for {name}:\n{log}"
            );
        }
    }
    assert!(!log.contains("value-"), "a value in the audit log: {log}");
    let records = log.lines().count();

    // TWH_AUDIT_LOG works too, and appends to the same chain.
    let out = d.run_env(&migrate, &[("TWH_AUDIT_LOG", "audit.jsonl")], b"");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let log = std::fs::read_to_string(d.path().join("audit.jsonl")).unwrap();
    assert!(log.lines().count() > records, "{log}");
    let verified = d.ok(&["audit", "verify", "audit.jsonl"], b"");
    assert!(verified.starts_with("ok: "), "{verified}");
}

/// Runs `cmd` with its stdout pipe closed by the reader before the command
/// writes: the read end is dropped first, then stdin is written and closed
/// (commands that read stdin print only after that, so for them the order
/// is certain). Returns the exit code and stderr.
fn with_closed_stdout(mut cmd: Command, stdin: &[u8]) -> (Option<i32>, String) {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let mut input = child.stdin.take().unwrap();
    let _ = input.write_all(stdin);
    drop(input);
    let out = child.wait_with_output().unwrap();
    (out.status.code(), text(&out.stderr))
}

/// `twh secret list | head -1` used to panic ("failed printing to stdout:
/// Broken pipe", exit 101). A reader that goes away now ends the command
/// quietly with exit 0, like `ripgrep`.
#[test]
fn closed_stdout_exits_quietly() {
    let d = Dir::new();
    d.ok(&["secret", "init"], b"");
    let key = d.ok(&["secret", "generate"], b"");
    let key = key.trim();
    let cases: Vec<(&str, Vec<&str>, &[u8])> = vec![
        ("put", vec!["secret", "put", "webhooks/a"], b"value-a"),
        ("sign", vec!["sign", "--secret", key], b"{\"order\":1}"),
        ("generate", vec!["secret", "generate", "--asymmetric"], b""),
        ("list", vec!["secret", "list"], b""),
        ("versions", vec!["secret", "versions", "webhooks/a"], b""),
        (
            "get --reveal",
            vec!["secret", "get", "webhooks/a", "--reveal"],
            b"",
        ),
    ];
    for (what, args, stdin) in cases {
        let (code, stderr) = with_closed_stdout(d.cmd(&args), stdin);
        assert!(!stderr.contains("panicked"), "{what}: {stderr}");
        assert_eq!(code, Some(0), "{what}: {stderr}");
        assert_eq!(stderr, "", "{what}");
    }
    // The operations ran: `put` stored its value before it failed to print.
    assert_eq!(
        d.ok(&["secret", "get", "webhooks/a", "--reveal"], b""),
        "value-a"
    );
}

/// Any other write error (here: a full disk) is a one-line failure, exit 1.
#[cfg(target_os = "linux")]
#[test]
fn unwritable_stdout_is_a_failure() {
    let d = Dir::new();
    let out = d
        .cmd(&["secret", "generate"])
        .stdout(std::fs::File::create("/dev/full").unwrap())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("writing to stdout"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

/// `twh delivery log … | head -1` panicked the same way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_stdout_exits_quietly_for_delivery_log() {
    let d = Dir::new();
    let path = outbox_with_endpoint(&d, "acme").await;
    let args = [
        "delivery",
        "log",
        "--endpoint",
        "acme",
        "--outbox",
        path.to_str().unwrap(),
    ];
    let (code, stderr) = with_closed_stdout(d.cmd(&args), b"");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(code, Some(0), "{stderr}");
}

/// A key file named on the command line used to lose against
/// `TWH_MASTER_KEY` in the environment ("the master key does not open this
/// store"); the flag now wins, for every command including `init` and
/// `migrate`.
#[test]
fn key_file_flags_beat_the_environment() {
    let d = Dir::new();
    let unrelated = twh_secrets::MasterKey::generate();
    let unrelated = unrelated.to_base64();
    let env = [(
        "TWH_MASTER_KEY",
        twh_secrets::secrecy::ExposeSecret::expose_secret(&unrelated),
    )];
    let ok = |args: &[&str], stdin: &[u8]| {
        let out = d.run_env(args, &env, stdin);
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        text(&out.stdout)
    };
    // init --key-file writes that key file although TWH_MASTER_KEY is set.
    let init = ok(&["secret", "init", "--key-file", "a.key"], b"");
    assert!(init.contains("master key file: a.key"), "{init}");
    assert!(d.path().join("a.key").exists());
    ok(
        &["secret", "put", "webhooks/a", "--key-file", "a.key"],
        b"v-a",
    );
    assert_eq!(
        ok(&["secret", "list", "--key-file", "a.key"], b""),
        "webhooks/a\n"
    );
    // Without the flag, TWH_MASTER_KEY still decides (and does not open it).
    let out = d.run_env(&["secret", "list"], &env, b"");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    // TWH_MASTER_KEY_FILE alone selects the key file; the flag beats it too.
    std::fs::copy(d.path().join("a.key"), d.path().join("env.key")).unwrap();
    let out = d.run_env(
        &["secret", "list"],
        &[("TWH_MASTER_KEY_FILE", "env.key")],
        b"",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = d.run_env(
        &["secret", "list", "--key-file", "a.key"],
        &[("TWH_MASTER_KEY_FILE", "missing.key")],
        b"",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));

    // migrate: --from-key-file and --to-key-file beat TWH_MASTER_KEY.
    ok(
        &[
            "secret",
            "init",
            "--store",
            "file://./other",
            "--key-file",
            "b.key",
        ],
        b"",
    );
    let out = ok(
        &[
            "secret",
            "migrate",
            "--from",
            "file://./.twh/store",
            "--from-key-file",
            "a.key",
            "--to",
            "file://./other",
            "--to-key-file",
            "b.key",
        ],
        b"",
    );
    assert!(out.contains("1 created"), "{out}");
    let out = ok(
        &[
            "secret",
            "get",
            "webhooks/a",
            "--reveal",
            "--store",
            "file://./other",
            "--key-file",
            "b.key",
        ],
        b"",
    );
    assert_eq!(out, "v-a");
}

/// `--help` says which source of the master key wins.
#[test]
fn help_states_the_key_precedence() {
    let d = Dir::new();
    let help = d.ok(&["secret", "list", "--help"], b"");
    let flat = help.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        flat.contains("strongest first: this flag, the environment variable TWH_MASTER_KEY"),
        "{help}"
    );
    let help = d.ok(&["secret", "migrate", "--help"], b"");
    assert!(help.contains("Without it: TWH_MASTER_KEY"), "{help}");
}

/// `printf x | twh secret put a/b --store memory://` used to report success
/// and keep nothing. Every command now refuses `memory://` (exit 2).
#[test]
fn memory_store_is_refused_by_every_command() {
    let d = Dir::new();
    d.ok(&["secret", "init"], b"");
    let m = "memory://";
    let file = "file://./.twh/store";
    let cases: Vec<Vec<&str>> = vec![
        vec!["secret", "init", "--store", m],
        vec!["secret", "put", "a/b", "--store", m],
        vec!["secret", "put", "a/b", "--generate", "--store", m],
        vec!["secret", "get", "a/b", "--store", m],
        vec!["secret", "list", "--store", m],
        vec!["secret", "versions", "a/b", "--store", m],
        vec!["secret", "rotate", "a/b", "--store", m],
        vec!["secret", "rollback", "a/b", "--to", "1", "--store", m],
        vec![
            "secret", "revoke", "a/b", "--all", "--reason", "x", "--store", m,
        ],
        vec!["secret", "destroy", "a/b", "--version", "1", "--store", m],
        vec![
            "secret",
            "backup",
            "--out",
            "b.age",
            "--passphrase-env",
            "PASS",
            "--store",
            m,
        ],
        vec!["secret", "import-env", "--store", m],
        vec!["secret", "migrate", "--from", m, "--to", file],
        vec!["secret", "migrate", "--from", file, "--to", m],
        vec!["secret", "rotate-due", "--store", m],
    ];
    for args in cases {
        let out = d.run_env(&args, &[("PASS", "pw")], b"x");
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains("only inside one process"), "{args:?}: {err}");
    }
    assert!(!d.path().join("b.age").exists());
    // The same through TWH_STORE.
    let out = d.run_env(&["secret", "list"], &[("TWH_STORE", m)], b"");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
}

/// A newline in a label value (or key) used to print as a separate,
/// forged line of `get` output; labels are now escaped like revocation
/// reasons.
#[test]
fn labels_cannot_forge_output_lines() {
    let d = Dir::new();
    d.ok(&["secret", "init"], b"");
    d.ok(
        &[
            "secret",
            "put",
            "webhooks/l",
            "--generate",
            "--label",
            "k=a\nname: forged",
            "--label",
            "x\ry=tab\there",
        ],
        b"",
    );
    let out = d.ok(&["secret", "get", "webhooks/l"], b"");
    assert_eq!(
        out.lines().filter(|l| l.starts_with("name:")).count(),
        1,
        "{out}"
    );
    assert!(out.contains(r"label: k=a\nname: forged"), "{out}");
    assert!(out.contains(r"label: x\ry=tab\there"), "{out}");
    assert!(!out.contains('\r') && !out.contains('\t'), "{out:?}");
}

/// Errors used to stop at the outermost context: a missing key file read
/// "secret backend failed: reading master key file ./.twh/store.key" with
/// no reason, and `init` beside an existing key file said only "writing
/// master key file …". The causes are now on the same line.
#[test]
fn errors_name_their_cause() {
    let d = Dir::new();
    d.ok(&["secret", "init"], b"");
    let key = d.path().join(".twh/store.key");
    std::fs::rename(&key, d.path().join("kept.key")).unwrap();
    let out = d.run(&["secret", "list"], b"");
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("reading master key file ./.twh/store.key: No such file or directory"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");

    // A key file left behind without its store: init refuses to replace it.
    std::fs::rename(d.path().join("kept.key"), &key).unwrap();
    std::fs::remove_file(d.path().join(".twh/store")).unwrap();
    let before = std::fs::read(&key).unwrap();
    let out = d.run(&["secret", "init"], b"");
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("master key file already exists at ./.twh/store.key"),
        "{err}"
    );
    assert_eq!(std::fs::read(&key).unwrap(), before, "the key was replaced");
    assert!(!d.path().join(".twh/store").exists());
    assert!(!err.contains(std::str::from_utf8(&before).unwrap().trim()));
}

/// A group-readable key file is refused in plain words (the sentence comes
/// from twh-secrets), with its cause, and without the key.
#[cfg(unix)]
#[test]
fn readable_key_file_message_is_plain() {
    use std::os::unix::fs::PermissionsExt as _;
    let d = Dir::new();
    d.ok(&["secret", "init"], b"");
    let key = d.path().join(".twh/store.key");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = d.run(&["secret", "list"], b"");
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("chmod 600 ./.twh/store.key"), "{err}");
    assert!(!err.contains("may not use secret"), "{err}");
    let b64 = std::fs::read_to_string(&key).unwrap();
    assert!(!err.contains(b64.trim()), "{err}");
}

/// An outbox file that is not SQLite used to exit 2 (usage); a database
/// failure is an operation that failed: exit 1, with the cause.
#[test]
fn outbox_database_errors_exit_1() {
    let d = Dir::new();
    std::fs::write(d.path().join("outbox.db"), vec![b'x'; 4096]).unwrap();
    for args in [
        &[
            "delivery",
            "log",
            "--endpoint",
            "acme",
            "--outbox",
            "outbox.db",
        ][..],
        &[
            "delivery",
            "retry",
            "--endpoint",
            "acme",
            "--outbox",
            "outbox.db",
        ],
        &[
            "delivery",
            "prune",
            "--older-than",
            "1d",
            "--outbox",
            "outbox.db",
        ],
    ] {
        let out = d.run(args, b"");
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(
            err.contains("outbox.db") && err.contains("database"),
            "{err}"
        );
        assert_eq!(err.lines().count(), 1, "{err}");
    }
}

/// `delivery log --endpoint typo` printed "(no attempts)" with exit 0 while
/// `retry` said `no endpoint "typo"`; both now fail the same way (exit 1).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_endpoint_is_reported_by_log_and_retry() {
    let d = Dir::new();
    let path = outbox_with_endpoint(&d, "acme").await;
    let p = path.to_str().unwrap();
    for sub in ["log", "retry"] {
        let out = d.run(&["delivery", sub, "--endpoint", "typo", "--outbox", p], b"");
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{sub}: {err}");
        assert_eq!(err, "twh: error: no endpoint \"typo\"\n", "{sub}");
        assert_eq!(text(&out.stdout), "", "{sub}");
    }
    let out = d.run(
        &["delivery", "log", "--message", "msg_typo", "--outbox", p],
        b"",
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("no message \"msg_typo\""));
    // A known endpoint without attempts still lists nothing, successfully.
    let out = d.ok(
        &["delivery", "log", "--endpoint", "acme", "--outbox", p],
        b"",
    );
    assert!(out.contains("(no attempts)"), "{out}");
}

/// `restore --in /tmp` (a directory) now says so, exit 2; so does
/// `backup --out DIR`.
#[test]
fn backup_paths_that_are_directories_are_named() {
    let d = Dir::new();
    d.ok(&["secret", "init"], b"");
    std::fs::create_dir(d.path().join("dir")).unwrap();
    let env = [("PASS", "pw")];
    for (flag, args) in [
        (
            "--in",
            &[
                "secret",
                "restore",
                "--in",
                "dir",
                "--passphrase-env",
                "PASS",
            ][..],
        ),
        (
            "--out",
            &[
                "secret",
                "backup",
                "--out",
                "dir",
                "--passphrase-env",
                "PASS",
            ],
        ),
    ] {
        let out = d.run_env(args, &env, b"");
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{flag}: {err}");
        assert!(err.contains("dir is a directory"), "{flag}: {err}");
    }
}

/// `put --rotate-every 0s` and `rotate-due --policy webhooks/=0s` were
/// accepted, and then every run rotated everything. A zero maximum age is
/// now a usage error; a zero grace (no overlap) stays allowed.
#[test]
fn zero_max_age_is_refused() {
    let d = Dir::new();
    d.ok(&["secret", "init"], b"");
    d.ok(&["secret", "put", "webhooks/a", "--generate"], b"");
    for args in [
        &[
            "secret",
            "put",
            "webhooks/a",
            "--generate",
            "--rotate-every",
            "0s",
        ][..],
        &["secret", "rotate-due", "--policy", "webhooks/=0s"],
        &["secret", "rotate-due", "--policy", "webhooks/=0d,1h"],
    ] {
        let out = d.run(args, b"");
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains("maximum age of zero"), "{args:?}: {err}");
    }
    // Nothing was written or rotated.
    assert_eq!(
        d.ok(&["secret", "versions", "webhooks/a"], b"")
            .lines()
            .count(),
        1
    );
    // A zero grace is legitimate.
    d.ok(
        &[
            "secret",
            "put",
            "webhooks/a",
            "--generate",
            "--rotate-every",
            "90d",
            "--rotation-grace",
            "0s",
        ],
        b"",
    );
    let out = d.ok(
        &["secret", "rotate-due", "--policy", "webhooks/=90d,0s"],
        b"",
    );
    assert!(out.contains("0 rotated, 1 not due"), "{out}");
}

/// The `sh` block under a root README heading.
fn root_readme_block(heading: &str) -> &'static str {
    let readme = include_str!("../../../../README.md");
    let section = readme
        .split(&format!("\n## {heading}\n"))
        .nth(1)
        .unwrap_or_else(|| panic!("README.md has no section {heading:?}"));
    section
        .split("```sh\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .unwrap_or_else(|| panic!("no sh block under {heading:?}"))
}

/// Runs a README block with `sh -e` in `d`, the built `twh` first on `PATH`.
fn run_block(d: &Dir, block: &str, env: &[(&str, &str)]) -> (String, String) {
    let bin = Path::new(env!("CARGO_BIN_EXE_twh")).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("sh")
        .arg("-ec")
        .arg(block)
        .current_dir(d.path())
        .env("PATH", path)
        .envs(env.iter().copied())
        .env_remove("TWH_STORE")
        .env_remove("TWH_MASTER_KEY")
        .env_remove("TWH_MASTER_KEY_FILE")
        .env_remove("TWH_AUDIT_LOG")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(
        out.status.success(),
        "block failed:\n{block}\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    (stdout, stderr)
}

/// The root README's command-line blocks run as written: the key files are
/// private (no warning), the asymmetric pair is split correctly.
#[test]
fn root_readme_sign_block_runs() {
    let d = Dir::new();
    let (stdout, stderr) = run_block(
        &d,
        root_readme_block("Sign and verify from the command line"),
        &[],
    );
    assert_eq!(stdout.matches("ok key=").count(), 2, "{stdout}");
    assert!(!stderr.contains("warning"), "{stderr}");
    let signing = std::fs::read_to_string(d.path().join("signing.key")).unwrap();
    let public = std::fs::read_to_string(d.path().join("partner.pub")).unwrap();
    assert!(signing.starts_with("whsk_") && public.starts_with("whpk_"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        for f in ["partner.key", "signing.key"] {
            let mode = std::fs::metadata(d.path().join(f))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "{f}: {mode:o}");
        }
    }
}

/// The root README's secret block runs (given the passphrase variable and
/// the `.env` file it names), migrates into a store it initialised, and
/// the audit log that `twh audit verify` checks was written by the block.
#[test]
fn root_readme_secret_block_runs() {
    let d = Dir::new();
    std::fs::write(
        d.path().join(".env"),
        "WEBHOOK_SECRET_ACME=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n",
    )
    .unwrap();
    let block = root_readme_block("Operating secrets: `twh secret …`");
    let (stdout, _) = run_block(&d, block, &[("BACKUP_PASSPHRASE", "correct horse")]);
    assert!(stdout.contains("created, 0 updated"), "{stdout}");
    let last = stdout.lines().last().unwrap();
    assert!(last.starts_with("ok: "), "{stdout}");
    let log = std::fs::read_to_string(d.path().join("audit.jsonl")).unwrap();
    assert!(log.contains("\"operation\":\"import\""), "{log}");
}

/// `--secret-file` warns (once, on stderr, without the key) about a key
/// file other users can read, and names the two-line file that
/// `generate --asymmetric > file` produces instead of a base64 error.
#[cfg(unix)]
#[test]
fn secret_file_checks() {
    use std::os::unix::fs::PermissionsExt as _;
    let d = Dir::new();
    let key = d.ok(&["secret", "generate"], b"");
    let file = d.path().join("partner.key");
    std::fs::write(&file, &key).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = d.run(&["sign", "--secret-file", "partner.key"], b"{}");
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("warning") && err.contains("chmod 600 partner.key"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(!err.contains(key.trim()), "{err}");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = d.run(&["sign", "--secret-file", "partner.key"], b"{}");
    assert_eq!(text(&out.stderr), "");

    // Both halves of an ed25519 pair in one file.
    let pair = d.ok(&["secret", "generate", "--asymmetric"], b"");
    std::fs::write(d.path().join("pair.txt"), &pair).unwrap();
    std::fs::set_permissions(
        d.path().join("pair.txt"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    for cmd in ["sign", "verify"] {
        let mut args = vec![cmd, "--scheme", "standard-v1a", "--secret-file", "pair.txt"];
        if cmd == "verify" {
            args.extend(["--header", "webhook-id: msg_1"]);
        }
        let out = d.run(&args, b"{}");
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{cmd}: {err}");
        assert!(err.contains("more than one line"), "{cmd}: {err}");
        assert!(err.contains("generate --asymmetric"), "{cmd}: {err}");
        for line in pair.lines() {
            assert!(!err.contains(&line[5..]), "{cmd} echoed a key: {err}");
        }
    }
}

/// A missing migration target used to suggest `--store` / `TWH_STORE`,
/// which migrate does not take; it now names the init command to run.
#[test]
fn migrate_to_a_missing_store_names_the_init_command() {
    let d = Dir::new();
    d.ok(&["secret", "init"], b"");
    let out = d.run(
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
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("run `twh secret init --store file://./other`"),
        "{err}"
    );
    assert!(!err.contains("TWH_STORE"), "{err}");
    let out = d.run(
        &[
            "secret",
            "migrate",
            "--from",
            "file://./nope",
            "--to",
            "file://./.twh/store",
        ],
        b"",
    );
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("check --from") && !err.contains("TWH_STORE"),
        "{err}"
    );
}

/// The head hash in an `audit verify` line.
fn head_of(ok: &str) -> String {
    ok.split("head ").nth(1).unwrap()[..64].to_owned()
}

/// `audit verify` said a bare `ok` after the last line(s) were cut off or
/// the last line edited: an unkeyed chain cannot see that. The ok line now
/// prints the head and says so; `--head <earlier head>` catches the cut
/// (and still accepts records appended since).
#[test]
fn audit_verify_head_detects_a_cut_off_tail() {
    let d = Dir::new();
    d.ok(&["secret", "init"], b"");
    let put = |name: &str| {
        d.ok(
            &[
                "secret",
                "put",
                name,
                "--generate",
                "--audit-log",
                "audit.jsonl",
            ],
            b"",
        );
    };
    put("webhooks/a");
    put("webhooks/b");
    let ok = d.ok(&["audit", "verify", "audit.jsonl"], b"");
    assert!(ok.starts_with("ok: 2 records, head "), "{ok}");
    assert!(
        ok.contains("pass --head <this hash> next time to detect a cut-off tail"),
        "{ok}"
    );
    let early = head_of(&ok);

    // Records appended since the head was noted are fine.
    put("webhooks/c");
    put("webhooks/d");
    let ok = d.ok(&["audit", "verify", "audit.jsonl", "--head", &early], b"");
    assert!(ok.contains("2 record(s) after it"), "{ok}");
    let latest = head_of(&ok);
    assert_ne!(latest, early);
    d.ok(
        &[
            "audit",
            "verify",
            "audit.jsonl",
            "--head",
            &latest.to_uppercase(),
        ],
        b"",
    );

    let log = d.path().join("audit.jsonl");
    let full = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = full.lines().collect();
    // Cut the last line: the chain alone still verifies, --head does not.
    std::fs::write(&log, format!("{}\n", lines[..3].join("\n"))).unwrap();
    let ok = d.ok(&["audit", "verify", "audit.jsonl"], b"");
    assert!(ok.starts_with("ok: 3 records"), "{ok}");
    let out = d.run(&["audit", "verify", "audit.jsonl", "--head", &latest], b"");
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("cut off or rewritten"), "{err}");
    // Cut back to before the early head: that fails too.
    std::fs::write(&log, format!("{}\n", lines[0])).unwrap();
    assert_eq!(
        d.run(&["audit", "verify", "audit.jsonl", "--head", &early], b"")
            .status
            .code(),
        Some(1)
    );
    // Edit the last line (nothing follows it, so the chain cannot see it).
    let edited = full.replacen("webhooks/d", "webhooks/e", 1);
    std::fs::write(&log, edited).unwrap();
    d.ok(&["audit", "verify", "audit.jsonl"], b"");
    assert_eq!(
        d.run(&["audit", "verify", "audit.jsonl", "--head", &latest], b"")
            .status
            .code(),
        Some(1)
    );
    // A malformed --head is a usage error.
    let out = d.run(&["audit", "verify", "audit.jsonl", "--head", "3f2a"], b"");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
}

/// `init --store file://./newdir/` failed ("is a directory") but left the
/// directory it had created for the key file behind.
#[test]
fn init_with_a_directory_url_leaves_nothing_behind() {
    let d = Dir::new();
    let out = d.run(&["secret", "init", "--store", "file://./newdir/"], b"");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("is a directory"),
        "{}",
        text(&out.stderr)
    );
    let left: Vec<_> = std::fs::read_dir(d.path()).unwrap().collect();
    assert!(left.is_empty(), "init left {left:?}");
}

/// A closed stdout used to end the command at its first line of output with
/// exit 0: `twh delivery retry --enable | true` re-enabled the endpoint,
/// printed, and never re-queued the messages. Output is now dropped and the
/// work (and its exit status) carries on.
#[tokio::test]
async fn a_closed_stdout_does_not_cut_a_command_short() {
    use twh_delivery::{MessageState, Outbox};
    let d = Dir::new();
    let (path, id) = crate::delivery::failed_outbox(&d.dir).await;
    let outbox = Outbox::open(&path).await.unwrap();
    outbox
        .set_endpoint_enabled("acme", false, Some("test"))
        .await
        .unwrap();
    let args = [
        "delivery",
        "retry",
        "--endpoint",
        "acme",
        "--enable",
        "--outbox",
        &path,
    ];
    let (code, stderr) = with_closed_stdout(d.cmd(&args), b"");
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(
        outbox.message(&id).await.unwrap().unwrap().state,
        MessageState::Pending,
        "the failed message was re-queued after the first line of output"
    );
    // A failing command still exits 1 with its reader gone.
    let args = ["delivery", "retry", "--endpoint", "nope", "--outbox", &path];
    let (code, stderr) = with_closed_stdout(d.cmd(&args), b"");
    assert_eq!(code, Some(1), "{stderr}");
}
