//! Subscriptions: where and how a partner receives webhooks.

use std::num::NonZeroU32;
use std::time::Duration;

use url::Url;

use crate::error::ConfigError;

/// Longest endpoint id.
pub const MAX_ENDPOINT_ID_LEN: usize = 64;

/// A subscriber endpoint.
///
/// Its signing secret lives in the secret store under
/// [`Endpoint::secret_name`] (`webhooks/<id>` by default) and is created when
/// the endpoint is registered ([`crate::Outbox::register_endpoint`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Endpoint {
    /// Stable id, `[a-z0-9][a-z0-9._-]{0,63}`.
    pub id: String,
    /// Where deliveries are POSTed.
    pub url: Url,
    /// Name of the signing secret in the secret store.
    pub secret_name: String,
    /// Disabled endpoints receive nothing; their messages wait.
    pub enabled: bool,
    /// Optional cap on deliveries per second.
    pub rate_limit: Option<NonZeroU32>,
    /// Optional per-attempt timeout (default: the dispatcher's).
    pub timeout: Option<Duration>,
}

impl Endpoint {
    /// An enabled endpoint with secret `webhooks/<id>`.
    ///
    /// `url` must be an absolute `http` or `https` URL with a host. A user
    /// name and password (basic auth) are accepted here; whether deliveries
    /// may use them is up to the [`crate::SsrfPolicy`].
    ///
    /// # Errors
    /// [`ConfigError::InvalidEndpointId`] or [`ConfigError::InvalidUrl`] (the
    /// reason never repeats the URL's userinfo or query).
    pub fn new(id: &str, url: &str) -> Result<Self, ConfigError> {
        validate_id(id)?;
        let url = Url::parse(url).map_err(|e| ConfigError::InvalidUrl {
            reason: e.to_string(),
        })?;
        validate_url(&url)?;
        Ok(Self {
            id: id.to_owned(),
            secret_name: format!("webhooks/{id}"),
            url,
            enabled: true,
            rate_limit: None,
            timeout: None,
        })
    }

    /// Limits deliveries to `per_second`.
    #[must_use]
    pub const fn with_rate_limit(mut self, per_second: NonZeroU32) -> Self {
        self.rate_limit = Some(per_second);
        self
    }

    /// Sets the per-attempt timeout.
    #[must_use]
    pub const fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Uses another secret name than `webhooks/<id>`.
    #[must_use]
    pub fn with_secret_name(mut self, name: impl Into<String>) -> Self {
        self.secret_name = name.into();
        self
    }

    /// Starts disabled (or enabled).
    #[must_use]
    pub const fn with_enabled(mut self, enabled: bool) -> Self {
        self.enabled = enabled;
        self
    }
}

/// An endpoint URL is `http` or `https` with a host.
pub(crate) fn validate_url(url: &Url) -> Result<(), ConfigError> {
    let err = |reason| Err(ConfigError::InvalidUrl { reason });
    match url.scheme() {
        "http" | "https" => {}
        // `hooks.example:8443/x` parses with the scheme `hooks.example`.
        other => {
            return err(format!(
                "unsupported scheme {:?} (only http and https)",
                other.chars().take(32).collect::<String>()
            ));
        }
    }
    if url.host_str().is_none_or(str::is_empty) {
        return err("no host".to_owned());
    }
    Ok(())
}

pub(crate) fn validate_id(id: &str) -> Result<(), ConfigError> {
    let err = |reason| ConfigError::InvalidEndpointId {
        id: id.chars().take(MAX_ENDPOINT_ID_LEN + 8).collect(),
        reason,
    };
    let first = id.bytes().next().ok_or_else(|| err("empty"))?;
    if id.len() > MAX_ENDPOINT_ID_LEN {
        return Err(err("longer than 64 bytes"));
    }
    if !(first.is_ascii_lowercase() || first.is_ascii_digit()) {
        return Err(err("must start with [a-z0-9]"));
    }
    if !id
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
    {
        return Err(err("only [a-z0-9._-] allowed"));
    }
    if id.contains("..") {
        return Err(err("must not contain '..'"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_validated() {
        assert!(Endpoint::new("acme-logistics", "https://a.example/h").is_ok());
        for bad in ["", "-x", "Acme", "a b", "a/b", "a..b", &"a".repeat(65)] {
            assert!(
                matches!(
                    Endpoint::new(bad, "https://a.example/"),
                    Err(ConfigError::InvalidEndpointId { .. })
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn only_http_and_https_urls_with_a_host() {
        let reason = |url: &str| match Endpoint::new("p1", url) {
            Err(ConfigError::InvalidUrl { reason }) => reason,
            other => panic!("{url}: {other:?}"),
        };
        assert_eq!(
            reason("ftp://x/y"),
            r#"unsupported scheme "ftp" (only http and https)"#
        );
        assert!(reason("file:///etc/passwd").contains(r#""file""#));
        assert!(reason("mailto:ops@example.com").contains(r#""mailto""#));
        // A forgotten scheme: the host is taken for one.
        assert!(reason("hooks.example:8443/twh").contains("unsupported scheme"));
        // Never echoes userinfo or query.
        for url in [
            "ftp://user:hunter2@x/y?token=abc",
            "https://user:hunter2@:99/?token=abc",
        ] {
            let r = reason(url);
            assert!(!r.contains("hunter2") && !r.contains("token"), "{r}");
        }
        assert!(Endpoint::new("p1", "http://x/y").is_ok());
        assert!(Endpoint::new("p1", "https://[::1]:8443/y").is_ok());
        // Basic auth is accepted (the SSRF policy decides on delivery).
        assert!(Endpoint::new("p1", "https://user:pw@x/y?token=abc").is_ok());
    }

    #[test]
    fn defaults() {
        let e = Endpoint::new("p1", "https://a.example/h").unwrap();
        assert_eq!(e.secret_name, "webhooks/p1");
        assert!(e.enabled);
        assert!(Endpoint::new("p1", "not a url").is_err());
        assert!(Endpoint::new("p1", "data:text/plain,x").is_err());
    }
}
