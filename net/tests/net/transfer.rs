//! End to end on loopback: seeds and downloaders of swarm-net talking real TCP.

use std::time::Duration;

use crate::common::*;

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
    let out = dir.path().join("out");
    get_from(&meta, &out, seeder.local_addr).await;
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
    let out = dir.path().join("out");
    get_from(&meta, &out, seeder.local_addr).await;
    assert_eq!(std::fs::read(out.join("set/a.bin")).unwrap(), a);
    assert_eq!(std::fs::read(out.join("set/sub/b.bin")).unwrap(), b);
    assert_eq!(std::fs::read(out.join("set/empty")).unwrap().len(), 0);
    seeder.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn downloaders_find_each_other_through_the_tracker() {
    let dir = tempfile::tempdir().unwrap();
    let announce = start_tracker(dir.path(), None).await;
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
        complete(getter, &prepared, 60).await;
        assert_eq!(std::fs::read(out.join("img")).unwrap(), bytes);
    }
    seeder.stop();
}

/// One host seeds two torrents on one port; each downloader reaches its own torrent there,
/// and removing one stops it while the other keeps serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_host_serves_two_torrents_on_one_port() {
    use swarm_engine::bitfield::Bitfield;
    use swarm_net::host::Host;
    use swarm_net::storage::Storage;
    let dir = tempfile::tempdir().unwrap();
    let host = Host::bind(LOOPBACK.parse().unwrap()).await.unwrap();
    let mut torrents = Vec::new();
    for (name, len) in [("a", 1024 * 1024 + 7), ("b", 700 * 1024)] {
        let (path, meta, bytes) =
            make_content(&dir.path().join(name), name, len, 64 * 1024, vec![]);
        let storage = Storage::open(&meta, &path, false).unwrap();
        let full = Bitfield::full(meta.geometry.piece_count());
        let running = host.add(&meta, storage, full, options()).await.unwrap();
        assert_eq!(running.local_addr, host.local_addr());
        torrents.push((meta, bytes, running));
    }
    let again = Storage::open(&torrents[0].0, &dir.path().join("a/a"), false).unwrap();
    let full = Bitfield::full(torrents[0].0.geometry.piece_count());
    assert!(host
        .add(&torrents[0].0, again, full, options())
        .await
        .is_err());
    for (i, (meta, bytes, _)) in torrents.iter().enumerate() {
        let out = dir.path().join(format!("out{i}"));
        let prepared = get_from(meta, &out, host.local_addr()).await;
        assert_eq!(&std::fs::read(&prepared.final_path).unwrap(), bytes);
    }
    let (meta, _, running) = torrents.remove(0);
    assert!(host.remove(meta.info_hash).await);
    let status = wait(running, 10).await;
    assert!(status.uploaded_bytes > 0);
}

/// A handshake for a torrent the host does not run is answered by closing, with no byte.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_info_hash_is_closed_without_a_byte() {
    use swarm_engine::metainfo::InfoHash;
    use swarm_engine::wire::Handshake;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dir = tempfile::tempdir().unwrap();
    let (path, meta, _) = make_content(
        &dir.path().join("src"),
        "img",
        128 * 1024,
        64 * 1024,
        vec![],
    );
    let seeder = seed(&meta, &path, options()).await;
    let mut stream = tokio::net::TcpStream::connect(seeder.local_addr)
        .await
        .unwrap();
    let stranger = Handshake::new(InfoHash([0xee; 20]), *b"-XX0000-000000000000");
    stream.write_all(&stranger.to_bytes()).await.unwrap();
    let mut buf = [0u8; 1];
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf)).await;
    assert!(
        matches!(read, Ok(Ok(0))),
        "expected a close with no byte: {read:?}"
    );
    seeder.stop();
}
