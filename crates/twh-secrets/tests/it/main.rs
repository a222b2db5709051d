//! Integration tests of twh-secrets (one binary).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    unreachable_pub,
    reason = "tests"
)]

mod audit;
mod backup;
mod cache;
mod common;
mod file;
mod lifecycle;
mod processes;
mod redaction;
