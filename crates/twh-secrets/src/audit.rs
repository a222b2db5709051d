//! [`AuditedProvider`]: one [`AuditEvent`] per operation, to any [`AuditSink`]

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{BufRead as _, BufReader, Read as _, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use sha2::{Digest as _, Sha256};

use crate::clock::to_millis;
use crate::{
    ActiveSet, Clock, ImportMode, ImportOutcome, Operation, Principal, PutOptions, RevokeTarget,
    SecretError, SecretExport, SecretGenerator, SecretMetadata, SecretName, SecretProvider,
    SecretValue, SystemClock, Version, VersionInfo, VersionedSecret,
};

tokio::task_local! {
    static REQUEST_ID: String;
}

/// Runs `fut` with `id` as the request id of every audit event it causes.
/// Without one, each event gets a fresh random id.
pub async fn with_request_id<F: Future>(id: impl Into<String>, fut: F) -> F::Output {
    let id: String = id
        .into()
        .chars()
        .take(128)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    REQUEST_ID.scope(id, fut).await
}

fn current_request_id() -> String {
    REQUEST_ID.try_with(Clone::clone).unwrap_or_else(|_| {
        let mut b = [0u8; 8];
        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut b);
        format!("auto-{}", hex::encode(b))
    })
}

/// How an operation ended.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// It succeeded.
    Ok,
    /// It failed; `code` is [`SecretError::code`] (`permission_denied`, …).
    Error {
        /// The error code.
        code: &'static str,
    },
}

/// One audited operation. Never holds a secret value.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    /// When it happened.
    pub time: SystemTime,
    /// Who asked.
    pub principal: Principal,
    /// What was asked.
    pub operation: Operation,
    /// The secret (for `list`: the prefix, as text).
    pub name: String,
    /// The version read, written, revoked or destroyed, when there is one.
    pub version: Option<Version>,
    /// How it ended.
    pub outcome: Outcome,
    /// The request id ([`with_request_id`]) or a generated one.
    pub request_id: String,
}

/// Receives audit events.
pub trait AuditSink: Send + Sync + fmt::Debug {
    /// Records one event.
    ///
    /// # Errors
    /// When the event could not be stored (the provider logs it and goes on).
    fn record(&self, event: &AuditEvent) -> Result<(), SecretError>;
}

/// Emits events as `tracing` INFO events with target `twh_secrets::audit`.
#[expect(clippy::exhaustive_structs, reason = "unit struct used as a value")]
#[derive(Debug, Clone, Copy, Default)]
pub struct TracingSink;

impl TracingSink {
    /// The sink.
    #[must_use]
    pub const fn new() -> Self {
        Self
    }
}

impl AuditSink for TracingSink {
    fn record(&self, e: &AuditEvent) -> Result<(), SecretError> {
        let outcome = match &e.outcome {
            Outcome::Ok => "ok",
            Outcome::Error { code } => code,
        };
        tracing::info!(
            target: "twh_secrets::audit",
            principal = %e.principal,
            operation = e.operation.as_str(),
            secret = %e.name,
            version = e.version.map(Version::get),
            outcome,
            request_id = %e.request_id,
            "secret access"
        );
        Ok(())
    }
}

/// The hash that starts every chain.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One line of the audit file.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    seq: u64,
    time_ms: u64,
    principal: String,
    operation: String,
    name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    version: Option<u64>,
    outcome: String,
    request_id: String,
    /// SHA-256 (hex) of the previous line's bytes, or [`GENESIS_HASH`].
    prev: String,
}

fn line_hash(line: &[u8]) -> String {
    hex::encode(Sha256::digest(line))
}

/// Appends events to a JSON-lines file in which every record carries the
/// SHA-256 of the previous line, so any edited, removed or reordered line
/// breaks the chain ([`verify_audit_log`]). Writers in several processes are
/// serialised by an OS lock on `<file>.lock`.
///
/// Deployment caveat: a chain proves order and integrity *up to its last
/// line*; to detect truncation or a rewritten tail, keep the head hash
/// reported by [`verify_audit_log`] somewhere the writer cannot change, and
/// check it with [`verify_audit_log_with_head`].
pub struct JsonFileSink {
    path: PathBuf,
    lock_path: PathBuf,
    fsync: bool,
    guard: Mutex<()>,
}

