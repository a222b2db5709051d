//! `twh audit verify FILE`: check an audit log's hash chain.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::failure::Failure;
use crate::out::outln;

/// Audit log commands.
#[derive(Debug, Subcommand)]
pub(crate) enum AuditCommand {
    /// Verify a hash-chained audit log; exit 1 if a line was edited, removed or reordered.
    Verify(VerifyArgs),
}

/// Arguments of `audit verify`.
#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// The JSON-lines audit file.
    file: PathBuf,
    /// Expected hash of the last line (recorded earlier), to detect a truncated or rewritten tail.
    #[arg(long, value_name = "SHA256")]
    head: Option<String>,
}

pub(crate) fn run(cmd: &AuditCommand) -> Result<(), Failure> {
    match cmd {
        AuditCommand::Verify(a) => {
            let r = match &a.head {
                Some(h) => twh_secrets::verify_audit_log_with_head(&a.file, h),
                None => twh_secrets::verify_audit_log(&a.file),
            };
            match r {
                Ok(v) => {
                    outln!("ok: {} records, head {}", v.records, v.head)?;
                    Ok(())
                }
                Err(e) => Err(Failure::failed(format!("{}: {e}", a.file.display()))),
            }
        }
    }
}
