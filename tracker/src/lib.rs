//! # swarm-tracker: the tracker and the manager
//!
//! - [`core`]: the sans-IO tracker core — swarms keyed by info-hash, announce and scrape
//!   logic, peer selection, per-peer stats. No sockets, no clocks (`now_ms` is passed in),
//!   no OS randomness (the RNG is passed in), ordered maps only: the simulator hosts it as
//!   it is.
//! - [`http`]: the HTTP tracker on axum (BEP 3 announce, BEP 23 compact peers, BEP 48
//!   scrape), answering refusals with a bencoded `failure reason`.
//! - [`manager`]: the web page, JSON API, live events and SQLite registry, and the origin's
//!   in-process seeds started from it.
//! - [`fleet`]: agents, releases, placements and rollouts (SQLite), the agents' live
//!   channel, the publish API and the live fleet page at `/fleet`.
//! - [`auth`]: the fleet token every state-changing call needs.
//! - [`metrics`]: Prometheus text at `/metrics`.
//!
//! Entry points: [`run`] (what `swarm tracker` calls), [`serve`] on a bound listener, and
//! [`TrackerServer`] for a [`Router`] to embed or test.

pub mod auth;
pub mod config;
pub use swarm_tracker_core as core;
pub mod error;
pub mod fleet;
pub mod guard;
pub mod http;
pub mod manager;
pub mod metrics;
mod public_url;
mod state;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Weak};
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{middleware, Router};
use tokio::net::TcpListener;

pub use config::TrackerConfig;
pub use error::TrackerError;

use crate::core::TrackerCore;
use crate::manager::registry::Registry;
use crate::manager::seed::Seeds;
pub use crate::manager::seed::{SeedJob, SeedReport, SeedRun, SeedStarter};
use crate::state::AppState;

/// Largest request body of every route but uploads (JSON calls are a few hundred bytes).
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Body limit on the fleet routes: a publish carries its torrent, hex-encoded (a 20 GB image
/// in 8 MiB pieces is about 100 KiB of hex; this allows some 200 000 pieces).
pub const MAX_PUBLISH_BODY_BYTES: usize = 8 << 20;

/// A configured tracker and manager, ready to be served.
#[derive(Debug, Clone)]
pub struct TrackerServer {
    state: Arc<AppState>,
}

impl TrackerServer {
    /// Creates the data directory, opens the registry and loads the registered torrents
    /// into the core. `local_addr` (the bound address) gives the default public URL.
    /// `seeder` runs the origin's seeds started from the manager (none: seeding answers
    /// `501`).
    pub fn open(
        config: TrackerConfig,
        local_addr: SocketAddr,
        seeder: Option<Arc<dyn SeedStarter>>,
    ) -> Result<Self, TrackerError> {
        config.validate()?;
        std::fs::create_dir_all(&config.data_dir).map_err(TrackerError::io(format!(
            "creating data directory {}",
            config.data_dir.display()
        )))?;
        let registry = Registry::open(&config.data_dir)?;
        let mut core = TrackerCore::new(config.core_config());
        for record in registry.list()? {
            core.register(record.info_hash);
        }
        let fleet = fleet::Fleet::open(&config.data_dir)?;
        for hash in fleet.store.info_hashes()? {
            if let Ok(info_hash) = hash.parse() {
                core.register(info_hash);
            }
        }
        let public_url = match &config.public_url {
            Some(url) => url.trim_end_matches('/').to_string(),
            None => public_url::derive(local_addr),
        };
        let state = AppState::new(
            config,
            public_url,
            core,
            registry,
            Seeds::new(seeder),
            fleet,
        );
        Ok(TrackerServer {
            state: Arc::new(state),
        })
    }

    /// Every route: tracker, manager, API and metrics. Serve it with
    /// `into_make_service_with_connect_info::<SocketAddr>()` (or [`swarm_service::http_server`]'s loop, which
    /// adds the same `ConnectInfo`): announces need the peer's address.
    pub fn router(&self) -> Router {
        let guard = middleware::from_fn_with_state(Arc::clone(&self.state), guard::browser_guard);
        Router::new()
            .merge(http::routes())
            .merge(manager::routes(self.state.config.max_upload_bytes))
            .merge(fleet::routes().layer(DefaultBodyLimit::max(MAX_PUBLISH_BODY_BYTES)))
            .route("/login", get(auth::login_page))
            .route("/api/session", axum::routing::post(auth::session))
            .route("/metrics", get(metrics_text))
            .layer(axum::middleware::from_fn_with_state(
                Arc::clone(&self.state),
                auth::require_token,
            ))
            .layer(guard)
            .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
            .with_state(Arc::clone(&self.state))
    }

    /// Base URL used in generated torrents and links.
    pub fn public_url(&self) -> &str {
        &self.state.public_url
    }

    /// What generated torrents announce to.
    pub fn announce_url(&self) -> &str {
        &self.state.announce_url
    }

    /// Starts the sweep that drops silent peers (every quarter of the peer timeout). It
    /// stops by itself once the server is dropped.
    pub fn spawn_sweeper(&self) -> tokio::task::JoinHandle<()> {
        let weak: Weak<AppState> = Arc::downgrade(&self.state);
        let timeout_ms = self.state.config.core_config().peer_timeout_ms;
        let period = Duration::from_millis((timeout_ms / 4).max(250));
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(period);
            ticker.tick().await;
            loop {
                ticker.tick().await;
                let Some(state) = weak.upgrade() else { return };
                let now_ms = state.now_ms();
                let dropped = state.core().core.purge(now_ms);
                if dropped > 0 {
                    state.metrics.expired(dropped);
                    tracing::debug!(dropped, "dropped silent peers");
                }
            }
        })
    }
}

