//! `swarm get TORRENT`: download into a directory, resuming from whatever is there.

use std::io::IsTerminal;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use swarm_engine::units::format_size;
use swarm_net::runner::{self, NodeOptions, Status};
use swarm_net::storage::Storage;
use swarm_net::{download, resume};

use super::progress::Progress;
use super::seed::{interrupted, peer_arg, rate_arg, runtime};
use super::{hash_config, read_torrent, Outcome};

/// Download a torrent's content into a directory.
///
/// Data already in DIR (an interrupted download, or an older copy under the final name) is
/// hashed first and only missing or wrong pieces are fetched. The download is written as
/// `NAME.part` and renamed to `NAME` once every piece is verified and on disk, and then
/// recorded in `DIR/.NAME.swarm-resume`: while every file keeps the recorded size and
/// modification time, a later run takes `NAME` as complete without hashing it (an edit that
/// keeps both is not seen; `swarm verify` checks every piece). Without `--exit-when-done`
/// it keeps seeding after completion until Ctrl-C.
/// Exit 0 only when every piece is verified; 1 when interrupted before that.
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
}

/// Runs `swarm get`.
pub fn run_get(args: GetArgs) -> anyhow::Result<Outcome> {
    let meta = read_torrent(&args.torrent)?;
    if args.recheck {
        resume::forget(&args.out.join(&meta.name))?;
    }
    let total = meta.total_length();
    let progress = Progress::bytes(total, "checking");
    let prepared = download::prepare(&meta, &args.out, hash_config(args.threads), &|d| {
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
    if prepared.is_complete() && args.exit_when_done {
        download::finish(&prepared)?;
        eprintln!("{} is complete", prepared.final_path.display());
        return Ok(Outcome::Success);
    }
    let storage = Storage::open(&meta, &prepared.content_path, true)?;
    let mut options = NodeOptions::new(SocketAddr::new(args.listen, args.port));
    options.config.max_upload_bytes_per_s = args.max_upload.map(|bps| bps / 8);
    options.trackers = meta.trackers();
    options.trackers.extend(args.trackers);
    options.peers = args.peers;
    options.exit_when_done = args.exit_when_done;
    if let Some(threads) = args.threads {
        options.disk_threads = threads.max(1);
    }
    if options.trackers.is_empty() && options.peers.is_empty() {
        bail!("the torrent names no tracker: give peers with --peer HOST:PORT");
    }
    let verified = prepared.verified.clone();
    let piece_length = u64::from(meta.geometry.piece_length());
    runtime()?.block_on(async move {
        let running = runner::start(&meta, storage, verified, options)
            .await
            .with_context(|| format!("cannot listen on {}:{}", args.listen, args.port))?;
        let started = Instant::now();
        let mut status = running.status();
        let display = Display::new(total);
        let mut ticker = tokio::time::interval(Duration::from_millis(200));
        let mut was_interrupted = false;
        let stop = interrupted();
        tokio::pin!(stop);
        loop {
            let s = status.borrow_and_update().clone();
            display.show(&s, piece_length, total, started);
            if s.complete || s.storage_error.is_some() {
                break;
            }
            tokio::select! {
                () = &mut stop => { was_interrupted = true; break; }
                changed = status.changed() => if changed.is_err() { break },
                _ = ticker.tick() => {}
            }
        }
        display.finish();
        let s = status.borrow().clone();
        if let Some(error) = s.storage_error {
            running.stop();
            running.wait().await;
            bail!(
                "writing {} failed: {error}",
                prepared.content_path.display()
            );
        }
        if was_interrupted || !s.complete {
            running.stop();
            running.wait().await;
            eprintln!(
                "interrupted: {} of {} pieces verified, kept in {} for the next run",
                s.verified_pieces,
                s.piece_count,
                prepared.content_path.display()
            );
            return Ok(Outcome::Incomplete);
        }
        // Everything is verified: make it durable, then give it its final name.
        let sync_meta = meta.clone();
        let sync_path = prepared.content_path.clone();
        tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
            Storage::open(&sync_meta, &sync_path, false)?.sync()?;
            Ok(())
        })
        .await??;
        download::finish(&prepared)?;
        let secs = started.elapsed().as_secs_f64();
        eprintln!(
            "complete: {} in {:.2} s ({}/s), every piece verified -> {}",
            format_size(total),
            secs,
            format_size((s.downloaded_bytes as f64 / secs.max(1e-3)) as u64),
            prepared.final_path.display()
        );
        if !args.exit_when_done {
            eprintln!("seeding; Ctrl-C stops");
            stop.await;
            running.stop();
        }
        running.wait().await;
        Ok(Outcome::Success)
    })
}

/// A bar on a terminal, a plain line every few seconds otherwise.
struct Display {
    bar: Option<ProgressBar>,
    last_line: std::cell::Cell<Instant>,
}

impl Display {
    fn new(total: u64) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let style = ProgressStyle::with_template(
                "{msg} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
            ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr())
                .with_style(style)
        });
        Display {
            bar,
            last_line: std::cell::Cell::new(Instant::now()),
        }
    }

    fn show(&self, s: &Status, piece_length: u64, total: u64, started: Instant) {
        let done = (u64::from(s.verified_pieces) * piece_length).min(total);
        if let Some(bar) = &self.bar {
            bar.set_position(done);
            bar.set_message(format!("{} peers", s.connections));
        } else if self.last_line.get().elapsed() >= Duration::from_secs(5) {
            self.last_line.set(Instant::now());
            let secs = started.elapsed().as_secs_f64().max(1e-3);
            eprintln!(
                "{} / {} ({:.1} %), {}/s, {} peers",
                format_size(done),
                format_size(total),
                done as f64 * 100.0 / total.max(1) as f64,
                format_size((s.downloaded_bytes as f64 / secs) as u64),
                s.connections
            );
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
