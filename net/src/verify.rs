//! Checking a local copy against a torrent: `swarm verify`.
//!
//! **Which path.** `path` is the content itself, as given to `swarm create`: the file of a
//! single-file torrent, or the top directory of a multi-file torrent (whose own name does
//! not matter, so a renamed copy verifies). For a single-file torrent, `path` may also be a
//! directory holding a file named after the torrent. See [`content_path`].
//!
//! **What is reported.** A piece is *missing* when some of its bytes are not on disk (a file
//! absent, not a regular file, or too short); *bad* when its bytes are there but their
//! SHA-1 differs. Files of the wrong length (too short, or longer than the torrent says)
//! are listed too. The copy is complete only when every piece matches and every file has
//! exactly its length. Every piece is hashed in parallel by [`crate::hashing`].
//!
//! **Pad files** (BEP 47) are zeros that are never on disk: they are hashed as zeros, never
//! looked for, and never reported, whatever is or is not at their path.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::Serialize;
use swarm_engine::metainfo::Metainfo;

use crate::content::{from_read_error, DiskContent, ShortData};
use crate::hashing::{hash_pieces, HashConfig, PieceDigest};

/// The result of checking a copy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// Every piece matches and every file has its exact length.
    pub complete: bool,
    /// The file or directory that was checked (see [`content_path`]).
    pub content_path: PathBuf,
    /// Pieces in the torrent.
    pub piece_count: u32,
    /// Pieces present with the right hash.
    pub good_pieces: u32,
    /// Pieces present but with the wrong hash, in order.
    pub bad_pieces: Vec<u32>,
    /// Pieces with some bytes absent on disk, in order.
    pub missing_pieces: Vec<u32>,
    /// Files that are absent, not regular files, or of the wrong length, in torrent order.
    pub file_problems: Vec<FileProblem>,
}

/// One file that is not as the torrent describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileProblem {
    /// Path in the torrent, components joined with `/`.
    pub path: String,
    /// Length the torrent gives.
    pub expected_length: u64,
    /// Length found on disk, when a regular file is there.
    pub found_length: Option<u64>,
    /// What is wrong.
    pub problem: FileProblemKind,
}

/// What is wrong with a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileProblemKind {
    /// Nothing at that path.
    Missing,
    /// A directory or special file at that path.
    NotAFile,
    /// Shorter than the torrent says: the pieces it lacks are missing.
    TooShort,
    /// Longer than the torrent says: the pieces may match, but the copy is not exact.
    TooLong,
}

/// Why a copy could not be checked at all (as opposed to being found incomplete).
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// `path` does not exist.
    #[error("{path} does not exist", path = path.display())]
    NotFound { path: PathBuf },
    /// A multi-file torrent needs a directory.
    #[error("{path} is not a directory, but the torrent {name:?} holds several files; give the directory that holds them", path = path.display())]
    NotADirectory { path: PathBuf, name: String },
    /// A file-system call failed (other than a file being absent).
    #[error("cannot {action} {path}: {source}", path = path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    /// A file shrank or vanished while it was read.
    #[error("{path} changed while it was being verified", path = path.display())]
    Changed { path: PathBuf },
}

from_read_error!(VerifyError);

/// Where the content is, by the rule in the module documentation: `path` itself, or for a
/// single-file torrent `path/NAME` when `path` is a directory.
pub fn content_path(metainfo: &Metainfo, path: &Path) -> Result<PathBuf, VerifyError> {
    let meta = fs::metadata(path).map_err(|source| match source.kind() {
        io::ErrorKind::NotFound => VerifyError::NotFound { path: path.into() },
        _ => VerifyError::Io {
            action: "read metadata of",
            path: path.into(),
            source,
        },
    })?;
    match (metainfo.multi_file, meta.is_dir()) {
        (false, true) => Ok(path.join(&metainfo.name)),
        (false, false) | (true, true) => Ok(path.to_path_buf()),
        (true, false) => Err(VerifyError::NotADirectory {
            path: path.into(),
            name: metainfo.name.clone(),
        }),
    }
}

/// Checks the copy at `path` against `metainfo` with one hashing thread per core.
/// `progress` is called on this thread with the bytes checked so far.
pub fn verify(
    metainfo: &Metainfo,
    path: &Path,
    progress: &dyn Fn(u64),
) -> Result<VerifyReport, VerifyError> {
    verify_with(metainfo, path, HashConfig::for_this_machine(), progress)
}

