//! The manager's seeds, run by swarm-net: the tracker crate does not link the peer-to-peer
//! runtime, so `swarm tracker` injects this [`SeedStarter`]. The root crate's seeding tests
//! compile this same file (`tests/cli/tracker_rig.rs`): it uses nothing but the two crates.

use swarm_net::origin::{serve_origin, OriginJob};
use swarm_tracker::{SeedJob, SeedReport, SeedRun, SeedStarter};
use tokio::sync::watch;

/// Serves the manager's seeds with [`serve_origin`].
#[derive(Debug, Clone, Copy, Default)]
pub struct NetSeeder;

impl SeedStarter for NetSeeder {
    fn run(&self, job: SeedJob, report: SeedReport, stop: watch::Receiver<bool>) -> SeedRun {
        let job = OriginJob {
            metainfo: job.metainfo,
            files: job.files,
            paths: job.paths,
            listener: job.listener,
            announce_url: job.announce_url,
        };
        Box::pin(async move {
            serve_origin(job, move || report.seeding(), stop)
                .await
                .map_err(|e| e.to_string())
        })
    }
}
