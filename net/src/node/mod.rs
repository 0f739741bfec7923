//! One torrent in the real runtime: its options and status, the node actor that owns the
//! engine node, the interpretation of its commands, its announcer, and the count of bytes
//! from the origin.

pub(crate) mod actor;
pub(crate) mod announces;
pub(crate) mod commands;
pub(crate) mod kernel_backlog;
pub mod options;
pub(crate) mod sources;
