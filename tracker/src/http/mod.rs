//! The HTTP tracker: `/announce` (BEP 3, compact peers BEP 23 by default, IPv6 peers in
//! `peers6` as BEP 7 says) and `/scrape` (BEP 48).
//!
//! When announce keys are configured, the routes are `/<key>/announce` and `/<key>/scrape`
//! (the key is a path segment *before* `announce`, so clients still derive the scrape URL
//! by replacing the last segment, and the BEP 3 `key` parameter keeps its own meaning).
//! Refusals are HTTP 200 with a bencoded `failure reason`, as clients expect.

pub mod announce;
pub mod bencode;
pub mod query;
pub mod scrape;

use std::sync::Arc;

use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::state::AppState;

/// The tracker's routes.
pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/announce", get(announce::plain))
        .route("/:key/announce", get(announce::keyed))
        .route("/scrape", get(scrape::plain))
        .route("/:key/scrape", get(scrape::keyed))
}

/// Why a request's announce key is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// Keys are configured and the request came without one.
    #[error("this tracker requires an announce key: use the URL in the .torrent")]
    Required,
    /// The key is not one of the configured ones (or none are configured).
    #[error("unknown announce key")]
    Unknown,
}

/// Checks the key from the path against the configuration.
pub(crate) fn check_key(state: &AppState, key: Option<&str>) -> Result<(), KeyError> {
    let keys = &state.config.announce_keys;
    match key {
        None if keys.is_empty() => Ok(()),
        None => Err(KeyError::Required),
        Some(key) if keys.iter().any(|k| k == key) => Ok(()),
        Some(_) => Err(KeyError::Unknown),
    }
}

/// A bencoded body with status 200.
pub(crate) fn bencoded(body: Vec<u8>) -> Response {
    ([(header::CONTENT_TYPE, bencode::CONTENT_TYPE)], body).into_response()
}
