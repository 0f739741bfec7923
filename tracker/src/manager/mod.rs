//! The manager, served by the tracker process: a live web page at `/`, a JSON API under
//! `/api/`, server-sent events at `/api/events`, and the registry behind them.
//!
//! The origin can seed a registered torrent in-process, started and stopped from the page
//! or the API ([`seed`]).

pub mod api;
pub mod build;
pub mod confine;
pub mod error;
pub mod events;
pub mod page;
pub mod register;
pub mod registry;
pub mod seed;
pub mod upload;
pub mod view;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;

use crate::state::AppState;

/// The manager's routes.
pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/", get(page::index))
        .route("/assets/app.js", get(page::script))
        .route("/assets/style.css", get(page::style))
        .route(
            "/api/torrents",
            get(api::list)
                .post(api::create)
                // Uploads are multi-gigabyte and streamed to disk: no body limit.
                .layer(DefaultBodyLimit::disable()),
        )
        .route("/api/torrents/:info_hash", get(api::show))
        .route("/api/torrents/:info_hash/torrent", get(api::torrent_file))
        .route(
            "/api/torrents/:info_hash/seed",
            post(seed::api::start).delete(seed::api::stop),
        )
        .route("/api/events", get(events::events))
}
