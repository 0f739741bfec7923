//! End-to-end tests of the `swarm` binary: one test binary, a module per area. The
//! manager's seeding (`seeding`, `confine`) runs the tracker in-process with the binary's
//! seeder (`tracker_rig`), so the tracker crate does not link net, even for its tests.
//!
//! The interop tests need `/usr/bin/python3` with Debian's `python3-libtorrent` and
//! `mktorrent` (`.ci/run` installs both). Without them a test prints why and passes, except
//! under CI (`CI` set), where a missing tool is a failure. The tests on namespaced hosts
//! are the other test binary, `tests/netns.rs`.

#![allow(clippy::unwrap_used)] // in tests, a failed unwrap is a failed test

#[path = "cli/background.rs"]
mod background;
#[path = "cli/confine.rs"]
mod confine;
#[path = "cli/create.rs"]
mod create;
#[path = "cli/demo.rs"]
mod demo;
#[path = "cli/fleet.rs"]
mod fleet;
#[path = "cli/fleet_page.rs"]
mod fleet_page;
#[path = "cli/fleet_rig.rs"]
mod fleet_rig;
#[path = "cli/inspect.rs"]
mod inspect;
#[path = "cli/interop.rs"]
mod interop;
#[path = "cli/logs.rs"]
mod logs;
#[path = "cli/metrics.rs"]
mod metrics;
#[path = "cli/resume.rs"]
mod resume;
#[path = "cli/scenarios_doc.rs"]
mod scenarios_doc;
#[path = "cli/scripting.rs"]
mod scripting;
#[path = "cli/seeding.rs"]
mod seeding;
#[path = "cli/sim.rs"]
mod sim;
#[path = "cli/sim_exit.rs"]
mod sim_exit;
#[path = "cli/support.rs"]
mod support;
#[path = "cli/synopsis.rs"]
mod synopsis;
#[path = "cli/tracker_rig.rs"]
mod tracker_rig;
#[path = "cli/verify.rs"]
mod verify;
