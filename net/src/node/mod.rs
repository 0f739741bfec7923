//! One torrent in the real runtime: its options and status, the node actor that owns the
//! engine node, the interpretation of its commands and its announcer.

pub(crate) mod actor;
pub(crate) mod announces;
pub(crate) mod commands;
pub mod options;
