//! `swarm seed TORRENT PATH`: check a complete copy (unless its resume record says it is
//! unchanged since it was), then serve it until Ctrl-C.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Args;
use swarm_engine::bitfield::Bitfield;
use swarm_engine::metainfo::Metainfo;
use swarm_engine::units::{format_size, parse_rate};
use swarm_net::metrics::{self, MetricsServer};
use swarm_net::resume::{self, ResumeRecord};
use swarm_net::runner::{self, NodeOptions, Running};
use swarm_net::storage::Storage;
use swarm_net::verify::{content_path, verify_with};

use super::progress::Progress;
use super::status::{self, PeerLog, Watch};
use super::{hash_config, read_torrent, Outcome};

/// Serve a complete copy to the swarm.
///
/// The copy is hashed first, piece by piece; only a complete, intact copy is served (use
/// `swarm get -o DIR` to complete a partial one). A copy found intact is recorded in
/// `DIR/.NAME.swarm-resume`; while every file keeps the recorded size and modification
/// time, later starts skip the check and serve at once, hashing each piece the first time
/// it is asked for (a piece changed on disk since, even with size and time kept, is never
/// sent: it is logged as failed and no longer offered). `--recheck` hashes the whole copy
/// before serving. Announces to the torrent's trackers and accepts peers until interrupted.
#[derive(Debug, Args)]
pub struct SeedArgs {
    /// The .torrent file.
    torrent: PathBuf,
    /// The content: the file of a single-file torrent (or a directory holding it), or the
    /// top directory of a multi-file torrent.
    path: PathBuf,
    /// TCP port to listen on (0: any free port).
    #[arg(long, default_value_t = 6881)]
    port: u16,
    /// Address to listen on.
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::UNSPECIFIED))]
    listen: IpAddr,
    /// Upload cap, e.g. `800Mbit/s` or `100MB/s`.
    #[arg(long, value_name = "RATE", value_parser = rate_arg)]
    max_upload: Option<u64>,
    /// Origin protection: reveal distinct pieces to different peers so the origin sends
    /// each piece about once while unsent pieces remain.
    #[arg(long)]
    origin: bool,
    /// Also announce to this tracker (repeatable).
    #[arg(long = "tracker", value_name = "URL")]
    trackers: Vec<String>,
    /// Hashing and disk threads [default: one per core].
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
    /// Hash every piece even when the resume record says the copy is unchanged.
    #[arg(long)]
    recheck: bool,
    /// Serve Prometheus metrics at http://ADDR/metrics, e.g. 127.0.0.1:9469.
    #[arg(long, value_name = "ADDR")]
    metrics: Option<SocketAddr>,
}

/// Time between two "uploaded" lines.
const UPLOAD_LINE_PERIOD: Duration = Duration::from_secs(30);

/// clap value parser for rates; returns bits per second.
pub fn rate_arg(text: &str) -> Result<u64, String> {
    parse_rate(text).map_err(|e| e.to_string())
}

/// Resolves `HOST:PORT`.
pub fn peer_arg(text: &str) -> Result<SocketAddr, String> {
    text.to_socket_addrs()
        .map_err(|e| format!("{text}: {e}"))?
        .next()
        .ok_or_else(|| format!("{text}: no address"))
}

/// Takes over Ctrl-C and SIGTERM at once (call it inside the runtime, before saying
/// "listening": a signal that arrives before the handlers exist kills the process outright)
/// and returns what completes on either.
pub fn interrupted() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{signal, SignalKind};
    let int = signal(SignalKind::interrupt());
    let term = signal(SignalKind::terminate());
    async move {
        match (int, term) {
            (Ok(mut int), Ok(mut term)) => {
                tokio::select! {
                    _ = int.recv() => {}
                    _ = term.recv() => {}
                }
            }
            _ => {
                tracing::warn!("cannot handle SIGINT and SIGTERM; they stop the process at once");
                std::future::pending::<()>().await;
            }
        }
    }
}

/// Serves `/metrics` for `running` on `addr`, if one is given; stops when dropped.
pub async fn serve_metrics(
    addr: Option<SocketAddr>,
    meta: &Metainfo,
    running: &Running,
) -> anyhow::Result<Option<MetricsServer>> {
    let Some(addr) = addr else {
        return Ok(None);
    };
    let sampler = metrics::one_torrent(meta, running.status());
    Ok(Some(MetricsServer::start(addr, sampler).await?))
}

