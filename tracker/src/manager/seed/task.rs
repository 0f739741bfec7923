//! One seed's life on tokio: open the registered files (confined to the directory they
//! were registered from, see `confine`), hand them to the injected [`SeedStarter`], and
//! publish how it ended on the seed's watch channel.

use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use swarm_engine::metainfo::Metainfo;
use tokio::sync::watch;

use super::starter::{SeedJob, SeedReport, SeedStarter};
use super::{SeedPhase, SeedView};
use crate::manager::confine::{canonical_dir, open_checked};
use crate::manager::error::ApiError;

/// How long a stopping seed may take to announce `stopped` and close.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(20);

/// Where a seed's content is and which directory it must stay in.
#[derive(Debug, Clone)]
pub(crate) struct ContentAt {
    /// The registered path (the file, or the directory of a multi-file torrent).
    pub root: PathBuf,
    /// The directory it was registered from (allowed directory or uploads' files).
    pub confined_to: PathBuf,
}

/// What the task needs besides the starter.
#[derive(Debug)]
pub(crate) struct SeedTask {
    pub metainfo: Metainfo,
    pub content: ContentAt,
    pub listener: TcpListener,
    pub announce_url: String,
}

/// Runs the seed and publishes its end: `stopped`, or `failed` with the error.
pub(crate) async fn run(
    starter: Arc<dyn SeedStarter>,
    task: SeedTask,
    status: watch::Sender<SeedView>,
    stop: watch::Receiver<bool>,
) {
    let hash = task.metainfo.info_hash;
    let ended = match open_job(task).await {
        Ok(job) => {
            starter
                .run(job, SeedReport::new(status.clone()), stop)
                .await
        }
        Err(error) => Err(error),
    };
    match ended {
        Ok(()) => {
            tracing::info!(info_hash = %hash, "origin seed stopped");
            status.send_modify(|v| {
                v.state = SeedPhase::Stopped;
                v.error = None;
            });
        }
        Err(error) => {
            tracing::warn!(info_hash = %hash, %error, "origin seed failed");
            status.send_modify(|v| {
                v.state = SeedPhase::Failed;
                v.error = Some(error);
            });
        }
    }
}

/// Opens every file of the torrent on a blocking thread.
async fn open_job(task: SeedTask) -> Result<SeedJob, String> {
    let SeedTask {
        metainfo,
        content,
        listener,
        announce_url,
    } = task;
    let (metainfo, opened) = tokio::task::spawn_blocking(move || {
        let opened = open_files(&metainfo, &content);
        (metainfo, opened)
    })
    .await
    .map_err(|e| format!("opening the data did not finish: {e}"))?;
    let (files, paths) = opened?;
    Ok(SeedJob {
        metainfo,
        files,
        paths,
        listener,
        announce_url,
    })
}

/// Each torrent file at its place under `content.root`, opened as `confine` checks.
fn open_files(
    metainfo: &Metainfo,
    content: &ContentAt,
) -> Result<(Vec<Option<File>>, Vec<PathBuf>), String> {
    let confined = canonical_dir(&content.confined_to).map_err(|e| e.to_string())?;
    let mut files = Vec::with_capacity(metainfo.files.len());
    let mut paths = Vec::with_capacity(metainfo.files.len());
    for entry in &metainfo.files {
        let path = if metainfo.multi_file {
            entry
                .path
                .iter()
                .fold(content.root.clone(), |p, c| p.join(c))
        } else {
            content.root.clone()
        };
        if entry.pad {
            files.push(None);
        } else {
            files.push(Some(open_one(&confined, &path)?));
        }
        paths.push(path);
    }
    Ok((files, paths))
}

fn open_one(confined: &Path, path: &Path) -> Result<File, String> {
    match open_checked(confined, path) {
        Ok((file, _)) => Ok(file),
        Err(ApiError::NoSuchFile(_)) => Err(format!("{} does not exist", path.display())),
        Err(error) => Err(error.to_string()),
    }
}
