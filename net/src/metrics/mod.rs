//! Prometheus metrics of the torrents one process runs: the `/metrics` of `swarm seed`,
//! `swarm get` (behind `--metrics ADDR`) and `swarm agent`.
//!
//! A scrape takes a [`Sample`] (every torrent's node [`Status`] as the runtime publishes
//! it, and for an agent each release's state) and renders it through a recorder of its
//! own ([`render()`]): nothing is installed globally, several servers can share a process,
//! and a torrent that stopped leaves the output with it.
//!
//! - [`render`](mod@render): a sample as Prometheus text; the metric names.
//! - [`server`]: the `/metrics` route on the capped, timed-out accept loop of
//!   [`swarm_service::http_server`].

pub mod render;
pub mod server;

use std::sync::Arc;

use swarm_engine::metainfo::Metainfo;
use tokio::sync::watch;

pub use render::{render, ReleaseSample, Sample};
pub use server::{MetricsError, MetricsServer};

use crate::host::TorrentStatus;
use crate::node::options::Status;

/// What a scrape reads: called once per request, it must be quick (no I/O).
pub type Sampler = Arc<dyn Fn() -> Sample + Send + Sync>;

/// The sampler of one torrent (`seed`, `get`): `metainfo`'s name and info-hash with the
/// node status `status` publishes.
pub fn one_torrent(metainfo: &Metainfo, status: watch::Receiver<Status>) -> Sampler {
    let (info_hash, name) = (metainfo.info_hash, metainfo.name.clone());
    Arc::new(move || Sample {
        torrents: vec![TorrentStatus {
            info_hash,
            name: name.clone(),
            status: status.borrow().clone(),
        }],
        releases: Vec::new(),
    })
}
