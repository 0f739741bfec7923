//! JSON views of torrents and peers, shared by the API and the live event stream.
//!
//! A view joins a registry record (name, size, path; absent for torrents tracked without
//! registration) with the core's swarm (peers, counters). "Origin" means the swarm's
//! initial seeds: peers whose first announce said `left=0`.

use std::net::SocketAddr;

use serde::Serialize;
use swarm_engine::metainfo::InfoHash;
use swarm_service::token::Token;

use super::registry::TorrentRecord;
use super::seed::SeedView;
use crate::auth::holds_token;
use crate::core::{Peer, Swarm, SwarmTotals};
use crate::state::AppState;

/// One torrent in the list.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TorrentSummary {
    /// 40 hex digits.
    pub info_hash: InfoHash,
    /// Registered with the manager (else only tracked because clients announce it).
    pub registered: bool,
    /// Name, if registered.
    pub name: Option<String>,
    /// Content length, if registered.
    pub size_bytes: Option<u64>,
    /// Piece length, if registered.
    pub piece_length_bytes: Option<u64>,
    /// Content path on the origin, if registered and the caller may see it
    /// ([`Viewer::paths`]).
    pub path: Option<String>,
    /// Registration time, if registered.
    pub created_s: Option<i64>,
    /// Where to download the `.torrent`, if registered.
    pub torrent_url: Option<String>,
    /// Seeds now.
    pub seeds: usize,
    /// Leechers now.
    pub leechers: usize,
    /// Completed downloads counted.
    pub completed: u64,
    /// Upload reported by all peers, bytes.
    pub uploaded_bytes: u64,
    /// Download reported by all peers, bytes.
    pub downloaded_bytes: u64,
    /// Upload reported by initial seeds (the origin), bytes.
    pub origin_uploaded_bytes: u64,
    /// The origin's upload in copies of the file, if the size is known.
    pub origin_upload_copies: Option<f64>,
    /// The in-process origin seed, if registered: `{state, port, error}`.
    pub seeding: Option<SeedView>,
}

/// One torrent with one page of its peers.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TorrentDetail {
    /// The summary fields.
    #[serde(flatten)]
    pub summary: TorrentSummary,
    /// Peers in the swarm (all pages).
    pub peer_count: usize,
    /// Position of `peers[0]` among them.
    pub peers_offset: usize,
    /// This page of its peers: initial seeds first, then by address.
    pub peers: Vec<PeerView>,
}

/// What a summary needs from a swarm, copied out of the core lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SwarmFigures {
    /// Seeds now.
    pub seeds: usize,
    /// Leechers now.
    pub leechers: usize,
    /// Totals over the swarm's life.
    pub totals: SwarmTotals,
}

impl SwarmFigures {
    /// The figures of `swarm` (constant time).
    pub fn of(swarm: &Swarm) -> Self {
        SwarmFigures {
            seeds: swarm.seeds().len(),
            leechers: swarm.leechers().len(),
            totals: swarm.totals(),
        }
    }
}

/// One peer.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PeerView {
    /// Peer id, printable bytes kept and others as `%XX`.
    pub peer_id: String,
    /// Peer id in hex.
    pub peer_id_hex: String,
    /// Address other peers reach it at.
    pub addr: SocketAddr,
    /// Holds everything now.
    pub seed: bool,
    /// Held everything at its first announce (an origin).
    pub initial_seed: bool,
    /// Reported upload, bytes.
    pub uploaded_bytes: u64,
    /// Reported download, bytes.
    pub downloaded_bytes: u64,
    /// Reported bytes left.
    pub left_bytes: u64,
    /// Fraction held, 0..=1, when the size is known (or it is a seed).
    pub progress: Option<f64>,
    /// Upload rate between its last two announces.
    pub upload_bps: u64,
    /// Download rate between its last two announces.
    pub download_bps: u64,
    /// Its upload in copies of the file, if the size is known.
    pub uploaded_copies: Option<f64>,
    /// Seconds since its first announce.
    pub first_seen_s_ago: f64,
    /// Seconds since its latest announce.
    pub last_seen_s_ago: f64,
    /// Announces received.
    pub announces: u32,
}

