//! `swarm get TORRENT`: download into a directory, resuming from whatever is there.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Args;
use swarm_engine::metainfo::Metainfo;
use swarm_engine::units::{format_size, parse_duration};
use swarm_net::download::{self, Prepared};
use swarm_net::resume;
use swarm_net::runner::{self, NodeOptions};
use swarm_net::storage::Storage;

use super::get_json::{self, JsonLines};
use super::progress::{DownloadDisplay, Progress};
use super::seed::{interrupted, peer_arg, rate_arg, runtime, serve_metrics};
use super::status::{self, verified_bytes, PeerLog, Snapshot, Watch};
use super::{hash_config, read_torrent, Outcome};
use swarm_net::hook::{self, HookOutcome};

/// Download a torrent's content into a directory.
///
/// Data already in DIR (an interrupted download, or an older copy under the final name) is
/// hashed first and only missing or wrong pieces are fetched. The download is written as
/// `NAME.part` and renamed to `NAME` once every piece is verified and on disk, and then
/// recorded in `DIR/.NAME.swarm-resume`: while every file keeps the recorded size and
/// modification time, a later run takes `NAME` as complete without hashing it (an edit that
/// keeps both is not seen; `swarm verify` checks every piece). Without `--exit-when-done`
/// it keeps seeding after completion until Ctrl-C.
///
/// With --json, stdout carries one JSON object per line: `started`, `progress` (about once
/// a second: elapsed_s, verified_pieces, verified_bytes, downloaded_bytes, uploaded_bytes,
/// download_bps, upload_bps, peers, ...), `on-complete`, then `summary` (complete, path,
/// totals, elapsed_s), or `error`.
///
/// --on-complete runs PROGRAM once the copy is verified under its final name (also when it
/// already was), with the path as its argument and SWARM_PATH, SWARM_INFO_HASH,
/// SWARM_NAME, SWARM_TOTAL_BYTES and SWARM_TORRENT set; no shell is involved.
///
/// Exit 0 only when every piece is verified; 1 when interrupted before that; 3 when the
/// copy is verified but the --on-complete program failed (non-zero exit, timeout, or it
/// could not start).
#[derive(Debug, Args)]
pub struct GetArgs {
    /// The .torrent file.
    torrent: PathBuf,
    /// Output directory.
    #[arg(short = 'o', long = "out", value_name = "DIR", default_value = ".")]
    out: PathBuf,
    /// TCP port to listen on (0: any free port).
    #[arg(long, default_value_t = 6881)]
    port: u16,
    /// Address to listen on.
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::UNSPECIFIED))]
    listen: IpAddr,
    /// A peer to dial, with or without a tracker (repeatable).
    #[arg(long = "peer", value_name = "HOST:PORT", value_parser = peer_arg)]
    peers: Vec<SocketAddr>,
    /// Also announce to this tracker (repeatable).
    #[arg(long = "tracker", value_name = "URL")]
    trackers: Vec<String>,
    /// Exit once every piece is verified instead of seeding on.
    #[arg(long)]
    exit_when_done: bool,
    /// Upload cap, e.g. `800Mbit/s`.
    #[arg(long, value_name = "RATE", value_parser = rate_arg)]
    max_upload: Option<u64>,
    /// Hashing and disk threads [default: one per core].
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
    /// Hash an existing copy even when its resume record says it is unchanged (the record
    /// is dropped first).
    #[arg(long)]
    recheck: bool,
    /// Print progress events and a summary as JSON lines on stdout.
    #[arg(long)]
    pub(super) json: bool,
    /// Serve Prometheus metrics at http://ADDR/metrics while it runs, e.g. 127.0.0.1:9469.
    #[arg(long, value_name = "ADDR")]
    metrics: Option<SocketAddr>,
    /// Run PROGRAM with the verified copy's path once it is complete.
    #[arg(long, value_name = "PROGRAM")]
    on_complete: Option<String>,
    /// Kill the --on-complete program after this long.
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = duration_arg)]
    on_complete_timeout: Duration,
}

/// clap value parser for durations such as `90s` or `10m`.
fn duration_arg(text: &str) -> Result<Duration, String> {
    parse_duration(text).map_err(|e| e.to_string())
}

