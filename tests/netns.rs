//! The tests on a namespaced network: each host in a network namespace of its own with
//! tc-shaped links, every process a real one of the built binary. They run only with
//! `SWARM_NETNS_TESTS=1` (as root: `.ci/run` sets it); see
//! [`swarm_testsupport::tools::netns`]. Without it each prints why and passes.
//!
//! They are a test binary of their own, apart from `tests/cli.rs`, on purpose: they check
//! timings (makespan against the bound, the simulator's prediction), so they need the
//! machine to themselves, and cargo runs one test binary after another while the tests of
//! one binary run side by side. Within this binary, [`one_at_a_time`] serializes them.
//!
//! - [`proof`]: `scripts/netns-run` against the simulator's prediction of the same scenario.
//! - [`fleet`]: the manager, an origin and agents in two label sets (issue 11's tests);
//!   [`fleet_bench`], its measurement (`#[ignore]`d).
//! - [`lab`]: namespaces, shaping and byte counters; [`fleet_lab`]: a fleet on a lab.

#![allow(clippy::unwrap_used)] // in tests, a failed unwrap is a failed test

#[path = "netns/fleet.rs"]
mod fleet;
#[path = "netns/fleet_bench.rs"]
mod fleet_bench;
#[path = "netns/fleet_lab.rs"]
mod fleet_lab;
#[path = "netns/lab.rs"]
mod lab;
#[path = "netns/proof.rs"]
mod proof;

// The CLI suite's process and fleet helpers; this binary uses only some of them.
#[allow(dead_code)]
#[path = "cli/fleet_rig.rs"]
mod fleet_rig;
#[allow(dead_code, unused_imports)]
#[path = "cli/support.rs"]
mod support;

use std::sync::{Mutex, MutexGuard};

/// One namespaced run at a time: two would share the machine's two cores and skew each
/// other's measurements.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Holds the namespaces until dropped (a test that panicked while holding them does not
/// stop the next one).
fn one_at_a_time() -> MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}
