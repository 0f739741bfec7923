//! Bencoded tracker responses, written by hand: the shapes are fixed, keys are emitted in
//! sorted order as bencode requires, and no intermediate value tree is built.

use std::net::SocketAddr;

use crate::core::announce::AnnounceResponse;
use crate::core::scrape::ScrapeStats;
use swarm_engine::metainfo::InfoHash;

/// Content type of every tracker response.
pub const CONTENT_TYPE: &str = "text/plain";

/// How the peer list is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerFormat {
    /// BEP 23: `peers` as 6-byte IPv4 entries, `peers6` as 18-byte IPv6 entries (BEP 7).
    Compact,
    /// BEP 3: a list of dictionaries, with `peer id` unless `no_peer_id` was asked.
    Dictionary {
        /// Include `peer id`.
        with_peer_id: bool,
    },
}

/// `d14:failure reason<len>:<text>e`.
pub fn failure(reason: &str) -> Vec<u8> {
    let mut out = b"d14:failure reason".to_vec();
    bytes(&mut out, reason.as_bytes());
    out.push(b'e');
    out
}

/// An announce response.
pub fn announce(response: &AnnounceResponse, format: PeerFormat) -> Vec<u8> {
    let mut out = Vec::with_capacity(96 + response.peers.len() * 24);
    out.push(b'd');
    key_int(&mut out, "complete", u64::from(response.complete));
    key_int(&mut out, "incomplete", u64::from(response.incomplete));
    key_int(&mut out, "interval", u64::from(response.interval_s));
    key_int(&mut out, "min interval", u64::from(response.min_interval_s));
    match format {
        PeerFormat::Compact => {
            let mut v4 = Vec::with_capacity(response.peers.len() * 6);
            let mut v6 = Vec::new();
            for peer in &response.peers {
                match peer.addr {
                    SocketAddr::V4(a) => {
                        v4.extend_from_slice(&a.ip().octets());
                        v4.extend_from_slice(&a.port().to_be_bytes());
                    }
                    SocketAddr::V6(a) => {
                        v6.extend_from_slice(&a.ip().octets());
                        v6.extend_from_slice(&a.port().to_be_bytes());
                    }
                }
            }
            bytes(&mut out, b"peers");
            bytes(&mut out, &v4);
            if !v6.is_empty() {
                bytes(&mut out, b"peers6");
                bytes(&mut out, &v6);
            }
        }
        PeerFormat::Dictionary { with_peer_id } => {
            bytes(&mut out, b"peers");
            out.push(b'l');
            for peer in &response.peers {
                out.push(b'd');
                bytes(&mut out, b"ip");
                bytes(&mut out, peer.addr.ip().to_string().as_bytes());
                if with_peer_id {
                    bytes(&mut out, b"peer id");
                    bytes(&mut out, &peer.id.0);
                }
                key_int(&mut out, "port", u64::from(peer.addr.port()));
                out.push(b'e');
            }
            out.push(b'e');
        }
    }
    out.push(b'e');
    out
}

/// A scrape response: `d5:filesd<20-byte hash>d8:completei..e10:downloadedi..e10:incompletei..eeee`.
pub fn scrape(entries: &[(InfoHash, ScrapeStats)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + entries.len() * 80);
    out.extend_from_slice(b"d5:filesd");
    // Entries come in info-hash order (ascending bytes), as bencode wants its keys.
    for (hash, stats) in entries {
        bytes(&mut out, &hash.0);
        out.push(b'd');
        key_int(&mut out, "complete", u64::from(stats.complete));
        key_int(&mut out, "downloaded", stats.downloaded);
        key_int(&mut out, "incomplete", u64::from(stats.incomplete));
        out.push(b'e');
    }
    out.extend_from_slice(b"ee");
    out
}

fn bytes(out: &mut Vec<u8>, value: &[u8]) {
    out.extend_from_slice(value.len().to_string().as_bytes());
    out.push(b':');
    out.extend_from_slice(value);
}

fn key_int(out: &mut Vec<u8>, key: &str, value: u64) {
    bytes(out, key.as_bytes());
    out.push(b'i');
    out.extend_from_slice(value.to_string().as_bytes());
    out.push(b'e');
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::core::{PeerAddr, PeerId};

    fn response() -> AnnounceResponse {
        AnnounceResponse {
            interval_s: 30,
            min_interval_s: 15,
            complete: 1,
            incomplete: 2,
            peers: vec![
                PeerAddr {
                    id: PeerId([b'a'; 20]),
                    addr: "10.0.0.1:6881".parse().unwrap(),
                },
                PeerAddr {
                    id: PeerId([b'b'; 20]),
                    addr: "[::1]:7000".parse().unwrap(),
                },
            ],
        }
    }

    #[test]
    fn compact_response_is_exact() {
        let got = announce(&response(), PeerFormat::Compact);
        let mut want = b"d8:completei1e10:incompletei2e8:intervali30e12:min intervali15e5:peers6:\x0a\x00\x00\x01\x1a\xe16:peers618:".to_vec();
        want.extend_from_slice(&[0; 15]);
        want.extend_from_slice(&[1, 0x1b, 0x58, b'e']);
        assert_eq!(got, want);
    }

    #[test]
    fn dictionary_response_decodes() {
        let got = announce(&response(), PeerFormat::Dictionary { with_peer_id: true });
        let value: serde_bencode::value::Value = serde_bencode::from_bytes(&got).unwrap();
        let serde_bencode::value::Value::Dict(dict) = value else {
            panic!("not a dict")
        };
        let serde_bencode::value::Value::List(peers) = &dict[&b"peers".to_vec()] else {
            panic!()
        };
        assert_eq!(peers.len(), 2);
        let plain = announce(
            &response(),
            PeerFormat::Dictionary {
                with_peer_id: false,
            },
        );
        assert!(!plain.windows(7).any(|w| w == b"peer id"));
    }

    #[test]
    fn failure_and_scrape_shapes() {
        assert_eq!(failure("no"), b"d14:failure reason2:noe");
        let stats = ScrapeStats {
            complete: 1,
            incomplete: 2,
            downloaded: 3,
        };
        let got = scrape(&[(InfoHash([b'x'; 20]), stats)]);
        let mut want = b"d5:filesd20:".to_vec();
        want.extend_from_slice(&[b'x'; 20]);
        want.extend_from_slice(b"d8:completei1e10:downloadedi3e10:incompletei2eeee");
        assert_eq!(got, want);
    }
}
