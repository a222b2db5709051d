//! Subscriptions: where and how a partner receives webhooks.

use std::fmt;
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
///
/// Its `Debug` output shows the URL as [`Endpoint::redacted_url`] does:
/// userinfo and query are hidden.
#[derive(Clone, PartialEq, Eq)]
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

    /// The URL for logs and messages: scheme, host, port and path, with a
    /// user name or password replaced by `***` and the query (and fragment)
    /// by `…` — `https://***@hooks.example:8443/twh?…`.
    #[must_use]
    pub fn redacted_url(&self) -> String {
        redact_url(&self.url)
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

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Endpoint")
            .field("id", &self.id)
            .field("url", &self.redacted_url())
            .field("secret_name", &self.secret_name)
            .field("enabled", &self.enabled)
            .field("rate_limit", &self.rate_limit)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// `url` without userinfo, query or fragment (see [`Endpoint::redacted_url`]).
pub(crate) fn redact_url(url: &Url) -> String {
    let Some(host) = url.host_str() else {
        // No authority (`mailto:…`, `data:…`): everything after the scheme
        // may be sensitive.
        return format!("{}:…", url.scheme());
    };
    let mut out = format!("{}://", url.scheme());
    if !url.username().is_empty() || url.password().is_some() {
        out.push_str("***@");
    }
    out.push_str(host);
    if let Some(port) = url.port() {
        out.push_str(&format!(":{port}"));
    }
    out.push_str(url.path());
    if url.query().is_some() {
        out.push_str("?…");
    }
    if url.fragment().is_some() {
        out.push_str("#…");
    }
    out
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
    fn debug_and_redacted_url_hide_userinfo_and_query() {
        let e = Endpoint::new(
            "a",
            "https://user:hunter2@x.example:8443/y/z?token=abc#frag",
        )
        .unwrap();
        let debug = format!("{e:?}");
        for leak in ["hunter2", "user", "token", "abc", "frag"] {
            assert!(!debug.contains(leak), "{leak} in {debug}");
        }
        assert!(
            debug.contains(r#"url: "https://***@x.example:8443/y/z?…#…""#),
            "{debug}"
        );
        assert!(debug.contains(r#"id: "a""#) && debug.contains("webhooks/a"));
        let r = |s: &str| Endpoint::new("a", s).unwrap().redacted_url();
        assert_eq!(r("https://x.example/h"), "https://x.example/h");
        assert_eq!(r("http://tok@[::1]:80/h?"), "http://***@[::1]/h?…");
        assert_eq!(r("https://:pw@x.example/"), "https://***@x.example/");
        assert_eq!(
            redact_url(&Url::parse("mailto:ops@example.com?x=1").unwrap()),
            "mailto:…"
        );
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
