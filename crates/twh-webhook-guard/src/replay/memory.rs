use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use twh_sig::{Clock, SystemClock};

use super::{Freshness, ReplayStore};
use crate::store::StoreError;

/// Width of an expiry bucket, in milliseconds.
const BUCKET_MS: u64 = 10;

/// What [`InMemoryReplayStore`] does with a new id when it already holds
/// `capacity` unexpired ids.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum FullPolicy {
    /// Refuse the new message (`503` with the guard): no replay can slip
    /// through, at the price of availability under a flood of *authenticated*
    /// messages. The default.
    #[default]
    Reject,
    /// Forget an id among those that expire soonest (within 10 ms)
    /// to make room: the receiver stays available, and that one message could
    /// be replayed for the rest of its window.
    EvictSoonestExpiring,
}

/// Replay store in this process, bounded to `capacity` ids. Expired ids are
/// dropped as new ones arrive; when the store is full of unexpired ids, the
/// [`FullPolicy`] decides. Cheap to clone (shared state). See the
/// [module docs](crate::replay).
#[derive(Clone, Debug)]
pub struct InMemoryReplayStore {
    state: Arc<Mutex<State>>,
    capacity: usize,
    policy: FullPolicy,
    clock: Arc<dyn Clock>,
}

#[derive(Debug, Default)]
struct State {
    /// id → expiry (unix milliseconds).
    ids: HashMap<Arc<str>, u64>,
    /// Expiry bucket ([`BUCKET_MS`] wide) → the ids expiring in it, with
    /// their exact expiry. Entries whose id was re-recorded later are stale
    /// and skipped. Buckets instead of a heap: no comparisons of ids, O(1)
    /// pushes; a bucket is dropped once all of it has expired, so the count
    /// of held ids lags true expiry by at most one bucket width.
    buckets: BTreeMap<u64, Vec<(u64, Arc<str>)>>,
}

impl State {
    /// Drops every bucket whose whole width has passed.
    fn purge(&mut self, now_ms: u64) {
        while let Some(entry) = self.buckets.first_entry() {
            if entry.key().saturating_add(1).saturating_mul(BUCKET_MS) > now_ms {
                break;
            }
            for (exp, key) in entry.remove() {
                self.forget(&key, exp);
            }
        }
    }

    /// Removes the id with the soonest expiry bucket.
    fn evict_one(&mut self) {
        while let Some(mut entry) = self.buckets.first_entry() {
            let popped = entry.get_mut().pop();
            if entry.get().is_empty() {
                entry.remove();
            }
            if let Some((exp, key)) = popped {
                if self.forget(&key, exp) {
                    return;
                }
            }
        }
    }

    /// Removes `key` if it is still recorded with expiry `exp` (not re-recorded since).
    fn forget(&mut self, key: &str, exp: u64) -> bool {
        if self.ids.get(key) == Some(&exp) {
            self.ids.remove(key);
            true
        } else {
            false
        }
    }
}

impl InMemoryReplayStore {
    /// A store holding at most `capacity` unexpired ids (at least one), with
    /// [`FullPolicy::Reject`] and the system clock.
    #[must_use]
    pub fn new(capacity: usize) -> Self {
        Self {
            state: Arc::default(),
            capacity: capacity.max(1),
            policy: FullPolicy::Reject,
            clock: Arc::new(SystemClock),
        }
    }

    /// Sets what happens when the store is full.
    #[must_use]
    pub const fn full_policy(mut self, policy: FullPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Uses `clock` for "now" (a fake clock in tests).
    #[must_use]
    pub fn with_clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The number of ids held (expired ones included until the next insert).
    #[must_use]
    pub fn len(&self) -> usize {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .ids
            .len()
    }

    /// Whether no id is held.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The whole decision at an explicit time (unix milliseconds).
    pub(crate) fn check_and_insert_at(
        &self,
        id: &str,
        expires_ms: u64,
        now_ms: u64,
    ) -> Result<Freshness, StoreError> {
        let mut guard = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let state = &mut *guard;
        state.purge(now_ms);
        if state.ids.get(id).is_some_and(|&exp| exp > now_ms) {
            return Ok(Freshness::Seen);
        }
        if expires_ms <= now_ms {
            // Already outside its window: nothing to remember.
            return Ok(Freshness::Fresh);
        }
        if state.ids.len() >= self.capacity {
            match self.policy {
                FullPolicy::Reject => {
                    return Err(StoreError::message("in-memory replay store is full"));
                }
                FullPolicy::EvictSoonestExpiring => state.evict_one(),
            }
        }
        let key: Arc<str> = Arc::from(id);
        state.ids.insert(Arc::clone(&key), expires_ms);
        state
            .buckets
            .entry(expires_ms / BUCKET_MS)
            .or_default()
            .push((expires_ms, key));
        Ok(Freshness::Fresh)
    }
}

pub(crate) fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[async_trait]
impl ReplayStore for InMemoryReplayStore {
    async fn check_and_insert(
        &self,
        id: &str,
        expires_at: SystemTime,
    ) -> Result<Freshness, StoreError> {
        let now_ms = self.clock.now_unix().saturating_mul(1000);
        self.check_and_insert_at(id, unix_ms(expires_at), now_ms)
    }