/// Runs `swarm get`.
pub fn run_get(args: GetArgs) -> anyhow::Result<Outcome> {
    let meta = read_torrent(&args.torrent)?;
    if args.recheck {
        resume::forget(&args.out.join(&meta.name))?;
    }
    let prepared = prepare(&meta, &args)?;
    let json = args.json.then(|| JsonLines::new(&meta));
    if prepared.is_complete() && args.exit_when_done {
        download::finish(&prepared)?;
        if let Some(json) = &json {
            json.started(&meta, meta.geometry.piece_count(), None);
        }
        eprintln!("{} is complete", prepared.final_path.display());
        let hook = runtime()?.block_on(on_complete(&args, &meta, &prepared.final_path));
        if let Some(json) = &json {
            let pieces = meta.geometry.piece_count();
            let done = Snapshot {
                piece_count: pieces,
                verified_pieces: pieces,
                complete: true,
                ..Snapshot::default()
            };
            json.summary(&meta, &done, &prepared.final_path);
        }
        return Ok(outcome_of(hook.as_ref()));
    }
    let options = node_options(&meta, &args)?;
    let storage = Storage::open(&meta, &prepared.content_path, true)?;
    runtime()?.block_on(download(&args, &meta, &prepared, storage, options, json))
}

/// Hashes what is already in the output directory and says what was found.
fn prepare(meta: &Metainfo, args: &GetArgs) -> anyhow::Result<Prepared> {
    let progress = Progress::bytes_unless(meta.total_length(), "checking", args.json);
    let prepared = download::prepare(meta, &args.out, hash_config(args.threads), &|d| {
        progress.set(d)
    });
    progress.finish();
    let prepared = prepared?;
    let have = prepared.verified.count_ones();
    if let Some(record) = &prepared.trusted_record {
        eprintln!(
            "{} is unchanged since it was verified (resume record {}); check skipped",
            prepared.final_path.display(),
            record.display()
        );
    } else if have > 0 {
        eprintln!(
            "resuming: {have} of {} pieces already verified in {}",
            meta.geometry.piece_count(),
            prepared.content_path.display()
        );
    }
    Ok(prepared)
}

fn node_options(meta: &Metainfo, args: &GetArgs) -> anyhow::Result<NodeOptions> {
    let mut options = NodeOptions::new(SocketAddr::new(args.listen, args.port));
    options.config.max_upload_bytes_per_s = args.max_upload.map(|bps| bps / 8);
    options.trackers = meta.trackers();
    options.trackers.extend(args.trackers.iter().cloned());
    options.peers = args.peers.clone();
    options.exit_when_done = args.exit_when_done;
    if let Some(threads) = args.threads {
        options.disk_threads = threads.max(1);
    }
    if options.trackers.is_empty() && options.peers.is_empty() {
        bail!("the torrent names no tracker: give peers with --peer HOST:PORT");
    }
    Ok(options)
}

