//! The origin seeding from the manager: start a registered torrent's seed, download it
//! with a real swarm-net client through the tracker, stop it; failures and restarts. The
//! tracker runs in-process with the binary's seeder (`tracker_rig`): the tracker crate does
//! not link swarm-net, even for its tests.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use swarm_engine::metainfo::Metainfo;
use swarm_net::download;
use swarm_net::hashing::HashConfig;
use swarm_net::runner::{self, NodeOptions};
use swarm_net::storage::Storage;

use super::tracker_rig::*;

/// A server seeding with the binary's seeder, allowed to register paths under `dir/images`.
fn server_with_images(dir: &Path) -> TestServer {
    seeded(allowing(dir, "images"))
}

fn start_seed(server: &TestServer, hash: &str) -> serde_json::Value {
    let response = server.api(
        "POST",
        &format!("/api/torrents/{hash}/seed"),
        &serde_json::json!({}),
    );
    assert_eq!(response.status, 202, "{}", response.text());
    response.json()
}

/// Polls the torrent until its seed is in `state`; returns the `seeding` view.
fn wait_seed(server: &TestServer, hash: &str, state: &str) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let seeding = server.json(&format!("/api/torrents/{hash}"))["seeding"].clone();
        if seeding["state"] == state {
            return seeding;
        }
        assert!(Instant::now() < deadline, "seed never {state}: {seeding}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Downloads the torrent into `out` with a swarm-net node that only knows the tracker.
fn download_through_tracker(server: &TestServer, hash: &str, out: &Path) {
    let file = server.get(&format!("/api/torrents/{hash}/torrent"));
    assert_eq!(file.status, 200);
    let meta = Metainfo::from_bytes(&file.body).unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let prepared =
            download::prepare(&meta, out, HashConfig::for_this_machine(), &|_| {}).unwrap();
        let storage = Storage::open(&meta, &prepared.content_path, true).unwrap();
        let listen: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let mut options = NodeOptions::new(listen);
        options.trackers = meta.trackers();
        options.exit_when_done = true;
        options.disk_threads = 2;
        let running = runner::start(&meta, storage, prepared.verified.clone(), options)
            .await
            .unwrap();
        let status = tokio::time::timeout(Duration::from_secs(90), running.wait())
            .await
            .expect("download did not finish");
        assert!(status.complete, "{status:?}");
        download::finish(&prepared).unwrap();
    });
}

#[test]
fn seed_from_the_manager_serves_a_byte_exact_copy() {
    let dir = temp_dir();
    let server = server_with_images(dir.path());
    let source = dir.path().join("images/img.bin");
    write_file(&source, 3 * 1024 * 1024 + 4321, 7);
    let hash = register(&server, "img.bin");
    assert_eq!(
        server.json(&format!("/api/torrents/{hash}"))["seeding"]["state"],
        "stopped"
    );

    let started = start_seed(&server, &hash);
    assert_eq!(started["state"], "checking");
    let port = started["port"].as_u64().unwrap();
    assert!(port > 0);
    let seeding = wait_seed(&server, &hash, "seeding");
    assert_eq!(seeding["port"].as_u64(), Some(port));
    // Issue 15 item 6: the seed bound 0.0.0.0 though the tracker listens on 127.0.0.1.
    let port = u16::try_from(port).unwrap();
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
    assert!(
        std::net::TcpStream::connect(("127.0.0.2", port)).is_err(),
        "the seed listens beyond the tracker's address"
    );
    let again = server.api(
        "POST",
        &format!("/api/torrents/{hash}/seed"),
        &serde_json::json!({}),
    );
    assert_eq!(again.status, 409, "{}", again.text());
    let list = server.json("/api/torrents");
    assert_eq!(list[0]["seeding"]["state"], "seeding");

    let out = dir.path().join("out");
    download_through_tracker(&server, &hash, &out);
    assert_eq!(
        std::fs::read(out.join("img.bin")).unwrap(),
        std::fs::read(&source).unwrap()
    );

    let stopped = stop_seed(&server, &hash);
    assert_eq!(stopped.status, 200, "{}", stopped.text());
    assert_eq!(stopped.json()["state"], "stopped");
    assert_eq!(
        wait_seed(&server, &hash, "stopped")["error"],
        serde_json::Value::Null
    );
    let page = server.get("/").text();
    assert!(page.contains("Start seeding"), "{page}");
}

