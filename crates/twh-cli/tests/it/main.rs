//! Integration tests for the `twh` binary: each test runs the built executable.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    reason = "tests"
)]

mod delivery;
mod generate;
mod partner_shell;
mod regressions;
mod rejects;
mod review;
mod roundtrip;
mod secret;
mod support;
mod usage;
