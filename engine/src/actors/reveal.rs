//! Origin mode's reveals: which pieces the origin shows to which peer, and when.
//!
//! The origin advertises nothing up front. It serves peers in turns: a few peers hold a turn
//! at once (as many as keep its uplink busy, at most `origin_slots`: see `fan_out.rs`), each
//! shown `origin_reveal_per_peer` pieces it lacks (pieces never revealed first, in a seeded
//! random order; then the rarest, least revealed). A turn ends when the peer holds every
//! piece it was shown, once a piece's worth was sent to it (more while many peers wait:
//! `NodeConfig::turn_waiting_per_piece`), or after [`TURN_TIMEOUT`]; the peer then queues
//! again behind every peer waiting, longest-waiting first. Once every piece was shown once,
//! a piece is shown again only while fewer than [`RESEND_BELOW_HOLDERS`] connected peers
//! hold it, or to a peer that announced nothing for [`STARVED_AFTER`].
//!
//! Why turns: a peer can only pass a piece on once it holds all of it, so the origin sends
//! whole pieces to a few peers at full rate rather than slices of many pieces to everybody
//! (with 96 peers sharing its uplink, the first piece would take 96 piece-times, and the
//! swarm would wait for it). Rotating spreads the pieces that only the origin has evenly
//! over the peers, so that every peer has something to pass on and no peer is the only
//! source of a large share of the file.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Duration;

use rand::Rng;

use crate::actors::availability::Availability;
use crate::actors::fan_out::FanOut;
use crate::actors::turn_length::TurnLength;
use crate::bitfield::Bitfield;
use crate::node::conns::ConnMap;
use crate::node::io::ConnId;
use crate::time::Time;

/// A turn that has not delivered its pieces by then goes to the next peer (the peer keeps
/// what it was shown and may still fetch it).
pub(crate) const TURN_TIMEOUT: Duration = Duration::from_secs(10);

/// Once every piece was shown once, the origin sends a piece again only while fewer than
/// this many connected peers hold it: the peers serve the common ones to each other (an
/// origin on a fast link kept re-sending to slow peers what fast peers could give them).
const RESEND_BELOW_HOLDERS: u32 = 2;

/// A peer that announced no piece for this long is served whatever it lacks, however many
/// peers hold it: those peers may not serve it (they banned its address, say).
pub(crate) const STARVED_AFTER: Duration = Duration::from_secs(5);

/// What the reveals need of one remote peer: the pieces it has, and those shown to it that
/// it does not have yet.
pub(crate) trait Shown {
    fn shown(&mut self) -> (&Bitfield, &mut BTreeSet<u32>);
}

/// The origin's reveal state.
#[derive(Debug, Default)]
pub(crate) struct Reveals {
    /// How often each piece was revealed.
    count: Vec<u32>,
    /// Seeded random order of first reveals, and how far it has been used.
    order: Vec<u32>,
    cursor: usize,
    /// Peers waiting for a turn, longest-waiting first.
    waiting: VecDeque<ConnId>,
    /// Peers holding a turn, with the time it began.
    turns: BTreeMap<ConnId, Time>,
    /// How long each turn has run (see [`Reveals::served`]).
    turn_length: TurnLength,
    /// How many turns run at once.
    fan_out: FanOut,
    /// When each peer last announced a piece (or joined).
    progress: BTreeMap<ConnId, Time>,
}

impl Reveals {
    /// A peer became known (its bitfield arrived): it queues for a turn.
    pub fn join(&mut self, conn: ConnId, now: Time) {
        if !self.turns.contains_key(&conn) && !self.waiting.contains(&conn) {
            self.waiting.push_back(conn);
            self.progress.insert(conn, now);
        }
    }

    /// A peer left.
    pub fn leave(&mut self, conn: ConnId) {
        self.turns.remove(&conn);
        self.turn_length.forget(conn);
        self.waiting.retain(|&c| c != conn);
        self.progress.remove(&conn);
    }

