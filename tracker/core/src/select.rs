//! Which peers an announce returns.
//!
//! Policy: give the asker peers that hold what it lacks.
//! - A leecher gets seeds first, then other leechers (they trade pieces among themselves).
//! - A seed gets leechers only: another seed has nothing it lacks.
//! - Never the asker itself, never a peer past its timeout (even before the sweep drops it).
//!
//! Within a class the choice is a uniform random sample from the runtime's RNG, so load
//! spreads across seeds and the same seed gives the same choice.

use std::net::SocketAddr;

use rand::seq::index;
use rand::Rng;

use super::peer::{Peer, PeerId};
use super::swarm::Swarm;

/// A peer as returned in an announce response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerAddr {
    /// Its peer id (dictionary-model responses include it).
    pub id: PeerId,
    /// Where to connect.
    pub addr: SocketAddr,
}

/// Who is asking, for selection.
#[derive(Debug, Clone, Copy)]
pub struct Asker<'a> {
    /// Its id, never returned.
    pub id: &'a PeerId,
    /// Whether it holds everything.
    pub is_seed: bool,
}

/// Picks up to `numwant` peers for `asker` following the module's policy.
pub fn select_peers<R: Rng + ?Sized>(
    swarm: &Swarm,
    asker: Asker<'_>,
    numwant: usize,
    now_ms: u64,
    timeout_ms: u64,
    rng: &mut R,
) -> Vec<PeerAddr> {
    let mut out = Vec::with_capacity(numwant.min(swarm.len()));
    let usable = |peer: &Peer| peer.id != *asker.id && !peer.is_expired(now_ms, timeout_ms);
    if !asker.is_seed {
        sample_into(&mut out, swarm.seeds(), numwant, &usable, rng);
    }
    sample_into(&mut out, swarm.leechers(), numwant, &usable, rng);
    out
}

/// Appends usable peers of `pool` to `out` until it holds `limit` peers.
fn sample_into<R: Rng + ?Sized>(
    out: &mut Vec<PeerAddr>,
    pool: &[Peer],
    limit: usize,
    usable: &dyn Fn(&Peer) -> bool,
    rng: &mut R,
) {
    let wanted = limit.saturating_sub(out.len());
    if wanted == 0 || pool.is_empty() {
        return;
    }
    let push = |out: &mut Vec<PeerAddr>, peer: &Peer| {
        if out.len() < limit && usable(peer) {
            out.push(PeerAddr {
                id: peer.id,
                addr: peer.addr,
            });
        }
    };
    // One extra draw covers the asker itself; a few unusable peers beyond that only
    // shorten this answer, never produce a wrong one.
    let draws = wanted + 1;
    if draws >= pool.len() {
        let start = rng.gen_range(0..pool.len());
        for peer in pool[start..].iter().chain(&pool[..start]) {
            push(out, peer);
        }
    } else {
        for position in index::sample(rng, pool.len(), draws) {
            push(out, &pool[position]);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::peer::Counters;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn swarm(seeds: u8, leechers: u8) -> Swarm {
        let mut swarm = Swarm::default();
        for i in 0..seeds + leechers {
            let left_bytes = if i < seeds { 0 } else { 10 };
            let counters = Counters {
                left_bytes,
                ..Default::default()
            };
            swarm.upsert(
                PeerId([i; 20]),
                SocketAddr::from(([10, 0, 0, i], 6881)),
                counters,
                0,
            );
        }
        swarm
    }

    fn pick(swarm: &Swarm, who: u8, numwant: usize) -> Vec<u8> {
        let id = PeerId([who; 20]);
        let is_seed = swarm.get(&id).is_some_and(Peer::is_seed);
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        select_peers(
            swarm,
            Asker { id: &id, is_seed },
            numwant,
            0,
            1_000,
            &mut rng,
        )
        .iter()
        .map(|p| p.id.0[0])
        .collect()
    }

    #[test]
    fn leechers_get_seeds_first_then_leechers_never_themselves() {
        let swarm = swarm(3, 5);
        let got = pick(&swarm, 5, 4);
        assert_eq!(got.len(), 4);
        assert!(got[..3].iter().all(|&i| i < 3), "seeds first: {got:?}");
        assert!(!got.contains(&5));
        let all = pick(&swarm, 5, 100);
        assert_eq!(all.len(), 7);
    }

    #[test]
    fn seeds_get_only_leechers() {
        let swarm = swarm(3, 5);
        let got = pick(&swarm, 0, 100);
        assert_eq!(got.len(), 5);
        assert!(got.iter().all(|&i| i >= 3));
    }

    #[test]
    fn large_pools_are_sampled_without_duplicates_or_self() {
        let swarm = swarm(0, 200);
        for who in [0u8, 17, 199] {
            let mut got = pick(&swarm, who, 50);
            assert_eq!(got.len(), 50);
            assert!(!got.contains(&who));
            got.sort_unstable();
            got.dedup();
            assert_eq!(got.len(), 50);
        }
    }

    #[test]
    fn expired_peers_are_not_returned() {
        let mut swarm = swarm(2, 0);
        let counters = Counters {
            left_bytes: 5,
            ..Default::default()
        };
        swarm.upsert(
            PeerId([50; 20]),
            SocketAddr::from(([10, 0, 0, 50], 1)),
            counters,
            5_000,
        );
        let id = PeerId([50; 20]);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let got = select_peers(
            &swarm,
            Asker {
                id: &id,
                is_seed: false,
            },
            10,
            5_000,
            1_000,
            &mut rng,
        );
        assert!(got.is_empty());
    }
}
