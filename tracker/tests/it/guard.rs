//! The browser guard and body limits on the manager API (issue 15 item 6): another
//! origin's page cannot change state, state changes need a JSON body type, and bodies are
//! bounded.

use swarm_tracker::manager::registry::Registry;

use crate::support::*;

fn uploaded(server: &TestServer) -> String {
    let registered = server.upload("/api/torrents", "g.img", &[7u8; 50_000]);
    assert_eq!(registered.status, 201, "{}", registered.text());
    registered.json()["info_hash"].as_str().unwrap().to_string()
}

#[test]
fn regression_cross_site_text_plain_seed_is_refused_and_no_wish_is_kept() {
    let dir = temp_dir();
    let server = TestServer::start(config(dir.path()));
    let hash = uploaded(&server);
    let path = format!("/api/torrents/{hash}/seed");
    let evil = [
        ("Origin", "http://evil.example"),
        ("Content-Type", "text/plain"),
    ];
    let posted = request(server.addr, "POST", &path, &evil, b"{}");
    assert_eq!(posted.status, 403, "{}", posted.text());
    let evil_json = [
        ("Origin", "http://evil.example"),
        ("Content-Type", "application/json"),
    ];
    assert_eq!(
        request(server.addr, "POST", &path, &evil_json, b"{}").status,
        403
    );
    assert_eq!(
        request(server.addr, "DELETE", &path, &evil_json, b"").status,
        403
    );
    let plain = request(
        server.addr,
        "POST",
        &path,
        &[("Content-Type", "text/plain")],
        b"{}",
    );
    assert_eq!(plain.status, 415, "{}", plain.text());
    let detail = server.json(&format!("/api/torrents/{hash}"));
    assert_eq!(detail["seeding"]["state"], "stopped");
    drop(server);
    let registry = Registry::open(dir.path()).unwrap();
    assert!(registry.seeds_on_start().unwrap().is_empty());
}

#[test]
fn the_page_own_origin_may_change_state() {
    let dir = temp_dir();
    let server = TestServer::start(config(dir.path()));
    let hash = uploaded(&server);
    let origin = server.url();
    let headers = [
        ("Origin", origin.as_str()),
        ("Content-Type", "application/json"),
    ];
    let path = format!("/api/torrents/{hash}/seed");
    let stopped = request(server.addr, "DELETE", &path, &headers, b"");
    assert_eq!(stopped.status, 200, "{}", stopped.text());
}

#[test]
fn crossing_the_body_limits_is_refused() {
    let dir = temp_dir();
    let mut config = config(dir.path());
    config.max_upload_bytes = 100_000;
    let server = TestServer::start(config);
    let big = server.upload("/api/torrents", "big.img", &[1u8; 100_001]);
    assert_eq!(big.status, 413, "{}", big.text());
    assert_eq!(server.json("/api/torrents").as_array().unwrap().len(), 0);
    // Under the limit (with multipart framing) it registers.
    uploaded(&server);
    let filler = "x".repeat(swarm_tracker::MAX_BODY_BYTES);
    let json = serde_json::json!({ "path": filler });
    assert_eq!(server.post_json("/api/torrents", &json).status, 400);
    let seed = server.api("POST", "/api/torrents/00/seed", &json);
    assert_eq!(seed.status, 413, "{}", seed.text());
}

#[test]
fn regression_listings_show_no_content_path_without_the_fleet_token() {
    // Issue 15 item 8: GET /api/torrents listed every absolute path to anyone.
    let dir = temp_dir();
    let server = TestServer::start(config(dir.path()));
    let hash = uploaded(&server);
    let list = server.json("/api/torrents");
    assert_eq!(list[0]["info_hash"], hash.as_str());
    assert!(list[0]["path"].is_null(), "{list}");
    let detail = server.json(&format!("/api/torrents/{hash}"));
    assert!(detail["path"].is_null(), "{detail}");
}
