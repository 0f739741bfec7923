//! Load generator for the HTTP tracker, and memory per tracked peer.
//!
//! ```text
//! cargo bench -p swarm-tracker --bench announce_load -- [--seconds 5] [--connections 4]
//!     [--peers 10000] [--swarms 10]
//! ```
//!
//! 1. Memory: RSS before and after 100 000 peers are announced into a bare
//!    [`TrackerCore`], in a fresh child process per layout (one swarm of 100 000 peers;
//!    1 000 swarms of 100), so freed memory from one layout cannot hide another's.
//! 2. Throughput: the tracker runs in a child process (this binary re-executed), swarms are
//!    filled with `--peers` peers, then `--connections` client threads announce as fast as
//!    they can over HTTP/1.1 keep-alive for `--seconds` (regular announces by random known
//!    peers, compact, default numwant 50). If `opentracker` is installed, the same load
//!    runs against it on another loopback port, and the ratio is printed. Client and
//!    server share the machine's cores in both runs.

#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use swarm_engine::metainfo::InfoHash;
use swarm_tracker::core::{
    AnnounceEvent, AnnounceRequest, CoreConfig, Counters, PeerId, TrackerCore,
};

const SERVE_ENV: &str = "SWARM_BENCH_SERVE";
const MEMORY_ENV: &str = "SWARM_BENCH_MEMORY";
const MEMORY_PEERS: u32 = 100_000;

#[derive(Debug, Clone, Copy)]
struct Options {
    seconds: u64,
    connections: usize,
    peers: u32,
    swarms: u32,
}

fn main() {
    if let Ok(data_dir) = std::env::var(SERVE_ENV) {
        return serve(&data_dir);
    }
    if let Ok(swarms) = std::env::var(MEMORY_ENV) {
        return memory_child(swarms.parse().expect("swarm count"));
    }
    let options = parse_args();
    println!("== memory per tracked peer ({MEMORY_PEERS} peers, RSS delta, core only)");
    for swarms in [1u32, 1000] {
        let output = Command::new(std::env::current_exe().unwrap())
            .env(MEMORY_ENV, swarms.to_string())
            .output()
            .expect("memory child");
        print!("{}", String::from_utf8_lossy(&output.stdout));
    }

    println!(
        "== announces/s over HTTP keep-alive: {} connections, {} s, {} peers in {} swarms",
        options.connections, options.seconds, options.peers, options.swarms
    );
    let data_dir = tempfile::tempdir().unwrap();
    let mut ours = Command::new(std::env::current_exe().unwrap())
        .env(SERVE_ENV, data_dir.path())
        .stdout(Stdio::piped())
        .spawn()
        .expect("tracker child");
    let mut line = String::new();
    BufReader::new(ours.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let ours_addr: SocketAddr = line.trim().parse().expect("tracker address");
    let ours_keep_alive = load("swarm-tracker", ours_addr, options, true);
    let ours_per_connection = load("swarm-tracker", ours_addr, options, false);
    stop(&mut ours);

    match opentracker(options) {
        Some((mut child, addr, _dir)) => {
            // opentracker closes the connection after every answer, keep-alive or not.
            let theirs = load("opentracker", addr, options, false);
            stop(&mut child);
            if let Some(theirs) = theirs {
                for (mode, ours) in [
                    ("keep-alive", ours_keep_alive),
                    ("connection per announce", ours_per_connection),
                ] {
                    if let Some(ours) = ours {
                        println!(
                            "ratio swarm-tracker ({mode}) / opentracker: {:.2}",
                            ours / theirs
                        );
                    }
                }
            }
        }
        None => println!("opentracker not installed: no comparison"),
    }
}

fn parse_args() -> Options {
    let mut options = Options {
        seconds: 5,
        connections: 4,
        peers: 10_000,
        swarms: 10,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        let value = || args.get(i + 1).and_then(|v| v.parse::<u64>().ok());
        match args[i].as_str() {
            "--seconds" => options.seconds = value().expect("--seconds N"),
            "--connections" => options.connections = value().expect("--connections N") as usize,
            "--peers" => options.peers = value().expect("--peers N") as u32,
            "--swarms" => options.swarms = value().expect("--swarms N") as u32,
            _ => {
                i += 1; // cargo bench passes `--bench`
                continue;
            }
        }
        i += 2;
    }
    options
}

fn stop(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// Child: the tracker on 127.0.0.1:0, its address on stdout.
fn serve(data_dir: &str) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        println!("{}", listener.local_addr().unwrap());
        let mut config =
            swarm_tracker::TrackerConfig::new(listener.local_addr().unwrap(), data_dir);
        config.interval_s = 1800;
        swarm_tracker::serve(listener, config).await.unwrap();
    });
}

