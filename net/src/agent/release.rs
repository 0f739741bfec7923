//! One release's life on an agent: fetch its torrent, check what is on disk (resuming a
//! `.part` without fetching its verified pieces again), make sure the disk can hold the
//! rest, download, give the file its final name once every piece is verified and synced,
//! then seed until told to stop. Its state is published on a watch channel for reports.
//! A release this host is the origin of is seeded in place instead ([`super::origin`]).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use swarm_engine::metainfo::Metainfo;
use swarm_service::wire::{DesiredRelease, PlacementState};
use tokio::sync::watch;

use super::client::ManagerClient;
use super::disk::{channel_dir, free_bytes, is_disk_full, release_path};
use super::node::{NodeHandle, NodeHost, NodeSpec, NodeStatus};
use super::on_complete::{self, OnComplete};
use crate::download;
use crate::hashing::HashConfig;
use crate::storage::Storage;

/// How often a running release looks at its node.
pub const POLL_INTERVAL: Duration = Duration::from_millis(250);
/// Without a peer and without progress this long, a download is failed with "no peers"
/// (it keeps trying, and recovers when peers come).
pub const NO_PEERS_TIMEOUT: Duration = Duration::from_secs(60);
/// This many pieces failing their hash check fails the download with "bad data".
pub const MAX_FAILED_PIECES: u32 = 100;
/// Pause between attempts to fetch the torrent.
pub const TORRENT_RETRY: Duration = Duration::from_secs(2);

/// A release's state as reports carry it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseStatus {
    /// Its state.
    pub state: PlacementState,
    /// Bytes of verified pieces.
    pub have_bytes: u64,
    /// Payload bytes received since the agent started.
    pub downloaded_bytes: u64,
    /// Payload bytes sent since the agent started.
    pub uploaded_bytes: u64,
    /// Open connections.
    pub peers: u32,
    /// Why it failed.
    pub reason: Option<String>,
    /// Of `downloaded_bytes`, those from the origin (`None`: the origin is not known).
    pub from_origin_bytes: Option<u64>,
}

impl ReleaseStatus {
    /// Nothing done yet.
    pub fn pending() -> Self {
        ReleaseStatus {
            state: PlacementState::Pending,
            have_bytes: 0,
            downloaded_bytes: 0,
            uploaded_bytes: 0,
            peers: 0,
            reason: None,
            from_origin_bytes: None,
        }
    }
}

/// What a release task needs.
#[derive(Debug, Clone)]
pub struct ReleaseJob {
    /// The release.
    pub release: DesiredRelease,
    /// The agent's `--dir`.
    pub dir: PathBuf,
    /// To fetch the torrent.
    pub client: ManagerClient,
    /// The agent's host: every release shares its port.
    pub host: Arc<NodeHost>,
    /// How to run the release's node.
    pub node: NodeSpec,
    /// Seed the published file at this path as the release's origin, not a download.
    pub origin_path: Option<PathBuf>,
    /// Run once a download is verified under its final name.
    pub on_complete: Option<OnComplete>,
}

/// Runs until `stop` turns true (then stops seeding) or the release fails.
pub async fn run(
    job: ReleaseJob,
    status: watch::Sender<ReleaseStatus>,
    mut stop: watch::Receiver<bool>,
) {
    status.send_replace(ReleaseStatus::pending());
    let start = async {
        match &job.origin_path {
            Some(path) => super::origin::start(&job, path, &status)
                .await
                .map(|node| node.map(|node| (node, None))),
            None => fetch_and_seed(&job, &status)
                .await
                .map(|started| started.map(|(node, metainfo)| (node, Some(metainfo)))),
        }
    };
    let outcome = tokio::select! {
        outcome = start => outcome,
        _ = stop.wait_for(|s| *s) => Ok(None),
    };
    match outcome {
        Ok(Some((node, downloaded))) => {
            let mut seed_stop = stop.clone();
            let seeding = seed(node, &status, &mut seed_stop);
            let hook = async {
                tokio::select! {
                    () = after_download(&job, downloaded, &status) => {}
                    _ = stop.wait_for(|s| *s) => {}
                }
            };
            tokio::join!(seeding, hook);
        }
        Ok(None) => {}
        Err(reason) => {
            tracing::warn!(release = job.release.id, name = %job.release.name, %reason, "release failed");
            status.send_modify(|s| {
                s.state = PlacementState::Failed;
                s.reason = Some(reason);
            });
        }
    }
}

