//! The building blocks of `scripts/netns-run`, in Rust for the tests that drive hosts
//! themselves: one network namespace per host, all joined by a bridge that lives in a
//! namespace of its own (nothing outside the lab's namespaces is touched), each host's
//! uplink shaped with tc tbf on its veth and its downlink on the bridge's end of it (this
//! kernel has no netem: no latency is added), byte counters read from the bridge side.
//!
//! A [`Lab`] removes everything it made when dropped, on success and on a failed
//! assertion alike: it kills every process left in its namespaces, unmounts what it
//! mounted and deletes the namespaces (their veths and the bridge go with them). Labs of a
//! test process that died without dropping them are removed by the next [`Lab::new`].
//!
//! Whether namespace tests run at all is [`swarm_testsupport::tools::netns`]'s call.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

use swarm_testsupport::process::Reaper;
use swarm_testsupport::tools::{tmpfs, Tmpfs};

/// Every lab's namespaces start with this, then the test process's id.
const PREFIX: &str = "swl";
const SUBNET: &str = "10.178";

/// Runs a command to completion; panics with its stderr if it fails.
#[track_caller]
pub fn run(program: &str, args: &[&str]) -> Output {
    run_with_input(program, args, "")
}

/// [`run`] with `input` on the command's standard input (then closed).
#[track_caller]
fn run_with_input(program: &str, args: &[&str], input: &str) -> Output {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{program} {args:?}: {e}"));
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(input.as_bytes())
        .unwrap_or_else(|e| panic!("{program} {args:?}: {e}"));
    let output = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("{program} {args:?}: {e}"));
    assert!(
        output.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn run_quiet(program: &str, args: &[&str]) -> Option<Output> {
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())
}

/// One host of a lab.
#[derive(Debug, Clone)]
pub struct Host {
    /// Its namespace.
    pub ns: String,
    /// Its address.
    pub ip: String,
    /// Its veth's end on the bridge (where its counters are read).
    pub port: String,
}

/// The namespaces of one test.
#[derive(Debug)]
pub struct Lab {
    bridge: String,
    hosts: Vec<Host>,
    mounts: Vec<Tmpfs>,
}

impl Lab {
    /// An empty lab: the bridge's namespace only.
    pub fn new() -> Lab {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        remove_orphans();
        let prefix = format!(
            "{PREFIX}{}x{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let lab = Lab {
            bridge: format!("{prefix}-br"),
            hosts: Vec::new(),
            mounts: Vec::new(),
        };
        run("ip", &["netns", "add", &lab.bridge]);
        let br = ["-n", lab.bridge.as_str()];
        run(
            "ip",
            &[&br[..], &["link", "add", "br0", "type", "bridge"]].concat(),
        );
        run("ip", &[&br[..], &["link", "set", "br0", "up"]].concat());
        run("ip", &[&br[..], &["link", "set", "lo", "up"]].concat());
        lab
    }

    /// Adds a host with its uplink and downlink shaped (0: unshaped).
    pub fn add_host(&mut self, upload_bps: u64, download_bps: u64) -> Host {
        let index = self.hosts.len() + 1;
        let ns = format!("{}-h{index}", self.bridge.trim_end_matches("-br"));
        let port = format!("v{index}");
        let ip = format!("{SUBNET}.{}.{}", index / 250, index % 250 + 1);
        run("ip", &["netns", "add", &ns]);
        let host = Host { ns, ip, port };
        self.hosts.push(host.clone());
        let br = self.bridge.as_str();
        let mac = mac_of(index);
        run(
            "ip",
            &[
                "-n", br, "link", "add", &host.port, "type", "veth", "peer", "name", "eth0",
                "address", &mac, "netns", &host.ns,
            ],
        );
        run(
            "ip",
            &["-n", br, "link", "set", &host.port, "master", "br0"],
        );
        run("ip", &["-n", br, "link", "set", &host.port, "up"]);
        let address = format!("{}/16", host.ip);
        run(
            "ip",
            &["-n", &host.ns, "addr", "add", &address, "dev", "eth0"],
        );
        run("ip", &["-n", &host.ns, "link", "set", "eth0", "up"]);
        run("ip", &["-n", &host.ns, "link", "set", "lo", "up"]);
        if upload_bps > 0 {
            shape(&host.ns, "eth0", upload_bps);
        }
        if download_bps > 0 {
            shape(&self.bridge, &host.port, download_bps);
        }
        self.pin_neighbours(&host, &mac);
        host
    }

    /// Permanent neighbour entries between `host` and every host before it. The kernel's
    /// ARP table is one for all namespaces (labs of concurrent tests add up), and past
    /// gc_thresh3 entries (1024 by default) it refuses new ones, so a host cannot even
    /// send a SYN; permanent entries are outside that count.
    fn pin_neighbours(&self, host: &Host, mac: &str) {
        let others = &self.hosts[..self.hosts.len() - 1];
        let mut lines = String::new();
        for (index, other) in others.iter().enumerate() {
            let other_mac = mac_of(index + 1);
            lines.push_str(&format!(
                "neigh replace {} lladdr {other_mac} dev eth0 nud permanent\n",
                other.ip
            ));
            run(
                "ip",
                &[
                    "-n",
                    &other.ns,
                    "neigh",
                    "replace",
                    &host.ip,
                    "lladdr",
                    mac,
                    "dev",
                    "eth0",
                    "nud",
                    "permanent",
                ],
            );
        }
        run_with_input("ip", &["-n", &host.ns, "-batch", "-"], &lines);
    }

