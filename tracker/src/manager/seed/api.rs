//! The seeding endpoints:
//! - `POST /api/torrents/{info_hash}/seed`, optional JSON body `{"port": N}` (default: any
//!   free port): starts checking then seeding; answers `202` with the [`SeedView`]
//!   (`409` if already running or the port is taken);
//! - `DELETE /api/torrents/{info_hash}/seed`: stops it gracefully, answers the final view.
//!
//! Both record the wish in the registry (`seed_on_start`), and `resume` restarts the
//! wished seeds when the tracker starts.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use swarm_engine::metainfo::{InfoHash, Metainfo};

use super::task::ContentAt;
use super::{SeedError, SeedView};
use crate::manager::api::{blocking, parse_hash};
use crate::manager::error::ApiError;
use crate::manager::registry::Registry;
use crate::state::AppState;

/// Body of `POST /api/torrents/{info_hash}/seed`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedRequest {
    /// TCP port to listen on (absent or 0: any free port).
    pub port: Option<u16>,
}

/// `POST /api/torrents/{info_hash}/seed`.
pub(crate) async fn start(
    State(state): State<Arc<AppState>>,
    Path(text): Path<String>,
    body: Bytes,
) -> Result<(StatusCode, Json<SeedView>), ApiError> {
    let request: SeedRequest = if body.iter().all(u8::is_ascii_whitespace) {
        SeedRequest::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::BadRequest(format!("seed options: {e}")))?
    };
    let info_hash = parse_hash(&text)?;
    let port = request.port.unwrap_or(0);
    let view = start_seed(&state, info_hash, port).await?;
    blocking(&state.registry, move |r| {
        r.set_seed_on_start(&info_hash, Some(port))
    })
    .await?;
    Ok((StatusCode::ACCEPTED, Json(view)))
}

/// `DELETE /api/torrents/{info_hash}/seed`.
pub(crate) async fn stop(
    State(state): State<Arc<AppState>>,
    Path(text): Path<String>,
) -> Result<Json<SeedView>, ApiError> {
    let info_hash = parse_hash(&text)?;
    let known = blocking(&state.registry, move |r| {
        r.set_seed_on_start(&info_hash, None)
    })
    .await?;
    if !known {
        return Err(ApiError::UnknownTorrent(info_hash.to_string()));
    }
    Ok(Json(state.seeds.stop(&info_hash).await))
}

/// Starts seeding a registered torrent from its registered path.
pub(crate) async fn start_seed(
    state: &Arc<AppState>,
    info_hash: InfoHash,
    port: u16,
) -> Result<SeedView, ApiError> {
    let record = blocking(&state.registry, move |r| r.get(&info_hash)).await?;
    let bytes = blocking(&state.registry, move |r| r.torrent_bytes(&info_hash)).await?;
    let (Some(record), Some(bytes)) = (record, bytes) else {
        return Err(ApiError::UnknownTorrent(info_hash.to_string()));
    };
    let metainfo = Metainfo::from_bytes(&bytes).map_err(|e| SeedError::BadTorrent {
        info_hash,
        reason: e.to_string(),
    })?;
    Ok(state.seeds.start(
        metainfo,
        content_at(state, record.path),
        (state.config.listen.ip(), port),
        state.announce_url.clone(),
    )?)
}

/// Where the content is and the directory it must stay in: the allowed directory if it
/// was registered by path from there, else the uploads' `files` directory.
fn content_at(state: &AppState, root: std::path::PathBuf) -> ContentAt {
    let allowed = state
        .config
        .allowed_dir
        .as_ref()
        .and_then(|dir| dir.canonicalize().ok())
        .filter(|dir| root.starts_with(dir));
    let confined_to = allowed.unwrap_or_else(|| state.files_dir.clone());
    ContentAt { root, confined_to }
}

/// Restarts the seeds the registry says should run (at tracker start).
pub(crate) async fn resume(state: Arc<AppState>) {
    let wished = match blocking(&state.registry, Registry::seeds_on_start).await {
        Ok(wished) => wished,
        Err(error) => {
            tracing::warn!(%error, "cannot read which torrents to seed");
            return;
        }
    };
    for (info_hash, port) in wished {
        if let Err(error) = start_seed(&state, info_hash, port).await {
            tracing::warn!(%info_hash, %error, "cannot resume seeding");
        }
    }
}
