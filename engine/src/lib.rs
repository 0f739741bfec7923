//! # swarm-engine: the sans-IO BitTorrent core
//!
//! A fully deterministic implementation of swarm's decisions, with no networking code, no
//! file access, no timestamps from the operating system and no OS randomness. Time,
//! randomness, connections, disk and hashing reach it only through its runtime context,
//! so the simulator (`sim`) and the production runner (`net`) host exactly the same code.
//!
//! - [`bencode`], [`metainfo`]: torrent files (bounded scanner, validation, writing).
//! - [`piece`], [`layout`]: piece and block geometry, file spans.
//! - [`record`]: the run record shared by simulated and real runs.

pub mod bencode;
pub mod layout;
pub mod metainfo;
pub mod piece;
pub mod record;
