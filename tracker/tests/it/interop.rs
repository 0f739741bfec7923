//! Interoperability with real clients: a libtorrent seed (Python bindings) and an aria2c
//! leecher announce to our tracker, appear in the API, and aria2 downloads the file from
//! libtorrent through the peer list we hand out. Skipped, with a message, when either tool
//! is missing.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support::*;

const PYTHON: &str = "/usr/bin/python3";

const LIBTORRENT_SEED: &str = r#"
import sys, time
import libtorrent as lt
torrent, save_path, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
cat = lt.alert.category_t
session = lt.session({
    'listen_interfaces': '127.0.0.1:%d' % port,
    'enable_outgoing_utp': False, 'enable_incoming_utp': False,
    'enable_dht': False, 'enable_lsd': False, 'enable_upnp': False, 'enable_natpmp': False,
    'alert_mask': cat.tracker_notification | cat.error_notification | cat.status_notification,
})
handle = session.add_torrent({'ti': lt.torrent_info(torrent), 'save_path': save_path})
deadline = time.time() + 120
while time.time() < deadline:
    for alert in session.pop_alerts():
        kind = type(alert).__name__
        if kind.startswith('tracker'):
            print('ALERT', kind, alert.message(), flush=True)
    status = handle.status()
    print('STATUS seeding=%s peers=%d upload=%d' % (status.is_seeding, status.num_peers, status.all_time_upload), flush=True)
    time.sleep(0.5)
"#;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn have_tools() -> bool {
    swarm_testsupport::tools::aria2c().is_some() && swarm_testsupport::tools::libtorrent().is_some()
}

/// Kills a child we started when the test ends, however it ends.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Collects a child's stdout lines in the background.
fn capture(child: &mut Child) -> Arc<Mutex<Vec<String>>> {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let stdout = child.stdout.take().unwrap();
    let sink = Arc::clone(&lines);
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            sink.lock().unwrap().push(line);
        }
    });
    lines
}

fn wait_for(what: &str, timeout: Duration, mut check: impl FnMut() -> bool) {
    let start = Instant::now();
    while !check() {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(250));
    }
}

fn peer_with_prefix(
    server: &TestServer,
    info_hash: &str,
    prefix: &str,
) -> Option<serde_json::Value> {
    let detail = server.json(&format!("/api/torrents/{info_hash}"));
    detail["peers"]
        .as_array()?
        .iter()
        .find(|p| {
            p["peer_id"]
                .as_str()
                .is_some_and(|id| id.starts_with(prefix))
        })
        .cloned()
}

#[test]
fn aria2_and_libtorrent_announce_and_share_through_the_tracker() {
    if !have_tools() {
        return;
    }
    let dir = temp_dir();
    let source = dir.path().join("source");
    let out = dir.path().join("out");
    std::fs::create_dir_all(&source).unwrap();
    std::fs::create_dir_all(&out).unwrap();
    let file = source.join("interop.bin");
    write_file(&file, 3 * 1024 * 1024 + 123, 9);

    let mut cfg = config(&dir.path().join("data"));
    cfg.allowed_dir = Some(source.clone());
    cfg.interval_s = 5;
    let server = TestServer::start(cfg);
    let registered = server.post_json("/api/torrents", &serde_json::json!({"path": "interop.bin"}));
    assert_eq!(registered.status, 201, "{}", registered.text());
    let info_hash = registered.json()["info_hash"].as_str().unwrap().to_string();
    let torrent_path = dir.path().join("interop.torrent");
    std::fs::write(
        &torrent_path,
        server
            .get(&format!("/api/torrents/{info_hash}/torrent"))
            .body,
    )
    .unwrap();

    // libtorrent seeds the origin's copy.
    let mut seed = Reaped(
        Command::new(PYTHON)
            .args(["-c", LIBTORRENT_SEED])
            .arg(&torrent_path)
            .arg(&source)
            .arg(free_port().to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap(),
    );
    let seed_log = capture(&mut seed.0);
    wait_for(
        "libtorrent to announce as a seed",
        Duration::from_secs(60),
        || peer_with_prefix(&server, &info_hash, "-LT").is_some_and(|p| p["seed"] == true),
    );
    wait_for(
        "libtorrent's tracker reply",
        Duration::from_secs(10),
        || {
            seed_log
                .lock()
                .unwrap()
                .iter()
                .any(|l| l.contains("tracker_reply_alert"))
        },
    );

    // aria2 downloads it, getting libtorrent's address from us, then keeps seeding.
    let aria2 = Reaped(
        Command::new("aria2c")
            .arg(format!("--dir={}", out.display()))
            .args([
                "--seed-time=10",
                "--enable-dht=false",
                "--enable-dht6=false",
                "--bt-enable-lpd=false",
                "--enable-peer-exchange=false",
                "--disable-ipv6=true",
                "--summary-interval=0",
                "--console-log-level=warn",
                "--bt-stop-timeout=90",
            ])
            .arg(format!("--listen-port={}", free_port()))
            .arg(&torrent_path)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap(),
    );
    wait_for(
        "aria2 to appear and finish",
        Duration::from_secs(90),
        || peer_with_prefix(&server, &info_hash, "A2-").is_some_and(|p| p["seed"] == true),
    );
    let downloaded = out.join("interop.bin");
    wait_for("aria2's file", Duration::from_secs(10), || {
        same_file(&downloaded, &file)
    });

    let detail = server.json(&format!("/api/torrents/{info_hash}"));
    assert_eq!(
        detail["completed"], 1,
        "aria2's `completed` event counted: {detail}"
    );
    let origin = peer_with_prefix(&server, &info_hash, "-LT").unwrap();
    assert_eq!(origin["initial_seed"], true);
    drop(aria2);
    drop(seed);
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::read(a), std::fs::read(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}
