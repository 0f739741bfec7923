//! Where a download lives: it is written under `NAME.part` in the output directory and
//! renamed to `NAME` only once every piece is verified and synced, so a file that looks
//! complete always is. Resuming hashes whatever is there (a `.part` left by an interrupted
//! run, or an older copy under the final name) and keeps the pieces that match.
//!
//! **Resume records** ([`crate::resume`]): once a download has its final name, or an
//! existing copy under the final name hashes complete, `DIR/.NAME.swarm-resume` records it
//! as intact, and the next [`prepare`] takes a final copy whose record still holds as
//! complete without hashing it. A `.part` file is never trusted by a record: it is always
//! hashed.
//!
//! One download of a torrent at a time per directory: [`prepare`] takes an exclusive lock
//! on `DIR/.NAME.swarm-lock` (`flock`, released when the [`Prepared`] and its clones are
//! dropped, or the process dies), so a second `swarm get` of the same content into the same
//! directory stops before it touches anything, while other images can download beside it.
//! The empty lock file stays: removing it would let two runs lock two different files.

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use swarm_engine::bitfield::Bitfield;
use swarm_engine::metainfo::Metainfo;

use crate::hashing::HashConfig;
use crate::resume::{self, ResumeRecord};
use crate::verify::{verify_with, VerifyError};

/// A download directory, checked.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// Where data is written now (`NAME.part`, or `NAME` when already complete).
    pub content_path: PathBuf,
    /// Where it ends up.
    pub final_path: PathBuf,
    /// Pieces already on disk with the right hash.
    pub verified: Bitfield,
    /// The resume record by which the copy under the final name was taken as complete
    /// without hashing it, if it was.
    pub trusted_record: Option<PathBuf>,
    /// The torrent, to record the copy once [`finish`] has given it its final name.
    metainfo: Arc<Metainfo>,
    /// The lock on the output directory, held as long as this value (or a clone) lives.
    _lock: Arc<File>,
}

impl Prepared {
    /// Every piece is there.
    pub fn is_complete(&self) -> bool {
        self.verified.is_full()
    }
}

/// Why preparing or finishing a download failed.
#[derive(Debug, thiserror::Error)]
pub enum DownloadError {
    /// Hashing the existing data failed.
    #[error(transparent)]
    Verify(#[from] VerifyError),
    /// Another download of the same content into the same directory is running.
    #[error("{path} is being downloaded by another `swarm get` (its lock is held)", path = path.display())]
    Busy { path: PathBuf },
    /// A rename or directory creation failed.
    #[error("cannot {action} {path}: {source}", path = path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: io::Error,
    },
}

/// The temporary name of a download of `metainfo` into `out_dir`.
pub fn part_path(metainfo: &Metainfo, out_dir: &Path) -> PathBuf {
    out_dir.join(format!("{}.part", metainfo.name))
}

/// Finds and checks existing data for `metainfo` in `out_dir`. `progress` gets bytes hashed.
pub fn prepare(
    metainfo: &Metainfo,
    out_dir: &Path,
    hashing: HashConfig,
    progress: &dyn Fn(u64),
) -> Result<Prepared, DownloadError> {
    fs::create_dir_all(out_dir).map_err(|source| DownloadError::Io {
        action: "create",
        path: out_dir.into(),
        source,
    })?;
    let final_path = out_dir.join(&metainfo.name);
    let lock = Arc::new(lock_content(out_dir, &metainfo.name, &final_path)?);
    let shared = Arc::new(metainfo.clone());
    let part = part_path(metainfo, out_dir);
    let pieces = metainfo.geometry.piece_count();
    let check = |path: &Path| -> Result<Bitfield, DownloadError> {
        let report = verify_with(metainfo, path, hashing, progress)?;
        let mut verified = Bitfield::full(pieces);
        for &p in report.bad_pieces.iter().chain(&report.missing_pieces) {
            verified.clear(p);
        }
        Ok(verified)
    };
    let prepared = |content_path: &Path, verified, trusted_record| Prepared {
        content_path: content_path.to_path_buf(),
        final_path: final_path.clone(),
        verified,
        trusted_record,
        metainfo: shared.clone(),
        _lock: lock.clone(),
    };
    if part.exists() {
        return Ok(prepared(&part, check(&part)?, None));
    }
    if final_path.exists() {
        let trusted = match resume::is_intact(metainfo, &final_path) {
            Ok(intact) => intact,
            Err(error) => {
                tracing::warn!("{error}; checking {} in full", final_path.display());
                false
            }
        };
        let complete =
            |trusted_record| prepared(&final_path, Bitfield::full(pieces), trusted_record);
        if trusted {
            return Ok(complete(resume::record_path(&final_path).ok()));
        }
        let before = ResumeRecord::of(metainfo, &final_path);
        let report = verify_with(metainfo, &final_path, hashing, progress)?;
        if report.complete {
            if let Ok(before) = before {
                warn_unless_saved(before.save_if_unchanged(metainfo, &final_path));
            }
            return Ok(complete(None));
        }
        // An older or partial copy: reuse its good pieces, under the temporary name.
        fs::rename(&final_path, &part).map_err(|source| DownloadError::Io {
            action: "rename",
            path: final_path.clone(),
            source,
        })?;
        return Ok(prepared(&part, check(&part)?, None));
    }
    Ok(prepared(&part, Bitfield::new(pieces), None))
}

