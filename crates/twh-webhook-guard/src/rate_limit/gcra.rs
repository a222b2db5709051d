//! The GCRA arithmetic, shared by the in-memory store and mirrored line by
//! line by the Redis Lua script. Unit-agnostic: every time is an integer in
//! the same unit (nanoseconds in memory, microseconds in Redis).

/// The result of one GCRA decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Outcome {
    pub(crate) allowed: bool,
    /// Requests still allowed right now after this one.
    pub(crate) remaining: u64,
    /// Wait until a request of this cost would be allowed (0 if allowed).
    pub(crate) retry_after: u64,
    /// Wait until the full burst is available again.
    pub(crate) reset: u64,
    /// The new theoretical arrival time to store, if the state changes.
    pub(crate) new_tat: Option<u64>,
}

/// One GCRA step. `tat` is the stored theoretical arrival time (`None` for a
/// key never seen), `interval` the emission interval (> 0), `burst` the
/// number of requests allowed at once (> 0). `cost == 0` asks "would one
/// request pass?" without changing the state.
pub(crate) fn decide(tat: Option<u64>, now: u64, interval: u64, burst: u64, cost: u64) -> Outcome {
    let interval = interval.max(1);
    let tat = tat.map_or(now, |t| t.max(now));
    let n = cost.max(1);
    let limit = burst.saturating_mul(interval);
    let new_tat = tat.saturating_add(n.saturating_mul(interval));
    let ahead = new_tat - now;
    if ahead > limit {
        Outcome {
            allowed: false,
            remaining: 0,
            retry_after: ahead - limit,
            reset: tat - now,
            new_tat: None,
        }
    } else {
        Outcome {
            allowed: true,
            remaining: (limit - ahead) / interval,
            retry_after: 0,
            reset: ahead,
            new_tat: (cost > 0).then_some(new_tat),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A tiny fake clock driving a single key through `decide`.
    struct Sim {
        tat: Option<u64>,
        interval: u64,
        burst: u64,
    }

    impl Sim {
        fn hit(&mut self, now: u64) -> Outcome {
            let o = decide(self.tat, now, self.interval, self.burst, 1);
            if let Some(t) = o.new_tat {
                self.tat = Some(t);
            }
            o
        }
    }

    #[test]
    fn fresh_key_allows_exactly_the_burst_at_one_instant() {
        let mut sim = Sim {
            tat: None,
            interval: 100,
            burst: 5,
        };
        let outcomes: Vec<_> = (0..7).map(|_| sim.hit(1_000)).collect();
        assert_eq!(outcomes.iter().filter(|o| o.allowed).count(), 5);
        assert_eq!(outcomes[0].remaining, 4);
        assert_eq!(outcomes[4].remaining, 0);
        assert!(!outcomes[5].allowed);
        assert_eq!(outcomes[5].retry_after, 100);
    }

    proptest! {
        /// In any window of length `w`, at most `burst + ceil(w / interval)`
        /// requests pass, whatever the arrival pattern.
        #[test]
        fn never_more_than_burst_plus_rate(
            interval in 1u64..1_000,
            burst in 1u64..20,
            gaps in proptest::collection::vec(0u64..2_000, 1..300),
            w in 1u64..20_000,
        ) {
            let mut sim = Sim { tat: None, interval, burst };
            let mut now = 1u64;
            let mut allowed = Vec::new();
            for g in gaps {
                now += g;
                if sim.hit(now).allowed { allowed.push(now); }
            }
            let bound = burst + w.div_ceil(interval);
            for (i, &start) in allowed.iter().enumerate() {
                let in_window = allowed[i..].iter().take_while(|&&t| t < start + w).count() as u64;
                prop_assert!(in_window <= bound, "{in_window} > {bound} in window at {start}");
            }
        }

        /// Requests spaced by at least the interval always pass.
        #[test]
        fn steady_rate_always_passes(interval in 1u64..10_000, burst in 1u64..20,
                                     extra in proptest::collection::vec(0u64..500, 1..200)) {
            let mut sim = Sim { tat: None, interval, burst };
            let mut now = 7u64;
            for e in extra {
                prop_assert!(sim.hit(now).allowed);
                now += interval + e;
            }
        }

        /// A denied request passes when retried exactly `retry_after` later,
        /// and not one unit earlier.
        #[test]
        fn retry_after_is_exact(interval in 1u64..10_000, burst in 1u64..10,
                                hits in 1usize..40, start in 1u64..1_000_000) {
            let mut sim = Sim { tat: None, interval, burst };
            let mut denied = None;
            for _ in 0..hits + burst as usize {
                let o = sim.hit(start);
                if !o.allowed { denied = Some(o); break; }
            }
            let o = denied.expect("burst exhausted");
            prop_assert!(o.retry_after > 0);
            let early = decide(sim.tat, start + o.retry_after - 1, interval, burst, 1);
            prop_assert!(!early.allowed);
            let on_time = decide(sim.tat, start + o.retry_after, interval, burst, 1);
            prop_assert!(on_time.allowed);
        }

        /// A peek (cost 0) never changes the state and agrees with a real hit.
        #[test]
        fn peek_is_pure(tat in proptest::option::of(0u64..1_000_000), now in 0u64..1_000_000,
                        interval in 1u64..1_000, burst in 1u64..50) {
            let peek = decide(tat, now, interval, burst, 0);
            let hit = decide(tat, now, interval, burst, 1);
            prop_assert_eq!(peek.new_tat, None);
            prop_assert_eq!(peek.allowed, hit.allowed);
            prop_assert_eq!(peek.retry_after, hit.retry_after);
        }
    }
}
