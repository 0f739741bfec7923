//! The agent's main loop: keep the live channel to the manager (reconnecting on its own),
//! report every release's state about once a second (each report also registers the host
//! and answers its desired state), and turn desired states into running release tasks:
//! start what is wanted, stop seeding and delete what retention dropped. Releases this host
//! is the origin of are seeded in place and never deleted. Once its releases have moved and
//! then stayed still for a few reports, it gives what the transfer freed back to the system
//! ([`super::memory`]).

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use swarm_service::wire::parse_peer_id;
use swarm_service::wire::{AgentReport, Desired, DesiredRelease, PlacementReport, PlacementState};
use tokio::sync::{mpsc, watch};

use super::client::{ClientError, ManagerClient};
use super::config::AgentConfig;
use super::disk::{free_bytes, release_path, remove_release};
use super::memory::{self, Quiet};
use super::metrics::release_sample;
use super::node::{NodeHost, NodeSpec};
use super::release::{self, ReleaseJob, ReleaseStatus};

/// How often the agent reports.
pub const REPORT_INTERVAL: Duration = Duration::from_secs(1);
/// Longest pause between reconnection attempts.
pub const MAX_RECONNECT_DELAY: Duration = Duration::from_secs(5);
/// A failed release is tried again after this long.
pub const FAILED_RETRY_INTERVAL: Duration = Duration::from_secs(60);
/// Desired states queued from the channel, at most (older ones are superseded anyway).
const DESIRED_QUEUE: usize = 4;

/// One release task.
struct Task {
    release: DesiredRelease,
    /// Where it is seeded from as the origin (`None`: a download into `--dir`).
    origin_path: Option<PathBuf>,
    status: watch::Receiver<ReleaseStatus>,
    stop: watch::Sender<bool>,
    join: tokio::task::JoinHandle<()>,
    started: Instant,
    /// Counters at the previous report, for rates.
    last: (Instant, u64, u64),
}

/// The agent's state.
struct Agent {
    config: AgentConfig,
    client: ManagerClient,
    /// Every release's node, on one port.
    host: std::sync::Arc<NodeHost>,
    session: String,
    tasks: BTreeMap<i64, Task>,
    /// Releases deleted here, reported as such until the manager stops asking.
    deleted: BTreeMap<i64, DesiredRelease>,
    desired: Option<Desired>,
    /// Every release's state, for `/metrics`.
    releases: watch::Sender<Vec<crate::metrics::ReleaseSample>>,
}

/// Why the agent could not run.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// The HTTP client could not be built.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The download directory is unusable.
    #[error("cannot use {path}: {source}", path = path.display())]
    Dir {
        /// The directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The peer port could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address asked for.
        addr: std::net::SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
    /// The metrics address could not be bound.
    #[error(transparent)]
    Metrics(#[from] crate::metrics::MetricsError),
}

/// Runs the agent until `shutdown` completes; then stops every release (announcing
/// `stopped`) and returns.
pub async fn run(
    config: AgentConfig,
    shutdown: impl Future<Output = ()>,
) -> Result<(), AgentError> {
    std::fs::create_dir_all(&config.dir).map_err(|source| AgentError::Dir {
        path: config.dir.clone(),
        source,
    })?;
    let client = ManagerClient::new(&config.manager, config.token.clone())?;
    let host = NodeHost::bind(config.listen, config.port)
        .await
        .map_err(|source| AgentError::Listen {
            addr: std::net::SocketAddr::new(config.listen, config.port),
            source,
        })?;
    tracing::info!(addr = %host.local_addr(), "listening for peers");
    let host = std::sync::Arc::new(host);
    let (releases, releases_rx) = watch::channel(Vec::new());
    let _metrics = match config.metrics {
        Some(addr) => {
            Some(super::metrics::start(addr, std::sync::Arc::clone(&host), releases_rx).await?)
        }
        None => None,
    };
    let session = format!("{:016x}", crate::runner::random_seed());
    let (desired_tx, mut desired_rx) = mpsc::channel(DESIRED_QUEUE);
    let channel = tokio::spawn(keep_channel(
        client.clone(),
        config.name.clone(),
        desired_tx,
    ));
    tracing::info!(name = %config.name, manager = %config.manager, dir = %config.dir.display(), "agent starting");
    let mut agent = Agent {
        config,
        client,
        host,
        session,
        tasks: BTreeMap::new(),
        deleted: BTreeMap::new(),
        desired: None,
        releases,
    };
    let mut ticker = tokio::time::interval(REPORT_INTERVAL);
    let mut quiet = Quiet::default();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            Some(desired) = desired_rx.recv() => agent.apply(desired).await,
            _ = ticker.tick() => {
                agent.publish_releases();
                if let Some(desired) = agent.report().await {
                    agent.apply(desired).await;
                }
                agent.retry_failed().await;
                if quiet.settled(agent.activity()) {
                    memory::give_back();
                }
            }
        }
    }
    channel.abort();
    for (_, task) in std::mem::take(&mut agent.tasks) {
        stop_task(task).await;
    }
    Ok(())
}

