//! The tracker in-process for the seeding tests: the tracker crate's own test server
//! (`tracker/tests/it/support/`, compiled in here), its manager's seeds run by the binary's
//! seeder (`src/cli/tracker_seed.rs`, compiled in here) as `swarm tracker` injects it. The
//! root crate links both tracker and net, so the tracker crate need not, even for tests.

// The tracker's harness is compiled whole; these tests use part of it.
#![allow(dead_code)]

use std::sync::Arc;

use swarm_tracker::TrackerConfig;

#[path = "../../tracker/tests/it/support/files.rs"]
mod files;
#[path = "../../tracker/tests/it/support/http.rs"]
mod http;
#[path = "../../tracker/tests/it/support/seeds.rs"]
mod seeds;
#[path = "../../tracker/tests/it/support/server.rs"]
mod server;
#[path = "../../src/cli/tracker_seed.rs"]
mod tracker_seed;

pub use files::{repoint, temp_dir, write_file};
pub use seeds::{register, stop_seed};
pub use server::{allowing, TestServer};

/// A tracker whose manager runs seeds with the binary's seeder, as `swarm tracker` does.
pub fn seeded(config: TrackerConfig) -> TestServer {
    TestServer::start_with(config, Some(Arc::new(tracker_seed::NetSeeder)))
}