    async fn release(&self, id: &str) -> Result<(), StoreError> {
        // Its bucket entry stays behind as a stale entry and is skipped.
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .ids
            .remove(id);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use proptest::prelude::*;

    use super::*;

    #[test]
    fn seen_until_expiry_then_fresh_again() {
        let store = InMemoryReplayStore::new(10);
        assert_eq!(
            store.check_and_insert_at("a", 2_000, 1_000).ok(),
            Some(Freshness::Fresh)
        );
        assert_eq!(
            store.check_and_insert_at("a", 2_000, 1_999).ok(),
            Some(Freshness::Seen)
        );
        assert_eq!(
            store.check_and_insert_at("a", 3_000, 2_000).ok(),
            Some(Freshness::Fresh)
        );
        assert_eq!(
            store.check_and_insert_at("a", 3_000, 2_500).ok(),
            Some(Freshness::Seen)
        );
    }

    #[tokio::test]
    async fn release_forgets_an_id() {
        let store = InMemoryReplayStore::new(10).with_clock(twh_sig::FixedClock::new(1));
        let far = UNIX_EPOCH + std::time::Duration::from_secs(100);
        assert_eq!(
            store.check_and_insert("a", far).await.ok(),
            Some(Freshness::Fresh)
        );
        assert_eq!(
            store.check_and_insert("a", far).await.ok(),
            Some(Freshness::Seen)
        );
        assert!(store.release("a").await.is_ok());
        assert_eq!(
            store.check_and_insert("a", far).await.ok(),
            Some(Freshness::Fresh)
        );
        assert_eq!(store.len(), 1, "the stale bucket entry does not count");
    }

    #[test]
    fn full_policies() {
        let reject = InMemoryReplayStore::new(2);
        assert!(reject.check_and_insert_at("a", 5_000, 0).is_ok());
        assert!(reject.check_and_insert_at("b", 6_000, 0).is_ok());
        assert!(
            reject.check_and_insert_at("c", 7_000, 0).is_err(),
            "full: refused"
        );
        assert_eq!(
            reject.check_and_insert_at("a", 5_000, 1).ok(),
            Some(Freshness::Seen)
        );
        assert_eq!(
            reject.check_and_insert_at("c", 7_000, 5_000).ok(),
            None,
            "expired, but its bucket is not over yet"
        );
        assert_eq!(
            reject
                .check_and_insert_at("c", 7_000, 5_000 + BUCKET_MS)
                .ok(),
            Some(Freshness::Fresh),
            "room once the bucket has passed"
        );

        let evict = InMemoryReplayStore::new(2).full_policy(FullPolicy::EvictSoonestExpiring);
        assert!(evict.check_and_insert_at("a", 5_000, 0).is_ok());
        assert!(evict.check_and_insert_at("b", 6_000, 0).is_ok());
        assert_eq!(
            evict.check_and_insert_at("c", 7_000, 0).ok(),
            Some(Freshness::Fresh)
        );
        assert_eq!(evict.len(), 2);
        assert_eq!(
            evict.check_and_insert_at("b", 6_000, 1).ok(),
            Some(Freshness::Seen)
        );
        assert_eq!(
            evict.check_and_insert_at("a", 5_000, 1).ok(),
            Some(Freshness::Fresh),
            "a was evicted"
        );
    }

    proptest! {
        /// Against a model with unbounded memory: with enough capacity the
        /// store answers exactly like the model. A store at capacity never
        /// holds more than `capacity` ids, and only answers `Seen` for an id
        /// it recorded itself and that has not expired (it may forget, never
        /// invent).
        #[test]
        fn matches_unbounded_model(
            ops in proptest::collection::vec((0u8..20, 1u64..5_000, 0u64..2_000), 1..400),
            capacity in 1usize..30,
        ) {
            let big = InMemoryReplayStore::new(10_000);
            let small = InMemoryReplayStore::new(capacity).full_policy(FullPolicy::EvictSoonestExpiring);
            let mut model: HashMap<String, u64> = HashMap::new();
            let mut recorded_by_small: HashMap<String, u64> = HashMap::new();
            let mut now = 0u64;
            for (id, ttl, gap) in ops {
                now += gap;
                let id = format!("m{id}");
                let want = match model.get(&id) {
                    Some(&exp) if exp > now => Freshness::Seen,
                    _ => { model.insert(id.clone(), now + ttl); Freshness::Fresh }
                };
                prop_assert_eq!(big.check_and_insert_at(&id, now + ttl, now).ok(), Some(want));
                match small.check_and_insert_at(&id, now + ttl, now).ok() {
                    Some(Freshness::Seen) => {
                        prop_assert!(recorded_by_small.get(&id).is_some_and(|&exp| exp > now));
                    }
                    Some(Freshness::Fresh) => { recorded_by_small.insert(id.clone(), now + ttl); }
                    None => prop_assert!(false, "evicting store never refuses"),
                }
                prop_assert!(small.len() <= capacity);
            }
        }
    }
}
