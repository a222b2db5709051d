use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use http::request::Parts;

use crate::error::ConfigError;

/// Picks the rate-limit key of a request. Implemented by [`ClientIp`] and by
/// every closure `Fn(&Parts) -> Option<String>`. `None` puts the request in a
/// shared `unknown` bucket (it is still limited). See the
/// [module docs](crate::rate_limit).
pub trait KeyExtractor: Clone + Send + Sync + 'static {
    /// The key for this request.
    fn extract(&self, parts: &Parts) -> Option<String>;
}

impl<F> KeyExtractor for F
where
    F: Fn(&Parts) -> Option<String> + Clone + Send + Sync + 'static,
{
    fn extract(&self, parts: &Parts) -> Option<String> {
        self(parts)
    }
}

/// Keys requests by client IP address: IPv4 addresses as they are, IPv6
/// addresses by their /64 network (one customer usually owns a whole /64).
///
/// The peer address comes from the connection: axum's
/// `ConnectInfo<SocketAddr>` request extension (feature `axum`; serve with
/// `into_make_service_with_connect_info::<SocketAddr>()`) or a plain
/// `SocketAddr` extension set by your server. `X-Forwarded-For` is read only
/// when the peer is one of the [trusted proxies](Self::trusting_proxies).
///
/// # Deployment caveat
///
/// See the [module docs](crate::rate_limit#deployment-caveat): trust only
/// your own proxies' addresses.
#[derive(Clone, Debug, Default)]
pub struct ClientIp {
    trusted: Arc<[Net]>,
}

impl ClientIp {
    /// The connection's peer address; `X-Forwarded-For` is ignored.
    #[must_use]
    pub fn peer() -> Self {
        Self::default()
    }

    /// Trusts `X-Forwarded-For` when the peer is one of `proxies` (IP
    /// addresses or CIDR networks such as `10.0.0.0/8`, `fd00::/8`). The
    /// client is the rightmost address that is not itself a trusted proxy.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidProxy`] for an entry that is not an address or network.
    pub fn trusting_proxies<I, S>(proxies: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let trusted = proxies
            .into_iter()
            .map(|p| Net::parse(p.as_ref()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            trusted: trusted.into(),
        })
    }

    /// The client address of a request, if the connection's address is known.
    #[must_use]
    pub fn client_addr(&self, parts: &Parts) -> Option<IpAddr> {
        let peer = peer_addr(parts)?;
        if !self.is_trusted(peer) {
            return Some(peer);
        }
        let mut client = peer;
        let hops = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect::<Vec<_>>();
        for hop in hops.iter().rev().flat_map(|v| v.rsplit(',')) {
            let Ok(ip) = hop.trim().parse::<IpAddr>() else {
                // Garbage in the chain: stop at the last address we trust.
                break;
            };
            client = ip;
            if !self.is_trusted(ip) {
                break;
            }
        }
        Some(client)
    }

    fn is_trusted(&self, ip: IpAddr) -> bool {
        self.trusted.iter().any(|n| n.contains(ip))
    }
}

/// Whether the "no peer address" warning was logged (once per process).
static WARNED_NO_PEER: AtomicBool = AtomicBool::new(false);

impl KeyExtractor for ClientIp {
    fn extract(&self, parts: &Parts) -> Option<String> {
        let Some(addr) = self.client_addr(parts) else {
            if !WARNED_NO_PEER.swap(true, Ordering::Relaxed) {
                tracing::warn!(
                    "rate limit by client IP, but the request carries no peer address: every \
                     client shares one bucket (serve with \
                     `into_make_service_with_connect_info::<SocketAddr>()` or insert a \
                     `SocketAddr` request extension)"
                );
            }
            return None;
        };
        Some(match addr {
            IpAddr::V4(v4) => v4.to_string(),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => v4.to_string(),
                None => {
                    let net = u128::from(v6) & !((1u128 << 64) - 1);
                    format!("{}/64", Ipv6Addr::from(net))
                }
            },
        })
    }
}

fn peer_addr(parts: &Parts) -> Option<IpAddr> {
    #[cfg(feature = "axum")]
    if let Some(info) = parts
        .extensions
        .get::<axum::extract::ConnectInfo<SocketAddr>>()
    {
        return Some(info.0.ip());
    }
    parts.extensions.get::<SocketAddr>().map(SocketAddr::ip)
}

/// An IP network: address and prefix length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Net {
    addr: IpAddr,
    prefix: u8,
}

impl Net {
    fn parse(text: &str) -> Result<Self, ConfigError> {
        let bad = || ConfigError::InvalidProxy {
            entry: text.to_owned(),
        };
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p.parse::<u8>().map_err(|_| bad())?)),
            None => (text, None),
        };
        let addr: IpAddr = addr.trim().parse().map_err(|_| bad())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        if prefix > max {
            return Err(bad());
        }
        Ok(Self { addr, prefix })
    }

    fn contains(self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            IpAddr::V4(_) => ip,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use http::Request;

    use super::*;

    fn parts(peer: &str, xff: &[&str]) -> Parts {
        let mut req = Request::builder();
        for v in xff {
            req = req.header("x-forwarded-for", *v);
        }
        let (mut parts, ()) = req.body(()).unwrap().into_parts();
        let addr: SocketAddr = peer.parse().unwrap();
        parts.extensions.insert(addr);
        parts
    }

    #[test]
    fn untrusted_peer_ignores_forwarded_for() {
        let ip = ClientIp::peer();
        assert_eq!(
            ip.extract(&parts("203.0.113.9:4000", &["1.2.3.4"]))
                .as_deref(),
            Some("203.0.113.9")
        );
    }

    #[test]
    fn trusted_proxy_chain_is_walked_from_the_right() {
        let ip = ClientIp::trusting_proxies(["10.0.0.0/8", "192.0.2.1"]).unwrap();
        // client spoofs a left-most entry; the proxies append the real one.
        let p = parts("10.1.2.3:80", &["6.6.6.6, 198.51.100.7", "192.0.2.1"]);
        assert_eq!(ip.extract(&p).as_deref(), Some("198.51.100.7"));
        // garbage stops the walk at the last trusted hop
        let p = parts("10.1.2.3:80", &["198.51.100.7, nonsense"]);
        assert_eq!(ip.extract(&p).as_deref(), Some("10.1.2.3"));
        // an untrusted peer's header is ignored
        let p = parts("198.51.100.8:80", &["1.1.1.1"]);
        assert_eq!(ip.extract(&p).as_deref(), Some("198.51.100.8"));
    }

    #[test]
    fn ipv6_grouped_by_slash_64_and_mapped_v4_unwrapped() {
        let ip = ClientIp::peer();
        assert_eq!(
            ip.extract(&parts("[2001:db8:1:2:aaaa::1]:1", &[]))
                .as_deref(),
            Some("2001:db8:1:2::/64")
        );
        assert_eq!(
            ip.extract(&parts("[::ffff:192.0.2.5]:1", &[])).as_deref(),
            Some("192.0.2.5")
        );
    }

    #[test]
    fn bad_proxy_entries_are_config_errors() {
        for bad in ["10.0.0.0/33", "nope", "::/129", "10.0.0.0/x"] {
            assert!(ClientIp::trusting_proxies([bad]).is_err(), "{bad}");
        }
    }
}
