//! The peers of one torrent, split into seeds and leechers for cheap random selection.
//!
//! Invariants (checked by `Swarm::check_invariants` in tests):
//! - every peer is in exactly one of `seeds` and `leechers`, and `index` maps its id to
//!   that vector and position;
//! - a peer is in `seeds` if and only if its `left` is 0.
//!
//! Vectors are unordered: removal swaps the last peer into the hole. Their order is a
//! function of the sequence of announces only, so runs are deterministic.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use super::peer::{CounterDelta, Counters, Peer, PeerId};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Slot {
    seed: bool,
    position: u32,
}

/// Totals a swarm keeps even after the peers that reported them leave.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SwarmTotals {
    /// `completed` events counted (scrape's `downloaded`).
    pub completed: u64,
    /// Upload reported by all peers, bytes.
    pub uploaded_bytes: u64,
    /// Download reported by all peers, bytes.
    pub downloaded_bytes: u64,
    /// Upload reported by initial seeds (the origin), bytes.
    pub initial_seed_uploaded_bytes: u64,
}

/// One torrent's peers.
#[derive(Debug, Clone, Default)]
pub struct Swarm {
    index: BTreeMap<PeerId, Slot>,
    seeds: Vec<Peer>,
    leechers: Vec<Peer>,
    totals: SwarmTotals,
    /// Earliest time at which the next sweep for expired peers is due.
    pub(crate) next_purge_ms: u64,
    /// Position in the unregistered swarms' announce order (`None` if registered).
    pub(crate) age_seq: Option<u64>,
}

impl Swarm {
    /// Number of peers.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Whether no peer is tracked.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// Peers holding everything.
    pub fn seeds(&self) -> &[Peer] {
        &self.seeds
    }

    /// Peers still downloading.
    pub fn leechers(&self) -> &[Peer] {
        &self.leechers
    }

    /// Every peer: seeds first, then leechers.
    pub fn peers(&self) -> impl Iterator<Item = &Peer> {
        self.seeds.iter().chain(self.leechers.iter())
    }

    /// Totals over the swarm's life.
    pub fn totals(&self) -> SwarmTotals {
        self.totals
    }

    /// A peer by id.
    pub fn get(&self, id: &PeerId) -> Option<&Peer> {
        let slot = self.index.get(id)?;
        Some(&self.class(slot.seed)[slot.position as usize])
    }

    fn class(&self, seed: bool) -> &Vec<Peer> {
        if seed {
            &self.seeds
        } else {
            &self.leechers
        }
    }

    fn class_mut(&mut self, seed: bool) -> &mut Vec<Peer> {
        if seed {
            &mut self.seeds
        } else {
            &mut self.leechers
        }
    }

    /// Records an announce from `id`: adds the peer or updates it, moving it between seeds
    /// and leechers as its `left` says. Returns the newly reported counters (zero for a new
    /// peer: its counters are not attributed to this tracker's lifetime twice).
    pub(crate) fn upsert(
        &mut self,
        id: PeerId,
        addr: SocketAddr,
        counters: Counters,
        now_ms: u64,
    ) -> (CounterDelta, bool) {
        let Some(slot) = self.index.get(&id).copied() else {
            self.insert(Peer::new(id, addr, counters, now_ms));
            return (CounterDelta::default(), true);
        };
        let peer = &mut self.class_mut(slot.seed)[slot.position as usize];
        let delta = peer.update(addr, counters, now_ms);
        let (initial_seed, now_seed) = (peer.initial_seed, peer.is_seed());
        if initial_seed {
            self.totals.initial_seed_uploaded_bytes += delta.uploaded_bytes;
        }
        self.totals.uploaded_bytes += delta.uploaded_bytes;
        self.totals.downloaded_bytes += delta.downloaded_bytes;
        if now_seed != slot.seed {
            let moved = self.take(slot);
            self.insert(moved);
        }
        (delta, false)
    }

    /// Counts a `completed` event from `id`, once per peer; initial seeds never count.
    pub(crate) fn count_completed(&mut self, id: &PeerId) {
        let Some(slot) = self.index.get(id).copied() else {
            return;
        };
        let peer = &mut self.class_mut(slot.seed)[slot.position as usize];
        if peer.announces == 1 {
            // First seen with `completed`: it downloaded (before a tracker restart, say).
            peer.initial_seed = false;
        }
        if !peer.completed_counted && !peer.initial_seed {
            peer.completed_counted = true;
            self.totals.completed += 1;
        }
    }

