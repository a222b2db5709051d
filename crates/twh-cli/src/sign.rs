//! `twh sign`: print the signature headers for a body.

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::Args;
use twh_sig::{Message, Scheme, Signer, new_message_id};

use crate::failure::Failure;
use crate::keys::{KeyArgs, parse_scheme, read_body};
use crate::out::out;

/// Arguments of `twh sign`.
#[derive(Debug, Args)]
pub(crate) struct SignArgs {
    /// Signature scheme: standard, standard-v1a, stripe, github, shopify, slack.
    #[arg(long, default_value = "standard", value_parser = parse_scheme)]
    scheme: Scheme,

    #[command(flatten)]
    keys: KeyArgs,

    /// Message id (webhook-id; delivery id for github/shopify). Default: a fresh `msg_…` id.
    #[arg(long, value_name = "ID")]
    id: Option<String>,

    /// Timestamp in unix seconds. Default: now.
    #[arg(long, value_name = "UNIX")]
    timestamp: Option<u64>,

    /// Read the body from this file instead of stdin (bytes used exactly as stored).
    #[arg(long, value_name = "PATH")]
    body_file: Option<PathBuf>,
}

pub(crate) fn run(args: &SignArgs) -> Result<(), Failure> {
    let keys = args.keys.sign_keys(args.scheme)?;
    let signer = Signer::new(args.scheme, keys).map_err(Failure::usage)?;
    let body = read_body(args.body_file.as_ref())?;
    let id = args.id.clone().unwrap_or_else(new_message_id);
    let timestamp = match args.timestamp {
        Some(ts) => ts,
        None => SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_err(|_| Failure::usage("system clock is before 1970; pass --timestamp"))?
            .as_secs(),
    };
    let headers = signer
        .sign(&Message::new(&id, timestamp, &body))
        .map_err(Failure::usage)?;
    out!("{headers}")?;
    Ok(())
}
