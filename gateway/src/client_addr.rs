//! Who is calling: the client's IP address, for every per-address limit and the access log.
//!
//! The client is the connection's peer, unless the peer is one of `server.trusted_proxies`.
//! Then `X-Forwarded-For` is walked from the right, skipping the addresses of trusted proxies,
//! and the first address no trusted proxy could have written is the client. Only the right end
//! of that header is believable: each proxy appends the address it saw, so everything left of
//! the last trusted hop is whatever the client chose to send. Taking the leftmost entry (or
//! believing the header from any peer) would let a client pick a fresh address per request,
//! or charge its requests to a victim's address.
//!
//! A header the walk cannot read (an entry that is not an address) falls back to the peer:
//! a trusted proxy wrote it badly, and no entry left of it can be trusted.
//!
//! The address is worked out once per request, by [`remember`] in front of every route, and
//! read back with the [`ClientAddr`] extractor, so that the limits and the access log cannot
//! disagree about who the client was.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use actors::config::IpNetwork;
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::Response;

use crate::state::AppState;

/// The header reverse proxies append the address they saw to.
const FORWARDED_FOR: &str = "x-forwarded-for";

/// The proxies whose `X-Forwarded-For` is believed (`server.trusted_proxies`).
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpNetwork>);

impl TrustedProxies {
    /// The networks of `entries`; the first entry that is not an address or a network is the
    /// error (the configuration's validation names the key; this guards configurations built
    /// in code).
    pub fn parse(entries: &[String]) -> Result<Self, String> {
        entries
            .iter()
            .map(|entry| entry.parse::<IpNetwork>())
            .collect::<Result<Vec<_>, _>>()
            .map(TrustedProxies)
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|network| network.contains(ip))
    }

    /// The client of a request that came from `peer` with `headers`.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = peer.to_canonical();
        if !self.trusts(peer) {
            return peer;
        }
        // Several headers are one list, in order (RFC 9110, 5.3). Lossy: bytes a client put
        // at the left end must not make the proxies' entries at the right unreadable.
        let list = headers
            .get_all(FORWARDED_FOR)
            .iter()
            .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
            .collect::<Vec<_>>()
            .join(",");
        if list.trim().is_empty() {
            return peer;
        }
        let mut leftmost = peer;
        for entry in list.rsplit(',') {
            let Some(hop) = parse_hop(entry) else {
                return peer;
            };
            if !self.trusts(hop) {
                return hop;
            }
            leftmost = hop;
        }
        // Every hop is a trusted proxy: the farthest one is the closest to a client we know.
        leftmost
    }
}

/// One entry of `X-Forwarded-For`: an address, possibly with a port (`[2001:db8::1]:443`,
/// `192.0.2.1:80`), as some proxies write it.
fn parse_hop(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    let ip = entry
        .parse::<IpAddr>()
        .or_else(|_| entry.parse::<SocketAddr>().map(|socket| socket.ip()))
        .ok()?;
    Some(ip.to_canonical())
}

/// The client's address, as [`TrustedProxies::client`] found it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

impl ClientAddr {
    /// The key a per-address limit counts under. An IPv6 client is counted by its /64: that is
    /// what one subscriber gets, and within it a new address costs nothing, so counting single
    /// addresses would give each caller as many budgets as it likes.
    pub fn limit_key(&self) -> String {
        match self.0 {
            IpAddr::V4(ip) => ip.to_string(),
            IpAddr::V6(ip) => {
                let network = u128::from(ip) & (u128::MAX << 64);
                format!("{}/64", Ipv6Addr::from(network))
            }
        }
    }

    fn of(parts: &Parts, state: &AppState) -> ClientAddr {
        // The server always serves with the connection's info; without it (a router driven
        // in-process) every caller is one unknown client.
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |info| info.0.ip());
        ClientAddr(state.trusted_proxies.client(peer, &parts.headers))
    }
}

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(match parts.extensions.get::<ClientAddr>() {
            Some(client) => *client,
            None => ClientAddr::of(parts, state),
        })
    }
}

