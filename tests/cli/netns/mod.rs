//! The tests on a namespaced network: each host in a network namespace of its own with
//! tc-shaped links, every process a real one of the built binary. They run only with
//! `SWARM_NETNS_TESTS=1` (as root: `.ci/run` sets it); see
//! [`swarm_testsupport::tools::netns`]. Without it each prints why and passes.
//!
//! - [`proof`]: `scripts/netns-run` against the simulator's prediction of the same scenario.
//! - [`fleet`]: the manager, an origin and agents in two label sets (issue 11's tests);
//!   [`fleet_bench`], its measurement (`#[ignore]`d).
//! - [`lab`]: namespaces, shaping and byte counters; [`fleet_lab`]: a fleet on a lab.

mod fleet;
mod fleet_bench;
mod fleet_lab;
mod lab;
mod proof;

use std::sync::{Mutex, MutexGuard};

/// One namespaced run at a time: two would share the machine's two cores and skew each
/// other's measurements.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Holds the namespaces until dropped (a test that panicked while holding them does not
/// stop the next one).
fn one_at_a_time() -> MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}