/// A multi-threaded runtime for the network commands.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// Runs `swarm seed`.
pub fn run_seed(args: SeedArgs) -> anyhow::Result<Outcome> {
    let meta = read_torrent(&args.torrent)?;
    let root = content_path(&meta, &args.path)?;
    let hashed = if !args.recheck && known_intact(&meta, &root) {
        eprintln!(
            "{} is unchanged since it was verified (resume record {}); check skipped, \
             --recheck to force",
            root.display(),
            resume::record_path(&root)?.display()
        );
        false // each piece is hashed before it is first served
    } else {
        check(&meta, &root, &args)?;
        true
    };
    let storage = Storage::open(&meta, &root, false)?;
    let mut options = NodeOptions::new(SocketAddr::new(args.listen, args.port));
    options.config.origin_mode = args.origin;
    options.config.max_upload_bytes_per_s = args.max_upload.map(|bps| bps / 8);
    options.verified_hashed = hashed;
    options.trackers = meta.trackers();
    options.trackers.extend(args.trackers);
    if let Some(threads) = args.threads {
        options.disk_threads = threads.max(1);
    }
    let verified = Bitfield::full(meta.geometry.piece_count());
    runtime()?.block_on(async move {
        let stop = interrupted();
        let running = runner::start(&meta, storage, verified, options)
            .await
            .with_context(|| format!("cannot listen on {}:{}", args.listen, args.port))?;
        tracing::info!(addr = %running.local_addr, trackers = ?meta.trackers(), info_hash = %meta.info_hash, "listening");
        let _metrics = serve_metrics(args.metrics, &meta, &running).await?;
        eprintln!(
            "seeding {} ({}, info hash {}) on port {}; Ctrl-C stops",
            meta.name,
            format_size(meta.total_length()),
            meta.info_hash,
            running.local_addr.port()
        );
        let mut watch = Watch::of(&running);
        let mut peers = PeerLog::default();
        let mut ticker = tokio::time::interval(UPLOAD_LINE_PERIOD);
        ticker.tick().await;
        tokio::pin!(stop);
        loop {
            tokio::select! {
                () = &mut stop => break,
                alive = watch.changed() => if alive { peers.log(&watch.now()) } else { break },
                _ = ticker.tick() => {
                    let s = watch.now();
                    eprintln!(
                        "uploaded {} ({:.2} copies), {} peers",
                        format_size(s.uploaded_bytes),
                        s.uploaded_bytes as f64 / meta.total_length().max(1) as f64,
                        s.peers
                    );
                }
            }
        }
        running.stop();
        let last = status::wait(running).await;
        eprintln!("stopped; uploaded {}", format_size(last.uploaded_bytes));
        Ok(Outcome::Success)
    })
}

/// Whether the resume record says the copy at `root` is unchanged since it was verified; an
/// unreadable record is reported and means "no".
fn known_intact(meta: &Metainfo, root: &Path) -> bool {
    resume::is_intact(meta, root).unwrap_or_else(|error| {
        tracing::warn!("{error}; checking the copy in full");
        false
    })
}

/// Hashes the copy at `root`; fails unless it is complete, and records it when it is.
fn check(meta: &Metainfo, root: &Path, args: &SeedArgs) -> anyhow::Result<()> {
    let before = ResumeRecord::of(meta, root);
    let progress = Progress::bytes(meta.total_length(), "checking");
    let report = verify_with(meta, &args.path, hash_config(args.threads), &|done| {
        progress.set(done)
    });
    progress.finish();
    let report = report?;
    if !report.complete {
        bail!(
            "{} is not a complete copy ({} of {} pieces good, {} bad, {} missing, {} file problems); \
             complete it with `swarm get {} -o DIR` first",
            report.content_path.display(),
            report.good_pieces,
            report.piece_count,
            report.bad_pieces.len(),
            report.missing_pieces.len(),
            report.file_problems.len(),
            args.torrent.display(),
        );
    }
    eprintln!(
        "checked {}: all {} pieces intact",
        root.display(),
        report.piece_count
    );
    if let Ok(before) = before {
        match before.save_if_unchanged(meta, root) {
            Ok(path) => tracing::debug!("wrote resume record {}", path.display()),
            Err(error) => tracing::warn!("{error}; the next start will check the copy in full"),
        }
    }
    Ok(())
}
