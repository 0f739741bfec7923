//! Test harness, one import for the tests (`use crate::support::*`): a tracker on
//! `127.0.0.1:0` (`server`) and a tiny HTTP client (`http`), test files (`files`),
//! bencode helpers (`bencode`) and the seeding calls (`seeds`). The tracker here runs no
//! seeds; the tests that seed with the real runtime are the root crate's
//! (`tests/cli/seeding.rs`, `tests/cli/confine.rs`), whose `tests/cli/tracker_rig.rs`
//! compiles all of this but `bencode` and injects the binary's seeder.

mod bencode;
mod files;
mod http;
mod seeds;
mod server;

pub use bencode::*;
pub use files::*;
pub use http::*;
pub use seeds::*;
pub use server::*;