    fn insert(&mut self, peer: Peer) {
        let seed = peer.is_seed();
        let class = self.class_mut(seed);
        let position = u32::try_from(class.len()).expect("peer count is capped below u32::MAX");
        let id = peer.id;
        class.push(peer);
        self.index.insert(id, Slot { seed, position });
    }

    /// Removes the peer at `slot` (keeping `index` in step) and returns it.
    fn take(&mut self, slot: Slot) -> Peer {
        let class = self.class_mut(slot.seed);
        let peer = class.swap_remove(slot.position as usize);
        let moved_id = class.get(slot.position as usize).map(|p| p.id);
        self.index.remove(&peer.id);
        if let Some(moved_id) = moved_id {
            self.index.insert(moved_id, slot);
        }
        peer
    }

    /// Drops a peer (a `stopped` event); returns it if it was tracked.
    pub(crate) fn remove(&mut self, id: &PeerId) -> Option<Peer> {
        let slot = self.index.get(id).copied()?;
        Some(self.take(slot))
    }

    /// Drops every peer silent for longer than `timeout_ms`; returns how many.
    pub(crate) fn purge(&mut self, now_ms: u64, timeout_ms: u64) -> usize {
        let mut removed = 0;
        for seed in [true, false] {
            let mut position = 0;
            while position < self.class(seed).len() {
                if self.class(seed)[position].is_expired(now_ms, timeout_ms) {
                    let position = u32::try_from(position).expect("capped");
                    self.take(Slot { seed, position });
                    removed += 1;
                } else {
                    position += 1;
                }
            }
        }
        removed
    }

    /// Asserts the invariants in the module documentation.
    #[cfg(test)]
    pub(crate) fn check_invariants(&self) {
        assert_eq!(self.index.len(), self.seeds.len() + self.leechers.len());
        for seed in [true, false] {
            for (position, peer) in self.class(seed).iter().enumerate() {
                assert_eq!(peer.is_seed(), seed, "{:?} in the wrong class", peer.id);
                let slot = Slot {
                    seed,
                    position: position as u32,
                };
                assert_eq!(self.index.get(&peer.id), Some(&slot));
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([10, 0, 0, 1], port))
    }

    fn left(left_bytes: u64) -> Counters {
        Counters {
            left_bytes,
            ..Default::default()
        }
    }

    #[test]
    fn peers_move_between_classes_and_removal_keeps_index() {
        let mut swarm = Swarm::default();
        for i in 0..10u8 {
            swarm.upsert(PeerId([i; 20]), addr(i.into()), left(u64::from(i % 3)), 0);
            swarm.check_invariants();
        }
        assert_eq!(swarm.seeds().len(), 4);
        swarm.upsert(PeerId([1; 20]), addr(1), left(0), 10);
        swarm.check_invariants();
        assert_eq!(swarm.seeds().len(), 5);
        assert!(swarm.remove(&PeerId([0; 20])).is_some());
        assert!(swarm.remove(&PeerId([0; 20])).is_none());
        swarm.check_invariants();
        assert_eq!(swarm.len(), 9);
    }

    #[test]
    fn purge_drops_only_silent_peers() {
        let mut swarm = Swarm::default();
        for i in 0..6u8 {
            swarm.upsert(
                PeerId([i; 20]),
                addr(i.into()),
                left(u64::from(i % 2)),
                u64::from(i) * 100,
            );
        }
        assert_eq!(swarm.purge(1_000, 750), 3);
        swarm.check_invariants();
        assert!(swarm.peers().all(|p| p.last_seen_ms >= 300));
    }

    #[test]
    fn totals_count_initial_seed_upload_and_completions_once() {
        let mut swarm = Swarm::default();
        let origin = PeerId([9; 20]);
        let leecher = PeerId([1; 20]);
        swarm.upsert(origin, addr(1), left(0), 0);
        swarm.upsert(leecher, addr(2), left(100), 0);
        let up = Counters {
            uploaded_bytes: 100,
            ..left(0)
        };
        swarm.upsert(origin, addr(1), up, 1_000);
        swarm.upsert(
            leecher,
            addr(2),
            Counters {
                downloaded_bytes: 100,
                ..left(0)
            },
            1_000,
        );
        swarm.count_completed(&leecher);
        swarm.count_completed(&leecher);
        swarm.count_completed(&origin);
        let totals = swarm.totals();
        assert_eq!(totals.completed, 1);
        assert_eq!(totals.initial_seed_uploaded_bytes, 100);
        assert_eq!((totals.uploaded_bytes, totals.downloaded_bytes), (100, 100));
    }
}
