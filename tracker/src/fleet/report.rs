//! Agents' reports into the fleet tables, and each host's desired state out of them.
//!
//! A report registers (or refreshes) the host and updates its placements; byte counters
//! restart with each agent session, so the total a placement shows is what earlier
//! sessions received plus what this one has. A host's desired state is every release whose
//! rollout targets its labels and that its channel's retention keeps (the newest `keep`),
//! and, to delete, what it still holds that retention dropped; and, to seed in place, the
//! retained releases it is the origin of (their reports go on the rollout, not a placement).

use std::collections::BTreeMap;

use rusqlite::{params, Connection, OptionalExtension, Transaction};
use swarm_service::wire::{
    labels_match, AgentReport, Desired, DesiredRelease, OriginSeed, PlacementReport, PlacementState,
};

use super::store::{keep_of, parse_labels, FleetStore, StoreError};

/// Most releases one report may speak of; the rest are ignored.
pub const MAX_REPORTED_RELEASES: usize = 1000;
/// Most labels a host may have.
pub const MAX_HOST_LABELS: usize = 64;
/// Longest reason text kept from a report.
pub const MAX_REASON_CHARS: usize = 500;

impl FleetStore {
    /// Registers or refreshes `host` from its report and updates its placements; returns
    /// what it should hold now.
    pub fn apply_report(
        &self,
        host: &str,
        report: &AgentReport,
        now_ms: i64,
    ) -> Result<Desired, StoreError> {
        let mut connection = self.lock();
        let tx = connection.transaction()?;
        let labels = serde_json::to_string(&report.labels).unwrap_or_else(|_| "{}".into());
        tx.execute(
            "INSERT INTO fleet_hosts (name, labels, listen, free_disk_bytes, link_bps, last_seen_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT(name) DO UPDATE SET labels = excluded.labels, listen = excluded.listen,
                free_disk_bytes = excluded.free_disk_bytes, link_bps = excluded.link_bps,
                last_seen_ms = excluded.last_seen_ms",
            params![
                host,
                labels,
                report.listen,
                report.free_disk_bytes.map(|b| b as i64),
                report.link_bps.map(|b| b as i64),
                now_ms
            ],
        )?;
        for placement in report.releases.iter().take(MAX_REPORTED_RELEASES) {
            update_placement(&tx, host, &report.session, placement, now_ms)?;
        }
        let desired = desired(&tx, host)?;
        for release in &desired.keep {
            tx.execute(
                "INSERT OR IGNORE INTO fleet_placements (host, release_id, state)
                 VALUES (?1, ?2, 'pending')",
                params![host, release.id],
            )?;
        }
        mark_finished(&tx)?;
        tx.commit()?;
        Ok(desired)
    }

    /// What `host` should hold now (nothing if it never registered).
    pub fn desired(&self, host: &str) -> Result<Desired, StoreError> {
        desired(&self.lock(), host)
    }
}

fn update_placement(
    tx: &Transaction<'_>,
    host: &str,
    session: &str,
    report: &PlacementReport,
    now_ms: i64,
) -> Result<(), StoreError> {
    let origin_host: Option<Option<String>> = tx
        .query_row(
            "SELECT origin_host FROM fleet_releases WHERE id = ?1",
            [report.release_id],
            |row| row.get(0),
        )
        .optional()?;
    let Some(origin_host) = origin_host else {
        return Ok(()); // not a release of ours
    };
    if origin_host.as_deref() == Some(host) {
        return update_origin(tx, report, now_ms);
    }
    let (before, from_origin_before) = earlier_sessions(tx, host, session, report.release_id)?;
    let reason = report
        .reason
        .as_ref()
        .map(|r| r.chars().take(MAX_REASON_CHARS).collect::<String>());
    let verified_now = (report.state == PlacementState::Verified).then_some(now_ms);
    tx.execute(
        "INSERT INTO fleet_placements (host, release_id, state, have_bytes, downloaded_before,
            session, session_downloaded, uploaded_bytes, down_bps, up_bps, peers, reason,
            verified_ms, reported_ms, from_origin_before, session_from_origin)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)
         ON CONFLICT(host, release_id) DO UPDATE SET state = excluded.state,
            have_bytes = excluded.have_bytes, downloaded_before = excluded.downloaded_before,
            session = excluded.session, session_downloaded = excluded.session_downloaded,
            uploaded_bytes = excluded.uploaded_bytes, down_bps = excluded.down_bps,
            up_bps = excluded.up_bps, peers = excluded.peers, reason = excluded.reason,
            verified_ms = COALESCE(fleet_placements.verified_ms, excluded.verified_ms),
            reported_ms = excluded.reported_ms,
            from_origin_before = excluded.from_origin_before,
            session_from_origin = excluded.session_from_origin",
        params![
            host,
            report.release_id,
            report.state.as_str(),
            clamp(report.have_bytes),
            before,
            session,
            clamp(report.downloaded_bytes),
            clamp(report.uploaded_bytes),
            clamp(report.down_bps),
            clamp(report.up_bps),
            report.peers,
            reason,
            verified_now,
            now_ms,
            from_origin_before,
            report.from_origin_bytes.map(clamp)
        ],
    )?;
    Ok(())
}

