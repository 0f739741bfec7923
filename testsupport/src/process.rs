//! Child processes that die with the test, their output, free ports and polling.

use std::io::{BufRead, BufReader};
use std::process::Child;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Kills and reaps the child when dropped, however the test ends.
#[derive(Debug)]
pub struct Reaper(pub Child);

impl Drop for Reaper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Lines a child printed, collected by a background thread.
pub type Lines = Arc<Mutex<Vec<String>>>;

/// Collects the rest of `reader`'s lines in the background.
pub fn collect_lines(reader: impl std::io::Read + Send + 'static) -> Lines {
    let lines = Lines::default();
    let sink = Arc::clone(&lines);
    std::thread::spawn(move || {
        for line in BufReader::new(reader).lines().map_while(Result::ok) {
            sink.lock().unwrap_or_else(|e| e.into_inner()).push(line);
        }
    });
    lines
}

/// A port that was free on 127.0.0.1 a moment ago.
///
/// # Panics
/// When no port can be bound on loopback.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind 127.0.0.1:0")
        .port()
}

/// Polls `check` every 250 ms until it holds.
///
/// # Panics
/// When it does not hold within `timeout`.
#[track_caller]
pub fn wait_for(what: &str, timeout: Duration, check: impl FnMut() -> bool) {
    assert!(wait_until(timeout, check), "timed out waiting for {what}");
}

/// Polls `check` every 250 ms until it holds (true) or `timeout` passes (false), for
/// callers that explain a timeout themselves.
pub fn wait_until(timeout: Duration, mut check: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while !check() {
        if start.elapsed() >= timeout {
            return false;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    true
}