#[test]
fn seeding_deleted_data_fails_with_a_clear_error() {
    let dir = temp_dir();
    let server = server_with_images(dir.path());
    let source = dir.path().join("images/gone.bin");
    write_file(&source, 200_000, 3);
    let hash = register(&server, "gone.bin");
    std::fs::remove_file(&source).unwrap();
    start_seed(&server, &hash);
    let failed = wait_seed(&server, &hash, "failed");
    let error = failed["error"].as_str().unwrap();
    assert!(
        error.contains("gone.bin") && error.contains("does not exist"),
        "{error}"
    );
    assert!(server.get("/").text().contains("failed: "));

    // Damaged data is refused too, naming what is wrong.
    write_file(&source, 199_999, 3);
    start_seed(&server, &hash);
    let error = wait_seed(&server, &hash, "failed")["error"].clone();
    assert!(
        error.as_str().unwrap().contains("not a complete copy"),
        "{error}"
    );
}

#[test]
fn a_directory_registers_as_a_multi_file_torrent_and_seeds() {
    let dir = temp_dir();
    let server = server_with_images(dir.path());
    let set = dir.path().join("images/set");
    std::fs::create_dir_all(set.join("sub")).unwrap();
    write_file(&set.join("a.bin"), 300_000, 1);
    write_file(&set.join("sub/b.bin"), 1_000_001, 2);
    let hash = register(&server, "set");
    let torrent = server.get(&format!("/api/torrents/{hash}/torrent"));
    let meta = Metainfo::from_bytes(&torrent.body).unwrap();
    assert!(meta.multi_file && meta.private);
    assert_eq!(meta.name, "set");
    let paths: Vec<Vec<String>> = meta.files.iter().map(|f| f.path.clone()).collect();
    assert_eq!(
        paths,
        [
            vec!["a.bin".to_string()],
            vec!["sub".into(), "b.bin".into()]
        ]
    );
    assert_eq!(meta.announce, Some(format!("{}/announce", server.url())));

    start_seed(&server, &hash);
    wait_seed(&server, &hash, "seeding");
    let out = dir.path().join("out");
    download_through_tracker(&server, &hash, &out);
    for file in ["a.bin", "sub/b.bin"] {
        assert_eq!(
            std::fs::read(out.join("set").join(file)).unwrap(),
            std::fs::read(set.join(file)).unwrap(),
            "{file}"
        );
    }
    assert_eq!(stop_seed(&server, &hash).json()["state"], "stopped");

    let renamed = server.post_json(
        "/api/torrents?name=other",
        &serde_json::json!({"path": "set"}),
    );
    assert_eq!(renamed.status, 201, "{}", renamed.text());
    assert_eq!(renamed.json()["name"], "other");
}

#[test]
fn wished_seeds_resume_after_a_restart() {
    let dir = temp_dir();
    std::fs::create_dir_all(dir.path().join("images")).unwrap();
    write_file(&dir.path().join("images/keep.bin"), 500_000, 5);
    write_file(&dir.path().join("images/idle.bin"), 500_000, 6);
    let (keep, idle) = {
        let server = server_with_images(dir.path());
        let keep = register(&server, "keep.bin");
        let idle = register(&server, "idle.bin");
        start_seed(&server, &keep);
        start_seed(&server, &idle);
        wait_seed(&server, &idle, "seeding");
        assert_eq!(stop_seed(&server, &idle).status, 200);
        wait_seed(&server, &keep, "seeding");
        (keep, idle)
    };
    let server = server_with_images(dir.path());
    wait_seed(&server, &keep, "seeding");
    assert_eq!(
        server.json(&format!("/api/torrents/{idle}"))["seeding"]["state"],
        "stopped"
    );
}
