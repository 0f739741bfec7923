//! Resume records: "this content was verified complete and intact", so that a known-good
//! copy is not hashed again on every start (`swarm seed`, or `swarm get` of a copy that is
//! already complete).
//!
//! **What is recorded.** The torrent's info hash (hex), and for every file of the torrent
//! except BEP 47 pad files (never on disk) its path in the torrent, size and modification
//! time in nanoseconds, all taken from the file system when the copy was found intact.
//!
//! **Where.** JSON in a hidden file next to the content, like the download lock
//! (`.NAME.swarm-lock`): `DIR/.NAME.swarm-resume`, where `DIR/NAME` is the content itself
//! (the file of a single-file torrent, the top directory of a multi-file one) under its
//! actual name on disk, which may differ from the torrent's. It is written to a temporary
//! file and renamed into place, so a reader sees a whole record or none.
//!
//! **When it holds.** The copy counts as intact when the record names the same info hash
//! and every file still has the recorded size and modification time (rsync's quick
//! check). A missing, unreadable, corrupt or mismatching record only means "not known
//! intact": the caller hashes the copy as if there were none. **Limit:** an edit that keeps
//! a file's size and modification time (a byte flipped in place and the time set back, a
//! disk that rots silently) is not seen; `swarm seed --recheck` or `swarm verify` hashes
//! every piece whatever the record says.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use swarm_engine::metainfo::Metainfo;

/// The format written; a record of another version is not trusted.
const VERSION: u32 = 1;

/// What was found on disk when a copy was known intact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResumeRecord {
    /// Format version ([`VERSION`]).
    version: u32,
    /// The torrent's info hash, hex.
    info_hash: String,
    /// Every file of the torrent but pad files, in torrent order.
    files: Vec<RecordedFile>,
}

/// One file as it was on disk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RecordedFile {
    /// Path in the torrent, components joined with `/`.
    path: String,
    /// Size in bytes.
    size: u64,
    /// Modification time, nanoseconds since the Unix epoch (negative before it).
    mtime_ns: i128,
}

/// Why a record could not be taken, read or written.
#[derive(Debug, thiserror::Error)]
pub enum ResumeError {
    /// The content path names no file or directory (`/`, `..`) and cannot be resolved.
    #[error("cannot name a resume record for {path}: it has no file name", path = path.display())]
    NoName { path: PathBuf },
    /// A file-system call failed.
    #[error("cannot {action} {path}: {source}", path = path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    /// A file changed between the record being taken and the copy found intact.
    #[error("{path} changed while it was being checked; no resume record written", path = path.display())]
    Changed { path: PathBuf },
    /// The record is not valid JSON of the expected shape.
    #[error("resume record {path} is corrupt: {source}", path = path.display())]
    Corrupt {
        path: PathBuf,
        source: serde_json::Error,
    },
}

/// Where the record of the content at `content_path` lives: `DIR/.NAME.swarm-resume`.
pub fn record_path(content_path: &Path) -> Result<PathBuf, ResumeError> {
    let resolved;
    let path = if content_path.file_name().is_some() {
        content_path
    } else {
        // `..` or a path ending in it: resolve it to name the directory.
        resolved = fs::canonicalize(content_path).map_err(|source| ResumeError::Io {
            action: "resolve",
            path: content_path.into(),
            source,
        })?;
        &resolved
    };
    let name = path.file_name().ok_or_else(|| ResumeError::NoName {
        path: content_path.into(),
    })?;
    let mut file_name = std::ffi::OsString::from(".");
    file_name.push(name);
    file_name.push(".swarm-resume");
    Ok(path.with_file_name(file_name))
}

impl ResumeRecord {
    /// Takes the sizes and modification times of the files of `metainfo` at `content_path`
    /// (the content itself: see [`crate::verify::content_path`]) as they are now.
    pub fn of(metainfo: &Metainfo, content_path: &Path) -> Result<Self, ResumeError> {
        let mut files = Vec::with_capacity(metainfo.files.len());
        for file in metainfo.files.iter().filter(|f| !f.pad) {
            let disk_path = if metainfo.multi_file {
                file.path
                    .iter()
                    .fold(content_path.to_path_buf(), |p, c| p.join(c))
            } else {
                content_path.to_path_buf()
            };
            let meta = fs::metadata(&disk_path).map_err(|source| ResumeError::Io {
                action: "read metadata of",
                path: disk_path.clone(),
                source,
            })?;
            let modified = meta.modified().map_err(|source| ResumeError::Io {
                action: "read the modification time of",
                path: disk_path.clone(),
                source,
            })?;
            files.push(RecordedFile {
                path: file.display_path(),
                size: meta.len(),
                mtime_ns: nanos_since_epoch(modified),
            });
        }
        Ok(ResumeRecord {
            version: VERSION,
            info_hash: metainfo.info_hash.to_string(),
            files,
        })
    }

