//! Retry schedule with jitter, `Retry-After` parsing and response classification.

use std::time::{Duration, SystemTime};

use rand_core::{OsRng, RngCore};

use crate::error::ConfigError;

/// The default schedule (Standard Webhooks practice): the delay before each
/// attempt — immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h.
pub const DEFAULT_SCHEDULE: [Duration; 8] = [
    Duration::ZERO,
    Duration::from_secs(5),
    Duration::from_secs(5 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(2 * 3600),
    Duration::from_secs(5 * 3600),
    Duration::from_secs(10 * 3600),
    Duration::from_secs(10 * 3600),
];

/// Longest schedule accepted by [`RetryPolicy::new`].
pub const MAX_ATTEMPTS: usize = 64;

/// When to try a message again.
///
/// `schedule[i]` is the delay before attempt `i + 1` (so `schedule[0]` is the
/// delay of the first attempt, normally zero); the number of entries is the
/// maximum number of attempts. Every delay gets ± `jitter_percent` of random
/// jitter. A `Retry-After` from the receiver (429/503) is honoured: the next
/// attempt waits at least that long, capped at `max_retry_after`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryPolicy {
    schedule: Vec<Duration>,
    jitter_percent: u8,
    max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self::standard()
    }
}

impl RetryPolicy {
    /// The default schedule [`DEFAULT_SCHEDULE`] with ± 20 % jitter and
    /// `Retry-After` capped at 24 h.
    #[must_use]
    pub fn standard() -> Self {
        Self {
            schedule: DEFAULT_SCHEDULE.to_vec(),
            jitter_percent: 20,
            max_retry_after: Duration::from_secs(24 * 3600),
        }
    }

    /// A custom schedule (e.g. milliseconds in tests), ± 20 % jitter.
    ///
    /// # Errors
    /// [`ConfigError::InvalidSchedule`] if `schedule` is empty or longer than
    /// [`MAX_ATTEMPTS`].
    pub fn new(schedule: impl IntoIterator<Item = Duration>) -> Result<Self, ConfigError> {
        let schedule: Vec<Duration> = schedule.into_iter().take(MAX_ATTEMPTS + 1).collect();
        if schedule.is_empty() {
            return Err(ConfigError::InvalidSchedule {
                reason: "at least one attempt is needed",
            });
        }
        if schedule.len() > MAX_ATTEMPTS {
            return Err(ConfigError::InvalidSchedule {
                reason: "more than 64 attempts",
            });
        }
        Ok(Self {
            schedule,
            ..Self::standard()
        })
    }

    /// Sets the jitter (0 disables it).
    ///
    /// # Errors
    /// [`ConfigError::InvalidJitter`] above 100 %.
    pub fn with_jitter_percent(mut self, percent: u8) -> Result<Self, ConfigError> {
        if percent > 100 {
            return Err(ConfigError::InvalidJitter { percent });
        }
        self.jitter_percent = percent;
        Ok(self)
    }

    /// Caps how long a receiver's `Retry-After` may postpone the next attempt.
    #[must_use]
    pub fn with_max_retry_after(mut self, max: Duration) -> Self {
        self.max_retry_after = max;
        self
    }

    /// The delays before each attempt.
    #[must_use]
    pub fn schedule(&self) -> &[Duration] {
        &self.schedule
    }

    /// The jitter in percent.
    #[must_use]
    pub const fn jitter_percent(&self) -> u8 {
        self.jitter_percent
    }

    /// The maximum number of attempts per message.
    #[must_use]
    pub fn max_attempts(&self) -> u32 {
        u32::try_from(self.schedule.len()).unwrap_or(u32::MAX)
    }

    /// The delay before the next attempt after `attempts_made` failed
    /// attempts, or `None` when the message has used all its attempts.
    ///
    /// With a `retry_after` hint the result is at least
    /// `min(retry_after, max_retry_after)`.
    pub fn next_delay<R: RngCore + ?Sized>(
        &self,
        attempts_made: u32,
        retry_after: Option<Duration>,
        rng: &mut R,
    ) -> Option<Duration> {
        let base = *self.schedule.get(usize::try_from(attempts_made).ok()?)?;
        let jittered = jitter(base, self.jitter_percent, rng);
        Some(match retry_after {
            Some(hint) => jittered.max(hint.min(self.max_retry_after)),
            None => jittered,
        })
    }
}

