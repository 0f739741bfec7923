//! The fleet's JSON endpoints (see [`swarm_service::wire`] for the bodies): agent
//! reports, publishing a release, reading a rollout, the origin's upload, hosts.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use swarm_engine::metainfo::Metainfo;
use swarm_service::wire::{
    AgentReport, Desired, FleetInfo, Labels, OriginReport, PublishRequest, Published, RolloutView,
};

use super::report::MAX_HOST_LABELS;
use super::store::{FleetStore, ReleaseRow, StoreError, MAX_KEEP_RELEASES};
use super::unix_ms;
use crate::state::AppState;
use swarm_service::wire::parse_peer_id;

/// Longest host, channel or label name.
pub const MAX_NAME_CHARS: usize = 128;
/// Longest origin path.
pub const MAX_PATH_CHARS: usize = 4096;

/// Why a fleet request failed; bodies are `{"error": "<text>"}`.
#[derive(Debug, thiserror::Error)]
pub enum FleetApiError {
    /// The request is malformed.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// No such release or rollout.
    #[error("not found: {0}")]
    NotFound(String),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A blocking task died.
    #[error("internal error: {0}")]
    Internal(String),
}

impl IntoResponse for FleetApiError {
    fn into_response(self) -> Response {
        let status = match &self {
            FleetApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            FleetApiError::NotFound(_) => StatusCode::NOT_FOUND,
            FleetApiError::Store(_) | FleetApiError::Internal(_) => {
                tracing::error!(error = %self, "fleet API");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        (
            status,
            Json(serde_json::json!({ "error": self.to_string() })),
        )
            .into_response()
    }
}

/// Runs a store call on a blocking thread.
pub(crate) async fn blocking<T: Send + 'static>(
    state: &AppState,
    call: impl FnOnce(&FleetStore) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, FleetApiError> {
    let store = Arc::clone(&state.fleet.store);
    tokio::task::spawn_blocking(move || call(&store))
        .await
        .map_err(|e| FleetApiError::Internal(e.to_string()))?
        .map_err(FleetApiError::from)
}

/// A host, channel or label name: 1 to [`MAX_NAME_CHARS`] letters, digits, `.`, `-`, `_`.
pub fn check_name(what: &str, name: &str) -> Result<(), FleetApiError> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME_CHARS
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
    if ok {
        Ok(())
    } else {
        Err(FleetApiError::BadRequest(format!(
            "{what} {name:?} must be 1-{MAX_NAME_CHARS} letters, digits, `.`, `-` or `_`"
        )))
    }
}

fn check_labels(labels: &Labels) -> Result<(), FleetApiError> {
    if labels.len() > MAX_HOST_LABELS {
        return Err(FleetApiError::BadRequest(format!(
            "at most {MAX_HOST_LABELS} labels"
        )));
    }
    for (key, value) in labels {
        check_name("label key", key)?;
        check_name("label value", value)?;
    }
    Ok(())
}

/// `GET /api/fleet`.
pub(crate) async fn info(State(state): State<Arc<AppState>>) -> Json<FleetInfo> {
    Json(FleetInfo {
        announce_url: state.announce_url.clone(),
    })
}

/// A host as `GET /api/fleet/hosts` lists it.
#[derive(Debug, Serialize)]
pub struct HostSummary {
    name: String,
    labels: Labels,
    listen: Option<String>,
    free_disk_bytes: Option<u64>,
    link_bps: Option<u64>,
    last_seen_ms: i64,
}

/// `GET /api/fleet/hosts`.
pub(crate) async fn hosts(
    State(state): State<Arc<AppState>>,
) -> Result<Json<Vec<HostSummary>>, FleetApiError> {
    let hosts = blocking(&state, FleetStore::hosts).await?;
    Ok(Json(
        hosts
            .into_iter()
            .map(|h| HostSummary {
                name: h.name,
                labels: h.labels,
                listen: h.listen,
                free_disk_bytes: h.free_disk_bytes,
                link_bps: h.link_bps,
                last_seen_ms: h.last_seen_ms,
            })
            .collect(),
    ))
}

/// `POST /api/fleet/agents/{name}/report`: registers or refreshes the host; answers its
/// desired state.
pub(crate) async fn report(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    Json(report): Json<AgentReport>,
) -> Result<Json<Desired>, FleetApiError> {
    check_name("host name", &name)?;
    check_labels(&report.labels)?;
    let now = unix_ms();
    let desired = blocking(&state, move |s| s.apply_report(&name, &report, now)).await?;
    state.fleet.live.wake();
    Ok(Json(desired))
}

/// `POST /api/fleet/releases`: registers a release and starts its rollout.
pub(crate) async fn publish(
    State(state): State<Arc<AppState>>,
    Json(request): Json<PublishRequest>,
) -> Result<(StatusCode, Json<Published>), FleetApiError> {
    check_name("channel", &request.channel)?;
    check_labels(&request.to)?;
    if let Some(keep) = request.keep {
        if keep == 0 || keep > MAX_KEEP_RELEASES {
            return Err(FleetApiError::BadRequest(format!(
                "keep must be 1 to {MAX_KEEP_RELEASES}"
            )));
        }
    }
    let torrent = hex::decode(&request.torrent_hex)
        .map_err(|e| FleetApiError::BadRequest(format!("torrent_hex: {e}")))?;
    let metainfo = Metainfo::from_bytes(&torrent)
        .map_err(|e| FleetApiError::BadRequest(format!("torrent: {e}")))?;
    check_name("file name", &metainfo.name)?;
    check_origin(&request)?;
    let release = ReleaseRow {
        id: 0,
        channel: request.channel.clone(),
        name: metainfo.name.clone(),
        info_hash: metainfo.info_hash.to_string(),
        size_bytes: metainfo.total_length(),
        created_ms: unix_ms(),
        origin_peer_id: request.origin_peer_id,
    };
    let (to, keep, origin_bps) = (request.to, request.keep, request.origin_bps);
    let (channel, origin) = (request.channel, request.origin_agent);
    let rows = blocking(&state, move |s| {
        if let Some(keep) = keep {
            s.set_keep(&channel, keep)?;
        }
        s.publish(&release, &torrent, &to, origin_bps, origin.as_ref())
    })
    .await?;
    state.core().core.register(metainfo.info_hash);
    state.fleet.bump();
    state.fleet.live.wake();
    tracing::info!(rows.release_id, rows.rollout_id, hosts = rows.hosts.len(), seeded_by = ?rows.seeded_by, name = %metainfo.name, "release published");
    let published = Published {
        release_id: rows.release_id,
        rollout_id: rows.rollout_id,
        info_hash: metainfo.info_hash.to_string(),
        hosts: rows.hosts,
        seeded_by: rows.seeded_by,
    };
    Ok((StatusCode::CREATED, Json(published)))
}

/// The origin's peer id is 40 hex digits; its agent a host name and an absolute path.
fn check_origin(request: &PublishRequest) -> Result<(), FleetApiError> {
    if let Some(id) = &request.origin_peer_id {
        if parse_peer_id(id).is_none() {
            return Err(FleetApiError::BadRequest(format!(
                "origin_peer_id {id:?} is not 40 hex digits"
            )));
        }
    }
    if let Some(agent) = &request.origin_agent {
        check_name("origin host", &agent.host)?;
        if !agent.path.starts_with('/') || agent.path.len() > MAX_PATH_CHARS {
            return Err(FleetApiError::BadRequest(format!(
                "origin path must be absolute and at most {MAX_PATH_CHARS} bytes"
            )));
        }
    }
    Ok(())
}

/// `GET /api/fleet/releases/{id}/torrent`.
pub(crate) async fn torrent(
    State(state): State<Arc<AppState>>,
    Path(id): Path<i64>,
) -> Result<Response, FleetApiError> {
    let bytes = blocking(&state, move |s| s.torrent(id)).await?;
    let bytes = bytes.ok_or_else(|| FleetApiError::NotFound(format!("release {id}")))?;
    Ok(([(header::CONTENT_TYPE, "application/x-bittorrent")], bytes).into_response())
}

/// `GET /api/fleet/rollouts/{id}`.
pub(crate) async fn rollout(
    State(state): State<Arc<AppState>>,
    Path(id): Path<i64>,
) -> Result<Json<RolloutView>, FleetApiError> {
    let view = blocking(&state, move |s| s.rollout(id)).await?;
    view.map(Json)
        .ok_or_else(|| FleetApiError::NotFound(format!("rollout {id}")))
}

/// `POST /api/fleet/rollouts/{id}/origin`.
pub(crate) async fn origin(
    State(state): State<Arc<AppState>>,
    Path(id): Path<i64>,
    Json(report): Json<OriginReport>,
) -> Result<StatusCode, FleetApiError> {
    let known = blocking(&state, move |s| {
        s.set_origin_upload(id, report.uploaded_bytes)
    })
    .await?;
    if known {
        state.fleet.live.wake();
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(FleetApiError::NotFound(format!("rollout {id}")))
    }
}
