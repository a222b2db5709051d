//! The `twh` command-line tool: sign and verify webhooks, generate secrets.
//!
//! Exit codes: 0 success, 1 verification rejected, 2 usage error (bad
//! arguments, unreadable input, invalid key text).
#![forbid(unsafe_code)]

mod audit;
mod delivery;
mod failure;
mod generate;
mod keys;
mod out;
mod secret;
mod sign;
mod verify;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Sign and verify webhooks (Standard Webhooks, Stripe, GitHub, Shopify, Slack) and manage secrets.
#[derive(Debug, Parser)]
#[command(name = "twh", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Sign a body; print the headers to send, one `Name: value` per line.
    Sign(sign::SignArgs),
    /// Verify a body against signature headers; exit 0 if genuine, 1 if rejected.
    Verify(verify::VerifyArgs),
    /// Secret management.
    #[command(subcommand)]
    Secret(SecretCommand),
    /// Audit log tools.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Delivery outbox: re-queue failed messages, read the delivery log.
    #[command(subcommand)]
    Delivery(delivery::DeliveryCommand),
}

#[derive(Debug, Subcommand)]
enum SecretCommand {
    /// Print a new random secret (or an ed25519 key pair with --asymmetric).
    Generate(generate::GenerateArgs),
    #[command(flatten)]
    Store(Box<secret::SecretCmd>),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Sign(args) => sign::run(&args),
        Command::Verify(args) => verify::run(&args),
        Command::Secret(SecretCommand::Generate(args)) => generate::run(&args),
        Command::Secret(SecretCommand::Store(cmd)) => secret::run(*cmd),
        Command::Audit(cmd) => audit::run(&cmd),
        Command::Delivery(cmd) => delivery::run(&cmd),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => failure.report(),
    }
}