/// Takes the exclusive lock for downloading `name` into `dir`, or says that it is taken.
fn lock_content(dir: &Path, name: &str, final_path: &Path) -> Result<File, DownloadError> {
    let path = dir.join(format!(".{name}.swarm-lock"));
    let io_error = |action| {
        let path = path.clone();
        move |source| DownloadError::Io {
            action,
            path,
            source,
        }
    };
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(io_error("create"))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(fs::TryLockError::WouldBlock) => Err(DownloadError::Busy {
            path: final_path.into(),
        }),
        Err(fs::TryLockError::Error(source)) => Err(io_error("lock")(source)),
    }
}

/// Moves a verified download to its final name (call after syncing the data) and records
/// it as intact; failing to write the record is only a warning.
pub fn finish(prepared: &Prepared) -> Result<(), DownloadError> {
    if prepared.content_path == prepared.final_path {
        // Complete in `prepare`, which recorded it (or trusted its record).
        return Ok(());
    }
    fs::rename(&prepared.content_path, &prepared.final_path).map_err(|source| {
        DownloadError::Io {
            action: "rename",
            path: prepared.content_path.clone(),
            source,
        }
    })?;
    warn_unless_saved(resume::save(&prepared.metainfo, &prepared.final_path));
    Ok(())
}

/// A resume record only saves time: failing to write one is logged, not returned.
fn warn_unless_saved(saved: Result<PathBuf, resume::ResumeError>) {
    match saved {
        Ok(path) => tracing::debug!("wrote resume record {}", path.display()),
        Err(error) => tracing::warn!("{error}; the next start will check the copy in full"),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::storage::padded;

    #[test]
    fn one_download_of_a_torrent_at_a_time_per_directory() {
        let dir = tempfile::tempdir().unwrap();
        let meta = padded::torrent();
        let prepare = || prepare(&meta, dir.path(), HashConfig::default(), &|_| {});
        let first = prepare().unwrap();
        let copy = first.clone();
        assert!(matches!(prepare(), Err(DownloadError::Busy { .. })));
        drop(first);
        assert!(
            matches!(prepare(), Err(DownloadError::Busy { .. })),
            "a clone keeps the lock"
        );
        drop(copy);
        prepare().unwrap();
    }

    #[test]
    fn other_content_downloads_beside_a_locked_one() {
        let dir = tempfile::tempdir().unwrap();
        let meta = padded::torrent();
        let mut other = padded::torrent();
        other.name = format!("{}-other", other.name);
        let _first = prepare(&meta, dir.path(), HashConfig::default(), &|_| {}).unwrap();
        prepare(&other, dir.path(), HashConfig::default(), &|_| {}).unwrap();
    }

    /// Writes `bytes` over the start of `path`, keeping its size and modification time.
    fn overwrite_keeping_mtime(path: &Path, bytes: &[u8]) {
        let mtime = fs::metadata(path).unwrap().modified().unwrap();
        let mut data = fs::read(path).unwrap();
        data[..bytes.len()].copy_from_slice(bytes);
        fs::write(path, data).unwrap();
        File::options()
            .write(true)
            .open(path)
            .unwrap()
            .set_modified(mtime)
            .unwrap();
    }

    #[test]
    fn a_final_copy_is_hashed_once_then_trusted_by_its_record() {
        let dir = tempfile::tempdir().unwrap();
        let meta = padded::torrent();
        let root = padded::write_copy(dir.path());
        let prepare = || prepare(&meta, dir.path(), HashConfig::default(), &|_| {}).unwrap();

        let first = prepare();
        assert!(first.is_complete());
        assert_eq!(first.trusted_record, None, "no record yet: hashed");
        drop(first);
        let record = dir.path().join(".set.swarm-resume");
        assert!(record.exists());
        let second = prepare();
        assert!(second.is_complete());
        assert_eq!(second.trusted_record, Some(record.clone()));
        drop(second);

        // The documented limit: an edit keeping size and modification time is not seen.
        overwrite_keeping_mtime(&root.join("a"), b"X");
        assert_eq!(prepare().trusted_record, Some(record));
    }

    #[test]
    fn a_part_file_is_always_hashed_and_recorded_once_finished() {
        use crate::storage::padded::{A, B};
        let dir = tempfile::tempdir().unwrap();
        let meta = padded::torrent();
        let part = part_path(&meta, dir.path());
        fs::create_dir_all(&part).unwrap();
        fs::write(part.join("a"), A).unwrap();
        fs::write(part.join("b"), B).unwrap();
        // Even a record that holds for the `.part` is ignored.
        crate::resume::save(&meta, &part).unwrap();
        overwrite_keeping_mtime(&part.join("b"), b"X");
        let prepared = prepare(&meta, dir.path(), HashConfig::default(), &|_| {}).unwrap();
        assert_eq!(prepared.trusted_record, None);
        assert_eq!(prepared.verified.count_ones(), 1, "piece 1 (b) is bad");

        overwrite_keeping_mtime(&part.join("b"), B);
        let final_path = prepared.final_path.clone();
        finish(&prepared).unwrap();
        assert!(crate::resume::is_intact(&meta, &final_path).unwrap());
    }
}
