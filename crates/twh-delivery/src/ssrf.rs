//! SSRF protection: which addresses a partner-supplied URL may reach.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::str::FromStr;
use std::sync::Arc;

use url::{Host, Url};

use crate::error::ConfigError;

/// A class of address that deliveries refuse by default.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AddressClass {
    /// 127.0.0.0/8, ::1.
    Loopback,
    /// RFC 1918: 10/8, 172.16/12, 192.168/16 (and deprecated fec0::/10).
    Private,
    /// RFC 6598 carrier-grade NAT 100.64/10.
    SharedAddressSpace,
    /// IPv6 unique local fc00::/7.
    UniqueLocal,
    /// 169.254/16 (incl. the 169.254.169.254 metadata service), fe80::/10.
    LinkLocal,
    /// 224/4, ff00::/8.
    Multicast,
    /// 0.0.0.0, ::.
    Unspecified,
    /// 255.255.255.255.
    Broadcast,
    /// 0/8, 192.0.0/24, 198.18/15, 240/4 and documentation ranges.
    Reserved,
}

impl AddressClass {
    /// A stable lower-case name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Loopback => "loopback",
            Self::Private => "private",
            Self::SharedAddressSpace => "shared-address-space",
            Self::UniqueLocal => "unique-local",
            Self::LinkLocal => "link-local",
            Self::Multicast => "multicast",
            Self::Unspecified => "unspecified",
            Self::Broadcast => "broadcast",
            Self::Reserved => "reserved",
        }
    }
}

impl fmt::Display for AddressClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a URL or address was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SsrfViolation {
    /// `http` without [`SsrfPolicy::with_insecure_http`].
    #[error(
        "plain http is not allowed (https required; allow it with SsrfPolicy::with_insecure_http)"
    )]
    InsecureScheme,
    /// A scheme other than http/https.
    #[error("unsupported URL scheme {scheme:?}")]
    UnsupportedScheme {
        /// The scheme.
        scheme: String,
    },
    /// The URL has no host.
    #[error("URL has no host")]
    MissingHost,
    /// The URL carries a user name or password.
    #[error("URL must not carry credentials")]
    Credentials,
    /// An address of a refused class.
    #[error("{}", forbidden_message(host.as_deref(), *addr, *class))]
    ForbiddenAddress {
        /// The host name that resolved to it (`None` for an IP-literal URL).
        host: Option<String>,
        /// The address.
        addr: IpAddr,
        /// Its class.
        class: AddressClass,
    },
    /// The host resolved to no address at all.
    #[error("host {host:?} did not resolve")]
    Unresolved {
        /// The host name.
        host: String,
    },
}

impl SsrfViolation {
    /// Whether trying again cannot help until the policy or the URL changes:
    /// every violation except [`SsrfViolation::Unresolved`] (DNS may answer
    /// later). The dispatcher disables the endpoint on a permanent violation.
    #[must_use]
    pub const fn is_permanent(&self) -> bool {
        !matches!(self, Self::Unresolved { .. })
    }
}

/// `127.0.0.1 is a loopback address (allow it with SsrfPolicy::allow_net)`,
/// or `localhost resolved to 127.0.0.1, a loopback address (…)`.
fn forbidden_message(host: Option<&str>, addr: IpAddr, class: AddressClass) -> String {
    let article = if matches!(class, AddressClass::Unspecified) {
        "an"
    } else {
        "a"
    };
    match host {
        Some(host) => format!(
            "{host} resolved to {addr}, {article} {class} address \
             (allow it with SsrfPolicy::allow_net or SsrfPolicy::allow_host)"
        ),
        None => {
            format!("{addr} is {article} {class} address (allow it with SsrfPolicy::allow_net)")
        }
    }
}

/// An IP network (`addr/prefix`) for the allow-list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct IpCidr {
    addr: IpAddr,
    prefix: u8,
}

