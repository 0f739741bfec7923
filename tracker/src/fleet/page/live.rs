//! The fleet page kept live: one builder task renders the page's fragments once per change
//! and every subscriber sends the same text (ten browsers cost one rendering, not ten).
//!
//! - Agents' reports, publishes and the origin's figures [`Live::wake`] the builder; it
//!   renders at most every [`MIN_BUILD_INTERVAL`], so an agent's report reaches the page
//!   within that plus one rendering (the 2 s freshness target has room for a slow disk).
//!   With nobody watching it only samples the chart's series, once a [`HEARTBEAT`].
//! - Every [`HEARTBEAT`] it renders again anyway while someone watches: ages move on and
//!   silent hosts turn gone without any report.
//! - `GET /api/fleet/events` streams the fragments as server-sent events (`event:
//!   rollout`, `hosts`, `matrix`, `history`: HTML; `series`: the chart's JSON), each
//!   only when its text changed since that subscriber last got it. At most
//!   [`MAX_SUBSCRIBERS`] streams are open at once; one more gets `503`.
//! - `GET /fleet` and `GET /api/fleet/page` (the polling form, for clients that cannot
//!   hold a stream) reuse the latest rendering when it is younger than [`REUSE_FOR`].

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures_util::stream::{self, StreamExt};
use tokio::sync::watch;

use super::board::Board;
use super::model::bound_bps;
use super::render::{self, Fragments};
use super::series::{Chart, Series};
use super::PageError;
use crate::fleet::unix_ms;
use crate::state::AppState;

/// Least time between two renderings.
pub const MIN_BUILD_INTERVAL: Duration = Duration::from_millis(500);
/// Renderings (and samples) happen at least this often.
pub const HEARTBEAT: Duration = Duration::from_secs(1);
/// Most event streams open at once.
pub const MAX_SUBSCRIBERS: usize = 64;
/// A rendering younger than this is served as it is.
pub const REUSE_FOR: Duration = Duration::from_secs(1);
/// The chart keeps being sampled this long after a rollout finished (its last points).
const SAMPLE_AFTER_FINISH_MS: i64 = 3_000;

/// The fragments' names, in [`Snapshot::parts`] order.
pub const PART_NAMES: [&str; 5] = ["rollout", "hosts", "matrix", "history", "series"];

/// One rendering, shared by every subscriber.
#[derive(Debug)]
pub struct Snapshot {
    /// When it was rendered, Unix ms.
    pub built_ms: i64,
    /// The rollout it shows.
    pub rollout_id: Option<i64>,
    /// Per fragment: a version that changes with its text, and the text.
    pub parts: [(u64, Arc<str>); 5],
}

/// The builder's signals, the latest rendering and the chart's series.
#[derive(Debug)]
pub struct Live {
    dirty: watch::Sender<u64>,
    snapshot: watch::Sender<Option<Arc<Snapshot>>>,
    subscribers: AtomicUsize,
    series: Mutex<Series>,
}

impl Default for Live {
    fn default() -> Self {
        Live {
            dirty: watch::channel(0).0,
            snapshot: watch::channel(None).0,
            subscribers: AtomicUsize::new(0),
            series: Mutex::default(),
        }
    }
}

