//! # The tracker core: sans-IO, deterministic
//!
//! No sockets, no clocks, no OS randomness. Every call that depends on time takes `now_ms`
//! (milliseconds on the runtime's clock: monotonic in the HTTP server, virtual in the
//! simulator) and every random choice draws from an RNG the runtime passes in
//! (`rand_chacha::ChaCha8Rng` in both). Swarms and peers live in ordered maps and vectors
//! whose order follows the sequence of calls only, so the same calls give the same answers.
//!
//! API by kind:
//! - getters: [`TrackerCore::swarm`], [`TrackerCore::swarms`], [`TrackerCore::counts`];
//! - events from the network: [`TrackerCore::announce`], [`TrackerCore::scrape`];
//! - events from a timer: [`TrackerCore::purge`] (drop peers silent for 2 × interval;
//!   announces also sweep their own swarm lazily, and selection skips silent peers, so the
//!   timer only bounds memory);
//! - commands from the manager: [`TrackerCore::register`].

pub mod announce;
mod evict;
pub mod peer;
pub mod scrape;
pub mod select;
pub mod swarm;

use std::collections::{BTreeMap, BTreeSet};

use swarm_engine::metainfo::InfoHash;

use evict::Unregistered;

pub use announce::{AnnounceError, AnnounceEvent, AnnounceOutcome, AnnounceRequest};
pub use peer::{Counters, Peer, PeerId};
pub use scrape::ScrapeStats;
pub use select::PeerAddr;
pub use swarm::{Swarm, SwarmTotals};

/// Default for [`CoreConfig::max_unregistered_swarms`]: about 100 000 × a small swarm's
/// few hundred bytes, tens of MiB at most.
pub const DEFAULT_MAX_UNREGISTERED_SWARMS: usize = 100_000;

/// Limits and timings of the core.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoreConfig {
    /// How often clients should announce, seconds.
    pub interval_s: u32,
    /// Clients must not announce more often than this, seconds.
    pub min_interval_s: u32,
    /// A peer silent for longer than this is dropped, milliseconds (2 × interval by default).
    pub peer_timeout_ms: u64,
    /// Peers returned when the client does not say `numwant`.
    pub default_numwant: u32,
    /// Most peers returned, whatever `numwant` says.
    pub max_numwant: u32,
    /// Only torrents registered with the manager are tracked.
    pub registered_only: bool,
    /// Most swarms of unregistered torrents tracked at once; beyond it the least recently
    /// announced one is evicted (registered torrents always have room). 0: refuse them.
    pub max_unregistered_swarms: usize,
    /// Most peers tracked in one swarm.
    pub max_peers_per_swarm: usize,
    /// Most swarms in one scrape answer.
    pub max_scrape_swarms: usize,
}

impl CoreConfig {
    /// Defaults around an announce interval: `min interval` half of it, timeout twice it.
    pub fn with_interval(interval_s: u32) -> Self {
        let interval_s = interval_s.max(1);
        CoreConfig {
            interval_s,
            min_interval_s: (interval_s / 2).max(1),
            peer_timeout_ms: 2 * 1000 * u64::from(interval_s),
            default_numwant: 50,
            max_numwant: 200,
            registered_only: false,
            max_unregistered_swarms: DEFAULT_MAX_UNREGISTERED_SWARMS,
            max_peers_per_swarm: 1_000_000,
            max_scrape_swarms: 1_000,
        }
    }
}

impl Default for CoreConfig {
    fn default() -> Self {
        CoreConfig::with_interval(30)
    }
}

/// Counts over all swarms (for metrics).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    /// Swarms tracked.
    pub swarms: usize,
    /// Peers tracked.
    pub peers: usize,
    /// Of which seeds.
    pub seeds: usize,
}

/// All swarms of one tracker.
#[derive(Debug, Clone, Default)]
pub struct TrackerCore {
    config: CoreConfig,
    swarms: BTreeMap<InfoHash, Swarm>,
    registered: BTreeSet<InfoHash>,
    unregistered: Unregistered,
    evicted_swarms: u64,
}

