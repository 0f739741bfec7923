//! `swarm get --json`: one JSON object per line on stdout, each with an `event` field.
//!
//! - `started`: `name`, `info_hash`, `total_bytes`, `piece_count`, `verified_pieces` (already
//!   on disk), `listen_port` (absent when nothing had to be fetched).
//! - `progress`, about once a second while downloading: `elapsed_s`, `verified_pieces`,
//!   `piece_count`, `verified_bytes`, `total_bytes`, `downloaded_bytes`, `uploaded_bytes`,
//!   `download_bps` and `upload_bps` (payload bits per second since the previous event),
//!   `peers` (open connections), `failed_pieces`, `banned_peers`.
//! - `on-complete`: the hook's `command`, `ok`, `exit_code` (absent when it was killed or
//!   did not start) and `error`.
//! - `summary`, last: `complete`, `path` (the verified copy, or the `.part` kept for the next
//!   run), `name`, `info_hash`, `total_bytes`, `verified_pieces`, `piece_count`,
//!   `downloaded_bytes`, `uploaded_bytes`, `elapsed_s`, `average_download_bps`,
//!   `failed_pieces`, `banned_peers`.
//! - `error` (see [`super::failure`]) instead of a summary when the command fails.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use swarm_engine::metainfo::Metainfo;

use super::status::{verified_bytes, Snapshot};
use swarm_net::hook::HookOutcome;

/// Time between two `progress` events.
pub const PROGRESS_PERIOD: Duration = Duration::from_secs(1);

/// Writes the event lines of one `get`.
#[derive(Debug)]
pub struct JsonLines {
    started: Instant,
    last: Option<(Instant, Snapshot)>,
    piece_length: u64,
    total_bytes: u64,
}

impl JsonLines {
    /// Starts the clock for `meta`'s download.
    pub fn new(meta: &Metainfo) -> Self {
        JsonLines {
            started: Instant::now(),
            last: None,
            piece_length: u64::from(meta.geometry.piece_length()),
            total_bytes: meta.total_length(),
        }
    }

    /// Prints the `started` event.
    pub fn started(&self, meta: &Metainfo, verified_pieces: u32, listen_port: Option<u16>) {
        let mut event = json!({
            "event": "started",
            "name": meta.name,
            "info_hash": meta.info_hash.to_string(),
            "total_bytes": self.total_bytes,
            "piece_count": meta.geometry.piece_count(),
            "verified_pieces": verified_pieces,
        });
        if let Some(port) = listen_port {
            event["listen_port"] = port.into();
        }
        emit(&event);
    }

    /// Prints a `progress` event when [`PROGRESS_PERIOD`] has passed since the last one.
    pub fn progress(&mut self, s: &Snapshot) {
        let now = Instant::now();
        let (since, before) = match &self.last {
            Some((at, _)) if now.duration_since(*at) < PROGRESS_PERIOD => return,
            Some((at, before)) => (*at, before.clone()),
            None => (self.started, Snapshot::default()),
        };
        let dt = now.duration_since(since).as_secs_f64().max(1e-3);
        let bps = |after: u64, before: u64| (after.saturating_sub(before) as f64 * 8.0 / dt) as u64;
        emit(&json!({
            "event": "progress",
            "elapsed_s": self.started.elapsed().as_secs_f64(),
            "verified_pieces": s.verified_pieces,
            "piece_count": s.piece_count,
            "verified_bytes": verified_bytes(s, self.piece_length, self.total_bytes),
            "total_bytes": self.total_bytes,
            "downloaded_bytes": s.downloaded_bytes,
            "uploaded_bytes": s.uploaded_bytes,
            "download_bps": bps(s.downloaded_bytes, before.downloaded_bytes),
            "upload_bps": bps(s.uploaded_bytes, before.uploaded_bytes),
            "peers": s.peers,
            "failed_pieces": s.failed_pieces,
            "banned_peers": s.banned_peers,
        }));
        self.last = Some((now, s.clone()));
    }

    /// Prints the `summary` event.
    pub fn summary(&self, meta: &Metainfo, s: &Snapshot, path: &Path) {
        let elapsed_s = self.started.elapsed().as_secs_f64();
        emit(&json!({
            "event": "summary",
            "complete": s.complete,
            "path": path,
            "name": meta.name,
            "info_hash": meta.info_hash.to_string(),
            "total_bytes": self.total_bytes,
            "verified_pieces": s.verified_pieces,
            "piece_count": s.piece_count,
            "downloaded_bytes": s.downloaded_bytes,
            "uploaded_bytes": s.uploaded_bytes,
            "elapsed_s": elapsed_s,
            "average_download_bps": (s.downloaded_bytes as f64 * 8.0 / elapsed_s.max(1e-3)) as u64,
            "failed_pieces": s.failed_pieces,
            "banned_peers": s.banned_peers,
        }));
    }
}

/// Prints the `on-complete` event.
pub fn hook(outcome: &HookOutcome) {
    emit(&json!({
        "event": "on-complete",
        "command": outcome.command,
        "ok": outcome.ok,
        "exit_code": outcome.exit_code,
        "error": outcome.error,
    }));
}

fn emit(event: &Value) {
    println!("{event}");
}
