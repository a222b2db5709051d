//! Injected time source for the replay window.

use std::time::{SystemTime, UNIX_EPOCH};

/// A source of "now" in unix seconds.
///
/// The verifier asks its clock once per verification. Use [`SystemClock`] in
/// production and [`FixedClock`] in tests.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// The current time as whole seconds since the unix epoch.
    fn now_unix(&self) -> u64;
}

/// The operating system's wall clock.
///
/// A clock set before 1970 reads as `0`, which makes every message "too new"
/// rather than panicking.
#[derive(Clone, Copy, Debug, Default)]
#[expect(
    clippy::exhaustive_structs,
    reason = "a stateless unit struct; callers write `SystemClock` directly"
)]
pub struct SystemClock;

impl SystemClock {
    /// The system clock.
    #[must_use]
    pub const fn new() -> Self {
        Self
    }
}

impl Clock for SystemClock {
    fn now_unix(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    }
}

/// A clock stuck at one instant, for tests and fixture generation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct FixedClock(u64);

impl FixedClock {
    /// A clock that always reads `now_unix`.
    #[must_use]
    pub const fn new(now_unix: u64) -> Self {
        Self(now_unix)
    }
}

impl Clock for FixedClock {
    fn now_unix(&self) -> u64 {
        self.0
    }
}

impl<C: Clock + ?Sized> Clock for std::sync::Arc<C> {
    fn now_unix(&self) -> u64 {
        (**self).now_unix()
    }
}
