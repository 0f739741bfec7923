//! Connection cap and timeouts of the HTTP server (issue 15 item 5: 300 partial HTTP
//! requests made the tracker stop answering), over real sockets on 127.0.0.1.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use swarm_service::http_server::ConnectionLimits;

use crate::support::*;

/// Opens a connection and sends a request head without its final blank line.
fn partial_request(server: &TestServer) -> TcpStream {
    let mut stream = TcpStream::connect(server.addr).unwrap();
    stream
        .write_all(b"GET /announce?info_hash=x HTTP/1.1\r\nHost: t\r\n")
        .unwrap();
    stream
}

/// Whether the server closed `stream` (EOF or reset) within `within`.
fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    stream.set_read_timeout(Some(within)).unwrap();
    let mut byte = [0u8; 512];
    loop {
        match stream.read(&mut byte) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return true,
            Err(_) => return false,
        }
    }
}

fn announce_ok(server: &TestServer, n: u8) -> Duration {
    let started = Instant::now();
    let answer = server.bencode(&announce_query([0x51; 20], n, 10000 + u16::from(n), 0, ""));
    assert!(failure(&answer).is_none(), "{answer:?}");
    started.elapsed()
}

#[test]
fn regression_slowloris_300_partial_requests_then_an_announce_answers_promptly() {
    let dir = temp_dir();
    let server = TestServer::start(config(dir.path()));
    let held: Vec<TcpStream> = (0..300).map(|_| partial_request(&server)).collect();
    let took = announce_ok(&server, 1);
    assert!(took < Duration::from_secs(2), "announce took {took:?}");
    drop(held);
}

#[test]
fn crossing_the_connection_cap_closes_the_extra_connection_and_timeouts_free_slots() {
    let dir = temp_dir();
    let mut config = config(dir.path());
    config.connections = ConnectionLimits {
        max_connections: 8,
        header_read_timeout: Duration::from_millis(400),
        idle_timeout: Duration::from_secs(30),
    };
    let server = TestServer::start(config);
    let mut held: Vec<TcpStream> = (0..8).map(|_| partial_request(&server)).collect();
    std::thread::sleep(Duration::from_millis(100));
    let mut extra = partial_request(&server);
    assert!(
        closed_within(&mut extra, Duration::from_millis(300)),
        "9th kept"
    );
    // The header-read timeout closes the partial requests and frees their slots.
    for stream in &mut held {
        assert!(
            closed_within(stream, Duration::from_secs(3)),
            "partial kept"
        );
    }
    announce_ok(&server, 2);
}

#[test]
fn a_stalled_body_is_closed_after_the_idle_timeout() {
    let dir = temp_dir();
    let mut config = config(dir.path());
    config.connections.idle_timeout = Duration::from_millis(300);
    let server = TestServer::start(config);
    let mut stream = TcpStream::connect(server.addr).unwrap();
    stream
        .write_all(b"POST /api/torrents HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"pa")
        .unwrap();
    let started = Instant::now();
    assert!(closed_within(&mut stream, Duration::from_secs(5)));
    assert!(
        started.elapsed() >= Duration::from_millis(250),
        "{:?}",
        started.elapsed()
    );
}
