//! `twh secret init|put|get|list|versions|rotate|rollback|revoke|destroy|backup|restore|import-env|migrate|rotate-due`:
//! thin wrappers over `twh-secrets`.

use std::io::{IsTerminal as _, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use clap::{Args, Subcommand};
use twh_secrets::secrecy::SecretString;
use twh_secrets::{
    AuditEvent, AuditSink, AuditedProvider, BackupIdentity, BackupRecipient, DEFAULT_STORE_URL,
    EnvMapping, EnvSource, FileProvider, ImportMode, JsonFileSink, MasterKey, Principal, Progress,
    PutOptions, RevokeTarget, RotationPolicy, Rotator, SecretError, SecretName, SecretProvider,
    SecretValue, StoreUrl, Version, VersionState, WebhookSecretGenerator,
};
use zeroize::Zeroizing;

use crate::failure::{Failure, chain};
use crate::out::outln;

/// Largest value `put` reads from stdin.
const MAX_VALUE_BYTES: u64 = 1024 * 1024;

/// Store selection shared by every store command.
#[derive(Debug, Args)]
pub(crate) struct StoreArgs {
    /// Store URL: `file:///abs/path` or `file://./relative/path`.
    #[arg(long, env = "TWH_STORE", default_value = DEFAULT_STORE_URL, value_name = "URL")]
    store: String,

    /// Master key file of a file store. The key comes from, strongest first: this
    /// flag, the environment variable TWH_MASTER_KEY (base64 of 32 bytes), the
    /// environment variable TWH_MASTER_KEY_FILE (a path), `<store>.key`.
    #[arg(long, value_name = "PATH")]
    key_file: Option<PathBuf>,

    /// Append a hash-chained audit record of every operation to this file.
    #[arg(long, env = "TWH_AUDIT_LOG", value_name = "PATH")]
    audit_log: Option<PathBuf>,

    /// Principal recorded as author and in audit records (default `cli:$USER`).
    #[arg(long = "as", value_name = "PRINCIPAL")]
    principal: Option<String>,
}

/// The store commands (flattened into `twh secret`).
#[derive(Debug, Subcommand)]
pub(crate) enum SecretCmd {
    /// Create an encrypted store and its master key file (0600).
    Init(InitArgs),
    /// Store a new version (value from stdin, or --generate); it becomes current.
    Put(PutArgs),
    /// Show a secret's current (or given) version; the value only with --reveal.
    Get(GetArgs),
    /// List secret names (optionally under a prefix).
    List(ListArgs),
    /// List a secret's versions and their states.
    Versions(NameArgs),
    /// Generate a new current version; the old one stays valid for --grace.
    Rotate(RotateArgs),
    /// Write an old version's value as a new current version.
    Rollback(RollbackArgs),
    /// Revoke a version (or all) at once, without grace.
    Revoke(RevokeArgs),
    /// Erase a version's key material (metadata is kept).
    Destroy(DestroyArgs),
    /// Write an age-encrypted bundle of every secret, version and state.
    Backup(BackupArgs),
    /// Restore a backup bundle (refuses to overwrite newer data without --force).
    Restore(RestoreArgs),
    /// Import secrets from the environment or a .env file.
    ImportEnv(ImportEnvArgs),
    /// Copy every secret and version from one store to another (idempotent).
    Migrate(MigrateArgs),
    /// Rotate every secret whose rotation policy says it is due.
    RotateDue(RotateDueArgs),
}

/// Arguments of `init`.
#[derive(Debug, Args)]
pub(crate) struct InitArgs {
    #[command(flatten)]
    store: StoreArgs,
}

/// A secret name.
#[derive(Debug, Args)]
pub(crate) struct NameArgs {
    /// Secret name, e.g. `webhooks/acme`.
    name: String,
    #[command(flatten)]
    store: StoreArgs,
}

/// Arguments of `put`.
#[derive(Debug, Args)]
pub(crate) struct PutArgs {
    /// Secret name, e.g. `webhooks/acme`.
    name: String,
    /// Generate a Standard Webhooks secret (`whsec_…`) instead of reading stdin.
    #[arg(long)]
    generate: bool,
    /// Catches a value typed on the command line, to refuse it without echoing it.
    #[arg(hide = true, value_name = "NEVER")]
    argv_value: Option<String>,
    /// Label to record, `KEY=VALUE` (repeatable).
    #[arg(long = "label", value_name = "KEY=VALUE")]
    labels: Vec<String>,
    /// Record a rotation policy: rotate when the current version is this old (e.g. `90d`).
    #[arg(long, value_name = "DURATION", value_parser = parse_max_age)]
    rotate_every: Option<Duration>,
    /// Grace period used by that policy's rotations.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "24h", requires = "rotate_every")]
    rotation_grace: Duration,
    /// How long the replaced version stays valid (default: not at all).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "0s")]
    grace: Duration,
    #[command(flatten)]
    store: StoreArgs,
}

/// Arguments of `get`.
#[derive(Debug, Args)]
#[command(disable_version_flag = true)]
pub(crate) struct GetArgs {
    /// Secret name.
    name: String,
    /// A specific version instead of the current one.
    #[arg(long, value_name = "V")]
    version: Option<u64>,
    /// Print the value (only the value) to stdout.
    #[arg(long)]
    reveal: bool,
    #[command(flatten)]
    store: StoreArgs,
}

/// Arguments of `list`.
#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    /// Only names starting with this prefix.
    #[arg(default_value = "")]
    prefix: String,
    #[command(flatten)]
    store: StoreArgs,
}

