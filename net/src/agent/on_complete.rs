//! The agent's `--on-complete PROGRAM`: runs [`crate::hook`] once per copy, after a
//! release this host downloaded is verified under its final name (never for a release it
//! seeds as the origin).
//!
//! **Once.** A success is remembered in a hidden file beside the copy,
//! `DIR/CHANNEL/.NAME.swarm-hook`, holding the release's info hash, as the resume record
//! and the download lock are. A restarted agent does not run the program again for a copy
//! it already ran it for; one that was killed while the program ran, or whose program
//! failed, runs it again on its next start. Retention removes the marker with the copy.
//!
//! **Failure** leaves the release verified and seeding (its data is good): the report says
//! why in its `reason`, so the fleet page and `publish --wait --json` show it.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use swarm_engine::metainfo::Metainfo;
use swarm_service::wire::DesiredRelease;

use crate::hook;

/// Default for `--on-complete-timeout`.
pub const DEFAULT_ON_COMPLETE_TIMEOUT: Duration = Duration::from_secs(10 * 60);

/// The program to run and how long it may take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnComplete {
    /// A path, or a name looked up in PATH; run without a shell.
    pub command: String,
    /// It is killed after this long.
    pub timeout: Duration,
}

/// Where the success of the program for `copy` is remembered.
pub fn marker_path(copy: &Path) -> PathBuf {
    let name = copy.file_name().unwrap_or_default().to_string_lossy();
    copy.with_file_name(format!(".{name}.swarm-hook"))
}

/// Runs the program for the verified `copy` of `release` unless it already succeeded for
/// this info hash. `Err` says why it failed, as a report's reason.
pub async fn run_once(
    hook_spec: &OnComplete,
    release: &DesiredRelease,
    copy: &Path,
    metainfo: &Metainfo,
) -> Result<(), String> {
    let marker = marker_path(copy);
    let hash = metainfo.info_hash.to_string();
    let ran = tokio::fs::read_to_string(&marker).await;
    if ran.is_ok_and(|text| text.trim() == hash) {
        tracing::debug!(
            release = release.id,
            "the --on-complete program already ran for this copy"
        );
        return Ok(());
    }
    let command = hook_spec.command.as_str();
    tracing::info!(release = release.id, command, path = %copy.display(), "running the --on-complete program");
    let id = release.id.to_string();
    let env = [
        ("SWARM_CHANNEL", OsStr::new(&release.channel)),
        ("SWARM_RELEASE", OsStr::new(&id)),
    ];
    let outcome = hook::run(command, copy, metainfo, &env, hook_spec.timeout).await;
    if let Some(error) = outcome.error {
        tracing::error!(release = release.id, command, %error, "the --on-complete program failed");
        return Err(format!("on-complete {command} failed: {error}"));
    }
    tracing::info!(
        release = release.id,
        command,
        "the --on-complete program succeeded"
    );
    if let Err(error) = tokio::fs::write(&marker, format!("{hash}\n")).await {
        tracing::warn!(path = %marker.display(), %error, "cannot remember that the --on-complete program ran; it runs again on the next start");
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_marker_sits_beside_the_copy() {
        assert_eq!(
            marker_path(Path::new("/d/nightly/v1.img")),
            Path::new("/d/nightly/.v1.img.swarm-hook")
        );
    }
}
