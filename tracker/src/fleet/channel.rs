//! The agent's live channel: `GET /api/fleet/agents/{name}/channel` answers server-sent
//! events, each `data:` one JSON [`Desired`], sent on connect and whenever it changes
//! (a release published, retention changed). The stream ends when the server shuts down;
//! agents reconnect on their own.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::{self, Stream};
use swarm_service::wire::Desired;

use super::api::{blocking, check_name, FleetApiError};
use crate::state::AppState;

/// Comment lines keep idle channels open through proxies and tell agents we are alive.
pub const CHANNEL_KEEPALIVE: Duration = Duration::from_secs(5);
/// Desired states are also re-sent this often, in case a change was missed.
pub const CHANNEL_REFRESH: Duration = Duration::from_secs(30);

/// `GET /api/fleet/agents/{name}/channel`.
pub(crate) async fn channel(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, FleetApiError> {
    check_name("host name", &name)?;
    tracing::info!(host = %name, "agent channel open");
    let changed = state.fleet.changed.subscribe();
    let closing = state.closing.subscribe();
    let start = (state, name, changed, closing, None::<Desired>, true);
    let events = stream::unfold(
        start,
        |(state, name, mut changed, mut closing, last, first)| async move {
            loop {
                if !first || last.is_some() {
                    tokio::select! {
                        _ = changed.changed() => {}
                        _ = closing.wait_for(|c| *c) => return None,
                        () = tokio::time::sleep(CHANNEL_REFRESH) => {}
                    }
                }
                if *closing.borrow() {
                    return None;
                }
                let host = name.clone();
                let desired = match blocking(&state, move |s| s.desired(&host)).await {
                    Ok(desired) => desired,
                    Err(error) => {
                        tracing::warn!(%error, "agent channel");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        continue;
                    }
                };
                if last.as_ref() != Some(&desired) {
                    let json = serde_json::to_string(&desired).unwrap_or_default();
                    let event = Event::default().event("desired").data(json);
                    return Some((
                        Ok(event),
                        (state, name, changed, closing, Some(desired), false),
                    ));
                }
            }
        },
    );
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(CHANNEL_KEEPALIVE)))
}
