//! Interop with real BitTorrent clients on loopback: libtorrent (python3-libtorrent under
//! `/usr/bin/python3`) and aria2c. Each test is skipped, with a note, when its client is
//! not installed, and fails instead under CI.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::common::*;
use swarm_net::download;
use swarm_testsupport::process::Reaper;

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn libtorrent_downloads_from_swarm_seed() {
    if !have_libtorrent() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (path, meta, bytes) = make_content(
        &dir.path().join("src"),
        "img.bin",
        6 * 1024 * 1024 + 777,
        256 * 1024,
        vec![],
    );
    let seeder = seed(&meta, &path, options()).await;
    let out = dir.path().join("lt");
    std::fs::create_dir_all(&out).unwrap();
    let torrent = dir.path().join("src/img.bin.torrent");
    let peer = seeder.local_addr.to_string();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(PYTHON)
            .arg(script())
            .args([
                "download",
                torrent.to_str().unwrap(),
                out.to_str().unwrap(),
                &peer,
                "60",
            ])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "libtorrent: {stdout} {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(std::fs::read(dir.path().join("lt/img.bin")).unwrap(), bytes);
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
    let (_, meta, bytes) = make_content(
        &dir.path().join("src"),
        "img.bin",
        5 * 1024 * 1024 + 3,
        128 * 1024,
        vec![],
    );
    let torrent = dir.path().join("src/img.bin.torrent");
    let (child, port) = lt_seed(&torrent, &dir.path().join("src")).await;
    let mut opts = options();
    opts.peers = vec![format!("127.0.0.1:{port}").parse().unwrap()];
    let out = dir.path().join("out");
    let (getter, prepared) = get(&meta, &out, opts).await;
    let status = wait(getter, 60).await;
    assert!(status.complete, "{status:?}");
    download::finish(&prepared).unwrap();
    assert_eq!(std::fs::read(out.join("img.bin")).unwrap(), bytes);
    drop(child);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aria2_downloads_from_swarm_seed_through_the_tracker() {
    if !have_aria2() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind(LOOPBACK).await.unwrap();
    let tracker_addr = listener.local_addr().unwrap();
    let config = swarm_tracker::TrackerConfig::new(tracker_addr, dir.path().join("tracker"));
    tokio::spawn(swarm_tracker::serve(listener, config));
    let announce = format!("http://{tracker_addr}/announce");
    let (path, meta, bytes) = make_content(
        &dir.path().join("src"),
        "img.bin",
        4 * 1024 * 1024 + 5,
        128 * 1024,
        vec![announce.clone()],
    );
    let mut seed_opts = options();
    seed_opts.trackers = vec![announce];
    let seeder = seed(&meta, &path, seed_opts).await;
    tokio::time::sleep(Duration::from_millis(300)).await; // let the seed announce
    let torrent = dir.path().join("src/img.bin.torrent");
    let out = dir.path().join("aria");
    let out2 = out.clone();
    let aria_port = std::net::TcpListener::bind(LOOPBACK)
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let output = tokio::task::spawn_blocking(move || {
        Command::new("timeout")
            .args(["60", "aria2c"])
            .args([
                "--enable-dht=false",
                "--enable-dht6=false",
                "--bt-enable-lpd=false",
                "--enable-peer-exchange=false",
                "--seed-time=0",
                &format!("--listen-port={aria_port}"),
                "--check-integrity=true",
                "--console-log-level=warn",
                "--summary-interval=0",
            ])
            .arg(format!("--dir={}", out2.display()))
            .arg(torrent)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        output.status.success(),
        "aria2c: {} {}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(std::fs::read(out.join("img.bin")).unwrap(), bytes);
    seeder.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mixed_swarm_of_swarm_libtorrent_and_aria2_completes() {
    if !have_libtorrent() || !have_aria2() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind(LOOPBACK).await.unwrap();
    let tracker_addr = listener.local_addr().unwrap();
    let mut config = swarm_tracker::TrackerConfig::new(tracker_addr, dir.path().join("tracker"));
    config.interval_s = 2;
    tokio::spawn(swarm_tracker::serve(listener, config));
    let announce = format!("http://{tracker_addr}/announce");
    let (path, meta, bytes) = make_content(
        &dir.path().join("src"),
        "img.bin",
        12 * 1024 * 1024 + 99,
        256 * 1024,
        vec![announce.clone()],
    );
    let torrent = dir.path().join("src/img.bin.torrent");

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
    std::fs::create_dir_all(&lt_out).unwrap();
    let lt = {
        let (torrent, lt_out, peer) = (
            torrent.clone(),
            lt_out.clone(),
            origin.local_addr.to_string(),
        );
        tokio::task::spawn_blocking(move || {
            Command::new(PYTHON)
                .arg(script())
                .args([
                    "download",
                    torrent.to_str().unwrap(),
                    lt_out.to_str().unwrap(),
                    &peer,
                    "90",
                ])
                .output()
                .unwrap()
        })
    };
    let aria_out = dir.path().join("aria");
    let aria = {
        let (torrent, aria_out) = (torrent.clone(), aria_out.clone());
        let port = std::net::TcpListener::bind(LOOPBACK)
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        tokio::task::spawn_blocking(move || {
            Command::new("timeout")
                .args([
                    "90",
                    "aria2c",
                    "--enable-dht=false",
                    "--enable-dht6=false",
                    "--bt-enable-lpd=false",
                ])
                .args([
                    "--seed-time=0",
                    "--console-log-level=warn",
                    "--summary-interval=0",
                ])
                .arg(format!("--listen-port={port}"))
                .arg(format!("--dir={}", aria_out.display()))
                .arg(torrent)
                .output()
                .unwrap()
        })
    };
    for (running, prepared, out) in swarm_peers {
        let status = wait(running, 90).await;
        assert!(status.complete, "{status:?}");
        download::finish(&prepared).unwrap();
        assert_eq!(std::fs::read(out.join("img.bin")).unwrap(), bytes);
    }
    let lt = lt.await.unwrap();
    assert!(
        lt.status.success(),
        "libtorrent: {}",
        String::from_utf8_lossy(&lt.stdout)
    );
    assert_eq!(std::fs::read(lt_out.join("img.bin")).unwrap(), bytes);
    let aria = aria.await.unwrap();
    assert!(
        aria.status.success(),
        "aria2c: {}",
        String::from_utf8_lossy(&aria.stdout)
    );
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
    let meta =
        swarm_engine::metainfo::Metainfo::from_bytes(&std::fs::read(&torrent).unwrap()).unwrap();
    assert!(meta.files.iter().any(|f| f.pad), "{:?}", meta.files);

    let (child, port) = lt_seed(&torrent, &dir.path().join("src")).await;
    let mut opts = options();
    opts.peers = vec![format!("127.0.0.1:{port}").parse().unwrap()];
    let out = dir.path().join("out");
    let (getter, prepared) = get(&meta, &out, opts).await;
    let status = wait(getter, 60).await;
    assert!(status.complete, "{status:?}");
    download::finish(&prepared).unwrap();
    for (name, len) in files {
        let got = std::fs::read(out.join("set").join(name)).unwrap();
        assert!(got == data(len, len as u64), "{name} differs");
    }
    assert!(!out.join("set/.pad").exists());
    drop(child);
}