/// Arguments of `rotate`.
#[derive(Debug, Args)]
pub(crate) struct RotateArgs {
    /// Secret name.
    name: String,
    /// How long the previous version stays valid.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "24h")]
    grace: Duration,
    #[command(flatten)]
    store: StoreArgs,
}

/// Arguments of `rollback`.
#[derive(Debug, Args)]
pub(crate) struct RollbackArgs {
    /// Secret name.
    name: String,
    /// The version whose value becomes current again.
    #[arg(long, value_name = "V")]
    to: u64,
    #[command(flatten)]
    store: StoreArgs,
}

/// Arguments of `revoke`.
#[derive(Debug, Args)]
#[command(disable_version_flag = true)]
#[command(group(clap::ArgGroup::new("target").required(true).args(["version", "all"])))]
pub(crate) struct RevokeArgs {
    /// Secret name.
    name: String,
    /// Revoke this version.
    #[arg(long, value_name = "V")]
    version: Option<u64>,
    /// Revoke every version.
    #[arg(long)]
    all: bool,
    /// Why (recorded with the revocation).
    #[arg(long)]
    reason: String,
    #[command(flatten)]
    store: StoreArgs,
}

/// Arguments of `destroy`.
#[derive(Debug, Args)]
#[command(disable_version_flag = true)]
pub(crate) struct DestroyArgs {
    /// Secret name.
    name: String,
    /// The version to erase.
    #[arg(long, value_name = "V")]
    version: u64,
    #[command(flatten)]
    store: StoreArgs,
}

/// Who can open a backup.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub(crate) struct RecipientArgs {
    /// age X25519 recipient (`age1…`).
    #[arg(long, value_name = "AGE1…")]
    recipient: Option<String>,
    /// Environment variable holding a passphrase.
    #[arg(long, value_name = "VAR")]
    passphrase_env: Option<String>,
}

/// Arguments of `backup`.
#[derive(Debug, Args)]
pub(crate) struct BackupArgs {
    /// Bundle file to create (must not exist).
    #[arg(long, value_name = "PATH")]
    out: PathBuf,
    #[command(flatten)]
    recipient: RecipientArgs,
    #[command(flatten)]
    store: StoreArgs,
}

/// What opens a backup.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub(crate) struct IdentityArgs {
    /// File holding an age X25519 identity (`AGE-SECRET-KEY-1…`).
    #[arg(long, value_name = "PATH")]
    identity: Option<PathBuf>,
    /// Environment variable holding the passphrase.
    #[arg(long, value_name = "VAR")]
    passphrase_env: Option<String>,
}

/// Arguments of `restore`.
#[derive(Debug, Args)]
pub(crate) struct RestoreArgs {
    /// Bundle file.
    #[arg(long = "in", value_name = "PATH")]
    input: PathBuf,
    #[command(flatten)]
    identity: IdentityArgs,
    /// Overwrite secrets that are newer in the store.
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    store: StoreArgs,
}

/// Arguments of `import-env`.
#[derive(Debug, Args)]
pub(crate) struct ImportEnvArgs {
    /// Read this .env file instead of the process environment.
    #[arg(long, value_name = "PATH")]
    env_file: Option<PathBuf>,
    /// Mapping `VAR_PREFIX=name/prefix` (repeatable; default `WEBHOOK_SECRET_=webhooks/`):
    /// `WEBHOOK_SECRET_ACME` → `webhooks/acme`. A whole variable name maps to exactly that
    /// name, e.g. `STRIPE_WEBHOOK_SECRET=webhooks/stripe`.
    #[arg(long = "map", value_name = "VAR_PREFIX=NAME_PREFIX")]
    maps: Vec<String>,
    #[command(flatten)]
    store: StoreArgs,
}

