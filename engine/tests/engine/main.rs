//! The engine's integration tests, one binary with a module per area.

mod sans_io_guard;
mod swarm;
