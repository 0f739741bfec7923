//! Why seeding could not start (answered to the request) and why a seed failed later (shown
//! as its `error`).

use std::path::PathBuf;

use swarm_engine::metainfo::InfoHash;
use swarm_net::storage::StorageError;
use swarm_net::verify::VerifyError;

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
}

/// Why a started seed ended in state `failed`.
#[derive(Debug, thiserror::Error)]
pub enum SeedFailure {
    /// The data could not be checked at all (absent, unreadable).
    #[error("cannot check the data at {path}: {source}", path = path.display())]
    Verify {
        /// The registered path.
        path: PathBuf,
        /// What went wrong.
        source: VerifyError,
    },
    /// The data is there but differs from the torrent.
    #[error(
        "the data at {path} is not a complete copy: {good} of {count} pieces good, {bad} bad, \
         {missing} missing{problems}",
        path = path.display()
    )]
    Incomplete {
        /// What was checked.
        path: PathBuf,
        /// Pieces with the right hash.
        good: u32,
        /// Pieces in the torrent.
        count: u32,
        /// Pieces with a wrong hash.
        bad: usize,
        /// Pieces with absent bytes.
        missing: usize,
        /// `; files: a (missing), ...` or empty.
        problems: String,
    },
    /// The files could not be opened for reading.
    #[error("cannot open the data: {0}")]
    Storage(#[from] StorageError),
    /// The port could not be bound after the check.
    #[error("cannot listen on port {port}: {source}")]
    Listen {
        /// The port.
        port: u16,
        /// The OS error.
        source: std::io::Error,
    },
    /// The node stopped by itself (e.g. a read error).
    #[error("the seeder stopped: {0}")]
    Ended(String),
    /// The checking thread panicked or was cancelled.
    #[error("the data check did not finish: {0}")]
    Task(String),
}
