//! The fleet protocol between agents, `swarm publish` and the manager: JSON bodies, shared
//! by both sides so they cannot drift apart.
//!
//! - `GET /api/fleet`: [`FleetInfo`] (what torrents announce to).
//! - `POST /api/fleet/agents/{name}/report`: an agent registers and reports ([`AgentReport`])
//!   about once a second; the answer is the host's [`Desired`] state.
//! - `GET /api/fleet/agents/{name}/channel`: server-sent events, each `data:` a [`Desired`]
//!   (sent on connect and whenever it changes). The agent's live channel.
//! - `POST /api/fleet/releases`: `swarm publish` registers a release ([`PublishRequest`]),
//!   answered with [`Published`].
//! - `GET /api/fleet/releases/{id}/torrent`: the release's `.torrent`.
//! - `GET /api/fleet/rollouts/{id}`: a rollout's state ([`RolloutView`]).
//! - `POST /api/fleet/rollouts/{id}/origin`: the origin's upload so far ([`OriginReport`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Labels of a host (`rack=a`), or the labels a rollout targets (all must match).
pub type Labels = BTreeMap<String, String>;

/// Whether a host with `labels` is targeted by `targets` (every target label matches; no
/// targets: every host).
pub fn labels_match(targets: &Labels, labels: &Labels) -> bool {
    targets.iter().all(|(k, v)| labels.get(k) == Some(v))
}

/// A peer id as 40 hex digits (how the fleet protocol carries the origin's).
pub fn peer_id_hex(id: &[u8; 20]) -> String {
    hex::encode(id)
}

/// Parses [`peer_id_hex`]; `None` unless it is 40 hex digits.
pub fn parse_peer_id(text: &str) -> Option<[u8; 20]> {
    let bytes = hex::decode(text).ok()?;
    bytes.try_into().ok()
}

/// What the manager says about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FleetInfo {
    /// What release torrents should announce to.
    pub announce_url: String,
}

/// Where one release is on one host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlacementState {
    /// Known, not started (or checking what is on disk).
    Pending,
    /// Fetching pieces.
    Downloading,
    /// Every piece verified; seeding.
    Verified,
    /// Stopped with a reason.
    Failed,
    /// Removed by retention.
    Deleted,
}

impl PlacementState {
    /// The JSON name.
    pub fn as_str(self) -> &'static str {
        match self {
            PlacementState::Pending => "pending",
            PlacementState::Downloading => "downloading",
            PlacementState::Verified => "verified",
            PlacementState::Failed => "failed",
            PlacementState::Deleted => "deleted",
        }
    }

    /// Parses [`Self::as_str`].
    pub fn parse(text: &str) -> Option<Self> {
        [
            PlacementState::Pending,
            PlacementState::Downloading,
            PlacementState::Verified,
            PlacementState::Failed,
            PlacementState::Deleted,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

/// One release as an agent reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlacementReport {
    /// The release.
    pub release_id: i64,
    /// Its state here.
    pub state: PlacementState,
    /// Bytes of verified pieces on disk.
    pub have_bytes: u64,
    /// Payload bytes received since the agent started (`session`).
    pub downloaded_bytes: u64,
    /// Payload bytes sent since the agent started.
    pub uploaded_bytes: u64,
    /// Receive rate over the last report interval, bytes per second.
    pub down_bps: u64,
    /// Send rate over the last report interval, bytes per second.
    pub up_bps: u64,
    /// Open connections.
    pub peers: u32,
    /// Why it failed (or what holds it up).
    pub reason: Option<String>,
    /// Of `downloaded_bytes`, what came from the origin (`None`: the origin is not known).
    #[serde(default)]
    pub from_origin_bytes: Option<u64>,
}

/// An agent's registration and report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentReport {
    /// Changes every time the agent starts: byte counters restart with it.
    pub session: String,
    /// The host's labels.
    pub labels: Labels,
    /// Where its peers reach it (`ip:port`), if known.
    pub listen: Option<String>,
    /// Free bytes in its download directory.
    pub free_disk_bytes: Option<u64>,
    /// Its link rate in bits per second, when the operator gave one (for the fluid bound).
    pub link_bps: Option<u64>,
    /// Every release it holds or works on.
    pub releases: Vec<PlacementReport>,
}

/// A release as the manager hands it to agents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DesiredRelease {
    /// Release id.
    pub id: i64,
    /// Its channel (`nightly-iso`): the directory under the agent's `--dir`.
    pub channel: String,
    /// The torrent's name: the file under the channel directory.
    pub name: String,
    /// 40 hex digits.
    pub info_hash: String,
    /// Content length, bytes.
    pub size_bytes: u64,
    /// The origin's peer id (40 hex digits), to tell bytes from the origin apart.
    #[serde(default)]
    pub origin_peer_id: Option<String>,
}

