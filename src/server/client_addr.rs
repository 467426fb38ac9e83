//! Who a request comes from. Behind a load balancer every TCP peer is the
//! balancer, so the per-address rules (rate limit, hold cap, live-stream cap)
//! would lump every passenger together; the balancer names the real client in
//! `X-Forwarded-For` or `Forwarded`. Those headers are believed only when the
//! peer is one of our own proxies (`--trusted-proxy`), since anyone else can
//! write whatever they like in them.
//!
//! The listener resolves the address once per request and puts it in the
//! request as [`ClientIp`]; handlers read it through [`ClientAddr`].

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::request::Parts;
use ipnet::IpNet;
use std::net::IpAddr;

use super::forwarded::{Chain, Hop, chain};

/// The proxies whose forwarding headers are believed.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    pub fn new(nets: Vec<IpNet>) -> Self {
        TrustedProxies(nets)
    }

    /// A CIDR (`10.0.0.0/8`, `2001:db8::/32`) or a single address.
    pub fn parse_net(text: &str) -> Result<IpNet, String> {
        let text = text.trim();
        text.parse::<IpNet>()
            .or_else(|_| text.parse::<IpAddr>().map(IpNet::from))
            .map_err(|_| format!("{text:?} is not an address or CIDR (e.g. 10.0.0.0/8)"))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client behind `peer`. From an untrusted peer the headers are
    /// ignored. From a trusted one the chain is walked from the right (the
    /// hop our proxy wrote) past every trusted hop; the first untrusted
    /// address is the client. A chain that is all trusted names its oldest
    /// hop. A malformed header, or an entry that is not an address where the
    /// walk needs one, leaves the peer: we cannot tell who is behind it.
    pub fn client_of(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = peer.to_canonical();
        if !self.trusts(peer) {
            return peer;
        }
        let Chain::Hops(hops) = chain(headers) else {
            return peer;
        };
        let mut oldest_trusted = peer;
        for hop in hops.iter().rev() {
            match *hop {
                Hop::Addr(ip) if self.trusts(ip) => oldest_trusted = ip,
                Hop::Addr(ip) => return ip,
                Hop::Unusable => return peer,
            }
        }
        oldest_trusted
    }
}

/// The resolved client address of a request, set by the listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

/// Extractor for [`ClientIp`]; `None` for a router served without our
/// listener (which has no peer to begin with).
pub struct ClientAddr(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(
            parts.extensions.get::<ClientIp>().map(|ClientIp(ip)| *ip),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderName, HeaderValue};

    fn proxies(nets: &[&str]) -> TrustedProxies {
        TrustedProxies::new(
            nets.iter()
                .map(|n| TrustedProxies::parse_net(n).unwrap())
                .collect(),
        )
    }

    fn xff(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            HeaderName::from_static("x-forwarded-for"),
            HeaderValue::from_str(value).unwrap(),
        );
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_claims() {
        let p = proxies(&["10.0.0.0/8"]);
        assert_eq!(
            p.client_of(ip("192.0.2.5"), &xff("203.0.113.7")),
            ip("192.0.2.5")
        );
        assert_eq!(
            TrustedProxies::default().client_of(ip("10.0.0.1"), &xff("203.0.113.7")),
            ip("10.0.0.1"),
            "no proxies trusted by default"
        );
    }

    #[test]
    fn the_walk_skips_trusted_hops_from_the_right_and_ignores_what_the_client_wrote() {
        let p = proxies(&["10.0.0.0/8", "2001:db8:ffff::/48"]);
        // The client wrote "198.51.100.1, garbage"; our edge proxy appended
        // the client's real address, an inner proxy appended the edge's.
        let h = xff("198.51.100.1, garbage, 203.0.113.7, 10.1.1.1");
        assert_eq!(p.client_of(ip("10.2.2.2"), &h), ip("203.0.113.7"));
        let v6 = xff("2001:db8::42, 2001:db8:ffff::1");
        assert_eq!(p.client_of(ip("10.2.2.2"), &v6), ip("2001:db8::42"));
    }

    #[test]
    fn an_all_trusted_chain_names_its_oldest_hop() {
        let p = proxies(&["10.0.0.0/8"]);
        assert_eq!(
            p.client_of(ip("10.0.0.1"), &xff("10.9.9.9, 10.5.5.5")),
            ip("10.9.9.9")
        );
    }

    #[test]
    fn unusable_or_malformed_chains_leave_the_peer() {
        let p = proxies(&["10.0.0.0/8"]);
        for value in ["unknown", "203.0.113.7, _hidden", "nonsense", ""] {
            assert_eq!(
                p.client_of(ip("10.0.0.1"), &xff(value)),
                ip("10.0.0.1"),
                "{value:?}"
            );
        }
        assert_eq!(
            p.client_of(ip("10.0.0.1"), &HeaderMap::new()),
            ip("10.0.0.1")
        );
    }

    #[test]
    fn a_mapped_ipv4_peer_matches_an_ipv4_cidr() {
        let p = proxies(&["10.0.0.0/8"]);
        assert_eq!(
            p.client_of(ip("::ffff:10.0.0.1"), &xff("203.0.113.7")),
            ip("203.0.113.7")
        );
    }

    #[test]
    fn single_addresses_and_cidrs_parse_and_nonsense_does_not() {
        assert!(
            proxies(&["192.0.2.1"]).trusts(ip("192.0.2.1"))
                && !proxies(&["192.0.2.1"]).trusts(ip("192.0.2.2"))
        );
        assert!(proxies(&[" 2001:db8::/32 "]).trusts(ip("2001:db8::1")));
        for bad in ["", "10.0.0.0/33", "example.com", "10.0.0.0/8/8"] {
            assert!(TrustedProxies::parse_net(bad).is_err(), "{bad:?}");
        }
    }
}