impl Live {
    /// Something the page shows changed.
    pub fn wake(&self) {
        self.dirty.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Event streams open now.
    pub fn subscribers(&self) -> usize {
        self.subscribers.load(Ordering::Relaxed)
    }

    fn series(&self) -> std::sync::MutexGuard<'_, Series> {
        self.series.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The chart of `board`'s rollout.
    pub(crate) fn chart(&self, board: &Board) -> Chart {
        match &board.rollout {
            Some(r) => {
                let bound = bound_bps(r.size_bytes, r.hosts.len(), r.bound_s);
                self.series().chart(r.id, r.started_ms, bound)
            }
            None => Chart {
                rollout_id: 0,
                points: Vec::new(),
                bound_bps: None,
            },
        }
    }

    /// Samples the newest rollout's throughput from `board`.
    fn sample(&self, board: &Board) {
        let Some(r) = board.rollout.as_ref().filter(|_| board.shows_latest()) else {
            return;
        };
        if r.finished_ms
            .is_none_or(|f| board.now_ms - f < SAMPLE_AFTER_FINISH_MS)
        {
            let swarm = board.swarm_bps();
            self.series()
                .record(r.id, board.now_ms, swarm, r.origin_uploaded_bytes);
        }
    }

    /// Stores `fragments` as the latest rendering, keeping the versions of unchanged parts.
    fn publish(
        &self,
        built_ms: i64,
        rollout_id: Option<i64>,
        fragments: Fragments,
    ) -> Arc<Snapshot> {
        let texts = [
            fragments.rollout,
            fragments.hosts,
            fragments.matrix,
            fragments.history,
            fragments.series,
        ];
        let previous = self.snapshot.borrow().clone();
        let parts = std::array::from_fn(|i| {
            let text = &texts[i];
            match &previous {
                Some(p) if *p.parts[i].1 == **text => p.parts[i].clone(),
                Some(p) => (p.parts[i].0 + 1, Arc::from(text.as_str())),
                None => (1, Arc::from(text.as_str())),
            }
        });
        let snapshot = Arc::new(Snapshot {
            built_ms,
            rollout_id,
            parts,
        });
        self.snapshot.send_replace(Some(Arc::clone(&snapshot)));
        snapshot
    }
}

/// Reads and (when `render`) renders the newest rollout's page; returns the rendering.
fn build(state: &AppState, render: bool) -> Result<Option<Arc<Snapshot>>, PageError> {
    let now = unix_ms();
    let board = Board::gather(&state.fleet.store, None, now)?;
    let live = &state.fleet.live;
    live.sample(&board);
    if !render {
        return Ok(None);
    }
    let fragments = render::fragments(&board, &live.chart(&board))?;
    let rollout_id = board.rollout.as_ref().map(|r| r.id);
    Ok(Some(live.publish(now, rollout_id, fragments)))
}

async fn build_blocking(
    state: &Arc<AppState>,
    render: bool,
) -> Result<Option<Arc<Snapshot>>, PageError> {
    let state = Arc::clone(state);
    tokio::task::spawn_blocking(move || build(&state, render))
        .await
        .map_err(|e| PageError::Internal(e.to_string()))?
}

/// The latest rendering if younger than [`REUSE_FOR`], else a new one.
pub(crate) async fn current(state: &Arc<AppState>) -> Result<Arc<Snapshot>, PageError> {
    let latest = state.fleet.live.snapshot.borrow().clone();
    let reuse_ms = i64::try_from(REUSE_FOR.as_millis()).unwrap_or(1000);
    if let Some(snapshot) = latest.filter(|s| unix_ms() - s.built_ms < reuse_ms) {
        return Ok(snapshot);
    }
    build_blocking(state, true)
        .await?
        .ok_or_else(|| PageError::Internal("nothing rendered".into()))
}

/// Starts the builder; it stops by itself once the server is dropped or closes.
pub(crate) fn spawn(weak: Weak<AppState>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let Some((mut dirty, mut closing)) = weak
            .upgrade()
            .map(|s| (s.fleet.live.dirty.subscribe(), s.closing.subscribe()))
        else {
            return;
        };
        loop {
            let watched = weak
                .upgrade()
                .is_some_and(|s| s.fleet.live.subscribers() > 0);
            tokio::select! {
                changed = dirty.changed(), if watched => if changed.is_err() { return },
                () = tokio::time::sleep(HEARTBEAT) => {}
                _ = closing.wait_for(|c| *c) => return,
            }
            dirty.borrow_and_update();
            let Some(state) = weak.upgrade() else { return };
            let render = state.fleet.live.subscribers() > 0;
            if let Err(error) = build_blocking(&state, render).await {
                tracing::warn!(%error, "fleet page");
            }
            drop(state);
            tokio::time::sleep(MIN_BUILD_INTERVAL).await;
        }
    })
}

