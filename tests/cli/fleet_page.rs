//! The fleet page (`/fleet`) end to end: a real rollout on loopback (tracker, three named
//! agents, `swarm publish --wait` of a file the origin's rate cap stretches over several
//! seconds) watched by headless Chromium (Debian's `chromium`), the
//! event stream's freshness over HTTP, and (ignored, run by hand) what the page costs the
//! tracker with 100 reporting hosts and 10 open browsers.
//!
//! Headless `--dump-dom` waits for the network to go idle, which an event stream never
//! does, so the browser loads the page in its polling form (`?poll`: the same rendering,
//! fetched every second); the stream itself is read over HTTP here.
//! Screenshots are kept in `$CARGO_TARGET_TMPDIR/fleet-page/` for a person to look at.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::fleet_rig::{Fleet, TOKEN};
use super::support::{get_json, http_with, s, wait_for, write_random};

/// The browser [`chromium`] found.
static BROWSER: OnceLock<PathBuf> = OnceLock::new();

/// Headless Chromium (Debian's `/usr/bin/chromium`), or `None` after saying why (a
/// failure under CI).
fn chromium() -> Option<&'static Path> {
    let found = swarm_testsupport::tools::chromium()?;
    Some(BROWSER.get_or_init(|| found))
}

/// Where screenshots are kept.
fn shots_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fleet-page");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// One headless Chromium run on `url` (`--dump-dom`, or `--screenshot=FILE`).
fn browse(url: &str, mode: &str, profile: &Path) -> Child {
    Command::new(BROWSER.get().expect("chromium() found the browser first"))
        .args([
            "--headless",
            "--disable-gpu",
            "--no-sandbox",
            "--disable-dev-shm-usage",
            "--hide-scrollbars",
            "--window-size=1400,1800",
            "--virtual-time-budget=2500",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(mode)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromium")
}

/// Waits up to a minute for a Chromium run; its stdout (read as it comes: a DOM larger
/// than the pipe would otherwise stall it).
fn finish(mut child: Child) -> String {
    let mut stdout = child.stdout.take().expect("piped stdout");
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        let _ = std::io::Read::read_to_end(&mut stdout, &mut out);
        out
    });
    let start = Instant::now();
    while !matches!(child.try_wait(), Ok(Some(_))) {
        if start.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("chromium did not finish within a minute");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    String::from_utf8_lossy(&reader.join().unwrap()).into_owned()
}

/// A shot: the DOM and a screenshot (`NAME.png`) of the page, taken at the same moment
/// by two browsers.
struct Shot {
    dom: String,
}

/// Starts a shot; [`Pending::wait`] collects it.
struct Pending {
    dom: Child,
    png: Child,
    _profiles: (tempfile::TempDir, tempfile::TempDir),
}

fn start_shot(url: &str, name: &str) -> Pending {
    let profiles = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let png = shots_dir().join(format!("{name}.png"));
    Pending {
        dom: browse(url, "--dump-dom", profiles.0.path()),
        png: browse(
            url,
            &format!("--screenshot={}", png.display()),
            profiles.1.path(),
        ),
        _profiles: profiles,
    }
}

impl Pending {
    fn wait(self) -> Shot {
        let dom = finish(self.dom);
        finish(self.png);
        Shot { dom }
    }
}

impl Shot {
    /// The value of the first `name="..."` attribute.
    fn attr(&self, name: &str) -> Option<&str> {
        let key = format!("{name}=\"");
        let at = self.dom.find(&key)? + key.len();
        self.dom[at..].split('"').next()
    }

    fn number(&self, name: &str) -> i64 {
        self.attr(name)
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in the page:\n{}", self.dom))
    }

    /// The host row's state class (`verified`, `downloading`, `gone`, ...).
    fn host_state(&self, host: &str) -> Option<&str> {
        let key = format!("\" data-name=\"{host}\"");
        let at = self.dom.find(&key)?;
        let start = self.dom[..at].rfind("<tr class=\"")? + "<tr class=\"".len();
        Some(&self.dom[start..at])
    }
}

const HOSTS: [&str; 3] = ["web-1", "web-2", "db-1"];

/// Two shots less than 3 s apart show the bytes verified growing, and every host by name.
fn two_shots_show_progress(url: &str) {
    let first = start_shot(url, "1-during");
    std::thread::sleep(Duration::from_millis(1200));
    let second = start_shot(url, "2-during");
    let (first, second) = (first.wait(), second.wait());
    let apart_ms = second.number("data-now-ms") - first.number("data-now-ms");
    assert!((1..3000).contains(&apart_ms), "shots {apart_ms} ms apart");
    let (before, after) = (
        first.number("data-have-bytes"),
        second.number("data-have-bytes"),
    );
    assert!(
        after > before,
        "no progress between two shots {apart_ms} ms apart: {before} then {after} bytes"
    );
    for shot in [&first, &second] {
        assert!(shot.dom.contains("of 3 verified"), "{}", shot.dom);
        for name in HOSTS {
            assert!(
                shot.host_state(name).is_some(),
                "{name} not shown:\n{}",
                shot.dom
            );
        }
    }
}

/// The history is in SQLite: a restarted tracker still lists the rollout and its figures.
fn history_survives_a_restart(fleet: &mut Fleet) {
    fleet.tracker = None;
    fleet.start_tracker();
    let page = get_json(fleet.addr, "/api/fleet/page").unwrap();
    let history = page["history"].as_str().unwrap();
    assert!(history.contains("data-rollout=\"1\""), "{history}");
    assert!(history.contains("<td>3/3</td>"), "{history}");
    assert!(history.contains("badge complete"), "{history}");
}

#[test]
fn headless_chromium_follows_a_rollout_to_the_end_and_shows_a_stopped_agent_gone() {
    let Some(_browser) = chromium() else { return };
    let root = tempfile::tempdir().unwrap();
    let mut fleet = Fleet::new(root.path());
    for name in HOSTS {
        fleet.start_agent_with(name, "role=page", &["--link-rate", "100Mbit/s"]);
    }
    let image = root.path().join("build/page.img");
    let size: u64 = 24 << 20;
    write_random(&image, size as usize, 41);
    let log = root.path().join("publish-page.log");
    // 24 Mbit/s from the origin: one copy takes 8 s, so the rollout lasts that at least.
    let mut publish = fleet.publish_spawned(
        &image,
        "page",
        &[
            "--to",
            "role=page",
            "--timeout",
            "120s",
            "--max-upload",
            "24Mbit/s",
            "--origin-rate",
            "24Mbit/s",
        ],
        &log,
    );
    wait_for("the rollout under way", Duration::from_secs(60), || {
        fleet.rollout(1).is_some_and(|v| {
            let have: u64 = v["hosts"].as_array().map_or(0, |h| {
                h.iter()
                    .map(|h| h["have_bytes"].as_u64().unwrap_or(0))
                    .sum()
            });
            have > 0 && have < size * 2
        })
    });
    let url = format!("{}/fleet?poll", fleet.url);
    two_shots_show_progress(&url);

    let status = publish.0.wait().unwrap();
    let stderr = std::fs::read_to_string(&log).unwrap();
    assert!(status.success(), "publish failed:\n{stderr}");
    let done = start_shot(&url, "3-verified").wait();
    assert!(done.dom.contains("3 of 3 verified"), "{}", done.dom);
    for name in HOSTS {
        assert_eq!(
            done.host_state(name),
            Some("verified"),
            "{name}:\n{}",
            done.dom
        );
    }
    assert!(
        done.dom.contains("complete"),
        "history and badge say complete"
    );
    // The script sorts and filters the host rows as the address asks.
    let sorted = start_shot(&format!("{url}&sort=-name&filter=web"), "3-sorted").wait();
    let order: Vec<usize> = ["web-2", "web-1", "db-1"]
        .iter()
        .map(|name| sorted.dom.find(&format!("data-name=\"{name}\"")).unwrap())
        .collect();
    assert!(order[0] < order[1] && order[1] < order[2], "{}", sorted.dom);
    assert!(sorted.dom.contains("2 of 3 hosts shown"), "{}", sorted.dom);

    fleet.stop_agent("db-1");
    wait_for("db-1 shown gone", Duration::from_secs(20), || {
        get_json(fleet.addr, "/api/fleet/page").is_some_and(|page| {
            page["hosts"]
                .as_str()
                .is_some_and(|h| h.contains("<tr class=\"gone\" data-name=\"db-1\""))
        })
    });
    let gone = start_shot(&url, "4-gone").wait();
    assert_eq!(gone.host_state("db-1"), Some("gone"), "{}", gone.dom);
    assert!(gone.dom.contains("gone, held verified"), "{}", gone.dom);
    for name in ["web-1", "web-2"] {
        assert_eq!(gone.host_state(name), Some("verified"), "{name}");
    }
    history_survives_a_restart(&mut fleet);
    eprintln!("screenshots in {}", shots_dir().display());
}

/// An SSE reader of `/api/fleet/events`.
struct Stream {
    lines: BufReader<TcpStream>,
}

impl Stream {
    fn open(addr: SocketAddr) -> Stream {
        let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        stream
            .write_all(b"GET /api/fleet/events HTTP/1.0\r\nHost: test\r\nAccept: text/event-stream\r\n\r\n")
            .unwrap();
        Stream {
            lines: BufReader::new(stream),
        }
    }

    /// Reads events until one named `event` whose data contains `needle`, or `limit`.
    fn until(&mut self, event: &str, needle: &str, limit: Duration) -> bool {
        let start = Instant::now();
        let (mut name, mut data, mut line) = (String::new(), String::new(), String::new());
        while start.elapsed() < limit {
            line.clear();
            match self.lines.read_line(&mut line) {
                Ok(0) | Err(_) => return false,
                Ok(_) => {}
            }
            let line = line.trim_end_matches(['\r', '\n']);
            if let Some(value) = line.strip_prefix("event: ") {
                name = value.to_string();
            } else if let Some(value) = line.strip_prefix("data: ") {
                data.push_str(value);
                data.push('\n');
            } else if line.is_empty() {
                if name == event && data.contains(needle) {
                    return true;
                }
                name.clear();
                data.clear();
            }
        }
        false
    }
}

/// A fake agent's report: labels, and one release's state.
fn report(labels: &str, release: Option<(i64, &str, u64)>) -> String {
    let releases = match release {
        Some((id, state, have)) => format!(
            "[{{\"release_id\":{id},\"state\":\"{state}\",\"have_bytes\":{have},\
             \"downloaded_bytes\":{have},\"uploaded_bytes\":0,\"down_bps\":1000000,\
             \"up_bps\":0,\"peers\":1,\"reason\":null}}]"
        ),
        None => "[]".into(),
    };
    format!(
        "{{\"session\":\"load\",\"labels\":{labels},\"listen\":null,\
         \"free_disk_bytes\":null,\"link_bps\":100000000,\"releases\":{releases}}}"
    )
}

fn post_report(addr: SocketAddr, host: &str, body: &str) {
    let auth = format!("Bearer {TOKEN}");
    let path = format!("/api/fleet/agents/{host}/report");
    let (status, answer) = http_with(addr, "POST", &path, &[("Authorization", &auth)], body);
    assert_eq!(status, 200, "report: {answer}");
}

/// The longest of five times from a report of host `probe` (a new label each time) to
/// an event stream's host rows showing it.
fn freshness(addr: SocketAddr) -> Duration {
    post_report(addr, "probe", &report("{\"mark\":\"m0\"}", None));
    let mut stream = Stream::open(addr);
    assert!(stream.until("hosts", "data-name=\"probe\"", Duration::from_secs(5)));
    let mut worst = Duration::ZERO;
    for round in 1..=5 {
        let mark = format!("mark=m{round}");
        let labels = format!("{{\"mark\":\"m{round}\"}}");
        let sent = Instant::now();
        post_report(addr, "probe", &report(&labels, None));
        assert!(
            stream.until("hosts", &mark, Duration::from_secs(5)),
            "{mark} never reached the stream"
        );
        worst = worst.max(sent.elapsed());
    }
    worst
}

#[test]
fn the_event_stream_shows_an_agent_report_within_two_seconds() {
    let root = tempfile::tempdir().unwrap();
    let fleet = Fleet::new(root.path());
    let worst = freshness(fleet.addr);
    eprintln!("report to page: at most {} ms", worst.as_millis());
    assert!(worst < Duration::from_secs(2), "{worst:?} behind the agent");
    // The page and its polling form say the same.
    let page = get_json(fleet.addr, "/api/fleet/page").unwrap();
    assert!(
        page["hosts"].as_str().unwrap().contains("mark=m5"),
        "{page}"
    );
}

/// CPU seconds the process has used (user + system), from `/proc/PID/stat`.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after.split(' ').collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    let hz = Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .trim()
                .parse::<f64>()
                .ok()
        })
        .unwrap_or(100.0);
    ticks / hz
}

