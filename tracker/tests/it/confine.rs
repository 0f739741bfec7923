//! Registered paths against a racing symlink swap (issue 15 item 7: the check
//! canonicalized the path, then hashing re-opened it; 27 of 400 racing registrations
//! hashed a file outside the allowed directory, and the seed would serve it). That such a
//! file is never seeded needs a seeder: the root crate's `tests/cli/confine.rs`.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use crate::support::*;

fn server_allowing(dir: &Path) -> TestServer {
    TestServer::start(allowing(dir, "allowed"))
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