/// Counts one open stream while it lives.
struct Subscriber(Arc<AppState>);

impl Subscriber {
    fn join(state: &Arc<AppState>) -> Option<Subscriber> {
        let live = &state.fleet.live;
        if live.subscribers.fetch_add(1, Ordering::AcqRel) >= MAX_SUBSCRIBERS {
            live.subscribers.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        live.wake();
        Some(Subscriber(Arc::clone(state)))
    }
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        self.0.fleet.live.subscribers.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The parts of `snapshot` newer than `sent`, as events; updates `sent`.
fn changed_parts(snapshot: &Snapshot, sent: &mut [u64; 5]) -> Vec<Result<Event, Infallible>> {
    let mut events = Vec::new();
    for (i, (version, text)) in snapshot.parts.iter().enumerate() {
        if *version > sent[i] {
            sent[i] = *version;
            events.push(Ok(Event::default().event(PART_NAMES[i]).data(&**text)));
        }
    }
    events
}

/// `GET /api/fleet/events`.
pub(crate) async fn events(State(state): State<Arc<AppState>>) -> Response {
    let Some(subscriber) = Subscriber::join(&state) else {
        let error = format!("at most {MAX_SUBSCRIBERS} live pages at once; reload later");
        let body = Json(serde_json::json!({ "error": error }));
        return (StatusCode::SERVICE_UNAVAILABLE, body).into_response();
    };
    let snapshots = state.fleet.live.snapshot.subscribe();
    let start = (snapshots, [0u64; 5], subscriber, true);
    let updates = stream::unfold(start, |(mut rx, mut sent, subscriber, first)| async move {
        loop {
            if !first && rx.changed().await.is_err() {
                return None;
            }
            let snapshot = rx.borrow_and_update().clone();
            let events = snapshot.map(|s| changed_parts(&s, &mut sent));
            if let Some(events) = events.filter(|e| !e.is_empty()) {
                return Some((stream::iter(events), (rx, sent, subscriber, false)));
            }
            if first {
                return Some((stream::iter(Vec::new()), (rx, sent, subscriber, false)));
            }
        }
    });
    let mut closing = state.closing.subscribe();
    let closed = async move {
        let _ = closing.wait_for(|c| *c).await;
    };
    Sse::new(updates.flatten().take_until(closed))
        .keep_alive(KeepAlive::default())
        .into_response()
}

/// `GET /api/fleet/page`: the latest rendering as JSON (`built_ms` and one string per
/// part), for clients that poll instead of holding a stream.
pub(crate) async fn poll(State(state): State<Arc<AppState>>) -> Result<Response, PageError> {
    let snapshot = current(&state).await?;
    let mut body = serde_json::Map::new();
    body.insert("built_ms".into(), snapshot.built_ms.into());
    for (name, (_, text)) in PART_NAMES.iter().zip(&snapshot.parts) {
        body.insert((*name).into(), text.to_string().into());
    }
    Ok(Json(body).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fragments(hosts: &str) -> Fragments {
        Fragments {
            rollout: "r".into(),
            hosts: hosts.into(),
            matrix: "m".into(),
            history: "h".into(),
            series: "{}".into(),
        }
    }

    #[test]
    fn only_changed_parts_are_sent_again() {
        let live = Live::default();
        let first = live.publish(1, None, fragments("a"));
        let mut sent = [0; 5];
        assert_eq!(changed_parts(&first, &mut sent).len(), 5);
        assert!(changed_parts(&first, &mut sent).is_empty());
        let second = live.publish(2, None, fragments("b"));
        assert_eq!(changed_parts(&second, &mut sent).len(), 1);
        assert_eq!(sent, [1, 2, 1, 1, 1]);
    }
}