/// Arguments of `migrate`.
#[derive(Debug, Args)]
pub(crate) struct MigrateArgs {
    /// Source store URL.
    #[arg(long, value_name = "URL")]
    from: String,
    /// Target store URL (a file store must exist: `twh secret init` it first).
    #[arg(long, value_name = "URL")]
    to: String,
    /// Master key file of the source. Without it: TWH_MASTER_KEY if set, else `<from>.key`.
    #[arg(long, value_name = "PATH")]
    from_key_file: Option<PathBuf>,
    /// Master key file of the target. Without it: TWH_MASTER_KEY if set, else `<to>.key`.
    #[arg(long, value_name = "PATH")]
    to_key_file: Option<PathBuf>,
    /// Overwrite secrets that are newer in the target.
    #[arg(long)]
    force: bool,
    /// Append a hash-chained audit record of every read of the source and
    /// every write to the target to this file.
    #[arg(long, env = "TWH_AUDIT_LOG", value_name = "PATH")]
    audit_log: Option<PathBuf>,
    /// Principal recorded as author and in audit records (default `cli:$USER`).
    #[arg(long = "as", value_name = "PRINCIPAL")]
    principal: Option<String>,
}

/// Arguments of `rotate-due`.
#[derive(Debug, Args)]
pub(crate) struct RotateDueArgs {
    /// Policy for names under a prefix: `PREFIX=MAX_AGE[,GRACE]`, e.g. `webhooks/=90d,1d`
    /// (repeatable). Policies recorded with `put --rotate-every` take precedence.
    #[arg(long = "policy", value_name = "PREFIX=MAX_AGE[,GRACE]")]
    policies: Vec<String>,
    #[command(flatten)]
    store: StoreArgs,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s).map_err(|e| e.to_string())
}

/// A rotation policy's maximum age: zero would make every run rotate
/// everything. (A zero grace is fine: no overlap.)
fn parse_max_age(s: &str) -> Result<Duration, String> {
    let d = parse_duration(s)?;
    if d.is_zero() {
        return Err(
            "a maximum age of zero would rotate on every run; give a positive duration, e.g. 90d"
                .to_owned(),
        );
    }
    Ok(d)
}

/// A store error with its causes (an io error says *why* a file could not be read).
fn fail(e: SecretError) -> Failure {
    match e {
        SecretError::InvalidInput { .. } => Failure::usage(chain(&e)),
        other => Failure::failed(chain(&other)),
    }
}

fn name(text: &str) -> Result<SecretName, Failure> {
    SecretName::new(text).map_err(fail)
}

fn version(v: u64) -> Result<Version, Failure> {
    Version::new(v).map_err(fail)
}

fn when(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

fn default_principal() -> Principal {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "unknown".to_owned());
    Principal::new(&format!("cli:{user}"))
}

/// `TWH_MASTER_KEY_FILE`, if set and not empty.
fn env_key_file() -> Option<PathBuf> {
    std::env::var_os("TWH_MASTER_KEY_FILE")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// Where a store's master key comes from, strongest first: a key file named
/// on the command line (`flag`), `TWH_MASTER_KEY`, `fallback` (the path in
/// `TWH_MASTER_KEY_FILE`, for commands with one store), `<store>.key`.
#[derive(Debug, Clone, Copy)]
struct KeyChoice<'a> {
    flag: Option<&'a Path>,
    fallback: Option<&'a Path>,
}

impl KeyChoice<'_> {
    /// The key file used when neither the flag nor `TWH_MASTER_KEY` decides.
    fn file(self, url: &StoreUrl) -> Result<PathBuf, Failure> {
        match self.flag.or(self.fallback) {
            Some(p) => Ok(p.to_path_buf()),
            None => url
                .default_key_file()
                .ok_or_else(|| Failure::usage("this store has no master key file")),
        }
    }

    fn load(self, url: &StoreUrl) -> Result<MasterKey, Failure> {
        if self.flag.is_none() {
            if let Some(key) = MasterKey::from_env().map_err(fail)? {
                return Ok(key);
            }
        }
        MasterKey::from_key_file(&self.file(url)?).map_err(fail)
    }
}

/// Which store of a command a URL names, for the hint when it does not exist.
#[derive(Debug, Clone, Copy)]
enum Role {
    /// The one store of a command (`--store` / `TWH_STORE`).
    Store,
    /// `migrate --from`.
    MigrateFrom,
    /// `migrate --to`.
    MigrateTo,
}

impl Role {
    fn hint(self, url: &str) -> String {
        match self {
            Self::Store => "run `twh secret init`, or pass --store / TWH_STORE".to_owned(),
            Self::MigrateFrom => "check --from".to_owned(),
            Self::MigrateTo => {
                format!("the target must exist first: run `twh secret init --store {url}`")
            }
        }
    }
}

