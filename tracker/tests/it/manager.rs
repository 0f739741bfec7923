//! The manager: uploads, registration by path, the JSON API, the `.torrent` file, live
//! events, the page, and the registry surviving a restart.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::Duration;

use sha1::{Digest, Sha1};
use swarm_engine::metainfo::Metainfo;

use crate::support::*;

fn hash_bytes(hex_text: &str) -> [u8; 20] {
    let mut hash = [0u8; 20];
    hex::decode_to_slice(hex_text, &mut hash).unwrap();
    hash
}

#[test]
fn upload_streams_to_disk_and_serves_a_private_torrent() {
    let dir = temp_dir();
    let server = TestServer::start(config(dir.path()));
    let content: Vec<u8> = (0..1_300_000u32).map(|i| (i % 253) as u8).collect();
    let response = server.upload("/api/torrents", "image.raw", &content);
    assert_eq!(response.status, 201, "{}", response.text());
    let registered = response.json();
    let info_hash = registered["info_hash"].as_str().unwrap().to_string();
    assert_eq!(registered["name"], "image.raw");
    assert_eq!(registered["size_bytes"], content.len());
    assert_eq!(registered["existing"], false);
    let torrent_url = registered["torrent_url"].as_str().unwrap();
    assert_eq!(
        torrent_url,
        format!("{}/api/torrents/{info_hash}/torrent", server.url())
    );

    let stored = dir.path().join("files").join(&info_hash).join("image.raw");
    assert_eq!(
        std::fs::read(&stored).unwrap(),
        content,
        "file stored as uploaded"
    );
    assert_eq!(
        std::fs::read_dir(dir.path().join("uploads"))
            .unwrap()
            .count(),
        0,
        "no part file left"
    );

    let file = server.get(&format!("/api/torrents/{info_hash}/torrent"));
    assert_eq!(file.status, 200);
    assert_eq!(
        file.header("content-type"),
        Some("application/x-bittorrent")
    );
    let meta = Metainfo::from_bytes(&file.body).unwrap();
    assert_eq!(meta.info_hash.to_string(), info_hash);
    assert!(meta.private);
    assert_eq!(meta.announce, Some(format!("{}/announce", server.url())));
    assert_eq!(meta.total_length(), content.len() as u64);
    let piece_length = meta.geometry.piece_length() as usize;
    for (index, piece) in content.chunks(piece_length).enumerate() {
        let expected: [u8; 20] = Sha1::digest(piece).into();
        assert_eq!(meta.piece_hashes[index], expected, "piece {index}");
    }

    let again = server.upload("/api/torrents", "image.raw", &content);
    assert_eq!(again.status, 200);
    assert_eq!(again.json()["existing"], true);
}

#[test]
fn upload_options_and_bad_uploads() {
    let dir = temp_dir();
    let server = TestServer::start(config(dir.path()));
    let named = server.upload(
        "/api/torrents?name=renamed.img&piece_length=16384",
        "x.bin",
        &[5u8; 40_000],
    );
    assert_eq!(named.status, 201, "{}", named.text());
    assert_eq!(named.json()["name"], "renamed.img");
    let info_hash = named.json()["info_hash"].as_str().unwrap().to_string();
    let detail = server.json(&format!("/api/torrents/{info_hash}"));
    assert_eq!(detail["piece_length_bytes"], 16384);

    let empty = server.upload("/api/torrents", "empty.bin", b"");
    assert_eq!(empty.status, 400);
    assert!(empty.json()["error"].as_str().unwrap().contains("empty"));
    let bad_piece = server.upload("/api/torrents?piece_length=1000", "x.bin", &[1u8; 10]);
    assert_eq!(bad_piece.status, 400);
    let bad_name = server.upload("/api/torrents?name=..", "x.bin", &[1u8; 10]);
    assert_eq!(bad_name.status, 400);
    let text = request(
        server.addr,
        "POST",
        "/api/torrents",
        &[("Content-Type", "text/plain")],
        b"hello",
    );
    assert_eq!(text.status, 415);
    let bad_json = server.post_json("/api/torrents", &serde_json::json!({"nope": 1}));
    assert_eq!(bad_json.status, 400);
}

