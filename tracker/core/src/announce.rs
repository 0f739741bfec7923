//! Announce handling (BEP 3): record the peer, answer with counts and a peer list.
//!
//! - `started`, no event, `paused`: add or update the peer.
//! - `completed`: as above, and count one download for the swarm (once per peer).
//! - `stopped`: drop the peer; the answer lists no peers.
//!
//! `numwant` is capped by [`CoreConfig::max_numwant`](super::CoreConfig::max_numwant).

use std::net::SocketAddr;

use rand::Rng;
use swarm_engine::metainfo::InfoHash;

use super::peer::{CounterDelta, Counters, PeerId};
use super::select::{select_peers, Asker, PeerAddr};
use super::TrackerCore;

pub use swarm_engine::bep3::AnnounceEvent;

/// One announce, already parsed and with the peer's address decided by the runtime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnnounceRequest {
    /// The torrent.
    pub info_hash: InfoHash,
    /// The client.
    pub peer_id: PeerId,
    /// Where other peers reach it.
    pub addr: SocketAddr,
    /// Its counters.
    pub counters: Counters,
    /// Its event.
    pub event: AnnounceEvent,
    /// Peers it asks for; `None` for the default.
    pub numwant: Option<u32>,
}

/// What the tracker answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnnounceResponse {
    /// Seconds until the next regular announce.
    pub interval_s: u32,
    /// Seconds the client must wait at least.
    pub min_interval_s: u32,
    /// Seeds in the swarm.
    pub complete: u32,
    /// Leechers in the swarm.
    pub incomplete: u32,
    /// Peers for the client.
    pub peers: Vec<PeerAddr>,
}

/// The response plus what the runtime may want to count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnnounceOutcome {
    /// The answer for the client.
    pub response: AnnounceResponse,
    /// Counters newly reported by this announce.
    pub delta: CounterDelta,
    /// The peer was not tracked before.
    pub new_peer: bool,
    /// Peers dropped by the lazy sweep this announce triggered.
    pub expired_peers: usize,
}

/// Why an announce is refused (sent back as a bencoded `failure reason`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnnounceError {
    /// Registered-only mode, and the manager does not know this torrent.
    #[error("unregistered torrent {0}")]
    UnregisteredTorrent(InfoHash),
    /// Unregistered torrents are refused (`max_unregistered_swarms` is 0).
    #[error("unregistered torrents are not tracked here: {0}")]
    UnregisteredRefused(InfoHash),
    /// The swarm already has its maximum of peers.
    #[error("swarm full: {max} peers")]
    SwarmFull {
        /// The limit.
        max: usize,
    },
}

impl TrackerCore {
    /// Handles one announce at `now_ms`.
    pub fn announce<R: Rng + ?Sized>(
        &mut self,
        now_ms: u64,
        request: &AnnounceRequest,
        rng: &mut R,
    ) -> Result<AnnounceOutcome, AnnounceError> {
        let hash = request.info_hash;
        if self.config.registered_only && !self.registered.contains(&hash) {
            return Err(AnnounceError::UnregisteredTorrent(hash));
        }
        let registered = self.registered.contains(&hash);
        if !self.swarms.contains_key(&hash) {
            if request.event == AnnounceEvent::Stopped {
                return Ok(self.outcome(&hash, Vec::new(), CounterDelta::default(), false, 0));
            }
            if !registered && !self.room_for_unregistered() {
                return Err(AnnounceError::UnregisteredRefused(hash));
            }
        }
        let expired = self.purge_swarm_if_due(&hash, now_ms);
        let max_peers = self.config.max_peers_per_swarm;
        let swarm = self.swarms.entry(hash).or_default();
        if !registered {
            self.unregistered.touch(hash, swarm);
        }
        if request.event == AnnounceEvent::Stopped {
            swarm.remove(&request.peer_id);
            self.forget_if_empty(&hash);
            return Ok(self.outcome(&hash, Vec::new(), CounterDelta::default(), false, expired));
        }
        if swarm.get(&request.peer_id).is_none() && swarm.len() >= max_peers {
            self.forget_if_empty(&hash);
            return Err(AnnounceError::SwarmFull { max: max_peers });
        }
        let (delta, new_peer) =
            swarm.upsert(request.peer_id, request.addr, request.counters, now_ms);
        if request.event == AnnounceEvent::Completed {
            swarm.count_completed(&request.peer_id);
        }
        let numwant = request
            .numwant
            .unwrap_or(self.config.default_numwant)
            .min(self.config.max_numwant) as usize;
        let asker = Asker {
            id: &request.peer_id,
            is_seed: request.counters.left_bytes == 0,
        };
        let timeout_ms = self.config.peer_timeout_ms;
        let peers = select_peers(swarm, asker, numwant, now_ms, timeout_ms, rng);
        Ok(self.outcome(&hash, peers, delta, new_peer, expired))
    }

