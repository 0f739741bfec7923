//! What the fleet page reads from the fleet tables besides one rollout's view: the history
//! of rollouts with their figures (one aggregate query, so it costs the same however many
//! hosts there are), the newest releases and every placement of them (the hosts × releases
//! matrix), and which rollout is the newest.

use rusqlite::params;
use swarm_service::wire::{Labels, PlacementState};

use super::rollout::{fluid_bound_from, origin_upload};
use super::store::{parse_labels, FleetStore, StoreError};

/// One past (or running) rollout with its figures, as the history lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct RolloutSummary {
    /// Rollout id.
    pub id: i64,
    /// Its release.
    pub release_id: i64,
    /// The release's channel.
    pub channel: String,
    /// The release's file name.
    pub name: String,
    /// Content length, bytes.
    pub size_bytes: u64,
    /// Target labels.
    pub to: Labels,
    /// Start, ms since the Unix epoch.
    pub started_ms: i64,
    /// When the last targeted host was verified.
    pub finished_ms: Option<i64>,
    /// Hosts targeted.
    pub targeted: u32,
    /// Hosts that verified it (deleted since included).
    pub verified: u32,
    /// Hosts that failed.
    pub failed: u32,
    /// The fluid bound, seconds, when every rate is known.
    pub bound_s: Option<f64>,
    /// What the origin sent, bytes.
    pub origin_uploaded_bytes: u64,
}

impl RolloutSummary {
    /// Finish − start, seconds.
    pub fn makespan_s(&self) -> Option<f64> {
        self.finished_ms
            .map(|f| (f - self.started_ms).max(0) as f64 / 1000.0)
    }

    /// The origin's upload in copies of the release.
    pub fn origin_copies(&self) -> f64 {
        self.origin_uploaded_bytes as f64 / self.size_bytes.max(1) as f64
    }
}

/// One release as a column of the matrix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseColumn {
    /// Release id.
    pub id: i64,
    /// Its channel.
    pub channel: String,
    /// Its file name.
    pub name: String,
    /// Content length, bytes.
    pub size_bytes: u64,
}

/// One (host, release) cell of the matrix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlacementCell {
    /// Host name.
    pub host: String,
    /// Release id.
    pub release_id: i64,
    /// Its state.
    pub state: PlacementState,
    /// Verified bytes.
    pub have_bytes: u64,
    /// Why it failed, if it did.
    pub reason: Option<String>,
    /// It was verified once (a deleted placement held a verified copy).
    pub was_verified: bool,
}

impl FleetStore {
    /// The newest rollout's id, if any.
    pub fn latest_rollout_id(&self) -> Result<Option<i64>, StoreError> {
        let id: Option<i64> =
            self.lock()
                .query_row("SELECT MAX(id) FROM fleet_rollouts", [], |row| row.get(0))?;
        Ok(id)
    }