impl IpCidr {
    /// Whether `ip` lies inside the network (IPv4-mapped IPv6 is matched as IPv4).
    #[must_use]
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, canonical(ip)) {
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

impl FromStr for IpCidr {
    type Err = ConfigError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || ConfigError::InvalidCidr {
            value: s.chars().take(64).collect(),
        };
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr = canonical(IpAddr::from_str(addr.trim()).map_err(|_| bad())?);
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p.trim().parse::<u8>().map_err(|_| bad())?,
            None => max,
        };
        if prefix > max {
            return Err(bad());
        }
        Ok(Self { addr, prefix })
    }
}

/// IPv4-mapped IPv6 (`::ffff:a.b.c.d`) becomes the IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 @ IpAddr::V4(_) => v4,
    }
}

/// The refused class of `ip`, or `None` if it is a public unicast address.
///
/// IPv6 forms that embed an IPv4 address (mapped `::ffff:0:0/96`, compatible
/// `::/96`, NAT64 `64:ff9b::/96`, 6to4 `2002::/16`) are judged by that address.
#[must_use]
pub fn forbidden_class(ip: IpAddr) -> Option<AddressClass> {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => forbidden_v6(v6),
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> Option<AddressClass> {
    let [a, b, c, _] = ip.octets();
    Some(if ip.is_unspecified() {
        AddressClass::Unspecified
    } else if ip.is_loopback() {
        AddressClass::Loopback
    } else if ip.is_private() {
        AddressClass::Private
    } else if a == 100 && (64..128).contains(&b) {
        AddressClass::SharedAddressSpace
    } else if ip.is_link_local() {
        AddressClass::LinkLocal
    } else if ip.is_multicast() {
        AddressClass::Multicast
    } else if ip.is_broadcast() {
        AddressClass::Broadcast
    } else if a == 0
        || (a == 192 && b == 0 && c == 0)
        || (a == 198 && (b == 18 || b == 19))
        || a >= 240
        || ip.is_documentation()
    {
        AddressClass::Reserved
    } else {
        return None;
    })
}

fn forbidden_v6(ip: Ipv6Addr) -> Option<AddressClass> {
    let seg = ip.segments();
    if let Some(v4) = ip.to_ipv4_mapped() {
        return forbidden_v4(v4);
    }
    Some(if ip.is_unspecified() {
        AddressClass::Unspecified
    } else if ip.is_loopback() {
        AddressClass::Loopback
    } else if seg[0] & 0xfe00 == 0xfc00 {
        AddressClass::UniqueLocal
    } else if seg[0] & 0xffc0 == 0xfe80 {
        AddressClass::LinkLocal
    } else if seg[0] & 0xffc0 == 0xfec0 {
        AddressClass::Private
    } else if seg[0] & 0xff00 == 0xff00 {
        AddressClass::Multicast
    } else if seg[..6] == [0; 6] {
        // Deprecated IPv4-compatible ::a.b.c.d.
        return forbidden_v4(embedded_v4(seg[6], seg[7]));
    } else if seg[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return forbidden_v4(embedded_v4(seg[6], seg[7]));
    } else if seg[0] == 0x2002 {
        return forbidden_v4(embedded_v4(seg[1], seg[2]));
    } else if seg[0] == 0x2001 && seg[1] == 0x0db8 {
        AddressClass::Reserved
    } else {
        return None;
    })
}

fn embedded_v4(hi: u16, lo: u16) -> Ipv4Addr {
    Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo))
}

/// Which URLs and addresses deliveries may reach.
///
/// The default ([`SsrfPolicy::strict`]) requires `https`, follows no
/// redirect, and refuses every [`AddressClass`] — checked on the addresses the
/// host actually resolves to, and the connection is pinned to the checked
/// addresses (the HTTP client resolves through this policy). An explicit
/// allow-list of networks or host names overrides the address check; tests
/// and the demo allow `127.0.0.1`.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct SsrfPolicy {
    allow_http: bool,
    allowed_nets: Vec<IpCidr>,
    allowed_hosts: Vec<String>,
    max_redirects: usize,
}

