//! The manager's fleet side: agents register and report, releases are published to the
//! hosts their labels target, channels keep the newest `keep` releases, and rollouts
//! record how each host fared. Everything lives in SQLite ([`store`]); agents hold one live
//! channel each ([`channel`], server-sent events of their desired state) and post reports
//! about once a second ([`api`]). The protocol's types are in [`swarm_service::wire`].
//! The fleet page ([`page`]) shows it all live.

pub mod api;
pub mod board;
pub mod channel;
pub mod page;
pub mod report;
pub mod rollout;
pub mod store;

use std::path::Path;
use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use tokio::sync::watch;

use crate::state::AppState;
pub use store::{FleetStore, StoreError};

/// Largest agent report body.
pub const MAX_REPORT_BODY_BYTES: usize = 1 << 20;
/// Largest publish body (a hex-encoded torrent: 20 GiB in 1 MiB pieces is about 0.8 MB).
pub const MAX_RELEASE_BODY_BYTES: usize = 64 << 20;

/// The fleet tables and the signal that desired states changed.
#[derive(Debug)]
pub struct Fleet {
    /// The SQLite tables.
    pub store: Arc<FleetStore>,
    /// Bumped whenever a release is published or retention changes.
    pub changed: watch::Sender<u64>,
    /// The fleet page's builder and its latest rendering.
    pub live: page::live::Live,
}

impl Fleet {
    /// Opens the fleet tables in `data_dir`.
    pub fn open(data_dir: &Path) -> Result<Self, StoreError> {
        Ok(Fleet {
            store: Arc::new(FleetStore::open(data_dir)?),
            changed: watch::channel(0).0,
            live: page::live::Live::default(),
        })
    }

    /// Tells every agent channel to look again.
    pub fn bump(&self) {
        self.changed.send_modify(|g| *g = g.wrapping_add(1));
    }
}

/// The fleet's routes.
pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/fleet", get(api::info))
        .route("/api/fleet/hosts", get(api::hosts))
        .route(
            "/api/fleet/agents/:name/report",
            post(api::report).layer(DefaultBodyLimit::max(MAX_REPORT_BODY_BYTES)),
        )
        .route("/api/fleet/agents/:name/channel", get(channel::channel))
        .route(
            "/api/fleet/releases",
            post(api::publish).layer(DefaultBodyLimit::max(MAX_RELEASE_BODY_BYTES)),
        )
        .route("/api/fleet/releases/:id/torrent", get(api::torrent))
        .route("/api/fleet/rollouts/:id", get(api::rollout))
        .route("/api/fleet/rollouts/:id/origin", post(api::origin))
        .merge(page::routes())
}

/// Milliseconds since the Unix epoch by the system clock.
pub(crate) fn unix_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