/// Opens a store URL as `principal`.
fn open_url(
    url_text: &str,
    key: KeyChoice<'_>,
    missing: Role,
    principal: &Principal,
) -> Result<Arc<dyn SecretProvider>, Failure> {
    let url = StoreUrl::parse(url_text).map_err(fail)?;
    match &url {
        StoreUrl::File(path) => {
            if !path.exists() {
                return Err(Failure::usage(format!(
                    "no secret store at {} ({})",
                    path.display(),
                    missing.hint(url_text)
                )));
            }
            let key = key.load(&url)?;
            let p = FileProvider::open(path, key)
                .map_err(fail)?
                .with_principal(principal.clone());
            Ok(Arc::new(p))
        }
        StoreUrl::Memory => Err(memory_refused()),
        _ => Err(Failure::usage(
            "this kind of store URL is not supported by the CLI (use file://)",
        )),
    }
}

/// A `memory://` store lives and dies with one process: every CLI command
/// would start from an empty store and throw its writes away.
fn memory_refused() -> Failure {
    Failure::usage(
        "memory:// stores exist only inside one process (library use and tests); \
         each twh command would start empty and discard its writes: use a file:// store",
    )
}

fn open(s: &StoreArgs) -> Result<Arc<dyn SecretProvider>, Failure> {
    let principal = s
        .principal
        .as_deref()
        .map_or_else(default_principal, Principal::new);
    let fallback = env_key_file();
    let key = KeyChoice {
        flag: s.key_file.as_deref(),
        fallback: fallback.as_deref(),
    };
    let p = open_url(&s.store, key, Role::Store, &principal)?;
    let sink = audit_sink(s.audit_log.as_deref())?;
    Ok(audited(p, sink.as_ref(), &principal))
}

/// The `--audit-log` sink, if one was asked for (one per run, shared by every
/// provider the command opens, so their records form one chain).
fn audit_sink(log: Option<&Path>) -> Result<Option<Arc<dyn AuditSink>>, Failure> {
    let Some(log) = log else {
        return Ok(None);
    };
    Ok(Some(Arc::new(CheckedSink {
        inner: JsonFileSink::open(log).map_err(fail)?,
        path: log.to_path_buf(),
    })))
}

/// `p`, audited to `sink` as `principal` when there is a sink.
fn audited(
    p: Arc<dyn SecretProvider>,
    sink: Option<&Arc<dyn AuditSink>>,
    principal: &Principal,
) -> Arc<dyn SecretProvider> {
    match sink {
        Some(sink) => Arc::new(AuditedProvider::new(p, Arc::clone(sink), principal.clone())),
        None => p,
    }
}

/// The first audit record that could not be written in this run.
/// `AuditedProvider` only logs sink failures (it must not fail the operation
/// it is recording), and the CLI installs no log subscriber, so without this
/// `--audit-log` would drop records silently.
static AUDIT_FAILURE: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);

/// A [`JsonFileSink`] that remembers its first failure for [`run`] to report.
#[derive(Debug)]
struct CheckedSink {
    inner: JsonFileSink,
    path: PathBuf,
}

impl AuditSink for CheckedSink {
    fn record(&self, event: &AuditEvent) -> Result<(), SecretError> {
        let r = self.inner.record(event);
        if let Err(e) = &r {
            let mut first = AUDIT_FAILURE
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            first.get_or_insert_with(|| {
                format!(
                    "the audit record for {} {} could not be written to {}: {}",
                    event.operation.as_str(),
                    event.name,
                    self.path.display(),
                    chain(e)
                )
            });
        }
        r
    }
}

/// Progress on stderr: a bar on a terminal, plain lines otherwise.
struct CliProgress {
    label: &'static str,
    bar: Option<indicatif::ProgressBar>,
    done: AtomicUsize,
    total: AtomicUsize,
}

impl CliProgress {
    fn new(label: &'static str) -> Self {
        Self {
            label,
            bar: None,
            done: AtomicUsize::new(0),
            total: AtomicUsize::new(0),
        }
    }
}

impl Progress for CliProgress {
    fn begin(&self, total: usize) {
        self.total.store(total, Ordering::SeqCst);
        if let Some(bar) = &self.bar {
            bar.set_length(total as u64);
        }
    }

