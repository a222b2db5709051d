//! Integration tests: real axum servers on 127.0.0.1, real HTTP clients, and
//! the real Redis that `scripts/test` starts.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    unreachable_pub,
    reason = "tests"
)]

mod bodies;
mod counters;
mod headers;
mod logging;
mod rate_limit;
mod redis;
mod rejections;
mod replay;
#[cfg(feature = "secrets")]
mod secrets;
mod support;
