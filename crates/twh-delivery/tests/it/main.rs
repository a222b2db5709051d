//! Integration tests of twh-delivery against real axum receivers on 127.0.0.1.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    unreachable_pub,
    reason = "tests"
)]

mod alerting;
mod delivery;
mod guarded;
mod kill_loop;
mod log_hygiene;
mod retries;
mod rotation;
mod ssrf;
mod support;