impl SsrfPolicy {
    /// https only, no redirects, no private/special addresses.
    #[must_use]
    pub fn strict() -> Self {
        Self::default()
    }

    /// Also allows plain `http` URLs (tests, loopback demos). Insecure: the
    /// payload and signature travel in clear text.
    #[must_use]
    pub fn with_insecure_http(mut self) -> Self {
        self.allow_http = true;
        self
    }

    /// Allows addresses in `cidr` (`"127.0.0.1"`, `"10.1.0.0/16"`, `"::1/128"`)
    /// even if their class is refused.
    ///
    /// # Errors
    /// [`ConfigError::InvalidCidr`] if `cidr` does not parse.
    pub fn allow_net(mut self, cidr: &str) -> Result<Self, ConfigError> {
        self.allowed_nets.push(cidr.parse()?);
        Ok(self)
    }

    /// Allows every address of host name `host` (exact, case-insensitive).
    #[must_use]
    pub fn allow_host(mut self, host: &str) -> Self {
        self.allowed_hosts
            .push(host.trim_end_matches('.').to_ascii_lowercase());
        self
    }

    /// Follows up to `max` redirects, each target checked like the original
    /// URL (default 0: a 3xx is a failed attempt).
    #[must_use]
    pub const fn follow_redirects(mut self, max: usize) -> Self {
        self.max_redirects = max;
        self
    }

    /// Maximum redirects followed.
    #[must_use]
    pub const fn max_redirects(&self) -> usize {
        self.max_redirects
    }

    fn host_allowed(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.');
        // An IP literal is checked with host "": `allow_host("")` or
        // `allow_host(".")` must not allow every literal address.
        if host.is_empty() {
            return false;
        }
        self.allowed_hosts
            .iter()
            .any(|h| h.eq_ignore_ascii_case(host))
    }

    /// Checks an address `host` resolved to (`host` empty for an IP literal).
    ///
    /// # Errors
    /// [`SsrfViolation::ForbiddenAddress`] if refused.
    pub fn check_addr(&self, host: &str, ip: IpAddr) -> Result<(), SsrfViolation> {
        if self.host_allowed(host) || self.allowed_nets.iter().any(|n| n.contains(ip)) {
            return Ok(());
        }
        match forbidden_class(ip) {
            Some(class) => Err(SsrfViolation::ForbiddenAddress {
                host: (!host.is_empty()).then(|| host.chars().take(255).collect()),
                addr: ip,
                class,
            }),
            None => Ok(()),
        }
    }

    /// Checks a URL before any connection: scheme, credentials, and — for an
    /// IP-literal host, which is never resolved — the address itself.
    ///
    /// # Errors
    /// The [`SsrfViolation`] found.
    pub fn check_url(&self, url: &Url) -> Result<(), SsrfViolation> {
        match url.scheme() {
            "https" => {}
            "http" if self.allow_http => {}
            "http" => return Err(SsrfViolation::InsecureScheme),
            other => {
                return Err(SsrfViolation::UnsupportedScheme {
                    scheme: other.chars().take(16).collect(),
                });
            }
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(SsrfViolation::Credentials);
        }
        match url.host() {
            None => Err(SsrfViolation::MissingHost),
            Some(Host::Ipv4(ip)) => self.check_addr("", IpAddr::V4(ip)),
            Some(Host::Ipv6(ip)) => self.check_addr("", IpAddr::V6(ip)),
            Some(Host::Domain(_)) => Ok(()),
        }
    }