/// Holds the live channel open, reconnecting with a growing pause; forwards every
/// desired state it carries.
async fn keep_channel(client: ManagerClient, name: String, desired: mpsc::Sender<Desired>) {
    let mut delay = Duration::from_millis(250);
    loop {
        match client.channel(&name).await {
            Ok(mut channel) => {
                tracing::info!(manager = client.base(), "agent channel connected");
                delay = Duration::from_millis(250);
                loop {
                    match channel.next().await {
                        Ok(Some(state)) => {
                            if desired.send(state).await.is_err() {
                                return;
                            }
                        }
                        Ok(None) => break,
                        Err(error) => {
                            tracing::warn!(%error, "agent channel lost");
                            break;
                        }
                    }
                }
            }
            Err(error) => tracing::warn!(%error, "cannot open the agent channel"),
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(MAX_RECONNECT_DELAY);
    }
}

impl Agent {
    /// A counter that changes whenever a release moves bytes, gains or loses a peer, or is
    /// started or removed (for [`Quiet`]).
    fn activity(&self) -> u64 {
        let mut activity = ((self.tasks.len() as u64) << 32) + self.deleted.len() as u64;
        for task in self.tasks.values() {
            let s = task.status.borrow();
            let moved = s.have_bytes + s.downloaded_bytes + s.uploaded_bytes;
            activity = activity.wrapping_add(moved + u64::from(s.peers));
        }
        activity
    }

    /// Posts a report; returns the answer's desired state.
    async fn report(&mut self) -> Option<Desired> {
        let now = Instant::now();
        let mut releases = Vec::new();
        for (&id, task) in &mut self.tasks {
            let s = task.status.borrow().clone();
            let secs = now.duration_since(task.last.0).as_secs_f64().max(1e-3);
            let down = s.downloaded_bytes.saturating_sub(task.last.1) as f64 / secs;
            let up = s.uploaded_bytes.saturating_sub(task.last.2) as f64 / secs;
            task.last = (now, s.downloaded_bytes, s.uploaded_bytes);
            releases.push(PlacementReport {
                release_id: id,
                state: s.state,
                have_bytes: s.have_bytes,
                downloaded_bytes: s.downloaded_bytes,
                uploaded_bytes: s.uploaded_bytes,
                down_bps: down as u64,
                up_bps: up as u64,
                peers: s.peers,
                reason: s.reason,
                from_origin_bytes: s.from_origin_bytes,
            });
        }
        releases.extend(self.deleted.keys().map(|&id| PlacementReport {
            release_id: id,
            state: PlacementState::Deleted,
            have_bytes: 0,
            downloaded_bytes: 0,
            uploaded_bytes: 0,
            down_bps: 0,
            up_bps: 0,
            peers: 0,
            reason: None,
            from_origin_bytes: None,
        }));
        let report = AgentReport {
            session: self.session.clone(),
            labels: self.config.labels.clone(),
            listen: Some(format!(
                "{}:{}",
                self.config.listen,
                self.host.local_addr().port()
            )),
            free_disk_bytes: free_bytes(&self.config.dir),
            link_bps: self.config.link_bps,
            releases,
        };
        let path = format!("/api/fleet/agents/{}/report", self.config.name);
        match self.client.post_json(&path, &report).await {
            Ok(desired) => Some(desired),
            Err(error) => {
                tracing::warn!(%error, "report failed");
                None
            }
        }
    }

    /// Publishes every release's state for `/metrics`.
    fn publish_releases(&self) {
        let running = self.tasks.values().map(|task| {
            let status = task.status.borrow();
            release_sample(&task.release, status.state, status.from_origin_bytes)
        });
        let deleted = self
            .deleted
            .values()
            .map(|release| release_sample(release, PlacementState::Deleted, None));
        self.releases.send_replace(running.chain(deleted).collect());
    }

    /// Makes the running tasks match `desired`.
    async fn apply(&mut self, desired: Desired) {
        if self.desired.as_ref() == Some(&desired) {
            return;
        }
        if let Err(error) = desired.check() {
            return tracing::error!(%error, "refusing the manager's desired state");
        }
        // One copy per path: a newer release under the same name replaces an older one.
        let mut by_path: BTreeMap<PathBuf, &DesiredRelease> = BTreeMap::new();
        for release in &desired.keep {
            let path = release_path(&self.config.dir, release);
            if by_path.get(&path).is_none_or(|old| old.id < release.id) {
                by_path.insert(path, release);
            }
        }
        let mut wanted: BTreeMap<i64, (DesiredRelease, Option<PathBuf>)> = by_path
            .values()
            .map(|r| (r.id, ((*r).clone(), None)))
            .collect();
        for seed in &desired.seed {
            let path = Some(PathBuf::from(&seed.path));
            wanted.insert(seed.release.id, (seed.release.clone(), path));
        }
        let claimed: BTreeSet<PathBuf> = by_path.keys().cloned().collect();
        let dropped: Vec<i64> = self
            .tasks
            .iter()
            .filter(|(id, task)| wanted.get(id).is_none_or(|w| w.1 != task.origin_path))
            .map(|(&id, _)| id)
            .collect();
        for id in dropped {
            if let Some(task) = self.tasks.remove(&id) {
                let (release, origin) = (task.release.clone(), task.origin_path.is_some());
                stop_task(task).await;
                if !origin {
                    self.forget(&release, &claimed);
                }
            }
        }
        for release in &desired.delete {
            if !self.tasks.contains_key(&release.id) && !self.deleted.contains_key(&release.id) {
                self.forget(release, &claimed);
            }
        }
        let asked: BTreeSet<i64> = desired.delete.iter().map(|r| r.id).collect();
        self.deleted.retain(|id, _| asked.contains(id));
        for (id, (release, origin_path)) in wanted {
            if !self.tasks.contains_key(&id) {
                self.start(release, origin_path);
            }
        }
        self.desired = Some(desired);
    }

    /// Deletes a dropped release's files unless a wanted release now owns the path.
    fn forget(&mut self, release: &DesiredRelease, claimed: &BTreeSet<PathBuf>) {
        if !claimed.contains(&release_path(&self.config.dir, release)) {
            match remove_release(&self.config.dir, release) {
                Ok(()) => {
                    tracing::info!(release = release.id, name = %release.name, "release deleted")
                }
                Err(error) => tracing::warn!(release = release.id, %error, "cannot delete release"),
            }
        }
        self.deleted.insert(release.id, release.clone());
    }

    fn start(&mut self, release: DesiredRelease, origin_path: Option<PathBuf>) {
        let job = ReleaseJob {
            release: release.clone(),
            dir: self.config.dir.clone(),
            client: self.client.clone(),
            host: std::sync::Arc::clone(&self.host),
            node: NodeSpec {
                trackers: Vec::new(),
                origin: false,
                max_upload_bytes_per_s: None,
                peer_id: None,
                origin_peer_id: release.origin_peer_id.as_deref().and_then(parse_peer_id),
            },
            origin_path: origin_path.clone(),
            on_complete: self.config.on_complete.clone(),
        };
        let (status_tx, status_rx) = watch::channel(ReleaseStatus::pending());
        let (stop_tx, stop_rx) = watch::channel(false);
        let join = tokio::spawn(release::run(job, status_tx, stop_rx));
        tracing::info!(release = release.id, channel = %release.channel, name = %release.name, origin = origin_path.is_some(), "release wanted");
        self.deleted.remove(&release.id);
        self.tasks.insert(
            release.id,
            Task {
                release,
                origin_path,
                status: status_rx,
                stop: stop_tx,
                join,
                started: Instant::now(),
                last: (Instant::now(), 0, 0),
            },
        );
    }

    /// Starts again the releases that failed a while ago.
    async fn retry_failed(&mut self) {
        let stale: Vec<i64> = self
            .tasks
            .iter()
            .filter(|(_, t)| t.join.is_finished() && t.started.elapsed() >= FAILED_RETRY_INTERVAL)
            .map(|(&id, _)| id)
            .collect();
        for id in stale {
            if let Some(task) = self.tasks.remove(&id) {
                let (release, origin_path) = (task.release.clone(), task.origin_path.clone());
                stop_task(task).await;
                self.start(release, origin_path);
            }
        }
    }
}

/// Stops a task (seeding ends, `stopped` is announced) and waits for it.
async fn stop_task(task: Task) {
    task.stop.send_replace(true);
    let _ = task.join.await;
}
