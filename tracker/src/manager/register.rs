//! Registering content: a file or directory already on the origin's disk (by path,
//! confined to the allowed directory, hashed by [`swarm_net::create_torrent`]), and the common last step for uploads and paths alike — write the
//! torrent, store it in the registry, and let the core accept its announces.

use std::path::Path;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use swarm_engine::metainfo::{Metainfo, TorrentBuilder};
use swarm_net::{create_torrent, CreateError, CreateOptions};

use super::api::{RegisterOptions, Registered};
use super::build::{build_torrent, Hashed};
use super::confine::resolve_inside;
use super::error::ApiError;
use super::registry::TorrentRecord;
use crate::state::AppState;

/// Registers a file or a directory (a multi-file torrent) under the allowed directory.
/// Symlinks and `..` are resolved first (canonicalization), so a path that merely *looks*
/// inside is still refused, and so is a directory holding a link to the outside.
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
    let name = options.name.as_deref().map(checked_name).transpose()?;
    let piece_length = options.piece_length.map(checked_piece_length).transpose()?;
    let state = Arc::clone(state);
    tokio::task::spawn_blocking(move || {
        let create = CreateOptions {
            trackers: vec![state.announce_url.clone()],
            piece_length,
            private: true,
            created_by: Some(concat!("swarm tracker ", env!("CARGO_PKG_VERSION")).to_string()),
            creation_date: Some(unix_now_s()),
            ..CreateOptions::default()
        };
        let created = create_torrent(&path, &create, &|_| {}).map_err(|e| match e {
            CreateError::Empty { .. } => ApiError::EmptyFile,
            other => ApiError::Create(other),
        })?;
        let (bytes, metainfo) = match name {
            Some(name) if name != created.metainfo.name => renamed(&created.metainfo, &name)?,
            _ => (created.bytes, created.metainfo),
        };
        store(&state, &bytes, &metainfo, &path)
    })
    .await
    .map_err(ApiError::internal)?
}

/// The same torrent under another name (the content is found by path, so the name in the
/// torrent is free).
fn renamed(metainfo: &Metainfo, name: &str) -> Result<(Vec<u8>, Metainfo), ApiError> {
    let builder = TorrentBuilder {
        name: name.to_string(),
        piece_length: u64::from(metainfo.geometry.piece_length()),
        piece_hashes: metainfo.piece_hashes.clone(),
        files: metainfo.multi_file.then(|| {
            metainfo
                .files
                .iter()
                .map(|f| (f.path.clone(), f.length))
                .collect()
        }),
        single_length: metainfo.total_length(),
        private: metainfo.private,
        trackers: metainfo.trackers(),
        web_seeds: metainfo.web_seeds.clone(),
        comment: metainfo.comment.clone(),
        created_by: metainfo.created_by.clone(),
        creation_date: metainfo.creation_date,
    };
    let bytes = builder.to_bytes().map_err(ApiError::internal)?;
    let metainfo = Metainfo::from_bytes(&bytes).map_err(ApiError::internal)?;
    Ok((bytes, metainfo))
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