    /// The newest `limit` rollouts, newest first, with their counts and bounds.
    pub fn rollout_summaries(&self, limit: u32) -> Result<Vec<RolloutSummary>, StoreError> {
        let connection = self.lock();
        let mut statement = connection.prepare(
            "SELECT ro.id, r.id, r.channel, r.name, r.size_bytes, ro.targets, ro.started_ms,
                    ro.finished_ms, ro.origin_bps, ro.origin_uploaded_bytes,
                    COUNT(p.host),
                    COALESCE(SUM(p.state = 'verified'
                                 OR (p.state = 'deleted' AND p.verified_ms IS NOT NULL)), 0),
                    COALESCE(SUM(p.state = 'failed'), 0),
                    COUNT(h.link_bps), MIN(h.link_bps), SUM(h.link_bps),
                    COUNT(p.session_from_origin),
                    SUM(p.from_origin_before + p.session_from_origin)
             FROM fleet_rollouts ro JOIN fleet_releases r ON r.id = ro.release_id
             LEFT JOIN fleet_placements p ON p.release_id = r.id
             LEFT JOIN fleet_hosts h ON h.name = p.host AND h.link_bps > 0
             GROUP BY ro.id ORDER BY ro.id DESC LIMIT ?1",
        )?;
        let rows = statement.query_map(params![limit], |row| {
            let number = |i: usize| row.get::<_, Option<i64>>(i);
            Ok((
                (row.get::<_, i64>(0)?, row.get::<_, i64>(1)?),
                (row.get::<_, String>(2)?, row.get::<_, String>(3)?),
                row.get::<_, i64>(4)?,
                row.get::<_, String>(5)?,
                (row.get::<_, i64>(6)?, number(7)?),
                (number(8)?, row.get::<_, i64>(9)?),
                (row.get::<_, i64>(10)?, number(11)?, number(12)?),
                (row.get::<_, i64>(13)?, number(14)?, number(15)?),
                (row.get::<_, i64>(16)?, number(17)?),
            ))
        })?;
        let count = |v: Option<i64>| u32::try_from(v.unwrap_or(0)).unwrap_or(0);
        let unsigned = |v: i64| u64::try_from(v).unwrap_or(0);
        rows.map(|row| {
            let (ids, names, size, targets, times, origin, counts, links, from_origin) = row?;
            let (targeted, verified, failed) = counts;
            let (known, slowest, total) = links;
            let size_bytes = unsigned(size);
            let bound_s = match (origin.0, slowest, total) {
                (Some(origin), Some(slowest), Some(total)) if known == targeted && known > 0 => {
                    fluid_bound_from(
                        size_bytes,
                        unsigned(origin),
                        unsigned(known),
                        unsigned(slowest),
                        unsigned(total),
                    )
                }
                _ => None,
            };
            Ok(RolloutSummary {
                id: ids.0,
                release_id: ids.1,
                to: parse_labels(&format!("rollout {}", ids.0), &targets)?,
                channel: names.0,
                name: names.1,
                size_bytes,
                started_ms: times.0,
                finished_ms: times.1,
                targeted: u32::try_from(targeted).unwrap_or(0),
                verified: count(verified),
                failed: count(failed),
                bound_s,
                origin_uploaded_bytes: origin_upload(
                    (targeted > 0 && from_origin.0 == targeted)
                        .then(|| unsigned(from_origin.1.unwrap_or(0))),
                    unsigned(origin.1),
                ),
            })
        })
        .collect()
    }

