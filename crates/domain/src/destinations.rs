//! Where event deliveries may go. An endpoint URL is typed by an admin but
//! dialled by the server, from inside its network: without these rules it
//! is a way to make the server call its own loopback services, the cloud's
//! metadata address (169.254.169.254) or other private hosts (SSRF).
//!
//! The rules here are pure: parsing the URL and classifying addresses.
//! Resolving a name is I/O and stays with the adapters, through
//! [`HostResolver`](crate::ports::HostResolver) at registration and the
//! sender's own resolver at each connection (a name can resolve to another
//! address later: DNS rebinding).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::events::EndpointError;

/// Longest accepted endpoint URL, in characters.
pub const MAX_URL_CHARS: usize = 2_048;

/// Which destinations endpoints may name and deliveries may reach.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Destinations {
    /// Production: `https://` only, to hosts whose every address is
    /// public ([`is_public`]).
    #[default]
    PublicOnly,
    /// Development and tests, which run their receivers on this machine:
    /// `http://` too, to any address.
    PrivateAllowed,
}

impl Destinations {
    /// Whether a delivery may connect to `address`.
    pub fn admits(self, address: IpAddr) -> bool {
        match self {
            Self::PublicOnly => is_public(address),
            Self::PrivateAllowed => true,
        }
    }
}

/// The host of an [`EndpointUrl`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndpointHost<'a> {
    /// A DNS name, to be resolved (lower case, as the URL standard
    /// normalises it).
    Name(&'a str),
    /// An address literal (`https://10.0.0.1/`, `https://[fd00::1]/`).
    Address(IpAddr),
}

/// An endpoint URL that passed [`EndpointUrl::parse`]: absolute, `https`
/// (or `http` where private destinations are allowed), with a host, with
/// no user name or password, and no literal address the policy refuses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointUrl {
    url: url::Url,
}

impl EndpointUrl {
    /// Parses `raw` as the HTTP client will (the WHATWG URL standard, so
    /// `https://0x7f.1/` is the address 127.0.0.1 here as there).
    ///
    /// Refused as [`EndpointError::Url`]: not a URL, longer than
    /// [`MAX_URL_CHARS`], whitespace or control characters (the standard
    /// would silently drop some), another scheme, no host, a user name or
    /// password (`http://localhost:1@169.254.169.254/` names the host after
    /// the `@`). Refused as [`EndpointError::Destination`] under
    /// [`Destinations::PublicOnly`]: an address literal that is not
    /// public, and `localhost` names (RFC 6761), which never leave the
    /// machine. Other names are checked once resolved.
    pub fn parse(raw: &str, destinations: Destinations) -> Result<Self, EndpointError> {
        let raw = raw.trim();
        if raw.chars().count() > MAX_URL_CHARS || raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(EndpointError::Url);
        }
        let url = url::Url::parse(raw).map_err(|_| EndpointError::Url)?;
        let scheme_allowed = match destinations {
            Destinations::PublicOnly => url.scheme() == "https",
            Destinations::PrivateAllowed => matches!(url.scheme(), "https" | "http"),
        };
        if !scheme_allowed || !url.username().is_empty() || url.password().is_some() {
            return Err(EndpointError::Url);
        }
        let parsed = Self { url };
        match parsed.host() {
            None => Err(EndpointError::Url),
            Some(EndpointHost::Address(address)) if !destinations.admits(address) => Err(EndpointError::Destination),
            Some(EndpointHost::Name(name)) if destinations == Destinations::PublicOnly && is_localhost(name) => {
                Err(EndpointError::Destination)
            }
            Some(_) => Ok(parsed),
        }
    }

    /// The host (always present once parsed).
    pub fn host(&self) -> Option<EndpointHost<'_>> {
        match self.url.host()? {
            url::Host::Domain("") => None,
            url::Host::Domain(name) => Some(EndpointHost::Name(name)),
            url::Host::Ipv4(address) => Some(EndpointHost::Address(IpAddr::V4(address))),
            url::Host::Ipv6(address) => Some(EndpointHost::Address(IpAddr::V6(address))),
        }
    }

    /// The URL in its normalised form: what was checked is what is stored
    /// and dialled.
    pub fn as_str(&self) -> &str {
        self.url.as_str()
    }
}

/// `localhost` and its subdomains, with or without the final dot.
fn is_localhost(name: &str) -> bool {
    let name = name.strip_suffix('.').unwrap_or(name);
    name == "localhost" || name.ends_with(".localhost")
}