impl fmt::Debug for JsonFileSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JsonFileSink")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl JsonFileSink {
    /// Opens (or creates, mode `0600`) an audit file.
    ///
    /// # Errors
    /// [`SecretError::Backend`] when it cannot be created.
    pub fn open(path: impl Into<PathBuf>) -> Result<Self, SecretError> {
        let path = path.into();
        let mut lock = path.clone().into_os_string();
        lock.push(".lock");
        open_append(&path)?;
        Ok(Self {
            path,
            lock_path: PathBuf::from(lock),
            fsync: false,
            guard: Mutex::new(()),
        })
    }

    /// fsync after every record (durable, slower). Default: off.
    #[must_use]
    pub fn with_fsync(mut self, fsync: bool) -> Self {
        self.fsync = fsync;
        self
    }

    fn append(&self, e: &AuditEvent) -> Result<(), SecretError> {
        let _g = self.guard.lock().unwrap_or_else(PoisonError::into_inner);
        let lock = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&self.lock_path)
            .map_err(|err| SecretError::io("opening audit lock file", err))?;
        fs4::fs_std::FileExt::lock_exclusive(&lock)
            .map_err(|err| SecretError::io("locking audit log", err))?;
        let mut f = open_append(&self.path)?;
        let (seq, prev) = last_line(&mut f)?
            .map(|(seq, hash)| (seq + 1, hash))
            .unwrap_or((0, GENESIS_HASH.to_owned()));
        let line = Line {
            seq,
            time_ms: to_millis(e.time),
            principal: e.principal.as_str().to_owned(),
            operation: e.operation.as_str().to_owned(),
            name: e.name.clone(),
            version: e.version.map(Version::get),
            outcome: match &e.outcome {
                Outcome::Ok => "ok".to_owned(),
                Outcome::Error { code } => (*code).to_owned(),
            },
            request_id: e.request_id.clone(),
            prev,
        };
        let mut bytes = serde_json::to_vec(&line)
            .map_err(|err| SecretError::backend("encoding audit record", err))?;
        bytes.push(b'\n');
        f.write_all(&bytes)
            .map_err(|err| SecretError::io("writing audit log", err))?;
        if self.fsync {
            f.sync_data()
                .map_err(|err| SecretError::io("syncing audit log", err))?;
        }
        drop(lock);
        Ok(())
    }
}

fn open_append(path: &Path) -> Result<File, SecretError> {
    let mut o = OpenOptions::new();
    o.read(true).append(true).create(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        o.mode(0o600);
    }
    o.open(path)
        .map_err(|e| SecretError::io(format!("opening audit log {}", path.display()), e))
}

/// Sequence number and hash of the last complete line.
fn last_line(f: &mut File) -> Result<Option<(u64, String)>, SecretError> {
    let len = f
        .seek(SeekFrom::End(0))
        .map_err(|e| SecretError::io("reading audit log", e))?;
    if len == 0 {
        return Ok(None);
    }
    let start = len.saturating_sub(64 * 1024);
    f.seek(SeekFrom::Start(start))
        .map_err(|e| SecretError::io("reading audit log", e))?;
    let mut tail = Vec::new();
    f.read_to_end(&mut tail)
        .map_err(|e| SecretError::io("reading audit log", e))?;
    if tail.last() != Some(&b'\n') {
        return Err(SecretError::corrupt(
            "audit log does not end with a complete line",
        ));
    }
    let body = tail.get(..tail.len() - 1).unwrap_or_default();
    let last = body
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(body, |i| body.get(i + 1..).unwrap_or_default());
    let parsed: Line = serde_json::from_slice(last)
        .map_err(|_| SecretError::corrupt("last audit record is not valid"))?;
    Ok(Some((parsed.seq, line_hash(last))))
}

impl AuditSink for JsonFileSink {
    fn record(&self, event: &AuditEvent) -> Result<(), SecretError> {
        self.append(event)
    }
}

/// What [`verify_audit_log`] found in an intact log.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditVerification {
    /// Number of records.
    pub records: u64,
    /// SHA-256 (hex) of the last line ([`GENESIS_HASH`] for an empty log):
    /// store it elsewhere to detect a later truncation.
    pub head: String,
    /// With [`verify_audit_log_with_head`]: how many records were appended
    /// after the record the given head names (0 if it is still the last).
    pub after_head: Option<u64>,
}

/// Why an audit log failed verification.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuditLogError {
    /// The file could not be read.
    #[error("cannot read audit log: {0}")]
    Io(String),
    /// A line is not a valid record.
    #[error("line {line}: not a valid audit record")]
    Malformed {
        /// 1-based line number.
        line: u64,
    },
    /// A line's `prev` does not match the previous line (edited, removed or reordered).
    #[error("line {line}: hash chain broken (a line was edited, removed or reordered)")]
    ChainBroken {
        /// 1-based line number.
        line: u64,
    },
    /// Sequence numbers skip or repeat (lines removed or reordered).
    #[error("line {line}: sequence {found}, expected {expected} (lines removed or reordered)")]
    Sequence {
        /// 1-based line number.
        line: u64,
        /// Expected sequence number.
        expected: u64,
        /// Found sequence number.
        found: u64,
    },
    /// No record hashes to the expected head: the tail was cut off or rewritten.
    #[error(
        "the record with the expected head hash is gone: the log's tail was cut off or rewritten"
    )]
    HeadMismatch,
}

