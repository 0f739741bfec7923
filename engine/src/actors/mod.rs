//! The actors of one torrent on one node; see `engine/STATE.md` for their invariants.

pub(crate) mod availability;
pub(crate) mod choker;
#[cfg(test)]
mod choker_tests;
pub(crate) mod fan_out;
mod outstanding;
pub(crate) mod peer;
#[cfg(test)]
mod peer_have_tests;
#[cfg(test)]
mod peer_tests;
pub(crate) mod picker;
#[cfg(test)]
mod picker_tests;
pub(crate) mod reveal;
pub(crate) mod torrent;
#[cfg(test)]
mod torrent_tests;
pub(crate) mod turn_length;