    /// `conn` announced a piece: its turn ends once it holds everything it was shown.
    pub fn have<P: Shown>(&mut self, conn: ConnId, peer: &mut P, now: Time) {
        self.progress.insert(conn, now);
        if self.turns.contains_key(&conn) && peer.shown().1.is_empty() {
            self.end_turn(conn);
        }
    }

    /// `conn` was sent a piece's worth in its turn. The turn ends (what it was shown is on
    /// its way, so the next peer's turn starts before this one's data has arrived) once it
    /// lasted long enough (see `turn_length.rs`): with many peers waiting, a turn more often
    /// ends when the peer announces what it was shown.
    pub fn served(&mut self, conn: ConnId, waiting_per_piece: usize) {
        if self.turns.contains_key(&conn)
            && self
                .turn_length
                .served(conn, self.waiting.len(), waiting_per_piece)
        {
            self.end_turn(conn);
        }
    }

    /// Ends turns that ran past [`TURN_TIMEOUT`].
    pub fn expire(&mut self, now: Time) {
        let expired: Vec<ConnId> = self
            .turns
            .iter()
            .filter(|(_, &began)| now.since(began) >= TURN_TIMEOUT)
            .map(|(&conn, _)| conn)
            .collect();
        for conn in expired {
            self.end_turn(conn);
        }
    }

    fn end_turn(&mut self, conn: ConnId) {
        self.turns.remove(&conn);
        self.turn_length.forget(conn);
        self.waiting.push_back(conn);
        self.fan_out.turn_ended();
    }

    /// The uplink ran dry: one more turn at once if a peer waits.
    pub fn uplink_idle(&mut self, max_slots: usize) {
        self.fan_out
            .uplink_idle(!self.waiting.is_empty(), max_slots);
    }

    /// Whether to ask the runtime to watch the uplink now.
    pub fn should_watch(&mut self) -> bool {
        self.fan_out.should_watch(!self.waiting.is_empty())
    }

    /// Gives free turns to waiting peers; returns each new turn's peer with the pieces it is
    /// shown now. A waiting peer with nothing left to show is dropped from the queue.
    pub fn fill<P: Shown>(
        &mut self,
        slots: usize,
        per_turn: usize,
        now: Time,
        peers: &mut ConnMap<P>,
        availability: &Availability,
        rng: &mut impl Rng,
    ) -> Vec<(ConnId, Vec<u32>)> {
        let mut shown = Vec::new();
        // Each waiting peer is looked at once at most: one with nothing to be shown now
        // (it lacks only pieces other peers hold enough copies of) waits on.
        for _ in 0..self.waiting.len() {
            if self.turns.len() >= self.fan_out.slots(slots) {
                break;
            }
            let Some(conn) = self.waiting.pop_front() else {
                break;
            };
            let Some(peer) = peers.get_mut(&conn) else {
                continue;
            };
            let starved = self
                .progress
                .get(&conn)
                .is_some_and(|&at| now.since(at) >= STARVED_AFTER);
            let new = self.top_up(peer, per_turn.max(1), availability, starved, rng);
            if peer.shown().1.is_empty() {
                if !peer.shown().0.is_full() {
                    self.waiting.push_back(conn);
                }
                continue;
            }
            self.turns.insert(conn, now);
            if !new.is_empty() {
                shown.push((conn, new));
            }
        }
        shown
    }

    /// Shows `peer` pieces it lacks until `want` are outstanding; returns the new ones.
    fn top_up<P: Shown>(
        &mut self,
        peer: &mut P,
        want: usize,
        availability: &Availability,
        starved: bool,
        rng: &mut impl Rng,
    ) -> Vec<u32> {
        let pieces = peer.shown().0.len();
        if self.order.is_empty() && pieces > 0 {
            self.count = vec![0; pieces as usize];
            self.order = (0..pieces).collect();
            for i in (1..self.order.len()).rev() {
                let j = rng.gen_range(0..=i);
                self.order.swap(i, j);
            }
        }
        let mut new = Vec::new();
        while peer.shown().1.len() < want {
            let Some(piece) = self.next_for(peer, availability, starved) else {
                break;
            };
            self.count[piece as usize] += 1;
            peer.shown().1.insert(piece);
            new.push(piece);
        }
        new
    }