/// Child: RSS delta for 100 000 peers spread over `swarms` swarms.
fn memory_child(swarms: u32) {
    let mut config = CoreConfig::with_interval(1800);
    config.max_peers_per_swarm = usize::MAX;
    let mut core = TrackerCore::new(config);
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let before = rss_bytes();
    for n in 0..MEMORY_PEERS {
        let request = AnnounceRequest {
            info_hash: hash(n % swarms),
            peer_id: peer_id(n),
            addr: SocketAddr::from(([10, (n >> 16) as u8, (n >> 8) as u8, n as u8], 6881)),
            counters: Counters {
                left_bytes: u64::from(n % 10),
                ..Counters::default()
            },
            event: AnnounceEvent::Started,
            numwant: Some(0),
        };
        core.announce(0, &request, &mut rng).unwrap();
    }
    let after = rss_bytes();
    assert_eq!(core.counts().peers, MEMORY_PEERS as usize);
    let per_peer = (after - before) as f64 / f64::from(MEMORY_PEERS);
    println!(
        "{swarms:>5} swarm(s): RSS +{:.1} MiB, {per_peer:.0} bytes/peer (size_of Peer = {} bytes)",
        (after - before) as f64 / (1024.0 * 1024.0),
        std::mem::size_of::<swarm_tracker::core::Peer>()
    );
}

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

fn hash(n: u32) -> InfoHash {
    let mut bytes = [0x5au8; 20];
    bytes[..4].copy_from_slice(&n.to_be_bytes());
    InfoHash(bytes)
}

fn peer_id(n: u32) -> PeerId {
    let mut id = *b"-BENCH0-000000000000";
    id[16..].copy_from_slice(&n.to_be_bytes());
    PeerId(id)
}

fn pct(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("%{b:02X}")).collect()
}

fn announce_path(n: u32, options: Options, uploaded: u64, event: &str) -> String {
    let swarm = n % options.swarms;
    let left = if n.is_multiple_of(10) { 0 } else { 1_000_000 };
    format!(
        "/announce?info_hash={}&peer_id={}&port={}&uploaded={uploaded}&downloaded=0&left={left}&compact=1{event}",
        pct(&hash(swarm).0),
        pct(&peer_id(n).0),
        1024 + (n % 60_000),
    )
}

/// An HTTP/1.1 client: keep-alive (reconnecting when the server closes anyway), or a new
/// connection per request with `Connection: close`.
struct Client {
    addr: SocketAddr,
    keep_alive: bool,
    stream: Option<BufReader<TcpStream>>,
    reconnects: u64,
}

impl Client {
    fn new(addr: SocketAddr, keep_alive: bool) -> Self {
        Client {
            addr,
            keep_alive,
            stream: None,
            reconnects: 0,
        }
    }

    /// Sends one GET and returns the body, retrying once on a connection the server had
    /// closed while idle.
    fn get(&mut self, path: &str) -> Vec<u8> {
        match self.try_get(path) {
            Some(body) => body,
            None => {
                self.stream = None;
                self.try_get(path)
                    .expect("server closed a fresh connection")
            }
        }
    }

    fn try_get(&mut self, path: &str) -> Option<Vec<u8>> {
        if self.stream.is_none() {
            let stream = TcpStream::connect(self.addr).expect("connect");
            stream.set_nodelay(true).unwrap();
            self.stream = Some(BufReader::new(stream));
            self.reconnects += 1;
        }
        let reader = self.stream.as_mut().unwrap();
        let connection = if self.keep_alive {
            ""
        } else {
            "Connection: close\r\n"
        };
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {}\r\n{connection}\r\n",
            self.addr
        );
        reader.get_mut().write_all(request.as_bytes()).ok()?;
        let mut length = None;
        let mut close = !self.keep_alive;
        let mut line = String::new();
        let mut first = true;
        loop {
            line.clear();
            let read = reader.read_line(&mut line).unwrap_or(0);
            if first && read == 0 {
                return None;
            }
            first = false;
            let trimmed = line.trim_end();
            if trimmed.is_empty() {
                break;
            }
            let lower = trimmed.to_ascii_lowercase();
            if let Some(v) = lower.strip_prefix("content-length:") {
                length = v.trim().parse::<usize>().ok();
            }
            if lower.starts_with("connection:") && lower.contains("close")
                || lower.starts_with("http/1.0")
            {
                close = true;
            }
        }
        let mut body = Vec::new();
        match length {
            Some(n) => {
                body.resize(n, 0);
                reader.read_exact(&mut body).expect("read body");
            }
            None => {
                reader.read_to_end(&mut body).expect("read body");
                close = true;
            }
        }
        if close {
            self.stream = None;
        }
        Some(body)
    }
}

