//! What swarm's integration tests share (`publish = false`; depends on no crate of ours, so
//! any crate's tests may use it): deterministic content, probes for the reference tools the
//! tests drive (a missing tool or right skips the test with a note, and fails it when `CI`
//! is set), and child processes that die with the test.

pub mod content;
pub mod process;
pub mod tools;