    fn advance(&self, name: &SecretName) {
        let done = self.done.fetch_add(1, Ordering::SeqCst) + 1;
        match &self.bar {
            Some(bar) => {
                bar.set_message(name.to_string());
                bar.inc(1);
            }
            None => eprintln!(
                "{}: {name} ({done}/{})",
                self.label,
                self.total.load(Ordering::SeqCst)
            ),
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

fn progress(label: &'static str) -> CliProgress {
    let mut p = CliProgress::new(label);
    if std::io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new(0);
        if let Ok(style) =
            indicatif::ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {msg}")
        {
            bar.set_style(style);
        }
        bar.set_prefix(label);
        p.bar = Some(bar);
    }
    p
}

pub(crate) fn run(cmd: SecretCmd) -> Result<(), Failure> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::failed(format!("cannot start runtime: {e}")))?;
    let r = rt.block_on(run_async(cmd));
    let audit = AUDIT_FAILURE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .take();
    match (r, audit) {
        (r, None) => r,
        (Ok(()), Some(audit)) => Err(Failure::failed(format!(
            "the operation was carried out, but {audit}"
        ))),
        (Err(e), Some(audit)) => {
            eprintln!("twh: error: {audit}");
            Err(e)
        }
    }
}

async fn run_async(cmd: SecretCmd) -> Result<(), Failure> {
    match cmd {
        SecretCmd::Init(a) => init(&a.store),
        SecretCmd::Put(a) => put(a).await,
        SecretCmd::Get(a) => get(a).await,
        SecretCmd::List(a) => {
            for n in open(&a.store)?.list(&a.prefix).await.map_err(fail)? {
                outln!("{n}")?;
            }
            Ok(())
        }
        SecretCmd::Versions(a) => versions(a).await,
        SecretCmd::Rotate(a) => {
            let p = open(&a.store)?;
            let n = name(&a.name)?;
            let v = p
                .rotate(&n, &WebhookSecretGenerator, a.grace)
                .await
                .map_err(fail)?;
            // No extra read to find out (it would add an audit record): say
            // only what is true either way — after `revoke --all` the replaced
            // version stays revoked.
            outln!(
                "{n}: version {v} is current; the version it replaced stays valid for {} \
                 unless it was revoked",
                humantime::format_duration(a.grace)
            )?;
            Ok(())
        }
        SecretCmd::Rollback(a) => {
            let p = open(&a.store)?;
            let n = name(&a.name)?;
            let v = p.rollback(&n, version(a.to)?).await.map_err(fail)?;
            outln!(
                "{n}: version {v} (the value of version {}) is current",
                a.to
            )?;
            Ok(())
        }
        SecretCmd::Revoke(a) => {
            let p = open(&a.store)?;
            let n = name(&a.name)?;
            let target = match a.version {
                Some(v) if !a.all => RevokeTarget::Version(version(v)?),
                _ => RevokeTarget::All,
            };
            let done = p.revoke(&n, target, &a.reason).await.map_err(fail)?;
            let list: Vec<String> = done.iter().map(ToString::to_string).collect();
            if list.is_empty() {
                outln!("{n}: nothing left to revoke")?;
            } else {
                outln!("{n}: revoked version(s) {}", list.join(", "))?;
            }
            Ok(())
        }
        SecretCmd::Destroy(a) => {
            let p = open(&a.store)?;
            let n = name(&a.name)?;
            p.destroy(&n, version(a.version)?).await.map_err(fail)?;
            outln!("{n}: version {} destroyed (metadata kept)", a.version)?;
            Ok(())
        }
        SecretCmd::Backup(a) => backup(a).await,
        SecretCmd::Restore(a) => restore(a).await,
        SecretCmd::ImportEnv(a) => import_env(a).await,
        SecretCmd::Migrate(a) => migrate(a).await,
        SecretCmd::RotateDue(a) => rotate_due(a).await,
    }
}