/// Fills the swarms, then measures. Returns announces per second.
fn load(name: &str, addr: SocketAddr, options: Options, keep_alive: bool) -> Option<f64> {
    // Fill: every peer announces `started` once.
    let fill_start = Instant::now();
    let threads: Vec<_> = (0..options.connections)
        .map(|t| {
            std::thread::spawn(move || {
                let mut client = Client::new(addr, keep_alive);
                let mut n = t as u32;
                while n < options.peers {
                    let body = client.get(&announce_path(n, options, 0, "&event=started"));
                    assert!(
                        body.starts_with(b"d"),
                        "bad answer: {}",
                        String::from_utf8_lossy(&body)
                    );
                    n += options.connections as u32;
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    let fill_s = fill_start.elapsed().as_secs_f64();

    let mut check = Client::new(addr, keep_alive);
    let sample = check.get(&announce_path(1, options, 1, ""));
    if sample.starts_with(b"d14:failure reason") {
        println!("{name}: refused: {}", String::from_utf8_lossy(&sample));
        return None;
    }
    let peers_in_sample = sample.windows(7).position(|w| w == b"5:peers").map(|at| {
        let rest = &sample[at + 7..];
        let colon = rest.iter().position(|&b| b == b':').unwrap();
        std::str::from_utf8(&rest[..colon])
            .unwrap()
            .parse::<usize>()
            .unwrap()
            / 6
    });

    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let reconnects = Arc::new(AtomicU64::new(0));
    let threads: Vec<_> = (0..options.connections)
        .map(|t| {
            let (stop, done, reconnects) = (
                Arc::clone(&stop),
                Arc::clone(&done),
                Arc::clone(&reconnects),
            );
            std::thread::spawn(move || {
                let mut rng = ChaCha8Rng::seed_from_u64(t as u64);
                let mut client = Client::new(addr, keep_alive);
                let mut count = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let n = rng.gen_range(0..options.peers);
                    let body = client.get(&announce_path(n, options, count * 16_384, ""));
                    debug_assert!(body.starts_with(b"d"));
                    count += 1;
                }
                done.fetch_add(count, Ordering::Relaxed);
                reconnects.fetch_add(client.reconnects, Ordering::Relaxed);
            })
        })
        .collect();
    let start = Instant::now();
    std::thread::sleep(Duration::from_secs(options.seconds));
    stop.store(true, Ordering::Relaxed);
    for thread in threads {
        thread.join().unwrap();
    }
    let elapsed = start.elapsed().as_secs_f64();
    let total = done.load(Ordering::Relaxed);
    let rate = total as f64 / elapsed;
    let mode = if keep_alive {
        "keep-alive"
    } else {
        "connection per announce"
    };
    println!(
        "{name:>14} ({mode}): {rate:>8.0} announces/s ({total} in {elapsed:.1} s; fill {:.0}/s; \
         {} connections opened; {} peers per answer)",
        f64::from(options.peers) / fill_s,
        reconnects.load(Ordering::Relaxed),
        peers_in_sample.map_or("?".into(), |p| p.to_string()),
    );
    Some(rate)
}

/// Starts opentracker on a free loopback port, if installed. Debian's build only tracks
/// whitelisted info-hashes, so the bench's swarms go in a whitelist; it chroots into the
/// temporary directory, hence the whitelist's path `/whitelist`.
fn opentracker(options: Options) -> Option<(Child, SocketAddr, tempfile::TempDir)> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .ok()?
        .local_addr()
        .ok()?
        .port();
    let dir = tempfile::tempdir().ok()?;
    let whitelist: String = (0..options.swarms)
        .map(|s| format!("{}\n", hash(s)))
        .collect();
    std::fs::write(dir.path().join("whitelist"), whitelist).ok()?;
    let child = Command::new("opentracker")
        .args([
            "-i",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-P",
            &port.to_string(),
        ])
        .args(["-w", "/whitelist", "-d"])
        .arg(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    for _ in 0..100 {
        if TcpStream::connect(addr).is_ok() {
            return Some((child, addr, dir));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}
