//! `swarm tracker`, `swarm agent` and `swarm publish` end to end on loopback: real child
//! processes of the built binary, real TCP, SQLite and files.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::support::{s, swarm_in, write_random};

/// A child process killed when dropped.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(args: &[&str], log: &Path) -> Proc {
    let log = std::fs::File::create(log).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_swarm"))
        .args(args)
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("spawn swarm");
    Proc(child)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A bare HTTP/1.0 request; returns the status and body.
fn http(addr: SocketAddr, method: &str, path: &str, body: &str) -> (u16, String) {
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_secs(2)) else {
        return (0, String::new());
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let request = format!(
        "{method} {path} HTTP/1.0\r\nHost: test\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    if stream.write_all(request.as_bytes()).is_err() {
        return (0, String::new());
    }
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = answer.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    (status, body.to_string())
}

fn get_json(addr: SocketAddr, path: &str) -> Option<Value> {
    let (status, body) = http(addr, "GET", path, "");
    (status == 200)
        .then(|| serde_json::from_str(&body).ok())
        .flatten()
}

/// Polls `check` every 100 ms until it holds or `limit` passes.
#[track_caller]
fn wait_until(what: &str, limit: Duration, mut check: impl FnMut() -> bool) {
    let start = Instant::now();
    while !check() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

struct Fleet {
    root: PathBuf,
    addr: SocketAddr,
    url: String,
    token: PathBuf,
    tracker: Option<Proc>,
    agents: Vec<(String, Proc)>,
}

impl Fleet {
    fn new(root: &Path) -> Fleet {
        let token = root.join("token");
        std::fs::write(&token, "fleet-token-0123456789abcdef\n").unwrap();
        let port = free_port();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let mut fleet = Fleet {
            root: root.to_path_buf(),
            addr,
            url: format!("http://{addr}"),
            token,
            tracker: None,
            agents: Vec::new(),
        };
        fleet.start_tracker();
        fleet
    }

    fn start_tracker(&mut self) {
        let data = self.root.join("manager");
        let args = [
            "tracker",
            "--listen",
            &self.addr.to_string(),
            "--data",
            s(&data),
            "--interval",
            "2",
            "--token-file",
            s(&self.token),
        ];
        let log = self.root.join(format!("tracker-{}.log", free_port()));
        self.tracker = Some(spawn(&args, &log));
        let addr = self.addr;
        wait_until("the tracker", Duration::from_secs(20), || {
            get_json(addr, "/api/fleet").is_some()
        });
    }

    fn agent_dir(&self, name: &str) -> PathBuf {
        self.root.join("agents").join(name)
    }

    fn start_agent(&mut self, name: &str, label: &str) {
        let dir = self.agent_dir(name);
        std::fs::create_dir_all(&dir).unwrap();
        let args = [
            "agent",
            "--manager",
            &self.url,
            "--dir",
            s(&dir),
            "--name",
            name,
            "--label",
            label,
            "--token-file",
            s(&self.token),
            "--listen",
            "127.0.0.1",
            "--port",
            "0",
        ];
        let log = self.root.join(format!("agent-{name}-{}.log", free_port()));
        self.agents.push((name.to_string(), spawn(&args, &log)));
        let addr = self.addr;
        wait_until("the agent's registration", Duration::from_secs(20), || {
            get_json(addr, "/api/fleet/hosts").is_some_and(|hosts| {
                hosts
                    .as_array()
                    .is_some_and(|h| h.iter().any(|h| h["name"] == name))
            })
        });
    }

    fn kill_agent(&mut self, name: &str) {
        self.agents.retain(|(n, _)| n != name);
    }

    fn publish(&self, file: &Path, channel: &str, extra: &[&str]) -> super::support::Run {
        let mut args = vec![
            "publish",
            s(file),
            "--manager",
            &self.url,
            "--channel",
            channel,
            "--token-file",
            s(&self.token),
            "--piece-size",
            "64KiB",
        ];
        args.extend_from_slice(extra);
        swarm_in(&self.root, &args)
    }

    fn publish_spawned(&self, file: &Path, channel: &str, extra: &[&str], log: &Path) -> Proc {
        let mut args = vec![
            "publish",
            s(file),
            "--manager",
            &self.url,
            "--channel",
            channel,
            "--token-file",
            s(&self.token),
            "--piece-size",
            "64KiB",
            "--wait",
            "--json",
        ];
        args.extend_from_slice(extra);
        let child = Command::new(env!("CARGO_BIN_EXE_swarm"))
            .args(&args)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(log.with_extension("json")).unwrap())
            .stderr(std::fs::File::create(log).unwrap())
            .spawn()
            .unwrap();
        Proc(child)
    }

    fn rollout(&self, id: i64) -> Option<Value> {
        get_json(self.addr, &format!("/api/fleet/rollouts/{id}"))
    }
}