/// Works out the client once and keeps it in the request for the handlers and the access log.
pub async fn remember(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    let client = ClientAddr::of(&parts, &state);
    parts.extensions.insert(client);
    next.run(Request::from_parts(parts, body)).await
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn proxies(entries: &[&str]) -> TrustedProxies {
        let entries: Vec<String> = entries.iter().map(|entry| (*entry).to_owned()).collect();
        TrustedProxies::parse(&entries).unwrap()
    }

    fn forwarded(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(FORWARDED_FOR, HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    const PROXY: &str = "10.0.0.5";

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        let trusted = proxies(&["10.0.0.0/8"]);
        let headers = forwarded(&["198.51.100.7"]);
        assert_eq!(
            trusted.client(ip("203.0.113.1"), &headers),
            ip("203.0.113.1")
        );
        assert_eq!(
            TrustedProxies::default().client(ip(PROXY), &headers),
            ip(PROXY),
            "no proxy is trusted by default"
        );
    }

    #[test]
    fn behind_a_trusted_proxy_the_rightmost_untrusted_hop_is_the_client() {
        let trusted = proxies(&["10.0.0.0/8", "192.0.2.1"]);
        // The client forged the first two entries; the proxies appended the rest.
        let headers = forwarded(&["1.1.1.1, 198.51.100.9, 203.0.113.4, 192.0.2.1, 10.1.2.3"]);
        assert_eq!(trusted.client(ip(PROXY), &headers), ip("203.0.113.4"));
        // The same list over several headers.
        let headers = forwarded(&["1.1.1.1, 198.51.100.9", "203.0.113.4", "192.0.2.1,10.1.2.3"]);
        assert_eq!(trusted.client(ip(PROXY), &headers), ip("203.0.113.4"));
    }

    #[test]
    fn without_a_readable_header_the_proxy_itself_is_the_client() {
        let trusted = proxies(&["10.0.0.0/8"]);
        let peer = ip(PROXY);
        assert_eq!(trusted.client(peer, &HeaderMap::new()), peer);
        for bad in [
            "",
            " ",
            "unknown",
            "203.0.113.4, not-an-ip",
            "203.0.113.4,,",
            "_hidden",
        ] {
            assert_eq!(trusted.client(peer, &forwarded(&[bad])), peer, "{bad:?}");
        }
    }

    #[test]
    fn garbage_left_of_the_client_does_not_matter() {
        let trusted = proxies(&["10.0.0.0/8"]);
        let headers = forwarded(&["not an address, 203.0.113.4"]);
        assert_eq!(trusted.client(ip(PROXY), &headers), ip("203.0.113.4"));
        let mut headers = HeaderMap::new();
        headers.append(FORWARDED_FOR, HeaderValue::from_bytes(b"\xff\xfe").unwrap());
        headers.append(FORWARDED_FOR, HeaderValue::from_static("203.0.113.4"));
        assert_eq!(trusted.client(ip(PROXY), &headers), ip("203.0.113.4"));
    }

    #[test]
    fn ports_brackets_and_mapped_addresses_are_read() {
        let trusted = proxies(&["127.0.0.1", "::1"]);
        let headers = forwarded(&["[2001:db8::7]:4711, 127.0.0.1:8080"]);
        assert_eq!(trusted.client(ip("::1"), &headers), ip("2001:db8::7"));
        let headers = forwarded(&["::ffff:203.0.113.4"]);
        assert_eq!(
            trusted.client(ip("::ffff:127.0.0.1"), &headers),
            ip("203.0.113.4")
        );
    }

    #[test]
    fn when_every_hop_is_trusted_the_farthest_one_is_the_client() {
        let trusted = proxies(&["10.0.0.0/8"]);
        let headers = forwarded(&["10.9.9.9, 10.1.1.1"]);
        assert_eq!(trusted.client(ip(PROXY), &headers), ip("10.9.9.9"));
    }

    #[test]
    fn ipv6_clients_are_limited_by_their_64() {
        let one = ClientAddr(ip("2001:db8:1:2:aaaa::1"));
        let same = ClientAddr(ip("2001:db8:1:2:ffff::9"));
        let other = ClientAddr(ip("2001:db8:1:3::1"));
        assert_eq!(one.limit_key(), same.limit_key());
        assert_ne!(one.limit_key(), other.limit_key());
        assert_eq!(one.limit_key(), "2001:db8:1:2::/64");
        assert_eq!(ClientAddr(ip("192.0.2.1")).limit_key(), "192.0.2.1");
    }
}
