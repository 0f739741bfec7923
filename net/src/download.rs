//! Where a download lives: it is written under `NAME.part` in the output directory and
//! renamed to `NAME` only once every piece is verified and synced, so a file that looks
//! complete always is. Resuming hashes whatever is there (a `.part` left by an interrupted
//! run, or an older copy under the final name) and keeps the pieces that match.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use swarm_engine::bitfield::Bitfield;
use swarm_engine::metainfo::Metainfo;

use crate::hashing::HashConfig;
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
    if part.exists() {
        let verified = check(&part)?;
        return Ok(Prepared {
            content_path: part,
            final_path,
            verified,
        });
    }
    if final_path.exists() {
        let report = verify_with(metainfo, &final_path, hashing, progress)?;
        if report.complete {
            return Ok(Prepared {
                content_path: final_path.clone(),
                final_path,
                verified: Bitfield::full(pieces),
            });
        }
        // An older or partial copy: reuse its good pieces, under the temporary name.
        fs::rename(&final_path, &part).map_err(|source| DownloadError::Io {
            action: "rename",
            path: final_path.clone(),
            source,
        })?;
        let verified = check(&part)?;
        return Ok(Prepared {
            content_path: part,
            final_path,
            verified,
        });
    }
    Ok(Prepared {
        content_path: part,
        final_path,
        verified: Bitfield::new(pieces),
    })
}

/// Moves a verified download to its final name (call after syncing the data).
pub fn finish(prepared: &Prepared) -> Result<(), DownloadError> {
    if prepared.content_path == prepared.final_path {
        return Ok(());
    }
    fs::rename(&prepared.content_path, &prepared.final_path).map_err(|source| DownloadError::Io {
        action: "rename",
        path: prepared.content_path.clone(),
        source,
    })
}