/// `base` ± `percent` %, uniformly distributed (integer nanoseconds).
pub fn jitter<R: RngCore + ?Sized>(base: Duration, percent: u8, rng: &mut R) -> Duration {
    let nanos = base.as_nanos();
    let spread = nanos * u128::from(percent.min(100)) / 100;
    if spread == 0 {
        return base;
    }
    let lo = nanos - spread;
    let width = 2 * spread + 1;
    let r = (u128::from(rng.next_u64()) << 64 | u128::from(rng.next_u64())) % width;
    let total = lo + r;
    let secs = u64::try_from(total / 1_000_000_000).unwrap_or(u64::MAX);
    // The remainder is below 10^9 and always fits.
    let sub = u32::try_from(total % 1_000_000_000).unwrap_or(0);
    Duration::new(secs, sub)
}

/// Parses a `Retry-After` value: delta-seconds or an HTTP-date (RFC 9110).
///
/// A date in the past gives zero; garbage gives `None`. Bounded: at most 64
/// bytes are looked at.
#[must_use]
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if value.is_empty() || value.len() > 64 {
        return None;
    }
    if value.bytes().all(|b| b.is_ascii_digit()) {
        // More than ~31 years is nonsense; saturate instead of overflowing.
        let secs = if value.len() > 10 {
            u64::MAX
        } else {
            value.parse().ok()?
        };
        return Some(Duration::from_secs(secs.min(1_000_000_000)));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// What a response (or failure) means for the message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Verdict {
    /// 2xx: acknowledged.
    Delivered,
    /// A twh guard's `409 replayed`: the receiver already has it.
    AlreadyReceived,
    /// Try again later (after at least `retry_after` if given).
    Retry {
        /// The receiver's `Retry-After` (429/503 only).
        retry_after: Option<Duration>,
    },
    /// 410 Gone: the endpoint is disabled.
    Gone,
}

/// Classifies an HTTP status: 2xx delivered, 410 gone, 429/503 retry honouring
/// `Retry-After`, everything else retry.
#[must_use]
pub fn classify_status(status: u16, retry_after: Option<Duration>) -> Verdict {
    match status {
        200..=299 => Verdict::Delivered,
        410 => Verdict::Gone,
        429 | 503 => Verdict::Retry { retry_after },
        _ => Verdict::Retry { retry_after: None },
    }
}

/// The problem `type` a twh webhook guard answers (409) for a `webhook-id` it
/// has already accepted.
pub const REPLAYED_PROBLEM_TYPE: &str = "urn:twh:problem:replayed";

/// Classifies a response: like [`classify_status`], except that a `409` whose
/// body names [`REPLAYED_PROBLEM_TYPE`] is [`Verdict::AlreadyReceived`] — the
/// receiver's replay store already holds this `webhook-id`, so an earlier
/// attempt got through and only its answer was lost (e.g. the dispatcher was
/// killed).
///
/// Deployment caveat: this is only as true as the receiver's replay store.
/// A guard that records the id *before* its handler finished, and a handler
/// that is cancelled (client gone) before it has durably taken the event,
/// together lose that event; receivers should take the event before their
/// first `.await` or record ids only after a 2xx.
#[must_use]
pub fn classify_response(
    status: u16,
    retry_after: Option<Duration>,
    body_prefix: &[u8],
) -> Verdict {
    if status == 409
        && body_prefix
            .windows(REPLAYED_PROBLEM_TYPE.len())
            .any(|w| w == REPLAYED_PROBLEM_TYPE.as_bytes())
    {
        return Verdict::AlreadyReceived;
    }
    classify_status(status, retry_after)
}

/// A small, fast, non-cryptographic RNG (SplitMix64) for retry jitter.
///
/// Seeded from the OS by [`JitterRng::from_os`]; tests seed it explicitly.
#[derive(Clone, Debug)]
pub struct JitterRng(u64);

impl JitterRng {
    /// Seeded with `seed` (deterministic).
    #[must_use]
    pub const fn seed_from_u64(seed: u64) -> Self {
        Self(seed)
    }

    /// Seeded from the operating system's CSPRNG.
    #[must_use]
    pub fn from_os() -> Self {
        Self(OsRng.next_u64())
    }
}

