//! Keeping registration by path inside the allowed directory: the path is canonicalized
//! (symlinks and `..` resolved) before it is compared, and for a directory every entry
//! below it is too, following links the way torrent creation does, so a link inside that
//! points outside is refused before anything is read.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::error::ApiError;

/// Canonicalizes `requested` (relative paths are taken inside `allowed`) and checks that
/// it is a non-empty regular file, or a directory, inside the canonical `allowed`.
pub(crate) fn resolve_inside(allowed: &Path, requested: &Path) -> Result<PathBuf, ApiError> {
    let allowed = allowed
        .canonicalize()
        .map_err(|e| ApiError::Internal(format!("allowed directory {}: {e}", allowed.display())))?;
    let joined = allowed.join(requested);
    let path = joined
        .canonicalize()
        .map_err(|_| ApiError::NoSuchFile(requested.display().to_string()))?;
    inside(&allowed, &path)?;
    let metadata = path.metadata().map_err(ApiError::internal)?;
    if metadata.is_dir() {
        check_tree(&allowed, &path, &mut BTreeSet::new())?;
        return Ok(path);
    }
    if !metadata.is_file() {
        return Err(ApiError::NotAFile(path.display().to_string()));
    }
    if metadata.len() == 0 {
        return Err(ApiError::EmptyFile);
    }
    Ok(path)
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

/// Checks every entry below the canonical directory `dir`. `walking` holds the canonical
/// directories being walked: a link back to one of them is left to torrent creation, which
/// reports the loop.
fn check_tree(allowed: &Path, dir: &Path, walking: &mut BTreeSet<PathBuf>) -> Result<(), ApiError> {
    if !walking.insert(dir.to_path_buf()) {
        return Ok(());
    }
    let entries = std::fs::read_dir(dir)
        .map_err(|e| ApiError::Internal(format!("cannot list {}: {e}", dir.display())))?;
    for entry in entries {
        let entry =
            entry.map_err(|e| ApiError::Internal(format!("cannot list {}: {e}", dir.display())))?;
        let resolved = entry
            .path()
            .canonicalize()
            .map_err(|_| ApiError::NoSuchFile(entry.path().display().to_string()))?;
        inside(allowed, &resolved)?;
        if resolved.is_dir() {
            check_tree(allowed, &resolved, walking)?;
        }
    }
    walking.remove(dir);
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
        std::fs::write(allowed.join("empty.img"), b"").unwrap();
        std::fs::write(root.path().join("secret"), b"data").unwrap();
        std::os::unix::fs::symlink(root.path().join("secret"), allowed.join("link")).unwrap();
        std::fs::create_dir(allowed.join("leaky")).unwrap();
        std::os::unix::fs::symlink(root.path(), allowed.join("leaky/up")).unwrap();

        assert!(resolve_inside(&allowed, Path::new("ok.img")).is_ok());
        assert!(resolve_inside(&allowed, &allowed.join("ok.img")).is_ok());
        assert!(resolve_inside(&allowed, Path::new("set")).is_ok());
        for outside in ["../secret", "link", "leaky", "."] {
            let err = resolve_inside(&allowed, Path::new(outside)).unwrap_err();
            assert!(
                matches!(err, ApiError::OutsideAllowedDir { .. }),
                "{outside}: {err}"
            );
        }
        let err = resolve_inside(&allowed, &root.path().join("secret")).unwrap_err();
        assert!(matches!(err, ApiError::OutsideAllowedDir { .. }));
        assert!(matches!(
            resolve_inside(&allowed, Path::new("nope")),
            Err(ApiError::NoSuchFile(_))
        ));
        assert!(matches!(
            resolve_inside(&allowed, Path::new("empty.img")),
            Err(ApiError::EmptyFile)
        ));
    }
}
