//! What the commands read of a running node, in one place: [`Snapshot`] is taken from the
//! runtime's status type here and nowhere else, so a change of that type is adapted in this
//! file only.

use swarm_net::runner::{Running, Status};

/// A node's figures at one moment.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Snapshot {
    /// Pieces in the torrent.
    pub piece_count: u32,
    /// Pieces verified so far.
    pub verified_pieces: u32,
    /// Payload bytes sent so far.
    pub uploaded_bytes: u64,
    /// Payload bytes received so far.
    pub downloaded_bytes: u64,
    /// Open peer connections.
    pub peers: usize,
    /// Every piece verified.
    pub complete: bool,
    /// Pieces that failed their hash check so far.
    pub failed_pieces: u32,
    /// Peers banned for corrupt data so far.
    pub banned_peers: u32,
    /// Writing failed and the node stopped.
    pub storage_error: Option<String>,
}

impl From<&Status> for Snapshot {
    fn from(s: &Status) -> Self {
        Snapshot {
            piece_count: s.piece_count,
            verified_pieces: s.verified_pieces,
            uploaded_bytes: s.uploaded_bytes,
            downloaded_bytes: s.downloaded_bytes,
            peers: s.connections,
            complete: s.complete,
            failed_pieces: s.failed_pieces,
            banned_peers: s.banned_peers,
            storage_error: s.storage_error.clone(),
        }
    }
}

/// A live view of a running node's figures.
#[derive(Debug)]
pub struct Watch {
    receiver: tokio::sync::watch::Receiver<Status>,
}

impl Watch {
    /// Watches `running`.
    pub fn of(running: &Running) -> Self {
        Watch {
            receiver: running.status(),
        }
    }

    /// The figures now.
    pub fn now(&mut self) -> Snapshot {
        Snapshot::from(&*self.receiver.borrow_and_update())
    }

    /// Completes when the figures change; `false` once the node is gone.
    pub async fn changed(&mut self) -> bool {
        self.receiver.changed().await.is_ok()
    }
}

/// A running node's figures now.
pub fn now(running: &Running) -> Snapshot {
    Snapshot::from(&*running.status().borrow())
}

/// The figures a node ended with.
pub async fn wait(running: Running) -> Snapshot {
    Snapshot::from(&running.wait().await)
}

/// Bytes of verified data: `verified_pieces` whole pieces, at most `total_bytes`.
pub fn verified_bytes(s: &Snapshot, piece_length: u64, total_bytes: u64) -> u64 {
    (u64::from(s.verified_pieces) * piece_length).min(total_bytes)
}

/// Least time between two log lines about the peer count.
const PEER_LOG_PERIOD: std::time::Duration = std::time::Duration::from_secs(5);

/// Logs the number of connected peers when it changed, at most every [`PEER_LOG_PERIOD`]
/// (and at once when the first peer connects or the last one leaves).
#[derive(Debug, Default)]
pub struct PeerLog {
    logged: Option<(std::time::Instant, usize)>,
}

impl PeerLog {
    /// Logs `s.peers` if it is news.
    pub fn log(&mut self, s: &Snapshot) {
        let due = match self.logged {
            None => s.peers > 0,
            Some((_, peers)) if peers == s.peers => false,
            Some((_, peers)) if (peers == 0) != (s.peers == 0) => true,
            Some((at, _)) => at.elapsed() >= PEER_LOG_PERIOD,
        };
        if due {
            tracing::info!(peers = s.peers, "connected peers");
            self.logged = Some((std::time::Instant::now(), s.peers));
        }
    }
}
