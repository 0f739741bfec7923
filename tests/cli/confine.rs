//! A registered file swapped for a link to an identical file outside the allowed
//! directory is never seeded (issue 15 item 7): the seed checks the files the manager
//! opened, confined. The tracker runs in-process with the binary's seeder (`tracker_rig`).

use std::path::Path;

use super::tracker_rig::*;

fn server_allowing(dir: &Path) -> TestServer {
    seeded(allowing(dir, "allowed"))
}

#[test]
fn a_registered_file_swapped_for_a_link_is_never_seeded() {
    let dir = temp_dir();
    let allowed = dir.path().join("allowed");
    std::fs::create_dir_all(&allowed).unwrap();
    std::fs::write(allowed.join("a.img"), vec![3u8; 40_000]).unwrap();
    std::fs::write(dir.path().join("secret.img"), vec![3u8; 40_000]).unwrap();
    let server = server_allowing(dir.path());
    let registered = server.post_json("/api/torrents", &serde_json::json!({"path": "a.img"}));
    let hash = registered.json()["info_hash"].as_str().unwrap().to_string();
    // Same bytes outside: only the confinement check can tell them apart.
    repoint(
        &allowed.join("a.img"),
        &dir.path().join("secret.img"),
        &allowed.join(".s"),
    );
    let started = server.api(
        "POST",
        &format!("/api/torrents/{hash}/seed"),
        &serde_json::json!({}),
    );
    assert_eq!(started.status, 202, "{}", started.text());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let seeding = loop {
        let view = server.json(&format!("/api/torrents/{hash}"))["seeding"].clone();
        if view["state"] != "checking" {
            break view;
        }
        assert!(std::time::Instant::now() < deadline, "{view}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert_eq!(seeding["state"], "failed", "{seeding}");
    assert!(
        seeding["error"].as_str().unwrap().contains("outside"),
        "{seeding}"
    );
}
