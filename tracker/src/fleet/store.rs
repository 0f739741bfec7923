//! The fleet's SQLite tables (WAL mode, in the registry file of the data directory): hosts,
//! channels with their retention, releases, rollouts and placements (host × release), so a
//! restart of the manager loses no history.
//!
//! Calls block (SQLite is synchronous): async callers run them on `spawn_blocking`. This
//! file owns the schema, hosts, channels and releases; [`super::report`] applies agents'
//! reports and [`super::rollout`] reads rollouts back.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{params, Connection, OptionalExtension};
use swarm_service::wire::{labels_match, Labels, OriginAgent};

use crate::manager::registry::REGISTRY_FILE;

/// Retention of a channel nobody set one for: the newest two releases are kept.
pub const DEFAULT_KEEP_RELEASES: u32 = 2;
/// Most releases a channel may keep.
pub const MAX_KEEP_RELEASES: u32 = 1000;
/// A host silent for longer than this is not targeted by new rollouts.
pub const STALE_HOST_AFTER_MS: i64 = 60 * 60 * 1000;
/// An origin's agent is handed the seeding only if it reported this recently (agents
/// report every second).
pub const LIVE_AGENT_WITHIN_MS: i64 = 10_000;

/// Why the fleet store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite refused.
    #[error("fleet database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A stored row is not valid (edited by hand?).
    #[error("fleet row {what} is corrupt: {reason}")]
    Corrupt {
        /// Which row.
        what: String,
        /// What is wrong.
        reason: String,
    },
}

/// One registered host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostRow {
    /// Host name.
    pub name: String,
    /// Its labels.
    pub labels: Labels,
    /// Where peers reach it.
    pub listen: Option<String>,
    /// Free disk at the last report.
    pub free_disk_bytes: Option<u64>,
    /// Link rate, bits per second, if given.
    pub link_bps: Option<u64>,
    /// Last report, ms since the Unix epoch.
    pub last_seen_ms: i64,
}

/// One release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseRow {
    /// Release id.
    pub id: i64,
    /// Channel.
    pub channel: String,
    /// The torrent's name.
    pub name: String,
    /// 40 hex digits.
    pub info_hash: String,
    /// Content length, bytes.
    pub size_bytes: u64,
    /// Registration, ms since the Unix epoch.
    pub created_ms: i64,
    /// The peer id the origin seeds with (40 hex digits).
    pub origin_peer_id: Option<String>,
}

/// What [`FleetStore::publish`] made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedRows {
    /// The release.
    pub release_id: i64,
    /// Its rollout.
    pub rollout_id: i64,
    /// The hosts targeted.
    pub hosts: Vec<String>,
    /// The agent handed the seeding, if it was live.
    pub seeded_by: Option<String>,
}

