//! `twh audit verify FILE`: check an audit log's hash chain.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use twh_secrets::AuditLogError;

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
            let failed = |e: AuditLogError| Failure::failed(format!("{}: {e}", a.file.display()));
            match &a.head {
                Some(head) => {
                    let head = head.trim();
                    if head.len() != 64 || !head.bytes().all(|b| b.is_ascii_hexdigit()) {
                        return Err(Failure::usage(
                            "--head must be the 64-hex-digit head hash printed by an earlier \
                             `twh audit verify`",
                        ));
                    }
                    let v =
                        twh_secrets::verify_audit_log_with_head(&a.file, head).map_err(failed)?;
                    outln!(
                        "ok: {} records, head {} (the --head record is there, {} \
                         record(s) after it; pass --head {} next time)",
                        v.records,
                        v.head,
                        v.after_head.unwrap_or(0),
                        v.head
                    )
                }
                None => {
                    let v = twh_secrets::verify_audit_log(&a.file).map_err(failed)?;
                    outln!(
                        "ok: {} records, head {}; pass --head <this hash> next time to detect \
                         a cut-off tail (the chain alone cannot)",
                        v.records,
                        v.head
                    )
                }
            }
        }
    }
}
