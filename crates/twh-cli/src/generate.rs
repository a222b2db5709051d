//! `twh secret generate`: print a fresh secret or ed25519 key pair.

use clap::{Args, ValueEnum};
use twh_sig::secrecy::ExposeSecret as _;
use twh_sig::{SigningKey, WebhookSecret};

use crate::failure::Failure;
use crate::out::outln;

/// Text form of a generated symmetric secret.
#[derive(Clone, Copy, Debug, ValueEnum)]
enum Format {
    /// `whsec_<base64>` (Standard Webhooks).
    Whsec,
    /// 64 lowercase hex characters.
    Hex,
    /// Standard base64, no prefix.
    Base64,
}

/// Arguments of `twh secret generate`.
#[derive(Debug, Args)]
pub(crate) struct GenerateArgs {
    /// Output format of a symmetric (HMAC) secret.
    #[arg(long, value_enum, default_value = "whsec")]
    format: Format,

    /// Generate an ed25519 key pair for standard-v1a instead: prints the `whsk_…`
    /// signing key, then the `whpk_…` public key to give partners.
    #[arg(long, conflicts_with = "format")]
    asymmetric: bool,
}

pub(crate) fn run(args: &GenerateArgs) -> Result<(), Failure> {
    if args.asymmetric {
        let key = SigningKey::generate();
        outln!("{}", key.to_whsk().expose_secret())?;
        outln!("{}", key.verifying_key().to_whpk())?;
        return Ok(());
    }
    let secret = WebhookSecret::generate();
    let text = match args.format {
        Format::Whsec => secret.to_whsec(),
        Format::Hex => secret.to_hex(),
        Format::Base64 => secret.to_base64(),
    };
    outln!("{}", text.expose_secret())?;
    Ok(())
}