fn init(s: &StoreArgs) -> Result<(), Failure> {
    let url = StoreUrl::parse(&s.store).map_err(fail)?;
    let path = match &url {
        StoreUrl::File(path) => path,
        StoreUrl::Memory => return Err(memory_refused()),
        _ => return Err(Failure::usage("init is for file:// stores")),
    };
    // Check before a key file is written: a failed init must leave nothing
    // behind (a fresh key file beside an existing store would not open it).
    if path.is_dir() || path.as_os_str().as_encoded_bytes().ends_with(b"/") {
        return Err(Failure::usage(format!(
            "{} is a directory; --store names the store file, e.g. file://./.twh/store",
            path.display()
        )));
    }
    if path.exists() {
        return Err(Failure::failed(format!(
            "a store already exists at {}; nothing was changed",
            path.display()
        )));
    }
    let mut written = None;
    let fallback = env_key_file();
    let choice = KeyChoice {
        flag: s.key_file.as_deref(),
        fallback: fallback.as_deref(),
    };
    // --key-file beats TWH_MASTER_KEY: a new key is written to that file.
    let env_key = match choice.flag {
        Some(_) => None,
        None => MasterKey::from_env().map_err(fail)?,
    };
    let (key, key_note) = match env_key {
        Some(k) => (
            k,
            "master key: from TWH_MASTER_KEY (no key file written)".to_owned(),
        ),
        None => {
            let file = choice.file(&url)?;
            // Never overwrite a key: it may be the only one that opens some store.
            if file.exists() {
                return Err(Failure::failed(format!(
                    "a master key file already exists at {}; nothing was changed \
                     (move it away, or name another path with --key-file)",
                    file.display()
                )));
            }
            if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .map_err(|e| Failure::failed(format!("creating {}: {e}", dir.display())))?;
            }
            let k = MasterKey::generate();
            k.write_key_file(&file).map_err(fail)?;
            written = Some(file.clone());
            (
                k,
                format!(
                    "master key file: {} (mode 0600; keep it apart from backups of the store)",
                    file.display()
                ),
            )
        }
    };
    let id = key.key_id();
    if let Err(e) = FileProvider::init(path, key) {
        // Another process created the store meanwhile: drop our orphan key file.
        if let Some(file) = written {
            let _ = std::fs::remove_file(file);
        }
        return Err(fail(e));
    }
    outln!("created store {}", path.display())?;
    outln!("{key_note}")?;
    outln!("master key id: {id}")?;
    Ok(())
}

fn read_stdin_value() -> Result<SecretValue, Failure> {
    if std::io::stdin().is_terminal() {
        eprintln!("reading the value from stdin (not echoed by the store; end with Ctrl-D) …");
    }
    let mut buf = Zeroizing::new(Vec::new());
    std::io::stdin()
        .lock()
        .take(MAX_VALUE_BYTES + 1)
        .read_to_end(&mut buf)
        .map_err(|e| Failure::usage(format!("reading the value from stdin: {e}")))?;
    if buf.len() as u64 > MAX_VALUE_BYTES {
        return Err(Failure::usage("the value on stdin is larger than 1 MiB"));
    }
    if buf.last() == Some(&b'\n') {
        buf.pop();
        if buf.last() == Some(&b'\r') {
            buf.pop();
        }
    }
    if buf.is_empty() {
        return Err(Failure::usage(
            "no value on stdin (pipe it in, or use --generate)",
        ));
    }
    Ok(SecretValue::from_bytes(&buf))
}

async fn put(a: PutArgs) -> Result<(), Failure> {
    if a.argv_value.is_some() {
        return Err(Failure::usage(
            "refusing a secret value on the command line (it would be visible in the process list and shell history): pipe it on stdin or use --generate",
        ));
    }
    let n = name(&a.name)?;
    let value = if a.generate {
        twh_secrets::generate_webhook_secret()
    } else {
        read_stdin_value()?
    };
    let mut opts = PutOptions::new().grace(a.grace);
    for l in &a.labels {
        let (k, v) = l
            .split_once('=')
            .ok_or_else(|| Failure::usage("a label is KEY=VALUE"))?;
        opts = opts.label(k, v);
    }
    if let Some(every) = a.rotate_every {
        opts = opts.rotation(RotationPolicy::new(every, a.rotation_grace));
    }
    let p = open(&a.store)?;
    let v = p.put(&n, value, opts).await.map_err(fail)?;
    outln!("{n}: version {v} is current")?;
    Ok(())
}

async fn get(a: GetArgs) -> Result<(), Failure> {
    let p = open(&a.store)?;
    let n = name(&a.name)?;
    let s = match a.version {
        Some(v) => p.get_version(&n, version(v)?).await,
        None => p.get(&n).await,
    }
    .map_err(fail)?;
    if a.reveal {
        let mut out = std::io::stdout().lock();
        let r = out
            .write_all(s.value().expose_secret())
            .and_then(|()| {
                if std::io::stdout().is_terminal() {
                    out.write_all(b"\n")
                } else {
                    Ok(())
                }
            })
            .and_then(|()| out.flush());
        return crate::out::checked(r);
    }
    let meta = p.metadata(&n).await.map_err(fail)?;
    outln!("name: {n}")?;
    outln!("version: {}", s.version())?;
    outln!("state: {}", state_text(s.state()))?;
    outln!("created: {} by {}", when(s.created_at()), s.created_by())?;
    outln!("length: {} bytes", s.value().len())?;
    for (k, v) in &meta.labels {
        // Escaped like revocation reasons: a newline in a label must not forge a line.
        outln!("label: {}={}", k.escape_debug(), v.escape_debug())?;
    }
    if let Some(r) = meta.rotation {
        outln!(
            "rotation: every {}, grace {}",
            humantime::format_duration(r.max_age),
            humantime::format_duration(r.grace)
        )?;
    }
    Ok(())
}

