//! swarm-net's integration tests, one binary with a module per area: transfers between our
//! own seeds and downloaders, faults (corrupt, killed and silent peers, interrupted
//! downloads, a dead tracker, a full disk), and interop with libtorrent and aria2c. All on
//! loopback.

#![allow(clippy::unwrap_used)]

mod common;
mod faults;
mod interop;
mod transfer;