impl RngCore for JitterRng {
    fn next_u32(&mut self) -> u32 {
        // The high half of a SplitMix64 output.
        u32::try_from(self.next_u64() >> 32).unwrap_or(0)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for chunk in dest.chunks_mut(8) {
            let v = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn standard_schedule_matches_standard_webhooks() {
        let p = RetryPolicy::standard();
        assert_eq!(p.max_attempts(), 8);
        assert_eq!(p.schedule()[1], Duration::from_secs(5));
        assert_eq!(p.schedule()[7], Duration::from_secs(36_000));
        assert_eq!(p.jitter_percent(), 20);
    }

    #[test]
    fn empty_schedule_rejected() {
        assert!(matches!(
            RetryPolicy::new([]),
            Err(ConfigError::InvalidSchedule { .. })
        ));
        assert!(RetryPolicy::new(vec![Duration::ZERO; 65]).is_err());
        assert!(RetryPolicy::new(vec![Duration::ZERO; 64]).is_ok());
        assert!(RetryPolicy::standard().with_jitter_percent(101).is_err());
    }

    #[test]
    fn gives_up_after_last_attempt() {
        let p = RetryPolicy::new([Duration::ZERO, Duration::from_millis(10)]).unwrap();
        let mut rng = JitterRng::seed_from_u64(1);
        assert!(p.next_delay(1, None, &mut rng).is_some());
        assert_eq!(p.next_delay(2, None, &mut rng), None);
    }

    #[test]
    fn retry_after_seconds_and_http_date() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777);
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
        // RFC 9110's example date is 784111777 (Sun, 06 Nov 1994 08:49:37 GMT).
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:50:37 GMT", now),
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-5", now), None);
        assert_eq!(parse_retry_after("", now), None);
        assert_eq!(
            parse_retry_after("99999999999999999999", now),
            Some(Duration::from_secs(1_000_000_000))
        );
    }

    #[test]
    fn status_classes() {
        assert_eq!(classify_status(200, None), Verdict::Delivered);
        assert_eq!(classify_status(204, None), Verdict::Delivered);
        assert_eq!(classify_status(410, None), Verdict::Gone);
        let ra = Some(Duration::from_secs(3));
        assert_eq!(classify_status(429, ra), Verdict::Retry { retry_after: ra });
        assert_eq!(classify_status(503, ra), Verdict::Retry { retry_after: ra });
        assert_eq!(
            classify_status(500, ra),
            Verdict::Retry { retry_after: None }
        );
        assert_eq!(
            classify_status(404, None),
            Verdict::Retry { retry_after: None }
        );
        assert_eq!(
            classify_status(301, None),
            Verdict::Retry { retry_after: None }
        );
    }

    #[test]
    fn guard_replay_answer_is_an_acknowledgement() {
        let body = br#"{"type":"urn:twh:problem:replayed","title":"This webhook message was already received","status":409}"#;
        assert_eq!(classify_response(409, None, body), Verdict::AlreadyReceived);
        assert_eq!(
            classify_response(409, None, b"conflict"),
            Verdict::Retry { retry_after: None }
        );
        assert_eq!(
            classify_response(401, None, body),
            Verdict::Retry { retry_after: None }
        );
    }

    proptest! {
        #[test]
        fn jitter_stays_within_bounds(base_ms in 0u64..100_000_000, pct in 0u8..=100, seed: u64) {
            let base = Duration::from_millis(base_ms);
            let mut rng = JitterRng::seed_from_u64(seed);
            let d = jitter(base, pct, &mut rng);
            let lo = base.as_nanos() * u128::from(100 - pct) / 100;
            let hi = base.as_nanos() * u128::from(100 + pct) / 100 + 1;
            prop_assert!(d.as_nanos() >= lo && d.as_nanos() <= hi, "{d:?} outside [{lo}, {hi}]");
        }

        #[test]
        fn next_delay_follows_schedule(attempts in 0u32..12, seed: u64, ra_ms in proptest::option::of(0u64..10_000_000)) {
            let p = RetryPolicy::standard().with_max_retry_after(Duration::from_secs(3600));
            let mut rng = JitterRng::seed_from_u64(seed);
            let ra = ra_ms.map(Duration::from_millis);
            let got = p.next_delay(attempts, ra, &mut rng);
            match DEFAULT_SCHEDULE.get(attempts as usize) {
                None => prop_assert_eq!(got, None),
                Some(base) => {
                    let d = got.unwrap();
                    let lo = base.mul_f64(0.8).saturating_sub(Duration::from_nanos(1));
                    let hi = base.mul_f64(1.2) + Duration::from_nanos(1);
                    let floor = ra.map_or(Duration::ZERO, |r| r.min(Duration::from_secs(3600)));
                    prop_assert!(d >= floor);
                    prop_assert!(d >= lo);
                    prop_assert!(d <= hi.max(floor));
                }
            }
        }

        #[test]
        fn retry_after_seconds_roundtrip(secs in 0u64..1_000_000_000) {
            prop_assert_eq!(
                parse_retry_after(&secs.to_string(), SystemTime::UNIX_EPOCH),
                Some(Duration::from_secs(secs))
            );
        }

        #[test]
        fn retry_after_never_panics(s in ".{0,80}") {
            let _ = parse_retry_after(&s, SystemTime::now());
        }
    }
}
