//! Helpers shared by the integration tests: content, torrents and nodes on loopback.
#![allow(dead_code)]

pub mod liar;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use swarm_engine::bitfield::Bitfield;
use swarm_engine::metainfo::Metainfo;
use swarm_net::download::{self, Prepared};
use swarm_net::hashing::HashConfig;
use swarm_net::runner::{self, NodeOptions, Running, Status};
use swarm_net::storage::Storage;
use swarm_net::{create_torrent, CreateOptions};

pub const LOOPBACK: &str = "127.0.0.1:0";

/// Deterministic, non-repeating-looking bytes.
pub fn data(len: usize, salt: u64) -> Vec<u8> {
    let mut x = 0x9E37_79B9_7F4A_7C15u64 ^ salt;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// Writes `len` bytes at `dir/name` and makes a torrent of it.
pub fn make_content(
    dir: &Path,
    name: &str,
    len: usize,
    piece_length: u64,
    trackers: Vec<String>,
) -> (PathBuf, Metainfo, Vec<u8>) {
    let path = dir.join(name);
    std::fs::create_dir_all(dir).unwrap();
    let bytes = data(len, len as u64);
    std::fs::write(&path, &bytes).unwrap();
    let options = CreateOptions {
        piece_length: Some(piece_length),
        trackers,
        private: false,
        ..CreateOptions::default()
    };
    let created = create_torrent(&path, &options, &|_| {}).unwrap();
    std::fs::write(dir.join(format!("{name}.torrent")), &created.bytes).unwrap();
    (path, created.metainfo, bytes)
}

pub fn options() -> NodeOptions {
    NodeOptions::new(LOOPBACK.parse().unwrap())
}

/// Options of a node listening on another loopback address (`127.0.0.2`...), so that bans by
/// IP between test nodes mean something.
pub fn options_on(ip: &str) -> NodeOptions {
    NodeOptions::new(format!("{ip}:0").parse().unwrap())
}

/// Starts a seed of the content at `path`.
pub async fn seed(meta: &Metainfo, path: &Path, opts: NodeOptions) -> Running {
    let storage = Storage::open(meta, path, false).unwrap();
    let verified = Bitfield::full(meta.geometry.piece_count());
    runner::start(meta, storage, verified, opts).await.unwrap()
}

/// Prepares `out` (resume check) and starts a downloader.
pub async fn get(meta: &Metainfo, out: &Path, mut opts: NodeOptions) -> (Running, Prepared) {
    let prepared = download::prepare(meta, out, HashConfig::for_this_machine(), &|_| {}).unwrap();
    let storage = Storage::open(meta, &prepared.content_path, true).unwrap();
    opts.exit_when_done = true;
    let running = runner::start(meta, storage, prepared.verified.clone(), opts)
        .await
        .unwrap();
    (running, prepared)
}

/// Waits for a node to stop by itself, failing after `secs`.
pub async fn wait(running: Running, secs: u64) -> Status {
    tokio::time::timeout(Duration::from_secs(secs), running.wait())
        .await
        .expect("node did not finish in time")
}

/// Waits up to `secs` for a downloader to stop, asserts that it completed and moves its
/// content to the final name; returns its last status.
pub async fn complete(getter: Running, prepared: &Prepared, secs: u64) -> Status {
    let status = wait(getter, secs).await;
    assert!(status.complete, "{status:?}");
    download::finish(prepared).unwrap();
    status
}

/// Downloads `meta` into `out` from the one peer at `peer`, within 60 s.
pub async fn get_from(meta: &Metainfo, out: &Path, peer: SocketAddr) -> Prepared {
    let mut opts = options();
    opts.peers = vec![peer];
    let (getter, prepared) = get(meta, out, opts).await;
    complete(getter, &prepared, 60).await;
    prepared
}

/// Starts a tracker on loopback with its data under `dir/tracker`, asking for announces
/// every `interval_s` (its default when `None`); returns its announce URL.
pub async fn start_tracker(dir: &Path, interval_s: Option<u32>) -> String {
    let listener = tokio::net::TcpListener::bind(LOOPBACK).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut config = swarm_tracker::TrackerConfig::new(addr, dir.join("tracker"));
    if let Some(interval_s) = interval_s {
        config.interval_s = interval_s;
    }
    tokio::spawn(swarm_tracker::serve(listener, config));
    format!("http://{addr}/announce")
}

pub fn peers(addrs: &[SocketAddr]) -> Vec<SocketAddr> {
    addrs.to_vec()
}

/// Logs to the test output when `RUST_LOG` is set.
pub fn logs() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}