fn host<'a>(view: &'a Value, name: &str) -> &'a Value {
    view["hosts"]
        .as_array()
        .and_then(|h| h.iter().find(|h| h["host"] == name))
        .unwrap_or_else(|| panic!("{name} not in {view}"))
}

#[test]
fn publish_rolls_out_to_labelled_agents_and_retention_deletes() {
    let root = tempfile::tempdir().unwrap();
    let mut fleet = Fleet::new(root.path());
    for (name, label) in [
        ("a1", "role=test"),
        ("a2", "role=test"),
        ("b1", "role=other"),
    ] {
        fleet.start_agent(name, label);
    }
    let v1 = root.path().join("build/v1.img");
    let v1_bytes = write_random(&v1, 3 << 20, 11);
    let run = fleet
        .publish(
            &v1,
            "nightly",
            &["--to", "role=test", "--wait", "--timeout", "60s", "--json"],
        )
        .expect(0);
    let view = run.json();
    assert_eq!(view["counts"]["verified"], 2, "{view}");
    assert_eq!(view["hosts"].as_array().unwrap().len(), 2);
    assert!(run.stderr.contains("2/2 verified"), "{}", run.stderr);
    for name in ["a1", "a2"] {
        let copy = fleet.agent_dir(name).join("nightly/v1.img");
        assert_eq!(std::fs::read(&copy).unwrap(), v1_bytes, "{name}");
        assert!(!fleet.agent_dir(name).join("nightly/v1.img.part").exists());
    }
    assert!(
        !fleet.agent_dir("b1").join("nightly").exists(),
        "b1 fetched"
    );
    assert!(view["finished_ms"].is_i64(), "{view}");

    // A wrong token changes nothing.
    let wrong = root.path().join("wrong-token");
    std::fs::write(&wrong, "not-the-fleet-token-at-all").unwrap();
    let run = swarm_in(
        root.path(),
        &[
            "publish",
            s(&v1),
            "--manager",
            &fleet.url,
            "--channel",
            "nightly",
            "--token-file",
            s(&wrong),
        ],
    );
    assert_ne!(run.code, 0);
    assert!(run.stderr.contains("401"), "{}", run.stderr);
    assert!(
        fleet.rollout(2).is_none(),
        "a refused publish made a rollout"
    );
    let (status, _) = http(fleet.addr, "POST", "/api/fleet/releases", "{}");
    assert_eq!(status, 401);
    let (status, _) = http(
        fleet.addr,
        "POST",
        "/api/torrents",
        "{\"path\": \"/etc/passwd\"}",
    );
    assert_eq!(status, 401);
    let (status, _) = http(fleet.addr, "POST", "/api/fleet/agents/evil/report", "{}");
    assert_eq!(status, 401);
    let (status, _) = http(fleet.addr, "GET", "/api/fleet/agents/a1/channel", "");
    assert_eq!(status, 401);
    let hosts = get_json(fleet.addr, "/api/fleet/hosts").unwrap();
    assert_eq!(hosts.as_array().unwrap().len(), 3, "{hosts}");

    // v2 with --keep 1: v1 is deleted where it was.
    let v2 = root.path().join("build/v2.img");
    let v2_bytes = write_random(&v2, 2 << 20, 12);
    let run = fleet
        .publish(
            &v2,
            "nightly",
            &[
                "--to",
                "role=test",
                "--keep",
                "1",
                "--wait",
                "--timeout",
                "60s",
            ],
        )
        .expect(0);
    assert!(run.stderr.contains("2/2 verified"), "{}", run.stderr);
    for name in ["a1", "a2"] {
        let dir = fleet.agent_dir(name).join("nightly");
        assert_eq!(std::fs::read(dir.join("v2.img")).unwrap(), v2_bytes);
        wait_until("v1's deletion", Duration::from_secs(10), || {
            !dir.join("v1.img").exists()
        });
    }
    let first = fleet.rollout(1).unwrap();
    wait_until("v1 reported deleted", Duration::from_secs(10), || {
        fleet
            .rollout(1)
            .is_some_and(|v| v["counts"]["deleted"] == 2)
    });
    assert!(first["finished_ms"].is_i64());
}