/// [`verify`] with explicit hashing threads and read-ahead.
pub fn verify_with(
    metainfo: &Metainfo,
    path: &Path,
    hashing: HashConfig,
    progress: &dyn Fn(u64),
) -> Result<VerifyReport, VerifyError> {
    let root = content_path(metainfo, path)?;
    let paths: Vec<PathBuf> = if metainfo.multi_file {
        let file_path = |f: &swarm_engine::metainfo::FileEntry| {
            f.path.iter().fold(root.clone(), |p, c| p.join(c))
        };
        metainfo.files.iter().map(file_path).collect()
    } else {
        vec![root.clone()]
    };

    let mut found_lengths = Vec::with_capacity(paths.len());
    let mut file_problems = Vec::new();
    for (file, disk_path) in metainfo.files.iter().zip(&paths) {
        if file.pad {
            found_lengths.push(None);
            continue;
        }
        let (found, kind) = match fs::metadata(disk_path) {
            Ok(meta) if meta.is_file() => {
                let length = meta.len();
                let kind = match length.cmp(&file.length) {
                    std::cmp::Ordering::Less => Some(FileProblemKind::TooShort),
                    std::cmp::Ordering::Equal => None,
                    std::cmp::Ordering::Greater => Some(FileProblemKind::TooLong),
                };
                (Some(length), kind)
            }
            Ok(_) => (None, Some(FileProblemKind::NotAFile)),
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                (None, Some(FileProblemKind::Missing))
            }
            Err(source) => {
                return Err(VerifyError::Io {
                    action: "read metadata of",
                    path: disk_path.clone(),
                    source,
                })
            }
        };
        found_lengths.push(found);
        if let Some(problem) = kind {
            file_problems.push(FileProblem {
                path: file.display_path(),
                expected_length: file.length,
                found_length: found,
                problem,
            });
        }
    }

    let geometry = metainfo.geometry;
    let source = DiskContent::new(
        geometry,
        metainfo.files.clone(),
        paths,
        found_lengths,
        ShortData::Missing,
    );
    let digests = hash_pieces(&geometry, source, hashing, progress)?;
    let mut bad_pieces = Vec::new();
    let mut missing_pieces = Vec::new();
    for (index, (digest, expected)) in digests.iter().zip(&metainfo.piece_hashes).enumerate() {
        let index = index as u32;
        match digest {
            PieceDigest::Hashed(hash) if hash == expected => {}
            PieceDigest::Hashed(_) => bad_pieces.push(index),
            PieceDigest::Missing => missing_pieces.push(index),
        }
    }
    let piece_count = geometry.piece_count();
    let good_pieces = piece_count - bad_pieces.len() as u32 - missing_pieces.len() as u32;
    Ok(VerifyReport {
        complete: bad_pieces.is_empty() && missing_pieces.is_empty() && file_problems.is_empty(),
        content_path: root,
        piece_count,
        good_pieces,
        bad_pieces,
        missing_pieces,
        file_problems,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::create::create_torrent;
    use crate::create::tests::options;

    fn data(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
    }

    #[test]
    fn intact_flipped_and_truncated_single_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("img");
        let mut bytes = data(100_000);
        fs::write(&file, &bytes).unwrap();
        let meta = create_torrent(&file, &options(), &|_| {}).unwrap().metainfo;

        let report = verify(&meta, &file, &|_| {}).unwrap();
        assert!(report.complete, "{report:?}");
        assert_eq!(report.good_pieces, 7);
        // The directory holding the file works too.
        assert!(verify(&meta, dir.path(), &|_| {}).unwrap().complete);

        bytes[40_000] ^= 1;
        fs::write(&file, &bytes).unwrap();
        let report = verify(&meta, &file, &|_| {}).unwrap();
        assert!(!report.complete);
        assert_eq!(report.bad_pieces, vec![2]);
        assert!(report.missing_pieces.is_empty());

        bytes.truncate(50_000);
        fs::write(&file, &bytes).unwrap();
        let report = verify(&meta, &file, &|_| {}).unwrap();
        assert_eq!(report.bad_pieces, vec![2]);
        assert_eq!(report.missing_pieces, vec![3, 4, 5, 6]);
        assert_eq!(report.file_problems[0].problem, FileProblemKind::TooShort);
        assert_eq!(report.file_problems[0].found_length, Some(50_000));
    }

    #[test]
    fn multi_file_missing_and_oversized_files() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("set");
        fs::create_dir_all(root.join("sub")).unwrap();
        fs::write(root.join("a"), data(20_000)).unwrap();
        fs::write(root.join("sub/b"), data(30_000)).unwrap();
        fs::write(root.join("c"), data(5)).unwrap();
        let meta = create_torrent(&root, &options(), &|_| {}).unwrap().metainfo;
        assert!(verify(&meta, &root, &|_| {}).unwrap().complete);

        // Content order: a [0, 20000), c [20000, 20005), sub/b [20005, 50005).
        fs::remove_file(root.join("c")).unwrap();
        let report = verify(&meta, &root, &|_| {}).unwrap();
        assert_eq!(report.missing_pieces, vec![1]);
        assert_eq!(report.file_problems[0].problem, FileProblemKind::Missing);

        fs::write(root.join("c"), data(6)).unwrap();
        let report = verify(&meta, &root, &|_| {}).unwrap();
        assert!(!report.complete);
        assert!(report.bad_pieces.is_empty() && report.missing_pieces.is_empty());
        assert_eq!(report.file_problems[0].problem, FileProblemKind::TooLong);

        let err = verify(&meta, &root.join("a"), &|_| {}).unwrap_err();
        assert!(matches!(err, VerifyError::NotADirectory { .. }), "{err}");
        let err = verify(&meta, &dir.path().join("gone"), &|_| {}).unwrap_err();
        assert!(matches!(err, VerifyError::NotFound { .. }), "{err}");
    }

    #[test]
    fn pad_files_verify_as_zeros_and_are_never_reported() {
        use crate::storage::padded;
        let dir = tempfile::tempdir().unwrap();
        let root = padded::write_copy(dir.path());
        let meta = padded::torrent();
        let report = verify(&meta, &root, &|_| {}).unwrap();
        assert!(report.complete, "{report:?}");
        assert_eq!(report.good_pieces, 2);

        // Whatever is at the pad file's path is not read.
        fs::create_dir_all(root.join(".pad")).unwrap();
        fs::write(root.join(".pad/16374"), b"junk").unwrap();
        assert!(verify(&meta, &root, &|_| {}).unwrap().complete);

        // A real file next to a pad file is still checked.
        fs::remove_file(root.join("a")).unwrap();
        let report = verify(&meta, &root, &|_| {}).unwrap();
        assert_eq!(report.missing_pieces, vec![0]);
        let paths: Vec<&str> = report
            .file_problems
            .iter()
            .map(|p| p.path.as_str())
            .collect();
        assert_eq!(paths, vec!["a"]);
    }
}