fn state_text(s: &VersionState) -> String {
    match s {
        VersionState::Previous { valid_until } => {
            let verb = if SystemTime::now() < *valid_until {
                "valid until"
            } else {
                "expired"
            };
            format!("previous ({verb} {})", when(*valid_until))
        }
        VersionState::Revoked { at, reason } => {
            // Escaped: a newline in a reason must not forge a line of output.
            format!("revoked ({} : {})", when(*at), reason.escape_debug())
        }
        other => other.label().to_owned(),
    }
}

async fn versions(a: NameArgs) -> Result<(), Failure> {
    let p = open(&a.store)?;
    let n = name(&a.name)?;
    for v in p.versions(&n).await.map_err(fail)? {
        outln!(
            "{}\t{}\t{}\t{}",
            v.version,
            state_text(&v.state),
            when(v.created_at),
            v.created_by
        )?;
    }
    Ok(())
}

fn env_secret(var: &str) -> Result<SecretString, Failure> {
    let v = std::env::var(var)
        .map_err(|_| Failure::usage(format!("environment variable {var} is not set")))?;
    if v.is_empty() {
        return Err(Failure::usage(format!(
            "environment variable {var} is empty"
        )));
    }
    Ok(SecretString::from(v))
}

async fn backup(a: BackupArgs) -> Result<(), Failure> {
    let recipient = match (&a.recipient.recipient, &a.recipient.passphrase_env) {
        (Some(r), _) => BackupRecipient::x25519(r).map_err(fail)?,
        (None, Some(var)) => BackupRecipient::passphrase(env_secret(var)?),
        (None, None) => {
            return Err(Failure::usage(
                "--recipient or --passphrase-env is required",
            ));
        }
    };
    let p = open(&a.store)?;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    if a.out.is_dir() {
        return Err(Failure::usage(format!(
            "{} is a directory; --out names the bundle file to create",
            a.out.display()
        )));
    }
    let file = opts
        .open(&a.out)
        .map_err(|e| Failure::usage(format!("creating {}: {e}", a.out.display())))?;
    let prog = progress("backup");
    let result =
        twh_secrets::backup(p.as_ref(), std::io::BufWriter::new(file), &recipient, &prog).await;
    match result {
        Ok(r) => {
            outln!(
                "backup {}: {} secrets, {} versions",
                a.out.display(),
                r.secrets,
                r.versions
            )?;
            Ok(())
        }
        Err(e) => {
            let _ = std::fs::remove_file(&a.out);
            Err(fail(e))
        }
    }
}

async fn restore(a: RestoreArgs) -> Result<(), Failure> {
    let identity = match (&a.identity.identity, &a.identity.passphrase_env) {
        (Some(path), _) => {
            let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| {
                Failure::usage(format!("reading identity {}: {e}", path.display()))
            })?);
            BackupIdentity::x25519(&text).map_err(fail)?
        }
        (None, Some(var)) => BackupIdentity::passphrase(env_secret(var)?),
        (None, None) => return Err(Failure::usage("--identity or --passphrase-env is required")),
    };
    if a.input.is_dir() {
        return Err(Failure::usage(format!(
            "{} is a directory; --in names a backup bundle file",
            a.input.display()
        )));
    }
    let file = std::fs::File::open(&a.input)
        .map_err(|e| Failure::usage(format!("opening {}: {e}", a.input.display())))?;
    let p = open(&a.store)?;
    let mode = if a.force {
        ImportMode::Force
    } else {
        ImportMode::IfNotNewer
    };
    let prog = progress("restore");
    let r = twh_secrets::restore(
        p.as_ref(),
        std::io::BufReader::new(file),
        &identity,
        mode,
        &prog,
    )
    .await
    .map_err(|e| match e {
        SecretError::PermissionDenied { .. } => Failure::failed(format!(
            "{}: this passphrase or identity does not open the backup",
            a.input.display()
        )),
        other => fail(other),
    })?;
    outln!(
        "restored: {} created, {} updated, {} unchanged, {} refused",
        r.created,
        r.updated,
        r.unchanged,
        r.refused.len()
    )?;
    if r.refused.is_empty() {
        Ok(())
    } else {
        let names: Vec<String> = r.refused.iter().map(ToString::to_string).collect();
        Err(Failure::failed(format!(
            "refused to overwrite newer data in {} (use --force to overwrite)",
            names.join(", ")
        )))
    }
}

