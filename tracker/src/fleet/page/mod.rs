//! The fleet page at `/fleet`: what an operator watches during a rollout.
//!
//! Server-rendered from askama templates ([`render`]), so it reads without JavaScript; a
//! small vanilla script (`assets/fleet/fleet.js`, embedded like everything else, nothing
//! fetched from outside) follows the live stream ([`live`]), swaps the fragments in, keeps
//! the host table sorted and filtered as the operator chose, and draws the throughput chart
//! from [`series`].
//!
//! It shows the newest rollout (`?rollout=ID`: a past one, not followed live): release,
//! hosts targeted, N of M verified, ETA, makespan ÷ fluid bound, the origin's upload in
//! copies; one row per host (name, labels, progress, rates, verification time, error);
//! the hosts × releases matrix; and the rollouts' history from SQLite. Hosts whose agent
//! went silent show as gone with what they held ([`board`]).
//!
//! Reading needs no token, like every other read of this server (announces, the torrent
//! page, `GET /api/fleet/...`): the page only shows what those already answer. The page
//! has no buttons of its own; it says whether the browser holds the fleet token cookie,
//! which the torrent page's buttons need when the tracker runs with `--token-file`.

pub mod board;
pub mod format;
pub mod hosts;
pub mod live;
pub mod model;
pub mod render;
pub mod series;

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;

use self::board::Board;
use self::render::Session;
use crate::fleet::store::StoreError;
use crate::fleet::unix_ms;
use crate::manager::view::Viewer;
use crate::state::AppState;

const SCRIPT: &str = include_str!("../../../assets/fleet/fleet.js");
const STYLE: &str = include_str!("../../../assets/fleet/fleet.css");

/// Why the page could not be served.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// The fleet tables failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A template failed to render.
    #[error("rendering the fleet page: {0}")]
    Render(#[from] askama::Error),
    /// A blocking task died.
    #[error("internal error: {0}")]
    Internal(String),
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        tracing::error!(error = %self, "fleet page");
        let body = Json(serde_json::json!({ "error": self.to_string() }));
        (StatusCode::INTERNAL_SERVER_ERROR, body).into_response()
    }
}

/// The page's routes.
pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/fleet", get(page))
        .route("/api/fleet/events", get(live::events))
        .route("/api/fleet/page", get(live::poll))
        .route("/assets/fleet.js", get(script))
        .route("/assets/fleet.css", get(style))
}

/// Query of `GET /fleet`.
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct PageQuery {
    /// Show this rollout instead of the newest.
    pub rollout: Option<i64>,
}

/// `GET /fleet[?rollout=ID]`.
async fn page(
    State(state): State<Arc<AppState>>,
    Query(query): Query<PageQuery>,
    headers: HeaderMap,
) -> Result<Html<String>, PageError> {
    let viewer = Viewer::from_headers(&headers, state.config.token.as_ref());
    let session = match (&state.config.token, viewer.operator) {
        (None, _) => Session::Open,
        (Some(_), true) => Session::SignedIn,
        (Some(_), false) => Session::Anonymous,
    };
    let snapshot = live::current(&state).await?;
    let latest = query
        .rollout
        .is_none_or(|id| Some(id) == snapshot.rollout_id);
    if latest {
        let text = |i: usize| snapshot.parts[i].1.to_string();
        let fragments = render::Fragments {
            rollout: text(0),
            hosts: text(1),
            matrix: text(2),
            history: text(3),
            series: text(4),
        };
        return Ok(Html(render::page(&fragments, true, session)?));
    }
    let state = Arc::clone(&state);
    let html = tokio::task::spawn_blocking(move || past(&state, query.rollout, session))
        .await
        .map_err(|e| PageError::Internal(e.to_string()))??;
    Ok(Html(html))
}

/// A rollout that is not the newest, rendered once and not followed.
fn past(state: &AppState, rollout: Option<i64>, session: Session) -> Result<String, PageError> {
    let board = Board::gather(&state.fleet.store, rollout, unix_ms())?;
    let chart = state.fleet.live.chart(&board);
    let fragments = render::fragments(&board, &chart)?;
    Ok(render::page(&fragments, board.shows_latest(), session)?)
}

async fn script() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        SCRIPT,
    )
        .into_response()
}

async fn style() -> Response {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], STYLE).into_response()
}