/// What the caller of a listing may see and do (issue 15 item 8: listings gave every
/// absolute path to anyone).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Viewer {
    /// Content paths on the origin: only a caller holding the fleet token sees them (so
    /// with no `--token-file`, nobody does).
    pub paths: bool,
    /// State-changing calls will be accepted: the tracker has no token, or the caller
    /// holds it (bearer header or the browser's cookie).
    pub operator: bool,
}

impl Viewer {
    /// Who sent `headers`, given the tracker's fleet token (if it has one).
    pub fn from_headers(headers: &axum::http::HeaderMap, token: Option<&Token>) -> Self {
        match token {
            None => Viewer {
                paths: false,
                operator: true,
            },
            Some(token) => {
                let holds = holds_token(headers, token);
                Viewer {
                    paths: holds,
                    operator: holds,
                }
            }
        }
    }
}

/// Builds a summary from what the registry and the core know.
pub(crate) fn summary(
    state: &AppState,
    info_hash: InfoHash,
    record: Option<&TorrentRecord>,
    swarm: Option<SwarmFigures>,
    viewer: Viewer,
) -> TorrentSummary {
    let totals = swarm.map(|s| s.totals).unwrap_or_default();
    let size = record.map(|r| r.size_bytes);
    TorrentSummary {
        info_hash,
        registered: record.is_some(),
        name: record.map(|r| r.name.clone()),
        size_bytes: size,
        piece_length_bytes: record.map(|r| r.piece_length_bytes),
        path: record
            .filter(|_| viewer.paths)
            .map(|r| r.path.to_string_lossy().into_owned()),
        created_s: record.map(|r| r.created_s),
        torrent_url: record.map(|_| state.torrent_url(&info_hash)),
        seeds: swarm.map_or(0, |s| s.seeds),
        leechers: swarm.map_or(0, |s| s.leechers),
        completed: totals.completed,
        uploaded_bytes: totals.uploaded_bytes,
        downloaded_bytes: totals.downloaded_bytes,
        origin_uploaded_bytes: totals.initial_seed_uploaded_bytes,
        origin_upload_copies: copies(totals.initial_seed_uploaded_bytes, size),
        seeding: record.map(|_| state.seeds.view(&info_hash)),
    }
}

/// Builds a detail view from the page of peers copied out of the core.
pub(crate) fn detail(
    state: &AppState,
    info_hash: InfoHash,
    record: Option<&TorrentRecord>,
    page: PeerPage,
    now_ms: u64,
    viewer: Viewer,
) -> TorrentDetail {
    let size = record.map(|r| r.size_bytes);
    TorrentDetail {
        summary: summary(state, info_hash, record, page.figures, viewer),
        peer_count: page.peer_count,
        peers_offset: page.offset,
        peers: page
            .peers
            .iter()
            .map(|peer| peer_view(peer, size, now_ms))
            .collect(),
    }
}

/// One page of a swarm's peers, as copied out of the core.
#[derive(Debug, Clone, Default)]
pub(crate) struct PeerPage {
    pub figures: Option<SwarmFigures>,
    pub peer_count: usize,
    pub offset: usize,
    pub peers: Vec<Peer>,
}

fn peer_view(peer: &Peer, size: Option<u64>, now_ms: u64) -> PeerView {
    let left = peer.counters.left_bytes;
    let progress = match size {
        _ if left == 0 => Some(1.0),
        Some(size) if size > 0 => Some(1.0 - left.min(size) as f64 / size as f64),
        _ => None,
    };
    let seconds_ago = |at_ms: u64| now_ms.saturating_sub(at_ms) as f64 / 1000.0;
    PeerView {
        peer_id: peer.id.display_lossy(),
        peer_id_hex: hex::encode(peer.id.0),
        addr: peer.addr,
        seed: peer.is_seed(),
        initial_seed: peer.initial_seed,
        uploaded_bytes: peer.counters.uploaded_bytes,
        downloaded_bytes: peer.counters.downloaded_bytes,
        left_bytes: left,
        progress,
        upload_bps: peer.upload_bps,
        download_bps: peer.download_bps,
        uploaded_copies: copies(peer.counters.uploaded_bytes, size),
        first_seen_s_ago: seconds_ago(peer.first_seen_ms),
        last_seen_s_ago: seconds_ago(peer.last_seen_ms),
        announces: peer.announces,
    }
}

fn copies(bytes: u64, size: Option<u64>) -> Option<f64> {
    size.filter(|&s| s > 0).map(|s| bytes as f64 / s as f64)
}
