//! What the binary says on stderr: info logs of long-running commands (plain text when
//! stderr is not a terminal, JSON with `--log-format json`, `RUST_LOG` overriding), errors
//! that say each cause once, and errors as JSON for `--json` commands.

use std::fs;

use serde_json::Value;

use crate::background::Background;
use crate::support::{get_args, s, swarm_in, write_random};

/// `swarm GLOBAL... tracker` on a free loopback port, until it says it listens; returns it
/// and that line.
fn tracker(dir: &std::path::Path, global: &[&str]) -> (Background, String) {
    let data = dir.join("data");
    let mut args = global.to_vec();
    args.extend_from_slice(&["tracker", "--listen", "127.0.0.1:0", "--data", s(&data)]);
    let mut tracker = Background::start(dir, &args, &[]);
    let line = tracker.wait_for("tracker listening");
    (tracker, line)
}

#[test]
fn the_tracker_logs_its_address_as_plain_text_when_stderr_is_not_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let (tracker, line) = tracker(dir.path(), &[]);
    assert!(line.contains("INFO"), "{line}");
    assert!(line.contains("local_addr=127.0.0.1:"), "{line}");
    assert!(
        !tracker.stderr.contains('\u{1b}'),
        "no ANSI codes: {:?}",
        tracker.stderr
    );
}

#[test]
fn the_tracker_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let (mut tracker, _) = tracker(dir.path(), &[]);
    // As systemd stops it: exit 0, not death by the signal (which would be -1 here).
    assert_eq!(tracker.terminate(), 0, "{}", tracker.stderr);
}

#[test]
fn log_format_json_writes_one_object_per_line() {
    let dir = tempfile::tempdir().unwrap();
    let (_tracker, line) = tracker(dir.path(), &["--log-format", "json"]);
    let event: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
    assert_eq!(event["level"], "INFO");
    assert_eq!(event["fields"]["message"], "tracker listening");
    assert!(event["fields"]["local_addr"]
        .as_str()
        .unwrap()
        .starts_with("127.0.0.1:"));
}

/// `dir/img` and `dir/img.torrent`.
fn torrent(dir: &std::path::Path) {
    write_random(&dir.join("img"), 40_000, 21);
    swarm_in(dir, &["create", "img", "-p", "16KiB"]).expect(0);
}

#[test]
fn get_logs_an_unreachable_tracker_and_rust_log_overrides_the_level() {
    let dir = tempfile::tempdir().unwrap();
    torrent(dir.path());
    // Nothing listens on port 1 of loopback.
    let args = get_args("out", &["--tracker", "http://127.0.0.1:1/announce"]);
    let mut get = Background::start(dir.path(), &args, &[]);
    let line = get.wait_for("announce failed");
    assert!(line.contains("tracker unreachable"), "{line}");
    // Logged when the node is up, which may come after its first announce.
    if !get.stderr.contains("INFO swarm::cli::get: listening") {
        get.wait_for("INFO swarm::cli::get: listening");
    }
    drop(get);

    // With RUST_LOG=warn the info lines are gone; a complete copy says so and seeds.
    fs::create_dir_all(dir.path().join("quiet")).unwrap();
    fs::copy(dir.path().join("img"), dir.path().join("quiet/img")).unwrap();
    let quiet_args = get_args("quiet", &["--peer", "127.0.0.1:1"]);
    let mut quiet = Background::start(dir.path(), &quiet_args, &[("RUST_LOG", "warn")]);
    quiet.wait_for("seeding; Ctrl-C stops");
    assert!(!quiet.stderr.contains("INFO"), "{}", quiet.stderr);
}

#[test]
fn an_error_says_its_cause_once() {
    let dir = tempfile::tempdir().unwrap();
    let run = swarm_in(dir.path(), &["create", "no-such-file"]).expect(2);
    assert_eq!(
        run.stderr.matches("No such file or directory").count(),
        1,
        "{}",
        run.stderr
    );
    torrent(dir.path());
    let run = swarm_in(
        dir.path(),
        &[
            "get",
            "img.torrent",
            "-o",
            "/proc/no/such/dir",
            "--peer",
            "127.0.0.1:1",
        ],
    )
    .expect(2);
    assert_eq!(
        run.stderr.matches("No such file or directory").count(),
        1,
        "{}",
        run.stderr
    );
}

#[test]
fn json_commands_report_errors_as_json_on_stdout_with_the_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["inspect", "missing.torrent", "--json"][..],
        &["verify", "missing.torrent", "x", "--json"],
        &["get", "missing.torrent", "--json"],
        &["sim", "missing.toml", "--json"],
        &["report", "missing.json", "--json"],
        // A usage error too.
        &["verify", "--json"],
    ] {
        let run = swarm_in(dir.path(), args).expect(2);
        let error = run.json();
        assert_eq!(error["event"], "error", "{args:?}");
        assert_eq!(error["exit_code"], 2, "{args:?}");
        assert!(!error["error"].as_str().unwrap().is_empty(), "{args:?}");
        assert!(run.stderr.contains("error"), "{args:?}: {}", run.stderr);
    }
    let run = swarm_in(dir.path(), &["inspect", "missing.torrent", "--json"]);
    assert!(
        run.json()["error"]
            .as_str()
            .unwrap()
            .contains("missing.torrent"),
        "{}",
        run.stdout
    );
}
