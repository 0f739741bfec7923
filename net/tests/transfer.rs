//! End to end on loopback: seeds and downloaders of swarm-net talking real TCP.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::*;
use swarm_net::download;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_to_get_is_byte_exact() {
    let dir = tempfile::tempdir().unwrap();
    let (path, meta, bytes) = make_content(
        &dir.path().join("src"),
        "image.bin",
        5 * 1024 * 1024 + 12_345,
        64 * 1024,
        vec![],
    );
    let seeder = seed(&meta, &path, options()).await;
    let mut opts = options();
    opts.peers = vec![seeder.local_addr];
    let out = dir.path().join("out");
    let (getter, prepared) = get(&meta, &out, opts).await;
    let status = wait(getter, 60).await;
    assert!(status.complete, "{status:?}");
    download::finish(&prepared).unwrap();
    assert_eq!(std::fs::read(out.join("image.bin")).unwrap(), bytes);
    assert!(!out.join("image.bin.part").exists());
    seeder.stop();
    let seed_status = wait(seeder, 10).await;
    assert!(seed_status.uploaded_bytes >= bytes.len() as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multi_file_torrent_is_byte_exact() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("src/set");
    std::fs::create_dir_all(root.join("sub")).unwrap();
    let a = data(300_000, 1);
    let b = data(1_000_001, 2);
    std::fs::write(root.join("a.bin"), &a).unwrap();
    std::fs::write(root.join("sub/b.bin"), &b).unwrap();
    std::fs::write(root.join("empty"), b"").unwrap();
    let options_ = swarm_net::CreateOptions {
        piece_length: Some(32 * 1024),
        private: false,
        ..Default::default()
    };
    let meta = swarm_net::create_torrent(&root, &options_, &|_| {})
        .unwrap()
        .metainfo;
    let seeder = seed(&meta, &root, options()).await;
    let mut opts = options();
    opts.peers = vec![seeder.local_addr];
    let out = dir.path().join("out");
    let (getter, prepared) = get(&meta, &out, opts).await;
    assert!(wait(getter, 60).await.complete);
    download::finish(&prepared).unwrap();
    assert_eq!(std::fs::read(out.join("set/a.bin")).unwrap(), a);
    assert_eq!(std::fs::read(out.join("set/sub/b.bin")).unwrap(), b);
    assert_eq!(std::fs::read(out.join("set/empty")).unwrap().len(), 0);
    seeder.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn downloaders_find_each_other_through_the_tracker() {
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind(LOOPBACK).await.unwrap();
    let tracker_addr = listener.local_addr().unwrap();
    let config = swarm_tracker::TrackerConfig::new(tracker_addr, dir.path().join("tracker"));
    tokio::spawn(swarm_tracker::serve(listener, config));
    let announce = format!("http://{tracker_addr}/announce");
    let (path, meta, bytes) = make_content(
        &dir.path().join("src"),
        "img",
        3 * 1024 * 1024,
        64 * 1024,
        vec![announce.clone()],
    );
    let mut seed_opts = options();
    seed_opts.trackers = vec![announce.clone()];
    let seeder = seed(&meta, &path, seed_opts).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut handles = Vec::new();
    for i in 0..3 {
        let mut opts = options();
        opts.trackers = vec![announce.clone()];
        let out = dir.path().join(format!("peer{i}"));
        let (getter, prepared) = get(&meta, &out, opts).await;
        handles.push((getter, prepared, out));
    }
    for (getter, prepared, out) in handles {
        assert!(wait(getter, 60).await.complete);
        download::finish(&prepared).unwrap();
        assert_eq!(std::fs::read(out.join("img")).unwrap(), bytes);
    }
    seeder.stop();
}
