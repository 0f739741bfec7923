//! JSON views of torrents and peers, shared by the API and the live event stream.
//!
//! A view joins a registry record (name, size, path; absent for torrents tracked without
//! registration) with the core's swarm (peers, counters). "Origin" means the swarm's
//! initial seeds: peers whose first announce said `left=0`.

use std::net::SocketAddr;

use serde::Serialize;
use swarm_engine::metainfo::InfoHash;

use super::registry::TorrentRecord;
use super::seed::SeedView;
use crate::core::{Peer, Swarm};
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
    /// Content path on the origin, if registered.
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

/// One torrent with its peers.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TorrentDetail {
    /// The summary fields.
    #[serde(flatten)]
    pub summary: TorrentSummary,
    /// Its peers: initial seeds first, then by address.
    pub peers: Vec<PeerView>,
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

/// Builds a summary from what the registry and the core know.
pub(crate) fn summary(
    state: &AppState,
    info_hash: InfoHash,
    record: Option<&TorrentRecord>,
    swarm: Option<&Swarm>,
) -> TorrentSummary {
    let totals = swarm.map(Swarm::totals).unwrap_or_default();
    let size = record.map(|r| r.size_bytes);
    TorrentSummary {
        info_hash,
        registered: record.is_some(),
        name: record.map(|r| r.name.clone()),
        size_bytes: size,
        piece_length_bytes: record.map(|r| r.piece_length_bytes),
        path: record.map(|r| r.path.to_string_lossy().into_owned()),
        created_s: record.map(|r| r.created_s),
        torrent_url: record.map(|_| state.torrent_url(&info_hash)),
        seeds: swarm.map_or(0, |s| s.seeds().len()),
        leechers: swarm.map_or(0, |s| s.leechers().len()),
        completed: totals.completed,
        uploaded_bytes: totals.uploaded_bytes,
        downloaded_bytes: totals.downloaded_bytes,
        origin_uploaded_bytes: totals.initial_seed_uploaded_bytes,
        origin_upload_copies: copies(totals.initial_seed_uploaded_bytes, size),
        seeding: record.map(|_| state.seeds.view(&info_hash)),
    }
}

/// Builds a detail view.
pub(crate) fn detail(
    state: &AppState,
    info_hash: InfoHash,
    record: Option<&TorrentRecord>,
    swarm: Option<&Swarm>,
    now_ms: u64,
) -> TorrentDetail {
    let size = record.map(|r| r.size_bytes);
    let mut peers: Vec<PeerView> = swarm
        .into_iter()
        .flat_map(Swarm::peers)
        .map(|peer| peer_view(peer, size, now_ms))
        .collect();
    peers.sort_by(|a, b| {
        b.initial_seed
            .cmp(&a.initial_seed)
            .then(a.addr.cmp(&b.addr))
    });
    TorrentDetail {
        summary: summary(state, info_hash, record, swarm),
        peers,
    }
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
