//! Rejections: why the guard refused a request, and the RFC 9457
//! `application/problem+json` response it answers with.

use std::error::Error;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};

use crate::body::GuardBody;

/// The media type of every rejection body (RFC 9457).
pub const PROBLEM_JSON: &str = "application/problem+json";

/// Why the guard rejected a request. Each kind has a stable problem `type`
/// URI ([`RejectionKind::problem_type`]) and HTTP status.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RejectionKind {
    /// A required webhook header (id, timestamp or signature) is absent. `400`.
    MissingHeader,
    /// A webhook header is present but cannot be parsed. `400`.
    MalformedHeader,
    /// The signed timestamp lies outside the tolerance window. `401`.
    Expired,
    /// No signature matched any accepted key. `401`, one body for every cause.
    InvalidSignature,
    /// The message id was already accepted inside the replay window. `409`.
    Replayed,
    /// The body is larger than the configured limit. `413`.
    PayloadTooLarge,
    /// The client did not send the whole body in time. `408`.
    BodyTimeout,
    /// The body could not be read (connection reset, truncated body). `400`.
    BadBody,
    /// Too many requests from this client. `429` with `Retry-After`.
    RateLimited,
    /// No keys are configured for this endpoint. `404`.
    UnknownEndpoint,
    /// A backend the guard depends on (replay store, rate-limit store, secret
    /// store) failed or is full; the request was refused rather than let
    /// through unchecked. `503`.
    Unavailable,
    /// The guard itself is misconfigured (for example the replay layer runs
    /// without the verification layer in front of it). `500`.
    Misconfigured,
}

macro_rules! kinds {
    ($( $kind:ident => $status:ident, $slug:literal, $title:literal; )*) => {
        impl RejectionKind {
            /// Every kind, for exhaustive tests and documentation.
            pub const ALL: [Self; 12] = [$(Self::$kind),*];

            /// The stable problem `type` URI, e.g.
            /// `urn:twh:problem:invalid-signature`.
            #[must_use]
            pub const fn problem_type(self) -> &'static str {
                match self { $(Self::$kind => concat!("urn:twh:problem:", $slug)),* }
            }

            /// The short, stable name used in logs and metric labels,
            /// e.g. `invalid-signature`.
            #[must_use]
            pub const fn as_str(self) -> &'static str {
                match self { $(Self::$kind => $slug),* }
            }

            /// The problem `title`.
            #[must_use]
            pub const fn title(self) -> &'static str {
                match self { $(Self::$kind => $title),* }
            }

            /// The HTTP status the guard answers with.
            #[must_use]
            pub const fn status(self) -> StatusCode {
                match self { $(Self::$kind => StatusCode::$status),* }
            }

            /// The complete, constant problem document. The body depends on
            /// the kind only: it never echoes request data, key ids or the
            /// precise verification failure.
            const fn body(self) -> &'static str {
                match self {
                    $(Self::$kind => concat!(
                        "{\"type\":\"urn:twh:problem:", $slug,
                        "\",\"title\":\"", $title,
                        "\",\"status\":", kinds!(@code $status), "}"
                    )),*
                }
            }
        }
    };
    (@code BAD_REQUEST) => { "400" };
    (@code UNAUTHORIZED) => { "401" };
    (@code NOT_FOUND) => { "404" };
    (@code REQUEST_TIMEOUT) => { "408" };
    (@code CONFLICT) => { "409" };
    (@code PAYLOAD_TOO_LARGE) => { "413" };
    (@code TOO_MANY_REQUESTS) => { "429" };
    (@code INTERNAL_SERVER_ERROR) => { "500" };
    (@code SERVICE_UNAVAILABLE) => { "503" };
}

