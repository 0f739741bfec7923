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
use swarm_engine::record::{NodeRecord, NodeRole, RecordSource, RunRecord, Sample, UploadFairness};
use swarm_engine::units::format_size;
use swarm_net::download;
use swarm_net::runner::{self, NodeOptions, Running};
use swarm_net::storage::Storage;
use swarm_net::{create_torrent, CreateOptions};

use super::seed::runtime;
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
    eprintln!("generating {} of test data ...", format_size(args.size));
    let (gen_file, size) = (file.clone(), args.size);
    tokio::task::spawn_blocking(move || generate(&gen_file, size)).await??;
    let options = CreateOptions {
        trackers: vec![announce.clone()],
        private: false,
        hashing: hash_config(None),
        ..CreateOptions::default()
    };
    let torrent_file = file.clone();
    let meta =
        tokio::task::spawn_blocking(move || create_torrent(&torrent_file, &options, &|_| {}))
            .await??
            .metainfo;
    let piece_count = meta.geometry.piece_count();
    eprintln!(
        "tracker on {tracker_addr}; origin and {} peers on 127.0.0.1; {} pieces of {}",
        args.peers,
        piece_count,
        format_size(u64::from(meta.geometry.piece_length()))
    );

    let t0 = Instant::now();
    let mut members = Vec::new();
    let mut origin_options = NodeOptions::new(loopback);
    origin_options.config.origin_mode = true;
    origin_options.trackers = vec![announce.clone()];
    origin_options.disk_threads = 2;
    let storage = Storage::open(&meta, &file, false)?;
    let origin = runner::start(&meta, storage, Bitfield::full(piece_count), origin_options).await?;
    members.push(Member {
        id: "origin".into(),
        role: NodeRole::Origin,
        running: origin,
        joined_s: 0.0,
        completed_s: Some(0.0),
        samples: Vec::new(),
        prepared: None,
    });
    for i in 1..=args.peers {
        let dir = work.join(format!("peer-{i:02}"));
        let prepared = download::prepare(&meta, &dir, hash_config(Some(1)), &|_| {})?;
        let storage = Storage::open(&meta, &prepared.content_path, true)?;
        let mut options = NodeOptions::new(loopback);
        options.trackers = vec![announce.clone()];
        options.disk_threads = 2;
        let joined_s = t0.elapsed().as_secs_f64();
        let running = runner::start(&meta, storage, prepared.verified.clone(), options).await?;
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

    let deadline = t0 + Duration::from_secs(args.timeout);
    let mut ticker = tokio::time::interval(Duration::from_millis(100));
    loop {
        ticker.tick().await;
        let t_s = t0.elapsed().as_secs_f64();
        for m in &mut members {
            let s = m.running.status().borrow().clone();
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
            break;
        }
    }
    let mut finals = Vec::new();
    for m in &members {
        m.running.stop();
    }
    for m in members {
        let status = m.running.wait().await;
        if let (Some(prepared), true) = (&m.prepared, status.complete) {
            download::finish(prepared)?;
        }
        finals.push((m.id, m.role, m.joined_s, m.completed_s, m.samples, status));
    }
    tracker.abort();

    let file_size = meta.total_length();
    let nodes: Vec<NodeRecord> = finals
        .iter()
        .map(
            |(id, role, joined_s, completed_s, samples, status)| NodeRecord {
                id: id.clone(),
                role: *role,
                upload_bps: 0,
                download_bps: 0,
                joined_s: *joined_s,
                completed_s: *completed_s,
                uploaded_bytes: status.uploaded_bytes,
                downloaded_bytes: status.downloaded_bytes,
                samples: samples.clone(),
            },
        )
        .collect();
    let makespan_s = nodes
        .iter()
        .filter(|n| n.role == NodeRole::Peer)
        .map(|n| n.completed_s)
        .try_fold(0.0f64, |acc, c| c.map(|c| acc.max(c)));
    let origin_uploaded_bytes = nodes[0].uploaded_bytes;
    let record = RunRecord {
        scenario: format!("demo-{}-peers-{}", args.peers, format_size(file_size)),
        seed: 0,
        strategy: "bittorrent".into(),
        source: RecordSource::Real,
        file_size,
        piece_length: u64::from(meta.geometry.piece_length()),
        bound_s: 0.0, // loopback links have no nominal rate: no bound
        makespan_s,
        origin_uploaded_bytes,
        upload_fairness: UploadFairness::of_nodes(&nodes, file_size),
        nodes,
    };

    println!(
        "{:<10} {:>10} {:>12} {:>12}",
        "node", "done (s)", "uploaded", "downloaded"
    );
    for n in &record.nodes {
        let done = n.completed_s.map_or("-".to_string(), |c| format!("{c:.2}"));
        println!(
            "{:<10} {:>10} {:>12} {:>12}",
            n.id,
            done,
            format_size(n.uploaded_bytes),
            format_size(n.downloaded_bytes)
        );
    }
    println!(
        "origin uploaded {} = {:.2} copies of the {} file; last peer done after {}",
        format_size(origin_uploaded_bytes),
        record.origin_copies(),
        format_size(file_size),
        makespan_s.map_or("never".into(), |m| format!("{m:.2} s")),
    );

    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let record_path = args.out.join("record.json");
    std::fs::write(&record_path, record.to_json_pretty())
        .with_context(|| format!("cannot write {}", record_path.display()))?;
    let report_dir = args.out.join("report");
    let label = record.scenario.clone();
    let complete = makespan_s.is_some();
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
    Ok(if complete {
        Outcome::Success
    } else {
        Outcome::Incomplete
    })
}
