//! A fleet on a [`Lab`]: the manager (`swarm tracker`, unshaped), the origin (where
//! `swarm publish` runs) and agents in two label sets (`role=a`, `role=b`), each in its own
//! namespace with shaped links, all of them real processes of the built binary. The test
//! reads the manager with `curl` from the manager's namespace.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;

use swarm_testsupport::content::write_large;
use swarm_testsupport::process::{wait_for, Reaper};

use super::lab::{curl, spawn_in, Host, Lab};
use crate::fleet_rig::{manager_argv, publish_argv};
use crate::support::s;

/// The manager's port.
pub const MANAGER_PORT: u16 = 6969;
/// The token every honest party holds.
const TOKEN: &str = "fleet-token-netns-0123456789abcdef";

/// How a fleet is shaped.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    /// Agents, half `role=a` (`a1`, `a2`, …), half `role=b`.
    pub agents: usize,
    /// Every agent's uplink and downlink, bits per second.
    pub link_bps: u64,
    /// The origin's uplink and downlink, bits per second.
    pub origin_bps: u64,
    /// `swarm publish --piece-size`.
    pub piece_size: &'static str,
}

/// One agent.
#[derive(Debug)]
pub struct Agent {
    /// Its name (`a1`).
    pub name: String,
    /// Its label (`role=a`).
    pub label: String,
    /// Its namespace.
    pub host: Host,
    /// Its `--dir`.
    pub dir: PathBuf,
    proc: Option<Reaper>,
}

/// A finished `swarm publish`.
#[derive(Debug)]
pub struct Published {
    /// Its exit code.
    pub code: i32,
    /// Its stderr.
    pub stderr: String,
    /// Its stdout as JSON (`--json`), if any.
    pub json: Option<Value>,
}

/// The fleet. Fields drop in order: processes first, then the lab (namespaces, mounts),
/// then the files.
#[derive(Debug)]
pub struct FleetLab {
    manager_proc: Option<Reaper>,
    /// The agents.
    pub agents: Vec<Agent>,
    /// The namespaces.
    pub lab: Lab,
    /// The manager's host.
    pub manager: Host,
    /// The origin's host.
    pub origin: Host,
    /// The manager's URL.
    pub url: String,
    /// The fleet token's file.
    pub token: PathBuf,
    /// The spec.
    pub spec: Spec,
    swarm: PathBuf,
    /// Logs, data and content.
    pub root: tempfile::TempDir,
}

impl FleetLab {
    /// Builds the namespaces, starts the manager and every agent, and waits until every
    /// agent has registered.
    pub fn new(spec: Spec) -> FleetLab {
        let root = tempfile::tempdir().unwrap();
        let mut lab = Lab::new();
        let manager = lab.add_host(0, 0);
        let origin = lab.add_host(spec.origin_bps, spec.origin_bps);
        let token = root.path().join("token");
        std::fs::write(&token, format!("{TOKEN}\n")).unwrap();
        std::fs::create_dir_all(root.path().join("logs")).unwrap();
        let agents = (0..spec.agents)
            .map(|i| {
                let (set, n) = if i < spec.agents / 2 {
                    ("a", i + 1)
                } else {
                    ("b", i + 1 - spec.agents / 2)
                };
                let name = format!("{set}{n}");
                Agent {
                    dir: root.path().join("agents").join(&name),
                    label: format!("role={set}"),
                    name,
                    host: lab.add_host(spec.link_bps, spec.link_bps),
                    proc: None,
                }
            })
            .collect();
        let mut fleet = FleetLab {
            manager_proc: None,
            agents,
            lab,
            url: format!("http://{}:{MANAGER_PORT}", manager.ip),
            manager,
            origin,
            token,
            spec,
            swarm: PathBuf::from(env!("CARGO_BIN_EXE_swarm")),
            root,
        };
        fleet.start_manager();
        for i in 0..fleet.agents.len() {
            fleet.start_agent(i);
        }
        let names: Vec<String> = fleet.agents.iter().map(|a| a.name.clone()).collect();
        wait_for(
            "every agent's registration",
            Duration::from_secs(30),
            || {
                fleet
                    .registered()
                    .is_some_and(|r| names.iter().all(|n| r.contains(n)))
            },
        );
        fleet
    }

    fn log(&self, name: &str) -> PathBuf {
        self.root.path().join("logs").join(format!("{name}.log"))
    }

    /// Starts (or restarts, on the same data) the manager and waits until it answers.
    pub fn start_manager(&mut self) {
        let listen = format!("{}:{MANAGER_PORT}", self.manager.ip);
        let data = self.root.path().join("manager");
        let args = manager_argv(&listen, &data, &self.token);
        let log = self.log("manager");
        self.manager_proc = Some(spawn_in(&self.manager.ns, &self.swarm, &args, &log, &log));
        wait_for("the manager", Duration::from_secs(20), || {
            self.get("/api/fleet").is_some()
        });
    }

    /// `kill -9` the manager.
    pub fn kill_manager(&mut self) {
        if let Some(proc) = self.manager_proc.take() {
            drop(proc); // SIGKILL
        }
    }

    /// The arguments that start agent `i`.
    fn agent_args(&self, i: usize) -> Vec<String> {
        let agent = &self.agents[i];
        let link = format!("{}bps", self.spec.link_bps);
        [
            "agent",
            "--manager",
            &self.url,
            "--dir",
            s(&agent.dir),
            "--name",
            &agent.name,
            "--label",
            &agent.label,
            "--token-file",
            s(&self.token),
            "--listen",
            &agent.host.ip,
            "--port",
            "6881",
            "--link-rate",
            &link,
        ]
        .iter()
        .map(|a| a.to_string())
        .collect()
    }