/// What earlier sessions of the agent received for this placement, in all and from the
/// origin: the stored totals, plus the last session's counters when `session` is new.
fn earlier_sessions(
    tx: &Transaction<'_>,
    host: &str,
    session: &str,
    release_id: i64,
) -> Result<(i64, i64), StoreError> {
    let previous: Option<(String, i64, i64, i64, Option<i64>)> = tx
        .query_row(
            "SELECT session, session_downloaded, downloaded_before, from_origin_before,
                    session_from_origin
             FROM fleet_placements WHERE host = ?1 AND release_id = ?2",
            params![host, release_id],
            |row| {
                Ok((
                    row.get(0)?,
                    row.get(1)?,
                    row.get(2)?,
                    row.get(3)?,
                    row.get(4)?,
                ))
            },
        )
        .optional()?;
    Ok(match previous {
        Some((old, bytes, before, origin_before, origin)) if old != session => (
            before.saturating_add(bytes),
            origin_before.saturating_add(origin.unwrap_or(0)),
        ),
        Some((_, _, before, origin_before, _)) => (before, origin_before),
        None => (0, 0),
    })
}

/// The origin's agent reporting the release it seeds: its state and upload go on the
/// rollout (the origin is not one of its targets). The upload only grows, as with
/// [`FleetStore::set_origin_upload`].
fn update_origin(
    tx: &Transaction<'_>,
    report: &PlacementReport,
    now_ms: i64,
) -> Result<(), StoreError> {
    let reason = report
        .reason
        .as_ref()
        .map(|r| r.chars().take(MAX_REASON_CHARS).collect::<String>());
    tx.execute(
        "UPDATE fleet_rollouts SET origin_state = ?2, origin_reason = ?3,
            origin_reported_ms = ?4,
            origin_uploaded_bytes = MAX(origin_uploaded_bytes, ?5)
         WHERE release_id = ?1",
        params![
            report.release_id,
            report.state.as_str(),
            reason,
            now_ms,
            clamp(report.uploaded_bytes)
        ],
    )?;
    Ok(())
}

/// A counter as SQLite stores it.
fn clamp(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// Rollouts whose every placement is verified (or verified then dropped) are finished at
/// the last verification.
fn mark_finished(tx: &Transaction<'_>) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE fleet_rollouts SET finished_ms = (
             SELECT MAX(p.verified_ms) FROM fleet_placements p
             WHERE p.release_id = fleet_rollouts.release_id)
         WHERE finished_ms IS NULL
           AND EXISTS (SELECT 1 FROM fleet_placements p
                       WHERE p.release_id = fleet_rollouts.release_id)
           AND NOT EXISTS (SELECT 1 FROM fleet_placements p
                           WHERE p.release_id = fleet_rollouts.release_id
                             AND (p.verified_ms IS NULL
                                  OR p.state NOT IN ('verified', 'deleted')))",
        [],
    )?;
    Ok(())
}

