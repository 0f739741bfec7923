//! `GET /api/events`: server-sent events for the live page. Every second it sends
//! `event: torrents` (the list, as `GET /api/torrents`) and, with `?info_hash=`, also
//! `event: torrent` (that torrent's detail, as `GET /api/torrents/{info_hash}`).

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::{self, Stream};
use serde::Deserialize;

use super::api::{detail, summaries};
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
    let mut events = Vec::with_capacity(2);
    let json =
        |name: &str, value: &dyn erased::Json| Event::default().event(name).data(value.to_json());
    match summaries(state).await {
        Ok(list) => events.push(json("torrents", &list)),
        Err(err) => events.push(Event::default().event("error").data(err.to_string())),
    }
    if let Some(hash) = &query.info_hash {
        match detail(state, hash).await {
            Ok(detail) => events.push(json("torrent", &detail)),
            Err(err) => events.push(Event::default().event("error").data(err.to_string())),
        }
    }
    events
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