/// Runs the `--on-complete` program for a downloaded release, if there is one; a failure
/// becomes the verified release's reason. Dropped (the program killed) when told to stop.
async fn after_download(
    job: &ReleaseJob,
    downloaded: Option<Arc<Metainfo>>,
    status: &watch::Sender<ReleaseStatus>,
) {
    let (Some(hook), Some(metainfo)) = (&job.on_complete, downloaded) else {
        return;
    };
    let copy = release_path(&job.dir, &job.release);
    if let Err(reason) = on_complete::run_once(hook, &job.release, &copy, &metainfo).await {
        status.send_modify(|s| s.reason = Some(reason));
    }
}

/// Fetches the release; returns its node, seeding, and its torrent once verified.
async fn fetch_and_seed(
    job: &ReleaseJob,
    status: &watch::Sender<ReleaseStatus>,
) -> Result<Option<(NodeHandle, Arc<Metainfo>)>, String> {
    let metainfo = Arc::new(torrent(job).await?);
    let out_dir = channel_dir(&job.dir, &job.release);
    let prepared = {
        let (metainfo, out_dir) = (Arc::clone(&metainfo), out_dir.clone());
        tokio::task::spawn_blocking(move || {
            download::prepare(&metainfo, &out_dir, HashConfig::for_this_machine(), &|_| {})
        })
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?
    };
    let total = metainfo.total_length();
    let have = have_bytes(&metainfo, prepared.verified.count_ones());
    let knows_origin = job.node.origin_peer_id.is_some();
    status.send_modify(|s| {
        s.have_bytes = have;
        s.from_origin_bytes = knows_origin.then_some(0);
    });
    let need = total.saturating_sub(have);
    if !prepared.is_complete() {
        if let Some(free) = free_bytes(&out_dir) {
            if free < need {
                return Err(format!(
                    "disk full: {need} bytes to fetch, {free} free in {}",
                    out_dir.display()
                ));
            }
        }
    }
    let storage = Storage::open(&metainfo, &prepared.content_path, true)
        .map_err(|e| classify(&e.to_string()))?;
    let mut spec = job.node.clone();
    spec.trackers = metainfo.trackers();
    let node = NodeHandle::start(
        &job.host,
        &metainfo,
        storage,
        prepared.verified.clone(),
        &spec,
    )
    .await
    .map_err(|e| format!("cannot listen: {e}"))?;
    tracing::info!(release = job.release.id, name = %metainfo.name, port = node.local_addr().port(), "release started");
    watch_download(&node, &metainfo, status).await?;
    let (sync_meta, sync_path) = (Arc::clone(&metainfo), prepared.content_path.clone());
    tokio::task::spawn_blocking(move || -> Result<(), String> {
        let storage = Storage::open(&sync_meta, &sync_path, false).map_err(|e| e.to_string())?;
        storage.sync().map_err(|e| e.to_string())?;
        download::finish(&prepared).map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| e.to_string())??;
    tracing::info!(release = job.release.id, name = %metainfo.name, "release verified");
    publish(status, &node.status(), &metainfo, PlacementState::Verified);
    Ok(Some((node, metainfo)))
}

/// Seeds a verified release, keeping its counters fresh, until told to stop or its
/// storage fails. It wakes only when the node's status changes (at most every 100 ms
/// while it uploads, never while nobody asks), so a held release costs no CPU.
pub(super) async fn seed(
    mut node: NodeHandle,
    status: &watch::Sender<ReleaseStatus>,
    stop: &mut watch::Receiver<bool>,
) {
    loop {
        let running = tokio::select! {
            _ = stop.wait_for(|s| *s) => break,
            running = node.changed() => running,
        };
        let s = node.status();
        status.send_modify(|r| {
            r.downloaded_bytes = s.downloaded_bytes;
            r.uploaded_bytes = s.uploaded_bytes;
            r.peers = s.peers;
            if r.from_origin_bytes.is_some() {
                r.from_origin_bytes = Some(s.from_origin_bytes);
            }
        });
        if let Some(error) = s.storage_error {
            status.send_modify(|r| {
                r.state = PlacementState::Failed;
                r.reason = Some(classify(&error));
            });
            break;
        }
        if !running {
            break;
        }
    }
    node.stop().await;
}

/// Fetches and checks the release's torrent, retrying while the manager is away.
pub(super) async fn torrent(job: &ReleaseJob) -> Result<Metainfo, String> {
    let path = format!("/api/fleet/releases/{}/torrent", job.release.id);
    let bytes = loop {
        match job.client.get_bytes(&path).await {
            Ok(bytes) => break bytes,
            Err(error) => {
                tracing::warn!(%error, "fetching the torrent; retrying");
                tokio::time::sleep(TORRENT_RETRY).await;
            }
        }
    };
    let metainfo = Metainfo::from_bytes(&bytes).map_err(|e| format!("bad torrent: {e}"))?;
    if metainfo.info_hash.to_string() != job.release.info_hash || metainfo.name != job.release.name
    {
        return Err("bad data: the torrent does not match the release".into());
    }
    Ok(metainfo)
}

/// Follows the download until every piece is verified.
async fn watch_download(
    node: &NodeHandle,
    metainfo: &Metainfo,
    status: &watch::Sender<ReleaseStatus>,
) -> Result<(), String> {
    let mut last_progress = (Instant::now(), 0u64);
    loop {
        let s = node.status();
        publish(status, &s, metainfo, PlacementState::Downloading);
        if let Some(error) = &s.storage_error {
            return Err(classify(error));
        }
        if s.complete {
            return Ok(());
        }
        if s.failed_pieces >= MAX_FAILED_PIECES {
            return Err(format!(
                "bad data: {} pieces failed their hash check",
                s.failed_pieces
            ));
        }
        if s.downloaded_bytes != last_progress.1 || s.peers > 0 {
            last_progress = (Instant::now(), s.downloaded_bytes);
        }
        let stalled = last_progress.0.elapsed() >= NO_PEERS_TIMEOUT;
        status.send_modify(|r| {
            if stalled {
                r.state = PlacementState::Failed;
                r.reason = Some(format!("no peers for {} s", NO_PEERS_TIMEOUT.as_secs()));
            } else {
                r.reason = None;
            }
        });
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// Copies a node's counters into the release's status, in `state`: `Verified` only once
/// the file is synced and has its final name (a complete node is still `Downloading`
/// until then: reports must not call a `.part` verified).
pub(super) fn publish(
    status: &watch::Sender<ReleaseStatus>,
    s: &NodeStatus,
    metainfo: &Metainfo,
    state: PlacementState,
) {
    status.send_modify(|r| {
        r.state = state;
        r.have_bytes = have_bytes(metainfo, s.verified_pieces);
        r.downloaded_bytes = s.downloaded_bytes;
        r.uploaded_bytes = s.uploaded_bytes;
        r.peers = s.peers;
        if r.from_origin_bytes.is_some() {
            r.from_origin_bytes = Some(s.from_origin_bytes);
        }
    });
}

/// Bytes in `pieces` verified pieces (the last piece may be short).
fn have_bytes(metainfo: &Metainfo, pieces: u32) -> u64 {
    (u64::from(pieces) * u64::from(metainfo.geometry.piece_length())).min(metainfo.total_length())
}

/// A failure's reason, with "disk full" named when it is one.
fn classify(error: &str) -> String {
    if is_disk_full(error) {
        format!("disk full: {error}")
    } else {
        error.to_string()
    }
}