    /// The newest `limit` releases (newest first) and every placement of them.
    pub fn matrix(
        &self,
        limit: u32,
    ) -> Result<(Vec<ReleaseColumn>, Vec<PlacementCell>), StoreError> {
        let connection = self.lock();
        let mut statement = connection.prepare(
            "SELECT id, channel, name, size_bytes FROM fleet_releases ORDER BY id DESC LIMIT ?1",
        )?;
        let columns = statement
            .query_map(params![limit], |row| {
                Ok(ReleaseColumn {
                    id: row.get(0)?,
                    channel: row.get(1)?,
                    name: row.get(2)?,
                    size_bytes: u64::try_from(row.get::<_, i64>(3)?).unwrap_or(0),
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let oldest = columns.last().map_or(i64::MAX, |c| c.id);
        let mut statement = connection.prepare(
            "SELECT host, release_id, state, have_bytes, reason, verified_ms IS NOT NULL
             FROM fleet_placements WHERE release_id >= ?1 ORDER BY host, release_id",
        )?;
        let rows = statement.query_map(params![oldest], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, i64>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, i64>(3)?,
                row.get::<_, Option<String>>(4)?,
                row.get::<_, bool>(5)?,
            ))
        })?;
        let mut cells = Vec::new();
        for row in rows {
            let (host, release_id, state, have, reason, was_verified) = row?;
            let state = PlacementState::parse(&state).ok_or_else(|| StoreError::Corrupt {
                what: format!("placement {host} × {release_id}"),
                reason: format!("state {state:?}"),
            })?;
            cells.push(PlacementCell {
                host,
                release_id,
                state,
                have_bytes: u64::try_from(have).unwrap_or(0),
                reason,
                was_verified,
            });
        }
        Ok((columns, cells))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::fleet::store::ReleaseRow;
    use swarm_service::wire::{AgentReport, PlacementReport};

    fn report(link_bps: Option<u64>, releases: Vec<PlacementReport>) -> AgentReport {
        AgentReport {
            session: "s".into(),
            labels: [("role".to_string(), "test".to_string())].into(),
            listen: None,
            free_disk_bytes: None,
            link_bps,
            releases,
        }
    }

    fn placement(release_id: i64, state: PlacementState, have_bytes: u64) -> PlacementReport {
        PlacementReport {
            release_id,
            state,
            have_bytes,
            downloaded_bytes: have_bytes,
            uploaded_bytes: 0,
            down_bps: 0,
            up_bps: 0,
            peers: 0,
            reason: (state == PlacementState::Failed).then(|| "disk full".into()),
            from_origin_bytes: None,
        }
    }

    fn release(name: &str, created_ms: i64) -> ReleaseRow {
        ReleaseRow {
            id: 0,
            channel: "nightly".into(),
            name: name.into(),
            info_hash: "00".repeat(20),
            size_bytes: 1_000_000,
            created_ms,
            origin_peer_id: None,
        }
    }

    #[test]
    fn history_counts_and_bounds_each_rollout_and_the_matrix_has_every_cell() {
        let dir = tempfile::tempdir().unwrap();
        let store = FleetStore::open(dir.path()).unwrap();
        assert_eq!(store.latest_rollout_id().unwrap(), None);
        for host in ["a", "b"] {
            store
                .apply_report(host, &report(Some(8_000_000), vec![]), 1_000)
                .unwrap();
        }
        let to = Labels::new();
        let v1 = store
            .publish(&release("v1.img", 2_000), b"t", &to, Some(8_000_000), None)
            .unwrap();
        let v2 = store
            .publish(&release("v2.img", 3_000), b"t", &to, None, None)
            .unwrap();
        let (r1, o1) = (v1.release_id, v1.rollout_id);
        let (r2, o2) = (v2.release_id, v2.rollout_id);
        let done = |id| placement(id, PlacementState::Verified, 1_000_000);
        store
            .apply_report(
                "a",
                &report(Some(8_000_000), vec![done(r1), done(r2)]),
                4_000,
            )
            .unwrap();
        let b = vec![done(r1), placement(r2, PlacementState::Failed, 0)];
        store
            .apply_report("b", &report(Some(8_000_000), b), 5_000)
            .unwrap();
        assert_eq!(store.latest_rollout_id().unwrap(), Some(o2));
        let history = store.rollout_summaries(10).unwrap();
        assert_eq!(history.len(), 2);
        let (second, first) = (&history[0], &history[1]);
        assert_eq!((second.id, second.verified, second.failed), (o2, 1, 1));
        assert_eq!(second.bound_s, None, "publish gave no origin rate");
        assert_eq!(second.finished_ms, None);
        assert_eq!((first.id, first.targeted, first.verified), (o1, 2, 2));
        // 1 MB at 8 Mbit/s everywhere: F/u_s = F/d = 1 s, 2F/(3 u) = 0.67 s.
        assert_eq!(first.bound_s, Some(1.0));
        assert_eq!(first.makespan_s(), Some(3.0));
        let (columns, cells) = store.matrix(10).unwrap();
        assert_eq!(columns.iter().map(|c| c.id).collect::<Vec<_>>(), [r2, r1]);
        assert_eq!(cells.len(), 4);
        let failed = cells.iter().find(|c| c.host == "b" && c.release_id == r2);
        assert_eq!(failed.unwrap().reason.as_deref(), Some("disk full"));
        let (columns, cells) = store.matrix(1).unwrap();
        assert_eq!((columns.len(), cells.len()), (1, 2));
    }

    #[test]
    fn history_and_rollout_view_count_the_origin_upload_alike() {
        let dir = tempfile::tempdir().unwrap();
        let store = FleetStore::open(dir.path()).unwrap();
        let to = Labels::new();
        let v1 = store
            .publish(&release("v1.img", 2_000), b"t", &to, None, None)
            .unwrap();
        store.set_origin_upload(v1.rollout_id, 1_500_000).unwrap();
        let got = |id, from_origin| PlacementReport {
            from_origin_bytes: from_origin,
            ..placement(id, PlacementState::Verified, 1_000_000)
        };
        let uploads = |store: &FleetStore| {
            let history = store.rollout_summaries(1).unwrap()[0].origin_uploaded_bytes;
            let view = store.rollout(v1.rollout_id).unwrap().unwrap();
            (history, view.origin_uploaded_bytes)
        };
        let r = v1.release_id;
        store
            .apply_report("a", &report(None, vec![got(r, Some(600_000))]), 3_000)
            .unwrap();
        store
            .apply_report("b", &report(None, vec![got(r, None)]), 3_000)
            .unwrap();
        // b does not know the origin: both fall back to what the origin reported.
        assert_eq!(uploads(&store), (1_500_000, 1_500_000));
        store
            .apply_report("b", &report(None, vec![got(r, Some(400_000))]), 4_000)
            .unwrap();
        // Every host knows: both are the sum of what the hosts got from the origin.
        assert_eq!(uploads(&store), (1_000_000, 1_000_000));
    }
}