/// Checks an audit file's hash chain.
///
/// # Errors
/// [`AuditLogError`] naming the first bad line.
pub fn verify_audit_log(path: &Path) -> Result<AuditVerification, AuditLogError> {
    walk_audit_log(path, None)
}

/// [`verify_audit_log`], and checks that the log still holds the record whose
/// hash is `head` (a head printed by an earlier check): records appended since
/// are fine and counted in [`AuditVerification::after_head`]; a cut-off or
/// rewritten tail is [`AuditLogError::HeadMismatch`]. This is what detects
/// truncation, which the chain alone cannot.
///
/// # Errors
/// As [`verify_audit_log`], plus [`AuditLogError::HeadMismatch`].
pub fn verify_audit_log_with_head(
    path: &Path,
    head: &str,
) -> Result<AuditVerification, AuditLogError> {
    let head = head.trim().to_ascii_lowercase();
    let v = walk_audit_log(path, Some(&head))?;
    if v.after_head.is_some() {
        Ok(v)
    } else {
        Err(AuditLogError::HeadMismatch)
    }
}

/// Walks the chain; with `head`, also finds the record hashing to it.
fn walk_audit_log(path: &Path, head: Option<&str>) -> Result<AuditVerification, AuditLogError> {
    let f = File::open(path).map_err(|e| AuditLogError::Io(e.to_string()))?;
    let mut reader = BufReader::new(f);
    let mut prev = GENESIS_HASH.to_owned();
    let mut n: u64 = 0;
    // Records up to and including the one `head` names (0: the empty log's head).
    let mut head_at = head.filter(|h| *h == GENESIS_HASH).map(|_| 0);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        // Bounded: a record is small; a 1 MiB line is hostile input.
        let read = (&mut reader)
            .take(1024 * 1024)
            .read_until(b'\n', &mut buf)
            .map_err(|e| AuditLogError::Io(e.to_string()))?;
        if read == 0 {
            break;
        }
        let line_no = n + 1;
        if buf.last() != Some(&b'\n') {
            return Err(AuditLogError::Malformed { line: line_no });
        }
        let body = buf.get(..buf.len() - 1).unwrap_or_default();
        let rec: Line =
            serde_json::from_slice(body).map_err(|_| AuditLogError::Malformed { line: line_no })?;
        if rec.seq != n {
            return Err(AuditLogError::Sequence {
                line: line_no,
                expected: n,
                found: rec.seq,
            });
        }
        if rec.prev != prev {
            return Err(AuditLogError::ChainBroken { line: line_no });
        }
        prev = line_hash(body);
        n += 1;
        if head == Some(prev.as_str()) {
            head_at = Some(n);
        }
    }
    Ok(AuditVerification {
        records: n,
        head: prev,
        after_head: head_at.map(|at| n - at),
    })
}

/// Wraps any provider and records every operation to an [`AuditSink`],
/// acting as one [`Principal`].
///
/// — a `tracing` sink and a hash-chained JSON-lines file
/// ([`JsonFileSink`], checked by [`verify_audit_log`]).
///
/// Records carry who, what, which secret and version, the outcome and a
/// request id — never a secret value.
///
/// # Examples
/// ```
/// # use std::sync::Arc;
/// # use twh_secrets::*;
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let dir = tempfile::tempdir()?;
/// let log = dir.path().join("audit.jsonl");
/// let audited = AuditedProvider::new(
///     Arc::new(MemoryProvider::new()),
///     Arc::new(JsonFileSink::open(&log)?),
///     Principal::new("ops:alice"),
/// );
/// let name = SecretName::new("webhooks/acme")?;
/// with_request_id("req-1", audited.put(&name, generate_webhook_secret(), PutOptions::new())).await?;
/// let report = verify_audit_log(&log)?;
/// assert_eq!(report.records, 1);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct AuditedProvider {
    inner: Arc<dyn SecretProvider>,
    sink: Arc<dyn AuditSink>,
    principal: Principal,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for AuditedProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuditedProvider")
            .field("inner", &self.inner)
            .field("sink", &self.sink)
            .field("principal", &self.principal)
            .finish_non_exhaustive()
    }
}

impl AuditedProvider {
    /// Audits `inner`'s operations as made by `principal`.
    #[must_use]
    pub fn new(
        inner: Arc<dyn SecretProvider>,
        sink: Arc<dyn AuditSink>,
        principal: Principal,
    ) -> Self {
        Self {
            inner,
            sink,
            principal,
            clock: Arc::new(SystemClock),
        }
    }

