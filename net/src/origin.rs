//! An origin seed over files someone else opened and checked (the manager opens a
//! registered torrent's files once, confined to their directory, and hands them over):
//! every piece is hashed from those very files, then a node in origin mode serves them
//! until told to stop or until it fails.

use std::fs::File;
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use swarm_engine::bitfield::Bitfield;
use swarm_engine::metainfo::Metainfo;
use tokio::sync::watch;

use crate::runner::{self, NodeOptions};
use crate::storage::Storage;

/// How long a stopping node may take to announce `stopped` and close.
pub const ORIGIN_STOP_TIMEOUT: Duration = Duration::from_secs(20);

/// What an origin seed needs.
#[derive(Debug)]
pub struct OriginJob {
    /// The torrent.
    pub metainfo: Metainfo,
    /// One opened file per torrent file (`None` for pad files).
    pub files: Vec<Option<File>>,
    /// Their paths, for messages.
    pub paths: Vec<PathBuf>,
    /// The reserved port; dropped just before the node binds the same address.
    pub listener: TcpListener,
    /// Where the node announces.
    pub announce_url: String,
}

/// Why an origin seed ended.
#[derive(Debug, thiserror::Error)]
pub enum OriginError {
    /// A file's length differs from the torrent's.
    #[error("the data is not a complete copy: {path} is {found} bytes, the torrent says {expected}", path = path.display())]
    WrongLength {
        /// The file.
        path: PathBuf,
        /// Its length.
        found: u64,
        /// The torrent's.
        expected: u64,
    },
    /// Some pieces do not match their hashes.
    #[error("the data is not a complete copy: {good} of {count} pieces good")]
    Incomplete {
        /// Pieces with the right hash.
        good: u32,
        /// Pieces in the torrent.
        count: u32,
    },
    /// Reading failed.
    #[error("cannot read the data: {0}")]
    Read(std::io::Error),
    /// The port could not be bound after the check.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address.
        addr: String,
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

/// Checks then serves `job` until `stop` turns true (`Ok`) or it fails; `on_seeding` is
/// called once the check passed and the node listens.
pub async fn serve_origin(
    job: OriginJob,
    on_seeding: impl FnOnce() + Send,
    mut stop: watch::Receiver<bool>,
) -> Result<(), OriginError> {
    let OriginJob {
        metainfo,
        files,
        paths,
        listener,
        announce_url,
    } = job;
    let listen = listener
        .local_addr()
        .map_err(|source| OriginError::Listen {
            addr: "the reserved port".into(),
            source,
        })?;
    check_lengths(&metainfo, &files, &paths)?;
    let storage = Storage::from_open_files(&metainfo, files, paths);
    let (storage, checked) = {
        let metainfo = metainfo.clone();
        tokio::task::spawn_blocking(move || {
            let checked = check_pieces(&metainfo, &storage);
            (storage, checked)
        })
        .await
        .map_err(|e| OriginError::Task(e.to_string()))?
    };
    checked?;
    if *stop.borrow() {
        return Ok(());
    }
    let mut options = NodeOptions::new(listen);
    options.config.origin_mode = true;
    options.verified_hashed = true; // check_pieces just hashed them all
    options.trackers = vec![announce_url];
    drop(listener);
    let verified = Bitfield::full(metainfo.geometry.piece_count());
    let running = runner::start(&metainfo, storage, verified, options)
        .await
        .map_err(|source| OriginError::Listen {
            addr: listen.to_string(),
            source,
        })?;
    tracing::info!(info_hash = %metainfo.info_hash, %listen, "origin seeding");
    on_seeding();
    let mut node = running.status();
    loop {
        tokio::select! {
            () = stopped(&mut stop) => {
                running.stop();
                let _ = tokio::time::timeout(ORIGIN_STOP_TIMEOUT, running.wait()).await;
                return Ok(());
            }
            changed = node.changed() => {
                let error = node.borrow().storage_error.clone();
                if changed.is_err() || error.is_some() {
                    running.stop();
                    let last = tokio::time::timeout(ORIGIN_STOP_TIMEOUT, running.wait()).await;
                    let reason = error
                        .or_else(|| last.ok().and_then(|s| s.storage_error))
                        .unwrap_or_else(|| "the node ended by itself".into());
                    return Err(OriginError::Ended(reason));
                }
            }
        }
    }
}

/// Completes once stop is asked (or nobody can ask any more).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stop| *stop).await;
}

fn check_lengths(
    metainfo: &Metainfo,
    files: &[Option<File>],
    paths: &[PathBuf],
) -> Result<(), OriginError> {
    for ((entry, file), path) in metainfo.files.iter().zip(files).zip(paths) {
        let Some(file) = file else { continue };
        let found = file.metadata().map_err(OriginError::Read)?.len();
        if found != entry.length {
            return Err(OriginError::WrongLength {
                path: path.clone(),
                found,
                expected: entry.length,
            });
        }
    }
    Ok(())
}

/// Hashes every piece from the open files, one thread per core.
fn check_pieces(metainfo: &Metainfo, storage: &Storage) -> Result<(), OriginError> {
    let count = metainfo.geometry.piece_count();
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let workers = workers.clamp(1, count.max(1) as usize);
    let next = AtomicU32::new(0);
    let good = AtomicU32::new(0);
    let failures: Vec<std::io::Error> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| -> Result<(), std::io::Error> {
                    loop {
                        let index = next.fetch_add(1, Ordering::Relaxed);
                        let Some(piece) = metainfo.geometry.piece(index) else {
                            return Ok(());
                        };
                        let digest = storage.hash_piece(piece)?;
                        if metainfo.piece_hashes.get(index as usize) == Some(&digest) {
                            good.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .filter_map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(std::io::Error::other("panicked")))
                    .err()
            })
            .collect()
    });
    if let Some(error) = failures.into_iter().next() {
        return Err(OriginError::Read(error));
    }
    let good = good.into_inner();
    if good == count {
        Ok(())
    } else {
        Err(OriginError::Incomplete { good, count })
    }
}
