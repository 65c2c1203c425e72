//! The client's address behind trusted proxies.
//!
//! Behind a load balancer the TCP peer is the balancer, so every user would
//! share one rate-limit bucket and every payment would record the balancer's
//! address. The proxies named in `SKILLPAY_TRUSTED_PROXIES` append the
//! address they received from to a forwarding header; the hops are peeled
//! from the right while they are trusted proxies, and the first one that is
//! not is the client. Hops left of it were written by the client itself and
//! are never believed. With no trusted proxy configured the peer is the
//! client, whatever the headers say.

use std::net::IpAddr;

use actix_web::HttpRequest;
use actix_web::http::header::HeaderMap;
use ipnet::IpNet;

/// The proxies whose forwarding headers are believed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Proxies in `networks` (a single address is a /32 or /128 network).
    pub fn new(networks: Vec<IpNet>) -> Self {
        Self(networks)
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The address of the client that sent `req`.
    pub fn client_ip(&self, req: &HttpRequest) -> Option<IpAddr> {
        self.client_of(req.peer_addr().map(|addr| addr.ip()), req.headers())
    }

    /// The client behind `peer`: `peer` itself unless it is a trusted proxy,
    /// else the rightmost forwarded hop that is not a trusted proxy. A hop
    /// that is not an address (`unknown`, an obfuscated name) stops the
    /// peeling at the proxy that wrote it: nothing left of it can be known.
    pub fn client_of(&self, peer: Option<IpAddr>, headers: &HeaderMap) -> Option<IpAddr> {
        let mut client = peer?.to_canonical();
        if !self.trusts(client) {
            return Some(client);
        }
        let mut hops = forwarded_hops(headers);
        while self.trusts(client) {
            match hops.pop() {
                Some(Some(hop)) => client = hop.to_canonical(),
                Some(None) | None => break,
            }
        }
        Some(client)
    }
}

/// The forwarded hops, client side first: RFC 7239 `Forwarded` `for=` when
/// present, else `X-Forwarded-For`. Each hop is `None` when it is not an
/// address. Repeated header lines are one list, in order.
fn forwarded_hops(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let lines = |name: &str| -> Vec<String> {
        headers.get_all(name).filter_map(|value| value.to_str().ok()).map(str::to_owned).collect()
    };
    let forwarded = lines("forwarded");
    if !forwarded.is_empty() {
        return forwarded
            .iter()
            .flat_map(|line| line.split(','))
            .map(|element| {
                element
                    .split(';')
                    .filter_map(|pair| pair.split_once('='))
                    .find(|(name, _)| name.trim().eq_ignore_ascii_case("for"))
                    .and_then(|(_, node)| parse_node(node))
            })
            .collect();
    }
    lines("x-forwarded-for").iter().flat_map(|line| line.split(',')).map(parse_node).collect()
}

/// One node: `192.0.2.7`, `192.0.2.7:4711`, `2001:db8::1`, `[2001:db8::1]`,
/// `"[2001:db8::1]:4711"`; anything else is not an address.
fn parse_node(node: &str) -> Option<IpAddr> {
    let node = node.trim().trim_matches('"');
    if let Some(bracketed) = node.strip_prefix('[') {
        return bracketed.split(']').next()?.parse().ok();
    }
    if let Ok(ip) = node.parse() {
        return Some(ip);
    }
    // An IPv4 address with a port (an IPv6 one would be bracketed).
    let (host, port) = node.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    host.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
}

#[cfg(test)]
mod tests {
    use actix_web::http::header::{HeaderName, HeaderValue};

    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(HeaderName::from_static(name), HeaderValue::from_static(value));
        }
        map
    }

    fn proxies(list: &[&str]) -> TrustedProxies {
        TrustedProxies::new(list.iter().map(|net| net.parse().unwrap()).collect())
    }

    fn ip(text: &str) -> Option<IpAddr> {
        Some(text.parse().unwrap())
    }

    #[test]
    fn without_trusted_proxies_the_peer_is_the_client_whatever_the_headers_say() {
        let forged = headers(&[("x-forwarded-for", "198.51.100.1"), ("forwarded", "for=198.51.100.2")]);
        assert_eq!(TrustedProxies::default().client_of(ip("203.0.113.5"), &forged), ip("203.0.113.5"));
    }

    #[test]
    fn hops_are_peeled_from_the_right_while_they_are_trusted() {
        let trusted = proxies(&["10.0.0.0/8", "192.0.2.10/32"]);
        // The client forged the leftmost hop; the balancer (10.0.0.2) saw
        // 198.51.100.7 connect, behind a CDN hop at 192.0.2.10.
        let chain = headers(&[("x-forwarded-for", "1.2.3.4, 198.51.100.7, 192.0.2.10")]);
        assert_eq!(trusted.client_of(ip("10.0.0.2"), &chain), ip("198.51.100.7"));
        // A peer that is not a proxy is the client: its header is ignored.
        assert_eq!(trusted.client_of(ip("203.0.113.9"), &chain), ip("203.0.113.9"));
    }

    #[test]
    fn forwarded_is_read_with_ports_quotes_and_brackets_and_wins_over_x_forwarded_for() {
        let trusted = proxies(&["10.0.0.0/8"]);
        let both = headers(&[
            ("forwarded", "for=192.0.2.60;proto=https, For=\"[2001:db8:cafe::17]:4711\""),
            ("x-forwarded-for", "198.51.100.99"),
        ]);
        assert_eq!(trusted.client_of(ip("10.1.1.1"), &both), ip("2001:db8:cafe::17"));
        let with_port = headers(&[("x-forwarded-for", "198.51.100.7:5555")]);
        assert_eq!(trusted.client_of(ip("10.1.1.1"), &with_port), ip("198.51.100.7"));
    }

    #[test]
    fn an_unknown_hop_or_a_missing_header_leaves_the_last_trusted_address() {
        let trusted = proxies(&["10.0.0.0/8"]);
        let hidden = headers(&[("forwarded", "for=unknown")]);
        assert_eq!(trusted.client_of(ip("10.0.0.2"), &hidden), ip("10.0.0.2"));
        assert_eq!(trusted.client_of(ip("10.0.0.2"), &HeaderMap::new()), ip("10.0.0.2"));
        // Repeated lines are one list: the rightmost line is the nearest hop.
        let lines = headers(&[("x-forwarded-for", "198.51.100.1"), ("x-forwarded-for", "10.0.0.9")]);
        assert_eq!(trusted.client_of(ip("10.0.0.2"), &lines), ip("198.51.100.1"));
    }

    #[test]
    fn ipv4_mapped_peers_are_matched_as_ipv4() {
        let trusted = proxies(&["127.0.0.1/32"]);
        let chain = headers(&[("x-forwarded-for", "198.51.100.7")]);
        assert_eq!(trusted.client_of(ip("::ffff:127.0.0.1"), &chain), ip("198.51.100.7"));
    }
}
