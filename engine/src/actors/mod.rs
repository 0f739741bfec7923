//! The actors of one torrent on one node; see `engine/STATE.md` for their invariants.

pub(crate) mod availability;
pub(crate) mod choker;
pub(crate) mod peer;
pub(crate) mod picker;
pub(crate) mod torrent;
#[cfg(test)]
mod picker_tests;
#[cfg(test)]
mod choker_tests;
