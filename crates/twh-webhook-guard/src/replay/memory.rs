use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use twh_sig::{Clock, SystemClock};

use super::{Freshness, ReplayStore};
use crate::store::StoreError;

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
    /// Forget the id that expires soonest to make room: the receiver stays
    /// available, and that one message could be replayed for the rest of its
    /// window.
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
    /// Expiry order; may hold stale entries whose id was re-recorded.
    by_expiry: BinaryHeap<Reverse<(u64, Arc<str>)>>,
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
        // Drop everything that has expired.
        while let Some(Reverse((exp, _))) = state.by_expiry.peek() {
            if *exp > now_ms {
                break;
            }
            if let Some(Reverse((exp, key))) = state.by_expiry.pop() {
                if state.ids.get(&key) == Some(&exp) {
                    state.ids.remove(&key);
                }
            }
        }
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
                FullPolicy::EvictSoonestExpiring => {
                    while let Some(Reverse((exp, key))) = state.by_expiry.pop() {
                        if state.ids.get(&key) == Some(&exp) {
                            state.ids.remove(&key);
                            break;
                        }
                    }
                }
            }
        }
        let key: Arc<str> = Arc::from(id);
        state.ids.insert(Arc::clone(&key), expires_ms);
        state.by_expiry.push(Reverse((expires_ms, key)));
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
            Some(Freshness::Fresh),
            "room after expiry"
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
        /// store answers exactly like the model, and never holds more than
        /// `capacity` ids whatever the policy.
        #[test]
        fn matches_unbounded_model(
            ops in proptest::collection::vec((0u8..20, 1u64..5_000, 0u64..2_000), 1..400),
            capacity in 1usize..30,
        ) {
            let big = InMemoryReplayStore::new(10_000);
            let small = InMemoryReplayStore::new(capacity).full_policy(FullPolicy::EvictSoonestExpiring);
            let mut model: HashMap<String, u64> = HashMap::new();
            let mut now = 0u64;
            for (id, ttl, gap) in ops {
                now += gap;
                let id = format!("m{id}");
                let want = match model.get(&id) {
                    Some(&exp) if exp > now => Freshness::Seen,
                    _ => { model.insert(id.clone(), now + ttl); Freshness::Fresh }
                };
                prop_assert_eq!(big.check_and_insert_at(&id, now + ttl, now).ok(), Some(want));
                let got = small.check_and_insert_at(&id, now + ttl, now).ok();
                // A bounded store may forget (Fresh instead of Seen), never invent.
                if want == Freshness::Fresh { prop_assert_eq!(got, Some(Freshness::Fresh)); }
                prop_assert!(small.len() <= capacity);
            }
        }
    }
}
