//! One signed HTTP attempt, through the SSRF policy.

use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http::header::{CONTENT_TYPE, RETRY_AFTER, USER_AGENT};
use reqwest::redirect;
use twh_sig::{Message, Signer};

use crate::endpoint::Endpoint;
use crate::error::ConfigError;
use crate::outbox::MAX_LOGGED_BODY;
use crate::retry::parse_retry_after;
use crate::ssrf::{GuardedResolver, SsrfPolicy, SsrfViolation};

/// Why an attempt got no usable HTTP response.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorClass {
    /// The attempt timed out.
    Timeout,
    /// The connection could not be made (refused, reset, DNS failure).
    Connect,
    /// The SSRF policy refused the URL or every resolved address.
    Blocked,
    /// A redirect was refused (not followed, or to a refused target).
    Redirect,
    /// The response body could not be read.
    Body,
    /// The endpoint's keys could not be obtained.
    Keys,
    /// The message could not be signed.
    Signing,
    /// Any other request failure.
    Request,
}

impl ErrorClass {
    /// Lower-case name (as stored in the delivery log).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Timeout => "timeout",
            Self::Connect => "connect",
            Self::Blocked => "blocked",
            Self::Redirect => "redirect",
            Self::Body => "body",
            Self::Keys => "keys",
            Self::Signing => "signing",
            Self::Request => "request",
        }
    }
}

impl fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What one attempt produced.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct AttemptResult {
    /// The HTTP status, if a response arrived.
    pub status: Option<u16>,
    /// Why there was no usable response.
    pub error: Option<ErrorClass>,
    /// What the SSRF policy refused, when `error` is [`ErrorClass::Blocked`]
    /// (names the scheme, host or address; never userinfo or query).
    pub violation: Option<SsrfViolation>,
    /// `Retry-After` of a 429/503 response.
    pub retry_after: Option<Duration>,
    /// Time from sending to having read (the start of) the body.
    pub latency: Duration,
    /// The response body's first 1 KiB.
    pub body_prefix: Vec<u8>,
}

impl AttemptResult {
    pub(crate) fn failed(error: ErrorClass) -> Self {
        Self {
            status: None,
            error: Some(error),
            violation: None,
            retry_after: None,
            latency: Duration::ZERO,
            body_prefix: Vec::new(),
        }
    }

    fn blocked(violation: SsrfViolation) -> Self {
        Self {
            violation: Some(violation),
            ..Self::failed(ErrorClass::Blocked)
        }
    }

    /// The error as the delivery log and the attempt's `tracing` event show
    /// it: the class (`timeout`, `connect`, …), and for a policy refusal its
    /// cause, e.g. `blocked: 127.0.0.1 is a loopback address (allow it with
    /// SsrfPolicy::allow_net)`.
    #[must_use]
    pub fn error_text(&self) -> Option<String> {
        let class = self.error?;
        Some(match &self.violation {
            Some(v) => format!("{class}: {v}"),
            None => class.as_str().to_owned(),
        })
    }

    /// Whether the receiver acknowledged (2xx).
    #[must_use]
    pub fn is_success(&self) -> bool {
        matches!(self.status, Some(200..=299))
    }
}

/// The HTTP client for deliveries: no proxy, redirects per the policy, every
/// host resolved and checked by the [`SsrfPolicy`] and the connection pinned to
/// the checked addresses. Cheap to clone.
#[derive(Clone, Debug)]
pub struct DeliveryClient {
    http: reqwest::Client,
    policy: Arc<SsrfPolicy>,
    default_timeout: Duration,
}

/// Default per-attempt timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);

impl DeliveryClient {
    /// A client applying `policy`.
    ///
    /// # Errors
    /// [`ConfigError::HttpClient`] if the TLS/HTTP stack cannot be built.
    pub fn new(policy: SsrfPolicy) -> Result<Self, ConfigError> {
        let policy = Arc::new(policy);
        let max = policy.max_redirects();
        let redirect_policy = if max == 0 {
            redirect::Policy::none()
        } else {
            let check = Arc::clone(&policy);
            redirect::Policy::custom(move |attempt| {
                if attempt.previous().len() > max {
                    attempt.stop()
                } else if let Err(v) = check.check_url(attempt.url()) {
                    attempt.error(v)
                } else {
                    attempt.follow()
                }
            })
        };
        let http = reqwest::Client::builder()
            .no_proxy()
            .redirect(redirect_policy)
            .dns_resolver(Arc::new(GuardedResolver(Arc::clone(&policy))))
            .connect_timeout(Duration::from_secs(10))
            .pool_idle_timeout(Duration::from_secs(60))
            .pool_max_idle_per_host(64)
            .tcp_nodelay(true)
            .build()
            .map_err(|e| ConfigError::HttpClient {
                reason: e.to_string(),
            })?;
        Ok(Self {
            http,
            policy,
            default_timeout: DEFAULT_TIMEOUT,
        })
    }