#[test]
fn registration_by_path_is_confined_to_the_allowed_directory() {
    let dir = temp_dir();
    let allowed = dir.path().join("images");
    std::fs::create_dir(&allowed).unwrap();
    write_file(&allowed.join("build.img"), 700_000, 1);
    write_file(&dir.path().join("secret.img"), 1000, 2);
    std::os::unix::fs::symlink(dir.path().join("secret.img"), allowed.join("escape.img")).unwrap();

    let mut cfg = config(&dir.path().join("data"));
    cfg.allowed_dir = Some(allowed.clone());
    let server = TestServer::start(cfg);
    let ok = server.post_json(
        "/api/torrents",
        &serde_json::json!({"path": allowed.join("build.img")}),
    );
    assert_eq!(ok.status, 201, "{}", ok.text());
    let registered = ok.json();
    assert_eq!(
        registered["path"],
        allowed
            .join("build.img")
            .canonicalize()
            .unwrap()
            .to_str()
            .unwrap()
    );
    let relative = server.post_json("/api/torrents", &serde_json::json!({"path": "build.img"}));
    assert_eq!(relative.status, 200, "same file again: {}", relative.text());

    for outside in [
        dir.path().join("secret.img").display().to_string(),
        "../secret.img".to_string(),
        allowed.join("../secret.img").display().to_string(),
        "escape.img".to_string(),
        "/etc/passwd".to_string(),
    ] {
        let refused = server.post_json("/api/torrents", &serde_json::json!({ "path": outside }));
        assert_eq!(refused.status, 403, "{outside}: {}", refused.text());
        assert!(refused.json()["error"]
            .as_str()
            .unwrap()
            .contains("outside the allowed directory"));
    }
    let missing = server.post_json("/api/torrents", &serde_json::json!({"path": "nope.img"}));
    assert_eq!(missing.status, 404);
    // The allowed directory itself holds `escape.img`, a link to the outside.
    let directory = server.post_json("/api/torrents", &serde_json::json!({"path": "."}));
    assert_eq!(directory.status, 403, "{}", directory.text());

    let disabled_dir = temp_dir();
    let disabled = TestServer::start(config(disabled_dir.path()));
    let refused = disabled.post_json(
        "/api/torrents",
        &serde_json::json!({"path": allowed.join("build.img")}),
    );
    assert_eq!(refused.status, 403);
    assert!(refused.json()["error"]
        .as_str()
        .unwrap()
        .contains("disabled"));
}

#[test]
fn torrent_views_show_peers_progress_and_origin_load() {
    let dir = temp_dir();
    let server = TestServer::start(config(dir.path()));
    let size = 1_000_000usize;
    let registered = server
        .upload("/api/torrents", "f.bin", &vec![9u8; size])
        .json();
    let info_hash = registered["info_hash"].as_str().unwrap().to_string();
    let hash = hash_bytes(&info_hash);

    server.bencode(&announce_query(hash, 1, 10001, 0, "&event=started"));
    server.bencode(&announce_query(
        hash,
        2,
        10002,
        size as u64,
        "&event=started",
    ));
    std::thread::sleep(Duration::from_millis(300));
    let origin_up = format!(
        "/announce?info_hash={}&peer_id={}&port=10001&uploaded=1500000&downloaded=0&left=0",
        pct(&hash),
        pct(&peer_id(1))
    );
    server.bencode(&origin_up);
    server.bencode(
        &announce_query(hash, 2, 10002, (size / 4) as u64, "")
            .replace("downloaded=0", "downloaded=750000"),
    );

    let detail = server.json(&format!("/api/torrents/{info_hash}"));
    assert_eq!(detail["registered"], true);
    assert_eq!(
        (detail["seeds"].as_u64(), detail["leechers"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(detail["origin_uploaded_bytes"], 1_500_000);
    assert_eq!(detail["origin_upload_copies"], 1.5);
    let peers = detail["peers"].as_array().unwrap();
    assert_eq!(peers.len(), 2);
    assert_eq!(peers[0]["initial_seed"], true, "origin listed first");
    assert_eq!(peers[0]["uploaded_copies"], 1.5);
    assert!(
        peers[0]["upload_bps"].as_u64().unwrap() > 0,
        "rate between announces"
    );
    assert_eq!(peers[1]["progress"], 0.75);
    assert_eq!(peers[1]["peer_id"], "-TS0001-00000000000%02");

    let list = server.json("/api/torrents");
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["info_hash"], info_hash);
    assert_eq!(list[0]["seeds"], 1);

    // A torrent tracked without registration is listed too.
    server.bencode(&announce_query([0x44; 20], 1, 10001, 5, ""));
    let list = server.json("/api/torrents");
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert_eq!(list[1]["registered"], false);

    assert_eq!(server.get("/api/torrents/xyz").status, 400);
    assert_eq!(
        server
            .get(&format!("/api/torrents/{}", "ab".repeat(20)))
            .status,
        404
    );
    assert_eq!(
        server
            .get(&format!("/api/torrents/{}/torrent", "ab".repeat(20)))
            .status,
        404
    );
    assert_eq!(
        server
            .get(&format!(
                "/api/torrents/{}/torrent",
                hex::encode([0x44; 20])
            ))
            .status,
        404
    );
}

#[test]
fn the_registry_survives_a_restart() {
    let dir = temp_dir();
    let mut cfg = config(dir.path());
    cfg.registered_only = true;
    let (info_hash, torrent) = {
        let server = TestServer::start(cfg.clone());
        let registered = server
            .upload("/api/torrents", "keep.img", &[3u8; 200_000])
            .json();
        let info_hash = registered["info_hash"].as_str().unwrap().to_string();
        let torrent = server
            .get(&format!("/api/torrents/{info_hash}/torrent"))
            .body;
        (info_hash, torrent)
    };
    let server = TestServer::start(cfg);
    let list = server.json("/api/torrents");
    assert_eq!(list[0]["info_hash"], info_hash);
    assert_eq!(list[0]["name"], "keep.img");
    let again = server.get(&format!("/api/torrents/{info_hash}/torrent"));
    assert_eq!(again.body, torrent);
    let announce = server.bencode(&announce_query(
        hash_bytes(&info_hash),
        1,
        10001,
        0,
        "&event=started",
    ));
    assert_eq!(
        failure(&announce),
        None,
        "registered-only mode knows it after restart"
    );
}

#[test]
fn events_stream_the_torrent_list_and_detail() {
    let dir = temp_dir();
    let server = TestServer::start(config(dir.path()));
    let registered = server
        .upload("/api/torrents", "live.img", &[4u8; 30_000])
        .json();
    let info_hash = registered["info_hash"].as_str().unwrap().to_string();
    server.bencode(&announce_query(
        hash_bytes(&info_hash),
        1,
        10001,
        0,
        "&event=started",
    ));

    let mut stream = TcpStream::connect(server.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET /api/events?info_hash={info_hash} HTTP/1.1\r\nHost: x\r\n\r\n"
    )
    .unwrap();
    let mut reader = BufReader::new(stream);
    let mut seen_list = false;
    let mut seen_detail = false;
    let mut event = String::new();
    for _ in 0..200 {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap() == 0 {
            break;
        }
        let line = line.trim_end();
        if let Some(name) = line.strip_prefix("event: ") {
            event = name.to_string();
        }
        if let Some(data) = line.strip_prefix("data: ") {
            let value: serde_json::Value = serde_json::from_str(data).unwrap();
            match event.as_str() {
                "torrents" => {
                    assert_eq!(value[0]["info_hash"], info_hash);
                    seen_list = true;
                }
                "torrent" => {
                    assert_eq!(value["peers"][0]["addr"], "127.0.0.1:10001");
                    seen_detail = true;
                }
                other => panic!("unexpected event {other}: {data}"),
            }
        }
        if seen_list && seen_detail {
            break;
        }
    }
    assert!(seen_list && seen_detail);
    // Shutting down ends the stream instead of waiting for the client to leave.
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        drop(server);
        let _ = done_tx.send(());
    });
    done_rx
        .recv_timeout(Duration::from_secs(10))
        .expect("shutdown waited for the open event stream");
    drop(reader);
}

