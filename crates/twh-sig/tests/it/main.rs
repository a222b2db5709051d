//! Integration tests for twh-sig: known-answer vectors, interop with the
//! reference `standardwebhooks` crate, property tests, the negative checklist,
//! key handling, and redaction.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    reason = "tests"
)]

mod interop;
mod keys;
mod negative;
mod props;
mod redaction;
mod standard;
mod support;
mod vectors;