impl TrackerCore {
    /// An empty tracker.
    pub fn new(config: CoreConfig) -> Self {
        TrackerCore {
            config,
            swarms: BTreeMap::new(),
            registered: BTreeSet::new(),
            unregistered: Unregistered::default(),
            evicted_swarms: 0,
        }
    }

    /// Its configuration.
    pub fn config(&self) -> &CoreConfig {
        &self.config
    }

    /// One swarm, if tracked.
    pub fn swarm(&self, info_hash: &InfoHash) -> Option<&Swarm> {
        self.swarms.get(info_hash)
    }

    /// Every swarm, in info-hash order.
    pub fn swarms(&self) -> impl Iterator<Item = (&InfoHash, &Swarm)> {
        self.swarms.iter()
    }

    /// Whether the manager registered this torrent.
    pub fn is_registered(&self, info_hash: &InfoHash) -> bool {
        self.registered.contains(info_hash)
    }

    /// Swarm, peer and seed counts.
    pub fn counts(&self) -> Counts {
        let mut counts = Counts {
            swarms: self.swarms.len(),
            ..Counts::default()
        };
        for swarm in self.swarms.values() {
            counts.peers += swarm.len();
            counts.seeds += swarm.seeds().len();
        }
        counts
    }

    /// Registers a torrent: it is always accepted and its swarm is kept while empty.
    pub fn register(&mut self, info_hash: InfoHash) {
        self.registered.insert(info_hash);
        let swarm = self.swarms.entry(info_hash).or_default();
        self.unregistered.forget(swarm);
    }

    /// Drops peers silent for longer than the timeout, and empty unregistered swarms.
    /// Returns how many peers were dropped.
    pub fn purge(&mut self, now_ms: u64) -> usize {
        let timeout_ms = self.config.peer_timeout_ms;
        let spacing_ms = self.purge_spacing_ms();
        let mut dropped = 0;
        for swarm in self.swarms.values_mut() {
            dropped += swarm.purge(now_ms, timeout_ms);
            swarm.next_purge_ms = now_ms.saturating_add(spacing_ms);
        }
        let (registered, unregistered) = (&self.registered, &mut self.unregistered);
        self.swarms.retain(|hash, swarm| {
            let keep = !swarm.is_empty() || registered.contains(hash);
            if !keep {
                unregistered.forget(swarm);
            }
            keep
        });
        dropped
    }

    /// Sweeps one swarm if its sweep is due; returns peers dropped.
    fn purge_swarm_if_due(&mut self, info_hash: &InfoHash, now_ms: u64) -> usize {
        let spacing_ms = self.purge_spacing_ms();
        let timeout_ms = self.config.peer_timeout_ms;
        let Some(swarm) = self.swarms.get_mut(info_hash) else {
            return 0;
        };
        if now_ms < swarm.next_purge_ms {
            return 0;
        }
        swarm.next_purge_ms = now_ms.saturating_add(spacing_ms);
        swarm.purge(now_ms, timeout_ms)
    }

    /// Lazy sweeps run at most this often per swarm: a sweep is linear in the swarm.
    fn purge_spacing_ms(&self) -> u64 {
        (self.config.peer_timeout_ms / 8).max(1)
    }

    /// Drops a swarm that is empty and unregistered.
    fn forget_if_empty(&mut self, info_hash: &InfoHash) {
        let empty = self.swarms.get(info_hash).is_some_and(Swarm::is_empty);
        if empty && !self.registered.contains(info_hash) {
            if let Some(mut swarm) = self.swarms.remove(info_hash) {
                self.unregistered.forget(&mut swarm);
            }
        }
    }

    /// Makes room for one more unregistered swarm by evicting the least recently
    /// announced one(s); `false` if unregistered swarms are refused altogether.
    fn room_for_unregistered(&mut self) -> bool {
        let max = self.config.max_unregistered_swarms;
        if max == 0 {
            return false;
        }
        while self.unregistered.len() >= max {
            let Some(oldest) = self.unregistered.pop_oldest() else {
                break;
            };
            self.swarms.remove(&oldest);
            self.evicted_swarms += 1;
        }
        true
    }

    /// Unregistered swarms evicted to make room since the tracker started.
    pub fn evicted_swarms(&self) -> u64 {
        self.evicted_swarms
    }
}