    /// Starts agent `i` (its registration is not awaited).
    pub fn start_agent(&mut self, i: usize) {
        let args = self.agent_args(i);
        self.start_agent_with(i, &args);
    }

    /// Starts agent `i` with these arguments.
    pub fn start_agent_with(&mut self, i: usize, args: &[String]) {
        std::fs::create_dir_all(&self.agents[i].dir).unwrap();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let log = self.log(&self.agents[i].name);
        let proc = spawn_in(&self.agents[i].host.ns, &self.swarm, &args, &log, &log);
        self.agents[i].proc = Some(proc);
    }

    /// Agent `i`'s arguments with another token file.
    pub fn agent_args_with_token(&self, i: usize, token: &Path) -> Vec<String> {
        let mut args = self.agent_args(i);
        let at = args.iter().position(|a| a == "--token-file").unwrap() + 1;
        args[at] = s(token).to_string();
        args
    }

    /// `kill -9` agent `i`.
    pub fn kill_agent(&mut self, i: usize) {
        if let Some(proc) = self.agents[i].proc.take() {
            drop(proc); // SIGKILL
        }
    }

    /// The index of the agent called `name`.
    pub fn agent(&self, name: &str) -> usize {
        self.agents.iter().position(|a| a.name == name).unwrap()
    }

    /// `GET path` on the manager, JSON; `None` unless it answered 200.
    pub fn get(&self, path: &str) -> Option<Value> {
        let (code, body) = curl(
            &self.manager.ns,
            "GET",
            &format!("{}{path}", self.url),
            &[],
            None,
        );
        (code == 200)
            .then(|| serde_json::from_str(&body).ok())
            .flatten()
    }

    /// A request with a bearer token, from the origin's namespace: its status code.
    pub fn request(&self, method: &str, path: &str, token: &str, body: &str) -> u16 {
        let auth = format!("Authorization: Bearer {token}");
        let url = format!("{}{path}", self.url);
        curl(&self.origin.ns, method, &url, &[&auth], Some(body)).0
    }

    /// The names of the registered hosts.
    pub fn registered(&self) -> Option<Vec<String>> {
        let hosts = self.get("/api/fleet/hosts")?;
        Some(
            hosts
                .as_array()?
                .iter()
                .filter_map(|h| h["name"].as_str().map(str::to_string))
                .collect(),
        )
    }

    /// Rollout `id`.
    pub fn rollout(&self, id: i64) -> Option<Value> {
        self.get(&format!("/api/fleet/rollouts/{id}"))
    }

    /// Writes `size` pseudo-random bytes under the lab's root; returns the path.
    pub fn content(&self, name: &str, size: usize, seed: u64) -> PathBuf {
        let path = self.root.path().join("build").join(name);
        write_large(&path, size, seed);
        path
    }

    /// Starts `swarm publish FILE --wait --json` on the origin with `extra` arguments.
    pub fn publish(&self, file: &Path, channel: &str, extra: &[&str]) -> Reaper {
        self.publish_with_token(file, channel, &self.token, extra)
    }

    /// [`Self::publish`] with another token file.
    pub fn publish_with_token(
        &self,
        file: &Path,
        channel: &str,
        token: &Path,
        extra: &[&str],
    ) -> Reaper {
        let origin_rate = format!("{}bps", self.spec.origin_bps);
        let mut args = publish_argv(file, &self.url, channel, token);
        args.extend_from_slice(&[
            "--piece-size",
            self.spec.piece_size,
            "--origin-rate",
            &origin_rate,
            "--wait",
            "--json",
        ]);
        args.extend_from_slice(extra);
        let name = file.file_name().unwrap().to_str().unwrap();
        let out = self.log(&format!("publish-{name}.json"));
        let err = self.log(&format!("publish-{name}"));
        let _ = std::fs::remove_file(&out);
        let _ = std::fs::remove_file(&err);
        spawn_in(&self.origin.ns, &self.swarm, &args, &out, &err)
    }

    /// Waits for a publish started by [`Self::publish`] to exit.
    pub fn finish(&self, mut proc: Reaper, file: &Path, limit: Duration) -> Published {
        let start = Instant::now();
        let status = loop {
            if let Some(status) = proc.0.try_wait().unwrap() {
                break status;
            }
            assert!(
                start.elapsed() < limit,
                "publish still running after {limit:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        let name = file.file_name().unwrap().to_str().unwrap();
        let stderr = std::fs::read_to_string(self.log(&format!("publish-{name}"))).unwrap();
        let out = std::fs::read_to_string(self.log(&format!("publish-{name}.json")));
        Published {
            code: status.code().unwrap_or(-1),
            stderr,
            json: out.ok().and_then(|t| serde_json::from_str(&t).ok()),
        }
    }

    /// Where agent `i` keeps `channel/name`.
    pub fn copy(&self, i: usize, channel: &str, name: &str) -> PathBuf {
        self.agents[i].dir.join(channel).join(name)
    }

    /// The indexes of the agents labelled `role=SET`.
    pub fn set(&self, set: &str) -> Vec<usize> {
        let label = format!("role={set}");
        (0..self.agents.len())
            .filter(|&i| self.agents[i].label == label)
            .collect()
    }
}
