//! `twh audit verify FILE`: check an audit log's hash chain.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use twh_secrets::AuditVerification;

use crate::failure::Failure;
use crate::out::outln;

/// Audit log commands.
#[derive(Debug, Subcommand)]
pub(crate) enum AuditCommand {
    /// Verify a hash-chained audit log; exit 1 if a line was edited, removed or reordered.
    ///
    /// The chain alone cannot tell that the last lines were cut off or the last
    /// line rewritten: keep the head hash printed by each run somewhere the
    /// writer cannot change and pass it with --head next time.
    Verify(VerifyArgs),
}

/// Arguments of `audit verify`.
#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// The JSON-lines audit file.
    file: PathBuf,
    /// The head hash printed by an earlier run: exit 1 unless the log still holds
    /// that record (records appended since are fine), i.e. its tail was cut off or
    /// rewritten. Without it, a cut-off tail goes undetected.
    #[arg(long, value_name = "SHA256")]
    head: Option<String>,
}

pub(crate) fn run(cmd: &AuditCommand) -> Result<(), Failure> {
    match cmd {
        AuditCommand::Verify(a) => {
            let v = twh_secrets::verify_audit_log(&a.file)
                .map_err(|e| Failure::failed(format!("{}: {e}", a.file.display())))?;
            match &a.head {
                Some(head) => {
                    let appended = check_head(&a.file, &v, head)?;
                    outln!(
                        "ok: {} records, head {} (the --head record is there, {appended} \
                         record(s) after it; pass --head {} next time)",
                        v.records,
                        v.head,
                        v.head
                    )
                }
                None => outln!(
                    "ok: {} records, head {}; pass --head <this hash> next time to detect \
                     a cut-off tail (the chain alone cannot)",
                    v.records,
                    v.head
                ),
            }
        }
    }
}

/// Whether the verified log at `file` still holds the record whose hash is
/// `head`; returns how many records follow it.
///
/// Each record carries the SHA-256 of the line before it in its `"prev"`
/// field, and the chain was verified, so the record hashing to `head` is
/// present exactly when it is the last line or a later line names it as
/// `prev`. (`verify_audit_log_with_head` only accepts the last line, which
/// would make every `--head` fail as soon as one record is appended.)
fn check_head(file: &Path, v: &AuditVerification, head: &str) -> Result<u64, Failure> {
    let head = head.trim().to_ascii_lowercase();
    if head.len() != 64 || !head.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Failure::usage(
            "--head must be the 64-hex-digit head hash printed by an earlier `twh audit verify`",
        ));
    }
    if v.head == head {
        return Ok(0);
    }
    let text = std::fs::read_to_string(file)
        .map_err(|e| Failure::failed(format!("{}: {e}", file.display())))?;
    // Compact JSON: a string value cannot hold an unescaped `"prev":"`.
    let needle = format!("\"prev\":\"{head}\"");
    match text.lines().position(|line| line.contains(&needle)) {
        Some(i) => Ok(v.records - i as u64),
        None => Err(Failure::failed(format!(
            "{}: the record with head hash {head} is gone: the log's tail was cut off or rewritten",
            file.display()
        ))),
    }
}
