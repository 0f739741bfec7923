//! The announce client against servers on 127.0.0.1:0 that answer with canned bytes: body
//! forms, the size limit, the deadline, refusals, and https speaking TLS.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use swarm_engine::node::addr::PeerAddr;
use swarm_engine::node::io::{AnnounceEvent, AnnounceRequest};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::*;

#[test]
fn encodes_binary_and_parses_both_peer_forms() {
    assert_eq!(percent_encode(&[0x12, b'a', 0xff, b'~']), "%12a%FF~");
    let compact = b"d8:intervali60e5:peers6:\x7f\x00\x00\x01\x1a\xe1e";
    let r = parse_response(compact).unwrap();
    assert_eq!(r.peers, vec![PeerAddr::v4([127, 0, 0, 1], 6881)]);
    assert_eq!(r.interval, Duration::from_secs(60));
    let dicts =
        b"d8:intervali5e5:peersld2:ip8:10.0.0.27:peer id20:aaaaaaaaaaaaaaaaaaaa4:porti80eeee";
    let r = parse_response(dicts).unwrap();
    assert_eq!(r.peers, vec![PeerAddr::v4([10, 0, 0, 2], 80)]);
    let failure = b"d14:failure reason7:unknowne";
    assert!(matches!(parse_response(failure), Err(AnnounceError::Failure(r)) if r == "unknown"));
}

/// A server that reads one request head, answers `reply` (if any) and closes; the first
/// bytes it read come back through the handle.
async fn serve_once(reply: Option<Vec<u8>>) -> (String, tokio::task::JoinHandle<Vec<u8>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut head = Vec::new();
        let mut buf = [0u8; 4096];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = socket.read(&mut buf).await.unwrap_or(0);
            if n == 0 {
                break;
            }
            head.extend_from_slice(&buf[..n]);
            if reply.is_none() && head.len() >= 5 {
                // A TLS client waits for our hello: keep what came and hold the line open.
                tokio::time::sleep(Duration::from_secs(1)).await;
                break;
            }
        }
        if let Some(reply) = reply {
            let _ = socket.write_all(&reply).await;
        }
        head
    });
    (format!("{addr}"), task)
}

fn params(url: String, timeout: Duration) -> AnnounceParams {
    AnnounceParams {
        url,
        info_hash: [0xab; 20],
        peer_id: *b"-SW0001-abcdefghijkl",
        port: 6881,
        timeout,
    }
}

fn request() -> AnnounceRequest {
    AnnounceRequest {
        event: AnnounceEvent::Started,
        uploaded_bytes: 1,
        downloaded_bytes: 2,
        left_bytes: 3,
        numwant: 50,
    }
}

async fn announce_to(reply: &[u8]) -> (Result<AnnounceResponse, AnnounceError>, String) {
    let (addr, server) = serve_once(Some(reply.to_vec())).await;
    let p = params(format!("http://{addr}/announce"), Duration::from_secs(10));
    let result = announce(&p, &request()).await;
    let head = String::from_utf8_lossy(&server.await.unwrap()).into_owned();
    (result, head)
}

#[tokio::test]
async fn a_length_delimited_answer_is_parsed_and_the_query_is_sent() {
    let body = b"d8:intervali60e5:peers6:\x7f\x00\x00\x01\x1a\xe1e";
    let mut reply =
        format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len()).into_bytes();
    reply.extend_from_slice(body);
    let (result, head) = announce_to(&reply).await;
    assert_eq!(
        result.unwrap().peers,
        vec![PeerAddr::v4([127, 0, 0, 1], 6881)]
    );
    assert!(head.starts_with("GET /announce?info_hash=%AB%AB"), "{head}");
    assert!(head.contains("&event=started"), "{head}");
    assert!(
        head.to_ascii_lowercase().contains("user-agent: swarm/"),
        "{head}"
    );
}

#[tokio::test]
async fn a_chunked_answer_is_parsed() {
    let reply = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
        7\r\nd8:inte\r\n8\r\nrvali9ee\r\n0\r\n\r\n";
    let (result, _) = announce_to(reply).await;
    assert_eq!(result.unwrap().interval, Duration::from_secs(9));
}

#[tokio::test]
async fn a_refusal_with_an_error_status_gives_its_reason() {
    let body = b"d14:failure reason2:noe";
    let mut reply = format!(
        "HTTP/1.1 403 Forbidden\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    reply.extend_from_slice(body);
    let (result, _) = announce_to(&reply).await;
    assert!(matches!(result, Err(AnnounceError::Failure(r)) if r == "no"));
    let (result, _) = announce_to(b"HTTP/1.1 500 Oops\r\nContent-Length: 2\r\n\r\nhi").await;
    assert!(matches!(result, Err(AnnounceError::BadResponse(m)) if m.contains("500")));
}

#[tokio::test]
async fn an_answer_longer_than_the_limit_is_refused() {
    let len = MAX_RESPONSE_BYTES + 1;
    let mut reply = format!("HTTP/1.1 200 OK\r\nContent-Length: {len}\r\n\r\n").into_bytes();
    reply.resize(reply.len() + len, b'x');
    let (result, _) = announce_to(&reply).await;
    assert!(
        matches!(result, Err(AnnounceError::TooLarge { max_bytes }) if max_bytes == MAX_RESPONSE_BYTES),
        "{result:?}"
    );
}

#[tokio::test]
async fn a_silent_tracker_times_out() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hold = tokio::spawn(async move {
        let (socket, _) = listener.accept().await.unwrap();
        tokio::time::sleep(Duration::from_secs(5)).await;
        drop(socket);
    });
    let timeout = Duration::from_millis(300);
    let result = announce(
        &params(format!("http://{addr}/announce"), timeout),
        &request(),
    )
    .await;
    assert!(
        matches!(result, Err(AnnounceError::Timeout(t)) if t == timeout),
        "{result:?}"
    );
    hold.abort();
}

#[tokio::test]
async fn https_speaks_tls_and_other_schemes_are_refused() {
    let (addr, server) = serve_once(None).await;
    let p = params(
        format!("https://{addr}/announce"),
        Duration::from_millis(500),
    );
    let result = announce(&p, &request()).await;
    assert!(result.is_err());
    let first = server.await.unwrap();
    // A TLS record of type handshake (0x16), version 3.x: a ClientHello, not plain HTTP.
    assert_eq!(&first[..2], &[0x16, 0x03], "{first:?}");
    let p = params("udp://127.0.0.1:1/announce".into(), Duration::from_secs(1));
    assert!(matches!(
        announce(&p, &request()).await,
        Err(AnnounceError::BadUrl(_))
    ));
}
