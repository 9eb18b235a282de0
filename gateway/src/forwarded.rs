//! Where a request really came from, behind a reverse proxy: `[http] trusted_proxies` names the
//! proxies (addresses or CIDR blocks) whose `X-Forwarded-For` is believed. The client is the
//! right-most address of that header that is not itself a trusted proxy: each proxy appends
//! the address it saw, so everything to its left was written by someone the proxy did not
//! check, and a client's own `X-Forwarded-For: 1.2.3.4` only ever lands left of its real
//! address. A request from any other peer is judged by the TCP peer alone, its header ignored.
//!
//! Nothing in the header can fail a request or panic: an entry that is not an address, a
//! header that is not text, or a chain of trusted proxies longer than [`MAX_HOPS`] falls back
//! to the peer's address.

use std::fmt;
use std::net::IpAddr;

use axum::http::HeaderMap;
use serde::Deserialize;

/// The most proxies a forwarded chain is followed through (right to left).
pub const MAX_HOPS: usize = 16;

/// `[http]` of the server's configuration: what the HTTP API needs to know of its
/// surroundings.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct HttpSettings {
    /// Reverse proxies whose `X-Forwarded-For` names the client: `["127.0.0.1", "10.0.0.0/8"]`.
    #[serde(default)]
    pub trusted_proxies: TrustedProxies,
}

/// The peers whose `X-Forwarded-For` is believed; none by default.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<Network>);

/// An address block: an address and how many of its leading bits count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Network {
    address: IpAddr,
    prefix: u8,
}

/// Why a `trusted_proxies` entry was refused.
#[derive(Debug, PartialEq, Eq)]
pub struct BadNetwork(String);

impl fmt::Display for BadNetwork {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} is not an address or a CIDR block (such as 10.0.0.0/8 or fd00::/8)", self.0)
    }
}

impl std::error::Error for BadNetwork {}

impl TrustedProxies {
    /// The proxies of these entries (`"10.0.0.0/8"`, `"::1"`, ...).
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<Self, BadNetwork> {
        entries.iter().map(|entry| Network::parse(entry.as_ref())).collect::<Result<_, _>>().map(Self)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn trusts(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|network| network.contains(ip))
    }

    /// The client's address: from `X-Forwarded-For` when `peer` is a trusted proxy, else
    /// `peer`.
    pub fn client_address(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = peer.to_canonical();
        if !self.trusts(peer) {
            return peer;
        }
        self.forwarded_client(headers).unwrap_or(peer)
    }

    /// The right-most address of `X-Forwarded-For` that is not a trusted proxy; `None` when
    /// the header is absent or not to be believed.
    fn forwarded_client(&self, headers: &HeaderMap) -> Option<IpAddr> {
        // Several headers are one list, in order (RFC 9110 5.3): the last header's last entry
        // is the nearest proxy's.
        let entries = headers
            .get_all("x-forwarded-for")
            .iter()
            .rev()
            .flat_map(|value| match value.to_str() {
                Ok(text) => text.rsplit(',').map(Some).collect::<Vec<_>>(),
                Err(_) => vec![None],
            })
            .take(MAX_HOPS);
        let mut nearest_trusted = None;
        for entry in entries {
            let address = entry.and_then(parse_forwarded_address)?;
            if !self.trusts(address) {
                return Some(address);
            }
            nearest_trusted = Some(address);
        }
        // Every entry is a trusted proxy: the request started at the farthest of them. A chain
        // cut at MAX_HOPS is not believed.
        nearest_trusted.filter(|_| hops(headers) <= MAX_HOPS)
    }
}

/// How many entries the `X-Forwarded-For` headers hold, counting no further than one past
/// [`MAX_HOPS`].
fn hops(headers: &HeaderMap) -> usize {
    headers
        .get_all("x-forwarded-for")
        .iter()
        .map(|value| value.as_bytes().iter().filter(|&&b| b == b',').count() + 1)
        .take(MAX_HOPS + 1)
        .sum()
}

/// One entry of `X-Forwarded-For`: an address, perhaps with a port (`192.0.2.7:4711`,
/// `[2001:db8::7]:4711`) as some proxies write it.
fn parse_forwarded_address(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    let address = entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<std::net::SocketAddr>().ok().map(|socket| socket.ip()))
        .or_else(|| entry.strip_prefix('[')?.strip_suffix(']')?.parse().ok())?;
    Some(address.to_canonical())
}