kinds! {
    MissingHeader => BAD_REQUEST, "missing-header", "A required webhook header is missing";
    MalformedHeader => BAD_REQUEST, "malformed-header", "A webhook header is malformed";
    Expired => UNAUTHORIZED, "expired", "The webhook timestamp is outside the tolerance window";
    InvalidSignature => UNAUTHORIZED, "invalid-signature", "The webhook signature is invalid";
    Replayed => CONFLICT, "replayed", "This webhook message was already received";
    PayloadTooLarge => PAYLOAD_TOO_LARGE, "payload-too-large", "The request body is too large";
    BodyTimeout => REQUEST_TIMEOUT, "body-timeout", "The request body was not received in time";
    BadBody => BAD_REQUEST, "bad-body", "The request body could not be read";
    RateLimited => TOO_MANY_REQUESTS, "rate-limited", "Too many requests";
    UnknownEndpoint => NOT_FOUND, "unknown-endpoint", "No webhook keys are configured for this endpoint";
    Unavailable => SERVICE_UNAVAILABLE, "unavailable", "The webhook receiver is temporarily unavailable";
    Misconfigured => INTERNAL_SERVER_ERROR, "misconfigured", "The webhook receiver is misconfigured";
}

impl RejectionKind {
    /// Whether this rejection means the caller failed to authenticate
    /// (missing, malformed, expired or wrong signature). These count against
    /// the stricter failure limit of the rate-limit layer.
    #[must_use]
    pub const fn is_authentication_failure(self) -> bool {
        matches!(
            self,
            Self::MissingHeader | Self::MalformedHeader | Self::Expired | Self::InvalidSignature
        )
    }
}

impl fmt::Display for RejectionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why the guard rejected a request.
///
/// The guard puts a clone of this error into the extensions of the rejection
/// response (`response.extensions().get::<GuardError>()`), so outer layers and
/// middleware can log or count it. The client only ever sees the constant
/// problem document of [`GuardError::kind`]; the precise cause (for example
/// which header was malformed) is in [`Error::source`], for logs only.
#[non_exhaustive]
#[derive(Clone)]
pub struct GuardError {
    kind: RejectionKind,
    retry_after: Option<Duration>,
    source: Option<Arc<dyn Error + Send + Sync>>,
}

impl GuardError {
    /// A rejection of the given kind, without a cause.
    #[must_use]
    pub const fn new(kind: RejectionKind) -> Self {
        Self {
            kind,
            retry_after: None,
            source: None,
        }
    }

    /// A rejection with the precise cause attached (logged, never sent).
    #[must_use]
    pub fn with_source(
        kind: RejectionKind,
        source: impl Into<Box<dyn Error + Send + Sync>>,
    ) -> Self {
        Self {
            kind,
            retry_after: None,
            source: Some(Arc::from(source.into())),
        }
    }

    /// Sets the `Retry-After` delay of the response.
    #[must_use]
    pub const fn retry_after(mut self, delay: Duration) -> Self {
        self.retry_after = Some(delay);
        self
    }

    /// What kind of rejection this is.
    #[must_use]
    pub const fn kind(&self) -> RejectionKind {
        self.kind
    }

    /// The delay after which the client may retry, if any.
    #[must_use]
    pub const fn retry_after_delay(&self) -> Option<Duration> {
        self.retry_after
    }

    /// Builds the problem response: status, `Content-Type:
    /// application/problem+json`, `Retry-After` (whole seconds, rounded up)
    /// when known, the constant body of the kind, and `self` in the response
    /// extensions.
    #[must_use]
    pub fn into_response<B>(self) -> Response<GuardBody<B>> {
        let mut res = Response::new(GuardBody::full(Bytes::from_static(
            self.kind.body().as_bytes(),
        )));
        *res.status_mut() = self.kind.status();
        let headers = res.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if let Some(delay) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(ceil_secs(delay)));
        }
        res.extensions_mut().insert(self);
        res
    }
}

/// Whole seconds, rounded up (a client told "0" would retry at once).
pub(crate) fn ceil_secs(d: Duration) -> u64 {
    let secs = d.as_secs();
    if d.subsec_nanos() > 0 { secs + 1 } else { secs }
}

