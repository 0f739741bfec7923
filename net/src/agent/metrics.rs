//! The agent's `/metrics` (`--metrics ADDR`, or `metrics` in the config file): every
//! torrent its host runs, read live from the runtime's status watches, and every release
//! it holds or was asked to delete with its state, as the daemon last published it (once
//! per report tick, so at most [`REPORT_INTERVAL`](super::daemon::REPORT_INTERVAL) old).

use std::net::SocketAddr;
use std::sync::Arc;

use swarm_service::wire::{DesiredRelease, PlacementState};
use tokio::sync::watch;

use super::node::NodeHost;
use crate::metrics::{MetricsError, MetricsServer, ReleaseSample, Sample, Sampler};

/// Serves `/metrics` on `addr` for `host`'s torrents and the releases `releases` carries.
pub async fn start(
    addr: SocketAddr,
    host: Arc<NodeHost>,
    releases: watch::Receiver<Vec<ReleaseSample>>,
) -> Result<MetricsServer, MetricsError> {
    let sampler: Sampler = Arc::new(move || Sample {
        torrents: host.torrents(),
        releases: releases.borrow().clone(),
    });
    MetricsServer::start(addr, sampler).await
}

/// How `/metrics` shows `release` in `state`, having received `from_origin_bytes` from
/// the origin (`None`: the origin is not known).
pub fn release_sample(
    release: &DesiredRelease,
    state: PlacementState,
    from_origin_bytes: Option<u64>,
) -> ReleaseSample {
    ReleaseSample {
        id: release.id,
        channel: release.channel.clone(),
        name: release.name.clone(),
        info_hash: release.info_hash.clone(),
        state,
        from_origin_bytes,
    }
}
