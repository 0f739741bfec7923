//! How to run one torrent ([`NodeOptions`]) and what it has done so far ([`Status`]).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use swarm_engine::node::config::NodeConfig;

/// How to run one node.
#[derive(Debug, Clone)]
pub struct NodeOptions {
    /// Where to listen (port 0: any free port). Only [`start`](crate::runner::start) uses
    /// it; a torrent added to a [`Host`](crate::host::Host) shares the host's port.
    pub listen: SocketAddr,
    /// Peers to dial at start, with or without a tracker.
    pub peers: Vec<SocketAddr>,
    /// Announce URLs, tried in order.
    pub trackers: Vec<String>,
    /// Engine settings.
    pub config: NodeConfig,
    /// Stop once every piece is verified.
    pub exit_when_done: bool,
    /// Disk and hashing threads.
    pub disk_threads: usize,
    /// Seed of the node's RNG.
    pub rng_seed: u64,
    /// The origin's peer id: what it sends is counted in [`Status::from_origin_bytes`].
    pub origin_peer_id: Option<[u8; 20]>,
    /// Every piece of `verified` was hashed in this run by the caller (a full check at
    /// start): the node serves them without hashing each again first. Leave it false for
    /// pieces taken from a resume record.
    pub verified_hashed: bool,
}

/// Pieces a node hashes ahead of their first request when it serves a copy it did not hash
/// in this run (resumed from a record): two per disk lane of a 2-core machine. Loopback,
/// 2 GiB: see the engine's `check_ahead_pieces`.
const CHECK_AHEAD_PIECES: usize = 4;

impl NodeOptions {
    /// Defaults: listen on `listen`, a random peer id, no peers, no tracker.
    pub fn new(listen: SocketAddr) -> Self {
        let seed = random_seed();
        NodeOptions {
            listen,
            peers: Vec::new(),
            trackers: Vec::new(),
            config: NodeConfig {
                check_ahead_pieces: CHECK_AHEAD_PIECES,
                ..NodeConfig::new(peer_id(seed))
            },
            exit_when_done: false,
            disk_threads: std::thread::available_parallelism().map_or(2, |n| n.get().max(2)),
            rng_seed: seed,
            origin_peer_id: None,
            verified_hashed: false,
        }
    }
}

/// A fresh seed from the clock and the process id (not for cryptography).
pub fn random_seed() -> u64 {
    use sha1::{Digest, Sha1};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let mut h = Sha1::new();
    h.update(nanos.to_le_bytes());
    h.update(std::process::id().to_le_bytes());
    h.update(COUNTER.fetch_add(1, Ordering::Relaxed).to_le_bytes());
    let d = h.finalize();
    u64::from_le_bytes([d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]])
}

/// Our peer id: the engine's client prefix and 12 digits made from `seed`.
pub fn peer_id(seed: u64) -> [u8; 20] {
    use sha1::{Digest, Sha1};
    let digest = Sha1::digest(seed.to_le_bytes());
    let mut digits = [0u8; 12];
    for (slot, byte) in digits.iter_mut().zip(digest.iter()) {
        *slot = b'0' + byte % 10; // printable, as many clients expect
    }
    swarm_engine::bep3::PeerId::ours(digits).0
}

/// What a node has done so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Status {
    /// Pieces in the torrent.
    pub piece_count: u32,
    /// Verified pieces.
    pub verified_pieces: u32,
    /// Payload bytes sent.
    pub uploaded_bytes: u64,
    /// Payload bytes received.
    pub downloaded_bytes: u64,
    /// Of those, from the origin (see [`NodeOptions::origin_peer_id`]).
    pub from_origin_bytes: u64,
    /// Open connections.
    pub connections: usize,
    /// Every piece verified.
    pub complete: bool,
    /// Time from start to completion, if it completed while running.
    pub completed_after: Option<Duration>,
    /// Pieces that failed their hash check.
    pub failed_pieces: u32,
    /// Peers banned for corrupt data.
    pub banned_peers: u32,
    /// Writing failed: the node stopped.
    pub storage_error: Option<String>,
}
