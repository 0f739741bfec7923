//! Keeping registered content inside its directory, also against a racing symlink swap
//! (issue 15 item 7: the check canonicalized the path, then hashing re-opened it, and 27
//! of 400 racing registrations hashed a file outside the allowed directory).
//!
//! Every file is opened once, right after its check, and only that open file is hashed
//! and served:
//! 1. the path is canonicalized (links and `..` resolved) and must lie inside the
//!    canonical directory; its device and inode are noted;
//! 2. it is opened with `O_NOFOLLOW` (a link swapped onto the last component fails to
//!    open) and `O_NONBLOCK` (a FIFO swapped in cannot hang the open);
//! 3. the open file must be a regular file with the noted device and inode, and its real
//!    path (`/proc/self/fd/N`) must still lie inside the directory — a swap of any
//!    component in between is caught here.
//!
//! A directory is walked the way torrent creation does (entries sorted by name, links
//! followed, each resolved entry checked), and each file below it is opened as above.

use std::fs::{self, File, OpenOptions};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use super::error::ApiError;

/// One opened file of registered content.
#[derive(Debug)]
pub struct OpenedFile {
    /// Its path inside the content, one component per element (the name for one file).
    pub components: Vec<String>,
    /// The file as checked.
    pub file: File,
    /// Its length when opened, bytes.
    pub length: u64,
}

/// Content opened for hashing.
#[derive(Debug)]
pub struct OpenedContent {
    /// Canonical path of the file or directory.
    pub root: PathBuf,
    /// The torrent's default name (the file's or directory's).
    pub name: String,
    /// A directory (multi-file torrent).
    pub multi_file: bool,
    /// Its files in torrent order.
    pub files: Vec<OpenedFile>,
}

/// The canonical form of a directory content must stay in.
pub(crate) fn canonical_dir(dir: &Path) -> Result<PathBuf, ApiError> {
    dir.canonicalize()
        .map_err(|e| ApiError::Internal(format!("directory {}: {e}", dir.display())))
}

/// Opens `requested` (relative paths are taken inside `allowed`): a non-empty regular
/// file, or a directory whose every file is inside `allowed` too.
pub(crate) fn open_inside(allowed: &Path, requested: &Path) -> Result<OpenedContent, ApiError> {
    let allowed = canonical_dir(allowed)?;
    let joined = allowed.join(requested);
    let root = joined
        .canonicalize()
        .map_err(|_| ApiError::NoSuchFile(requested.display().to_string()))?;
    inside(&allowed, &root)?;
    let name = root
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| ApiError::BadRequest(format!("{} has no usable name", root.display())))?
        .to_string();
    let metadata = root.metadata().map_err(ApiError::internal)?;
    let (multi_file, files) = if metadata.is_dir() {
        let mut files = Vec::new();
        walk(
            &allowed,
            &root,
            &mut Vec::new(),
            &mut vec![root.clone()],
            &mut files,
        )?;
        (true, files)
    } else {
        let (file, length) = open_checked(&allowed, &root)?;
        let components = vec![name.clone()];
        let only = OpenedFile {
            components,
            file,
            length,
        };
        (false, vec![only])
    };
    if files.iter().all(|f| f.length == 0) {
        return Err(ApiError::EmptyFile);
    }
    Ok(OpenedContent {
        root,
        name,
        multi_file,
        files,
    })
}

/// Opens one file as the module says; returns it with its length.
pub(crate) fn open_checked(allowed: &Path, path: &Path) -> Result<(File, u64), ApiError> {
    let resolved = path
        .canonicalize()
        .map_err(|_| ApiError::NoSuchFile(path.display().to_string()))?;
    inside(allowed, &resolved)?;
    let checked = fs::metadata(&resolved).map_err(ApiError::internal)?;
    if !checked.is_file() {
        return Err(ApiError::NotAFile(resolved.display().to_string()));
    }
    let swapped = || ApiError::Swapped(resolved.display().to_string());
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(&resolved)
        .map_err(|_| swapped())?;
    let opened = file.metadata().map_err(ApiError::internal)?;
    if !opened.is_file() || (opened.dev(), opened.ino()) != (checked.dev(), checked.ino()) {
        return Err(swapped());
    }
    let real =
        fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd())).map_err(ApiError::internal)?;
    inside(allowed, &real)?;
    Ok((file, opened.len()))
}

