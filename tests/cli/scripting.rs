//! Scripting `swarm get`: JSON event lines, the `--on-complete` program (its argument,
//! variables, failure and timeout), and `--version`.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use serde_json::Value;

use crate::background::{seed, Background};
use crate::support::{get_args, s, swarm_in, write_random, Run};

/// Writes an executable shell script `name` into `dir`.
fn script(dir: &Path, name: &str, body: &str) -> String {
    let path = dir.join(name);
    fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    s(&path).to_string()
}

/// Every stdout line parsed as JSON.
#[track_caller]
fn json_lines(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line:?}"))
        })
        .collect()
}

fn events<'a>(lines: &'a [Value], event: &str) -> Vec<&'a Value> {
    lines.iter().filter(|l| l["event"] == event).collect()
}

/// `dir/src/img` (`len` bytes) and `dir/img.torrent` in 16 KiB pieces.
fn content(dir: &Path, len: usize) -> Vec<u8> {
    let bytes = write_random(&dir.join("src/img"), len, 11);
    swarm_in(
        dir,
        &["create", "src/img", "-p", "16KiB", "-o", "img.torrent"],
    )
    .expect(0);
    bytes
}

/// `content` with a complete copy already in `dir/out`.
fn complete_copy(dir: &Path, len: usize) {
    content(dir, len);
    fs::create_dir(dir.join("out")).unwrap();
    fs::copy(dir.join("src/img"), dir.join("out/img")).unwrap();
}

/// `swarm get img.torrent -o out --exit-when-done EXTRA...` in `dir`.
fn get_complete(dir: &Path, extra: &[&str]) -> Run {
    let mut args = vec!["get", "img.torrent", "-o", "out", "--exit-when-done"];
    args.extend_from_slice(extra);
    swarm_in(dir, &args)
}

