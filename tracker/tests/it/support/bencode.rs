//! Bencode on the tests' side: announce queries, and reading what the tracker answers.

use std::collections::HashMap;
use std::net::SocketAddr;

use serde_bencode::value::Value;

use super::server::TestServer;

impl TestServer {
    /// GETs an announce/scrape URL and decodes the bencoded body.
    pub fn bencode(&self, path_and_query: &str) -> Value {
        let response = self.get(path_and_query);
        assert_eq!(
            response.status,
            200,
            "{path_and_query}: {}",
            response.text()
        );
        serde_bencode::from_bytes(&response.body).unwrap_or_else(|e| {
            panic!("{path_and_query}: not bencode ({e}): {:?}", response.text())
        })
    }
}

/// Percent-encodes every byte.
pub fn pct(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("%{b:02X}")).collect()
}

/// An announce query for `hash`, peer `id` (20 bytes made from `n`), `port`, `left`.
pub fn announce_query(hash: [u8; 20], n: u8, port: u16, left: u64, extra: &str) -> String {
    format!(
        "/announce?info_hash={}&peer_id={}&port={port}&uploaded=0&downloaded=0&left={left}{extra}",
        pct(&hash),
        pct(&peer_id(n)),
    )
}

pub fn peer_id(n: u8) -> [u8; 20] {
    let mut id = *b"-TS0001-000000000000";
    id[19] = n;
    id
}

pub fn dict(value: &Value) -> &HashMap<Vec<u8>, Value> {
    match value {
        Value::Dict(d) => d,
        other => panic!("not a dict: {other:?}"),
    }
}

pub fn get<'a>(value: &'a Value, key: &str) -> &'a Value {
    dict(value)
        .get(key.as_bytes())
        .unwrap_or_else(|| panic!("no {key:?} in {value:?}"))
}

pub fn int(value: &Value, key: &str) -> i64 {
    match get(value, key) {
        Value::Int(i) => *i,
        other => panic!("{key} not an int: {other:?}"),
    }
}

pub fn bytes<'a>(value: &'a Value, key: &str) -> &'a [u8] {
    match get(value, key) {
        Value::Bytes(b) => b,
        other => panic!("{key} not bytes: {other:?}"),
    }
}

/// The `failure reason` of a response, if any.
pub fn failure(value: &Value) -> Option<String> {
    dict(value)
        .get(&b"failure reason".to_vec())
        .map(|v| match v {
            Value::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
            other => panic!("failure reason not bytes: {other:?}"),
        })
}

/// Decodes BEP 23 compact IPv4 peers.
pub fn compact_peers(value: &Value) -> Vec<SocketAddr> {
    let raw = bytes(value, "peers");
    assert_eq!(raw.len() % 6, 0, "compact peers not a multiple of 6");
    raw.chunks(6)
        .map(|c| SocketAddr::from(([c[0], c[1], c[2], c[3]], u16::from_be_bytes([c[4], c[5]]))))
        .collect()
}
