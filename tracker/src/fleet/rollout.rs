//! Rollouts read back from the fleet tables: per-host placements (with bytes from the
//! origin and from peers), counts, makespan, the fluid bound and the origin's upload in
//! copies of this rollout alone: the sum of what its hosts received from the origin, when
//! every one of them tells it apart.
//!
//! The bound is DESIGN's `max(F/u_s, F/min d_i, N·F/(u_s + Σ u_i))`, known only when
//! publish gave the origin's rate and every targeted agent its link rate (taken as both
//! its upload and download).

use rusqlite::{params, OptionalExtension};
use swarm_service::wire::{
    HostPlacement, OriginPlacement, PlacementState, RolloutView, StateCounts,
};

use super::store::{parse_labels, FleetStore, StoreError};

impl FleetStore {
    /// One rollout with every targeted host.
    pub fn rollout(&self, rollout_id: i64) -> Result<Option<RolloutView>, StoreError> {
        let connection = self.lock();
        let head = connection
            .query_row(
                "SELECT ro.id, r.id, r.channel, r.name, r.info_hash, r.size_bytes, ro.targets,
                        ro.started_ms, ro.finished_ms, ro.origin_bps, ro.origin_uploaded_bytes,
                        r.origin_host, ro.origin_state, ro.origin_reason, ro.origin_reported_ms
                 FROM fleet_rollouts ro JOIN fleet_releases r ON r.id = ro.release_id
                 WHERE ro.id = ?1",
                [rollout_id],
                |row| {
                    Ok((
                        (row.get::<_, i64>(0)?, row.get::<_, i64>(1)?),
                        (row.get::<_, String>(2)?, row.get::<_, String>(3)?),
                        row.get::<_, String>(4)?,
                        row.get::<_, i64>(5)?,
                        row.get::<_, String>(6)?,
                        (row.get::<_, i64>(7)?, row.get::<_, Option<i64>>(8)?),
                        row.get::<_, Option<i64>>(9)?,
                        row.get::<_, i64>(10)?,
                        origin_placement(row)?,
                    ))
                },
            )
            .optional()?;
        let Some((
            (id, release_id),
            (channel, name),
            info_hash,
            size,
            targets,
            times,
            bps,
            up,
            origin,
        )) = head
        else {
            return Ok(None);
        };
        let (started_ms, finished_ms) = times;
        let Placements {
            hosts,
            counts,
            links,
        } = placements(&connection, release_id)?;
        let size_bytes = u64::try_from(size).unwrap_or(0);
        let reported = u64::try_from(up).unwrap_or(0);
        let from_origin: Option<u64> = hosts.iter().map(|h| h.from_origin_bytes).sum();
        let origin_uploaded_bytes =
            origin_upload(from_origin.filter(|_| !hosts.is_empty()), reported);
        let makespan_s = finished_ms.map(|f| (f - started_ms).max(0) as f64 / 1000.0);
        let bound_s = fluid_bound_s(size_bytes, bps.and_then(|b| u64::try_from(b).ok()), &links);
        Ok(Some(RolloutView {
            id,
            release_id,
            channel,
            name,
            info_hash,
            size_bytes,
            to: parse_labels(&format!("rollout {id}"), &targets)?,
            started_ms,
            finished_ms,
            makespan_s,
            bound_s,
            makespan_over_bound: makespan_s.zip(bound_s).map(|(m, b)| m / b),
            origin_uploaded_bytes,
            origin_copies: origin_uploaded_bytes as f64 / size_bytes.max(1) as f64,
            counts,
            hosts,
            origin,
        }))
    }

    /// Records what the origin has sent for the rollout's release so far (it only grows).
    /// Returns `false` if there is no such rollout.
    pub fn set_origin_upload(&self, rollout_id: i64, bytes: u64) -> Result<bool, StoreError> {
        let changed = self.lock().execute(
            "UPDATE fleet_rollouts SET origin_uploaded_bytes = MAX(origin_uploaded_bytes, ?2)
             WHERE id = ?1",
            params![rollout_id, i64::try_from(bytes).unwrap_or(i64::MAX)],
        )?;
        Ok(changed == 1)
    }
}

/// What the origin sent for a rollout: the sum of what its hosts got from it when every
/// host knows (`per_host`; it counts per receiver and survives agent restarts), else what
/// the origin reported sending. The rollout view and the history both use it.
pub(super) fn origin_upload(per_host: Option<u64>, reported: u64) -> u64 {
    per_host.unwrap_or(reported)
}

/// A release's placements.
struct Placements {
    /// Its hosts, by name.
    hosts: Vec<HostPlacement>,
    /// Their counts by state.
    counts: StateCounts,
    /// Each host's link rate (for the bound).
    links: Vec<Option<u64>>,
}

