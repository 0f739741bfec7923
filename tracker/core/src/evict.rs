//! Bounding the swarms nobody registered.
//!
//! Registered torrents always have room: their swarms are never counted here and never
//! evicted. A swarm the tracker only knows because clients announce it (allowed unless
//! `registered_only`) is kept in announce order, least recently announced first; when
//! [`CoreConfig::max_unregistered_swarms`](super::CoreConfig::max_unregistered_swarms) is
//! reached, a new one evicts the least recently announced. A swarm whose peers all went
//! silent is by definition among the oldest, so a flood of random info-hashes evicts its
//! own swarms and new torrents keep being served. The order is a function of the sequence
//! of announces only, so runs stay deterministic.

use std::collections::BTreeMap;

use swarm_engine::metainfo::InfoHash;

use super::swarm::Swarm;

/// Unregistered swarms by the sequence number of their latest announce.
#[derive(Debug, Clone, Default)]
pub(crate) struct Unregistered {
    by_age: BTreeMap<u64, InfoHash>,
    next_seq: u64,
}

impl Unregistered {
    /// Unregistered swarms tracked.
    pub(crate) fn len(&self) -> usize {
        self.by_age.len()
    }

    /// Marks `swarm` (of `info_hash`) as the most recently announced.
    pub(crate) fn touch(&mut self, info_hash: InfoHash, swarm: &mut Swarm) {
        self.forget(swarm);
        let seq = self.next_seq;
        self.next_seq += 1;
        self.by_age.insert(seq, info_hash);
        swarm.age_seq = Some(seq);
    }

    /// Stops counting `swarm` (it was registered or dropped).
    pub(crate) fn forget(&mut self, swarm: &mut Swarm) {
        if let Some(seq) = swarm.age_seq.take() {
            self.by_age.remove(&seq);
        }
    }

    /// The least recently announced unregistered swarm, taken out of the order.
    pub(crate) fn pop_oldest(&mut self) -> Option<InfoHash> {
        self.by_age.pop_first().map(|(_, hash)| hash)
    }
}
