//! `/metrics` end to end: `seed` and `get` with `--metrics` during and after a transfer on
//! loopback, an agent naming its release, and the tracker labelling registered torrents
//! only. Real processes of the built binary, real TCP.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

use crate::background::{seeding_port, Background};
use crate::support::{get_args, s, swarm_in, write_random};

/// How long a test waits for a metric to reach its value.
const METRIC_TIMEOUT: Duration = Duration::from_secs(60);

/// `GET path` over HTTP/1.0; the body of a 200 answer in the Prometheus text format.
fn get(addr: SocketAddr, path: &str) -> String {
    let answer = get_raw(addr, path);
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    assert!(head.contains(" 200 "), "GET {path}: {answer}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: text/plain; version=0.0.4"),
        "{head}"
    );
    body.to_string()
}

/// The value of the first series of `metric` (any labels, or none) in `text`.
fn value(text: &str, metric: &str) -> Option<f64> {
    text.lines()
        .find(|l| {
            l.strip_prefix(metric)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
        })
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

/// The address in the process's "metrics at http://ADDR/metrics" log line.
fn metrics_addr(process: &mut Background) -> SocketAddr {
    let line = process.wait_for("metrics at http://");
    line.split("metrics at http://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .and_then(|addr| addr.parse().ok())
        .unwrap_or_else(|| panic!("no address in {line:?}"))
}

/// Scrapes `addr` until `done` holds for the text; returns that text.
#[track_caller]
fn scrape_until(addr: SocketAddr, what: &str, mut done: impl FnMut(&str) -> bool) -> String {
    let start = Instant::now();
    loop {
        let text = get(addr, "/metrics");
        if done(&text) {
            return text;
        }
        assert!(
            start.elapsed() < METRIC_TIMEOUT,
            "timed out waiting for {what}:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `img` of `size` bytes and `img.torrent` in 64 KiB pieces, in `dir`.
fn image(dir: &Path, size: usize) {
    write_random(&dir.join("img"), size, 41);
    swarm_in(dir, &["create", "img", "-p", "64KiB"]).expect(0);
}

#[test]
fn seed_and_get_count_the_transfer_in_their_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let size: u64 = 4 << 20;
    image(dir.path(), size as usize);
    let pieces = (size / (64 << 10)) as f64;
    // 16 Mbit/s: about 2 s for the copy, time for scrapes half-way.
    let mut seed = Background::start(
        dir.path(),
        &[
            "seed",
            "img.torrent",
            "img",
            "--listen",
            "127.0.0.1",
            "--port",
            "0",
            "--max-upload",
            "16Mbit/s",
            "--metrics",
            "127.0.0.1:0",
        ],
        &[],
    );
    let seed_metrics = metrics_addr(&mut seed);
    let port = seeding_port(&mut seed);
    let text = get(seed_metrics, "/metrics");
    assert_eq!(
        value(&text, "swarm_torrent_verified_pieces"),
        Some(pieces),
        "{text}"
    );
    assert_eq!(
        value(&text, "swarm_torrent_uploaded_bytes_total"),
        Some(0.0)
    );

    let peer = format!("127.0.0.1:{port}");
    let mut get_ = Background::start(
        dir.path(),
        &get_args("out", &["--peer", &peer, "--metrics", "127.0.0.1:0"]),
        &[],
    );
    let get_metrics = metrics_addr(&mut get_);
    let mut halfway = None;
    let text = scrape_until(get_metrics, "every piece verified", |text| {
        let verified = value(text, "swarm_torrent_verified_pieces").unwrap_or(0.0);
        if verified > 0.0 && verified < pieces {
            halfway = value(text, "swarm_torrent_peers");
        }
        verified == pieces
    });
    assert_eq!(halfway, Some(1.0), "half-way, the seed is the one peer");
    let info_hash = swarm_in(dir.path(), &["inspect", "img.torrent", "--json"])
        .expect(0)
        .json()["info_hash"]
        .as_str()
        .unwrap()
        .to_string();
    let labels = format!("{{info_hash=\"{info_hash}\",name=\"img\"}}");
    assert!(
        text.contains(&format!("swarm_torrent_pieces{labels} {pieces}")),
        "{text}"
    );
    assert_eq!(
        value(&text, "swarm_torrent_downloaded_bytes_total"),
        Some(size as f64),
        "{text}"
    );
    assert_eq!(value(&text, "swarm_torrent_complete"), Some(1.0));
    assert_eq!(value(&text, "swarm_torrent_hash_failures_total"), Some(0.0));
    assert_eq!(value(&text, "swarm_torrent_bans_total"), Some(0.0));

    let text = scrape_until(seed_metrics, "the seed's upload counted", |text| {
        value(text, "swarm_torrent_uploaded_bytes_total") == Some(size as f64)
    });
    assert!(
        text.contains(&format!("swarm_torrent_uploaded_bytes_total{labels} ")),
        "{text}"
    );
    assert_eq!(
        value(&text, "swarm_torrent_downloaded_bytes_total"),
        Some(0.0)
    );
    assert_eq!(get_.terminate(), 0, "{}", get_.stderr);
    assert_eq!(seed.terminate(), 0, "{}", seed.stderr);
}

#[test]
fn a_taken_metrics_address_is_refused_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    image(dir.path(), 100_000);
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let run = swarm_in(
        dir.path(),
        &get_args("out", &["--peer", "127.0.0.1:1", "--metrics", &addr]),
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains(&format!("cannot listen for metrics on {addr}")),
        "{}",
        run.stderr
    );
}

/// `info_hash=...&peer_id=...` of an announce for 20 bytes `byte`.
fn announce_path(byte: u8) -> String {
    let hash: String = (0..20).map(|_| format!("%{byte:02x}")).collect();
    format!(
        "/announce?info_hash={hash}&peer_id=-XX0001-abcdefghijkl&port=7001&left=10&event=started"
    )
}

#[test]
fn an_agent_names_its_release_and_the_tracker_labels_registered_torrents_only() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let token = root.join("token");
    std::fs::write(&token, "metrics-test-token-0123456789\n").unwrap();
    let data = root.join("manager");
    let mut tracker = Background::start(
        root,
        &[
            "tracker",
            "--listen",
            "127.0.0.1:0",
            "--data",
            s(&data),
            "--interval",
            "2",
            "--token-file",
            s(&token),
        ],
        &[],
    );
    let line = tracker.wait_for("tracker listening");
    let tracker_addr: SocketAddr = line
        .split("local_addr=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|addr| addr.parse().ok())
        .unwrap_or_else(|| panic!("no address in {line:?}"));
    let manager = format!("http://{tracker_addr}");
    let agent_dir = root.join("agent");
    let mut agent = Background::start(
        root,
        &[
            "agent",
            "--manager",
            &manager,
            "--dir",
            s(&agent_dir),
            "--name",
            "m1",
            "--label",
            "role=test",
            "--token-file",
            s(&token),
            "--listen",
            "127.0.0.1",
            "--port",
            "0",
            "--metrics",
            "127.0.0.1:0",
        ],
        &[],
    );
    let agent_metrics = metrics_addr(&mut agent);
    let text = get(agent_metrics, "/metrics");
    assert!(!text.contains("swarm_agent_release_state{"), "{text}");

    let image = root.join("build/m.img");
    let size = 2 << 20;
    write_random(&image, size, 51);
    let published = swarm_in(
        root,
        &[
            "publish",
            s(&image),
            "--manager",
            &manager,
            "--channel",
            "nightly",
            "--to",
            "role=test",
            "--token-file",
            s(&token),
            "--piece-size",
            "64KiB",
            "--wait",
            "--timeout",
            "60s",
        ],
    );
    assert_eq!(
        published.code, 0,
        "{}\nagent:\n{}",
        published.stderr, agent.stderr
    );
    let verified = "channel=\"nightly\",name=\"m.img\"";
    let text = scrape_until(agent_metrics, "the release verified", |text| {
        text.lines().any(|l| {
            l.starts_with("swarm_agent_release_state{release_id=\"1\",")
                && l.contains(verified)
                && l.contains("state=\"verified\"}")
                && l.ends_with(" 1")
        })
    });
    let info_hash = text
        .split("info_hash=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_string();
    assert_eq!(info_hash.len(), 40, "{text}");
    let series = format!("swarm_agent_release_state{{release_id=\"1\",{verified},info_hash=\"{info_hash}\",state=\"downloading\"}} 0");
    assert!(text.contains(&series), "{text}");
    let pieces = (size / (64 << 10)) as f64;
    let labels = format!("{{info_hash=\"{info_hash}\",name=\"m.img\"}}");
    assert!(
        text.contains(&format!("swarm_torrent_verified_pieces{labels} {pieces}")),
        "{text}"
    );
    assert!(
        text.contains(&format!("swarm_torrent_pieces{labels} {pieces}")),
        "{text}"
    );

    // An info-hash nobody registered, announced: tracked, never labelled.
    let stranger = "ee".repeat(20);
    let answer = get_raw(tracker_addr, &announce_path(0xee));
    assert!(
        answer.contains("interval"),
        "the announce was refused: {answer}"
    );
    let text = get(tracker_addr, "/metrics");
    assert!(
        text.contains(&format!("swarm_tracker_torrent_seeds{labels} ")),
        "{text}"
    );
    assert!(
        text.contains(&format!("swarm_tracker_torrent_completed_total{labels} ")),
        "{text}"
    );
    assert!(
        value(&text, "swarm_tracker_swarms").unwrap() >= 2.0,
        "{text}"
    );
    assert!(
        !text.contains(&stranger),
        "an unregistered hash is labelled:\n{text}"
    );
    assert_eq!(agent.terminate(), 0, "{}", agent.stderr);
}

/// `GET path`; the whole answer, whatever its status.
fn get_raw(addr: SocketAddr, path: &str) -> String {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    write!(stream, "GET {path} HTTP/1.0\r\nHost: test\r\n\r\n").unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}