async fn import_env(a: ImportEnvArgs) -> Result<(), Failure> {
    let mut mapping = if a.maps.is_empty() {
        EnvMapping::default()
    } else {
        EnvMapping::empty()
    };
    for m in &a.maps {
        mapping = mapping.parse_rule(m).map_err(fail)?;
    }
    let source = match a.env_file {
        Some(p) => EnvSource::DotEnv(p),
        None => EnvSource::Process,
    };
    let p = open(&a.store)?;
    let prog = progress("import-env");
    let r = twh_secrets::import_env(p.as_ref(), &source, &mapping, &prog)
        .await
        .map_err(fail)?;
    for n in &r.imported {
        outln!("imported {n}")?;
    }
    for n in &r.unchanged {
        outln!("unchanged {n}")?;
    }
    for v in &r.skipped {
        eprintln!("skipped {v}: it does not map to a valid secret name");
    }
    outln!(
        "{} imported, {} unchanged, {} skipped",
        r.imported.len(),
        r.unchanged.len(),
        r.skipped.len()
    )?;
    Ok(())
}

async fn migrate(a: MigrateArgs) -> Result<(), Failure> {
    let principal = a
        .principal
        .as_deref()
        .map_or_else(default_principal, Principal::new);
    // No TWH_MASTER_KEY_FILE here: one path cannot be the key of both stores.
    let from_key = KeyChoice {
        flag: a.from_key_file.as_deref(),
        fallback: None,
    };
    let to_key = KeyChoice {
        flag: a.to_key_file.as_deref(),
        fallback: None,
    };
    let from = open_url(&a.from, from_key, Role::MigrateFrom, &principal)?;
    let to = open_url(&a.to, to_key, Role::MigrateTo, &principal)?;
    let sink = audit_sink(a.audit_log.as_deref())?;
    let from = audited(from, sink.as_ref(), &principal);
    let to = audited(to, sink.as_ref(), &principal);
    let mode = if a.force {
        ImportMode::Force
    } else {
        ImportMode::IfNotNewer
    };
    let prog = progress("migrate");
    let r = twh_secrets::migrate(from.as_ref(), to.as_ref(), mode, &prog)
        .await
        .map_err(|e| match e {
            // `Conflict` reads as a retryable race; here it means the target
            // already holds other (newer) data, which only --force replaces.
            SecretError::Conflict { name, .. } => Failure::failed(format!(
                "the target already holds different data for {name}; it was left as it is \
                 (pass --force to replace it with the source's copy). Secrets before it in name order \
                 were copied; running migrate again resumes"
            )),
            other => fail(other),
        })?;
    for s in &r.secrets {
        let outcome = match s.outcome {
            twh_secrets::ImportOutcome::Created => "created",
            twh_secrets::ImportOutcome::Updated => "updated",
            _ => "unchanged",
        };
        outln!(
            "{}\t{outcome}\t{} versions\tsha256:{}",
            s.name,
            s.versions,
            s.content_hash
        )?;
    }
    outln!(
        "{} created, {} updated, {} unchanged ({} versions)",
        r.created(),
        r.updated(),
        r.unchanged(),
        r.versions()
    )?;
    Ok(())
}

fn parse_policy(text: &str) -> Result<(String, RotationPolicy), Failure> {
    let bad = || Failure::usage(format!("policy {text:?}: expected PREFIX=MAX_AGE[,GRACE]"));
    let (prefix, rest) = text.split_once('=').ok_or_else(bad)?;
    let (age, grace) = match rest.split_once(',') {
        Some((a, g)) => (a, g),
        None => (rest, "24h"),
    };
    let age = parse_duration(age).map_err(|_| bad())?;
    let grace = parse_duration(grace).map_err(|_| bad())?;
    if age.is_zero() {
        return Err(Failure::usage(format!(
            "policy {text:?}: a maximum age of zero would rotate on every run; \
             give a positive duration, e.g. {prefix}=90d"
        )));
    }
    Ok((prefix.to_owned(), RotationPolicy::new(age, grace)))
}

async fn rotate_due(a: RotateDueArgs) -> Result<(), Failure> {
    let p = open(&a.store)?;
    let mut rotator = Rotator::new(p);
    for text in &a.policies {
        let (prefix, policy) = parse_policy(text)?;
        rotator = rotator.policy(&prefix, policy);
    }
    let prog = progress("rotate-due");
    let r = rotator.rotate_due(&prog).await.map_err(fail)?;
    for (n, v) in &r.rotated {
        outln!("rotated {n} to version {v}")?;
    }
    for (n, e) in &r.failed {
        eprintln!("failed {n}: {}", chain(e));
    }
    outln!(
        "{} rotated, {} not due, {} failed",
        r.rotated.len(),
        r.not_due.len(),
        r.failed.len()
    )?;
    if r.failed.is_empty() {
        Ok(())
    } else {
        Err(Failure::failed("some rotations failed"))
    }
}
