use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use governor::nanos::Nanos;
use governor::state::StateStore;
use governor::state::keyed::{DashMapStateStore, ShrinkableKeyedStateStore};

use super::gcra::{self, Outcome};
use super::{Quota, RateLimitDecision, RateLimitStore};
use crate::store::StoreError;

/// How often (in checks) fully replenished keys are dropped.
const SWEEP_EVERY: u64 = 4096;

/// Rate-limit state in this process: `governor`'s lock-free keyed state
/// store, driven by the same GCRA arithmetic as the Redis store. Keys whose
/// bucket has refilled completely are dropped every few thousand checks, so
/// memory stays proportional to the keys active within one quota window.
/// Cheap to clone (shared state). See the [module docs](crate::rate_limit).
#[derive(Clone, Debug)]
pub struct InMemoryRateLimitStore {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    state: DashMapStateStore<String>,
    start: Instant,
    checks: AtomicU64,
}

impl InMemoryRateLimitStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self {
            inner: Arc::new(Inner {
                state: DashMapStateStore::default(),
                start: Instant::now(),
                checks: AtomicU64::new(0),
            }),
        }
    }

    /// The number of keys currently tracked.
    #[must_use]
    pub fn len(&self) -> usize {
        ShrinkableKeyedStateStore::len(&self.inner.state)
    }

    /// Whether no key is tracked.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Checks `key` at `now` nanoseconds of this store's clock. The time
    /// source is a parameter so tests can drive it with a fake clock.
    pub(crate) fn check_at(
        &self,
        key: &str,
        quota: Quota,
        cost: u32,
        now: u64,
    ) -> RateLimitDecision {
        let interval = u64::try_from(quota.interval().as_nanos()).unwrap_or(u64::MAX);
        let burst = u64::from(quota.burst());
        let key = key.to_owned();
        // `Ok` stores the new TAT; `Err` leaves the state untouched (denied or peek).
        let outcome = self.inner.state.measure_and_replace(&key, |tat| {
            let o = gcra::decide(
                tat.map(Nanos::as_u64),
                now,
                interval,
                burst,
                u64::from(cost),
            );
            match o.new_tat {
                Some(t) => Ok((o, Nanos::from(t))),
                None => Err(o),
            }
        });
        let o = outcome.unwrap_or_else(|o| o);
        if self.inner.checks.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            self.inner.state.retain_recent(Nanos::from(now));
        }
        decision(quota, o, Duration::from_nanos)
    }

    fn now(&self) -> u64 {
        // +1: the state store treats 0 as "never seen".
        u64::try_from(self.inner.start.elapsed().as_nanos()).unwrap_or(u64::MAX) + 1
    }
}

pub(crate) fn decision(quota: Quota, o: Outcome, unit: fn(u64) -> Duration) -> RateLimitDecision {
    RateLimitDecision {
        allowed: o.allowed,
        limit: quota.burst(),
        remaining: u32::try_from(o.remaining).unwrap_or(u32::MAX),
        retry_after: unit(o.retry_after),
        reset: unit(o.reset),
    }
}

impl Default for InMemoryRateLimitStore {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait]
impl RateLimitStore for InMemoryRateLimitStore {
    async fn check(
        &self,
        key: &str,
        quota: Quota,
        cost: u32,
    ) -> Result<RateLimitDecision, StoreError> {
        Ok(self.check_at(key, quota, cost, self.now()))
    }
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU32;

    use proptest::prelude::*;

    use super::*;

    fn q(n: u32) -> Quota {
        Quota::per_second(NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN))
    }

    #[test]
    fn keys_are_independent_and_peek_does_not_charge() {
        let store = InMemoryRateLimitStore::new();
        let quota = q(2);
        for _ in 0..5 {
            assert!(
                store.check_at("a", quota, 0, 10).allowed,
                "peek never charges"
            );
        }
        assert!(store.check_at("a", quota, 1, 10).allowed);
        assert!(store.check_at("a", quota, 1, 10).allowed);
        let denied = store.check_at("a", quota, 1, 10);
        assert!(!denied.allowed);
        assert_eq!(denied.retry_after, Duration::from_millis(500));
        assert!(
            store.check_at("b", quota, 1, 10).allowed,
            "other key unaffected"
        );
        assert!(store.check_at("a", quota, 1, 10 + 500_000_000).allowed);
    }

    #[test]
    fn sweep_drops_refilled_keys() {
        let store = InMemoryRateLimitStore::new();
        let quota = q(1000);
        for i in 0..100 {
            let _ = store.check_at(&format!("k{i}"), quota, 1, 1);
        }
        assert_eq!(store.len(), 100);
        let late = 10_000_000_000;
        for _ in 0..SWEEP_EVERY {
            let _ = store.check_at("busy", quota, 1, late);
        }
        assert!(store.len() <= 2, "stale keys swept, {} left", store.len());
    }

    proptest! {
        /// With a fake clock, the store admits exactly what the GCRA model
        /// admits, for any interleaving of keys and times.
        #[test]
        fn store_matches_model(
            n in 1u32..20,
            events in proptest::collection::vec((0u8..3, 0u64..200_000_000), 1..200),
        ) {
            let quota = q(n);
            let store = InMemoryRateLimitStore::new();
            let mut tats = [None::<u64>; 3];
            let mut now = 1u64;
            let interval = u64::try_from(quota.interval().as_nanos()).unwrap_or(u64::MAX);
            for (k, gap) in events {
                now += gap;
                let got = store.check_at(&k.to_string(), quota, 1, now);
                let want = gcra::decide(tats[k as usize], now, interval, u64::from(n), 1);
                if let Some(t) = want.new_tat { tats[k as usize] = Some(t); }
                prop_assert_eq!(got.allowed, want.allowed);
                prop_assert_eq!(u64::from(got.remaining), want.remaining);
            }
        }
    }
}
