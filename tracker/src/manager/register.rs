//! Registering content: a file or directory already on the origin's disk (by path,
//! confined to the allowed directory and hashed from the files opened by the check, see
//! [`super::confine`]), and the common last step for uploads and paths alike — write the
//! torrent, store it in the registry, and let the core accept its announces.

use std::path::Path;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use swarm_engine::metainfo::Metainfo;

use super::api::{RegisterOptions, Registered};
use super::build::{build_torrent, hash_open_files, piece_length_for, Hashed};
use super::confine::{open_inside, OpenedContent};
use super::error::ApiError;
use super::registry::TorrentRecord;
use crate::state::AppState;

/// Registers a file or a directory (a multi-file torrent) under the allowed directory.
/// Symlinks and `..` are resolved first (canonicalization), so a path that merely *looks*
/// inside is still refused, and so is a directory holding a link to the outside; what is
/// hashed is the file opened right after that check, never the path again.
pub(crate) async fn register_path(
    state: &Arc<AppState>,
    requested: &str,
    options: RegisterOptions,
) -> Result<Registered, ApiError> {
    let allowed = state
        .config
        .allowed_dir
        .clone()
        .ok_or(ApiError::PathRegistrationDisabled)?;
    let name = options.name.as_deref().map(checked_name).transpose()?;
    let piece_length = options.piece_length.map(checked_piece_length).transpose()?;
    let requested = requested.to_string();
    let state = Arc::clone(state);
    tokio::task::spawn_blocking(move || {
        let content = open_inside(&allowed, Path::new(&requested))?;
        let name = name.unwrap_or_else(|| content.name.clone());
        let (bytes, metainfo) = hash_content(&state, &content, &name, piece_length)?;
        store(&state, &bytes, &metainfo, &content.root)
    })
    .await
    .map_err(ApiError::internal)?
}

/// Hashes opened content and writes its torrent.
fn hash_content(
    state: &AppState,
    content: &OpenedContent,
    name: &str,
    piece_length: Option<u64>,
) -> Result<(Vec<u8>, Metainfo), ApiError> {
    let total: u64 = content.files.iter().map(|f| f.length).sum();
    let piece_length = piece_length.unwrap_or_else(|| piece_length_for(total));
    let files: Vec<_> = content.files.iter().map(|f| (&f.file, f.length)).collect();
    let hashed = hash_open_files(&files, piece_length)
        .map_err(|e| ApiError::Changed(format!("{}: {e}", content.root.display())))?;
    let layout = content.multi_file.then(|| {
        content
            .files
            .iter()
            .map(|f| (f.components.clone(), f.length))
            .collect()
    });
    build_with(state, name, &hashed, layout)
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

/// Writes the single-file torrent announcing to this tracker.
pub(crate) fn build(
    state: &AppState,
    name: &str,
    hashed: &Hashed,
) -> Result<(Vec<u8>, Metainfo), ApiError> {
    build_with(state, name, hashed, None)
}

fn build_with(
    state: &AppState,
    name: &str,
    hashed: &Hashed,
    files: Option<Vec<(Vec<String>, u64)>>,
) -> Result<(Vec<u8>, Metainfo), ApiError> {
    if hashed.total_bytes == 0 {
        return Err(ApiError::EmptyFile);
    }
    build_torrent(name, hashed, files, &state.announce_url, unix_now_s())
        .map_err(ApiError::internal)
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
