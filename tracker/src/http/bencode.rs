//! Bencoded tracker responses: the three fixed shapes (failure, announce, scrape) as serde
//! structs written by serde_bencode, whose output is canonical (dictionary keys sorted, as
//! bencode requires).

use std::collections::BTreeMap;
use std::net::SocketAddr;

use serde::Serialize;
use serde_bytes::{ByteBuf, Bytes};

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

#[derive(Serialize)]
struct Failure<'a> {
    #[serde(rename = "failure reason")]
    reason: &'a str,
}

#[derive(Serialize)]
struct Announce<'a> {
    complete: u32,
    incomplete: u32,
    interval: u32,
    #[serde(rename = "min interval")]
    min_interval: u32,
    peers: Peers<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    peers6: Option<ByteBuf>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum Peers<'a> {
    Compact(ByteBuf),
    Dictionaries(Vec<DictPeer<'a>>),
}

#[derive(Serialize)]
struct DictPeer<'a> {
    ip: String,
    #[serde(rename = "peer id", skip_serializing_if = "Option::is_none")]
    peer_id: Option<&'a Bytes>,
    port: u16,
}

#[derive(Serialize)]
struct Scrape {
    files: BTreeMap<ByteBuf, Stats>,
}

#[derive(Serialize)]
struct Stats {
    complete: u32,
    downloaded: u64,
    incomplete: u32,
}

/// What is sent if encoding ever failed (it cannot for these shapes).
const ENCODING_FAILED: &[u8] = b"d14:failure reason22:response not encodablee";

fn encode(value: &impl Serialize) -> Vec<u8> {
    serde_bencode::to_bytes(value).unwrap_or_else(|err| {
        tracing::error!(%err, "bencoding a tracker response failed");
        ENCODING_FAILED.to_vec()
    })
}

/// `d14:failure reason<len>:<text>e`.
pub fn failure(reason: &str) -> Vec<u8> {
    encode(&Failure { reason })
}

/// An announce response.
pub fn announce(response: &AnnounceResponse, format: PeerFormat) -> Vec<u8> {
    let (peers, peers6) = match format {
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
            let v6 = (!v6.is_empty()).then(|| ByteBuf::from(v6));
            (Peers::Compact(ByteBuf::from(v4)), v6)
        }
        PeerFormat::Dictionary { with_peer_id } => {
            let list = response
                .peers
                .iter()
                .map(|peer| DictPeer {
                    ip: peer.addr.ip().to_string(),
                    peer_id: with_peer_id.then(|| Bytes::new(&peer.id.0)),
                    port: peer.addr.port(),
                })
                .collect();
            (Peers::Dictionaries(list), None)
        }
    };
    encode(&Announce {
        complete: response.complete,
        incomplete: response.incomplete,
        interval: response.interval_s,
        min_interval: response.min_interval_s,
        peers,
        peers6,
    })
}

/// A scrape response: `d5:filesd<20-byte hash>d8:completei..e10:downloadedi..e10:incompletei..eeee`.
pub fn scrape(entries: &[(InfoHash, ScrapeStats)]) -> Vec<u8> {
    let files = entries
        .iter()
        .map(|(hash, stats)| {
            let stats = Stats {
                complete: stats.complete,
                downloaded: stats.downloaded,
                incomplete: stats.incomplete,
            };
            (ByteBuf::from(hash.0.to_vec()), stats)
        })
        .collect();
    encode(&Scrape { files })
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
