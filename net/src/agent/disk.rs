//! The agent's disk: where a release lives (`DIR/CHANNEL/FILE`), free space, and removing
//! a release that retention dropped.

use std::io;
use std::path::{Path, PathBuf};

use swarm_service::wire::DesiredRelease;

use crate::resume;

/// The directory a release is downloaded into.
pub fn channel_dir(dir: &Path, release: &DesiredRelease) -> PathBuf {
    dir.join(&release.channel)
}

/// Where a release ends up.
pub fn release_path(dir: &Path, release: &DesiredRelease) -> PathBuf {
    channel_dir(dir, release).join(&release.name)
}

/// Bytes free for an unprivileged writer on the file system holding `path` (or its
/// nearest existing parent).
pub fn free_bytes(path: &Path) -> Option<u64> {
    let existing = path.ancestors().find(|p| p.exists())?;
    let stats = rustix::fs::statvfs(existing).ok()?;
    Some(stats.f_bavail.saturating_mul(stats.f_frsize))
}

/// Whether an I/O error text says the disk is full.
pub fn is_disk_full(text: &str) -> bool {
    text.contains("No space left")
        || text.contains("os error 28")
        || text.contains("File too large")
}

/// Removes a release's copy, its `.part`, its resume record and its `--on-complete`
/// marker (the empty lock file stays, as [`crate::download`] says). Missing files are fine.
pub fn remove_release(dir: &Path, release: &DesiredRelease) -> io::Result<()> {
    let path = release_path(dir, release);
    let part = channel_dir(dir, release).join(format!("{}.part", release.name));
    if let Err(error) = resume::forget(&path) {
        tracing::warn!("{error}");
    }
    let marker = super::on_complete::marker_path(&path);
    for target in [&path, &part, &marker] {
        let removed = match std::fs::symlink_metadata(target) {
            Ok(meta) if meta.is_dir() => std::fs::remove_dir_all(target),
            Ok(_) => std::fs::remove_file(target),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(error) => Err(error),
        };
        removed?;
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn removing_a_release_leaves_the_others() {
        let dir = tempfile::tempdir().unwrap();
        let release = |id, name: &str| DesiredRelease {
            id,
            channel: "nightly".into(),
            name: name.into(),
            info_hash: String::new(),
            size_bytes: 1,
            origin_peer_id: None,
        };
        let (v1, v2) = (release(1, "v1.img"), release(2, "v2.img"));
        std::fs::create_dir_all(channel_dir(dir.path(), &v1)).unwrap();
        std::fs::write(release_path(dir.path(), &v1), b"1").unwrap();
        std::fs::write(release_path(dir.path(), &v2), b"2").unwrap();
        remove_release(dir.path(), &v1).unwrap();
        remove_release(dir.path(), &v1).unwrap();
        assert!(!release_path(dir.path(), &v1).exists());
        assert!(release_path(dir.path(), &v2).exists());
        assert!(free_bytes(&dir.path().join("nightly/missing")).unwrap() > 0);
        assert!(is_disk_full("No space left on device (os error 28)"));
    }
}
