//! The Warehouse Hub end-to-end demo (skeleton; finished once guard and secrets land).
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "example")]

fn main() {}