    /// Sets the timeout used when an endpoint has none (default 15 s).
    #[must_use]
    pub const fn with_default_timeout(mut self, timeout: Duration) -> Self {
        self.default_timeout = timeout;
        self
    }

    /// The SSRF policy.
    #[must_use]
    pub fn policy(&self) -> &SsrfPolicy {
        &self.policy
    }

    /// Signs `payload` as message `message_id` at `timestamp` (Unix seconds)
    /// with `signer` and POSTs it to `endpoint`. Never fails: problems are
    /// reported in the result's `error`.
    pub async fn attempt(
        &self,
        endpoint: &Endpoint,
        signer: &Signer,
        message_id: &str,
        timestamp: u64,
        payload: &Bytes,
    ) -> AttemptResult {
        if let Err(v) = self.policy.check_url(&endpoint.url) {
            return AttemptResult::blocked(v);
        }
        let Ok(headers) = signer.sign(&Message::new(message_id, timestamp, payload)) else {
            return AttemptResult::failed(ErrorClass::Signing);
        };
        let mut req = self
            .http
            .post(endpoint.url.clone())
            .timeout(endpoint.timeout.unwrap_or(self.default_timeout))
            .header(CONTENT_TYPE, "application/json")
            .header(
                USER_AGENT,
                concat!("twh-delivery/", env!("CARGO_PKG_VERSION")),
            )
            .body(payload.clone());
        for (name, value) in headers.iter() {
            req = req.header(name, value);
        }
        let started = Instant::now();
        let mut resp = match req.send().await {
            Ok(r) => r,
            Err(e) => {
                let failed = match violation_of(&e) {
                    Some(v) => AttemptResult::blocked(v),
                    None => AttemptResult::failed(classify_error(&e)),
                };
                return AttemptResult {
                    latency: started.elapsed(),
                    ..failed
                };
            }
        };
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, SystemTime::now()));
        let mut body_prefix = Vec::new();
        let mut error = None;
        loop {
            match resp.chunk().await {
                Ok(Some(chunk)) => {
                    let room = MAX_LOGGED_BODY.saturating_sub(body_prefix.len());
                    body_prefix.extend_from_slice(&chunk[..chunk.len().min(room)]);
                    if body_prefix.len() >= MAX_LOGGED_BODY {
                        break;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    error = Some(if e.is_timeout() {
                        ErrorClass::Timeout
                    } else {
                        ErrorClass::Body
                    });
                    break;
                }
            }
        }
        AttemptResult {
            status: Some(status),
            // A 2xx whose body broke off is still an acknowledgement.
            error: if (200..300).contains(&status) {
                None
            } else {
                error
            },
            violation: None,
            retry_after,
            latency: started.elapsed(),
            body_prefix,
        }
    }
}

/// The policy's refusal behind a request error: raised by the resolver (the
/// endpoint's or a redirect target's host) or by the redirect policy.
fn violation_of(e: &reqwest::Error) -> Option<SsrfViolation> {
    let mut source: Option<&(dyn StdError + 'static)> = e.source();
    while let Some(s) = source {
        if let Some(v) = s.downcast_ref::<SsrfViolation>() {
            return Some(v.clone());
        }
        source = s.source();
    }
    None
}

/// The class of a request error that is not a policy refusal (reqwest's own
/// message is never kept: it contains the whole URL).
fn classify_error(e: &reqwest::Error) -> ErrorClass {
    if e.is_timeout() {
        ErrorClass::Timeout
    } else if e.is_redirect() {
        ErrorClass::Redirect
    } else if e.is_connect() {
        ErrorClass::Connect
    } else if e.is_body() || e.is_decode() {
        ErrorClass::Body
    } else {
        ErrorClass::Request
    }
}
