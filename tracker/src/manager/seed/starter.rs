//! The seam between the manager and whatever runs a seed: the tracker does not link the
//! peer-to-peer runtime (swarm-net); the binary injects a [`SeedStarter`] that does
//! (`swarm tracker` passes one built on `swarm_net::origin`). Without one, starting a seed
//! is refused with `501`.

use std::fmt::Debug;
use std::fs::File;
use std::future::Future;
use std::net::TcpListener;
use std::path::PathBuf;
use std::pin::Pin;

use swarm_engine::metainfo::Metainfo;
use tokio::sync::watch;

use super::{SeedPhase, SeedView};

/// One seed to run: the torrent, its files as the manager opened and checked them, and
/// the reserved port.
#[derive(Debug)]
pub struct SeedJob {
    /// The torrent.
    pub metainfo: Metainfo,
    /// One opened file per torrent file (`None` for pad files), confined to the directory
    /// the content was registered from. Check and serve these, never re-open the paths.
    pub files: Vec<Option<File>>,
    /// Their paths, for messages.
    pub paths: Vec<PathBuf>,
    /// Holds the port (on the tracker's listen address) until the seed binds it.
    pub listener: TcpListener,
    /// Where the seed announces.
    pub announce_url: String,
}

/// How a running seed reports that its check passed and it serves.
#[derive(Debug, Clone)]
pub struct SeedReport {
    status: watch::Sender<SeedView>,
}

impl SeedReport {
    pub(crate) fn new(status: watch::Sender<SeedView>) -> Self {
        SeedReport { status }
    }

    /// The check passed; peers are served now.
    pub fn seeding(&self) {
        self.status.send_modify(|v| v.state = SeedPhase::Seeding);
    }
}

/// What a seed's run completes with: `Ok` once stopped, or why it failed.
pub type SeedRun = Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;

/// Runs seeds for the manager.
pub trait SeedStarter: Send + Sync + Debug + 'static {
    /// Checks `job`'s files against the torrent, calls [`SeedReport::seeding`], and serves
    /// until `stop` turns `true`.
    fn run(&self, job: SeedJob, report: SeedReport, stop: watch::Receiver<bool>) -> SeedRun;
}