/// Whether `address` is globally reachable unicast: not loopback,
/// unspecified, private (10/8, 172.16/12, 192.168/16), shared (CGNAT,
/// 100.64/10), link-local (169.254/16, fe80::/10), unique-local
/// (fc00::/7), multicast, broadcast, documentation, benchmarking or
/// another special-purpose range of the IANA registries. IPv6 forms that
/// carry an IPv4 address (mapped `::ffff:a.b.c.d`, NAT64 `64:ff9b::/96`,
/// 6to4 `2002::/16`) are judged by that IPv4 address, which is where they
/// lead.
pub fn is_public(address: IpAddr) -> bool {
    match address {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

/// Special-purpose IPv4 ranges (network, prefix length).
const SPECIAL_V4: [(u32, u32); 16] = [
    (0x0000_0000, 8),  // 0.0.0.0/8 "this network"
    (0x0A00_0000, 8),  // 10.0.0.0/8 private
    (0x6440_0000, 10), // 100.64.0.0/10 shared address space (CGNAT)
    (0x7F00_0000, 8),  // 127.0.0.0/8 loopback
    (0xA9FE_0000, 16), // 169.254.0.0/16 link-local (cloud metadata)
    (0xAC10_0000, 12), // 172.16.0.0/12 private
    (0xC000_0000, 24), // 192.0.0.0/24 IETF protocol assignments
    (0xC000_0200, 24), // 192.0.2.0/24 documentation
    (0xC058_6300, 24), // 192.88.99.0/24 6to4 relay anycast
    (0xC0A8_0000, 16), // 192.168.0.0/16 private
    (0xC612_0000, 15), // 198.18.0.0/15 benchmarking
    (0xC633_6400, 24), // 198.51.100.0/24 documentation
    (0xCB00_7100, 24), // 203.0.113.0/24 documentation
    (0xE000_0000, 4),  // 224.0.0.0/4 multicast
    (0xF000_0000, 4),  // 240.0.0.0/4 reserved, and the broadcast address
    (0xFFFF_FFFF, 32), // 255.255.255.255 broadcast (inside 240/4; named for clarity)
];

fn is_public_v4(address: Ipv4Addr) -> bool {
    let bits = u32::from(address);
    !SPECIAL_V4.iter().any(|&(network, prefix)| in_prefix_v4(bits, network, prefix))
}

fn in_prefix_v4(bits: u32, network: u32, prefix: u32) -> bool {
    let mask = u32::MAX.checked_shl(32 - prefix).unwrap_or(0);
    bits & mask == network & mask
}

/// Special-purpose IPv6 ranges that carry no IPv4 address (network,
/// prefix length).
const SPECIAL_V6: [(u128, u32); 12] = [
    (0, 96),                           // ::/96 unspecified, loopback, IPv4-compatible (deprecated)
    (0xffff_0000_u128 << 32, 96),      // ::ffff:0:0:0/96 IPv4-translated
    (0x0064_ff9b_0001_u128 << 80, 48), // 64:ff9b:1::/48 local-use NAT64
    (0x0100_u128 << 112, 64),          // 100::/64 discard-only
    (0x2001_u128 << 112, 23),          // 2001::/23 IETF protocol assignments (Teredo among them)
    (0x2001_0db8_u128 << 96, 32),      // 2001:db8::/32 documentation
    (0x3fff_u128 << 112, 20),          // 3fff::/20 documentation
    (0x5f00_u128 << 112, 16),          // 5f00::/16 segment routing SIDs
    (0xfc00_u128 << 112, 7),           // fc00::/7 unique-local
    (0xfe80_u128 << 112, 10),          // fe80::/10 link-local
    (0xfec0_u128 << 112, 10),          // fec0::/10 site-local (deprecated)
    (0xff00_u128 << 112, 8),           // ff00::/8 multicast
];

fn is_public_v6(address: Ipv6Addr) -> bool {
    if let Some(v4) = embedded_v4(address) {
        return is_public_v4(v4);
    }
    let bits = u128::from(address);
    !SPECIAL_V6.iter().any(|&(network, prefix)| {
        let mask = u128::MAX.checked_shl(128 - prefix).unwrap_or(0);
        bits & mask == network & mask
    })
}

/// The IPv4 address an IPv6 address leads to: IPv4-mapped
/// (`::ffff:0:0/96`), NAT64's well-known prefix (`64:ff9b::/96`) and 6to4
/// (`2002::/16`, the address in bits 16 to 48).
fn embedded_v4(address: Ipv6Addr) -> Option<Ipv4Addr> {
    let bits = u128::from(address);
    let low32 = Ipv4Addr::from((bits & 0xFFFF_FFFF) as u32);
    if bits >> 32 == 0xFFFF || bits >> 32 == 0x0064_ff9b_u128 << 64 {
        return Some(low32);
    }
    if bits >> 112 == 0x2002 {
        return Some(Ipv4Addr::from(((bits >> 80) & 0xFFFF_FFFF) as u32));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn loopback_private_link_local_shared_and_unique_local_addresses_are_not_public() {
        for address in [
            "0.0.0.0",
            "0.1.2.3",
            "127.0.0.1",
            "127.255.255.254",
            "10.0.0.1",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "100.127.255.255",
            "192.0.0.170",
            "192.0.2.1",
            "198.18.0.1",
            "198.51.100.7",
            "203.0.113.9",
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "::127.0.0.1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::ffff:10.1.2.3",
            "64:ff9b::7f00:1",
            "64:ff9b:1::1",
            "2002:7f00:1::1",
            "2002:a9fe:a9fe::",
            "2001::1",
            "2001:db8::1",
            "fc00::1",
            "fd00::1",
            "fd00:ec2::254",
            "fe80::1",
            "fec0::1",
            "ff02::1",
        ] {
            assert!(!is_public(ip(address)), "{address} is not public");
            assert!(!Destinations::PublicOnly.admits(ip(address)), "{address}");
            assert!(Destinations::PrivateAllowed.admits(ip(address)), "{address} in development");
        }
    }

    #[test]
    fn globally_routable_addresses_are_public() {
        for address in [
            "1.1.1.1",
            "8.8.8.8",
            "93.184.215.14",
            "100.63.255.255",
            "100.128.0.1",
            "172.15.255.255",
            "172.32.0.1",
            "169.253.0.1",
            "192.169.0.1",
            "223.255.255.255",
            "2606:4700:4700::1111",
            "2a00:1450:4001:80b::200e",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:808:808::1",
        ] {
            assert!(is_public(ip(address)), "{address} is public");
        }
    }

    #[test]
    fn endpoint_urls_are_https_without_credentials_to_public_addresses() {
        let public = |raw: &str| EndpointUrl::parse(raw, Destinations::PublicOnly);
        assert_eq!(public("https://platform.example/hooks").unwrap().as_str(), "https://platform.example/hooks");
        assert_eq!(
            public(" https://Platform.Example:8443/h?a=1 ").unwrap().as_str(),
            "https://platform.example:8443/h?a=1"
        );
        assert_eq!(public("https://8.8.8.8/h").unwrap().host(), Some(EndpointHost::Address(ip("8.8.8.8"))));
        for bad in [
            "http://platform.example/hooks",
            "http://127.0.0.1:9000/hooks",
            "http://localhost:1@169.254.169.254/",
            "https://localhost:1@platform.example/",
            "https://user@platform.example/",
            "https://user:secret@platform.example/",
            "https://:secret@platform.example/",
            "ftp://platform.example/",
            "file:///etc/passwd",
            "gopher://platform.example/",
            "https://",
            "https:///",
            "https://a b",
            "https://platform.example/\thooks",
            "platform.example/hooks",
            "/hooks",
            "",
        ] {
            assert_eq!(public(bad), Err(EndpointError::Url), "{bad:?}");
        }
        let long = format!("https://platform.example/{}", "a".repeat(MAX_URL_CHARS));
        assert_eq!(public(&long), Err(EndpointError::Url));
    }

    #[test]
    fn endpoint_urls_naming_a_non_public_address_or_localhost_are_refused() {
        for bad in [
            "https://10.0.0.1/",
            "https://169.254.169.254/latest/meta-data",
            "https://[fd00::1]/",
            "https://100.64.0.1/",
            "https://[::ffff:127.0.0.1]/",
            "https://[::1]:8443/",
            "https://127.0.0.1/",
            "https://0x7f.1/",
            "https://2130706433/",
            "https://0/",
            "https://[fe80::1]/",
            "https://192.168.0.10/",
            "https://localhost/",
            "https://LOCALHOST./",
            "https://api.localhost/",
        ] {
            assert_eq!(EndpointUrl::parse(bad, Destinations::PublicOnly), Err(EndpointError::Destination), "{bad}");
        }
    }

    #[test]
    fn development_allows_http_and_local_receivers_but_never_credentials() {
        let dev = |raw: &str| EndpointUrl::parse(raw, Destinations::PrivateAllowed);
        for good in ["http://127.0.0.1:9000/hooks", "http://localhost/x", "https://10.0.0.1/", "http://[::1]:80/x"] {
            assert!(dev(good).is_ok(), "{good}");
        }
        assert_eq!(dev("http://localhost:1@169.254.169.254/"), Err(EndpointError::Url));
        assert_eq!(dev("http://user:pw@127.0.0.1/"), Err(EndpointError::Url));
        assert_eq!(dev("ftp://127.0.0.1/"), Err(EndpointError::Url));
    }
}
