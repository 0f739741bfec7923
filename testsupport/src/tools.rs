//! Probes for what a test needs from the machine: the reference clients (libtorrent through
//! `/usr/bin/python3`, aria2c, mktorrent, opentracker, chromium), curl, network namespace
//! rights and a small tmpfs. A probe that finds nothing prints why the test is skipped and returns
//! `None`; when the env var `CI` is set it panics instead, so CI never passes a test it did
//! not run. Namespace tests also run only when asked (`SWARM_NETNS_TESTS=1`, as `.ci/run`
//! sets it).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// The Python that has Debian's `python3-libtorrent`.
pub const PYTHON: &str = "/usr/bin/python3";

/// The variable that asks for the network namespace tests.
pub const NETNS_OPT_IN: &str = "SWARM_NETNS_TESTS";

/// Whether this is a CI run (`CI` set, not empty, not `false`): missing tools fail there.
pub fn under_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false")
}

/// Says that a test is skipped because `what` is missing; panics under CI.
///
/// # Panics
/// Under CI, where every tool is installed and every test must run.
pub fn missing<T>(what: &str) -> Option<T> {
    assert!(!under_ci(), "{what} is required under CI (see .ci/run)");
    eprintln!("skipped: {what}");
    None
}

fn succeeds(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// `/usr/bin/python3` when it can import libtorrent.
pub fn libtorrent() -> Option<PathBuf> {
    static OK: OnceLock<bool> = OnceLock::new();
    if *OK.get_or_init(|| succeeds(PYTHON, &["-c", "import libtorrent"])) {
        Some(PathBuf::from(PYTHON))
    } else {
        missing("python3-libtorrent is not installed (/usr/bin/python3 -c 'import libtorrent')")
    }
}

/// `aria2c` on the PATH.
pub fn aria2c() -> Option<PathBuf> {
    if succeeds("aria2c", &["--version"]) {
        Some(PathBuf::from("aria2c"))
    } else {
        missing("aria2c is not installed (Debian: aria2)")
    }
}

/// `mktorrent` on the PATH (it exits non-zero on `-h`, but prints its usage).
pub fn mktorrent() -> Option<PathBuf> {
    let ok = Command::new("mktorrent")
        .arg("-h")
        .output()
        .is_ok_and(|o| o.status.success() || !o.stdout.is_empty());
    if ok {
        Some(PathBuf::from("mktorrent"))
    } else {
        missing("mktorrent is not installed")
    }
}

/// `opentracker` on the PATH.
pub fn opentracker() -> Option<PathBuf> {
    let found = std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path).any(|dir| dir.join("opentracker").is_file())
    });
    if found {
        Some(PathBuf::from("opentracker"))
    } else {
        missing("opentracker is not installed")
    }
}

/// `curl` on the PATH (the namespace tests talk HTTP from inside a namespace with it).
pub fn curl() -> Option<PathBuf> {
    if succeeds("curl", &["--version"]) {
        Some(PathBuf::from("curl"))
    } else {
        missing("curl is not installed")
    }
}

/// A headless Chromium (`chromium`, `chromium-browser` or `google-chrome`).
pub fn chromium() -> Option<PathBuf> {
    let found = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|name| succeeds(name, &["--version"]));
    match found {
        Some(name) => Some(PathBuf::from(name)),
        None => missing("chromium is not installed (Debian: chromium)"),
    }
}

/// `Some(())` when namespace tests were asked for and this user can make network
/// namespaces (probed once: tests run in parallel, and two probes with one name collide).
/// Not asked: the test says so and is skipped, under CI too (`.ci/run` asks).
///
/// # Panics
/// Asked for, but without the rights (root).
pub fn netns() -> Option<()> {
    if std::env::var_os(NETNS_OPT_IN).is_none_or(|v| v.is_empty() || v == "0") {
        eprintln!("skipped: network namespace tests run only when asked ({NETNS_OPT_IN}=1)");
        return None;
    }
    static CAN: OnceLock<bool> = OnceLock::new();
    let can = *CAN.get_or_init(|| {
        let name = format!("swprobe{}", std::process::id());
        let made = succeeds("ip", &["netns", "add", &name]);
        if made {
            let _ = Command::new("ip").args(["netns", "del", &name]).status();
        }
        made
    });
    assert!(
        can,
        "{NETNS_OPT_IN} is set but this user cannot create network namespaces (needs root)"
    );
    Some(())
}

/// A tmpfs of `size` (as `mount -o size=`, e.g. `1m`) mounted on `dir` until dropped.
#[derive(Debug)]
pub struct Tmpfs(PathBuf);

impl Drop for Tmpfs {
    fn drop(&mut self) {
        // Lazily: a process killed a moment ago may still hold a file open in it.
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Mounts a small tmpfs on `dir` (needs root); `None`, with a note, without the rights.
pub fn tmpfs(dir: &Path, size: &str) -> Option<Tmpfs> {
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
        .arg(dir)
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if mounted {
        Some(Tmpfs(dir.to_path_buf()))
    } else {
        missing("cannot mount a small tmpfs (needs root)")
    }
}