#[test]
fn killed_agent_resumes_and_restarted_manager_keeps_the_rollout() {
    let root = tempfile::tempdir().unwrap();
    let mut fleet = Fleet::new(root.path());
    fleet.start_agent("s1", "role=slow");
    fleet.start_agent("s2", "role=slow");
    let image = root.path().join("build/big.img");
    let size: u64 = 12 << 20;
    let bytes = write_random(&image, size as usize, 21);
    let log = root.path().join("publish-big.log");
    // 32 Mbit/s from the origin: about 3 s per copy, time to interrupt things.
    let mut publish = fleet.publish_spawned(
        &image,
        "big",
        &[
            "--to",
            "role=slow",
            "--timeout",
            "120s",
            "--max-upload",
            "32Mbit/s",
        ],
        &log,
    );
    wait_until("s1 halfway", Duration::from_secs(60), || {
        fleet.rollout(1).is_some_and(|v| {
            let have = host(&v, "s1")["have_bytes"].as_u64().unwrap_or(0);
            have > size / 4 && have < size
        })
    });
    fleet.kill_agent("s1"); // SIGKILL
    let before = fleet.rollout(1).unwrap();
    let had = host(&before, "s1")["have_bytes"].as_u64().unwrap();
    // The manager goes down and comes back mid-rollout.
    fleet.tracker = None;
    fleet.start_tracker();
    fleet.start_agent("s1", "role=slow");
    let status = publish.0.wait().unwrap();
    let stderr = std::fs::read_to_string(&log).unwrap();
    assert!(status.success(), "publish failed:\n{stderr}");
    let view: Value =
        serde_json::from_str(&std::fs::read_to_string(log.with_extension("json")).unwrap())
            .unwrap();
    assert_eq!(view["counts"]["verified"], 2, "{view}");
    for name in ["s1", "s2"] {
        assert_eq!(
            std::fs::read(fleet.agent_dir(name).join("big/big.img")).unwrap(),
            bytes
        );
    }
    let s1 = host(&view, "s1");
    let resumed = s1["session_downloaded_bytes"].as_u64().unwrap();
    assert!(
        resumed <= size - had + (1 << 20),
        "s1 fetched {resumed} bytes after the restart though it held {had} of {size}"
    );
    // The record survived the restart.
    let record = fleet.rollout(1).unwrap();
    assert!(record["finished_ms"].as_i64() >= record["started_ms"].as_i64());
    assert!(record["origin_copies"].as_f64().unwrap() > 0.0, "{record}");
}

/// A tiny tmpfs at `dir` (needs root); `None` (after saying why) when it cannot be had.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(dir).unwrap();
        let ok = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size}"),
                "tmpfs",
                s(dir),
            ])
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            return Some(Tmpfs(dir.to_path_buf()));
        }
        let ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false");
        assert!(!ci, "mounting a tmpfs needs root, which CI has");
        eprintln!("skipping: cannot mount a tmpfs (not root?)");
        None
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_fails_its_host_by_name_while_the_others_finish() {
    let root = tempfile::tempdir().unwrap();
    let mut fleet = Fleet::new(root.path());
    let Some(_tmpfs) = Tmpfs::mount(&fleet.agent_dir("tiny"), "1m") else {
        return;
    };
    fleet.start_agent("tiny", "role=edge");
    fleet.start_agent("roomy", "role=edge");
    let image = root.path().join("build/edge.img");
    let bytes = write_random(&image, 4 << 20, 31);
    let run = fleet.publish(
        &image,
        "edge",
        &["--to", "role=edge", "--wait", "--timeout", "60s"],
    );
    assert_eq!(run.code, 1, "stderr:\n{}", run.stderr);
    assert!(
        run.stderr.contains("tiny: failed: disk full"),
        "{}",
        run.stderr
    );
    assert_eq!(
        std::fs::read(fleet.agent_dir("roomy").join("edge/edge.img")).unwrap(),
        bytes
    );
}
