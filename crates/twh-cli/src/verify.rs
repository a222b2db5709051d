//! `twh verify`: check a body against signature headers.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use twh_sig::http::{HeaderMap, HeaderName, HeaderValue};
use twh_sig::{Scheme, Verifier, VerifyError};

use crate::failure::Failure;
use crate::keys::{KeyArgs, parse_scheme, read_body};
use crate::out::outln;

/// Arguments of `twh verify`.
#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// Signature scheme: standard, standard-v1a, stripe, github, shopify, slack.
    #[arg(long, default_value = "standard", value_parser = parse_scheme)]
    scheme: Scheme,

    #[command(flatten)]
    keys: KeyArgs,

    /// A received header, `Name: value` (name case-insensitive). Repeat for each header.
    #[arg(
        long = "header",
        value_name = "NAME: VALUE",
        required_unless_present = "headers_file"
    )]
    header: Vec<String>,

    /// Read headers from a file, one `Name: value` per line (the output of `twh sign`); `-` for stdin.
    #[arg(long, value_name = "PATH")]
    headers_file: Option<PathBuf>,

    /// Replay window in seconds, each way (default 300; 0 is refused).
    #[arg(long, value_name = "SECONDS")]
    tolerance: Option<u64>,

    /// Verify as if the time were this (unix seconds) instead of now.
    #[arg(long, value_name = "UNIX")]
    now: Option<u64>,

    /// Read the body from this file instead of stdin (bytes used exactly as stored).
    #[arg(long, value_name = "PATH")]
    body_file: Option<PathBuf>,
}

pub(crate) fn run(args: &VerifyArgs) -> Result<(), Failure> {
    let keys = args.keys.verify_keys(args.scheme)?;
    let mut verifier = Verifier::new(args.scheme, keys).map_err(Failure::usage)?;
    if let Some(secs) = args.tolerance {
        verifier = verifier
            .with_tolerance(Duration::from_secs(secs))
            .map_err(|e| Failure::usage(format_args!("--tolerance: {e}")))?;
    }

    let mut headers = HeaderMap::new();
    let stdin_headers = args
        .headers_file
        .as_ref()
        .is_some_and(|p| p.as_os_str() == "-");
    if stdin_headers && args.body_file.is_none() {
        return Err(Failure::usage(
            "--headers-file - reads stdin, so the body needs --body-file",
        ));
    }
    if let Some(path) = &args.headers_file {
        let text = if stdin_headers {
            std::io::read_to_string(std::io::stdin().lock())
        } else {
            std::fs::read_to_string(path)
        }
        .map_err(|e| Failure::usage(format_args!("--headers-file {}: {e}", path.display())))?;
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            add_header(&mut headers, line)?;
        }
    }
    for line in &args.header {
        add_header(&mut headers, line)?;
    }

    let body = read_body(args.body_file.as_ref())?;
    let verified = match args.now {
        Some(now) => verifier.verify_at(&headers, &body, now),
        None => verifier.verify(&headers, &body),
    }
    .map_err(|e| Failure::Rejected(describe(&e)))?;

    let mut line = format!("ok key={}", verified.key_id);
    if let Some(id) = &verified.id {
        line.push_str(&format!(" id={id}"));
    }
    if let Some(ts) = verified.timestamp {
        line.push_str(&format!(" timestamp={ts}"));
    }
    outln!("{line}")?;
    Ok(())
}

/// Parse `Name: value` and append it (duplicates are kept, so the verifier can refuse them).
fn add_header(headers: &mut HeaderMap, line: &str) -> Result<(), Failure> {
    let (name, value) = line.split_once(':').ok_or_else(|| {
        Failure::usage(format_args!("--header must be `Name: value`, got no `:`"))
    })?;
    let name = HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| {
        Failure::usage(format_args!(
            "--header: invalid header name `{}`",
            name.trim()
        ))
    })?;
    let value = HeaderValue::from_str(value.trim())
        .map_err(|_| Failure::usage(format_args!("--header {name}: invalid header value")))?;
    headers.append(name, value);
    Ok(())
}

/// One line: the failure class, then the library's reason.
fn describe(error: &VerifyError) -> String {
    use twh_sig::VerifyErrorKind as K;
    let class = match error.kind() {
        K::Missing => "missing header",
        K::Malformed => "malformed header",
        K::Expired => "timestamp outside the window",
        K::Mismatch => "signature mismatch (tampered body or wrong key)",
        _ => "verification failed",
    };
    format!("{class}: {error}")
}
