//! Seeding a release as its origin, on the host `swarm publish` ran on: the published file
//! is served in place (never copied, never deleted) with origin protection and the peer id
//! publish chose for the origin, so the fleet's bytes from the origin are told apart. The
//! engine hashes each piece before it first serves it, so a file changed since publish
//! costs failed pieces, never a bad piece sent.

use std::path::Path;

use swarm_engine::bitfield::Bitfield;
use swarm_service::wire::{parse_peer_id, PlacementState};
use tokio::sync::watch;

use super::node::NodeHandle;
use super::release::{publish, torrent, ReleaseJob, ReleaseStatus};
use crate::storage::Storage;
use crate::verify::content_path;

/// Starts seeding `path` as the release's origin; returns its node.
pub(super) async fn start(
    job: &ReleaseJob,
    path: &Path,
    status: &watch::Sender<ReleaseStatus>,
) -> Result<Option<NodeHandle>, String> {
    if !path.is_absolute() {
        return Err(format!(
            "the origin's path {} is not absolute",
            path.display()
        ));
    }
    let metainfo = torrent(job).await?;
    let root = content_path(&metainfo, path).map_err(|e| e.to_string())?;
    if !metainfo.multi_file {
        let len = std::fs::metadata(&root).map_err(|e| e.to_string())?.len();
        if len != metainfo.total_length() {
            return Err(format!(
                "bad data: {} holds {len} bytes, the release {}",
                root.display(),
                metainfo.total_length()
            ));
        }
    }
    let storage = Storage::open(&metainfo, &root, false).map_err(|e| e.to_string())?;
    let mut spec = job.node.clone();
    spec.trackers = metainfo.trackers();
    spec.origin = true;
    spec.peer_id = job
        .release
        .origin_peer_id
        .as_deref()
        .and_then(parse_peer_id);
    spec.origin_peer_id = None;
    let full = Bitfield::full(metainfo.geometry.piece_count());
    let node = NodeHandle::start(&job.host, &metainfo, storage, full, &spec)
        .await
        .map_err(|e| format!("cannot listen: {e}"))?;
    tracing::info!(release = job.release.id, path = %root.display(), port = node.local_addr().port(), "seeding as the origin");
    publish(status, &node.status(), &metainfo, PlacementState::Verified);
    Ok(Some(node))
}