    /// Mounts a tmpfs of `size` (`8m`) at `dir`, unmounted when the lab is dropped.
    pub fn mount_tmpfs(&mut self, dir: &Path, size: &str) {
        std::fs::create_dir_all(dir).unwrap();
        let mount = tmpfs(dir, size).expect("namespace tests run as root");
        self.mounts.push(mount);
    }

    /// Every host's (sent, received) bytes by bridge port, read in one `ip` call: what the
    /// port receives the host sent, and the other way round.
    pub fn counters(&self) -> BTreeMap<String, (u64, u64)> {
        let out = run("ip", &["-n", &self.bridge, "-s", "-j", "link", "show"]).stdout;
        let links: serde_json::Value = serde_json::from_slice(&out).unwrap();
        let mut by_port = BTreeMap::new();
        for link in links.as_array().into_iter().flatten() {
            let name = link["ifname"].as_str().unwrap_or("");
            let stats = &link["stats64"];
            if name.starts_with('v') {
                let rx = stats["rx"]["bytes"].as_u64().unwrap_or(0);
                let tx = stats["tx"]["bytes"].as_u64().unwrap_or(0);
                by_port.insert(name.to_string(), (rx, tx));
            }
        }
        by_port
    }

    /// Bytes `host` has received (all traffic, headers included).
    pub fn received_bytes(&self, host: &Host) -> u64 {
        self.counters().get(&host.port).map_or(0, |c| c.1)
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let namespaces: Vec<String> = self.hosts.iter().map(|h| h.ns.clone()).collect();
        for ns in namespaces.iter().chain([&self.bridge]) {
            kill_all_in(ns);
        }
        for mount in self.mounts.drain(..).rev() {
            drop(mount); // unmounted, newest first
        }
        for ns in namespaces.iter().chain([&self.bridge]) {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

/// A locally administered MAC for host `index` (as netns-run), so neighbours can be pinned.
fn mac_of(index: usize) -> String {
    format!("02:5a:00:00:{:02x}:{:02x}", index / 256, index % 256)
}

/// tbf at `bps`, with a burst of at least 4 ms of traffic and 64 KiB (as netns-run).
pub fn shape(ns: &str, device: &str, bps: u64) {
    let burst = (64 * 1024).max(bps / 8 / 250).to_string();
    let rate = format!("{bps}bit");
    run(
        "ip",
        &[
            "netns", "exec", ns, "tc", "qdisc", "replace", "dev", device, "root", "tbf", "rate",
            &rate, "burst", &burst, "latency", "100ms",
        ],
    );
}

fn kill_all_in(ns: &str) {
    let Some(out) = run_quiet("ip", &["netns", "pids", ns]) else {
        return;
    };
    for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
        let _ = Command::new("kill").args(["-9", pid]).status();
    }
}

/// Removes the namespaces of labs whose test process is gone (killed before its drop).
fn remove_orphans() {
    let Some(out) = run_quiet("ip", &["netns", "list"]) else {
        return;
    };
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let name = line.split_whitespace().next().unwrap_or("");
        let Some(rest) = name.strip_prefix(PREFIX) else {
            continue;
        };
        let pid: String = rest.chars().take_while(char::is_ascii_digit).collect();
        if !pid.is_empty() && !Path::new(&format!("/proc/{pid}")).exists() {
            kill_all_in(name);
            let _ = Command::new("ip").args(["netns", "del", name]).status();
        }
    }
}

/// Starts `program args` in `ns` (`ip netns exec` execs it: the child is the program),
/// stdout to `stdout`, stderr to `stderr`; killed (SIGKILL) and reaped when dropped.
pub fn spawn_in(ns: &str, program: &Path, args: &[&str], stdout: &Path, stderr: &Path) -> Reaper {
    let file = |p: &Path| {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(p)
            .unwrap()
    };
    let child = Command::new("ip")
        .args(["netns", "exec", ns])
        .arg(program)
        .args(args)
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(file(stdout))
        .stderr(file(stderr))
        .spawn()
        .unwrap_or_else(|e| panic!("ip netns exec {ns} {}: {e}", program.display()));
    Reaper(child)
}

/// `curl` in `ns`: the status code and body of one request (0 when nothing answered).
pub fn curl(
    ns: &str,
    method: &str,
    url: &str,
    headers: &[&str],
    body: Option<&str>,
) -> (u16, String) {
    let mut args = vec![
        "netns",
        "exec",
        ns,
        "curl",
        "-sS",
        "-m",
        "5",
        "-X",
        method,
        "-w",
        "\n%{http_code}",
    ];
    for header in headers {
        args.extend(["-H", header]);
    }
    if let Some(body) = body {
        args.extend([
            "-H",
            "Content-Type: application/json",
            "--data-binary",
            body,
        ]);
    }
    args.push(url);
    let Some(out) = run_quiet("ip", &args) else {
        return (0, String::new());
    };
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", ""));
    (code.trim().parse().unwrap_or(0), body.to_string())
}
