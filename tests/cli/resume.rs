//! Resume records: `swarm seed` and `swarm get` hash a known-good copy once, then trust
//! `DIR/.NAME.swarm-resume` while the files keep their size and modification time.

use std::fs::{self, File};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, SystemTime};

use crate::support::{flip_byte, s, swarm_in, write_random};

/// How a run ended: it got ready (serving, or waiting for peers; then killed), or it
/// stopped by itself with an exit code.
#[derive(Debug, PartialEq)]
enum Ended {
    Ready,
    Exited(i32),
}

/// Runs `swarm seed ARGS` on a free loopback port in `cwd` until it says it is serving
/// (then kills it) or exits; returns how it ended and its stderr.
fn seed(cwd: &Path, args: &[&str]) -> (Ended, String) {
    let mut full = vec!["seed"];
    full.extend_from_slice(args);
    full.extend_from_slice(&["--listen", "127.0.0.1", "--port", "0"]);
    run_until(cwd, &full, "seeding ")
}

/// Runs `swarm ARGS` in `cwd` until a stderr line starts with `ready` (then kills it:
/// [`Ended::Ready`]) or it exits; returns how it ended and its stderr.
fn run_until(cwd: &Path, args: &[&str], ready: &str) -> (Ended, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_swarm"))
        .args(args)
        .current_dir(cwd)
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run swarm seed");
    let stderr = child.stderr.take().unwrap();
    let (lines, received) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    let mut text = String::new();
    loop {
        match received.recv_timeout(Duration::from_secs(60)) {
            Ok(line) => {
                text.push_str(&line);
                text.push('\n');
                if line.starts_with(ready) {
                    child.kill().unwrap();
                    child.wait().unwrap();
                    return (Ended::Ready, text);
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                let code = child.wait().unwrap().code().unwrap_or(-1);
                return (Ended::Exited(code), text);
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                child.kill().unwrap();
                child.wait().unwrap();
                panic!("swarm {args:?} neither got ready nor exited in 60 s; stderr:\n{text}");
            }
        }
    }
}

fn modified(path: &Path) -> SystemTime {
    fs::metadata(path).unwrap().modified().unwrap()
}

fn set_modified(path: &Path, time: SystemTime) {
    File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(time)
        .unwrap();
}

const SKIPPED: &str = "unchanged since it was verified";

#[test]
fn seed_checks_once_then_trusts_its_record_until_the_file_changes() {
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("img");
    write_random(&img, 200_000, 5);
    swarm_in(dir.path(), &["create", "img", "-p", "16KiB"]).expect(0);
    let record = dir.path().join(".img.swarm-resume");

    let (ended, stderr) = seed(dir.path(), &["img.torrent", "img"]);
    assert_eq!(ended, Ended::Ready, "{stderr}");
    assert!(stderr.contains("all 13 pieces intact"), "{stderr}");
    assert!(!stderr.contains(SKIPPED), "{stderr}");
    assert!(record.exists(), "a complete copy is recorded");

    // The directory holding the file names the same record.
    let (ended, stderr) = seed(dir.path(), &["img.torrent", "."]);
    assert_eq!(ended, Ended::Ready, "{stderr}");
    assert!(stderr.contains(SKIPPED), "{stderr}");
    assert!(stderr.contains(".img.swarm-resume"), "{stderr}");
    assert!(
        stderr.contains("check skipped, --recheck to force"),
        "{stderr}"
    );
    assert!(!stderr.contains("pieces intact"), "{stderr}");

    let (ended, stderr) = seed(dir.path(), &["img.torrent", "img", "--recheck"]);
    assert_eq!(ended, Ended::Ready, "{stderr}");
    assert!(stderr.contains("all 13 pieces intact"), "{stderr}");
    assert!(!stderr.contains(SKIPPED), "{stderr}");

    // A changed file voids the record: the check runs again and finds the damage.
    let before = modified(&img);
    flip_byte(&img, 5 * 16384 + 77);
    set_modified(&img, before + Duration::from_secs(1));
    let (ended, stderr) = seed(dir.path(), &["img.torrent", "img"]);
    assert_eq!(ended, Ended::Exited(2), "{stderr}");
    assert!(!stderr.contains(SKIPPED), "{stderr}");
    assert!(
        stderr.contains("not a complete copy (12 of 13 pieces good, 1 bad"),
        "{stderr}"
    );
}

#[test]
fn seed_of_a_corrupt_record_checks_in_full() {
    let dir = tempfile::tempdir().unwrap();
    write_random(&dir.path().join("img"), 50_000, 6);
    swarm_in(dir.path(), &["create", "img", "-p", "16KiB"]).expect(0);
    fs::write(dir.path().join(".img.swarm-resume"), b"{ not json").unwrap();
    let (ended, stderr) = seed(dir.path(), &["img.torrent", "img"]);
    assert_eq!(ended, Ended::Ready, "{stderr}");
    assert!(
        stderr.contains("is corrupt"),
        "a warning names it: {stderr}"
    );
    assert!(stderr.contains("all 4 pieces intact"), "{stderr}");
    // The check rewrote it.
    let (_, stderr) = seed(dir.path(), &["img.torrent", "img"]);
    assert!(stderr.contains(SKIPPED), "{stderr}");
}

#[test]
fn get_of_a_recorded_complete_copy_exits_without_hashing() {
    let dir = tempfile::tempdir().unwrap();
    write_random(&dir.path().join("src/img"), 200_000, 7);
    swarm_in(
        dir.path(),
        &["create", "src/img", "-p", "16KiB", "-o", "img.torrent"],
    )
    .expect(0);
    let out = dir.path().join("out");
    fs::create_dir(&out).unwrap();
    fs::copy(dir.path().join("src/img"), out.join("img")).unwrap();
    let get = || {
        swarm_in(
            dir.path(),
            &["get", "img.torrent", "-o", s(&out), "--exit-when-done"],
        )
    };

    // No record yet: hashed, found complete, recorded.
    let run = get().expect(0);
    assert!(
        run.stderr.contains("13 of 13 pieces already verified"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains(SKIPPED), "{}", run.stderr);
    assert!(out.join(".img.swarm-resume").exists());

    let run = get().expect(0);
    assert!(run.stderr.contains(SKIPPED), "{}", run.stderr);
    assert!(run.stderr.contains("is complete"), "{}", run.stderr);

    // Proof that nothing was hashed, and the documented limit: an edit that keeps size
    // and modification time is not seen by the record (`swarm verify` still sees it).
    let before = modified(&out.join("img"));
    flip_byte(&out.join("img"), 3 * 16384);
    set_modified(&out.join("img"), before);
    let run = get().expect(0);
    assert!(run.stderr.contains(SKIPPED), "{}", run.stderr);
    swarm_in(dir.path(), &["verify", "img.torrent", s(&out.join("img"))]).expect(1);

    // `--recheck` drops the record and hashes: the damaged piece is found and, with no
    // peer to fetch it from, the download waits for one (stopped here).
    let (ended, stderr) = run_until(
        dir.path(),
        &[
            "get",
            "img.torrent",
            "-o",
            s(&out),
            "--recheck",
            "--port",
            "0",
        ],
        "resuming:",
    );
    assert_eq!(ended, Ended::Ready, "{stderr}");
    assert!(
        stderr.contains("12 of 13 pieces already verified"),
        "{stderr}"
    );
}