#[test]
fn get_json_prints_events_and_a_summary_and_runs_the_hook_with_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = content(dir.path(), 3_000_000);
    let (_seed, port) = seed(dir.path(), "img.torrent", "src/img");
    let seen = dir.path().join("hook-saw");
    let hook = script(
        dir.path(),
        "hook.sh",
        &format!(
            "echo \"$1|$SWARM_PATH|$SWARM_INFO_HASH|$SWARM_NAME|$SWARM_TOTAL_BYTES\" > {}\n\
             echo hook output goes to stderr",
            s(&seen)
        ),
    );
    let peer = format!("127.0.0.1:{port}");
    let run = swarm_in(
        dir.path(),
        &get_args(
            "out",
            &[
                "--peer",
                &peer,
                "--exit-when-done",
                "--json",
                "--on-complete",
                &hook,
            ],
        ),
    )
    .expect(0);
    assert_eq!(fs::read(dir.path().join("out/img")).unwrap(), bytes);
    let lines = json_lines(&run.stdout);
    assert_eq!(lines[0]["event"], "started", "{}", run.stdout);
    assert_eq!(lines[0]["total_bytes"], 3_000_000);
    let info_hash = lines[0]["info_hash"].as_str().unwrap().to_string();
    assert_eq!(info_hash.len(), 40);
    let progress = events(&lines, "progress");
    assert!(!progress.is_empty(), "{}", run.stdout);
    for key in [
        "elapsed_s",
        "verified_pieces",
        "verified_bytes",
        "downloaded_bytes",
        "uploaded_bytes",
        "download_bps",
        "upload_bps",
        "peers",
    ] {
        assert!(progress[0].get(key).is_some(), "progress has {key}");
    }
    let hook_event = events(&lines, "on-complete");
    assert_eq!(hook_event.len(), 1, "{}", run.stdout);
    assert_eq!(hook_event[0]["ok"], true);
    let summary = lines.last().unwrap();
    assert_eq!(summary["event"], "summary", "{}", run.stdout);
    assert_eq!(summary["complete"], true);
    assert_eq!(summary["verified_pieces"], summary["piece_count"]);
    assert_eq!(summary["downloaded_bytes"], 3_000_000);
    assert!(summary["path"].as_str().unwrap().ends_with("out/img"));
    assert!(summary["elapsed_s"].as_f64().unwrap() > 0.0);

    let absolute = fs::canonicalize(dir.path().join("out/img")).unwrap();
    let absolute = s(&absolute);
    assert_eq!(
        fs::read_to_string(&seen).unwrap().trim(),
        format!("{absolute}|{absolute}|{info_hash}|img|3000000")
    );
    assert!(
        run.stderr.contains("hook output goes to stderr"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_failing_hook_is_reported_and_exits_3() {
    let dir = tempfile::tempdir().unwrap();
    complete_copy(dir.path(), 100_000);
    let hook = script(dir.path(), "fail.sh", "exit 4");
    let run = get_complete(dir.path(), &["--json", "--on-complete", &hook]).expect(3);
    assert!(
        run.stderr.contains("failed: it exited with code 4"),
        "{}",
        run.stderr
    );
    let lines = json_lines(&run.stdout);
    let hook_event = events(&lines, "on-complete");
    assert_eq!(hook_event[0]["ok"], false);
    assert_eq!(hook_event[0]["exit_code"], 4);
    // The copy is verified whatever the hook did.
    assert_eq!(lines.last().unwrap()["complete"], true);

    let missing = get_complete(dir.path(), &["--on-complete", "./no-such-program"]).expect(3);
    assert!(
        missing.stderr.contains("cannot run it"),
        "{}",
        missing.stderr
    );
}

#[test]
fn a_hook_past_its_timeout_is_killed() {
    let dir = tempfile::tempdir().unwrap();
    complete_copy(dir.path(), 50_000);
    let hook = script(dir.path(), "slow.sh", "exec sleep 30");
    let started = std::time::Instant::now();
    let run = get_complete(
        dir.path(),
        &["--on-complete", &hook, "--on-complete-timeout", "1s"],
    )
    .expect(3);
    assert!(run.stderr.contains("killed after 1s"), "{}", run.stderr);
    assert!(
        started.elapsed().as_secs() < 20,
        "it did not wait for the hook"
    );
}

#[test]
fn an_interrupted_get_json_ends_with_an_incomplete_summary_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    content(dir.path(), 100_000);
    let stdout = fs::File::create(dir.path().join("stdout")).unwrap();
    // Nothing listens on port 1: no peer ever sends a piece.
    let args = get_args("out", &["--peer", "127.0.0.1:1", "--json"]);
    let mut get = Background::start_to(dir.path(), &args, &[], stdout.into());
    get.wait_for("INFO swarm::cli::get: listening");
    assert_eq!(get.terminate(), 1, "{}", get.stderr);
    let lines = json_lines(&fs::read_to_string(dir.path().join("stdout")).unwrap());
    assert_eq!(lines[0]["event"], "started");
    let summary = lines.last().unwrap();
    assert_eq!(summary["event"], "summary", "{lines:?}");
    assert_eq!(summary["complete"], false);
    assert_eq!(summary["verified_pieces"], 0);
    assert!(
        summary["path"].as_str().unwrap().ends_with("img.part"),
        "{summary}"
    );
}

#[test]
fn version_names_the_crate_version_and_the_commit() {
    let dir = tempfile::tempdir().unwrap();
    let run = swarm_in(dir.path(), &["--version"]).expect(0);
    let line = run.stdout.trim();
    assert!(
        line.starts_with(&format!("swarm {} (commit ", env!("CARGO_PKG_VERSION"))),
        "{line}"
    );
    let head = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output();
    match head {
        Ok(out) if out.status.success() => {
            let hash = String::from_utf8_lossy(&out.stdout).trim().to_string();
            assert!(
                line.ends_with(&format!("(commit {hash})")),
                "{line} vs {hash}"
            );
        }
        _ => assert!(line.ends_with("(commit unknown)"), "{line}"),
    }
}