#[test]
fn the_page_lists_torrents_and_its_assets_are_embedded() {
    let dir = temp_dir();
    let server = TestServer::start(config(dir.path()));
    let registered = server
        .upload("/api/torrents", "page<test>.img", &[8u8; 20_000])
        .json();
    let page = server.get("/");
    assert_eq!(page.status, 200);
    assert!(page
        .header("content-type")
        .unwrap()
        .starts_with("text/html"));
    let html = page.text();
    assert!(
        html.contains("page&lt;test&gt;.img"),
        "name escaped and listed"
    );
    assert!(html.contains(registered["info_hash"].as_str().unwrap()));
    assert!(
        !html.contains("src=\"http") && !html.contains("https://"),
        "nothing fetched from outside"
    );
    let script = server.get("/assets/app.js");
    assert!(script.text().contains("EventSource"));
    assert!(server.get("/assets/style.css").text().contains("#chart"));
}

#[test]
fn regression_a_torrent_detail_pages_its_peers_with_totals() {
    // Issue 15 item 9: the detail of a 100 000-peer swarm was 32 MiB of JSON.
    let dir = temp_dir();
    let server = TestServer::start(config(dir.path()));
    let hash = [0x77u8; 20];
    let count = swarm_tracker::manager::api::MAX_PEERS_PER_PAGE + 1;
    for n in 0..count {
        let (id, port) = ((n % 250) as u8, 20_000 + n as u16);
        let query = announce_query(hash, id, port, 5, "&event=started").replace(
            &pct(&peer_id(id)),
            &pct(&[
                id,
                (n / 250) as u8,
                1,
                2,
                3,
                4,
                5,
                6,
                7,
                8,
                9,
                0,
                1,
                2,
                3,
                4,
                5,
                6,
                7,
                8,
            ]),
        );
        server.bencode(&query);
    }
    let path = format!("/api/torrents/{}", hex::encode(hash));
    let first = server.json(&path);
    assert_eq!(first["peer_count"].as_u64(), Some(count as u64));
    assert_eq!(
        first["peers"].as_array().unwrap().len(),
        swarm_tracker::manager::api::DEFAULT_PEERS_PER_PAGE
    );
    let all = server.json(&format!("{path}?limit=100000"));
    assert_eq!(all["peers"].as_array().unwrap().len(), count - 1, "capped");
    let last = server.json(&format!("{path}?offset={}&limit=10", count - 1));
    assert_eq!(
        (
            last["peers_offset"].as_u64(),
            last["peers"].as_array().unwrap().len()
        ),
        (Some(count as u64 - 1), 1)
    );
    let addr = |v: &serde_json::Value| {
        v["addr"]
            .as_str()
            .unwrap()
            .parse::<std::net::SocketAddr>()
            .unwrap()
    };
    let page: Vec<_> = all["peers"].as_array().unwrap().iter().map(addr).collect();
    assert!(page.windows(2).all(|w| w[0] < w[1]), "ordered by address");
    assert!(addr(&last["peers"][0]) > *page.last().unwrap());
}
