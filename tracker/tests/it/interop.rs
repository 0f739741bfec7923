//! Interoperability with real clients: a libtorrent seed (Python bindings) and an aria2c
//! leecher announce to our tracker, appear in the API, and aria2 downloads the file from
//! libtorrent through the peer list we hand out. Skipped, with a message, when either tool
//! is missing.

use std::process::{Command, Stdio};
use std::time::Duration;

use swarm_testsupport::content::same_file;
use swarm_testsupport::process::{collect_lines, free_port, wait_for, wait_until, Lines, Reaper};

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

fn have_tools() -> bool {
    swarm_testsupport::tools::aria2c().is_some() && swarm_testsupport::tools::libtorrent().is_some()
}

/// The last `n` lines a child printed, for a failure message.
fn tail(lines: &Lines, n: usize) -> String {
    let lines = lines.lock().unwrap_or_else(|e| e.into_inner());
    lines[lines.len().saturating_sub(n)..].join("\n")
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
    // libtorrent announces at most every 300 s (its `min_announce_interval`), whatever
    // interval we ask for, and we forget a peer after two intervals: with 5 s here the
    // seed vanished from the peer list 10 s after its first announce, and on a loaded CI
    // machine aria2 asked later than that, found nobody and never finished.
    cfg.interval_s = 300;
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
    let mut seed = Reaper(
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
    let seed_log = collect_lines(seed.0.stdout.take().unwrap());
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
    let mut aria2 = Reaper(
        Command::new("aria2c")
            .arg(format!("--dir={}", out.display()))
            .args([
                "--seed-time=60",
                "--enable-dht=false",
                "--enable-dht6=false",
                "--bt-enable-lpd=false",
                "--enable-peer-exchange=false",
                "--disable-ipv6=true",
                "--summary-interval=0",
                "--console-log-level=notice",
                "--enable-color=false",
                "--bt-stop-timeout=90",
            ])
            .arg(format!("--listen-port={}", free_port()))
            .arg(&torrent_path)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap(),
    );
    let aria2_log = collect_lines(aria2.0.stdout.take().unwrap());
    let finished = wait_until(Duration::from_secs(90), || {
        peer_with_prefix(&server, &info_hash, "A2-").is_some_and(|p| p["seed"] == true)
    });
    assert!(
        finished,
        "aria2 did not announce a finished download within 90 s.\n\
         tracker: {}\nlibtorrent:\n{}\naria2:\n{}",
        server.json(&format!("/api/torrents/{info_hash}")),
        tail(&seed_log, 20),
        tail(&aria2_log, 40),
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