/// A release this host is the origin of: its agent seeds the published file in place
/// (origin protection on, the origin's peer id), and never deletes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OriginSeed {
    /// The release.
    pub release: DesiredRelease,
    /// The published path on this host, as `swarm publish` was given it (absolute).
    pub path: String,
}

/// What one host should hold.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Desired {
    /// Fetch, verify and seed these.
    pub keep: Vec<DesiredRelease>,
    /// Stop seeding and delete these (dropped by retention).
    pub delete: Vec<DesiredRelease>,
    /// Seed these as their origin, until retention drops them.
    #[serde(default)]
    pub seed: Vec<OriginSeed>,
}

/// Where `swarm publish` runs, for the manager to hand the seeding to that host's agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OriginAgent {
    /// The agent's host name.
    pub host: String,
    /// The published path (absolute).
    pub path: String,
}

/// Why a desired state from the manager is refused: the agent joins a release's channel
/// and name under its directory, to fetch there and to delete there.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnsafeRelease {
    /// A channel or name that is not one plain path component (`..`, `a/b`, empty, …).
    #[error("release {id}: {what} {value:?} is not a plain file name")]
    Path {
        /// The release.
        id: i64,
        /// `channel` or `name`.
        what: &'static str,
        /// What the manager sent.
        value: String,
    },
    /// An info-hash that is not 40 hex digits.
    #[error("release {id}: info-hash {value:?} is not 40 hex digits")]
    InfoHash {
        /// The release.
        id: i64,
        /// What the manager sent.
        value: String,
    },
}

impl DesiredRelease {
    /// Whether its channel and name are plain file names and its info-hash is well formed.
    pub fn check(&self) -> Result<(), UnsafeRelease> {
        for (what, value) in [("channel", &self.channel), ("name", &self.name)] {
            if !is_plain_file_name(value) {
                return Err(UnsafeRelease::Path {
                    id: self.id,
                    what,
                    value: value.clone(),
                });
            }
        }
        let hash = &self.info_hash;
        if hash.len() != 40 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(UnsafeRelease::InfoHash {
                id: self.id,
                value: hash.clone(),
            });
        }
        Ok(())
    }
}

impl Desired {
    /// Every release checked ([`DesiredRelease::check`]): kept, deleted and seeded alike.
    pub fn check(&self) -> Result<(), UnsafeRelease> {
        self.keep
            .iter()
            .chain(&self.delete)
            .chain(self.seed.iter().map(|s| &s.release))
            .try_for_each(DesiredRelease::check)
    }
}

/// One normal path component: not empty, not `.` or `..`, no separator or NUL.
fn is_plain_file_name(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains(['/', '\\', '\0'])
}

/// `swarm publish` registering a release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishRequest {
    /// Channel name.
    pub channel: String,
    /// New retention of the channel (newest N releases kept), if given.
    pub keep: Option<u32>,
    /// Labels the rollout targets (empty: every agent).
    pub to: Labels,
    /// The `.torrent`, hex-encoded.
    pub torrent_hex: String,
    /// The origin's upload rate, bits per second, if known (for the fluid bound).
    pub origin_bps: Option<u64>,
    /// The peer id the origin seeds with (40 hex digits).
    #[serde(default)]
    pub origin_peer_id: Option<String>,
    /// The agent that should seed the release, if one runs where publish does.
    #[serde(default)]
    pub origin_agent: Option<OriginAgent>,
}

/// The answer to a [`PublishRequest`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Published {
    /// The new release.
    pub release_id: i64,
    /// Its rollout.
    pub rollout_id: i64,
    /// 40 hex digits.
    pub info_hash: String,
    /// Hosts targeted now.
    pub hosts: Vec<String>,
    /// The agent that seeds the release as its origin (`None`: publish seeds it).
    #[serde(default)]
    pub seeded_by: Option<String>,
}

/// The origin's upload for a rollout's torrent, bytes since publish started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct OriginReport {
    /// Payload bytes sent.
    pub uploaded_bytes: u64,
}

