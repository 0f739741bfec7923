//! Registered paths against a racing symlink swap (issue 15 item 7: the check
//! canonicalized the path, then hashing re-opened it; 27 of 400 racing registrations
//! hashed a file outside the allowed directory, and the seed would serve it).

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use crate::support::*;

fn server_allowing(dir: &Path) -> TestServer {
    let mut cfg = config(&dir.join("data"));
    cfg.allowed_dir = Some(dir.join("allowed"));
    TestServer::start(cfg)
}

/// Points `link` at `target` atomically (a new link renamed over the old one).
fn repoint(link: &Path, target: &Path, scratch: &Path) {
    let _ = std::fs::remove_file(scratch);
    std::os::unix::fs::symlink(target, scratch).unwrap();
    std::fs::rename(scratch, link).unwrap();
}

#[test]
fn regression_a_racing_symlink_swap_never_gets_an_outside_file_hashed() {
    let dir = temp_dir();
    let (allowed, outside) = (dir.path().join("allowed"), dir.path().join("outside"));
    std::fs::create_dir_all(&allowed).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(allowed.join("inside.img"), vec![1u8; 40_000]).unwrap();
    std::fs::write(outside.join("secret.img"), vec![2u8; 40_000]).unwrap();
    let server = server_allowing(dir.path());
    let good = server.post_json("/api/torrents", &serde_json::json!({"path": "inside.img"}));
    assert_eq!(good.status, 201, "{}", good.text());
    let good_hash = good.json()["info_hash"].clone();

    let link = allowed.join("racy.img");
    repoint(
        &link,
        &allowed.join("inside.img"),
        &allowed.join(".scratch"),
    );
    let stop = Arc::new(AtomicBool::new(false));
    let flips = Arc::new(AtomicU64::new(0));
    let swapper = {
        let (stop, flips) = (Arc::clone(&stop), Arc::clone(&flips));
        let (link, allowed) = (link.clone(), allowed.clone());
        let targets = [allowed.join("inside.img"), outside.join("secret.img")];
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let flip = flips.fetch_add(1, Ordering::Relaxed);
                repoint(
                    &link,
                    &targets[(flip % 2) as usize],
                    &allowed.join(".scratch"),
                );
            }
        })
    };
    // At least 400 registrations, and on until the swapper has flipped the link more often
    // than we registered: on a loaded machine its thread may be starved for a while.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let (mut accepted, mut refused) = (0u64, 0u64);
    while accepted + refused < 400 || flips.load(Ordering::Relaxed) <= accepted + refused {
        assert!(
            std::time::Instant::now() < deadline,
            "the swap did not race ({} flips in {} registrations)",
            flips.load(Ordering::Relaxed),
            accepted + refused
        );
        let answer = server.post_json("/api/torrents", &serde_json::json!({"path": "racy.img"}));
        match answer.status {
            200 | 201 => {
                let body = answer.json();
                assert_eq!(
                    body["info_hash"], good_hash,
                    "hashed something else: {body}"
                );
                assert!(body["path"]
                    .as_str()
                    .unwrap()
                    .starts_with(allowed.canonicalize().unwrap().to_str().unwrap()));
                accepted += 1;
            }
            403 | 404 => refused += 1,
            other => panic!("unexpected {other}: {}", answer.text()),
        }
    }
    stop.store(true, Ordering::Relaxed);
    swapper.join().unwrap();
    let flips = flips.load(Ordering::Relaxed);
    eprintln!(
        "racing registrations: {accepted} accepted (inside file), {refused} refused, {flips} flips"
    );
    let listed = server.json("/api/torrents");
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
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
