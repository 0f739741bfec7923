//! Everything one rendering of the fleet page shows, read from the fleet tables in one
//! go ([`Board::gather`]), and who counts as gone.
//!
//! A host is **gone** when its agent has not reported for [`GONE_AFTER_MS`] (agents report
//! every second; a stopped, killed or cut-off agent goes silent, and so does every host
//! after a restart of the manager until its agent reports again). A gone host keeps what
//! it held in the tables and on the page, but never counts as live: no rates, no seeding.

use std::collections::BTreeMap;

use swarm_service::wire::{HostPlacement, PlacementState, RolloutView};

use crate::fleet::board::{PlacementCell, ReleaseColumn, RolloutSummary};
use crate::fleet::store::{FleetStore, HostRow, StoreError};

/// A host silent for this long is gone.
pub const GONE_AFTER_MS: i64 = 5_000;
/// Releases shown as matrix columns (the newest).
pub const MAX_MATRIX_RELEASES: u32 = 8;
/// Rollouts listed in the history (the newest).
pub const MAX_HISTORY: u32 = 50;
/// Hosts shown on the page (by name); more are counted, not listed.
pub const MAX_PAGE_HOSTS: usize = 2_000;

/// One rendering's data.
#[derive(Debug, Clone)]
pub struct Board {
    /// When it was read, Unix ms.
    pub now_ms: i64,
    /// The rollout shown (the newest unless one was asked for).
    pub rollout: Option<RolloutView>,
    /// The newest rollout's id.
    pub latest_id: Option<i64>,
    /// Hosts by name, at most [`MAX_PAGE_HOSTS`].
    pub hosts: Vec<HostRow>,
    /// Hosts beyond [`MAX_PAGE_HOSTS`].
    pub hosts_hidden: usize,
    /// The matrix's releases, newest first.
    pub columns: Vec<ReleaseColumn>,
    /// The matrix's cells, by host then release.
    pub cells: Vec<PlacementCell>,
    /// The newest rollouts, newest first.
    pub history: Vec<RolloutSummary>,
}

impl Board {
    /// Reads the page's data; `selected` picks a rollout (default: the newest).
    pub fn gather(
        store: &FleetStore,
        selected: Option<i64>,
        now_ms: i64,
    ) -> Result<Board, StoreError> {
        let latest_id = store.latest_rollout_id()?;
        let rollout = match selected.or(latest_id) {
            Some(id) => store.rollout(id)?,
            None => None,
        };
        let mut hosts = store.hosts()?;
        let hosts_hidden = hosts.len().saturating_sub(MAX_PAGE_HOSTS);
        hosts.truncate(MAX_PAGE_HOSTS);
        let (columns, cells) = store.matrix(MAX_MATRIX_RELEASES)?;
        let history = store.rollout_summaries(MAX_HISTORY)?;
        Ok(Board {
            now_ms,
            rollout,
            latest_id,
            hosts,
            hosts_hidden,
            columns,
            cells,
            history,
        })
    }

    /// Whether the rollout shown is the newest (and so live).
    pub fn shows_latest(&self) -> bool {
        self.rollout.as_ref().map(|r| r.id) == self.latest_id
    }

    /// Last report of each host, Unix ms.
    pub fn last_seen(&self) -> BTreeMap<&str, i64> {
        self.hosts
            .iter()
            .map(|h| (h.name.as_str(), h.last_seen_ms))
            .collect()
    }

    /// Whether a host last seen at `last_seen_ms` (none: never) is gone.
    pub fn is_gone(&self, last_seen_ms: Option<i64>) -> bool {
        last_seen_ms.is_none_or(|seen| self.now_ms - seen > GONE_AFTER_MS)
    }

    /// The rollout's hosts that are live (not gone).
    pub fn live_placements(&self) -> Vec<&HostPlacement> {
        let seen = self.last_seen();
        self.rollout
            .iter()
            .flat_map(|r| r.hosts.iter())
            .filter(|h| !self.is_gone(seen.get(h.host.as_str()).copied()))
            .collect()
    }

    /// What the rollout's live hosts receive now, bytes per second.
    pub fn swarm_bps(&self) -> u64 {
        self.live_placements().iter().map(|h| h.down_bps).sum()
    }
}

/// Whether a placement counts as verified (a deleted one that was verified does).
pub fn counts_verified(state: PlacementState, verified_ms: Option<i64>) -> bool {
    state == PlacementState::Verified || (state == PlacementState::Deleted && verified_ms.is_some())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use swarm_service::wire::{AgentReport, Labels, PlacementReport};

    fn report(down_bps: u64, release_id: Option<i64>) -> AgentReport {
        AgentReport {
            session: "s".into(),
            labels: Labels::new(),
            listen: None,
            free_disk_bytes: None,
            link_bps: None,
            releases: release_id
                .map(|release_id| PlacementReport {
                    release_id,
                    state: PlacementState::Downloading,
                    have_bytes: 10,
                    downloaded_bytes: 10,
                    uploaded_bytes: 0,
                    down_bps,
                    up_bps: 0,
                    peers: 1,
                    reason: None,
                    from_origin_bytes: None,
                })
                .into_iter()
                .collect(),
        }
    }

    #[test]
    fn a_silent_host_is_gone_and_its_rate_no_longer_counts() {
        let dir = tempfile::tempdir().unwrap();
        let store = FleetStore::open(dir.path()).unwrap();
        store.apply_report("live", &report(0, None), 1_000).unwrap();
        store
            .apply_report("quiet", &report(0, None), 1_000)
            .unwrap();
        let release = crate::fleet::store::ReleaseRow {
            id: 0,
            channel: "c".into(),
            name: "f".into(),
            info_hash: "00".repeat(20),
            size_bytes: 100,
            created_ms: 1_500,
            origin_peer_id: None,
        };
        let id = store
            .publish(&release, b"t", &Labels::new(), None, None)
            .unwrap()
            .release_id;
        store
            .apply_report("quiet", &report(300, Some(id)), 2_000)
            .unwrap();
        store
            .apply_report("live", &report(100, Some(id)), 9_000)
            .unwrap();
        let board = Board::gather(&store, None, 9_500).unwrap();
        assert!(board.shows_latest());
        assert!(!board.is_gone(Some(9_000)));
        assert!(board.is_gone(Some(2_000)));
        assert!(board.is_gone(None));
        assert_eq!(board.swarm_bps(), 100, "the quiet host's 300 B/s is stale");
        assert_eq!(board.rollout.as_ref().unwrap().hosts.len(), 2);
    }
}
