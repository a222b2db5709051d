use std::sync::Arc;
use std::time::Duration;

use http::{HeaderName, HeaderValue, header};
use tower_layer::Layer;

use super::service::SecureHeaders;
use crate::error::ConfigError;

/// `Strict-Transport-Security` settings. See the [module docs](crate::headers).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hsts {
    /// `max-age`, in whole seconds.
    pub max_age: Duration,
    /// Adds `includeSubDomains`.
    pub include_subdomains: bool,
    /// Adds `preload`.
    pub preload: bool,
}

impl Hsts {
    /// `max-age` as given, `includeSubDomains`, no `preload`.
    #[must_use]
    pub const fn new(max_age: Duration) -> Self {
        Self {
            max_age,
            include_subdomains: true,
            preload: false,
        }
    }

    /// Sets `includeSubDomains`.
    #[must_use]
    pub const fn include_subdomains(mut self, on: bool) -> Self {
        self.include_subdomains = on;
        self
    }

    /// Sets `preload` (only submit to the preload list if you mean it).
    #[must_use]
    pub const fn preload(mut self, on: bool) -> Self {
        self.preload = on;
        self
    }

    fn value(self) -> HeaderValue {
        let mut v = format!("max-age={}", self.max_age.as_secs());
        if self.include_subdomains {
            v.push_str("; includeSubDomains");
        }
        if self.preload {
            v.push_str("; preload");
        }
        // Only digits, letters, '=', ';' and spaces: always a valid value.
        HeaderValue::try_from(v).unwrap_or_else(|_| HeaderValue::from_static("max-age=31536000"))
    }
}

impl Default for Hsts {
    /// One year, `includeSubDomains`.
    fn default() -> Self {
        Self::new(Duration::from_secs(31_536_000))
    }
}

/// Whether a header the inner service set itself is kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    Override,
    IfNotPresent,
}

/// Sets security headers on every response. See the [module docs](crate::headers).
#[derive(Clone, Debug)]
pub struct SecureHeadersLayer {
    pub(crate) headers: Arc<[(HeaderName, HeaderValue)]>,
    pub(crate) mode: Mode,
}

impl SecureHeadersLayer {
    fn with_mode(mode: Mode) -> Self {
        let headers: Vec<(HeaderName, HeaderValue)> = vec![
            (header::STRICT_TRANSPORT_SECURITY, Hsts::default().value()),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
            ),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
            (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
            (
                header::REFERRER_POLICY,
                HeaderValue::from_static("no-referrer"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            (
                HeaderName::from_static("cross-origin-resource-policy"),
                HeaderValue::from_static("same-origin"),
            ),
        ];
        Self {
            headers: headers.into(),
            mode,
        }
    }

    /// The default headers, replacing any value the inner service set.
    #[must_use]
    pub fn overriding() -> Self {
        Self::with_mode(Mode::Override)
    }

    /// The default headers, keeping a value the inner service set itself.
    #[must_use]
    pub fn if_not_present() -> Self {
        Self::with_mode(Mode::IfNotPresent)
    }

    /// Sets the `Strict-Transport-Security` value.
    #[must_use]
    pub fn hsts(self, hsts: Hsts) -> Self {
        self.set(header::STRICT_TRANSPORT_SECURITY, hsts.value())
    }

    /// Sets (adds or replaces) one header value.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidHeaderValue`] if `value` is not a valid header value.
    pub fn header(self, name: HeaderName, value: &str) -> Result<Self, ConfigError> {
        let value = HeaderValue::from_str(value).map_err(|_| ConfigError::InvalidHeaderValue {
            name: name.to_string(),
        })?;
        Ok(self.set(name, value))
    }

    /// Leaves a header out (for example `x-frame-options` if a CSP
    /// `frame-ancestors` is enough for you).
    #[must_use]
    pub fn without(self, name: &HeaderName) -> Self {
        let headers: Vec<_> = self
            .headers
            .iter()
            .filter(|(n, _)| n != name)
            .cloned()
            .collect();
        Self {
            headers: headers.into(),
            mode: self.mode,
        }
    }

    fn set(self, name: HeaderName, value: HeaderValue) -> Self {
        let mut headers: Vec<_> = self
            .headers
            .iter()
            .filter(|(n, _)| *n != name)
            .cloned()
            .collect();
        headers.push((name, value));
        Self {
            headers: headers.into(),
            mode: self.mode,
        }
    }
}

impl Default for SecureHeadersLayer {
    /// [`SecureHeadersLayer::overriding`].
    fn default() -> Self {
        Self::overriding()
    }
}

impl<S> Layer<S> for SecureHeadersLayer {
    type Service = SecureHeaders<S>;

    fn layer(&self, inner: S) -> Self::Service {
        SecureHeaders {
            inner,
            layer: self.clone(),
        }
    }
}
