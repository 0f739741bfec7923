//! Making a torrent from a file or a directory: `swarm create`.
//!
//! - A **file** becomes a single-file torrent named after it.
//! - A **directory** becomes a multi-file torrent named after it, holding every file below
//!   it, hidden ones included, in path order (components compared byte-wise), so the same
//!   tree always gives the same torrent. Symbolic links are **followed** (a link to a file
//!   is stored as a file with the target's bytes; a link to a directory is walked); a link
//!   that loops back to a directory above it, a broken link, a non-UTF-8 name or a special
//!   file (socket, FIFO, device) is an error naming the path. Empty directories cannot be
//!   expressed in a torrent: each is reported with a warning (`tracing`), never dropped
//!   silently.
//!
//! Every byte is read once and hashed on all cores by [`crate::hashing`]; its buffers take
//! 1 MiB per core whatever the size of the content or of its pieces. Files are checked again after hashing: one that
//! changed size or modification time meanwhile is an error, not a wrong torrent.

use std::fs::{self, Metadata};
use std::io;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use swarm_engine::metainfo::{
    FileEntry, Metainfo, MetainfoError, TorrentBuilder, MAX_PIECE_LENGTH, MIN_PIECE_LENGTH,
};
use swarm_engine::piece::Geometry;
use swarm_engine::units::format_size;

use crate::content::{from_read_error, DiskContent, ShortData};
use crate::hashing::{hash_pieces, HashConfig, PieceDigest};

/// Smallest piece length chosen automatically.
pub const AUTO_MIN_PIECE_LENGTH: u64 = 256 * 1024;
/// Largest piece length chosen automatically.
pub const AUTO_MAX_PIECE_LENGTH: u64 = 16 * 1024 * 1024;
/// The automatic piece length keeps the piece count at or below this (above half of it
/// unless clamped).
pub const AUTO_MAX_PIECES: u64 = 2000;

/// What goes into a new torrent besides the content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateOptions {
    /// Tracker announce URLs: the first is `announce`, each one tier of `announce-list`.
    pub trackers: Vec<String>,
    /// BEP 19 web seed URLs (`url-list`).
    pub web_seeds: Vec<String>,
    /// Piece length in bytes (a power of two, 16 KiB to 256 MiB); `None` picks one with
    /// [`auto_piece_length`].
    pub piece_length: Option<u64>,
    /// BEP 27 private flag.
    pub private: bool,
    /// Free text.
    pub comment: Option<String>,
    /// `created by`.
    pub created_by: Option<String>,
    /// `creation date`, seconds since the Unix epoch; `None` for reproducible output.
    pub creation_date: Option<i64>,
    /// Hashing threads and read-ahead.
    pub hashing: HashConfig,
}

impl Default for CreateOptions {
    /// Private, no trackers, automatic piece length, `created by swarm/VERSION`, no date.
    fn default() -> Self {
        CreateOptions {
            trackers: Vec::new(),
            web_seeds: Vec::new(),
            piece_length: None,
            private: true,
            comment: None,
            created_by: Some(concat!("swarm/", env!("CARGO_PKG_VERSION")).to_string()),
            creation_date: None,
            hashing: HashConfig::for_this_machine(),
        }
    }
}

/// Seconds since the Unix epoch by the system clock (for `creation date`).
pub fn unix_now() -> Option<i64> {
    let elapsed = SystemTime::now().duration_since(UNIX_EPOCH).ok()?;
    i64::try_from(elapsed.as_secs()).ok()
}

/// A torrent just made: the file's bytes and the same torrent parsed back.
#[derive(Debug, Clone)]
pub struct CreatedTorrent {
    /// The bencoded `.torrent` file.
    pub bytes: Vec<u8>,
    /// `bytes`, parsed and validated.
    pub metainfo: Metainfo,
}

