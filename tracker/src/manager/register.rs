//! Registering content: a file already on the origin's disk (by path, confined to the
//! allowed directory), and the common last step for uploads and paths alike — write the
//! torrent, store it in the registry, and let the core accept its announces.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use swarm_engine::metainfo::Metainfo;

use super::api::{RegisterOptions, Registered};
use super::build::{build_torrent, hash_file, Hashed};
use super::error::ApiError;
use super::registry::TorrentRecord;
use crate::state::AppState;

/// Registers a file under the allowed directory. Symlinks and `..` are resolved first
/// (canonicalization), so a path that merely *looks* inside is still refused.
pub(crate) async fn register_path(
    state: &Arc<AppState>,
    requested: &str,
    options: RegisterOptions,
) -> Result<Registered, ApiError> {
    let allowed = state
        .config
        .allowed_dir
        .as_ref()
        .ok_or(ApiError::PathRegistrationDisabled)?;
    let path = resolve_inside(allowed, Path::new(requested))?;
    let name = match options.name {
        Some(name) => name,
        None => path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| ApiError::NotAFile(path.display().to_string()))?,
    };
    let name = checked_name(&name)?;
    let piece_length = options.piece_length.map(checked_piece_length).transpose()?;
    let state = Arc::clone(state);
    tokio::task::spawn_blocking(move || {
        let hashed = hash_file(&path, piece_length).map_err(ApiError::internal)?;
        let (bytes, metainfo) = build(&state, &name, &hashed)?;
        store(&state, &bytes, &metainfo, &path)
    })
    .await
    .map_err(ApiError::internal)?
}

/// Canonicalizes `requested` (relative paths are taken inside `allowed`) and checks that
/// it is a regular, non-empty file inside the canonical `allowed`.
pub(crate) fn resolve_inside(allowed: &Path, requested: &Path) -> Result<PathBuf, ApiError> {
    let allowed = allowed
        .canonicalize()
        .map_err(|e| ApiError::Internal(format!("allowed directory {}: {e}", allowed.display())))?;
    let joined = allowed.join(requested);
    let path = joined
        .canonicalize()
        .map_err(|_| ApiError::NoSuchFile(requested.display().to_string()))?;
    if !path.starts_with(&allowed) {
        return Err(ApiError::OutsideAllowedDir {
            path: path.display().to_string(),
            allowed: allowed.display().to_string(),
        });
    }
    let metadata = path.metadata().map_err(ApiError::internal)?;
    if !metadata.is_file() {
        return Err(ApiError::NotAFile(path.display().to_string()));
    }
    if metadata.len() == 0 {
        return Err(ApiError::EmptyFile);
    }
    Ok(path)
}

/// A torrent name must be one safe path component.
pub(crate) fn checked_name(name: &str) -> Result<String, ApiError> {
    let bad = name.is_empty()
        || name == "."
        || name == ".."
        || name.len() > 255
        || name.contains(['/', '\\', '\0']);
    if bad {
        return Err(ApiError::BadRequest(format!(
            "{name:?} is not a usable file name"
        )));
    }
    Ok(name.to_string())
}

/// A piece length given by the user must be a power of two the engine accepts.
pub(crate) fn checked_piece_length(piece_length: u64) -> Result<u64, ApiError> {
    use swarm_engine::metainfo::{MAX_PIECE_LENGTH, MIN_PIECE_LENGTH};
    if piece_length.is_power_of_two()
        && (MIN_PIECE_LENGTH..=MAX_PIECE_LENGTH).contains(&piece_length)
    {
        Ok(piece_length)
    } else {
        Err(ApiError::BadRequest(format!(
            "piece length {piece_length} is not a power of two between {MIN_PIECE_LENGTH} and {MAX_PIECE_LENGTH}"
        )))
    }
}

/// Writes the torrent announcing to this tracker.
pub(crate) fn build(
    state: &AppState,
    name: &str,
    hashed: &Hashed,
) -> Result<(Vec<u8>, Metainfo), ApiError> {
    if hashed.total_bytes == 0 {
        return Err(ApiError::EmptyFile);
    }
    build_torrent(name, hashed, &state.announce_url, unix_now_s()).map_err(ApiError::internal)
}

/// Stores a built torrent (blocking). An info-hash registered before is left as it was
/// and reported with `existing: true`.
pub(crate) fn store(
    state: &AppState,
    bytes: &[u8],
    metainfo: &Metainfo,
    path: &Path,
) -> Result<Registered, ApiError> {
    let record = TorrentRecord {
        info_hash: metainfo.info_hash,
        name: metainfo.name.clone(),
        size_bytes: metainfo.total_length(),
        piece_length_bytes: u64::from(metainfo.geometry.piece_length()),
        path: path.to_path_buf(),
        created_s: unix_now_s(),
    };
    let inserted = state.registry.insert(&record, bytes)?;
    let stored = if inserted {
        record
    } else {
        state.registry.get(&metainfo.info_hash)?.unwrap_or(record)
    };
    state.core().core.register(metainfo.info_hash);
    tracing::info!(info_hash = %stored.info_hash, name = %stored.name, existing = !inserted, "registered");
    Ok(Registered {
        info_hash: stored.info_hash.to_string(),
        name: stored.name,
        size_bytes: stored.size_bytes,
        path: stored.path.to_string_lossy().into_owned(),
        torrent_url: state.torrent_url(&stored.info_hash),
        announce_url: state.announce_url.clone(),
        existing: !inserted,
    })
}

fn unix_now_s() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn paths_must_resolve_inside_the_allowed_directory() {
        let root = tempfile::tempdir().unwrap();
        let allowed = root.path().join("allowed");
        std::fs::create_dir(&allowed).unwrap();
        std::fs::write(allowed.join("ok.img"), b"data").unwrap();
        std::fs::write(allowed.join("empty.img"), b"").unwrap();
        std::fs::write(root.path().join("secret"), b"data").unwrap();
        std::os::unix::fs::symlink(root.path().join("secret"), allowed.join("link")).unwrap();

        assert!(resolve_inside(&allowed, Path::new("ok.img")).is_ok());
        assert!(resolve_inside(&allowed, &allowed.join("ok.img")).is_ok());
        for outside in ["../secret", "link"] {
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
            resolve_inside(&allowed, Path::new(".")),
            Err(ApiError::NotAFile(_))
        ));
        assert!(matches!(
            resolve_inside(&allowed, Path::new("empty.img")),
            Err(ApiError::EmptyFile)
        ));
    }

    #[test]
    fn names_and_piece_lengths_are_checked() {
        assert!(checked_name("image.raw").is_ok());
        for bad in ["", "..", "a/b", "a\\b"] {
            assert!(checked_name(bad).is_err(), "{bad}");
        }
        assert!(checked_piece_length(1 << 20).is_ok());
        assert!(checked_piece_length(1000).is_err());
        assert!(checked_piece_length(1 << 10).is_err());
    }
}