impl Network {
    fn parse(text: &str) -> Result<Self, BadNetwork> {
        let bad = || BadNetwork(text.to_string());
        let (address, prefix) = match text.trim().split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text.trim(), None),
        };
        let address: IpAddr = address.parse().map_err(|_| bad())?;
        let address = address.to_canonical();
        let bits = if address.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => bits,
            Some(prefix) => prefix.parse::<u8>().ok().filter(|p| *p <= bits).ok_or_else(bad)?,
        };
        Ok(Self { address, prefix })
    }

    fn contains(&self, ip: IpAddr) -> bool {
        match (self.address, ip) {
            (IpAddr::V4(network), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                u32::from(network) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(network), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                u128::from(network) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl<'de> Deserialize<'de> for TrustedProxies {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let entries = Vec::<String>::deserialize(deserializer)?;
        Self::parse(&entries).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use proptest::prelude::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn headers(values: &[&[u8]]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append("x-forwarded-for", HeaderValue::from_bytes(value).unwrap());
        }
        headers
    }

    fn proxies() -> TrustedProxies {
        TrustedProxies::parse(&["127.0.0.1", "10.0.0.0/8", "fd00::/8"]).unwrap()
    }

    #[test]
    fn entries_are_addresses_or_blocks() {
        let proxies = proxies();
        assert!(proxies.trusts(ip("10.200.3.4")));
        assert!(proxies.trusts(ip("::ffff:10.1.2.3")), "an IPv4 client of a dual-stack socket");
        assert!(proxies.trusts(ip("fd12::1")));
        assert!(!proxies.trusts(ip("11.0.0.1")));
        assert!(!proxies.trusts(ip("127.0.0.2")));
        assert!(TrustedProxies::parse(&["0.0.0.0/0"]).unwrap().trusts(ip("192.0.2.1")));
        assert!(!TrustedProxies::parse(&["0.0.0.0/0"]).unwrap().trusts(ip("2001:db8::1")));
        for bad in ["", "10.0.0.0/33", "::/129", "10.0.0/8", "localhost", "10.0.0.0/x", "10.0.0.0/-1"] {
            assert_eq!(TrustedProxies::parse(&[bad]), Err(BadNetwork(bad.to_string())), "{bad}");
        }
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_writes() {
        let spoofed = headers(&[b"198.51.100.1"]);
        assert_eq!(proxies().client_address(ip("192.0.2.9"), &spoofed), ip("192.0.2.9"));
        assert_eq!(TrustedProxies::default().client_address(ip("127.0.0.1"), &spoofed), ip("127.0.0.1"));
    }

    #[test]
    fn behind_a_trusted_proxy_the_client_is_the_right_most_untrusted_entry() {
        let proxies = proxies();
        let peer = ip("127.0.0.1");
        assert_eq!(proxies.client_address(peer, &headers(&[b"192.0.2.7"])), ip("192.0.2.7"));
        // The client wrote the first entry itself; the proxy appended what it saw.
        let spoofed = headers(&[b"198.51.100.1, 192.0.2.7"]);
        assert_eq!(proxies.client_address(peer, &spoofed), ip("192.0.2.7"));
        let through_two = headers(&[b"198.51.100.1, 192.0.2.7, 10.0.0.5"]);
        assert_eq!(proxies.client_address(peer, &through_two), ip("192.0.2.7"));
        let two_headers = headers(&[b"198.51.100.1", b"192.0.2.7"]);
        assert_eq!(proxies.client_address(peer, &two_headers), ip("192.0.2.7"));
        let v6 = headers(&[b"2001:db8::7"]);
        assert_eq!(proxies.client_address(ip("::ffff:127.0.0.1"), &v6), ip("2001:db8::7"));
        let with_ports = headers(&[b"[2001:db8::8]:4711, 192.0.2.8:80"]);
        assert_eq!(proxies.client_address(peer, &with_ports), ip("192.0.2.8"));
        let bracketed = headers(&[b"[2001:db8::9]"]);
        assert_eq!(proxies.client_address(peer, &bracketed), ip("2001:db8::9"));
        let mapped = headers(&[b"::ffff:192.0.2.10"]);
        assert_eq!(proxies.client_address(peer, &mapped), ip("192.0.2.10"));
        let all_proxies = headers(&[b"10.0.0.9, 10.0.0.5"]);
        assert_eq!(proxies.client_address(peer, &all_proxies), ip("10.0.0.9"));
    }

    #[test]
    fn a_bad_or_missing_header_falls_back_to_the_peer() {
        let proxies = proxies();
        let peer = ip("127.0.0.1");
        assert_eq!(proxies.client_address(peer, &HeaderMap::new()), peer);
        for bad in
            [&b"unknown"[..], b"", b" , ", b"192.0.2.300", b"192.0.2.7, junk", b"\xff\xfe", b"1.2.3.4/8"]
        {
            assert_eq!(proxies.client_address(peer, &headers(&[bad])), peer, "{bad:?}");
        }
        // Junk left of the client's real address is the client's own writing: ignored.
        assert_eq!(proxies.client_address(peer, &headers(&[b"junk, 192.0.2.7"])), ip("192.0.2.7"));
    }

    #[test]
    fn a_chain_of_trusted_proxies_longer_than_the_limit_is_not_believed() {
        let proxies = proxies();
        let peer = ip("127.0.0.1");
        let long = vec!["10.0.0.1"; MAX_HOPS + 1].join(", ");
        assert_eq!(proxies.client_address(peer, &headers(&[long.as_bytes()])), peer);
        let exactly = vec!["10.0.0.1"; MAX_HOPS].join(", ");
        assert_eq!(proxies.client_address(peer, &headers(&[exactly.as_bytes()])), ip("10.0.0.1"));
        // A long list the client wrote itself changes nothing: its real address is right-most.
        let padded = format!("{}, 192.0.2.7", vec!["198.51.100.1"; 10_000].join(", "));
        assert_eq!(proxies.client_address(peer, &headers(&[padded.as_bytes()])), ip("192.0.2.7"));
    }

    #[test]
    fn the_setting_reads_addresses_and_blocks_and_refuses_anything_else() {
        let settings: HttpSettings =
            serde_json::from_value(serde_json::json!({ "trusted_proxies": ["127.0.0.1", "10.0.0.0/8"] }))
                .unwrap();
        assert!(settings.trusted_proxies.trusts(ip("10.9.8.7")));
        let error =
            serde_json::from_value::<HttpSettings>(serde_json::json!({ "trusted_proxies": ["10.0.0.0/40"] }))
                .unwrap_err();
        assert!(error.to_string().contains("10.0.0.0/40"), "{error}");
        assert!(serde_json::from_value::<HttpSettings>(serde_json::json!({ "trusted_proxy": [] })).is_err());
        assert!(HttpSettings::default().trusted_proxies.is_empty());
    }

    proptest! {
        #[test]
        fn any_header_gives_the_peer_or_an_address_written_in_it(value in proptest::collection::vec(any::<u8>(), 0..200)) {
            let Ok(header) = HeaderValue::from_bytes(&value) else { return Ok(()) };
            let mut map = HeaderMap::new();
            map.append("x-forwarded-for", header);
            let peer = ip("127.0.0.1");
            let client = proxies().client_address(peer, &map);
            let text = String::from_utf8_lossy(&value);
            prop_assert!(
                client == peer || text.split(',').filter_map(parse_forwarded_address).any(|a| a == client),
                "{client} from {text:?}"
            );
        }

        #[test]
        fn lists_of_addresses_give_their_right_most_untrusted_one(
            entries in proptest::collection::vec(prop_oneof![
                any::<std::net::Ipv4Addr>().prop_map(IpAddr::V4),
                any::<std::net::Ipv6Addr>().prop_map(IpAddr::V6),
                (0u8..=255).prop_map(|b| IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, b))),
            ], 1..(MAX_HOPS)),
        ) {
            let text = entries.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
            let proxies = proxies();
            let expected = entries
                .iter()
                .rev()
                .map(|ip| ip.to_canonical())
                .find(|ip| !proxies.trusts(*ip))
                .unwrap_or_else(|| entries[0].to_canonical());
            let client = proxies.client_address(ip("10.0.0.1"), &headers(&[text.as_bytes()]));
            prop_assert_eq!(client, expected);
        }
    }
}