/// The fleet tables.
#[derive(Debug)]
pub struct FleetStore {
    connection: Mutex<Connection>,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS fleet_hosts (
    name TEXT PRIMARY KEY NOT NULL,
    labels TEXT NOT NULL,
    listen TEXT,
    free_disk_bytes INTEGER,
    link_bps INTEGER,
    last_seen_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS fleet_channels (
    name TEXT PRIMARY KEY NOT NULL,
    keep INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS fleet_releases (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    channel TEXT NOT NULL,
    name TEXT NOT NULL,
    info_hash TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    torrent BLOB NOT NULL,
    created_ms INTEGER NOT NULL,
    origin_peer_id TEXT,
    origin_host TEXT,
    origin_path TEXT
);
CREATE TABLE IF NOT EXISTS fleet_rollouts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    release_id INTEGER NOT NULL UNIQUE REFERENCES fleet_releases(id),
    targets TEXT NOT NULL,
    started_ms INTEGER NOT NULL,
    finished_ms INTEGER,
    origin_bps INTEGER,
    origin_uploaded_bytes INTEGER NOT NULL DEFAULT 0,
    origin_state TEXT,
    origin_reason TEXT,
    origin_reported_ms INTEGER
);
CREATE TABLE IF NOT EXISTS fleet_placements (
    host TEXT NOT NULL,
    release_id INTEGER NOT NULL REFERENCES fleet_releases(id),
    state TEXT NOT NULL,
    have_bytes INTEGER NOT NULL DEFAULT 0,
    downloaded_before INTEGER NOT NULL DEFAULT 0,
    session TEXT NOT NULL DEFAULT '',
    session_downloaded INTEGER NOT NULL DEFAULT 0,
    uploaded_bytes INTEGER NOT NULL DEFAULT 0,
    down_bps INTEGER NOT NULL DEFAULT 0,
    up_bps INTEGER NOT NULL DEFAULT 0,
    peers INTEGER NOT NULL DEFAULT 0,
    reason TEXT,
    verified_ms INTEGER,
    reported_ms INTEGER,
    from_origin_before INTEGER NOT NULL DEFAULT 0,
    session_from_origin INTEGER,
    PRIMARY KEY (host, release_id)
);";

/// Columns added since the first schema, added to older databases on open.
const ADDED_COLUMNS: [(&str, &str, &str); 8] = [
    ("fleet_releases", "origin_peer_id", "TEXT"),
    ("fleet_releases", "origin_host", "TEXT"),
    ("fleet_releases", "origin_path", "TEXT"),
    ("fleet_rollouts", "origin_state", "TEXT"),
    ("fleet_rollouts", "origin_reason", "TEXT"),
    ("fleet_rollouts", "origin_reported_ms", "INTEGER"),
    (
        "fleet_placements",
        "from_origin_before",
        "INTEGER NOT NULL DEFAULT 0",
    ),
    ("fleet_placements", "session_from_origin", "INTEGER"),
];

/// Adds the [`ADDED_COLUMNS`] a database made by an older version lacks.
fn add_missing_columns(connection: &Connection) -> Result<(), StoreError> {
    for (table, column, declaration) in ADDED_COLUMNS {
        let present: bool = connection.query_row(
            &format!("SELECT COUNT(*) > 0 FROM pragma_table_info('{table}') WHERE name = ?1"),
            [column],
            |row| row.get(0),
        )?;
        if !present {
            connection.execute_batch(&format!(
                "ALTER TABLE {table} ADD COLUMN {column} {declaration}"
            ))?;
        }
    }
    Ok(())
}

impl FleetStore {
    /// Opens (or creates) the fleet tables in `data_dir`'s registry file.
    pub fn open(data_dir: &Path) -> Result<Self, StoreError> {
        let connection = Connection::open(data_dir.join(REGISTRY_FILE))?;
        connection.pragma_update(None, "journal_mode", "WAL")?;
        connection.pragma_update(None, "synchronous", "NORMAL")?;
        connection.busy_timeout(Duration::from_secs(5))?;
        connection.execute_batch(SCHEMA)?;
        add_missing_columns(&connection)?;
        Ok(FleetStore {
            connection: Mutex::new(connection),
        })
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, Connection> {
        self.connection.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Every host, by name.
    pub fn hosts(&self) -> Result<Vec<HostRow>, StoreError> {
        let connection = self.lock();
        hosts(&connection)
    }

    /// Sets a channel's retention.
    pub fn set_keep(&self, channel: &str, keep: u32) -> Result<(), StoreError> {
        self.lock().execute(
            "INSERT INTO fleet_channels (name, keep) VALUES (?1, ?2)
             ON CONFLICT(name) DO UPDATE SET keep = excluded.keep",
            params![channel, keep],
        )?;
        Ok(())
    }

    /// Registers a release and its rollout to the hosts `to` targets (seen in the last
    /// [`STALE_HOST_AFTER_MS`]), each with a pending placement. When `origin` names an
    /// agent that reported in the last [`LIVE_AGENT_WITHIN_MS`], that agent is handed the
    /// seeding and is not a target.
    pub fn publish(
        &self,
        release: &ReleaseRow,
        torrent: &[u8],
        to: &Labels,
        origin_bps: Option<u64>,
        origin: Option<&OriginAgent>,
    ) -> Result<PublishedRows, StoreError> {
        let mut connection = self.lock();
        let tx = connection.transaction()?;
        let live = hosts(&tx)?.into_iter().filter(|h| {
            release.created_ms - h.last_seen_ms <= LIVE_AGENT_WITHIN_MS
                && origin.is_some_and(|o| o.host == h.name)
        });
        let seeded_by = live.map(|h| h.name).next();
        let origin_path = origin.filter(|_| seeded_by.is_some()).map(|o| &o.path);
        tx.execute(
            "INSERT INTO fleet_releases (channel, name, info_hash, size_bytes, torrent, created_ms,
                origin_peer_id, origin_host, origin_path)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                release.channel,
                release.name,
                release.info_hash,
                release.size_bytes as i64,
                torrent,
                release.created_ms,
                release.origin_peer_id,
                seeded_by,
                origin_path
            ],
        )?;
        let release_id = tx.last_insert_rowid();
        let targets = serde_json::to_string(to).unwrap_or_else(|_| "{}".into());
        tx.execute(
            "INSERT INTO fleet_rollouts (release_id, targets, started_ms, origin_bps)
             VALUES (?1, ?2, ?3, ?4)",
            params![
                release_id,
                targets,
                release.created_ms,
                origin_bps.map(|b| b as i64)
            ],
        )?;
        let rollout_id = tx.last_insert_rowid();
        let mut targeted = Vec::new();
        for host in hosts(&tx)? {
            let fresh = release.created_ms - host.last_seen_ms <= STALE_HOST_AFTER_MS;
            let origin = seeded_by.as_ref() == Some(&host.name);
            if fresh && !origin && labels_match(to, &host.labels) {
                tx.execute(
                    "INSERT OR IGNORE INTO fleet_placements (host, release_id, state)
                     VALUES (?1, ?2, 'pending')",
                    params![host.name, release_id],
                )?;
                targeted.push(host.name);
            }
        }
        tx.commit()?;
        Ok(PublishedRows {
            release_id,
            rollout_id,
            hosts: targeted,
            seeded_by,
        })
    }

    /// A release's `.torrent` bytes.
    pub fn torrent(&self, release_id: i64) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .lock()
            .query_row(
                "SELECT torrent FROM fleet_releases WHERE id = ?1",
                [release_id],
                |row| row.get(0),
            )
            .optional()?)
    }

