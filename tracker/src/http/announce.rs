//! `GET /announce`: parse the raw query, decide the peer's address, run the core, and
//! answer in the peer format the client asked for.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, Path, RawQuery, State};
use axum::response::Response;
use swarm_engine::metainfo::InfoHash;

use super::bencode::{self, PeerFormat};
use super::query::{Pairs, QueryError};
use super::{bencoded, check_key};
use crate::core::{AnnounceError, AnnounceEvent, AnnounceRequest, Counters, PeerId};
use crate::metrics::FailureKind;
use crate::state::AppState;

/// The parameters of one announce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnnounceParams {
    /// `info_hash`.
    pub info_hash: InfoHash,
    /// `peer_id`.
    pub peer_id: PeerId,
    /// `port`, 1..=65535.
    pub port: u16,
    /// `uploaded`, `downloaded` (default 0) and `left` (required).
    pub counters: Counters,
    /// `event`.
    pub event: AnnounceEvent,
    /// `numwant`, saturated to `u32`.
    pub numwant: Option<u32>,
    /// `compact` (default 1) and `no_peer_id`.
    pub format: PeerFormat,
    /// `ip`, if given and valid.
    pub ip: Option<IpAddr>,
}

impl AnnounceParams {
    /// Parses a raw query string.
    pub fn parse(query: &str) -> Result<Self, QueryError> {
        let pairs = Pairs::parse(query)?;
        let port = pairs.number("port")?.ok_or(QueryError::Missing("port"))?;
        let port = u16::try_from(port)
            .ok()
            .filter(|&p| p != 0)
            .ok_or(QueryError::BadPort)?;
        let counters = Counters {
            uploaded_bytes: pairs.number("uploaded")?.unwrap_or(0),
            downloaded_bytes: pairs.number("downloaded")?.unwrap_or(0),
            left_bytes: pairs.number("left")?.ok_or(QueryError::Missing("left"))?,
        };
        let event = match pairs.first("event").unwrap_or(b"") {
            b"" | b"empty" => AnnounceEvent::Periodic,
            b"started" => AnnounceEvent::Started,
            b"completed" => AnnounceEvent::Completed,
            b"stopped" => AnnounceEvent::Stopped,
            b"paused" => AnnounceEvent::Paused,
            other => {
                let text = String::from_utf8_lossy(other).chars().take(32).collect();
                return Err(QueryError::UnknownEvent(text));
            }
        };
        let numwant = pairs
            .number("numwant")?
            .map(|n| u32::try_from(n).unwrap_or(u32::MAX));
        let format = if pairs.first("compact") == Some(b"0") {
            PeerFormat::Dictionary {
                with_peer_id: pairs.first("no_peer_id") != Some(b"1"),
            }
        } else {
            PeerFormat::Compact
        };
        let ip = match pairs.first("ip") {
            None | Some(b"") => None,
            Some(raw) => Some(
                std::str::from_utf8(raw)
                    .ok()
                    .and_then(|text| text.parse::<IpAddr>().ok())
                    .ok_or(QueryError::BadIp)?,
            ),
        };
        Ok(AnnounceParams {
            info_hash: InfoHash(pairs.fixed20("info_hash")?),
            peer_id: PeerId(pairs.fixed20("peer_id")?),
            port,
            counters,
            event,
            numwant,
            format,
            ip,
        })
    }
}

/// `/announce`.
pub(crate) async fn plain(
    State(state): State<Arc<AppState>>,
    ConnectInfo(remote): ConnectInfo<SocketAddr>,
    RawQuery(query): RawQuery,
) -> Response {
    bencoded(handle(&state, None, remote, query.as_deref().unwrap_or("")))
}

/// `/<key>/announce`.
pub(crate) async fn keyed(
    State(state): State<Arc<AppState>>,
    Path(key): Path<String>,
    ConnectInfo(remote): ConnectInfo<SocketAddr>,
    RawQuery(query): RawQuery,
) -> Response {
    bencoded(handle(
        &state,
        Some(&key),
        remote,
        query.as_deref().unwrap_or(""),
    ))
}