/// Publishes a release of a sparse `size` file to every host; its release id.
fn publish_sparse(fleet: &Fleet, size: u64) -> i64 {
    let file = fleet.root.join("load.img");
    std::fs::File::create(&file).unwrap().set_len(size).unwrap();
    let torrent = fleet.root.join("load.torrent");
    let run = super::support::swarm_in(
        &fleet.root,
        &[
            "create",
            s(&file),
            "-o",
            s(&torrent),
            "-t",
            &format!("{}/announce", fleet.url),
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let hex = hex::encode(std::fs::read(&torrent).unwrap());
    let body = format!(
        "{{\"channel\":\"load\",\"keep\":null,\"to\":{{}},\"torrent_hex\":\"{hex}\",\
         \"origin_bps\":1000000000}}"
    );
    let auth = format!("Bearer {TOKEN}");
    let (status, answer) = http_with(
        fleet.addr,
        "POST",
        "/api/fleet/releases",
        &[("Authorization", &auth)],
        &body,
    );
    assert_eq!(status, 201, "{answer}");
    let published: serde_json::Value = serde_json::from_str(&answer).unwrap();
    published["release_id"].as_i64().unwrap()
}

/// 100 fake hosts report once a second for `seconds`, each a bit faster than the last.
fn report_for(addr: SocketAddr, release: i64, size: u64, from_s: u64, seconds: u64) {
    let start = Instant::now();
    for tick in 0..seconds {
        for i in 0..100u64 {
            let t = from_s + tick;
            let have = (size / 200 * (i % 7 + 1) * t / 4).min(size);
            let state = if have == size {
                "verified"
            } else {
                "downloading"
            };
            let labels = format!("{{\"rack\":\"r{}\",\"role\":\"load\"}}", i % 10);
            let host = format!("load-{i:03}");
            post_report(addr, &host, &report(&labels, Some((release, state, have))));
        }
        let next = Duration::from_secs(tick + 1);
        if let Some(wait) = next.checked_sub(start.elapsed()) {
            std::thread::sleep(wait);
        }
    }
}

/// Run by hand: `cargo test --test cli fleet_page_cost -- --ignored --nocapture`.
#[test]
#[ignore = "a 70 s measurement; run by hand"]
fn fleet_page_cost_with_100_hosts_and_10_browsers() {
    const SECONDS: u64 = 30;
    let root = tempfile::tempdir().unwrap();
    let fleet = Fleet::new(root.path());
    let size: u64 = 1 << 30;
    for i in 0..100 {
        let labels = format!("{{\"rack\":\"r{}\",\"role\":\"load\"}}", i % 10);
        post_report(fleet.addr, &format!("load-{i:03}"), &report(&labels, None));
    }
    let release = publish_sparse(&fleet, size);
    let pid = fleet.tracker_pid();
    // Reports alone.
    let cpu = cpu_seconds(pid);
    report_for(fleet.addr, release, size, 0, SECONDS);
    let reports_only = (cpu_seconds(pid) - cpu) / SECONDS as f64;
    // Reports and 10 browsers following the stream.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let readers: Vec<_> = (0..10)
        .map(|_| {
            let stop = std::sync::Arc::clone(&stop);
            let addr = fleet.addr;
            std::thread::spawn(move || {
                let mut stream = Stream::open(addr);
                let mut events = 0u64;
                // A stream that ends, or stays silent for 3 s, stops being counted.
                while !stop.load(std::sync::atomic::Ordering::Relaxed)
                    && stream.until("hosts", "data-name", Duration::from_secs(3))
                {
                    events += 1;
                }
                events
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(2));
    let cpu = cpu_seconds(pid);
    let addr = fleet.addr;
    let load = std::thread::spawn(move || report_for(addr, release, size, SECONDS, SECONDS));
    std::thread::sleep(Duration::from_secs(5));
    let behind = freshness(fleet.addr);
    load.join().unwrap();
    let with_pages = (cpu_seconds(pid) - cpu) / SECONDS as f64;
    if chromium().is_some() {
        start_shot(&format!("{}/fleet?poll", fleet.url), "100-hosts").wait();
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let events: Vec<u64> = readers.into_iter().map(|r| r.join().unwrap()).collect();
    let page = with_pages - reports_only;
    eprintln!(
        "tracker CPU, share of one core over {SECONDS} s: 100 hosts reporting each second \
         {:.1} %; with 10 event streams open {:.1} %; the page's share {:.1} %; \
         host-table updates per stream {events:?}; a report reached a stream within {} ms",
        reports_only * 100.0,
        with_pages * 100.0,
        page * 100.0,
        behind.as_millis()
    );
    assert!(
        behind < Duration::from_secs(2),
        "the page is {behind:?} behind"
    );
    assert!(
        events.iter().all(|&e| e >= SECONDS),
        "streams fell behind: {events:?}"
    );
    assert!(
        page <= 0.05,
        "the page costs {:.1} % of a core",
        page * 100.0
    );
}