/// Downloads until every piece is verified (or Ctrl-C), then finishes the copy, runs the
/// hook and seeds on unless `--exit-when-done`.
async fn download(
    args: &GetArgs,
    meta: &Metainfo,
    prepared: &Prepared,
    storage: Storage,
    options: NodeOptions,
    mut json: Option<JsonLines>,
) -> anyhow::Result<Outcome> {
    let trackers = options.trackers.clone();
    let stop = interrupted();
    let running = runner::start(meta, storage, prepared.verified.clone(), options)
        .await
        .with_context(|| format!("cannot listen on {}:{}", args.listen, args.port))?;
    tracing::info!(addr = %running.local_addr, ?trackers, info_hash = %meta.info_hash, "listening");
    let _metrics = serve_metrics(args.metrics, meta, &running).await?;
    if let Some(json) = &json {
        json.started(
            meta,
            prepared.verified.count_ones(),
            Some(running.local_addr.port()),
        );
    }
    let started = Instant::now();
    let mut watch = Watch::of(&running);
    tokio::pin!(stop);
    let was_interrupted = follow(meta, &mut watch, &mut json, &mut stop, args.json).await;
    let s = watch.now();
    if let Some(error) = s.storage_error {
        running.stop();
        status::wait(running).await;
        bail!(
            "writing {} failed: {error}",
            prepared.content_path.display()
        );
    }
    if was_interrupted || !s.complete {
        running.stop();
        let last = status::wait(running).await;
        eprintln!(
            "interrupted: {} of {} pieces verified, kept in {} for the next run",
            last.verified_pieces,
            last.piece_count,
            prepared.content_path.display()
        );
        if let Some(json) = &json {
            json.summary(meta, &last, &prepared.content_path);
        }
        return Ok(Outcome::Incomplete);
    }
    make_final(meta, prepared).await?;
    let secs = started.elapsed().as_secs_f64();
    tracing::info!(path = %prepared.final_path.display(), elapsed_s = secs, "complete");
    eprintln!(
        "complete: {} in {:.2} s ({}/s), every piece verified -> {}",
        format_size(meta.total_length()),
        secs,
        format_size((s.downloaded_bytes as f64 / secs.max(1e-3)) as u64),
        prepared.final_path.display()
    );
    let mut stopped = false;
    let hook = tokio::select! {
        hook = on_complete(args, meta, &prepared.final_path) => hook,
        () = &mut stop => {
            stopped = true;
            args.on_complete.as_ref().map(|command| HookOutcome::interrupted(command))
        }
    };
    if let Some(json) = &json {
        json.summary(meta, &watch.now(), &prepared.final_path);
    }
    if !args.exit_when_done && !stopped {
        eprintln!("seeding; Ctrl-C stops");
        stop.await;
    }
    running.stop();
    status::wait(running).await;
    Ok(outcome_of(hook.as_ref()))
}

/// Shows progress until the download completes, fails to write, or `stop` completes;
/// returns whether it was stopped.
async fn follow(
    meta: &Metainfo,
    watch: &mut Watch,
    json: &mut Option<JsonLines>,
    stop: &mut std::pin::Pin<&mut impl std::future::Future<Output = ()>>,
    quiet: bool,
) -> bool {
    let total = meta.total_length();
    let piece_length = u64::from(meta.geometry.piece_length());
    let display = DownloadDisplay::new(total, quiet);
    let mut peers = PeerLog::default();
    let started = Instant::now();
    let mut ticker = tokio::time::interval(Duration::from_millis(200));
    let stopped = loop {
        let s = watch.now();
        let rate = (s.downloaded_bytes as f64 / started.elapsed().as_secs_f64().max(1e-3)) as u64;
        display.show(
            verified_bytes(&s, piece_length, total),
            total,
            rate,
            s.peers,
        );
        peers.log(&s);
        if let Some(json) = json.as_mut() {
            json.progress(&s);
        }
        if s.complete || s.storage_error.is_some() {
            break false;
        }
        tokio::select! {
            () = &mut *stop => break true,
            alive = watch.changed() => if !alive { break false },
            _ = ticker.tick() => {}
        }
    };
    display.finish();
    stopped
}

/// Makes the verified data durable, then gives it its final name.
async fn make_final(meta: &Metainfo, prepared: &Prepared) -> anyhow::Result<()> {
    let sync_meta = meta.clone();
    let sync_path = prepared.content_path.clone();
    tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        Storage::open(&sync_meta, &sync_path, false)?.sync()?;
        Ok(())
    })
    .await??;
    download::finish(prepared)?;
    Ok(())
}

/// Runs the `--on-complete` program, if any, and reports how it went.
async fn on_complete(args: &GetArgs, meta: &Metainfo, path: &Path) -> Option<HookOutcome> {
    let command = args.on_complete.as_deref()?;
    tracing::info!(command, path = %path.display(), "running the --on-complete program");
    let env = [("SWARM_TORRENT", args.torrent.as_os_str())];
    let outcome = hook::run(command, path, meta, &env, args.on_complete_timeout).await;
    match &outcome.error {
        None => tracing::info!(command, "the --on-complete program succeeded"),
        Some(error) => {
            tracing::error!(command, %error, "the --on-complete program failed");
            eprintln!("swarm: --on-complete {command} failed: {error}");
        }
    }
    if args.json {
        get_json::hook(&outcome);
    }
    Some(outcome)
}

fn outcome_of(hook: Option<&HookOutcome>) -> Outcome {
    match hook {
        Some(hook) if !hook.ok => Outcome::HookFailed,
        _ => Outcome::Success,
    }
}