fn desired(connection: &Connection, host: &str) -> Result<Desired, StoreError> {
    let labels: Option<String> = connection
        .query_row(
            "SELECT labels FROM fleet_hosts WHERE name = ?1",
            [host],
            |row| row.get(0),
        )
        .optional()?;
    let Some(labels) = labels else {
        return Ok(Desired::default());
    };
    let labels = parse_labels(host, &labels)?;
    let mut statement = connection.prepare(
        "SELECT r.id, r.channel, r.name, r.info_hash, r.size_bytes, r.origin_peer_id,
                ro.targets,
                (SELECT p.state FROM fleet_placements p WHERE p.host = ?1 AND p.release_id = r.id),
                CASE WHEN r.origin_host = ?1 THEN r.origin_path END
         FROM fleet_releases r JOIN fleet_rollouts ro ON ro.release_id = r.id
         ORDER BY r.channel, r.id DESC",
    )?;
    let rows = statement.query_map([host], |row| {
        Ok((
            DesiredRelease {
                id: row.get(0)?,
                channel: row.get(1)?,
                name: row.get(2)?,
                info_hash: row.get(3)?,
                size_bytes: u64::try_from(row.get::<_, i64>(4)?).unwrap_or(0),
                origin_peer_id: row.get(5)?,
            },
            row.get::<_, String>(6)?,
            row.get::<_, Option<String>>(7)?,
            row.get::<_, Option<String>>(8)?,
        ))
    })?;
    let mut desired = Desired::default();
    let mut seen: BTreeMap<String, (u32, u32)> = BTreeMap::new();
    for row in rows {
        let (release, targets, state, origin_path) = row?;
        let keep = match seen.get(&release.channel) {
            Some(&(keep, _)) => keep,
            None => keep_of(connection, &release.channel)?,
        };
        let rank = seen.entry(release.channel.clone()).or_insert((keep, 0));
        rank.1 += 1;
        let retained = rank.1 <= keep;
        let targets = parse_labels(&format!("rollout of release {}", release.id), &targets)?;
        if let Some(path) = origin_path {
            if retained {
                desired.seed.push(OriginSeed { release, path });
            }
        } else if retained && labels_match(&targets, &labels) {
            desired.keep.push(release);
        } else if !retained && state.is_some_and(|s| s != PlacementState::Deleted.as_str()) {
            desired.delete.push(release);
        }
    }
    desired.keep.reverse();
    desired.seed.reverse();
    Ok(desired)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use swarm_service::wire::{Labels, OriginAgent};

    use super::*;
    use crate::fleet::store::ReleaseRow;

    fn report(session: &str, label: &str, releases: Vec<PlacementReport>) -> AgentReport {
        AgentReport {
            session: session.into(),
            labels: Labels::from([("role".to_string(), label.to_string())]),
            listen: None,
            free_disk_bytes: None,
            link_bps: None,
            releases,
        }
    }

    fn placement(state: PlacementState, down: u64, from_origin: u64) -> PlacementReport {
        PlacementReport {
            release_id: 1,
            state,
            have_bytes: down,
            downloaded_bytes: down,
            uploaded_bytes: 7,
            down_bps: 0,
            up_bps: 0,
            peers: 1,
            reason: None,
            from_origin_bytes: Some(from_origin),
        }
    }

    #[test]
    fn the_origins_agent_seeds_in_place_and_bytes_from_the_origin_add_up_over_sessions() {
        let dir = tempfile::tempdir().unwrap();
        let store = FleetStore::open(dir.path()).unwrap();
        store
            .apply_report("build", &report("s", "test", vec![]), 1_000)
            .unwrap();
        store
            .apply_report("t1", &report("s1", "test", vec![]), 1_000)
            .unwrap();
        let release = ReleaseRow {
            id: 0,
            channel: "ci".into(),
            name: "v1.img".into(),
            info_hash: "00".repeat(20),
            size_bytes: 100,
            created_ms: 2_000,
            origin_peer_id: Some("ab".repeat(20)),
        };
        let origin = OriginAgent {
            host: "build".into(),
            path: "/srv/v1.img".into(),
        };
        let rows = store
            .publish(&release, b"torrent", &Labels::new(), None, Some(&origin))
            .unwrap();
        assert_eq!(rows.seeded_by.as_deref(), Some("build"));
        assert_eq!(
            rows.hosts,
            vec!["t1".to_string()],
            "the origin is no target"
        );
        let desired = store.desired("build").unwrap();
        assert!(desired.keep.is_empty(), "{desired:?}");
        assert_eq!(desired.seed[0].path, "/srv/v1.img");
        assert_eq!(
            desired.seed[0].release.origin_peer_id,
            release.origin_peer_id
        );
        let t1 = store.desired("t1").unwrap();
        assert_eq!((t1.keep.len(), t1.seed.len()), (1, 0));

        let seeding = report("s", "test", vec![placement(PlacementState::Verified, 0, 0)]);
        store.apply_report("build", &seeding, 3_000).unwrap();
        // t1 gets 60 bytes (40 from the origin), restarts, then gets the other 40 (all
        // from the origin).
        let first = vec![placement(PlacementState::Downloading, 60, 40)];
        store
            .apply_report("t1", &report("s1", "test", first), 3_000)
            .unwrap();
        let second = vec![placement(PlacementState::Verified, 40, 40)];
        store
            .apply_report("t1", &report("s2", "test", second), 4_000)
            .unwrap();
        let view = store.rollout(rows.rollout_id).unwrap().unwrap();
        assert_eq!(view.hosts.len(), 1);
        let host = &view.hosts[0];
        assert_eq!(host.downloaded_bytes, 100);
        assert_eq!(host.from_origin_bytes, Some(80));
        assert_eq!(host.from_peers_bytes, Some(20));
        assert_eq!(
            view.origin_uploaded_bytes, 80,
            "the hosts' bytes from the origin"
        );
        let origin = view.origin.unwrap();
        assert_eq!(origin.host, "build");
        assert_eq!(origin.state, Some(PlacementState::Verified));
        assert_eq!(view.finished_ms, Some(4_000));
    }
}
