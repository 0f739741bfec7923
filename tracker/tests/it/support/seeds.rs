//! The manager calls the seeding tests make, here and in the root crate
//! (`tests/cli/tracker_rig.rs` compiles this file): register a path, stop a seed.

use super::http::Response;
use super::server::TestServer;

/// Registers `path` (under the allowed directory); returns its info-hash.
pub fn register(server: &TestServer, path: &str) -> String {
    let response = server.post_json("/api/torrents", &serde_json::json!({ "path": path }));
    assert_eq!(response.status, 201, "{}", response.text());
    response.json()["info_hash"].as_str().unwrap().to_string()
}

/// `DELETE /api/torrents/{hash}/seed`.
pub fn stop_seed(server: &TestServer, hash: &str) -> Response {
    server.api(
        "DELETE",
        &format!("/api/torrents/{hash}/seed"),
        &serde_json::json!({}),
    )
}