    /// Writes this record for the content at `content_path`, atomically; returns where.
    pub fn save(&self, content_path: &Path) -> Result<PathBuf, ResumeError> {
        let path = record_path(content_path)?;
        let mut temp_name = path.clone().into_os_string();
        temp_name.push(format!(".{}.tmp", std::process::id()));
        let temp = PathBuf::from(temp_name);
        let io_error = |action, path: &Path| {
            let path = path.to_path_buf();
            move |source| ResumeError::Io {
                action,
                path,
                source,
            }
        };
        let mut json = serde_json::to_vec_pretty(self)
            .map_err(|source| io_error("encode", &path)(source.into()))?;
        json.push(b'\n');
        let written = fs::File::create(&temp)
            .and_then(|mut file| {
                file.write_all(&json)?;
                file.sync_all()
            })
            .map_err(io_error("write", &temp))
            .and_then(|()| fs::rename(&temp, &path).map_err(io_error("replace", &path)));
        if written.is_err() {
            let _ = fs::remove_file(&temp);
        }
        written.map(|()| path)
    }

    /// Writes this record, taken before the copy was hashed and found complete, only if the
    /// files still match it: what was hashed is then what is recorded. Returns where.
    pub fn save_if_unchanged(
        &self,
        metainfo: &Metainfo,
        content_path: &Path,
    ) -> Result<PathBuf, ResumeError> {
        if ResumeRecord::of(metainfo, content_path)? != *self {
            return Err(ResumeError::Changed {
                path: content_path.into(),
            });
        }
        self.save(content_path)
    }

    /// Reads the record of the content at `content_path`: `None` when there is none.
    pub fn load(content_path: &Path) -> Result<Option<Self>, ResumeError> {
        let path = record_path(content_path)?;
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(ResumeError::Io {
                    action: "read",
                    path,
                    source,
                })
            }
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|source| ResumeError::Corrupt { path, source })
    }
}

/// Records the content of `metainfo` at `content_path` as intact, as its files are now.
/// Call only once the copy is known complete and nothing writes to it. Returns where.
pub fn save(metainfo: &Metainfo, content_path: &Path) -> Result<PathBuf, ResumeError> {
    ResumeRecord::of(metainfo, content_path)?.save(content_path)
}

/// Drops the record of `content_path`, so that the next start hashes the copy in full
/// (`--recheck`). No record is fine; a record that cannot be removed is an error, since it
/// would still be trusted.
pub fn forget(content_path: &Path) -> Result<(), ResumeError> {
    let path = record_path(content_path)?;
    match fs::remove_file(&path) {
        Ok(()) => Ok(()),
        Err(source) if source.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(ResumeError::Io {
            action: "remove",
            path,
            source,
        }),
    }
}

/// Whether the content of `metainfo` at `content_path` is known intact: its record names
/// this torrent and every file still has the recorded size and modification time. `false`
/// when there is no record, when it is stale, or when a file is gone; an error when the
/// record cannot be read or parsed (which also means "not known intact").
pub fn is_intact(metainfo: &Metainfo, content_path: &Path) -> Result<bool, ResumeError> {
    let Some(record) = ResumeRecord::load(content_path)? else {
        return Ok(false);
    };
    match ResumeRecord::of(metainfo, content_path) {
        Ok(now) => Ok(now == record),
        Err(ResumeError::Io { .. }) => Ok(false),
        Err(error) => Err(error),
    }
}

