//! The registry of torrents the manager knows: SQLite (WAL mode) in the data directory,
//! so registrations survive restarts.
//!
//! Calls block (SQLite is synchronous): async callers run them on `spawn_blocking`.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use swarm_engine::metainfo::InfoHash;

/// Registry file name inside the data directory.
pub const REGISTRY_FILE: &str = "registry.sqlite3";

/// Why the registry failed.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// SQLite refused.
    #[error("registry database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A stored row is not valid (edited by hand?).
    #[error("registry row for {info_hash} is corrupt: {reason}")]
    Corrupt {
        /// The row's key.
        info_hash: String,
        /// What is wrong.
        reason: String,
    },
}

/// One registered torrent, without its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TorrentRecord {
    /// Its info-hash.
    pub info_hash: InfoHash,
    /// Its name.
    pub name: String,
    /// Content length, bytes.
    pub size_bytes: u64,
    /// Piece length, bytes.
    pub piece_length_bytes: u64,
    /// Where the content lives on the origin.
    pub path: PathBuf,
    /// Registration time, seconds since the Unix epoch.
    pub created_s: i64,
}

/// The SQLite registry.
#[derive(Debug)]
pub struct Registry {
    connection: Mutex<Connection>,
}

impl Registry {
    /// Opens (or creates) the registry in `data_dir`.
    pub fn open(data_dir: &Path) -> Result<Self, RegistryError> {
        let connection = Connection::open(data_dir.join(REGISTRY_FILE))?;
        connection.pragma_update(None, "journal_mode", "WAL")?;
        connection.pragma_update(None, "synchronous", "NORMAL")?;
        connection.busy_timeout(std::time::Duration::from_secs(5))?;
        connection.execute_batch(
            "CREATE TABLE IF NOT EXISTS torrents (
                info_hash TEXT PRIMARY KEY NOT NULL,
                name TEXT NOT NULL,
                size_bytes INTEGER NOT NULL,
                piece_length_bytes INTEGER NOT NULL,
                torrent BLOB NOT NULL,
                path TEXT NOT NULL,
                created_s INTEGER NOT NULL
            );",
        )?;
        migrate(&connection)?;
        Ok(Registry {
            connection: Mutex::new(connection),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.connection
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Adds a torrent. Returns `false` (and changes nothing) if its info-hash is known.
    pub fn insert(&self, record: &TorrentRecord, torrent: &[u8]) -> Result<bool, RegistryError> {
        let changed = self.lock().execute(
            "INSERT OR IGNORE INTO torrents
                (info_hash, name, size_bytes, piece_length_bytes, torrent, path, created_s)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                record.info_hash.to_string(),
                record.name,
                record.size_bytes as i64,
                record.piece_length_bytes as i64,
                torrent,
                record.path.to_string_lossy(),
                record.created_s,
            ],
        )?;
        Ok(changed == 1)
    }

    /// Every registered torrent, oldest first.
    pub fn list(&self) -> Result<Vec<TorrentRecord>, RegistryError> {
        let connection = self.lock();
        let mut statement = connection.prepare(
            "SELECT info_hash, name, size_bytes, piece_length_bytes, path, created_s
             FROM torrents ORDER BY created_s, info_hash",
        )?;
        let rows = statement.query_map([], row_to_raw)?;
        rows.map(|row| row?.validate()).collect()
    }

    /// One torrent's record.
    pub fn get(&self, info_hash: &InfoHash) -> Result<Option<TorrentRecord>, RegistryError> {
        let connection = self.lock();
        let raw = connection
            .query_row(
                "SELECT info_hash, name, size_bytes, piece_length_bytes, path, created_s
                 FROM torrents WHERE info_hash = ?1",
                [info_hash.to_string()],
                row_to_raw,
            )
            .optional()?;
        raw.map(RawRecord::validate).transpose()
    }

    /// One torrent's `.torrent` bytes.
    pub fn torrent_bytes(&self, info_hash: &InfoHash) -> Result<Option<Vec<u8>>, RegistryError> {
        Ok(self
            .lock()
            .query_row(
                "SELECT torrent FROM torrents WHERE info_hash = ?1",
                [info_hash.to_string()],
                |row| row.get(0),
            )
            .optional()?)
    }
}

/// Adds the columns of later versions to a registry made by an earlier one.
fn migrate(connection: &Connection) -> Result<(), RegistryError> {
    let mut statement = connection.prepare("SELECT name FROM pragma_table_info('torrents')")?;
    let columns: Vec<String> = statement
        .query_map([], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    if !columns.iter().any(|c| c == "seed_on_start") {
        connection.execute_batch(
            "ALTER TABLE torrents ADD COLUMN seed_on_start INTEGER NOT NULL DEFAULT 0;
             ALTER TABLE torrents ADD COLUMN seed_port INTEGER NOT NULL DEFAULT 0;",
        )?;
    }
    Ok(())
}

impl Registry {
    /// Records whether the origin should seed the torrent (and on which port, 0: any)
    /// whenever the tracker starts. Returns `false` if the torrent is not registered.
    pub fn set_seed_on_start(
        &self,
        info_hash: &InfoHash,
        port: Option<u16>,
    ) -> Result<bool, RegistryError> {
        let changed = self.lock().execute(
            "UPDATE torrents SET seed_on_start = ?2, seed_port = ?3 WHERE info_hash = ?1",
            params![
                info_hash.to_string(),
                port.is_some(),
                i64::from(port.unwrap_or(0))
            ],
        )?;
        Ok(changed == 1)
    }

    /// The torrents to seed at start, with their ports (0: any), oldest first.
    pub fn seeds_on_start(&self) -> Result<Vec<(InfoHash, u16)>, RegistryError> {
        let connection = self.lock();
        let mut statement = connection.prepare(
            "SELECT info_hash, seed_port FROM torrents WHERE seed_on_start != 0
             ORDER BY created_s, info_hash",
        )?;
        let rows = statement.query_map([], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
        })?;
        rows.map(|row| {
            let (hash, port) = row?;
            let corrupt = |reason: &str| RegistryError::Corrupt {
                info_hash: hash.clone(),
                reason: reason.to_string(),
            };
            let info_hash = hash.parse().map_err(|_| corrupt("bad info_hash"))?;
            let port = u16::try_from(port).map_err(|_| corrupt("bad seed port"))?;
            Ok((info_hash, port))
        })
        .collect()
    }
}

struct RawRecord {
    info_hash: String,
    name: String,
    size_bytes: i64,
    piece_length_bytes: i64,
    path: String,
    created_s: i64,
}

fn row_to_raw(row: &rusqlite::Row<'_>) -> rusqlite::Result<RawRecord> {
    Ok(RawRecord {
        info_hash: row.get(0)?,
        name: row.get(1)?,
        size_bytes: row.get(2)?,
        piece_length_bytes: row.get(3)?,
        path: row.get(4)?,
        created_s: row.get(5)?,
    })
}

impl RawRecord {
    fn validate(self) -> Result<TorrentRecord, RegistryError> {
        let corrupt = |reason: &str| RegistryError::Corrupt {
            info_hash: self.info_hash.clone(),
            reason: reason.to_string(),
        };
        let info_hash = self
            .info_hash
            .parse()
            .map_err(|_| corrupt("bad info_hash"))?;
        let size_bytes = u64::try_from(self.size_bytes).map_err(|_| corrupt("negative size"))?;
        let piece_length_bytes =
            u64::try_from(self.piece_length_bytes).map_err(|_| corrupt("negative piece length"))?;
        Ok(TorrentRecord {
            info_hash,
            name: self.name,
            size_bytes,
            piece_length_bytes,
            path: PathBuf::from(self.path),
            created_s: self.created_s,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn record(byte: u8) -> TorrentRecord {
        TorrentRecord {
            info_hash: InfoHash([byte; 20]),
            name: format!("file{byte}"),
            size_bytes: 1 << 34,
            piece_length_bytes: 1 << 22,
            path: PathBuf::from("/srv/images/file"),
            created_s: i64::from(byte),
        }
    }

    #[test]
    fn records_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        {
            let registry = Registry::open(dir.path()).unwrap();
            assert!(registry.insert(&record(2), b"t2").unwrap());
            assert!(registry.insert(&record(1), b"t1").unwrap());
            assert!(!registry.insert(&record(1), b"other").unwrap());
        }
        let registry = Registry::open(dir.path()).unwrap();
        let list = registry.list().unwrap();
        assert_eq!(list, vec![record(1), record(2)]);
        assert_eq!(registry.get(&InfoHash([2; 20])).unwrap(), Some(record(2)));
        assert_eq!(
            registry.torrent_bytes(&InfoHash([1; 20])).unwrap().unwrap(),
            b"t1"
        );
        assert_eq!(registry.get(&InfoHash([3; 20])).unwrap(), None);
    }

    #[test]
    fn seed_wishes_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        {
            let registry = Registry::open(dir.path()).unwrap();
            registry.insert(&record(1), b"t1").unwrap();
            registry.insert(&record(2), b"t2").unwrap();
            assert!(registry
                .set_seed_on_start(&InfoHash([2; 20]), Some(7000))
                .unwrap());
            assert!(registry
                .set_seed_on_start(&InfoHash([1; 20]), Some(0))
                .unwrap());
            assert!(registry
                .set_seed_on_start(&InfoHash([1; 20]), None)
                .unwrap());
            assert!(!registry
                .set_seed_on_start(&InfoHash([3; 20]), None)
                .unwrap());
        }
        let registry = Registry::open(dir.path()).unwrap();
        assert_eq!(
            registry.seeds_on_start().unwrap(),
            vec![(InfoHash([2; 20]), 7000)]
        );
    }
}
