//! `twh delivery …`: operator commands over a delivery outbox.

use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use clap::{Args, Subcommand};
use twh_delivery::{AttemptLog, Outbox, OutboxError};

use crate::failure::{Failure, chain};
use crate::out::outln;

/// Default outbox location (relative to the working directory).
const DEFAULT_OUTBOX: &str = "./.twh/outbox.db";

/// Delivery outbox operations.
#[derive(Debug, Subcommand)]
pub(crate) enum DeliveryCommand {
    /// Re-queue every failed message of an endpoint for immediate delivery.
    Retry(RetryArgs),
    /// List delivery attempts of an endpoint or of one message.
    Log(LogArgs),
    /// Delete delivered messages (and their attempts) older than a duration.
    Prune(PruneArgs),
}

/// Arguments of `twh delivery prune`.
#[derive(Debug, Args)]
pub(crate) struct PruneArgs {
    /// Keep messages acknowledged within this duration (e.g. `30d`, `12h`).
    #[arg(long, value_parser = humantime::parse_duration)]
    older_than: Duration,
    /// The outbox database.
    #[arg(long, default_value = DEFAULT_OUTBOX)]
    outbox: PathBuf,
}

/// Arguments of `twh delivery retry`.
#[derive(Debug, Args)]
pub(crate) struct RetryArgs {
    /// The endpoint id.
    #[arg(long)]
    endpoint: String,
    /// The outbox database.
    #[arg(long, default_value = DEFAULT_OUTBOX)]
    outbox: PathBuf,
    /// Also re-enable the endpoint if it was disabled (410 Gone, failure streak).
    #[arg(long)]
    enable: bool,
}

/// Arguments of `twh delivery log`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("target").required(true).args(["endpoint", "message"])))]
pub(crate) struct LogArgs {
    /// Attempts to this endpoint (newest first).
    #[arg(long)]
    endpoint: Option<String>,
    /// Attempts of this message id (oldest first).
    #[arg(long)]
    message: Option<String>,
    /// The outbox database.
    #[arg(long, default_value = DEFAULT_OUTBOX)]
    outbox: PathBuf,
    /// Most attempts listed for an endpoint.
    #[arg(long, default_value_t = 50)]
    limit: u32,
}

pub(crate) fn run(cmd: &DeliveryCommand) -> Result<(), Failure> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::failed(format!("cannot start runtime: {e}")))?;
    rt.block_on(async {
        match cmd {
            DeliveryCommand::Retry(args) => retry(args).await,
            DeliveryCommand::Log(args) => log(args).await,
            DeliveryCommand::Prune(args) => prune(args).await,
        }
    })
}

async fn open(path: &Path) -> Result<Outbox, Failure> {
    // Never create an empty outbox because of a typo in the path.
    if !path.is_file() {
        return Err(Failure::usage(format!(
            "no outbox at {} (use --outbox PATH)",
            path.display()
        )));
    }
    Outbox::open(path)
        .await
        .map_err(|e| Failure::failed(format!("{}: {}", path.display(), chain(&e))))
}

/// A database failure is an operation that failed (exit 1), not a usage error.
fn db(e: OutboxError) -> Failure {
    Failure::failed(chain(&e))
}

/// An endpoint id that the outbox does not know (exit 1, like a missing secret).
fn no_endpoint(id: &str) -> Failure {
    Failure::failed(format!("no endpoint {id:?}"))
}

async fn retry(args: &RetryArgs) -> Result<(), Failure> {
    let outbox = open(&args.outbox).await?;
    let Some(endpoint) = outbox.endpoint(&args.endpoint).await.map_err(db)? else {
        return Err(no_endpoint(&args.endpoint));
    };
    if args.enable && !endpoint.enabled {
        outbox
            .set_endpoint_enabled(&endpoint.id, true, None)
            .await
            .map_err(db)?;
        outln!("endpoint {} re-enabled", endpoint.id)?;
    }
    let n = outbox.requeue_failed(&endpoint.id).await.map_err(db)?;
    outln!(
        "re-queued {n} failed message(s) of endpoint {}",
        endpoint.id
    )?;
    if !endpoint.enabled && !args.enable {
        let reason = outbox
            .disabled_reason(&endpoint.id)
            .await
            .map_err(db)?
            .unwrap_or_else(|| "disabled".to_owned());
        outln!(
            "note: endpoint {} is disabled ({reason}); they are sent once it is enabled (--enable)",
            endpoint.id
        )?;
    }
    Ok(())
}

async fn prune(args: &PruneArgs) -> Result<(), Failure> {
    let outbox = open(&args.outbox).await?;
    let n = outbox.prune_delivered(args.older_than).await.map_err(db)?;
    outln!(
        "pruned {n} delivered message(s) older than {}",
        humantime::format_duration(args.older_than)
    )?;
    Ok(())
}

async fn log(args: &LogArgs) -> Result<(), Failure> {
    let outbox = open(&args.outbox).await?;
    // An unknown id is said so, as `retry` does: "(no attempts)" would hide a typo.
    let rows = match (&args.message, &args.endpoint) {
        (Some(id), _) => {
            if outbox.message(id).await.map_err(db)?.is_none() {
                return Err(Failure::failed(format!("no message {id:?}")));
            }
            outbox.attempts_by_message(id).await
        }
        (None, Some(ep)) => {
            if outbox.endpoint(ep).await.map_err(db)?.is_none() {
                return Err(no_endpoint(ep));
            }
            outbox.attempts_by_endpoint(ep, args.limit).await
        }
        (None, None) => return Err(Failure::usage("give --endpoint or --message")),
    }
    .map_err(db)?;
    outln!(
        "{:<24}  {:<28}  {:<16}  {:>3}  {:<10}  {:>9}  {:<9}  response",
        "time (UTC)",
        "message",
        "endpoint",
        "#",
        "result",
        "latency",
        "outcome"
    )?;
    for a in &rows {
        outln!("{}", format_row(a))?;
    }
    if rows.is_empty() {
        outln!("(no attempts)")?;
    }
    Ok(())
}

fn format_row(a: &AttemptLog) -> String {
    let at = humantime::format_rfc3339_millis(UNIX_EPOCH + Duration::from_millis(a.at_ms));
    let result = match (a.status, &a.error) {
        (_, Some(e)) => e.clone(),
        (Some(s), None) => s.to_string(),
        (None, None) => "-".to_owned(),
    };
    // The partner's body is untrusted: show printable ASCII only, shortened.
    let body: String = String::from_utf8_lossy(&a.response_body)
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '.'
            }
        })
        .take(60)
        .collect();
    format!(
        "{at:<24}  {:<28}  {:<16}  {:>3}  {result:<10}  {:>7.1}ms  {:<9}  {body}",
        a.message_id,
        a.endpoint_id,
        a.attempt,
        a.latency.as_secs_f64() * 1000.0,
        a.outcome.as_str(),
    )
}