    fn outcome(
        &self,
        hash: &InfoHash,
        peers: Vec<PeerAddr>,
        delta: CounterDelta,
        new_peer: bool,
        expired_peers: usize,
    ) -> AnnounceOutcome {
        let (complete, incomplete) = self
            .swarms
            .get(hash)
            .map_or((0, 0), |s| (s.seeds().len(), s.leechers().len()));
        AnnounceOutcome {
            response: AnnounceResponse {
                interval_s: self.config.interval_s,
                min_interval_s: self.config.min_interval_s,
                complete: u32::try_from(complete).unwrap_or(u32::MAX),
                incomplete: u32::try_from(incomplete).unwrap_or(u32::MAX),
                peers,
            },
            delta,
            new_peer,
            expired_peers,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod tests {
    use super::*;
    use crate::CoreConfig;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    const HASH: InfoHash = InfoHash([0xaa; 20]);

    /// Peer `peer` (id and last address byte `peer`) announcing [`HASH`] with `left_bytes`
    /// to go; the unit tests' request.
    pub(crate) fn request(peer: u8, left_bytes: u64, event: AnnounceEvent) -> AnnounceRequest {
        AnnounceRequest {
            info_hash: HASH,
            peer_id: PeerId([peer; 20]),
            addr: SocketAddr::from(([10, 0, 0, peer], 6881)),
            counters: Counters {
                left_bytes,
                ..Default::default()
            },
            event,
            numwant: None,
        }
    }

    fn ids(outcome: &AnnounceOutcome) -> Vec<u8> {
        outcome.response.peers.iter().map(|p| p.id.0[0]).collect()
    }

    #[test]
    fn announce_adds_peers_and_never_returns_the_asker() {
        let mut core = TrackerCore::new(CoreConfig::with_interval(30));
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let first = core
            .announce(0, &request(1, 0, AnnounceEvent::Started), &mut rng)
            .unwrap();
        assert!(first.response.peers.is_empty() && first.new_peer);
        let second = core
            .announce(0, &request(2, 9, AnnounceEvent::Started), &mut rng)
            .unwrap();
        assert_eq!(ids(&second), vec![1]);
        assert_eq!(
            (second.response.complete, second.response.incomplete),
            (1, 1)
        );
        let again = core
            .announce(10, &request(2, 9, AnnounceEvent::Periodic), &mut rng)
            .unwrap();
        assert!(!again.new_peer);
    }

    #[test]
    fn stopped_drops_the_peer_and_forgets_the_empty_swarm() {
        let mut core = TrackerCore::new(CoreConfig::default());
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        core.announce(0, &request(1, 5, AnnounceEvent::Started), &mut rng)
            .unwrap();
        let stop = core
            .announce(1, &request(1, 5, AnnounceEvent::Stopped), &mut rng)
            .unwrap();
        assert!(stop.response.peers.is_empty());
        assert!(core.swarm(&HASH).is_none());
        // Stopping an unknown swarm creates nothing.
        core.announce(2, &request(3, 5, AnnounceEvent::Stopped), &mut rng)
            .unwrap();
        assert_eq!(core.counts().swarms, 0);
    }

    #[test]
    fn completed_is_counted_once_and_moves_the_peer_to_seeds() {
        let mut core = TrackerCore::new(CoreConfig::default());
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        core.announce(0, &request(1, 5, AnnounceEvent::Started), &mut rng)
            .unwrap();
        for t in 1..3 {
            core.announce(t, &request(1, 0, AnnounceEvent::Completed), &mut rng)
                .unwrap();
        }
        let swarm = core.swarm(&HASH).unwrap();
        assert_eq!(swarm.totals().completed, 1);
        assert_eq!(swarm.seeds().len(), 1);
    }

    #[test]
    fn numwant_is_capped() {
        let config = CoreConfig {
            max_numwant: 3,
            ..CoreConfig::default()
        };
        let mut core = TrackerCore::new(config);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for peer in 0..10 {
            core.announce(0, &request(peer, 1, AnnounceEvent::Started), &mut rng)
                .unwrap();
        }
        let mut ask = request(42, 1, AnnounceEvent::Periodic);
        ask.numwant = Some(u32::MAX);
        assert_eq!(
            core.announce(0, &ask, &mut rng)
                .unwrap()
                .response
                .peers
                .len(),
            3
        );
    }

    #[test]
    fn silent_peers_time_out_after_twice_the_interval() {
        let mut core = TrackerCore::new(CoreConfig::with_interval(10));
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        core.announce(0, &request(1, 0, AnnounceEvent::Started), &mut rng)
            .unwrap();
        let at_limit = core.announce(20_000, &request(2, 5, AnnounceEvent::Started), &mut rng);
        assert_eq!(ids(&at_limit.unwrap()), vec![1]);
        let late = core.announce(20_001, &request(3, 5, AnnounceEvent::Started), &mut rng);
        assert_eq!(ids(&late.unwrap()), vec![2]);
        assert_eq!(core.purge(40_002), 3);
        assert_eq!(core.counts(), crate::Counts::default());
    }

    #[test]
    fn registered_only_refuses_unknown_torrents_and_keeps_registered_swarms() {
        let config = CoreConfig {
            registered_only: true,
            ..CoreConfig::default()
        };
        let mut core = TrackerCore::new(config);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let err = core
            .announce(0, &request(1, 0, AnnounceEvent::Started), &mut rng)
            .unwrap_err();
        assert_eq!(err, AnnounceError::UnregisteredTorrent(HASH));
        core.register(HASH);
        core.announce(0, &request(1, 0, AnnounceEvent::Started), &mut rng)
            .unwrap();
        core.announce(1, &request(1, 0, AnnounceEvent::Stopped), &mut rng)
            .unwrap();
        assert!(core.swarm(&HASH).is_some_and(|s| s.is_empty()));
    }

    #[test]
    fn swarm_full_refuses_new_peers() {
        let config = CoreConfig {
            max_peers_per_swarm: 1,
            ..CoreConfig::default()
        };
        let mut core = TrackerCore::new(config);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        core.announce(0, &request(1, 0, AnnounceEvent::Started), &mut rng)
            .unwrap();
        let full = core.announce(0, &request(2, 0, AnnounceEvent::Started), &mut rng);
        assert_eq!(full.unwrap_err(), AnnounceError::SwarmFull { max: 1 });
    }

    fn on(hash: u8, peer: u8) -> AnnounceRequest {
        AnnounceRequest {
            info_hash: InfoHash([hash; 20]),
            ..request(peer, 5, AnnounceEvent::Started)
        }
    }

    #[test]
    fn crossing_max_unregistered_swarms_evicts_the_least_recently_announced() {
        let config = CoreConfig {
            max_unregistered_swarms: 2,
            ..CoreConfig::default()
        };
        let mut core = TrackerCore::new(config);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        core.register(InfoHash([9; 20]));
        for hash in [1, 2, 1, 3] {
            core.announce(0, &on(hash, 1), &mut rng).unwrap();
        }
        // 2 was the least recently announced when 3 came.
        assert!(core.swarm(&InfoHash([2; 20])).is_none());
        assert!(core.swarm(&InfoHash([1; 20])).is_some());
        assert_eq!(core.evicted_swarms(), 1);
        // Registered torrents are never evicted and never count against the limit.
        core.announce(0, &on(9, 1), &mut rng).unwrap();
        core.announce(0, &on(4, 1), &mut rng).unwrap();
        assert!(core.swarm(&InfoHash([9; 20])).is_some_and(|s| s.len() == 1));
        assert_eq!(core.counts().swarms, 3);
        // A swarm registered after it was tracked leaves the eviction order.
        core.register(InfoHash([4; 20]));
        core.announce(0, &on(5, 1), &mut rng).unwrap();
        core.announce(0, &on(6, 1), &mut rng).unwrap();
        assert!(core.swarm(&InfoHash([4; 20])).is_some());
    }

    #[test]
    fn zero_max_unregistered_swarms_refuses_them() {
        let config = CoreConfig {
            max_unregistered_swarms: 0,
            ..CoreConfig::default()
        };
        let mut core = TrackerCore::new(config);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let err = core.announce(0, &on(1, 1), &mut rng).unwrap_err();
        assert_eq!(err, AnnounceError::UnregisteredRefused(InfoHash([1; 20])));
        core.register(InfoHash([1; 20]));
        core.announce(0, &on(1, 1), &mut rng).unwrap();
    }

    #[test]
    fn same_seed_same_answers() {
        let run = |seed| {
            let mut core = TrackerCore::new(CoreConfig::default());
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let mut answers = Vec::new();
            for peer in 0..100u8 {
                let left = u64::from(peer % 4);
                let outcome = core.announce(
                    u64::from(peer),
                    &request(peer, left, AnnounceEvent::Started),
                    &mut rng,
                );
                answers.push(ids(&outcome.unwrap()));
            }
            answers
        };
        assert_eq!(run(5), run(5));
        assert_ne!(run(5), run(6));
    }

    #[test]
    fn regression_random_hash_flood_never_makes_the_tracker_full() {
        // Issue 15 item 4: 100 000 announces with random info-hashes made every new
        // torrent fail with "tracker full".
        let mut core = TrackerCore::new(CoreConfig::default());
        let registered = InfoHash([0x11; 20]);
        core.register(registered);
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        for i in 0..100_000u32 {
            let mut flood = request(1, 5, AnnounceEvent::Started);
            flood.info_hash = InfoHash(rng.gen());
            core.announce(u64::from(i), &flood, &mut rng).unwrap();
        }
        let mut new = request(2, 5, AnnounceEvent::Started);
        new.info_hash = InfoHash([0x22; 20]);
        core.announce(100_000, &new, &mut rng).unwrap();
        let mut mine = request(3, 0, AnnounceEvent::Started);
        mine.info_hash = registered;
        core.announce(100_000, &mine, &mut rng).unwrap();
    }
}