    /// Uses another clock for event times.
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    fn emit<T>(
        &self,
        operation: Operation,
        name: &str,
        version: Option<Version>,
        result: &Result<T, SecretError>,
        version_of: impl FnOnce(&T) -> Option<Version>,
    ) {
        let (outcome, version) = match result {
            Ok(v) => (Outcome::Ok, version_of(v).or(version)),
            Err(e) => (Outcome::Error { code: e.code() }, version),
        };
        let event = AuditEvent {
            time: self.clock.now(),
            principal: self.principal.clone(),
            operation,
            name: name.to_owned(),
            version,
            outcome,
            request_id: current_request_id(),
        };
        if let Err(e) = self.sink.record(&event) {
            tracing::error!(error = %e, operation = operation.as_str(), secret = name, "audit sink failed");
        }
    }
}

#[async_trait]
impl SecretProvider for AuditedProvider {
    async fn get(&self, name: &SecretName) -> Result<VersionedSecret, SecretError> {
        let r = self.inner.get(name).await;
        self.emit(Operation::Get, name.as_str(), None, &r, |s| {
            Some(s.version())
        });
        r
    }

    async fn get_version(
        &self,
        name: &SecretName,
        version: Version,
    ) -> Result<VersionedSecret, SecretError> {
        let r = self.inner.get_version(name, version).await;
        self.emit(
            Operation::GetVersion,
            name.as_str(),
            Some(version),
            &r,
            |_| None,
        );
        r
    }

    async fn active(&self, name: &SecretName) -> Result<ActiveSet, SecretError> {
        let r = self.inner.active(name).await;
        self.emit(Operation::Active, name.as_str(), None, &r, |s| {
            s.first().map(VersionedSecret::version)
        });
        r
    }

    async fn put(
        &self,
        name: &SecretName,
        value: SecretValue,
        options: PutOptions,
    ) -> Result<Version, SecretError> {
        let r = self.inner.put(name, value, options).await;
        self.emit(Operation::Put, name.as_str(), None, &r, |v| Some(*v));
        r
    }

    async fn metadata(&self, name: &SecretName) -> Result<SecretMetadata, SecretError> {
        let r = self.inner.metadata(name).await;
        self.emit(Operation::Metadata, name.as_str(), None, &r, |_| None);
        r
    }

    async fn versions(&self, name: &SecretName) -> Result<Vec<VersionInfo>, SecretError> {
        let r = self.inner.versions(name).await;
        self.emit(Operation::Versions, name.as_str(), None, &r, |_| None);
        r
    }

    async fn list(&self, prefix: &str) -> Result<Vec<SecretName>, SecretError> {
        let r = self.inner.list(prefix).await;
        let shown: String = prefix.chars().take(201).collect();
        self.emit(Operation::List, &shown, None, &r, |_| None);
        r
    }

    async fn rotate(
        &self,
        name: &SecretName,
        generator: &dyn SecretGenerator,
        grace: Duration,
    ) -> Result<Version, SecretError> {
        let r = self.inner.rotate(name, generator, grace).await;
        self.emit(Operation::Rotate, name.as_str(), None, &r, |v| Some(*v));
        r
    }

    async fn rollback(&self, name: &SecretName, to: Version) -> Result<Version, SecretError> {
        let r = self.inner.rollback(name, to).await;
        self.emit(Operation::Rollback, name.as_str(), Some(to), &r, |v| {
            Some(*v)
        });
        r
    }

    async fn revoke(
        &self,
        name: &SecretName,
        target: RevokeTarget,
        reason: &str,
    ) -> Result<Vec<Version>, SecretError> {
        let r = self.inner.revoke(name, target, reason).await;
        let v = match target {
            RevokeTarget::Version(v) => Some(v),
            RevokeTarget::All => None,
        };
        self.emit(Operation::Revoke, name.as_str(), v, &r, |_| None);
        r
    }

    async fn destroy(&self, name: &SecretName, version: Version) -> Result<(), SecretError> {
        let r = self.inner.destroy(name, version).await;
        self.emit(Operation::Destroy, name.as_str(), Some(version), &r, |()| {
            None
        });
        r
    }

    async fn export(&self, name: &SecretName) -> Result<SecretExport, SecretError> {
        let r = self.inner.export(name).await;
        self.emit(Operation::Export, name.as_str(), None, &r, |e| {
            e.versions.last().map(|v| v.info.version)
        });
        r
    }

    async fn import(
        &self,
        export: SecretExport,
        mode: ImportMode,
    ) -> Result<ImportOutcome, SecretError> {
        let name = export.name.clone();
        let latest = export.versions.last().map(|v| v.info.version);
        let r = self.inner.import(export, mode).await;
        self.emit(Operation::Import, name.as_str(), latest, &r, |_| None);
        r
    }
}
