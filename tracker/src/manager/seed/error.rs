//! Why seeding could not start (answered to the request).

use swarm_engine::metainfo::InfoHash;

/// Why `POST /api/torrents/{info_hash}/seed` was refused.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    /// The torrent is already being checked or seeded.
    #[error("torrent {info_hash} is already {state} on port {port}")]
    AlreadyRunning {
        /// The torrent.
        info_hash: InfoHash,
        /// `checking` or `seeding`.
        state: &'static str,
        /// Its port.
        port: u16,
    },
    /// The port could not be bound.
    #[error("cannot listen on port {port}: {source}")]
    Port {
        /// The port asked for (0: any).
        port: u16,
        /// The OS error.
        source: std::io::Error,
    },
    /// The stored `.torrent` does not parse (registry edited by hand?).
    #[error("the stored torrent {info_hash} is unreadable: {reason}")]
    BadTorrent {
        /// The torrent.
        info_hash: InfoHash,
        /// The parser's complaint.
        reason: String,
    },
    /// This process was started without a seed runtime.
    #[error("this tracker cannot seed: it was started without a seeding runtime")]
    Unavailable,
}