fn inside(allowed: &Path, path: &Path) -> Result<(), ApiError> {
    if path.starts_with(allowed) {
        Ok(())
    } else {
        Err(ApiError::OutsideAllowedDir {
            path: path.display().to_string(),
            allowed: allowed.display().to_string(),
        })
    }
}

/// Opens every file below the canonical directory `dir`, in name order. `walking` holds
/// the canonical directories being walked: a link back to one of them is a loop.
fn walk(
    allowed: &Path,
    dir: &Path,
    prefix: &mut Vec<String>,
    walking: &mut Vec<PathBuf>,
    out: &mut Vec<OpenedFile>,
) -> Result<(), ApiError> {
    let list =
        |e: std::io::Error| ApiError::Internal(format!("cannot list {}: {e}", dir.display()));
    let mut entries = Vec::new();
    for entry in fs::read_dir(dir).map_err(list)? {
        entries.push(entry.map_err(list)?.path());
    }
    entries.sort();
    for entry in entries {
        let name = entry
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| ApiError::BadRequest(format!("{} is not UTF-8", entry.display())))?
            .to_string();
        let resolved = entry
            .canonicalize()
            .map_err(|_| ApiError::NoSuchFile(entry.display().to_string()))?;
        inside(allowed, &resolved)?;
        prefix.push(name);
        if resolved.is_dir() {
            if walking.contains(&resolved) {
                return Err(ApiError::BadRequest(format!(
                    "{} links back to {}",
                    entry.display(),
                    resolved.display()
                )));
            }
            walking.push(resolved.clone());
            walk(allowed, &resolved, prefix, walking, out)?;
            walking.pop();
        } else {
            let (file, length) = open_checked(allowed, &resolved)?;
            out.push(OpenedFile {
                components: prefix.clone(),
                file,
                length,
            });
        }
        prefix.pop();
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn paths_must_resolve_inside_the_allowed_directory() {
        let root = tempfile::tempdir().unwrap();
        let allowed = root.path().join("allowed");
        std::fs::create_dir_all(allowed.join("set/sub")).unwrap();
        std::fs::write(allowed.join("ok.img"), b"data").unwrap();
        std::fs::write(allowed.join("set/sub/a"), b"data").unwrap();
        std::fs::write(allowed.join("set/b"), b"data").unwrap();
        std::fs::write(allowed.join("empty.img"), b"").unwrap();
        std::fs::write(root.path().join("secret"), b"data").unwrap();
        std::os::unix::fs::symlink(root.path().join("secret"), allowed.join("link")).unwrap();
        std::fs::create_dir(allowed.join("leaky")).unwrap();
        std::os::unix::fs::symlink(root.path(), allowed.join("leaky/up")).unwrap();

        let one = open_inside(&allowed, Path::new("ok.img")).unwrap();
        assert_eq!((one.files.len(), one.files[0].length), (1, 4));
        assert!(open_inside(&allowed, &allowed.join("ok.img")).is_ok());
        let set = open_inside(&allowed, Path::new("set")).unwrap();
        let names: Vec<_> = set.files.iter().map(|f| f.components.join("/")).collect();
        assert_eq!(names, ["b", "sub/a"]);
        for outside in ["../secret", "link", "leaky", "."] {
            let err = open_inside(&allowed, Path::new(outside)).unwrap_err();
            assert!(
                matches!(err, ApiError::OutsideAllowedDir { .. }),
                "{outside}: {err}"
            );
        }
        let err = open_inside(&allowed, &root.path().join("secret")).unwrap_err();
        assert!(matches!(err, ApiError::OutsideAllowedDir { .. }));
        assert!(matches!(
            open_inside(&allowed, Path::new("nope")),
            Err(ApiError::NoSuchFile(_))
        ));
        assert!(matches!(
            open_inside(&allowed, Path::new("empty.img")),
            Err(ApiError::EmptyFile)
        ));
    }
}
