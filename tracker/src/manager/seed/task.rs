//! One seed's life on tokio: check the data on a blocking thread, then run a
//! [`swarm_net::runner`] node in origin mode until told to stop or until it fails, and
//! publish each phase on a watch channel.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::Duration;

use swarm_engine::bitfield::Bitfield;
use swarm_engine::metainfo::Metainfo;
use swarm_net::hashing::HashConfig;
use swarm_net::runner::{self, NodeOptions};
use swarm_net::storage::Storage;
use swarm_net::verify::verify_with;
use tokio::sync::watch;

use super::error::SeedFailure;
use super::{SeedPhase, SeedView};

/// How long a stopping node may take to announce `stopped` and close.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(20);

/// What a seed task needs.
pub(crate) struct SeedJob {
    pub metainfo: Metainfo,
    pub path: PathBuf,
    /// Holds the port while the data is checked; dropped just before the node binds it.
    pub reserved: TcpListener,
    pub announce_url: String,
}

/// Runs the seed and publishes its end: `stopped`, or `failed` with the error.
pub(crate) async fn run(
    job: SeedJob,
    status: watch::Sender<SeedView>,
    stop: watch::Receiver<bool>,
) {
    let hash = job.metainfo.info_hash;
    match serve(job, &status, stop).await {
        Ok(()) => {
            tracing::info!(info_hash = %hash, "origin seed stopped");
            status.send_modify(|v| {
                v.state = SeedPhase::Stopped;
                v.error = None;
            });
        }
        Err(error) => {
            tracing::warn!(info_hash = %hash, %error, "origin seed failed");
            status.send_modify(|v| {
                v.state = SeedPhase::Failed;
                v.error = Some(error.to_string());
            });
        }
    }
}

async fn serve(
    job: SeedJob,
    status: &watch::Sender<SeedView>,
    mut stop: watch::Receiver<bool>,
) -> Result<(), SeedFailure> {
    let SeedJob {
        metainfo,
        path,
        reserved,
        announce_url,
    } = job;
    let listen = reserved
        .local_addr()
        .map_err(|source| SeedFailure::Listen { port: 0, source })?;
    let port = listen.port();
    let root = {
        let (metainfo, path) = (metainfo.clone(), path.clone());
        tokio::task::spawn_blocking(move || check(&metainfo, &path))
            .await
            .map_err(|e| SeedFailure::Task(e.to_string()))??
    };
    if *stop.borrow() {
        return Ok(());
    }
    let storage = Storage::open(&metainfo, &root, false)?;
    let mut options = NodeOptions::new(listen);
    options.config.origin_mode = true;
    options.trackers = vec![announce_url];
    drop(reserved);
    let verified = Bitfield::full(metainfo.geometry.piece_count());
    let running = runner::start(&metainfo, storage, verified, options)
        .await
        .map_err(|source| SeedFailure::Listen { port, source })?;
    tracing::info!(info_hash = %metainfo.info_hash, port, "origin seeding");
    status.send_modify(|v| v.state = SeedPhase::Seeding);
    let mut node = running.status();
    loop {
        tokio::select! {
            () = stopped(&mut stop) => {
                running.stop();
                let _ = tokio::time::timeout(STOP_TIMEOUT, running.wait()).await;
                return Ok(());
            }
            changed = node.changed() => {
                let error = node.borrow().storage_error.clone();
                if changed.is_err() || error.is_some() {
                    running.stop();
                    let last = tokio::time::timeout(STOP_TIMEOUT, running.wait()).await;
                    let reason = error
                        .or_else(|| last.ok().and_then(|s| s.storage_error))
                        .unwrap_or_else(|| "the node ended by itself".into());
                    return Err(SeedFailure::Ended(reason));
                }
            }
        }
    }
}

/// Completes once stop is asked (or nobody can ask any more).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stop| *stop).await;
}

/// Hashes the copy at `path` (blocking); only a complete copy may be served. Returns where
/// the content is.
fn check(metainfo: &Metainfo, path: &Path) -> Result<PathBuf, SeedFailure> {
    let report =
        verify_with(metainfo, path, HashConfig::for_this_machine(), &|_| {}).map_err(|source| {
            SeedFailure::Verify {
                path: path.to_path_buf(),
                source,
            }
        })?;
    if report.complete {
        return Ok(report.content_path);
    }
    let problems: Vec<String> = report
        .file_problems
        .iter()
        .map(|p| format!("{} ({:?})", p.path, p.problem))
        .collect();
    Err(SeedFailure::Incomplete {
        path: report.content_path,
        good: report.good_pieces,
        count: report.piece_count,
        bad: report.bad_pieces.len(),
        missing: report.missing_pieces.len(),
        problems: if problems.is_empty() {
            String::new()
        } else {
            format!("; files: {}", problems.join(", "))
        },
    })
}
