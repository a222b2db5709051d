use std::num::NonZeroU32;
use std::time::Duration;

use crate::error::ConfigError;

/// How many requests a key may make: one every `interval`, with bursts of up
/// to `burst` at once. See the [module docs](crate::rate_limit).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Quota {
    interval: Duration,
    burst: NonZeroU32,
}

impl Quota {
    /// `n` requests per second, all of them allowed at once. (Rates above
    /// one per nanosecond — one per microsecond in Redis — are capped there.)
    #[must_use]
    pub const fn per_second(n: NonZeroU32) -> Self {
        Self {
            interval: Duration::from_nanos(at_least_one(1_000_000_000 / n.get() as u64)),
            burst: n,
        }
    }

    /// `n` requests per minute, all of them allowed at once.
    #[must_use]
    pub const fn per_minute(n: NonZeroU32) -> Self {
        Self {
            interval: Duration::from_nanos(at_least_one(60_000_000_000 / n.get() as u64)),
            burst: n,
        }
    }

    /// One request every `interval`, burst of one.
    ///
    /// # Errors
    ///
    /// [`ConfigError::ZeroDuration`] if `interval` is shorter than a microsecond.
    pub fn with_interval(interval: Duration) -> Result<Self, ConfigError> {
        if interval < Duration::from_micros(1) {
            return Err(ConfigError::ZeroDuration {
                name: "rate-limit interval",
            });
        }
        Ok(Self {
            interval,
            burst: NonZeroU32::MIN,
        })
    }

    /// Sets the burst size.
    #[must_use]
    pub const fn allow_burst(mut self, burst: NonZeroU32) -> Self {
        self.burst = burst;
        self
    }

    /// Time between two requests at the sustained rate.
    #[must_use]
    pub const fn interval(&self) -> Duration {
        self.interval
    }

    /// Requests allowed at once.
    #[must_use]
    pub const fn burst(&self) -> u32 {
        self.burst.get()
    }

    /// Time for an empty bucket to refill completely (`burst × interval`).
    #[must_use]
    pub fn window(&self) -> Duration {
        self.interval.saturating_mul(self.burst.get())
    }
}

const fn at_least_one(n: u64) -> u64 {
    if n == 0 { 1 } else { n }
}

/// The answer of a [`RateLimitStore`](super::RateLimitStore).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimitDecision {
    /// Whether the request may proceed.
    pub allowed: bool,
    /// The quota's burst (`RateLimit-Limit`).
    pub limit: u32,
    /// Requests still allowed right now (`RateLimit-Remaining`).
    pub remaining: u32,
    /// How long to wait before retrying; zero when allowed (`Retry-After`).
    pub retry_after: Duration,
    /// Time until the full burst is available again (`RateLimit-Reset`).
    pub reset: Duration,
}

impl RateLimitDecision {
    /// A decision with the given fields.
    #[must_use]
    pub const fn new(
        allowed: bool,
        limit: u32,
        remaining: u32,
        retry_after: Duration,
        reset: Duration,
    ) -> Self {
        Self {
            allowed,
            limit,
            remaining,
            retry_after,
            reset,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absurd_rates_keep_a_positive_interval() {
        assert_eq!(
            Quota::per_second(NonZeroU32::MAX).interval(),
            Duration::from_nanos(1)
        );
        assert_eq!(
            Quota::per_minute(NonZeroU32::MAX).interval(),
            Duration::from_nanos(13)
        );
        assert_eq!(
            Quota::per_second(NonZeroU32::MIN.saturating_add(1)).interval(),
            Duration::from_millis(500)
        );
        assert!(Quota::with_interval(Duration::from_nanos(999)).is_err());
    }
}