/// Runs one announce and returns the bencoded body (an answer or a failure).
fn handle(state: &AppState, key: Option<&str>, remote: SocketAddr, query: &str) -> Vec<u8> {
    let fail = |kind: FailureKind, reason: String| {
        state.metrics.failure("announce", kind);
        bencode::failure(&reason)
    };
    if let Err(err) = check_key(state, key) {
        return fail(FailureKind::Key, err.to_string());
    }
    let params = match AnnounceParams::parse(query) {
        Ok(params) => params,
        Err(err) => return fail(FailureKind::BadRequest, err.to_string()),
    };
    let ip = match params.ip {
        Some(ip) if state.config.trust_ip_param => ip,
        _ => remote.ip().to_canonical(),
    };
    let request = AnnounceRequest {
        info_hash: params.info_hash,
        peer_id: params.peer_id,
        addr: SocketAddr::new(ip, params.port),
        counters: params.counters,
        event: params.event,
        numwant: params.numwant,
    };
    let now_ms = state.now_ms();
    let result = {
        let mut guard = state.core();
        let crate::state::CoreState { core, rng } = &mut *guard;
        core.announce(now_ms, &request, rng)
    };
    match result {
        Ok(outcome) => {
            state
                .metrics
                .announce(params.event, outcome.delta, outcome.expired_peers);
            bencode::announce(&outcome.response, params.format)
        }
        Err(err @ AnnounceError::UnregisteredTorrent(_)) => {
            fail(FailureKind::Unregistered, err.to_string())
        }
        Err(err) => fail(FailureKind::Full, err.to_string()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const HASH: &str = "%aa%aa%aa%aa%aa%aa%aa%aa%aa%aa%aa%aa%aa%aa%aa%aa%aa%aa%aa%aa";

    fn query(extra: &str) -> String {
        format!("info_hash={HASH}&peer_id=-SW0001-abcdefghijkl&port=6881&left=10{extra}")
    }

    #[test]
    fn parses_a_typical_announce() {
        let params = AnnounceParams::parse(&query(
            "&uploaded=5&event=started&numwant=9999999999&compact=1",
        ))
        .unwrap();
        assert_eq!(params.info_hash, InfoHash([0xaa; 20]));
        assert_eq!(&params.peer_id.0[..8], b"-SW0001-");
        assert_eq!(
            params.counters,
            Counters {
                uploaded_bytes: 5,
                downloaded_bytes: 0,
                left_bytes: 10
            }
        );
        assert_eq!(params.event, AnnounceEvent::Started);
        assert_eq!(params.numwant, Some(u32::MAX));
        assert_eq!(params.format, PeerFormat::Compact);
    }

    #[test]
    fn dictionary_model_and_ip() {
        let params = AnnounceParams::parse(&query("&compact=0&no_peer_id=1&ip=10.1.2.3")).unwrap();
        assert_eq!(
            params.format,
            PeerFormat::Dictionary {
                with_peer_id: false
            }
        );
        assert_eq!(params.ip, Some("10.1.2.3".parse().unwrap()));
    }

    #[test]
    fn rejects_bad_input() {
        let cases = [
            (query("&event=bogus"), "unknown event"),
            (query("&ip=nonsense"), "invalid ip"),
            (query("&numwant=-1"), "numwant"),
            (query("").replace("port=6881", "port=0"), "invalid port"),
            (query("").replace("port=6881", "port=70000"), "invalid port"),
            (query("").replace("port=6881", "port=x"), "port"),
            (query("").replace("&left=10", ""), "missing `left`"),
            (
                query("").replace(HASH, "abc"),
                "`info_hash` must be 20 bytes",
            ),
            (
                "peer_id=-SW0001-abcdefghijkl&port=1&left=0".to_string(),
                "missing `info_hash`",
            ),
        ];
        for (query, expected) in cases {
            let err = AnnounceParams::parse(&query).unwrap_err().to_string();
            assert!(err.contains(expected), "{query}: {err}");
        }
    }
}