/// Why a torrent could not be made.
#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    /// A file-system call failed.
    #[error("cannot {action} {path}: {source}", path = path.display())]
    Io {
        /// What was being done: "read", "list", "read metadata of".
        action: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    /// Neither a regular file nor a directory (after following links).
    #[error("{path} is not a regular file or a directory", path = path.display())]
    NotAFile { path: PathBuf },
    /// Torrents hold UTF-8 names.
    #[error("the name of {path} is not valid UTF-8", path = path.display())]
    NonUtf8Name { path: PathBuf },
    /// A link back to a directory being walked.
    #[error("{path} is a symbolic link loop back to {ancestor}", path = path.display(), ancestor = ancestor.display())]
    SymlinkLoop { path: PathBuf, ancestor: PathBuf },
    /// Nothing to hash.
    #[error("{path} holds no data (no files, or only empty ones)", path = path.display())]
    Empty { path: PathBuf },
    /// A piece length given that is not a power of two in range.
    #[error("piece size {piece_length} is not a power of two between 16 KiB and 256 MiB")]
    BadPieceLength { piece_length: u64 },
    /// More pieces than a `u32` counts.
    #[error("{total} at piece size {piece} makes too many pieces", total = format_size(*total_length), piece = format_size(*piece_length))]
    TooManyPieces {
        total_length: u64,
        piece_length: u64,
    },
    /// A file changed while it was hashed.
    #[error("{path} changed while it was being hashed; try again when it is complete", path = path.display())]
    Changed { path: PathBuf },
    /// The torrent would not be valid (e.g. a name the format cannot carry).
    #[error("cannot write the torrent: {0}")]
    Metainfo(#[from] MetainfoError),
}

from_read_error!(CreateError);

/// The piece length for `total_length` bytes: the smallest power of two from 256 KiB that
/// keeps the count at or below [`AUTO_MAX_PIECES`], at most 16 MiB. A 10 GiB image gets
/// 8 MiB pieces (1280 of them).
pub fn auto_piece_length(total_length: u64) -> u64 {
    let mut piece_length = AUTO_MIN_PIECE_LENGTH;
    while piece_length < AUTO_MAX_PIECE_LENGTH
        && total_length.div_ceil(piece_length) > AUTO_MAX_PIECES
    {
        piece_length *= 2;
    }
    piece_length
}

/// Makes a torrent of the file or directory at `path`. `progress` is called on this thread
/// with the number of bytes hashed so far. Same as [`Content::scan`] then
/// [`create_from_content`].
pub fn create_torrent(
    path: &Path,
    options: &CreateOptions,
    progress: &dyn Fn(u64),
) -> Result<CreatedTorrent, CreateError> {
    create_from_content(&Content::scan(path)?, options, progress)
}

/// The files a torrent will hold, found on disk but not read yet.
#[derive(Debug, Clone)]
pub struct Content {
    root: PathBuf,
    name: String,
    multi_file: bool,
    files: Vec<WalkedFile>,
    total_length: u64,
}

impl Content {
    /// Finds the files at `path` (a file, or a directory walked as the module says).
    pub fn scan(path: &Path) -> Result<Self, CreateError> {
        let name = content_name(path)?;
        let root_meta = metadata(path)?;
        let files = if root_meta.is_file() {
            vec![WalkedFile {
                components: vec![name.clone()],
                length: root_meta.len(),
                modified: root_meta.modified().ok(),
                path: path.to_path_buf(),
            }]
        } else if root_meta.is_dir() {
            let mut files = Vec::new();
            walk_dir(path, &mut Vec::new(), &mut Vec::new(), &mut files)?;
            files
        } else {
            return Err(CreateError::NotAFile { path: path.into() });
        };
        let total_length = files
            .iter()
            .try_fold(0u64, |sum, f| sum.checked_add(f.length))
            .ok_or(MetainfoError::TotalTooLarge)?;
        if total_length == 0 {
            return Err(CreateError::Empty { path: path.into() });
        }
        Ok(Content {
            root: path.to_path_buf(),
            name,
            multi_file: root_meta.is_dir(),
            files,
            total_length,
        })
    }

    /// The torrent's name: the file's or directory's.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Bytes to hash.
    pub fn total_length(&self) -> u64 {
        self.total_length
    }

    /// Number of files.
    pub fn file_count(&self) -> usize {
        self.files.len()
    }

    /// Whether this is a directory (a multi-file torrent).
    pub fn is_multi_file(&self) -> bool {
        self.multi_file
    }
}

/// Hashes scanned content and writes the torrent. `progress` is called on this thread with
/// the number of bytes hashed so far.
pub fn create_from_content(
    content: &Content,
    options: &CreateOptions,
    progress: &dyn Fn(u64),
) -> Result<CreatedTorrent, CreateError> {
    let total_length = content.total_length;
    let piece_length = match options.piece_length {
        Some(length) => check_piece_length(length)?,
        None => auto_piece_length(total_length),
    };
    let geometry = u32::try_from(piece_length)
        .ok()
        .and_then(|p| Geometry::new(total_length, p))
        .ok_or(CreateError::TooManyPieces {
            total_length,
            piece_length,
        })?;

    let mut entries = Vec::with_capacity(content.files.len());
    let mut offset = 0;
    for file in &content.files {
        entries.push(FileEntry {
            path: file.components.clone(),
            length: file.length,
            offset,
            pad: false,
        });
        offset += file.length;
    }
    let paths = content.files.iter().map(|f| f.path.clone()).collect();
    let lengths = content.files.iter().map(|f| Some(f.length)).collect();
    let source = DiskContent::new(geometry, entries, paths, lengths, ShortData::Error);
    let digests = hash_pieces(&geometry, source, options.hashing, progress)?;
    let mut piece_hashes = Vec::with_capacity(digests.len());
    for digest in digests {
        match digest {
            PieceDigest::Hashed(hash) => piece_hashes.push(hash),
            // `ShortData::Error` turns absent data into an error, so this means a race.
            PieceDigest::Missing => {
                return Err(CreateError::Changed {
                    path: content.root.clone(),
                })
            }
        }
    }
    for file in &content.files {
        let now = metadata(&file.path)?;
        if now.len() != file.length || now.modified().ok() != file.modified {
            return Err(CreateError::Changed {
                path: file.path.clone(),
            });
        }
    }

    let builder = TorrentBuilder {
        name: content.name.clone(),
        piece_length,
        piece_hashes,
        files: content.multi_file.then(|| {
            content
                .files
                .iter()
                .map(|f| (f.components.clone(), f.length))
                .collect()
        }),
        single_length: total_length,
        private: options.private,
        trackers: options.trackers.clone(),
        web_seeds: options.web_seeds.clone(),
        comment: options.comment.clone(),
        created_by: options.created_by.clone(),
        creation_date: options.creation_date,
    };
    let bytes = builder.to_bytes()?;
    let metainfo = Metainfo::from_bytes(&bytes)?;
    Ok(CreatedTorrent { bytes, metainfo })
}

fn check_piece_length(piece_length: u64) -> Result<u64, CreateError> {
    if piece_length.is_power_of_two()
        && (MIN_PIECE_LENGTH..=MAX_PIECE_LENGTH).contains(&piece_length)
    {
        Ok(piece_length)
    } else {
        Err(CreateError::BadPieceLength { piece_length })
    }
}

/// The torrent's name: the last component of `path` (of its canonical form for `.`, `..`
/// or `/`), so a link keeps the name it was given.
fn content_name(path: &Path) -> Result<String, CreateError> {
    let canonical;
    let file_name = match path.file_name() {
        Some(name) => name,
        None => {
            canonical = fs::canonicalize(path).map_err(|source| CreateError::Io {
                action: "resolve",
                path: path.into(),
                source,
            })?;
            canonical
                .file_name()
                .ok_or(CreateError::NotAFile { path: path.into() })?
        }
    };
    file_name
        .to_str()
        .map(str::to_owned)
        .ok_or(CreateError::NonUtf8Name { path: path.into() })
}

/// One file found by the walk.
#[derive(Debug, Clone)]
struct WalkedFile {
    /// Where it is on disk.
    path: PathBuf,
    /// Its path in the torrent.
    components: Vec<String>,
    length: u64,
    modified: Option<SystemTime>,
}

fn metadata(path: &Path) -> Result<Metadata, CreateError> {
    fs::metadata(path).map_err(|source| CreateError::Io {
        action: "read metadata of (a broken link?)",
        path: path.into(),
        source,
    })
}

/// Appends the files below `dir` in path order. `prefix` is `dir`'s path in the torrent,
/// `ancestors` the canonical paths of the directories being walked (for loop detection).
fn walk_dir(
    dir: &Path,
    prefix: &mut Vec<String>,
    ancestors: &mut Vec<PathBuf>,
    out: &mut Vec<WalkedFile>,
) -> Result<(), CreateError> {
    let canonical = fs::canonicalize(dir).map_err(|source| CreateError::Io {
        action: "resolve",
        path: dir.into(),
        source,
    })?;
    if let Some(ancestor) = ancestors.iter().find(|a| **a == canonical) {
        return Err(CreateError::SymlinkLoop {
            path: dir.into(),
            ancestor: ancestor.clone(),
        });
    }
    let list_error = |source| CreateError::Io {
        action: "list",
        path: dir.into(),
        source,
    };
    let mut entries = Vec::new();
    for entry in fs::read_dir(dir).map_err(list_error)? {
        entries.push(entry.map_err(list_error)?.path());
    }
    entries.sort();
    if entries.is_empty() {
        tracing::warn!(
            "empty directory {} is left out: torrents cannot hold empty directories",
            dir.display()
        );
    }
    ancestors.push(canonical);
    for entry in entries {
        let name = entry
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| CreateError::NonUtf8Name {
                path: entry.clone(),
            })?
            .to_string();
        let meta = metadata(&entry)?;
        prefix.push(name);
        if meta.is_file() {
            out.push(WalkedFile {
                path: entry,
                components: prefix.clone(),
                length: meta.len(),
                modified: meta.modified().ok(),
            });
        } else if meta.is_dir() {
            walk_dir(&entry, prefix, ancestors, out)?;
        } else {
            return Err(CreateError::NotAFile { path: entry });
        }
        prefix.pop();
    }
    ancestors.pop();
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod tests {
    use super::*;
    use sha1::{Digest, Sha1};

    /// 16 KiB pieces, hashed by two workers in 4 KiB chunks (so a piece spans chunks): the
    /// torrents of this crate's unit tests.
    pub(crate) fn options() -> CreateOptions {
        CreateOptions {
            piece_length: Some(16 * 1024),
            hashing: HashConfig {
                workers: 2,
                chunk_length: 4096,
            },
            ..CreateOptions::default()
        }
    }

    fn pattern(len: usize, seed: u8) -> Vec<u8> {
        (0..len)
            .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
            .collect()
    }

    #[test]
    fn auto_piece_length_keeps_pieces_between_1000_and_2000() {
        assert_eq!(auto_piece_length(1), AUTO_MIN_PIECE_LENGTH);
        assert_eq!(auto_piece_length(10 << 30), 8 << 20);
        assert_eq!(auto_piece_length(20 << 30), 16 << 20);
        assert_eq!(auto_piece_length(1 << 50), AUTO_MAX_PIECE_LENGTH);
        for total in [1u64 << 29, 3 << 30, 7_777_777_777, 16 << 30] {
            let count = total.div_ceil(auto_piece_length(total));
            assert!((1000..=2000).contains(&count), "{total}: {count}");
        }
    }

    #[test]
    fn single_file_hashes_match_sequential_sha1() {
        let dir = tempfile::tempdir().unwrap();
        let data = pattern(100_000, 1);
        let file = dir.path().join("image.raw");
        fs::write(&file, &data).unwrap();
        let created = create_torrent(&file, &options(), &|_| {}).unwrap();
        let meta = created.metainfo;
        assert_eq!(meta.name, "image.raw");
        assert!(!meta.multi_file && meta.private);
        let expected: Vec<[u8; 20]> = data
            .chunks(16 * 1024)
            .map(|c| Sha1::digest(c).into())
            .collect();
        assert_eq!(meta.piece_hashes, expected);
        assert_eq!(meta.creation_date, None);
    }

    #[test]
    fn directory_is_walked_in_path_order_across_files() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("release");
        fs::create_dir_all(root.join("b/inner")).unwrap();
        fs::write(root.join("b/inner/z"), pattern(20_000, 2)).unwrap();
        fs::write(root.join("a"), pattern(10, 3)).unwrap();
        fs::write(root.join(".hidden"), pattern(5, 4)).unwrap();
        fs::write(root.join("c.empty"), b"").unwrap();
        let created = create_torrent(&root, &options(), &|_| {}).unwrap();
        let meta = created.metainfo;
        assert!(meta.multi_file);
        let paths: Vec<String> = meta.files.iter().map(|f| f.display_path()).collect();
        assert_eq!(paths, vec![".hidden", "a", "b/inner/z", "c.empty"]);
        let mut all = pattern(5, 4);
        all.extend(pattern(10, 3));
        all.extend(pattern(20_000, 2));
        let expected: Vec<[u8; 20]> = all
            .chunks(16 * 1024)
            .map(|c| Sha1::digest(c).into())
            .collect();
        assert_eq!(meta.piece_hashes, expected);
    }

    #[test]
    fn same_tree_same_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("d");
        fs::create_dir(&root).unwrap();
        for name in ["q", "b", "x", "a"] {
            fs::write(root.join(name), pattern(7_000, name.as_bytes()[0])).unwrap();
        }
        let one = create_torrent(&root, &options(), &|_| {}).unwrap();
        let two = create_torrent(&root, &options(), &|_| {}).unwrap();
        assert_eq!(one.bytes, two.bytes);
    }

    #[test]
    fn rejections_name_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope");
        let err = create_torrent(&missing, &options(), &|_| {}).unwrap_err();
        assert!(err.to_string().contains("nope"), "{err}");

        let empty = dir.path().join("empty");
        fs::create_dir(&empty).unwrap();
        let err = create_torrent(&empty, &options(), &|_| {}).unwrap_err();
        assert!(matches!(err, CreateError::Empty { .. }), "{err}");

        let file = dir.path().join("f");
        fs::write(&file, b"x").unwrap();
        let bad = CreateOptions {
            piece_length: Some(20_000),
            ..options()
        };
        let err = create_torrent(&file, &bad, &|_| {}).unwrap_err();
        assert!(matches!(err, CreateError::BadPieceLength { .. }), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn special_files_and_non_utf8_names_are_errors() {
        use std::ffi::OsStr;
        use std::os::unix::ffi::OsStrExt;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("r");
        fs::create_dir(&root).unwrap();
        fs::write(root.join(OsStr::from_bytes(b"bad\xff")), b"x").unwrap();
        let err = create_torrent(&root, &options(), &|_| {}).unwrap_err();
        assert!(matches!(err, CreateError::NonUtf8Name { .. }), "{err}");

        let fifo_dir = dir.path().join("f");
        fs::create_dir(&fifo_dir).unwrap();
        let made = std::process::Command::new("mkfifo")
            .arg(fifo_dir.join("pipe"))
            .status();
        if made.is_ok_and(|s| s.success()) {
            let err = create_torrent(&fifo_dir, &options(), &|_| {}).unwrap_err();
            assert!(matches!(err, CreateError::NotAFile { .. }), "{err}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn links_are_followed_and_loops_rejected() {
        use std::os::unix::fs::symlink;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("r");
        fs::create_dir(&root).unwrap();
        fs::write(dir.path().join("target"), pattern(3000, 9)).unwrap();
        symlink(dir.path().join("target"), root.join("link")).unwrap();
        let meta = create_torrent(&root, &options(), &|_| {}).unwrap().metainfo;
        assert_eq!(meta.files[0].display_path(), "link");
        assert_eq!(meta.files[0].length, 3000);

        symlink(&root, root.join("loop")).unwrap();
        let err = create_torrent(&root, &options(), &|_| {}).unwrap_err();
        assert!(matches!(err, CreateError::SymlinkLoop { .. }), "{err}");
    }
}
