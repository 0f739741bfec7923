//! `swarm demo`: a tracker, an origin and N peers on loopback, in this process, syncing a
//! generated file; prints each peer's time and the origin's upload, and writes a run record
//! and its report.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Args;
use swarm_engine::bitfield::Bitfield;
use swarm_engine::metainfo::Metainfo;
use swarm_engine::record::{NodeRole, RunRecord, Sample};
use swarm_engine::units::format_size;
use swarm_net::download;
use swarm_net::runner::{self, NodeOptions, Running};
use swarm_net::storage::Storage;
use swarm_net::{create_torrent, CreateOptions};

use super::demo_record::{self, Finished, Links};
use super::seed::{rate_arg, runtime};
use super::status;
use super::{hash_config, size_arg, Outcome};

/// Sync a generated file from an origin to N peers on this machine, over real TCP.
///
/// Starts a tracker, an origin (with origin protection) and N peers on 127.0.0.1, each a
/// separate node with its own port and data directory under a temporary directory, and
/// writes `record.json` and a report (charts, summary) to --out.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Peers besides the origin.
    #[arg(long, default_value_t = 5)]
    peers: usize,
    /// Size of the generated file.
    #[arg(long, value_parser = size_arg, default_value = "256MiB")]
    size: u64,
    /// Where the run record and report go.
    #[arg(long, value_name = "DIR", default_value = "swarm-demo")]
    out: PathBuf,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 300)]
    timeout: u64,
    /// Cap every node's upload at RATE (e.g. `400Mbit/s`): the run then has a bound to be
    /// held against. Unshaped loopback has no nominal rate, so without it no bound is known.
    #[arg(long, value_name = "RATE", value_parser = rate_arg)]
    rate: Option<u64>,
}

/// Fills `path` with `size` pseudo-random bytes (xorshift, 1 MiB at a time).
fn generate(path: &Path, size: u64) -> anyhow::Result<()> {
    let file = std::fs::File::create(path)?;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    let mut chunk = vec![0u8; 1 << 20];
    let mut left = size;
    while left > 0 {
        for word in chunk.chunks_exact_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            word.copy_from_slice(&x.to_le_bytes());
        }
        let n = left.min(chunk.len() as u64) as usize;
        out.write_all(&chunk[..n])?;
        left -= n as u64;
    }
    out.flush()?;
    Ok(())
}

struct Member {
    id: String,
    role: NodeRole,
    running: Running,
    joined_s: f64,
    completed_s: Option<f64>,
    samples: Vec<Sample>,
    prepared: Option<download::Prepared>,
}