    /// Resolves `host` and keeps only the allowed addresses.
    ///
    /// # Errors
    /// [`SsrfViolation::Unresolved`] if nothing resolved, or the first
    /// refusal if every address was refused.
    pub async fn resolve(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>, SsrfViolation> {
        let unresolved = || SsrfViolation::Unresolved {
            host: host.chars().take(255).collect(),
        };
        let addrs = tokio::net::lookup_host((host, port))
            .await
            .map_err(|_| unresolved())?;
        let mut allowed = Vec::new();
        let mut first_refusal = None;
        for addr in addrs {
            match self.check_addr(host, addr.ip()) {
                Ok(()) => allowed.push(addr),
                Err(e) => {
                    first_refusal.get_or_insert(e);
                }
            }
        }
        if allowed.is_empty() {
            return Err(first_refusal.unwrap_or_else(unresolved));
        }
        Ok(allowed)
    }
}

/// reqwest DNS resolver that applies the policy to every resolved address,
/// so the connection only ever goes to a checked address.
#[derive(Debug)]
pub(crate) struct GuardedResolver(pub(crate) Arc<SsrfPolicy>);

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = Arc::clone(&self.0);
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs = policy.resolve(&host, 0).await?;
            let addrs: reqwest::dns::Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(s: &str) -> Option<AddressClass> {
        forbidden_class(s.parse().unwrap())
    }

    #[test]
    fn every_refused_class() {
        use AddressClass::*;
        let cases = [
            ("127.0.0.1", Loopback),
            ("127.255.0.9", Loopback),
            ("::1", Loopback),
            ("10.0.0.1", Private),
            ("172.16.5.4", Private),
            ("172.31.255.255", Private),
            ("192.168.1.1", Private),
            ("fec0::1", Private),
            ("100.64.0.1", SharedAddressSpace),
            ("fc00::1", UniqueLocal),
            ("fd12:3456::1", UniqueLocal),
            ("169.254.169.254", LinkLocal),
            ("169.254.0.1", LinkLocal),
            ("fe80::1", LinkLocal),
            ("224.0.0.1", Multicast),
            ("239.255.255.250", Multicast),
            ("ff02::1", Multicast),
            ("0.0.0.0", Unspecified),
            ("::", Unspecified),
            ("255.255.255.255", Broadcast),
            ("0.1.2.3", Reserved),
            ("240.0.0.1", Reserved),
            ("198.18.0.1", Reserved),
            ("192.0.2.1", Reserved),
            ("2001:db8::1", Reserved),
            // IPv4 inside IPv6.
            ("::ffff:127.0.0.1", Loopback),
            ("::ffff:169.254.169.254", LinkLocal),
            ("::ffff:10.1.2.3", Private),
            ("::ffff:0.0.0.0", Unspecified),
            ("::10.0.0.1", Private),
            ("64:ff9b::a9fe:a9fe", LinkLocal),
            ("2002:c0a8:0101::1", Private),
        ];
        for (ip, want) in cases {
            assert_eq!(class(ip), Some(want), "{ip}");
        }
    }

    #[test]
    fn public_addresses_pass() {
        for ip in [
            "93.184.216.34",
            "8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert_eq!(class(ip), None, "{ip}");
        }
    }

    #[test]
    fn url_checks() {
        let strict = SsrfPolicy::strict();
        let u = |s: &str| Url::parse(s).unwrap();
        assert_eq!(
            strict.check_url(&u("http://example.com/")),
            Err(SsrfViolation::InsecureScheme)
        );
        assert!(matches!(
            strict.check_url(&u("ftp://example.com/")),
            Err(SsrfViolation::UnsupportedScheme { .. })
        ));
        assert_eq!(
            strict.check_url(&u("https://user:pw@example.com/")),
            Err(SsrfViolation::Credentials)
        );
        assert!(strict.check_url(&u("https://example.com/hook")).is_ok());
        // WHATWG shorthand forms of loopback are normalised by the URL parser.
        for s in [
            "https://127.0.0.1/",
            "https://127.1/",
            "https://0x7f000001/",
            "https://2130706433/",
            "https://[::ffff:127.0.0.1]/",
            "https://[::1]/",
        ] {
            assert!(
                matches!(
                    strict.check_url(&u(s)),
                    Err(SsrfViolation::ForbiddenAddress {
                        class: AddressClass::Loopback,
                        ..
                    })
                ),
                "{s}"
            );
        }
        assert!(matches!(
            strict.check_url(&u("https://169.254.169.254/latest/meta-data")),
            Err(SsrfViolation::ForbiddenAddress {
                class: AddressClass::LinkLocal,
                ..
            })
        ));
    }

