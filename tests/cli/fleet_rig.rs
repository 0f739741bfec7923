//! A fleet on loopback for the fleet tests: `swarm tracker` with a token, named agents,
//! `swarm publish`, each a child process of the built binary with its log in the test's
//! directory.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use super::support::{free_port, get_json, s, spawn, swarm_in, terminate, wait_for, Proc, Run};

/// The fleet token every process of the rig shares.
pub const TOKEN: &str = "fleet-token-0123456789abcdef";

/// A tracker and its agents.
pub struct Fleet {
    pub root: PathBuf,
    pub addr: SocketAddr,
    pub url: String,
    pub token: PathBuf,
    pub tracker: Option<Proc>,
    pub agents: Vec<(String, Proc)>,
}

impl Fleet {
    /// Starts a tracker with the token on a free port; files go under `root`.
    pub fn new(root: &Path) -> Fleet {
        let token = root.join("token");
        std::fs::write(&token, format!("{TOKEN}\n")).unwrap();
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

    /// (Re)starts the tracker on the same address and data directory.
    pub fn start_tracker(&mut self) {
        let (listen, data) = (self.addr.to_string(), self.root.join("manager"));
        let args = manager_argv(&listen, &data, &self.token);
        let log = self.root.join(format!("tracker-{}.log", free_port()));
        self.tracker = Some(spawn(&args, &log));
        let addr = self.addr;
        wait_for("the tracker", Duration::from_secs(20), || {
            get_json(addr, "/api/fleet").is_some()
        });
    }

    /// The tracker's process id.
    pub fn tracker_pid(&self) -> u32 {
        self.tracker
            .as_ref()
            .map(|p| p.0.id())
            .expect("tracker running")
    }

    /// Where agent `name` keeps its releases.
    pub fn agent_dir(&self, name: &str) -> PathBuf {
        self.root.join("agents").join(name)
    }

    /// Starts agent `name` with `label` and waits for its registration.
    pub fn start_agent(&mut self, name: &str, label: &str) {
        self.start_agent_with(name, label, &[]);
    }

    /// [`Self::start_agent`] with more flags (`--link-rate 100Mbit/s`).
    pub fn start_agent_with(&mut self, name: &str, label: &str, extra: &[&str]) {
        let dir = self.agent_dir(name);
        std::fs::create_dir_all(&dir).unwrap();
        let mut args = vec![
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
        args.extend_from_slice(extra);
        let log = self.root.join(format!("agent-{name}-{}.log", free_port()));
        self.agents.push((name.to_string(), spawn(&args, &log)));
        let addr = self.addr;
        wait_for("the agent's registration", Duration::from_secs(20), || {
            get_json(addr, "/api/fleet/hosts").is_some_and(|hosts| {
                hosts
                    .as_array()
                    .is_some_and(|h| h.iter().any(|h| h["name"] == name))
            })
        });
    }

    /// SIGKILLs agent `name`.
    pub fn kill_agent(&mut self, name: &str) {
        self.agents.retain(|(n, _)| n != name);
    }

    /// Stops agent `name` as systemd would (SIGTERM), waiting for it to exit.
    pub fn stop_agent(&mut self, name: &str) {
        let at = self.agents.iter().position(|(n, _)| n == name).unwrap();
        let (_, agent) = self.agents.remove(at);
        terminate(agent, Duration::from_secs(10));
    }

    /// `swarm publish FILE --channel CHANNEL EXTRA...` to completion.
    pub fn publish(&self, file: &Path, channel: &str, extra: &[&str]) -> Run {
        let mut args = self.publish_args(file, channel, extra);
        args.extend_from_slice(extra);
        swarm_in(&self.root, &args)
    }

    /// Publish's common arguments, in 64 KiB pieces unless `extra` gives a `--piece-size`.
    fn publish_args<'a>(
        &'a self,
        file: &'a Path,
        channel: &'a str,
        extra: &[&str],
    ) -> Vec<&'a str> {
        let mut args = publish_argv(file, &self.url, channel, &self.token);
        if !extra.contains(&"--piece-size") {
            args.extend(["--piece-size", "64KiB"]);
        }
        args
    }

    /// `swarm publish ... --wait --json EXTRA...` in the background: stderr to `log`,
    /// stdout to `log` with the extension `json`.
    pub fn publish_spawned(&self, file: &Path, channel: &str, extra: &[&str], log: &Path) -> Proc {
        let mut args = self.publish_args(file, channel, extra);
        args.extend_from_slice(&["--wait", "--json"]);
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

    /// `GET /api/fleet/rollouts/{id}`.
    pub fn rollout(&self, id: i64) -> Option<Value> {
        get_json(self.addr, &format!("/api/fleet/rollouts/{id}"))
    }
}

/// `swarm tracker --listen ADDR --data DIR --interval 2 --token-file TOKEN`: the manager
/// of a fleet test, on loopback or in namespaces.
pub fn manager_argv<'a>(listen: &'a str, data: &'a Path, token: &'a Path) -> [&'a str; 9] {
    [
        "tracker",
        "--listen",
        listen,
        "--data",
        s(data),
        "--interval",
        "2",
        "--token-file",
        s(token),
    ]
}

/// `swarm publish FILE --manager URL --channel CHANNEL --token-file TOKEN`: how every
/// publish of a fleet test starts, on loopback or in namespaces.
pub fn publish_argv<'a>(
    file: &'a Path,
    url: &'a str,
    channel: &'a str,
    token: &'a Path,
) -> Vec<&'a str> {
    vec![
        "publish",
        s(file),
        "--manager",
        url,
        "--channel",
        channel,
        "--token-file",
        s(token),
    ]
}

/// Host `name`'s placement in a rollout view.
#[track_caller]
pub fn placement<'a>(view: &'a Value, name: &str) -> &'a Value {
    view["hosts"]
        .as_array()
        .and_then(|h| h.iter().find(|h| h["host"] == name))
        .unwrap_or_else(|| panic!("{name} not in {view}"))
}