/// Runs `swarm demo`.
pub fn run_demo(args: DemoArgs) -> anyhow::Result<Outcome> {
    if args.peers == 0 {
        bail!("--peers must be at least 1");
    }
    if args.size == 0 {
        bail!("--size must be positive");
    }
    let work = std::env::temp_dir().join(format!("swarm-demo-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(work.join("origin"))
        .with_context(|| format!("cannot create {}", work.display()))?;
    let result = runtime()?.block_on(demo(&args, &work));
    let _ = std::fs::remove_dir_all(&work);
    result
}

async fn demo(args: &DemoArgs, work: &Path) -> anyhow::Result<Outcome> {
    let loopback: SocketAddr = "127.0.0.1:0".parse()?;
    let listener = tokio::net::TcpListener::bind(loopback).await?;
    let tracker_addr = listener.local_addr()?;
    let config = swarm_tracker::TrackerConfig::new(tracker_addr, work.join("tracker"));
    let tracker = tokio::spawn(swarm_tracker::serve(listener, config));
    let announce = format!("http://{tracker_addr}/announce");
    let file = work.join("origin").join("demo.img");
    let meta = make_torrent(&file, args.size, &announce).await?;
    eprintln!(
        "tracker on {tracker_addr}; origin and {} peers on 127.0.0.1; {} pieces of {}",
        args.peers,
        meta.geometry.piece_count(),
        format_size(u64::from(meta.geometry.piece_length()))
    );
    let t0 = Instant::now();
    let mut members = start_members(args, work, &file, &meta, &announce, t0).await?;
    watch(&mut members, t0, t0 + Duration::from_secs(args.timeout)).await?;
    let finals = finish(members).await?;
    tracker.abort();

    let file_size = meta.total_length();
    let links = Links {
        upload_bps: args.rate,
    };
    let record = demo_record::record(
        format!("demo-{}-peers-{}", args.peers, format_size(file_size)),
        file_size,
        u64::from(meta.geometry.piece_length()),
        links,
        finals,
    );
    let complete = record.makespan_s.is_some();
    demo_record::print(&record, links);
    write_outputs(&args.out, record).await?;
    Ok(if complete {
        Outcome::Success
    } else {
        Outcome::Incomplete
    })
}

/// Generates the file and its torrent (announcing to `announce`).
async fn make_torrent(file: &Path, size: u64, announce: &str) -> anyhow::Result<Metainfo> {
    eprintln!("generating {} of test data ...", format_size(size));
    let gen_file = file.to_path_buf();
    tokio::task::spawn_blocking(move || generate(&gen_file, size)).await??;
    let options = CreateOptions {
        trackers: vec![announce.to_string()],
        private: false,
        hashing: hash_config(None),
        ..CreateOptions::default()
    };
    let torrent_file = file.to_path_buf();
    let created =
        tokio::task::spawn_blocking(move || create_torrent(&torrent_file, &options, &|_| {}))
            .await??;
    Ok(created.metainfo)
}

/// Starts the origin (seeding `file`) and the peers, each on its own port and directory.
async fn start_members(
    args: &DemoArgs,
    work: &Path,
    file: &Path,
    meta: &Metainfo,
    announce: &str,
    t0: Instant,
) -> anyhow::Result<Vec<Member>> {
    let options = |origin: bool| {
        let mut options = NodeOptions::new("127.0.0.1:0".parse().expect("an address"));
        options.config.origin_mode = origin;
        options.config.max_upload_bytes_per_s = args.rate.map(|bps| bps / 8);
        options.trackers = vec![announce.to_string()];
        options.disk_threads = 2;
        options
    };
    let storage = Storage::open(meta, file, false)?;
    let full = Bitfield::full(meta.geometry.piece_count());
    let origin = runner::start(meta, storage, full, options(true)).await?;
    let mut members = vec![Member {
        id: "origin".into(),
        role: NodeRole::Origin,
        running: origin,
        joined_s: 0.0,
        completed_s: Some(0.0),
        samples: Vec::new(),
        prepared: None,
    }];
    for i in 1..=args.peers {
        let dir = work.join(format!("peer-{i:02}"));
        let prepared = download::prepare(meta, &dir, hash_config(Some(1)), &|_| {})?;
        let storage = Storage::open(meta, &prepared.content_path, true)?;
        let joined_s = t0.elapsed().as_secs_f64();
        let verified = prepared.verified.clone();
        let running = runner::start(meta, storage, verified, options(false)).await?;
        members.push(Member {
            id: format!("peer-{i:02}"),
            role: NodeRole::Peer,
            running,
            joined_s,
            completed_s: None,
            samples: Vec::new(),
            prepared: Some(prepared),
        });
    }
    Ok(members)
}

/// Samples every member each 100 ms until all are complete or `deadline` passes.
async fn watch(members: &mut [Member], t0: Instant, deadline: Instant) -> anyhow::Result<()> {
    let mut ticker = tokio::time::interval(Duration::from_millis(100));
    loop {
        ticker.tick().await;
        let t_s = t0.elapsed().as_secs_f64();
        for m in members.iter_mut() {
            let s = status::now(&m.running);
            m.samples.push(Sample {
                t_s,
                uploaded_bytes: s.uploaded_bytes,
                downloaded_bytes: s.downloaded_bytes,
            });
            if m.completed_s.is_none() && s.complete {
                m.completed_s = Some(t_s);
                eprintln!("{} complete after {t_s:.2} s", m.id);
            }
            if let Some(error) = &s.storage_error {
                bail!("{}: {error}", m.id);
            }
        }
        if members.iter().all(|m| m.completed_s.is_some()) || Instant::now() > deadline {
            return Ok(());
        }
    }
}

/// Stops every member and moves complete copies into place.
async fn finish(members: Vec<Member>) -> anyhow::Result<Vec<Finished>> {
    for m in &members {
        m.running.stop();
    }
    let mut finals = Vec::new();
    for m in members {
        let status = status::wait(m.running).await;
        if let (Some(prepared), true) = (&m.prepared, status.complete) {
            download::finish(prepared)?;
        }
        finals.push(Finished {
            id: m.id,
            role: m.role,
            joined_s: m.joined_s,
            completed_s: m.completed_s,
            samples: m.samples,
            uploaded_bytes: status.uploaded_bytes,
            downloaded_bytes: status.downloaded_bytes,
        });
    }
    Ok(finals)
}

/// Writes `record.json` and its report into `out`.
async fn write_outputs(out: &Path, record: RunRecord) -> anyhow::Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let record_path = out.join("record.json");
    std::fs::write(&record_path, record.to_json_pretty())
        .with_context(|| format!("cannot write {}", record_path.display()))?;
    let report_dir = out.join("report");
    let label = record.scenario.clone();
    match tokio::task::spawn_blocking(move || {
        swarm_reports::render(&[(label, record)], &report_dir).map(|_| report_dir)
    })
    .await?
    {
        Ok(dir) => println!(
            "run record: {}; report: {}",
            record_path.display(),
            dir.display()
        ),
        Err(error) => {
            println!("run record: {}", record_path.display());
            eprintln!("warning: report not rendered: {error}");
        }
    }
    Ok(())
}
