//! # swarm-net: the real runtime
//!
//! Real I/O around the sans-IO engine: disk, hashing threads, TCP and the HTTP tracker
//! client. Hashing and disk never run on an event loop, and memory stays bounded whatever
//! the file size.
//!
//! - [`create`]: make a torrent from a file or directory.
//! - [`verify`](mod@verify): check a local copy against a torrent.
//! - [`hashing`]: the bounded parallel piece-hashing pipeline both use.
//! - [`host`]: the actix runtime: a supervisor, one node actor per torrent, one listener
//!   and one port for all; [`runner`]: one torrent on a host of its own.
//! - [`node`]: one torrent: options and status, the node actor, command interpretation,
//!   the announcer. `listener`: accepts and routes connections by info-hash.
//! - `conn`: a connection's reader and writer tasks; `event`: what reaches a node actor.
//! - [`storage`]: positioned reads and writes into preallocated files.
//! - `disk`: the threads that run disk I/O and hashing for a running node.
//! - `piece_hash`: SHA-1 of pieces computed as their blocks are written.
//! - [`announce`]: the HTTP tracker client (BEP 3, BEP 23).
//! - [`download`]: where a download lives, resuming and the final rename.
//! - [`resume`]: records of copies verified intact, so they are not hashed on every start.
//! - [`agent`]: `swarm agent` (releases from the manager, reports), its side of the fleet
//!   protocol.
//! - [`metrics`]: Prometheus text of the torrents a process runs, on `/metrics`.
//!
//! The HTTP accept loop of every server, the fleet protocol's types and the fleet token are
//! shared with the tracker in `swarm_service`.

pub mod addr;
pub mod agent;
pub mod announce;
mod conn;
mod content;
pub mod create;
mod disk;
pub mod download;
mod event;
pub mod hashing;
pub mod hook;
pub mod host;
pub mod listener;
pub mod metrics;
pub mod node;
pub mod origin;
mod piece_hash;
pub mod resume;
pub mod runner;
pub mod storage;
pub mod verify;

pub use create::{create_torrent, Content, CreateError, CreateOptions, CreatedTorrent};
pub use verify::{verify, VerifyError, VerifyReport};
