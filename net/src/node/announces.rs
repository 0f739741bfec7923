//! A node's announcer: one task that sends the node's announces in the order the engine
//! asked for them, one at a time, and tells the node how each went.
//!
//! One at a time is what keeps a `completed` from overtaking the `stopped` that follows it
//! (the ghost seed: a tracker that hears `stopped` then a late `completed` lists a peer
//! that is gone). On shutdown the node closes the queue and waits for the task, at most
//! [`SHUTDOWN_ANNOUNCE_TIMEOUT`], so the `stopped` announce is sent before the node ends.

use std::time::Duration;

use swarm_engine::node::io::{AnnounceEvent, AnnounceRequest, Input};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::announce::{announce, AnnounceParams};
use crate::event::Event;

/// How long one tracker request may take.
pub const ANNOUNCE_TIMEOUT: Duration = Duration::from_secs(15);
/// How long one `stopped` request may take (the node is going away).
pub const STOPPED_ANNOUNCE_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a stopping node waits for its queued announces, at most.
pub const SHUTDOWN_ANNOUNCE_TIMEOUT: Duration = Duration::from_secs(5);
/// Announces queued behind the one in flight, at most; the engine asks for one per
/// interval, so more means the tracker is stuck, and the node hears a failure at once.
pub const MAX_QUEUED_ANNOUNCES: usize = 4;

/// The node's side of its announcer.
#[derive(Debug)]
pub(crate) struct Announcer {
    requests: mpsc::Sender<AnnounceRequest>,
    task: JoinHandle<()>,
}

impl Announcer {
    /// Starts the task for `trackers` (tried in order); answers go to `events`. With no
    /// tracker every announce is answered at once with no peers (peers come from `--peer`).
    pub(crate) fn start(
        trackers: Vec<String>,
        params: AnnounceParams,
        events: mpsc::Sender<Event>,
    ) -> Self {
        let (requests, queue) = mpsc::channel(MAX_QUEUED_ANNOUNCES);
        let task = tokio::spawn(run(trackers, params, queue, events));
        Announcer { requests, task }
    }

    /// Queues `request`; an answer that is there at once (queue full) is returned.
    pub(crate) fn push(&self, request: AnnounceRequest) -> Option<Input> {
        match self.requests.try_send(request) {
            Ok(()) => None,
            Err(_) => Some(Input::AnnounceFailed {
                reason: format!("{MAX_QUEUED_ANNOUNCES} announces already queued"),
            }),
        }
    }

    /// Closes the queue and waits until what it held (the `stopped` announce last) is sent.
    pub(crate) async fn finish(self) {
        drop(self.requests);
        let mut task = self.task;
        if tokio::time::timeout(SHUTDOWN_ANNOUNCE_TIMEOUT, &mut task)
            .await
            .is_err()
        {
            tracing::info!("announces still pending at shutdown: given up");
            task.abort();
        }
    }
}

async fn run(
    trackers: Vec<String>,
    params: AnnounceParams,
    mut queue: mpsc::Receiver<AnnounceRequest>,
    events: mpsc::Sender<Event>,
) {
    while let Some(request) = queue.recv().await {
        let answer = announce_once(&trackers, &params, &request).await;
        if request.event != AnnounceEvent::Stopped {
            // The node may be gone when a late answer comes: nothing to tell then.
            let _ = events.send(Event::Input(answer)).await;
        }
    }
}

/// Tries each tracker in order until one answers.
async fn announce_once(
    trackers: &[String],
    params: &AnnounceParams,
    request: &AnnounceRequest,
) -> Input {
    if trackers.is_empty() {
        return Input::AnnounceDone {
            peers: Vec::new(),
            interval: Duration::from_secs(3600),
        };
    }
    let timeout = if request.event == AnnounceEvent::Stopped {
        STOPPED_ANNOUNCE_TIMEOUT
    } else {
        ANNOUNCE_TIMEOUT
    };
    let mut last_error = String::new();
    for url in trackers {
        let params = AnnounceParams {
            url: url.clone(),
            timeout,
            ..params.clone()
        };
        match announce(&params, request).await {
            Ok(response) => {
                return Input::AnnounceDone {
                    peers: response.peers,
                    interval: response.interval,
                }
            }
            Err(error) => {
                tracing::info!(url = params.url, %error, "announce failed");
                last_error = error.to_string();
            }
        }
    }
    Input::AnnounceFailed { reason: last_error }
}