    /// The next piece to show `peer`: the first never revealed that it lacks, else the one
    /// it lacks that the fewest connected peers have (then the least revealed), if few
    /// enough have it or the peer is `starved`.
    fn next_for<P: Shown>(
        &mut self,
        peer: &mut P,
        availability: &Availability,
        starved: bool,
    ) -> Option<u32> {
        let (has, revealed) = peer.shown();
        let revealed = &*revealed;
        let lacks = |p: u32| !has.get(p) && !revealed.contains(&p);
        while self.cursor < self.order.len() && self.count[self.order[self.cursor] as usize] > 0 {
            self.cursor += 1;
        }
        let first_unrevealed = self.order[self.cursor..]
            .iter()
            .copied()
            .find(|&p| self.count[p as usize] == 0 && lacks(p));
        first_unrevealed.or_else(|| {
            (0..has.len())
                .filter(|&p| lacks(p) && (starved || availability.count(p) < RESEND_BELOW_HOLDERS))
                .min_by_key(|&p| (availability.count(p), self.count[p as usize], p))
        })
    }

    /// Peers holding a turn; for tests.
    #[cfg(test)]
    pub fn turns(&self) -> usize {
        self.turns.len()
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;

    #[derive(Debug)]
    struct Remote {
        has: Bitfield,
        revealed: BTreeSet<u32>,
    }

    impl Shown for Remote {
        fn shown(&mut self) -> (&Bitfield, &mut BTreeSet<u32>) {
            (&self.has, &mut self.revealed)
        }
    }

    fn swarm(peers: u64, pieces: u32) -> ConnMap<Remote> {
        let mut map = ConnMap::new();
        for c in 0..peers {
            let remote = Remote {
                has: Bitfield::new(pieces),
                revealed: BTreeSet::new(),
            };
            map.insert(ConnId(c), remote);
        }
        map
    }

    /// The origin's availability when `holders` of every piece are connected.
    fn held_by(pieces: u32, holders: u32) -> Availability {
        let mut availability = Availability::new(pieces, |_| false);
        for piece in 0..pieces {
            for _ in 0..holders {
                availability.increment(piece);
            }
        }
        availability
    }

    #[test]
    fn turns_show_each_piece_once_before_any_twice_and_rotate_longest_waiting_first() {
        let (pieces, now) = (8, Time::ZERO);
        let mut peers = swarm(3, pieces);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let availability = held_by(pieces, 0);
        let mut reveals = Reveals::default();
        for conn in 0..3 {
            reveals.join(ConnId(conn), Time::ZERO);
        }
        let shown = reveals.fill(4, 1, now, &mut peers, &availability, &mut rng);
        assert_eq!(shown.len(), 1, "the fan-out starts at one turn");
        assert_eq!(shown[0].0, ConnId(0));
        assert!(reveals.should_watch(), "peers wait: watch the uplink");
        reveals.uplink_idle(4);
        let shown = reveals.fill(4, 1, now, &mut peers, &availability, &mut rng);
        assert_eq!(shown, vec![(ConnId(1), shown[0].1.clone())]);
        assert_eq!(reveals.turns(), 2);
        // Peer 0 receives its piece: its turn ends and it queues behind peer 2.
        let piece = *peers
            .get(&ConnId(0))
            .expect("peer")
            .revealed
            .iter()
            .next()
            .expect("shown");
        let peer = peers.get_mut(&ConnId(0)).expect("peer");
        peer.has.set(piece);
        peer.revealed.remove(&piece);
        reveals.have(ConnId(0), peer, now);
        assert_eq!(reveals.turns(), 1, "a turn ended: one fewer at once");
        reveals.should_watch();
        reveals.uplink_idle(4);
        let shown = reveals.fill(4, 1, now, &mut peers, &availability, &mut rng);
        assert_eq!(
            shown.iter().map(|s| s.0).collect::<Vec<_>>(),
            vec![ConnId(2)]
        );
        let mut seen = BTreeSet::new();
        for _ in 0..pieces {
            for conn in 0..3 {
                reveals.served(ConnId(conn), 0);
            }
            for (_, new) in reveals.fill(4, 1, now, &mut peers, &availability, &mut rng) {
                for piece in new {
                    if seen.len() < pieces as usize {
                        assert!(seen.insert(piece), "piece {piece} shown twice too early");
                    }
                }
            }
        }
    }

    #[test]
    fn after_the_first_pass_only_pieces_few_peers_hold_are_sent_again() {
        let pieces = 4;
        let mut peers = swarm(1, pieces);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut reveals = Reveals::default();
        reveals.join(ConnId(0), Time::ZERO);
        // First pass: every piece shown once (to this peer, which got none of them yet).
        let availability = held_by(pieces, RESEND_BELOW_HOLDERS);
        for _ in 0..pieces {
            reveals.fill(1, 1, Time::ZERO, &mut peers, &availability, &mut rng);
            let peer = peers.get_mut(&ConnId(0)).expect("peer");
            peer.revealed.clear(); // it lost them (say, they failed)
            reveals.served(ConnId(0), 0);
        }
        let shown = reveals.fill(1, 1, Time::ZERO, &mut peers, &availability, &mut rng);
        assert!(
            shown.is_empty(),
            "every piece is held by enough peers: nothing resent"
        );
        let later = Time::ZERO + STARVED_AFTER;
        let shown = reveals.fill(1, 1, later, &mut peers, &availability, &mut rng);
        assert_eq!(
            shown.len(),
            1,
            "a peer that got nothing for long is served anyway"
        );
        let peer = peers.get_mut(&ConnId(0)).expect("peer");
        peer.revealed.clear();
        reveals.served(ConnId(0), 0);
        reveals.have(ConnId(0), peer, later);
        let rare = held_by(pieces, RESEND_BELOW_HOLDERS - 1);
        let shown = reveals.fill(1, 1, Time::ZERO, &mut peers, &rare, &mut rng);
        assert_eq!(shown.len(), 1, "rare pieces are sent again");
    }

    #[test]
    fn a_turn_that_delivers_nothing_expires() {
        let mut peers = swarm(2, 4);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let availability = held_by(4, 0);
        let mut reveals = Reveals::default();
        reveals.join(ConnId(0), Time::ZERO);
        reveals.join(ConnId(1), Time::ZERO);
        reveals.fill(1, 1, Time::ZERO, &mut peers, &availability, &mut rng);
        reveals.expire(Time::ZERO + TURN_TIMEOUT / 2);
        let shown = reveals.fill(1, 1, Time::ZERO, &mut peers, &availability, &mut rng);
        assert!(shown.is_empty(), "turn still running");
        reveals.expire(Time::ZERO + TURN_TIMEOUT);
        let shown = reveals.fill(1, 1, Time::ZERO, &mut peers, &availability, &mut rng);
        assert_eq!(
            shown.iter().map(|s| s.0).collect::<Vec<_>>(),
            vec![ConnId(1)]
        );
    }

    #[test]
    fn a_turn_lasts_a_piece_more_for_every_so_many_peers_waiting() {
        let mut peers = swarm(3, 4);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let availability = held_by(4, 0);
        let mut reveals = Reveals::default();
        for conn in 0..3 {
            reveals.join(ConnId(conn), Time::ZERO);
        }
        reveals.fill(1, 1, Time::ZERO, &mut peers, &availability, &mut rng);
        assert_eq!(reveals.turns(), 1);
        // Two wait, one per extra piece: 1 + 2 / 1 = 3 pieces' worth.
        reveals.served(ConnId(0), 1);
        reveals.served(ConnId(0), 1);
        assert_eq!(reveals.turns(), 1, "the turn goes on");
        reveals.served(ConnId(0), 1);
        assert_eq!(reveals.turns(), 0, "three pieces' worth: over");
        // Without the rule, one piece's worth ends a turn.
        reveals.fill(1, 1, Time::ZERO, &mut peers, &availability, &mut rng);
        assert_eq!(reveals.turns(), 1);
        reveals.served(ConnId(1), 0);
        assert_eq!(reveals.turns(), 0);
    }
}
