//! # The fuzz checks: one function per parser that reads the network or a file
//!
//! Each function takes arbitrary bytes, feeds them to one parser and asserts what must hold
//! for any input: no panic, and what is accepted is consistent (re-encodes to the same
//! bytes, agrees with the other decoder, respects its bounds). The cargo-fuzz targets in
//! `fuzzing/fuzz/fuzz_targets/` are one line each around these functions, and
//! `tests/replay.rs` runs every committed seed and every pinned crash
//! (`fuzzing/fuzz/seeds/TARGET/`, `fuzzing/fuzz/regressions/TARGET/`) through them in the
//! ordinary `cargo test`, so a crash found once stays fixed.
//!
//! [`TARGETS`] names every check; `scripts/fuzz` runs them.

mod engine;
mod files;
mod tracker;

pub use engine::{bencode, extension, handshake, metainfo, wire};
pub use files::scenario;
pub use tracker::{agent_channel, announce_query, scrape_query, tracker_response};

/// A fuzz check: arbitrary bytes in, a panic when something that must hold does not.
pub type Check = fn(&[u8]);

/// Every fuzz target by name, with its check.
pub const TARGETS: &[(&str, Check)] = &[
    ("bencode", bencode),
    ("metainfo", metainfo),
    ("wire", wire),
    ("handshake", handshake),
    ("extension", extension),
    ("announce_query", announce_query),
    ("scrape_query", scrape_query),
    ("tracker_response", tracker_response),
    ("scenario", scenario),
    ("agent_channel", agent_channel),
];