/// A release's placements, read from the tables.
fn placements(
    connection: &rusqlite::Connection,
    release_id: i64,
) -> Result<Placements, StoreError> {
    let mut statement = connection.prepare(
        "SELECT p.host, COALESCE(h.labels, '{}'), p.state, p.have_bytes,
                p.downloaded_before, p.session_downloaded, p.uploaded_bytes, p.down_bps,
                p.up_bps, p.peers, p.reason, p.verified_ms, p.reported_ms, h.link_bps,
                p.from_origin_before, p.session_from_origin
         FROM fleet_placements p LEFT JOIN fleet_hosts h ON h.name = p.host
         WHERE p.release_id = ?1 ORDER BY p.host",
    )?;
    let mut links = Vec::new();
    let rows = statement.query_map(params![release_id], |row| {
        let counter = |i: usize| row.get::<_, i64>(i).map(|v| u64::try_from(v).unwrap_or(0));
        let before = counter(4)?;
        let session = counter(5)?;
        let downloaded_bytes = before.saturating_add(session);
        let from_origin = row.get::<_, Option<i64>>(15)?.map(|s| {
            u64::try_from(s)
                .unwrap_or(0)
                .saturating_add(counter(14).unwrap_or(0))
        });
        Ok((
            HostPlacement {
                host: row.get(0)?,
                labels: Default::default(),
                state: PlacementState::Pending,
                have_bytes: counter(3)?,
                downloaded_bytes,
                session_downloaded_bytes: session,
                uploaded_bytes: counter(6)?,
                down_bps: counter(7)?,
                up_bps: counter(8)?,
                peers: row.get(9)?,
                reason: row.get(10)?,
                verified_ms: row.get(11)?,
                reported_ms: row.get(12)?,
                from_origin_bytes: from_origin,
                from_peers_bytes: from_origin.map(|o| downloaded_bytes.saturating_sub(o)),
            },
            row.get::<_, String>(1)?,
            row.get::<_, String>(2)?,
            row.get::<_, Option<i64>>(13)?,
        ))
    })?;
    let mut hosts = Vec::new();
    let mut counts = StateCounts::default();
    for row in rows {
        let (mut host, labels, state, link) = row?;
        host.labels = parse_labels(&host.host, &labels)?;
        host.state = PlacementState::parse(&state).ok_or_else(|| StoreError::Corrupt {
            what: format!("placement {} × {release_id}", host.host),
            reason: format!("state {state:?}"),
        })?;
        count(&mut counts, host.state);
        links.push(link.and_then(|b| u64::try_from(b).ok()));
        hosts.push(host);
    }
    Ok(Placements {
        hosts,
        counts,
        links,
    })
}

/// The origin's agent from columns 11 to 14 of the rollout's row, if it seeds the release.
fn origin_placement(row: &rusqlite::Row<'_>) -> rusqlite::Result<Option<OriginPlacement>> {
    let Some(host) = row.get::<_, Option<String>>(11)? else {
        return Ok(None);
    };
    let state = row.get::<_, Option<String>>(12)?;
    Ok(Some(OriginPlacement {
        host,
        state: state.as_deref().and_then(PlacementState::parse),
        reason: row.get(13)?,
        reported_ms: row.get(14)?,
    }))
}

fn count(counts: &mut StateCounts, state: PlacementState) {
    let slot = match state {
        PlacementState::Pending => &mut counts.pending,
        PlacementState::Downloading => &mut counts.downloading,
        PlacementState::Verified => &mut counts.verified,
        PlacementState::Failed => &mut counts.failed,
        PlacementState::Deleted => &mut counts.deleted,
    };
    *slot += 1;
}

/// `max(F/u_s, F/min d_i, N·F/(u_s + Σ u_i))` in seconds; `None` unless every rate is known.
pub fn fluid_bound_s(
    size_bytes: u64,
    origin_bps: Option<u64>,
    links_bps: &[Option<u64>],
) -> Option<f64> {
    let origin = origin_bps.filter(|&b| b > 0)?;
    let links: Option<Vec<u64>> = links_bps.iter().map(|l| l.filter(|&b| b > 0)).collect();
    let links = links?;
    let slowest = links.iter().copied().min()?;
    let total = links.iter().sum();
    fluid_bound_from(size_bytes, origin, links.len() as u64, slowest, total)
}

/// The same bound from aggregates: `n` hosts, the slowest link and the sum of all links
/// (bits per second); `None` when a rate is zero or there are no hosts.
pub fn fluid_bound_from(
    size_bytes: u64,
    origin_bps: u64,
    n: u64,
    slowest_bps: u64,
    total_bps: u64,
) -> Option<f64> {
    if origin_bps == 0 || n == 0 || slowest_bps == 0 {
        return None;
    }
    let bits = size_bytes as f64 * 8.0;
    let origin = origin_bps as f64;
    Some(
        (bits / origin)
            .max(bits / slowest_bps as f64)
            .max(n as f64 * bits / (origin + total_bps as f64)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bound_is_the_largest_of_the_three_limits() {
        // 1 GB, origin and 4 peers at 100 Mbit/s: F/u_s = F/d = 80 s, N·F/(u_s+Σu) = 64 s.
        let links = [Some(100_000_000); 4];
        let bound = fluid_bound_s(1_000_000_000, Some(100_000_000), &links);
        assert_eq!(bound, Some(80.0));
        // 12 peers at 10 Mbit/s: their download (800 s) beats N·F/(u_s+Σu) ≈ 436 s.
        let slow = [Some(10_000_000); 12];
        let bound = fluid_bound_s(1_000_000_000, Some(100_000_000), &slow).unwrap_or(0.0);
        assert!((bound - 800.0).abs() < 1e-6, "{bound}");
        assert_eq!(fluid_bound_s(1, None, &links), None);
        assert_eq!(fluid_bound_s(1, Some(1), &[Some(1), None]), None);
    }
}
