//! Interop with real BitTorrent clients on loopback: libtorrent (python3-libtorrent under
//! `/usr/bin/python3`) and aria2c. Each test is skipped, with a note, when its client is
//! not installed, and fails instead under CI.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use swarm_engine::metainfo::Metainfo;
use swarm_testsupport::process::Reaper;
use tokio::task::JoinHandle;

use crate::common::*;

const PYTHON: &str = "/usr/bin/python3";

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/lt_peer.py")
}

fn have_libtorrent() -> bool {
    swarm_testsupport::tools::libtorrent().is_some()
}

fn have_aria2() -> bool {
    swarm_testsupport::tools::aria2c().is_some()
}

/// Starts a libtorrent seed of `torrent` with its content in `save_dir`; returns once it has
/// checked the content and listens, with its port.
async fn lt_seed(torrent: &Path, save_dir: &Path) -> (Reaper, u16) {
    let mut child = Reaper(
        Command::new(PYTHON)
            .arg(script())
            .args([
                "seed",
                torrent.to_str().unwrap(),
                save_dir.to_str().unwrap(),
            ])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let stdout = child.0.stdout.take().unwrap();
    let port: u16 = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        line.trim()
            .strip_prefix("port ")
            .expect("port line")
            .parse()
            .unwrap()
    })
    .await
    .unwrap();
    (child, port)
}

/// `src/img.bin` of `len` bytes under `dir`, in pieces of `piece_length` and announced to
/// `trackers`, and its torrent `src/img.bin.torrent`: (content, metainfo, bytes, torrent).
fn img(
    dir: &Path,
    len: usize,
    piece_length: u64,
    trackers: Vec<String>,
) -> (PathBuf, Metainfo, Vec<u8>, PathBuf) {
    let (path, meta, bytes) =
        make_content(&dir.join("src"), "img.bin", len, piece_length, trackers);
    (path, meta, bytes, dir.join("src/img.bin.torrent"))
}

/// A libtorrent download of `torrent` into `out` (created) from `peer`, within `secs`.
fn lt_download(torrent: PathBuf, out: PathBuf, peer: String, secs: u32) -> JoinHandle<Output> {
    std::fs::create_dir_all(&out).unwrap();
    tokio::task::spawn_blocking(move || {
        Command::new(PYTHON)
            .arg(script())
            .args([
                "download",
                torrent.to_str().unwrap(),
                out.to_str().unwrap(),
                &peer,
                &secs.to_string(),
            ])
            .output()
            .unwrap()
    })
}

/// An aria2c download of `torrent` into `out`, finding peers through its trackers only,
/// within `secs`; it stops seeding once done.
fn aria2_download(torrent: PathBuf, out: PathBuf, secs: u32) -> JoinHandle<Output> {
    let port = std::net::TcpListener::bind(LOOPBACK)
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    tokio::task::spawn_blocking(move || {
        Command::new("timeout")
            .args([&secs.to_string(), "aria2c"])
            .args([
                "--enable-dht=false",
                "--enable-dht6=false",
                "--bt-enable-lpd=false",
                "--enable-peer-exchange=false",
                "--seed-time=0",
                "--check-integrity=true",
                "--console-log-level=warn",
                "--summary-interval=0",
            ])
            .arg(format!("--listen-port={port}"))
            .arg(format!("--dir={}", out.display()))
            .arg(torrent)
            .output()
            .unwrap()
    })
}

