//! The seeding endpoints refuse what they cannot act on: unknown or malformed hashes, a
//! bad body. No seed runs here (the tracker's tests inject no seeder); seeding proper, with
//! the binary's seeder and a swarm-net download, is tested in the root crate
//! (`tests/cli/seeding.rs`).

use std::path::Path;

use crate::support::*;

/// A server allowed to register paths under `dir/images`.
fn server_with_images(dir: &Path) -> TestServer {
    TestServer::start(allowing(dir, "images"))
}

#[test]
fn seeding_unknown_or_malformed_hashes_is_refused() {
    let dir = temp_dir();
    let server = server_with_images(dir.path());
    let unknown = "00".repeat(20);
    let posted = server.api(
        "POST",
        &format!("/api/torrents/{unknown}/seed"),
        &serde_json::json!({}),
    );
    assert_eq!(posted.status, 404, "{}", posted.text());
    assert_eq!(stop_seed(&server, &unknown).status, 404);
    let malformed = server.api("POST", "/api/torrents/xyz/seed", &serde_json::json!({}));
    assert_eq!(malformed.status, 400);
    write_file(&dir.path().join("images/a.bin"), 100_000, 1);
    let hash = register(&server, "a.bin");
    let bad_body = server.post_json(
        &format!("/api/torrents/{hash}/seed"),
        &serde_json::json!({"port": "many"}),
    );
    assert_eq!(bad_body.status, 400, "{}", bad_body.text());
}