impl fmt::Debug for GuardError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GuardError")
            .field("kind", &self.kind)
            .field("retry_after", &self.retry_after)
            .field("source", &self.source.as_ref().map(ToString::to_string))
            .finish()
    }
}

impl fmt::Display for GuardError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "webhook rejected: {}", self.kind.as_str())?;
        if let Some(source) = &self.source {
            write!(f, ": {source}")?;
        }
        Ok(())
    }
}

impl Error for GuardError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        self.source.as_deref().map(|e| e as &(dyn Error + 'static))
    }
}

/// An invalid guard configuration, reported when it is set, never at request time.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A header value contains characters HTTP does not allow.
    #[error("invalid value for header {name}")]
    InvalidHeaderValue {
        /// The header whose value was rejected.
        name: String,
    },
    /// A trusted-proxy entry is not an IP address or CIDR network.
    #[error("invalid trusted proxy {entry:?}: expected an IP address or CIDR network")]
    InvalidProxy {
        /// The entry as given.
        entry: String,
    },
    /// A duration that must be positive is zero.
    #[error("{name} must be greater than zero")]
    ZeroDuration {
        /// The setting.
        name: &'static str,
    },
    /// A duration is longer than the setting allows.
    #[error("{name} of {secs} s is longer than the {max_secs} s maximum")]
    DurationTooLong {
        /// The setting.
        name: &'static str,
        /// What was asked for, in seconds.
        secs: u64,
        /// The maximum, in seconds.
        max_secs: u64,
    },
}

/// The longest replay window: ids are remembered for at most this long.
pub const MAX_REPLAY_WINDOW: Duration = Duration::from_secs(30 * 24 * 60 * 60);

/// A replay window that is positive and at most [`MAX_REPLAY_WINDOW`].
pub(crate) fn replay_window(window: Duration) -> Result<Duration, ConfigError> {
    let window = positive(window, "replay window")?;
    if window > MAX_REPLAY_WINDOW {
        return Err(ConfigError::DurationTooLong {
            name: "replay window",
            secs: window.as_secs(),
            max_secs: MAX_REPLAY_WINDOW.as_secs(),
        });
    }
    Ok(window)
}

/// `duration` if it is positive, else [`ConfigError::ZeroDuration`] naming the setting.
pub(crate) fn positive(duration: Duration, name: &'static str) -> Result<Duration, ConfigError> {
    if duration.is_zero() {
        Err(ConfigError::ZeroDuration { name })
    } else {
        Ok(duration)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_valid_problem_json() {
        for kind in RejectionKind::ALL {
            let body = kind.body();
            assert!(body.starts_with('{') && body.ends_with('}'), "{body}");
            assert!(body.contains(&format!("\"type\":\"{}\"", kind.problem_type())));
            assert!(body.contains(&format!("\"status\":{}", kind.status().as_u16())));
            assert!(!body.contains('\\'), "no escapes needed: {body}");
        }
    }

    #[test]
    fn response_carries_status_type_retry_after_and_extension() {
        let err =
            GuardError::new(RejectionKind::RateLimited).retry_after(Duration::from_millis(1500));
        let res: Response<GuardBody<http_body_util::Empty<Bytes>>> = err.into_response();
        assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(res.headers()[header::CONTENT_TYPE], PROBLEM_JSON);
        assert_eq!(res.headers()[header::RETRY_AFTER], "2");
        assert_eq!(
            res.extensions().get::<GuardError>().map(GuardError::kind),
            Some(RejectionKind::RateLimited)
        );
    }

    #[test]
    fn source_is_in_display_but_never_in_the_body() {
        let err = GuardError::with_source(
            RejectionKind::MalformedHeader,
            "bad base64 in webhook-signature",
        );
        assert!(err.to_string().contains("bad base64"));
        assert!(!RejectionKind::MalformedHeader.body().contains("base64"));
    }
}
