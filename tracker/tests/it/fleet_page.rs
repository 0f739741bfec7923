//! The fleet page's live stream over HTTP: every subscriber gets the rendered fragments,
//! and one more than [`MAX_SUBSCRIBERS`] gets `503` instead of a stream.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use swarm_tracker::fleet::page::live::MAX_SUBSCRIBERS;

use crate::support::*;

/// Opens `GET /api/fleet/events` and reads until `needle` (or 10 s); what it read.
fn open_stream(server: &TestServer, needle: &str) -> (TcpStream, String) {
    let mut stream = TcpStream::connect(server.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
        .write_all(b"GET /api/fleet/events HTTP/1.0\r\nHost: t\r\n\r\n")
        .unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    while !String::from_utf8_lossy(&seen).contains(needle) {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
        }
    }
    (stream, String::from_utf8_lossy(&seen).into_owned())
}

#[test]
fn every_stream_gets_the_fragments_and_one_too_many_is_refused() {
    let dir = temp_dir();
    let server = TestServer::start(config(dir.path()));
    let report = serde_json::json!({
        "session": "s", "labels": {"role": "test"}, "listen": null,
        "free_disk_bytes": null, "link_bps": null, "releases": []
    });
    assert_eq!(
        server
            .post_json("/api/fleet/agents/h1/report", &report)
            .status,
        200
    );
    let mut open = Vec::new();
    for _ in 0..MAX_SUBSCRIBERS {
        let (stream, seen) = open_stream(&server, "data-name=\"h1\"");
        assert!(
            seen.starts_with("HTTP/1.0 200") || seen.starts_with("HTTP/1.1 200"),
            "{seen}"
        );
        for part in ["rollout", "hosts", "matrix", "history", "series"] {
            assert!(
                seen.contains(&format!("event: {part}\n")),
                "{part} missing:\n{seen}"
            );
        }
        open.push(stream);
    }
    let (_, refused) = open_stream(&server, "\r\n\r\n");
    assert!(refused.contains(" 503 "), "{refused}");
    drop(open);
    // Closed streams free their places.
    std::thread::sleep(Duration::from_millis(300));
    let again = (0..20).any(|_| {
        let (_, seen) = open_stream(&server, "event: hosts");
        std::thread::sleep(Duration::from_millis(100));
        seen.contains("event: hosts")
    });
    assert!(again, "no place freed after the streams closed");
}