async fn metrics_text(State(state): State<Arc<AppState>>) -> impl IntoResponse {
    let (registry, releases) = (Arc::clone(&state.registry), Arc::clone(&state.fleet.store));
    let (registered, names) =
        tokio::task::spawn_blocking(move || torrent_names(&registry, &releases))
            .await
            .unwrap_or_default();
    let (counts, torrents) = {
        let core = &state.core().core;
        (core.counts(), metrics::registered_torrents(core, &names))
    };
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(counts, registered, &torrents),
    )
}

/// How many torrents the manager's registry holds, and the names of those and of the
/// fleet's releases (a registry name wins); what cannot be read is left out.
fn torrent_names(
    registry: &Registry,
    releases: &fleet::FleetStore,
) -> (
    usize,
    std::collections::BTreeMap<swarm_engine::metainfo::InfoHash, String>,
) {
    let mut names = std::collections::BTreeMap::new();
    for (hash, name) in releases.release_names().unwrap_or_default() {
        if let Ok(info_hash) = hash.parse() {
            names.insert(info_hash, name);
        }
    }
    let records = registry.list().unwrap_or_default();
    let registered = records.len();
    names.extend(records.into_iter().map(|r| (r.info_hash, r.name)));
    (registered, names)
}

/// Serves on `listener` until `shutdown` completes, without seeding.
pub async fn serve_with_shutdown(
    listener: TcpListener,
    config: TrackerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), TrackerError> {
    serve_with_seeder(listener, config, None, shutdown).await
}

/// Serves on `listener` until `shutdown` completes; `seeder` runs the manager's seeds.
pub async fn serve_with_seeder(
    listener: TcpListener,
    config: TrackerConfig,
    seeder: Option<Arc<dyn SeedStarter>>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), TrackerError> {
    let local_addr = listener
        .local_addr()
        .map_err(TrackerError::io("reading the listen address"))?;
    let server = TrackerServer::open(config, local_addr, seeder)?;
    let sweeper = server.spawn_sweeper();
    let page_builder = fleet::page::live::spawn(Arc::downgrade(&server.state));
    // Seeds wished in the registry restart; their checks run while we already serve.
    tokio::spawn(manager::seed::api::resume(Arc::clone(&server.state)));
    tracing::info!(%local_addr, announce_url = server.announce_url(), "tracker listening");
    let app = server.router();
    let limits = server.state.config.connections;
    let state = Arc::clone(&server.state);
    let shutdown = async move {
        shutdown.await;
        // Seeds announce `stopped` while the tracker still answers.
        state.seeds.stop_all().await;
        // End the live event streams, or graceful shutdown waits for them forever.
        state.closing.send_replace(true);
    };
    swarm_service::http_server::serve(listener, app, limits, shutdown).await;
    sweeper.abort();
    page_builder.abort();
    Ok(())
}

/// Serves on `listener` until the process ends.
pub async fn serve(listener: TcpListener, config: TrackerConfig) -> Result<(), TrackerError> {
    serve_with_shutdown(listener, config, std::future::pending()).await
}

/// Binds `config.listen` and serves until `shutdown` completes: the entry point of
/// `swarm tracker` (which passes Ctrl-C or SIGTERM).
pub async fn run(
    config: TrackerConfig,
    seeder: Option<Arc<dyn SeedStarter>>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), TrackerError> {
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(TrackerError::io(format!("binding {}", config.listen)))?;
    serve_with_seeder(listener, config, seeder, shutdown).await
}
