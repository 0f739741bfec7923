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
/// `max_upload_bytes` limits the upload route's body (multipart framing included); every
/// other route keeps the router's `MAX_BODY_BYTES`.
pub(crate) fn routes(max_upload_bytes: u64) -> Router<Arc<AppState>> {
    let upload_limit = usize::try_from(max_upload_bytes).unwrap_or(usize::MAX);
    Router::new()
        .route("/", get(page::index))
        .route("/assets/app.js", get(page::script))
        .route("/assets/style.css", get(page::style))
        .route(
            "/api/torrents",
            get(api::list)
                .post(api::create)
                // Uploads are multi-gigabyte and streamed to disk.
                .layer(DefaultBodyLimit::max(upload_limit)),
        )
        .route("/api/torrents/:info_hash", get(api::show))
        .route("/api/torrents/:info_hash/torrent", get(api::torrent_file))
        .route(
            "/api/torrents/:info_hash/seed",
            post(seed::api::start).delete(seed::api::stop),
        )
        .route("/api/events", get(events::events))
}
