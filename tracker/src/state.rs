//! State shared by every request handler of one server.

use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::config::TrackerConfig;
use crate::core::TrackerCore;
use crate::manager::registry::Registry;
use crate::manager::seed::Seeds;
use crate::metrics::Metrics;

/// The core with the RNG its selections draw from.
#[derive(Debug)]
pub(crate) struct CoreState {
    pub core: TrackerCore,
    pub rng: ChaCha8Rng,
}

/// One server's state.
#[derive(Debug)]
pub(crate) struct AppState {
    pub config: TrackerConfig,
    /// `http://host:port`, no trailing slash.
    pub public_url: String,
    /// What generated torrents announce to.
    pub announce_url: String,
    pub core: Mutex<CoreState>,
    pub registry: std::sync::Arc<Registry>,
    /// Hosts, releases, placements and rollouts.
    pub fleet: crate::fleet::Fleet,
    pub metrics: Metrics,
    /// The origin's seeds started from the manager.
    pub seeds: Seeds,
    /// Uploaded files end up in `files/<info_hash>/<name>`.
    pub files_dir: PathBuf,
    /// Uploads in progress (`*.part`).
    pub uploads_dir: PathBuf,
    /// Turns `true` when the server shuts down: live event streams end then, or graceful
    /// shutdown would wait for browsers forever.
    pub closing: tokio::sync::watch::Sender<bool>,
    /// The live event stream's snapshots of the current period.
    pub live: tokio::sync::Mutex<crate::manager::events::Shared>,
    clock: Instant,
}

impl AppState {
    pub fn new(
        config: TrackerConfig,
        public_url: String,
        core: TrackerCore,
        registry: Registry,
        seeds: Seeds,
        fleet: crate::fleet::Fleet,
    ) -> Self {
        let announce_url = match config.announce_keys.first() {
            Some(key) => format!("{public_url}/{key}/announce"),
            None => format!("{public_url}/announce"),
        };
        AppState {
            files_dir: config.data_dir.join("files"),
            uploads_dir: config.data_dir.join("uploads"),
            config,
            public_url,
            announce_url,
            core: Mutex::new(CoreState {
                core,
                rng: ChaCha8Rng::from_entropy(),
            }),
            registry: std::sync::Arc::new(registry),
            fleet,
            metrics: Metrics::new(),
            seeds,
            closing: tokio::sync::watch::channel(false).0,
            live: tokio::sync::Mutex::default(),
            clock: Instant::now(),
        }
    }

    /// Milliseconds since the server started: the core's clock.
    pub fn now_ms(&self) -> u64 {
        u64::try_from(self.clock.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// The core, locked (a panic elsewhere does not poison it for good).
    pub fn core(&self) -> MutexGuard<'_, CoreState> {
        self.core
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// URL of a registered torrent's `.torrent` file.
    pub fn torrent_url(&self, info_hash: &swarm_engine::metainfo::InfoHash) -> String {
        format!("{}/api/torrents/{info_hash}/torrent", self.public_url)
    }
}