    #[test]
    fn violations_name_their_cause() {
        let strict = SsrfPolicy::strict();
        let u = |s: &str| Url::parse(s).unwrap();
        let msg = |s: &str| strict.check_url(&u(s)).unwrap_err().to_string();
        assert_eq!(
            msg("https://127.0.0.1:8080/h"),
            "127.0.0.1 is a loopback address (allow it with SsrfPolicy::allow_net)"
        );
        assert_eq!(
            msg("https://0.0.0.0/"),
            "0.0.0.0 is an unspecified address (allow it with SsrfPolicy::allow_net)"
        );
        assert!(msg("https://[fe80::1]/").starts_with("fe80::1 is a link-local address"));
        assert!(msg("https://10.0.0.1/").starts_with("10.0.0.1 is a private address"));
        assert!(msg("http://example.com/").contains("https required"));
        let resolved = strict
            .check_addr("internal.example", "10.1.2.3".parse().unwrap())
            .unwrap_err();
        assert_eq!(
            resolved.to_string(),
            "internal.example resolved to 10.1.2.3, a private address \
             (allow it with SsrfPolicy::allow_net or SsrfPolicy::allow_host)"
        );
        assert!(resolved.is_permanent());
        assert!(SsrfViolation::InsecureScheme.is_permanent());
        assert!(
            !SsrfViolation::Unresolved {
                host: "x.example".to_owned()
            }
            .is_permanent()
        );
    }

    #[test]
    fn allow_list_overrides() {
        let p = SsrfPolicy::strict()
            .with_insecure_http()
            .allow_net("127.0.0.1")
            .unwrap()
            .allow_net("10.1.0.0/16")
            .unwrap()
            .allow_host("Internal.Example.");
        let lo: IpAddr = "127.0.0.1".parse().unwrap();
        assert!(p.check_addr("x", lo).is_ok());
        assert!(
            p.check_addr("x", "::ffff:127.0.0.1".parse().unwrap())
                .is_ok()
        );
        assert!(p.check_addr("x", "127.0.0.2".parse().unwrap()).is_err());
        assert!(p.check_addr("x", "10.1.200.3".parse().unwrap()).is_ok());
        assert!(p.check_addr("x", "10.2.0.1".parse().unwrap()).is_err());
        assert!(
            p.check_addr("internal.example", "10.9.9.9".parse().unwrap())
                .is_ok()
        );
        assert!(
            p.check_url(&Url::parse("http://127.0.0.1:8080/").unwrap())
                .is_ok()
        );
    }

    #[test]
    fn an_empty_allowed_host_allows_no_literal_address() {
        for empty in ["", "."] {
            let p = SsrfPolicy::strict().allow_host(empty);
            assert!(
                p.check_url(&Url::parse("https://169.254.169.254/").unwrap())
                    .is_err(),
                "{empty:?}"
            );
            assert!(p.check_addr("", "127.0.0.1".parse().unwrap()).is_err());
        }
    }

    #[test]
    fn cidr_parsing() {
        assert!("10.0.0.0/8".parse::<IpCidr>().is_ok());
        assert!("::1/128".parse::<IpCidr>().is_ok());
        assert!("10.0.0.0/33".parse::<IpCidr>().is_err());
        assert!("nonsense".parse::<IpCidr>().is_err());
        let all: IpCidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains("1.2.3.4".parse().unwrap()));
        assert!(!all.contains("2001::1".parse().unwrap()));
    }

    #[tokio::test]
    async fn resolve_filters_loopback_names() {
        let strict = SsrfPolicy::strict();
        assert!(matches!(
            strict.resolve("localhost", 80).await,
            Err(SsrfViolation::ForbiddenAddress { .. })
        ));
        let allowed = SsrfPolicy::strict().allow_net("127.0.0.0/8").unwrap();
        let addrs = allowed.resolve("localhost", 80).await.unwrap();
        assert!(addrs.iter().all(|a| a.ip().is_loopback() && a.is_ipv4()));
    }
}
