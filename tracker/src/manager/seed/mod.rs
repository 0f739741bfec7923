//! The origin seeding registered torrents in-process, started and stopped from the manager.
//!
//! Each seed opens its registered files (confined to the directory they were registered
//! from) and hands them to the injected [`SeedStarter`], which hashes them (`checking`),
//! then serves them in origin mode announcing to this tracker (`seeding`), until `DELETE`
//! stops it gracefully (`stopped`, after announcing `stopped`) or it fails (`failed`, with
//! the error). States live in memory; what should be seeding is
//! also kept in the registry (`seed_on_start`) so seeds resume when the tracker restarts.
//!
//! - [`api`]: `POST`/`DELETE /api/torrents/{info_hash}/seed`.
//! - [`starter`]: the trait the binary implements with the peer-to-peer runtime.
//! - [`task`]: one seed's life.
//! - [`error`]: why starting was refused.

pub mod api;
pub mod error;
pub mod starter;
pub mod task;

use std::collections::BTreeMap;
use std::net::{IpAddr, TcpListener};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde::Serialize;
use swarm_engine::metainfo::InfoHash;
use tokio::sync::watch;

pub use error::SeedError;
pub use starter::{SeedJob, SeedReport, SeedRun, SeedStarter};
use task::{ContentAt, SeedTask, STOP_TIMEOUT};

/// Where a seed is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SeedPhase {
    /// Hashing the data before serving it.
    Checking,
    /// Serving peers.
    Seeding,
    /// Not running.
    Stopped,
    /// Ended with an error.
    Failed,
}

impl SeedPhase {
    /// The JSON name.
    pub fn as_str(self) -> &'static str {
        match self {
            SeedPhase::Checking => "checking",
            SeedPhase::Seeding => "seeding",
            SeedPhase::Stopped => "stopped",
            SeedPhase::Failed => "failed",
        }
    }

    /// Checking or seeding.
    pub fn is_running(self) -> bool {
        matches!(self, SeedPhase::Checking | SeedPhase::Seeding)
    }
}

/// A seed as the API shows it (`seeding` of a registered torrent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SeedView {
    /// Its phase.
    pub state: SeedPhase,
    /// The port it listens (or will listen) on.
    pub port: Option<u16>,
    /// Why it failed.
    pub error: Option<String>,
}

impl SeedView {
    /// Never started.
    pub fn stopped() -> Self {
        SeedView {
            state: SeedPhase::Stopped,
            port: None,
            error: None,
        }
    }
}

/// One started seed.
#[derive(Debug)]
struct SeedHandle {
    status: watch::Receiver<SeedView>,
    stop: watch::Sender<bool>,
}

impl SeedHandle {
    /// Its state; one told to stop while still checking is already shown stopped.
    fn view(&self) -> SeedView {
        let mut view = self.status.borrow().clone();
        if view.state == SeedPhase::Checking && *self.stop.borrow() {
            view.state = SeedPhase::Stopped;
        }
        view
    }
}

/// Every seed started since the tracker started, by info-hash.
#[derive(Debug, Default)]
pub(crate) struct Seeds {
    map: Mutex<BTreeMap<InfoHash, SeedHandle>>,
    starter: Option<Arc<dyn SeedStarter>>,
}

impl Seeds {
    /// Seeds run by `starter` (none: seeding is refused).
    pub fn new(starter: Option<Arc<dyn SeedStarter>>) -> Self {
        Seeds {
            map: Mutex::default(),
            starter,
        }
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<InfoHash, SeedHandle>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The torrent's seed now (`stopped` if never started).
    pub fn view(&self, info_hash: &InfoHash) -> SeedView {
        self.lock()
            .get(info_hash)
            .map_or_else(SeedView::stopped, SeedHandle::view)
    }

    /// Reserves the port (0: any free one) on `ip` (the tracker's listen address: a tracker
    /// told to listen on 127.0.0.1 seeds there too) and starts checking then seeding.
    /// Needs a tokio runtime.
    pub fn start(
        &self,
        metainfo: swarm_engine::metainfo::Metainfo,
        content: ContentAt,
        (ip, port): (IpAddr, u16),
        announce_url: String,
    ) -> Result<SeedView, SeedError> {
        let starter = self.starter.clone().ok_or(SeedError::Unavailable)?;
        let info_hash = metainfo.info_hash;
        let mut map = self.lock();
        if let Some(handle) = map.get(&info_hash) {
            let view = handle.view();
            if view.state.is_running() {
                return Err(SeedError::AlreadyRunning {
                    info_hash,
                    state: view.state.as_str(),
                    port: view.port.unwrap_or(0),
                });
            }
        }
        let refused = |source| SeedError::Port { port, source };
        let reserved = TcpListener::bind((ip, port)).map_err(refused)?;
        let bound = reserved.local_addr().map_err(refused)?.port();
        let view = SeedView {
            state: SeedPhase::Checking,
            port: Some(bound),
            error: None,
        };
        let (status_tx, status_rx) = watch::channel(view.clone());
        let (stop_tx, stop_rx) = watch::channel(false);
        let job = SeedTask {
            metainfo,
            content,
            listener: reserved,
            announce_url,
        };
        tokio::spawn(task::run(starter, job, status_tx, stop_rx));
        map.insert(
            info_hash,
            SeedHandle {
                status: status_rx,
                stop: stop_tx,
            },
        );
        tracing::info!(%info_hash, port = bound, "origin seed checking");
        Ok(view)
    }

    /// Stops the torrent's seed and waits (bounded) until it has ended. A seed still
    /// checking its data ends when the check does; it answers `stopped` at once.
    pub async fn stop(&self, info_hash: &InfoHash) -> SeedView {
        let status = {
            let map = self.lock();
            let Some(handle) = map.get(info_hash) else {
                return SeedView::stopped();
            };
            handle.stop.send_replace(true);
            handle.status.clone()
        };
        wait_ended(status).await
    }

    /// Stops every seed (server shutdown), waiting for all of them together.
    pub async fn stop_all(&self) {
        let statuses: Vec<_> = self
            .lock()
            .values()
            .map(|h| {
                h.stop.send_replace(true);
                h.status.clone()
            })
            .collect();
        futures_util::future::join_all(statuses.into_iter().map(wait_ended)).await;
    }
}

/// Waits until the seed is no longer seeding; a seed still checking is reported stopped.
async fn wait_ended(mut status: watch::Receiver<SeedView>) -> SeedView {
    let ended = async {
        let _ = status.wait_for(|v| v.state != SeedPhase::Seeding).await;
    };
    let _ = tokio::time::timeout(STOP_TIMEOUT + Duration::from_secs(1), ended).await;
    let mut view = status.borrow().clone();
    if view.state == SeedPhase::Checking {
        view.state = SeedPhase::Stopped;
    }
    view
}
