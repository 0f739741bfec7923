//! A `swarm` process left running (a seed, a tracker) while a test talks to it: its stderr
//! is read line by line, and it is killed when the value is dropped.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long a test waits for an expected line.
pub const LINE_TIMEOUT: Duration = Duration::from_secs(60);

/// A running `swarm`.
#[derive(Debug)]
pub struct Background {
    child: Child,
    lines: mpsc::Receiver<String>,
    /// Every stderr line read so far.
    pub stderr: String,
}

impl Background {
    /// Starts `swarm ARGS` in `cwd` with `env` set (and `RUST_LOG` removed unless given).
    pub fn start(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Self {
        Self::start_to(cwd, args, env, Stdio::null())
    }

    /// As [`Background::start`], with stdout going to `stdout`.
    pub fn start_to(cwd: &Path, args: &[&str], env: &[(&str, &str)], stdout: Stdio) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_swarm"));
        command
            .args(args)
            .current_dir(cwd)
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(Stdio::piped());
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child = command.spawn().expect("start swarm");
        let stderr = child.stderr.take().expect("piped stderr");
        let (send, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        Background {
            child,
            lines,
            stderr: String::new(),
        }
    }

    /// Reads stderr until a line contains `needle`; returns that line. Panics, showing
    /// stderr, if the process exits or [`LINE_TIMEOUT`] passes first.
    #[track_caller]
    pub fn wait_for(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + LINE_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.stderr.push_str(&line);
                    self.stderr.push('\n');
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(_) => panic!("no line with {needle:?}; stderr:\n{}", self.stderr),
            }
        }
    }
}

impl Background {
    /// Sends SIGTERM (what Ctrl-C or systemd would) and returns the exit code; panics if
    /// it has not exited within [`LINE_TIMEOUT`].
    #[track_caller]
    pub fn terminate(&mut self) -> i32 {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status();
        assert!(sent.is_ok_and(|s| s.success()), "kill -TERM {pid}");
        let deadline = Instant::now() + LINE_TIMEOUT;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status.code().unwrap_or(-1);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("swarm did not stop on SIGTERM; stderr:\n{}", self.stderr);
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `swarm seed TORRENT PATH` on a free loopback port; returns it and its port.
pub fn seed(cwd: &Path, torrent: &str, path: &str) -> (Background, u16) {
    let mut seed = Background::start(
        cwd,
        &[
            "seed",
            torrent,
            path,
            "--listen",
            "127.0.0.1",
            "--port",
            "0",
        ],
        &[],
    );
    let port = seeding_port(&mut seed);
    (seed, port)
}

/// Waits for a seed's `seeding ... on port N; ...` line; returns N.
#[track_caller]
pub fn seeding_port(seed: &mut Background) -> u16 {
    let line = seed.wait_for("seeding ");
    line.split("on port ")
        .nth(1)
        .and_then(|rest| rest.split(';').next())
        .and_then(|port| port.trim().parse().ok())
        .unwrap_or_else(|| panic!("no port in {line:?}"))
}
