//! # swarm-engine: the sans-IO BitTorrent core
//!
//! A fully deterministic implementation of swarm's decisions, with no networking code, no
//! file access, no timestamps from the operating system and no OS randomness. Time,
//! randomness, connections, disk and hashing reach it only through its runtime context,
//! so the simulator (`sim`) and the production runner (`net`) host exactly the same code.
//!
//! - [`bencode`], [`metainfo`]: torrent files (bounded scanner, validation, writing).
//! - [`bep3`]: announce events and peer ids, shared with the runtimes and the tracker core.
//! - [`piece`], [`layout`]: piece and block geometry, file spans.
//! - [`record`]: the run record shared by simulated and real runs.
//! - [`bitfield`], [`wire`]: which pieces a peer has; the peer wire protocol codec.
//! - `testkit` (feature `testkit`): an in-memory multi-node runtime for tests.
//! - [`units`]: human sizes, rates and durations (`16MiB`, `1Gbps`, `1.5s`).
//! - [`node`]: the runtime contract (inputs, commands, timers) and the node that hosts the
//!   peer, picker, choker and torrent actors; [`time`] and [`rate`] support it.

pub(crate) mod actors;
pub mod bencode;
pub mod bep3;
pub mod bitfield;
pub mod layout;
pub mod metainfo;
pub mod node;
pub mod piece;
pub mod rate;
pub mod record;
#[cfg(feature = "testkit")]
pub mod testkit;
pub mod time;
pub mod units;
pub mod wire;
