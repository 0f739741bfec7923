//! The JSON API under `/api/`:
//! - `POST /api/torrents`: multipart upload (field `file`) or JSON `{"path": ...}`;
//!   answers `201` with [`Registered`] (or `200` when the torrent was already registered);
//! - `GET /api/torrents`: every registered or tracked torrent ([`TorrentSummary`]);
//! - `GET /api/torrents/{info_hash}?offset=&limit=`: one torrent with one page of its
//!   peers and their total ([`TorrentDetail`]);
//! - `GET /api/torrents/{info_hash}/torrent`: the `.torrent` file;
//! - `POST`/`DELETE /api/torrents/{info_hash}/seed`: see [`super::seed::api`].

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{FromRequest, Multipart, Path, Query, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use swarm_engine::metainfo::InfoHash;

use crate::core::PeerId;

use super::error::ApiError;
use super::registry::{Registry, TorrentRecord};
use super::view::{self, PeerPage, SwarmFigures, TorrentDetail, TorrentSummary, Viewer};
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
    headers: HeaderMap,
) -> Result<Json<Vec<TorrentSummary>>, ApiError> {
    Ok(Json(
        summaries_for(
            &state,
            Viewer::from_headers(&headers, state.config.token.as_ref()),
        )
        .await?,
    ))
}

/// Every registered torrent (registry order), without paths, then up to [`MAX_LISTED_UNREGISTERED`]
/// tracked unregistered ones. The core lock is held only to copy a few figures per swarm.
pub(crate) async fn summaries(state: &Arc<AppState>) -> Result<Vec<TorrentSummary>, ApiError> {
    summaries_for(state, Viewer::default()).await
}

/// [`summaries`] as `viewer` may see them.
pub(crate) async fn summaries_for(
    state: &Arc<AppState>,
    viewer: Viewer,
) -> Result<Vec<TorrentSummary>, ApiError> {
    let records = blocking(&state.registry, Registry::list).await?;
    let (registered, unregistered) = {
        let guard = state.core();
        let core = &guard.core;
        let registered: Vec<Option<SwarmFigures>> = records
            .iter()
            .map(|r| core.swarm(&r.info_hash).map(SwarmFigures::of))
            .collect();
        let unregistered: Vec<(InfoHash, SwarmFigures)> = core
            .swarms()
            .filter(|(hash, _)| !core.is_registered(hash))
            .take(MAX_LISTED_UNREGISTERED)
            .map(|(hash, swarm)| (*hash, SwarmFigures::of(swarm)))
            .collect();
        (registered, unregistered)
    };
    let mut out: Vec<TorrentSummary> = records
        .iter()
        .zip(registered)
        .map(|(r, figures)| view::summary(state, r.info_hash, Some(r), figures, viewer))
        .collect();
    for (hash, figures) in unregistered {
        out.push(view::summary(state, hash, None, Some(figures), viewer));
    }
    Ok(out)
}

/// Most unregistered torrents in a listing (there may be up to the core's
/// `max_unregistered_swarms`, 100 000 by default).
pub const MAX_LISTED_UNREGISTERED: usize = 200;
/// Peers in one page of a torrent's detail when `limit` is not given.
pub const DEFAULT_PEERS_PER_PAGE: usize = 100;
/// Most peers in one page of a torrent's detail, whatever `limit` says.
pub const MAX_PEERS_PER_PAGE: usize = 1_000;

/// Query of `GET /api/torrents/{info_hash}`: which page of peers.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
pub struct PeerPageQuery {
    /// Peers to skip (in the detail's order).
    pub offset: Option<usize>,
    /// Peers in the page (default [`DEFAULT_PEERS_PER_PAGE`], at most
    /// [`MAX_PEERS_PER_PAGE`]).
    pub limit: Option<usize>,
}

/// `GET /api/torrents/{info_hash}?offset=&limit=`.
pub(crate) async fn show(
    State(state): State<Arc<AppState>>,
    Path(info_hash): Path<String>,
    Query(page): Query<PeerPageQuery>,
    headers: HeaderMap,
) -> Result<Json<TorrentDetail>, ApiError> {
    let viewer = Viewer::from_headers(&headers, state.config.token.as_ref());
    Ok(Json(detail(&state, &info_hash, page, viewer).await?))
}

/// One torrent's detail with one page of peers, or `UnknownTorrent`. Peers are ordered
/// initial seeds first, then by address: the sort keys are copied out of the core lock
/// (tens of bytes a peer), sorted outside it, and only the page's peers are copied back
/// in a second short lock; JSON is built by the caller, outside both.
pub(crate) async fn detail(
    state: &Arc<AppState>,
    text: &str,
    query: PeerPageQuery,
    viewer: Viewer,
) -> Result<TorrentDetail, ApiError> {
    let info_hash = parse_hash(text)?;
    let record: Option<TorrentRecord> =
        blocking(&state.registry, move |r| r.get(&info_hash)).await?;
    let now_ms = state.now_ms();
    let Some(mut keys) = peer_keys(state, &info_hash) else {
        return match record {
            Some(record) => Ok(view::detail(
                state,
                info_hash,
                Some(&record),
                PeerPage::default(),
                now_ms,
                viewer,
            )),
            None => Err(ApiError::UnknownTorrent(info_hash.to_string())),
        };
    };
    let limit = query
        .limit
        .unwrap_or(DEFAULT_PEERS_PER_PAGE)
        .min(MAX_PEERS_PER_PAGE);
    let offset = query.offset.unwrap_or(0).min(keys.len());
    let end = offset.saturating_add(limit).min(keys.len());
    if end < keys.len() {
        keys.select_nth_unstable(end);
    }
    keys.truncate(end);
    keys.sort_unstable();
    let ids: Vec<PeerId> = keys[offset..].iter().map(|k| k.2).collect();
    let page = {
        let guard = state.core();
        let swarm = guard.core.swarm(&info_hash);
        PeerPage {
            figures: swarm.map(SwarmFigures::of),
            peer_count: swarm.map_or(0, |s| s.len()),
            offset,
            peers: ids
                .iter()
                .filter_map(|id| swarm.and_then(|s| s.get(id)).cloned())
                .collect(),
        }
    };
    Ok(view::detail(
        state,
        info_hash,
        record.as_ref(),
        page,
        now_ms,
        viewer,
    ))
}

/// Sort keys of every peer (not initial seed, address, id), copied under the lock.
fn peer_keys(state: &AppState, info_hash: &InfoHash) -> Option<Vec<(bool, SocketAddr, PeerId)>> {
    let guard = state.core();
    let swarm = guard.core.swarm(info_hash)?;
    Some(
        swarm
            .peers()
            .map(|p| (!p.initial_seed, p.addr, p.id))
            .collect(),
    )
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