#[track_caller]
fn assert_succeeded(client: &str, output: &Output) {
    assert!(
        output.status.success(),
        "{client}: {} {}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn on_loopback(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn libtorrent_downloads_from_swarm_seed() {
    if !have_libtorrent() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (path, meta, bytes, torrent) = img(dir.path(), 6 * 1024 * 1024 + 777, 256 * 1024, vec![]);
    let seeder = seed(&meta, &path, options()).await;
    let out = dir.path().join("lt");
    let peer = seeder.local_addr.to_string();
    let output = lt_download(torrent, out.clone(), peer, 60).await.unwrap();
    assert_succeeded("libtorrent", &output);
    assert_eq!(std::fs::read(out.join("img.bin")).unwrap(), bytes);
    seeder.stop();
    let status = wait(seeder, 10).await;
    assert!(status.uploaded_bytes >= bytes.len() as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swarm_get_downloads_from_libtorrent_seed() {
    if !have_libtorrent() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (_, meta, bytes, torrent) = img(dir.path(), 5 * 1024 * 1024 + 3, 128 * 1024, vec![]);
    let (child, port) = lt_seed(&torrent, &dir.path().join("src")).await;
    let out = dir.path().join("out");
    get_from(&meta, &out, on_loopback(port)).await;
    assert_eq!(std::fs::read(out.join("img.bin")).unwrap(), bytes);
    drop(child);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aria2_downloads_from_swarm_seed_through_the_tracker() {
    if !have_aria2() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let announce = start_tracker(dir.path(), None).await;
    let (path, meta, bytes, torrent) = img(
        dir.path(),
        4 * 1024 * 1024 + 5,
        128 * 1024,
        vec![announce.clone()],
    );
    let mut seed_opts = options();
    seed_opts.trackers = vec![announce];
    let seeder = seed(&meta, &path, seed_opts).await;
    tokio::time::sleep(Duration::from_millis(300)).await; // let the seed announce
    let out = dir.path().join("aria");
    let output = aria2_download(torrent, out.clone(), 60).await.unwrap();
    assert_succeeded("aria2c", &output);
    assert_eq!(std::fs::read(out.join("img.bin")).unwrap(), bytes);
    seeder.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mixed_swarm_of_swarm_libtorrent_and_aria2_completes() {
    if !have_libtorrent() || !have_aria2() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let announce = start_tracker(dir.path(), Some(2)).await;
    let (path, meta, bytes, torrent) = img(
        dir.path(),
        12 * 1024 * 1024 + 99,
        256 * 1024,
        vec![announce.clone()],
    );

    // The origin serves slowly so that the peers have to trade among themselves.
    let mut origin_opts = options();
    origin_opts.trackers = vec![announce.clone()];
    origin_opts.config.origin_mode = true;
    origin_opts.config.max_upload_bytes_per_s = Some(6 * 1024 * 1024);
    let origin = seed(&meta, &path, origin_opts).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let mut swarm_peers = Vec::new();
    for i in 0..2 {
        let mut opts = options();
        opts.trackers = vec![announce.clone()];
        opts.config.default_announce_interval = Duration::from_secs(2);
        let out = dir.path().join(format!("swarm{i}"));
        let (running, prepared) = get(&meta, &out, opts).await;
        swarm_peers.push((running, prepared, out));
    }
    let lt_out = dir.path().join("lt");
    let peer = origin.local_addr.to_string();
    let lt = lt_download(torrent.clone(), lt_out.clone(), peer, 90);
    let aria_out = dir.path().join("aria");
    let aria = aria2_download(torrent, aria_out.clone(), 90);
    for (running, prepared, out) in swarm_peers {
        complete(running, &prepared, 90).await;
        assert_eq!(std::fs::read(out.join("img.bin")).unwrap(), bytes);
    }
    assert_succeeded("libtorrent", &lt.await.unwrap());
    assert_eq!(std::fs::read(lt_out.join("img.bin")).unwrap(), bytes);
    assert_succeeded("aria2c", &aria.await.unwrap());
    assert_eq!(std::fs::read(aria_out.join("img.bin")).unwrap(), bytes);
    origin.stop();
    let origin_status = wait(origin, 10).await;
    eprintln!(
        "origin uploaded {:.2} copies to 4 peers",
        origin_status.uploaded_bytes as f64 / bytes.len() as f64
    );
}

/// libtorrent 2 makes hybrid v1+v2 torrents, whose multi-file layout has BEP 47 pad files
/// between the files: `swarm get` downloads one from a libtorrent seed without creating them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swarm_get_downloads_hybrid_torrent_with_pad_files_from_libtorrent_seed() {
    if !have_libtorrent() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src/set");
    let files = [("a.bin", 100_003), ("sub/b.bin", 70_001), ("c.bin", 5)];
    for (name, len) in files {
        let path = src.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, data(len, len as u64)).unwrap();
    }
    let torrent = dir.path().join("src/set.torrent");
    let create = "import os, sys, libtorrent as lt\n\
        path, out = sys.argv[1:3]\n\
        fs = lt.file_storage()\n\
        lt.add_files(fs, path)\n\
        t = lt.create_torrent(fs, 16384)\n\
        lt.set_piece_hashes(t, os.path.dirname(path))\n\
        open(out, 'wb').write(lt.bencode(t.generate()))\n";
    let status = Command::new(PYTHON)
        .args([
            "-c",
            create,
            src.to_str().unwrap(),
            torrent.to_str().unwrap(),
        ])
        .status()
        .unwrap();
    assert!(status.success());
    let meta = Metainfo::from_bytes(&std::fs::read(&torrent).unwrap()).unwrap();
    assert!(meta.files.iter().any(|f| f.pad), "{:?}", meta.files);

    let (child, port) = lt_seed(&torrent, &dir.path().join("src")).await;
    let out = dir.path().join("out");
    get_from(&meta, &out, on_loopback(port)).await;
    for (name, len) in files {
        let got = std::fs::read(out.join("set").join(name)).unwrap();
        assert!(got == data(len, len as u64), "{name} differs");
    }
    assert!(!out.join("set/.pad").exists());
    drop(child);
}
