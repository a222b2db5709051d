//! Logging and metrics helpers shared by the layers.
//!
//! Metrics (through the [`metrics`] facade; install any recorder):
//!
//! | counter | labels | meaning |
//! |---|---|---|
//! | `twh_guard_accepted_total` | `scheme` | requests that passed every check |
//! | `twh_guard_rejected_total` | `reason` ([`RejectionKind::as_str`]) | rejections of any kind |
//! | `twh_guard_replayed_total` | | replays (also counted as rejected) |
//! | `twh_guard_rate_limited_total` | | 429s (also counted as rejected) |
//!
//! Log lines and span fields carry the outcome, scheme, message id, key id
//! (a non-reversible fingerprint) and latency — never a secret, a signature
//! or a body.

use crate::error::RejectionKind;

pub(crate) const ACCEPTED: &str = "twh_guard_accepted_total";
pub(crate) const REJECTED: &str = "twh_guard_rejected_total";
pub(crate) const REPLAYED: &str = "twh_guard_replayed_total";
pub(crate) const RATE_LIMITED: &str = "twh_guard_rate_limited_total";

/// Counts and logs a rejection. `detail` is the precise, log-only reason; it
/// must never contain a secret, a signature or body bytes.
pub(crate) fn rejected(kind: RejectionKind, detail: &dyn std::fmt::Display) {
    metrics::counter!(REJECTED, "reason" => kind.as_str()).increment(1);
    match kind {
        RejectionKind::Replayed => metrics::counter!(REPLAYED).increment(1),
        RejectionKind::RateLimited => metrics::counter!(RATE_LIMITED).increment(1),
        _ => {}
    }
    if matches!(
        kind,
        RejectionKind::Unavailable | RejectionKind::Misconfigured
    ) {
        tracing::error!(outcome = "rejected", reason = kind.as_str(), %detail, "webhook rejected");
    } else {
        tracing::info!(outcome = "rejected", reason = kind.as_str(), %detail, "webhook rejected");
    }
}

/// Counts an accepted request.
pub(crate) fn accepted(scheme: twh_sig::Scheme) {
    metrics::counter!(ACCEPTED, "scheme" => scheme_name(scheme)).increment(1);
}

/// The scheme's display name as a `'static` label, without an allocation per
/// request.
fn scheme_name(scheme: twh_sig::Scheme) -> &'static str {
    static NAMES: std::sync::OnceLock<Vec<(twh_sig::Scheme, String)>> = std::sync::OnceLock::new();
    NAMES
        .get_or_init(|| {
            twh_sig::Scheme::ALL
                .iter()
                .map(|s| (*s, s.to_string()))
                .collect()
        })
        .iter()
        .find(|(s, _)| *s == scheme)
        .map_or("other", |(_, name)| name.as_str())
}