/// One host's placement in a rollout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostPlacement {
    /// Host name.
    pub host: String,
    /// Its labels.
    pub labels: Labels,
    /// Its state.
    pub state: PlacementState,
    /// Verified bytes.
    pub have_bytes: u64,
    /// Payload bytes received over every session of the agent.
    pub downloaded_bytes: u64,
    /// Payload bytes received since the agent last started.
    pub session_downloaded_bytes: u64,
    /// Payload bytes sent.
    pub uploaded_bytes: u64,
    /// Receive rate, bytes per second.
    pub down_bps: u64,
    /// Send rate, bytes per second.
    pub up_bps: u64,
    /// Open connections.
    pub peers: u32,
    /// Why it failed.
    pub reason: Option<String>,
    /// When it was verified, ms since the Unix epoch.
    pub verified_ms: Option<i64>,
    /// Last report about this release, ms since the Unix epoch (`None`: never reported).
    pub reported_ms: Option<i64>,
    /// Of `downloaded_bytes`, those from the origin, when its agent tells them apart.
    pub from_origin_bytes: Option<u64>,
    /// Of `downloaded_bytes`, those from other peers, when its agent tells them apart.
    pub from_peers_bytes: Option<u64>,
}

/// Counts of placements by state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateCounts {
    /// Not started.
    pub pending: u32,
    /// Fetching.
    pub downloading: u32,
    /// Done.
    pub verified: u32,
    /// Failed.
    pub failed: u32,
    /// Dropped by retention.
    pub deleted: u32,
}

/// A rollout: one release to the hosts its labels target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RolloutView {
    /// Rollout id.
    pub id: i64,
    /// Its release.
    pub release_id: i64,
    /// The release's channel.
    pub channel: String,
    /// The release's file name.
    pub name: String,
    /// 40 hex digits.
    pub info_hash: String,
    /// Content length, bytes.
    pub size_bytes: u64,
    /// Target labels.
    pub to: Labels,
    /// Start, ms since the Unix epoch.
    pub started_ms: i64,
    /// When the last targeted host was verified.
    pub finished_ms: Option<i64>,
    /// Finish − start, seconds.
    pub makespan_s: Option<f64>,
    /// The fluid bound, seconds, when every link rate is known.
    pub bound_s: Option<f64>,
    /// `makespan_s / bound_s`.
    pub makespan_over_bound: Option<f64>,
    /// What the origin sent to this rollout's hosts, bytes: the sum of their bytes from
    /// the origin when every host tells them apart, else what the origin reported sending.
    pub origin_uploaded_bytes: u64,
    /// `origin_uploaded_bytes / size_bytes`.
    pub origin_copies: f64,
    /// Placements by state.
    pub counts: StateCounts,
    /// Every targeted host.
    pub hosts: Vec<HostPlacement>,
    /// The origin's agent, when it seeds the release.
    #[serde(default)]
    pub origin: Option<OriginPlacement>,
}

/// The origin's agent seeding a release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OriginPlacement {
    /// Its host name.
    pub host: String,
    /// `verified` once it seeds, `failed` (with a reason) if it cannot; `None`: not yet
    /// reported.
    pub state: Option<PlacementState>,
    /// Why it failed.
    pub reason: Option<String>,
    /// Its last report, ms since the Unix epoch.
    pub reported_ms: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn release(channel: &str, name: &str, info_hash: &str) -> DesiredRelease {
        DesiredRelease {
            id: 7,
            channel: channel.into(),
            name: name.into(),
            info_hash: info_hash.into(),
            size_bytes: 1,
            origin_peer_id: None,
        }
    }

    #[test]
    fn peer_ids_round_trip_through_hex() {
        let id = [0xab; 20];
        assert_eq!(parse_peer_id(&peer_id_hex(&id)), Some(id));
        assert_eq!(parse_peer_id("abcd"), None);
        assert_eq!(parse_peer_id("zz"), None);
    }

    #[test]
    fn releases_that_would_leave_the_agent_directory_are_refused() {
        let hash = "ab".repeat(20);
        assert_eq!(release("nightly", "img.iso", &hash).check(), Ok(()));
        for (channel, name) in [
            ("..", "x"),
            ("a/b", "x"),
            ("", "x"),
            ("c", ".."),
            ("c", "/etc"),
        ] {
            let desired = Desired {
                keep: vec![],
                delete: vec![release(channel, name, &hash)],
                seed: vec![],
            };
            assert!(
                matches!(desired.check(), Err(UnsafeRelease::Path { id: 7, .. })),
                "{channel:?}/{name:?}"
            );
        }
        let seeded = Desired {
            keep: vec![],
            delete: vec![],
            seed: vec![OriginSeed {
                release: release("..", "x", &hash),
                path: "/builds/x".into(),
            }],
        };
        assert!(matches!(seeded.check(), Err(UnsafeRelease::Path { .. })));
        let bad_hash = release("c", "x", "zz");
        assert!(matches!(
            bad_hash.check(),
            Err(UnsafeRelease::InfoHash { .. })
        ));
    }
}