/// `time` as signed nanoseconds since the Unix epoch.
fn nanos_since_epoch(time: SystemTime) -> i128 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => after.as_nanos() as i128,
        Err(before) => -(before.duration().as_nanos() as i128),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::create::{create_torrent, CreateOptions};
    use crate::storage::padded;
    use std::time::Duration;

    fn torrent_of(path: &Path) -> Metainfo {
        let options = CreateOptions {
            piece_length: Some(16 * 1024),
            ..CreateOptions::default()
        };
        create_torrent(path, &options, &|_| {}).unwrap().metainfo
    }

    fn set_mtime(path: &Path, time: SystemTime) {
        fs::File::options()
            .write(true)
            .open(path)
            .unwrap()
            .set_modified(time)
            .unwrap();
    }

    fn mtime(path: &Path) -> SystemTime {
        fs::metadata(path).unwrap().modified().unwrap()
    }

    /// A single-file copy `DIR/img` and its torrent.
    fn single() -> (tempfile::TempDir, PathBuf, Metainfo) {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("img");
        fs::write(&file, vec![7u8; 40_000]).unwrap();
        let meta = torrent_of(&file);
        (dir, file, meta)
    }

    #[test]
    fn a_saved_record_holds_until_the_file_changes_size() {
        let (dir, file, meta) = single();
        assert!(!is_intact(&meta, &file).unwrap(), "no record yet");
        let path = save(&meta, &file).unwrap();
        assert_eq!(path, dir.path().join(".img.swarm-resume"));
        assert!(is_intact(&meta, &file).unwrap());
        let json: serde_json::Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
        assert_eq!(json["info_hash"], meta.info_hash.to_string());
        assert_eq!(json["files"][0]["path"], "img");
        assert_eq!(json["files"][0]["size"], 40_000);
        // No temporary file is left behind.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 2);

        let before = mtime(&file);
        fs::File::options()
            .write(true)
            .open(&file)
            .unwrap()
            .set_len(39_999)
            .unwrap();
        set_mtime(&file, before);
        assert!(!is_intact(&meta, &file).unwrap());
    }

    #[test]
    fn a_forgotten_record_is_gone_and_forgetting_none_is_fine() {
        let (dir, file, meta) = single();
        forget(&file).unwrap();
        save(&meta, &file).unwrap();
        forget(&file).unwrap();
        assert!(!dir.path().join(".img.swarm-resume").exists());
        assert!(!is_intact(&meta, &file).unwrap());
    }

    #[test]
    fn a_changed_modification_time_voids_the_record() {
        let (_dir, file, meta) = single();
        save(&meta, &file).unwrap();
        set_mtime(&file, mtime(&file) + Duration::from_nanos(1));
        assert!(!is_intact(&meta, &file).unwrap());
    }

    #[test]
    fn a_file_changed_while_hashed_is_not_recorded() {
        let (dir, file, meta) = single();
        let before = ResumeRecord::of(&meta, &file).unwrap();
        set_mtime(&file, mtime(&file) + Duration::from_secs(1));
        let err = before.save_if_unchanged(&meta, &file).unwrap_err();
        assert!(matches!(err, ResumeError::Changed { .. }), "{err}");
        assert!(!dir.path().join(".img.swarm-resume").exists());
        let before = ResumeRecord::of(&meta, &file).unwrap();
        before.save_if_unchanged(&meta, &file).unwrap();
        assert!(is_intact(&meta, &file).unwrap());
    }

    #[test]
    fn a_record_of_another_torrent_is_not_trusted() {
        let (dir, file, meta) = single();
        save(&meta, &file).unwrap();
        let mut other = meta.clone();
        other.info_hash = swarm_engine::metainfo::InfoHash([0xab; 20]);
        assert!(!is_intact(&other, &file).unwrap());
        // A renamed copy has a record of its own name, under the torrent's name.
        let copy = dir.path().join("copy.bin");
        fs::copy(&file, &copy).unwrap();
        assert!(!is_intact(&meta, &copy).unwrap());
        assert_eq!(
            save(&meta, &copy).unwrap(),
            dir.path().join(".copy.bin.swarm-resume")
        );
        assert!(is_intact(&meta, &copy).unwrap());
    }

    #[test]
    fn a_missing_file_is_not_intact() {
        let (_dir, file, meta) = single();
        save(&meta, &file).unwrap();
        fs::remove_file(&file).unwrap();
        assert!(!is_intact(&meta, &file).unwrap());
    }

    #[test]
    fn a_corrupt_record_is_an_error_and_never_intact() {
        let (_dir, file, meta) = single();
        let path = save(&meta, &file).unwrap();
        fs::write(&path, b"{\"version\": 1, \"info_hash\": ").unwrap();
        let err = is_intact(&meta, &file).unwrap_err();
        assert!(matches!(err, ResumeError::Corrupt { .. }), "{err}");
        assert!(err.to_string().contains(".img.swarm-resume"), "{err}");
        // A record of another format version is well-formed but not trusted.
        let mut json = serde_json::to_value(ResumeRecord::of(&meta, &file).unwrap()).unwrap();
        json["version"] = 2.into();
        fs::write(&path, json.to_string()).unwrap();
        assert!(!is_intact(&meta, &file).unwrap());
    }

    #[test]
    fn multi_file_records_every_file() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("set");
        fs::create_dir_all(root.join("sub")).unwrap();
        fs::write(root.join("a"), vec![1u8; 20_000]).unwrap();
        fs::write(root.join("sub/b"), vec![2u8; 30_000]).unwrap();
        let meta = torrent_of(&root);
        assert_eq!(
            save(&meta, &root).unwrap(),
            dir.path().join(".set.swarm-resume")
        );
        assert!(is_intact(&meta, &root).unwrap());
        // The directory given as `.` or with a trailing `..` names the same record.
        assert_eq!(
            record_path(&root.join("sub/..")).unwrap(),
            fs::canonicalize(dir.path())
                .unwrap()
                .join(".set.swarm-resume")
        );
        set_mtime(
            &root.join("sub/b"),
            mtime(&root.join("sub/b")) - Duration::from_secs(1),
        );
        assert!(!is_intact(&meta, &root).unwrap());
    }

    #[test]
    fn pad_files_are_not_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let root = padded::write_copy(dir.path());
        let meta = padded::torrent();
        let record = ResumeRecord::of(&meta, &root).unwrap();
        let paths: Vec<&str> = record.files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, vec!["a", "b"]);
        record.save(&root).unwrap();
        assert!(is_intact(&meta, &root).unwrap());
    }
}
