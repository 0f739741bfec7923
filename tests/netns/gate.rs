//! The gate of every network-namespace test: they run only with `SWARM_NETNS_TESTS=1`
//! (`.ci/run` sets it), and then this user must be able to make namespaces — set but
//! unable (not root, no `ip`) is a failure, not a skip.

use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// Whether namespace tests should run: only with `SWARM_NETNS_TESTS=1`, and then this user
/// must be able to make namespaces (a failure, not a skip, when it cannot).
pub fn enabled() -> bool {
    if std::env::var("SWARM_NETNS_TESTS").as_deref() != Ok("1") {
        eprintln!("skipped: network-namespace tests run with SWARM_NETNS_TESTS=1 (root, iproute2)");
        return false;
    }
    assert!(
        can_make_namespaces(),
        "SWARM_NETNS_TESTS=1 but this user cannot create network namespaces \
         (needs root and iproute2's `ip`)"
    );
    true
}

/// Whether this user can make network namespaces; probed once (tests run in parallel, and
/// two probes with one name would collide).
fn can_make_namespaces() -> bool {
    static CAN: OnceLock<bool> = OnceLock::new();
    *CAN.get_or_init(|| {
        let name = format!("swprobe{}", std::process::id());
        let made = Command::new("ip")
            .args(["netns", "add", &name])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if made {
            let _ = Command::new("ip").args(["netns", "del", &name]).status();
        }
        made
    })
}
