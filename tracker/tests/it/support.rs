//! Test harness: a tracker on `127.0.0.1:0` in its own thread and runtime, a tiny blocking
//! HTTP/1.1 client, and bencode helpers.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;
use std::time::Duration;

use serde_bencode::value::Value;
use std::sync::Arc;

use swarm_tracker::{SeedStarter, TrackerConfig};
use tokio::sync::oneshot;

/// The manager's seeds run by swarm-net, as `swarm tracker` injects them: the binary's own
/// adapter, compiled in here from its source (a binary crate cannot be imported by tests).
#[path = "../../../src/cli/tracker_seed.rs"]
mod tracker_seed;
pub use tracker_seed::NetSeeder;

/// A running server; dropping it shuts it down.
pub struct TestServer {
    pub addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl TestServer {
    /// Starts a server with `config` (its `listen` is replaced by `127.0.0.1:0`).
    pub fn start(mut config: TrackerConfig) -> TestServer {
        config.listen = "127.0.0.1:0".parse().unwrap();
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (shutdown_tx, shutdown_rx) = oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind(config.listen).await.unwrap();
                addr_tx.send(listener.local_addr().unwrap()).unwrap();
                let seeder: Arc<dyn SeedStarter> = Arc::new(NetSeeder);
                swarm_tracker::serve_with_seeder(listener, config, Some(seeder), async {
                    let _ = shutdown_rx.await;
                })
                .await
                .unwrap();
            });
        });
        let addr = addr_rx
            .recv_timeout(Duration::from_secs(30))
            .expect("server did not start");
        TestServer {
            addr,
            shutdown: Some(shutdown_tx),
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:port`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn get(&self, path: &str) -> Response {
        request(self.addr, "GET", path, &[], &[])
    }

    pub fn post_json(&self, path: &str, json: &serde_json::Value) -> Response {
        let body = serde_json::to_vec(json).unwrap();
        request(
            self.addr,
            "POST",
            path,
            &[("Content-Type", "application/json")],
            &body,
        )
    }

    /// A state-changing API call as the page or a fleet client makes it: JSON body and
    /// type, and [`AUTHENTICATED`] headers.
    pub fn api(&self, method: &str, path: &str, json: &serde_json::Value) -> Response {
        let body = serde_json::to_vec(json).unwrap();
        let mut headers = vec![("Content-Type", "application/json")];
        headers.extend_from_slice(AUTHENTICATED);
        request(self.addr, method, path, &headers, &body)
    }

    /// Uploads `content` as multipart field `file` named `file_name`.
    pub fn upload(&self, path: &str, file_name: &str, content: &[u8]) -> Response {
        self.upload_with(path, file_name, content, &[])
    }

    /// [`Self::upload`] from a browser holding `cookie` (`swarm_token=...`).
    pub fn upload_as(&self, path: &str, file_name: &str, content: &[u8], cookie: &str) -> Response {
        self.upload_with(path, file_name, content, &[("Cookie", cookie)])
    }

    fn upload_with(
        &self,
        path: &str,
        file_name: &str,
        content: &[u8],
        extra: &[(&str, &str)],
    ) -> Response {
        let boundary = "swarmtestboundary7MA4YWxkTrZu0gW";
        let mut body = Vec::new();
        body.extend_from_slice(format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\n\
             Content-Type: application/octet-stream\r\n\r\n"
        ).as_bytes());
        body.extend_from_slice(content);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let content_type = format!("multipart/form-data; boundary={boundary}");
        let mut headers = vec![("Content-Type", content_type.as_str())];
        headers.extend_from_slice(extra);
        request(self.addr, "POST", path, &headers, &body)
    }

    /// GETs an announce/scrape URL and decodes the bencoded body.
    pub fn bencode(&self, path_and_query: &str) -> Value {
        let response = self.get(path_and_query);
        assert_eq!(
            response.status,
            200,
            "{path_and_query}: {}",
            response.text()
        );
        serde_bencode::from_bytes(&response.body).unwrap_or_else(|e| {
            panic!("{path_and_query}: not bencode ({e}): {:?}", response.text())
        })
    }

    /// GETs JSON.
    pub fn json(&self, path: &str) -> serde_json::Value {
        let response = self.get(path);
        assert_eq!(response.status, 200, "{path}: {}", response.text());
        response.json()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Headers of an authenticated call. Empty until the fleet token lands (h/fleet): then
/// this becomes `Authorization: Bearer <the test token>` and every test that changes
/// state through [`TestServer::api`] is authenticated.
pub const AUTHENTICATED: &[(&str, &str)] = &[];

/// A plain config in a fresh data directory.
pub fn config(data_dir: &Path) -> TrackerConfig {
    let mut config = TrackerConfig::new("127.0.0.1:0".parse().unwrap(), data_dir);
    config.interval_s = 30;
    config
}

#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
}

/// One request on a fresh connection (`Connection: close`), read to the end.
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Response {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    parse_response(&raw)
}

fn parse_response(raw: &[u8]) -> Response {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("no header end");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    if chunked {
        body = dechunk(&body);
    }
    Response {
        status,
        headers,
        body,
    }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(line_end) = data.windows(2).position(|w| w == b"\r\n") {
        let size =
            usize::from_str_radix(std::str::from_utf8(&data[..line_end]).unwrap().trim(), 16)
                .unwrap();
        if size == 0 {
            break;
        }
        out.extend_from_slice(&data[line_end + 2..line_end + 2 + size]);
        data = &data[line_end + 4 + size..];
    }
    out
}

/// Percent-encodes every byte.
pub fn pct(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("%{b:02X}")).collect()
}

/// An announce query for `hash`, peer `id` (20 bytes made from `n`), `port`, `left`.
pub fn announce_query(hash: [u8; 20], n: u8, port: u16, left: u64, extra: &str) -> String {
    format!(
        "/announce?info_hash={}&peer_id={}&port={port}&uploaded=0&downloaded=0&left={left}{extra}",
        pct(&hash),
        pct(&peer_id(n)),
    )
}

pub fn peer_id(n: u8) -> [u8; 20] {
    let mut id = *b"-TS0001-000000000000";
    id[19] = n;
    id
}

pub fn dict(value: &Value) -> &HashMap<Vec<u8>, Value> {
    match value {
        Value::Dict(d) => d,
        other => panic!("not a dict: {other:?}"),
    }
}

pub fn get<'a>(value: &'a Value, key: &str) -> &'a Value {
    dict(value)
        .get(key.as_bytes())
        .unwrap_or_else(|| panic!("no {key:?} in {value:?}"))
}

pub fn int(value: &Value, key: &str) -> i64 {
    match get(value, key) {
        Value::Int(i) => *i,
        other => panic!("{key} not an int: {other:?}"),
    }
}

pub fn bytes<'a>(value: &'a Value, key: &str) -> &'a [u8] {
    match get(value, key) {
        Value::Bytes(b) => b,
        other => panic!("{key} not bytes: {other:?}"),
    }
}

/// The `failure reason` of a response, if any.
pub fn failure(value: &Value) -> Option<String> {
    dict(value)
        .get(&b"failure reason".to_vec())
        .map(|v| match v {
            Value::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
            other => panic!("failure reason not bytes: {other:?}"),
        })
}

/// Decodes BEP 23 compact IPv4 peers.
pub fn compact_peers(value: &Value) -> Vec<SocketAddr> {
    let raw = bytes(value, "peers");
    assert_eq!(raw.len() % 6, 0, "compact peers not a multiple of 6");
    raw.chunks(6)
        .map(|c| SocketAddr::from(([c[0], c[1], c[2], c[3]], u16::from_be_bytes([c[4], c[5]]))))
        .collect()
}

/// A temporary directory kept for the test's life.
pub fn temp_dir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

/// Writes a file of `len` pseudo-random bytes.
pub fn write_file(path: &PathBuf, len: usize, seed: u8) {
    let data: Vec<u8> = (0..len)
        .map(|i| (i as u32).wrapping_mul(2654435761).to_le_bytes()[i % 4] ^ seed)
        .collect();
    std::fs::write(path, data).unwrap();
}
