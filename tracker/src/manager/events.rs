//! `GET /api/events`: server-sent events for the live page. Every second it sends
//! `event: torrents` (the list, as `GET /api/torrents`) and, with `?info_hash=`, also
//! `event: torrent` (that torrent's detail with its first page of peers, as
//! `GET /api/torrents/{info_hash}`).
//!
//! Streams never carry content paths (the page does not show them). Subscribers share
//! their snapshots: the first one to need a snapshot in a period builds
//! its JSON once and every other subscriber of that period sends the same text (issue 15
//! item 9: ten subscribers each built their own and cost 166 % of a core). At most
//! [`MAX_SHARED_DETAILS`] torrents' details are kept per period; more are built each time.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::{self, Stream};
use serde::Deserialize;

use std::collections::BTreeMap;

use super::api::{detail, summaries, PeerPageQuery};
use super::view::Viewer;
use crate::state::AppState;

/// Time between two updates.
pub const UPDATE_PERIOD: Duration = Duration::from_secs(1);

/// Query of `/api/events`.
#[derive(Debug, Clone, Deserialize)]
pub struct EventsQuery {
    /// Also stream this torrent's detail.
    pub info_hash: Option<String>,
}

/// `GET /api/events`.
pub(crate) async fn events(
    State(state): State<Arc<AppState>>,
    Query(query): Query<EventsQuery>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let state_closing = state.closing.subscribe();
    let ticker = tokio::time::interval(UPDATE_PERIOD);
    let updates = stream::unfold(
        (state, query, ticker),
        |(state, query, mut ticker)| async move {
            ticker.tick().await;
            let events = snapshot(&state, &query).await;
            Some((
                stream::iter(events.into_iter().map(Ok)),
                (state, query, ticker),
            ))
        },
    );
    let mut closing = state_closing;
    let closed = async move {
        let _ = closing.wait_for(|closing| *closing).await;
    };
    use futures_util::StreamExt;
    Sse::new(updates.flatten().take_until(closed)).keep_alive(KeepAlive::default())
}

async fn snapshot(state: &Arc<AppState>, query: &EventsQuery) -> Vec<Event> {
    let period_ms = u64::try_from(UPDATE_PERIOD.as_millis()).unwrap_or(1000);
    let period = state.now_ms() / period_ms;
    let mut shared = state.live.lock().await;
    if shared.period != Some(period) {
        *shared = Shared {
            period: Some(period),
            ..Shared::default()
        };
    }
    let mut events = Vec::with_capacity(2);
    if shared.list.is_none() {
        let built = match summaries(state).await {
            Ok(list) => ("torrents", Arc::from(erased::Json::to_json(&list))),
            Err(err) => ("error", Arc::from(err.to_string())),
        };
        shared.list = Some(built);
    }
    if let Some((name, data)) = &shared.list {
        events.push(Event::default().event(*name).data(&**data));
    }
    if let Some(hash) = &query.info_hash {
        let built = match shared.details.get(hash) {
            Some(built) => built.clone(),
            None => {
                let built =
                    match detail(state, hash, PeerPageQuery::default(), Viewer::default()).await {
                        Ok(detail) => ("torrent", Arc::from(erased::Json::to_json(&detail))),
                        Err(err) => ("error", Arc::from(err.to_string())),
                    };
                if shared.details.len() < MAX_SHARED_DETAILS {
                    shared.details.insert(hash.clone(), built.clone());
                }
                built
            }
        };
        events.push(Event::default().event(built.0).data(&*built.1));
    }
    events
}

/// Most torrents whose detail is shared among subscribers in one period.
pub const MAX_SHARED_DETAILS: usize = 64;

/// One event's name and JSON text.
type Built = (&'static str, Arc<str>);

/// The snapshots of one update period, shared by every subscriber.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    period: Option<u64>,
    list: Option<Built>,
    details: BTreeMap<String, Built>,
}

mod erased {
    /// Serializes any view to one line of JSON (SSE data must not contain raw newlines).
    pub trait Json {
        fn to_json(&self) -> String;
    }

    impl<T: serde::Serialize> Json for T {
        fn to_json(&self) -> String {
            serde_json::to_string(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
        }
    }
}
