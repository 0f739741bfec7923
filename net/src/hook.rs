//! `--on-complete COMMAND` of `swarm get` and `swarm agent`: runs a program once a copy is
//! verified under its final name, as aria2c's `--on-download-complete` does.
//!
//! COMMAND is a program (a path, or a name looked up in PATH), run without a shell, with the
//! copy's absolute path as its only argument and these variables set: `SWARM_PATH` (the same
//! path), `SWARM_INFO_HASH`, `SWARM_NAME`, `SWARM_TOTAL_BYTES`, and what the caller adds
//! (`get`: `SWARM_TORRENT`, the .torrent it was given; the agent: `SWARM_CHANNEL`,
//! `SWARM_RELEASE`). Its stdin is empty; its stdout and stderr go to our stderr, so that
//! `get --json` output stays parsable. It is killed after its timeout.

use std::ffi::OsStr;
use std::os::fd::AsFd;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use swarm_engine::metainfo::Metainfo;

/// What the hook did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookOutcome {
    /// The program run.
    pub command: String,
    /// It ran and exited 0.
    pub ok: bool,
    /// Its exit code, when it exited by itself.
    pub exit_code: Option<i32>,
    /// Why it failed, when it did.
    pub error: Option<String>,
}

impl HookOutcome {
    /// The program was killed because we were interrupted.
    pub fn interrupted(command: &str) -> Self {
        Self::failed(
            command,
            None,
            "killed: interrupted before it finished".to_string(),
        )
    }

    fn failed(command: &str, exit_code: Option<i32>, error: String) -> Self {
        HookOutcome {
            command: command.to_string(),
            ok: false,
            exit_code,
            error: Some(error),
        }
    }
}

/// Runs `command` for the verified copy at `path` with the variables `env` besides the
/// usual ones, waiting at most `timeout`.
pub async fn run(
    command: &str,
    path: &Path,
    meta: &Metainfo,
    env: &[(&str, &OsStr)],
    timeout: Duration,
) -> HookOutcome {
    let stderr = |what: &str| -> Stdio {
        match std::io::stderr().as_fd().try_clone_to_owned() {
            Ok(fd) => Stdio::from(fd),
            Err(error) => {
                tracing::warn!(%error, "cannot pass stderr to the hook's {what}");
                Stdio::null()
            }
        }
    };
    let path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let spawned = tokio::process::Command::new(command)
        .arg(&path)
        .env("SWARM_PATH", &path)
        .env("SWARM_INFO_HASH", meta.info_hash.to_string())
        .env("SWARM_NAME", &meta.name)
        .env("SWARM_TOTAL_BYTES", meta.total_length().to_string())
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(stderr("stdout"))
        .stderr(stderr("stderr"))
        .kill_on_drop(true)
        .spawn();
    let mut child = match spawned {
        Ok(child) => child,
        Err(error) => return HookOutcome::failed(command, None, format!("cannot run it: {error}")),
    };
    match tokio::time::timeout(timeout, child.wait()).await {
        Ok(Ok(status)) if status.success() => HookOutcome {
            command: command.to_string(),
            ok: true,
            exit_code: status.code(),
            error: None,
        },
        Ok(Ok(status)) => {
            let why = match status.code() {
                Some(code) => format!("it exited with code {code}"),
                None => format!("it was killed ({status})"),
            };
            HookOutcome::failed(command, status.code(), why)
        }
        Ok(Err(error)) => HookOutcome::failed(command, None, format!("waiting for it: {error}")),
        Err(_) => {
            let _ = child.kill().await;
            HookOutcome::failed(
                command,
                None,
                format!("killed after {timeout:?} (--on-complete-timeout)"),
            )
        }
    }
}