    /// Every release's info-hash (to track them after a restart).
    pub fn info_hashes(&self) -> Result<Vec<String>, StoreError> {
        let connection = self.lock();
        let mut statement = connection.prepare("SELECT info_hash FROM fleet_releases")?;
        let rows = statement.query_map([], |row| row.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Every release's info-hash and name (for per-torrent metrics).
    pub fn release_names(&self) -> Result<Vec<(String, String)>, StoreError> {
        let connection = self.lock();
        let mut statement = connection.prepare("SELECT info_hash, name FROM fleet_releases")?;
        let rows = statement.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

pub(super) fn hosts(connection: &Connection) -> Result<Vec<HostRow>, StoreError> {
    let mut statement = connection.prepare(
        "SELECT name, labels, listen, free_disk_bytes, link_bps, last_seen_ms
         FROM fleet_hosts ORDER BY name",
    )?;
    let rows = statement.query_map([], |row| {
        Ok((
            row.get::<_, String>(0)?,
            row.get::<_, String>(1)?,
            row.get::<_, Option<String>>(2)?,
            row.get::<_, Option<i64>>(3)?,
            row.get::<_, Option<i64>>(4)?,
            row.get::<_, i64>(5)?,
        ))
    })?;
    rows.map(|row| {
        let (name, labels, listen, free, link, last_seen_ms) = row?;
        Ok(HostRow {
            labels: parse_labels(&name, &labels)?,
            name,
            listen,
            free_disk_bytes: free.and_then(|b| u64::try_from(b).ok()),
            link_bps: link.and_then(|b| u64::try_from(b).ok()),
            last_seen_ms,
        })
    })
    .collect()
}

/// Labels stored as a JSON object.
pub(super) fn parse_labels(what: &str, text: &str) -> Result<Labels, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt {
        what: what.to_string(),
        reason: format!("labels: {e}"),
    })
}

/// The channel's retention (default [`DEFAULT_KEEP_RELEASES`]).
pub(super) fn keep_of(connection: &Connection, channel: &str) -> Result<u32, StoreError> {
    let keep: Option<i64> = connection
        .query_row(
            "SELECT keep FROM fleet_channels WHERE name = ?1",
            [channel],
            |row| row.get(0),
        )
        .optional()?;
    Ok(keep
        .and_then(|k| u32::try_from(k).ok())
        .unwrap_or(DEFAULT_KEEP_RELEASES))
}
