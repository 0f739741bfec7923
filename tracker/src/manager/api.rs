//! The JSON API under `/api/`:
//! - `POST /api/torrents`: multipart upload (field `file`) or JSON `{"path": ...}`;
//!   answers `201` with [`Registered`] (or `200` when the torrent was already registered);
//! - `GET /api/torrents`: every registered or tracked torrent ([`TorrentSummary`]);
//! - `GET /api/torrents/{info_hash}`: one torrent with its peers ([`TorrentDetail`]);
//! - `GET /api/torrents/{info_hash}/torrent`: the `.torrent` file;
//! - `POST`/`DELETE /api/torrents/{info_hash}/seed`: see [`super::seed::api`].

use std::sync::Arc;

use axum::extract::{FromRequest, Multipart, Path, Query, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use swarm_engine::metainfo::InfoHash;

use super::error::ApiError;
use super::registry::{Registry, TorrentRecord};
use super::view::{self, TorrentDetail, TorrentSummary};
use super::{register, upload};
use crate::state::AppState;

/// Answer to a registration.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Registered {
    /// 40 hex digits.
    pub info_hash: String,
    /// The torrent's name.
    pub name: String,
    /// Content length, bytes.
    pub size_bytes: u64,
    /// Where the content lives on the origin.
    pub path: String,
    /// Where to download the `.torrent`.
    pub torrent_url: String,
    /// What the torrent announces to.
    pub announce_url: String,
    /// It was registered before (nothing changed).
    pub existing: bool,
}

/// Options of `POST /api/torrents` given in the query string.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RegisterOptions {
    /// Name in the torrent (default: the uploaded file's or the path's file name).
    pub name: Option<String>,
    /// Piece length in bytes, a power of two (default: automatic from the size).
    pub piece_length: Option<u64>,
}

/// JSON body registering a file or directory on the origin's disk.
#[derive(Debug, Clone, Deserialize)]
pub struct RegisterPath {
    /// Absolute, or relative to the allowed directory.
    pub path: String,
}

/// Runs a registry call on the blocking pool.
pub(crate) async fn blocking<T: Send + 'static>(
    registry: &Arc<Registry>,
    call: impl FnOnce(&Registry) -> Result<T, super::registry::RegistryError> + Send + 'static,
) -> Result<T, ApiError> {
    let registry = Arc::clone(registry);
    tokio::task::spawn_blocking(move || call(&registry))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::from)
}

/// `POST /api/torrents`.
pub(crate) async fn create(
    State(state): State<Arc<AppState>>,
    Query(options): Query<RegisterOptions>,
    request: Request,
) -> Result<Response, ApiError> {
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let registered = if content_type.starts_with("multipart/form-data") {
        let size_hint = request
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok());
        let multipart = Multipart::from_request(request, &())
            .await
            .map_err(|e| ApiError::BadRequest(e.body_text()))?;
        upload::upload(&state, multipart, options, size_hint).await?
    } else if content_type.starts_with("application/json") {
        // The route's body limit is the upload's: hold JSON to the usual one.
        let bytes = axum::body::to_bytes(request.into_body(), crate::MAX_BODY_BYTES)
            .await
            .map_err(|e| ApiError::BadRequest(format!("body: {e}")))?;
        let body: RegisterPath = serde_json::from_slice(&bytes)
            .map_err(|e| ApiError::BadRequest(format!("registration: {e}")))?;
        register::register_path(&state, &body.path, options).await?
    } else {
        return Err(ApiError::UnsupportedMediaType);
    };
    let status = if registered.existing {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(registered)).into_response())
}

/// `GET /api/torrents`.
pub(crate) async fn list(
    State(state): State<Arc<AppState>>,
) -> Result<Json<Vec<TorrentSummary>>, ApiError> {
    Ok(Json(summaries(&state).await?))
}

/// Every registered torrent (registry order), then every tracked unregistered one.
pub(crate) async fn summaries(state: &Arc<AppState>) -> Result<Vec<TorrentSummary>, ApiError> {
    let records = blocking(&state.registry, Registry::list).await?;
    let guard = state.core();
    let core = &guard.core;
    let mut out: Vec<TorrentSummary> = records
        .iter()
        .map(|r| view::summary(state, r.info_hash, Some(r), core.swarm(&r.info_hash)))
        .collect();
    for (hash, swarm) in core.swarms() {
        if !records.iter().any(|r| r.info_hash == *hash) {
            out.push(view::summary(state, *hash, None, Some(swarm)));
        }
    }
    Ok(out)
}

/// `GET /api/torrents/{info_hash}`.
pub(crate) async fn show(
    State(state): State<Arc<AppState>>,
    Path(info_hash): Path<String>,
) -> Result<Json<TorrentDetail>, ApiError> {
    Ok(Json(detail(&state, &info_hash).await?))
}

/// One torrent's detail, or `UnknownTorrent`.
pub(crate) async fn detail(state: &Arc<AppState>, text: &str) -> Result<TorrentDetail, ApiError> {
    let info_hash = parse_hash(text)?;
    let record: Option<TorrentRecord> =
        blocking(&state.registry, move |r| r.get(&info_hash)).await?;
    let now_ms = state.now_ms();
    let guard = state.core();
    let swarm = guard.core.swarm(&info_hash);
    if record.is_none() && swarm.is_none() {
        return Err(ApiError::UnknownTorrent(info_hash.to_string()));
    }
    Ok(view::detail(
        state,
        info_hash,
        record.as_ref(),
        swarm,
        now_ms,
    ))
}

/// `GET /api/torrents/{info_hash}/torrent`.
pub(crate) async fn torrent_file(
    State(state): State<Arc<AppState>>,
    Path(info_hash): Path<String>,
) -> Result<Response, ApiError> {
    let info_hash = parse_hash(&info_hash)?;
    let record = blocking(&state.registry, move |r| r.get(&info_hash)).await?;
    let bytes = blocking(&state.registry, move |r| r.torrent_bytes(&info_hash)).await?;
    let (Some(record), Some(bytes)) = (record, bytes) else {
        return Err(ApiError::UnknownTorrent(info_hash.to_string()));
    };
    let file_name: String = record
        .name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let disposition = format!("attachment; filename=\"{file_name}.torrent\"");
    Ok((
        [
            (header::CONTENT_TYPE, "application/x-bittorrent".to_string()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        bytes,
    )
        .into_response())
}

pub(crate) fn parse_hash(text: &str) -> Result<InfoHash, ApiError> {
    text.to_ascii_lowercase()
        .parse()
        .map_err(|_| ApiError::BadInfoHash(text.chars().take(64).collect()))
}
