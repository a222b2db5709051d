//! Integration tests for the `twh` binary: each test runs the built executable.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    reason = "tests"
)]

mod generate;
mod partner_shell;
mod rejects;
mod roundtrip;
mod secret;
mod support;
mod usage;
