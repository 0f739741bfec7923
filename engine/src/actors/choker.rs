//! The choker actor: who may download from us (Cohen's algorithm).
//!
//! Every rechoke (10 s) it unchokes the `upload_slots` interested peers that give us the
//! most while we download, or that we reach fastest while we seed; snubbed peers (no data
//! for 60 s) rank last. One optimistic unchoke on top rotates every 30 s to a random choked
//! interested peer. A slot never idles between rechokes: when an unchoked peer loses
//! interest or leaves, its slot goes at once to the interested peer that has waited longest
//! (a newly interested peer takes a free slot at once). In origin mode every interested
//! peer is unchoked: the picker's reveals, given in turns, decide who downloads from the
//! origin and keep it from sending a piece twice.

use std::collections::{BTreeSet, VecDeque};
use std::time::Duration;

use rand::seq::SliceRandom;

use crate::actors::fan_out::FanOut;
use crate::actors::turn_length::TurnLength;
use crate::node::config::ChokePolicy;
use crate::node::ctx::{ChokeCandidate, ChokerMsg, Ctx, Envelope, PeerMsg};
use crate::node::io::{Command, ConnId};
use crate::node::timers::TimerKey;

/// How often a rotating choker looks for served peers that asked for nothing since the
/// last look (their slots go to waiting peers), so that a slot held by a peer busy
/// elsewhere is passed on. Not much shorter: on a real link a peer's next requests can
/// wait behind its own uploads in its uplink's queue, and a peer being served was taken for
/// idle. Measured on netns-fleet at 20 Mbit/s (24 peers, tbf queues of 100 ms): 100 ms gave
/// 1.71 × the bound with links ~75 % busy, 250 ms 1.28 ×, 500 ms 1.27 × (simulator: 1.19,
/// 1.16, 1.16); at 96 simulated peers 250 ms costs a little (1.262 against 1.232 ×).
const TURN_CHECK_INTERVAL: Duration = Duration::from_millis(250);

/// The choker actor.
#[derive(Debug, Default)]
pub(crate) struct Choker {
    interested: BTreeSet<ConnId>,
    /// Regular slots.
    unchoked: BTreeSet<ConnId>,
    optimistic: Option<ConnId>,
    /// Interested peers without a regular slot, longest-waiting first.
    waiting: VecDeque<ConnId>,
    /// Rotation: how many peers are served at once.
    fan_out: FanOut,
    /// Rotation: how long each served peer's turn has run.
    turn_length: TurnLength,
}

impl Choker {
    pub fn handle(&mut self, msg: ChokerMsg, ctx: &mut Ctx<'_>) {
        match msg {
            ChokerMsg::Interest { conn, interested } => {
                if interested {
                    if self.interested.insert(conn) && !self.unchoked.contains(&conn) {
                        self.waiting.push_back(conn);
                    }
                } else if self.interested.remove(&conn) {
                    self.waiting.retain(|&c| c != conn);
                    if self.unchoked.remove(&conn) && self.optimistic != Some(conn) {
                        ctx.send(Envelope::Peer(conn, PeerMsg::Choke));
                    }
                }
                self.fill_free_slots(ctx);
            }
            ChokerMsg::PeerGone(conn) => {
                self.turn_length.forget(conn);
                self.interested.remove(&conn);
                self.unchoked.remove(&conn);
                self.waiting.retain(|&c| c != conn);
                if self.optimistic == Some(conn) {
                    self.optimistic = None;
                }
                self.fill_free_slots(ctx);
            }
            ChokerMsg::Rechoke(_) | ChokerMsg::RotateOptimistic(_) if Self::rotating(ctx) => {}
            ChokerMsg::Rechoke(candidates) => self.rechoke(candidates, ctx),
            ChokerMsg::RotateOptimistic(candidates) => self.rotate_optimistic(candidates, ctx),
            ChokerMsg::TurnServed(conn) => {
                if Self::rotating(ctx)
                    && !self.waiting.is_empty()
                    && self.unchoked.contains(&conn)
                    && self.turn_length.served(
                        conn,
                        self.waiting.len(),
                        ctx.config().turn_waiting_per_piece,
                    )
                {
                    self.unchoked.remove(&conn);
                    ctx.send(Envelope::Peer(conn, PeerMsg::Choke));
                    self.waiting.push_back(conn);
                    self.fan_out.turn_ended();
                    self.fill_free_slots(ctx);
                }
            }
            ChokerMsg::UplinkIdle => {
                let max = ctx.config().upload_slots;
                self.fan_out.uplink_idle(!self.waiting.is_empty(), max);
                self.fill_free_slots(ctx);
            }
            ChokerMsg::IdleTurns(conns) => {
                self.rotate_out(&conns, ctx);
                self.fill_free_slots(ctx);
            }
        }
        if Self::rotating(ctx) {
            if self.fan_out.should_watch(!self.waiting.is_empty()) {
                ctx.command(Command::WatchUplink);
            }
            // Slots are looked at only while someone waits for one: a node nobody asks
            // (an agent holding releases) sets no timer and stays asleep.
            let someone_waits = !self.waiting.is_empty() && !self.unchoked.is_empty();
            if someone_waits && !ctx.timer_is_set(TimerKey::TurnCheck) {
                ctx.set_timer(TimerKey::TurnCheck, ctx.now + TURN_CHECK_INTERVAL);
            }
        }
    }

    /// Rotation: the peers in `conns` give their slots up and queue again.
    fn rotate_out(&mut self, conns: &[ConnId], ctx: &mut Ctx<'_>) {
        if !Self::rotating(ctx) || self.waiting.is_empty() {
            return;
        }
        for &conn in conns {
            if self.unchoked.remove(&conn) {
                ctx.send(Envelope::Peer(conn, PeerMsg::Choke));
                self.waiting.push_back(conn);
                self.fan_out.turn_ended();
            }
        }
    }

    fn rotating(ctx: &Ctx<'_>) -> bool {
        ctx.config().choke_policy == ChokePolicy::Rotation && !ctx.config().origin_mode
    }

    /// Peers unchoked right now (regular and optimistic).
    #[cfg(test)]
    pub fn unchoked_count(&self) -> usize {
        self.unchoked.len()
            + usize::from(self.optimistic.is_some_and(|c| !self.unchoked.contains(&c)))
    }

    fn slots(&self, ctx: &Ctx<'_>) -> usize {
        if ctx.config().origin_mode {
            ctx.config().max_connections
        } else if Self::rotating(ctx) {
            self.fan_out.slots(ctx.config().upload_slots)
        } else {
            ctx.config().upload_slots
        }
    }

    /// Gives each free regular slot to the interested peer that has waited longest.
    fn fill_free_slots(&mut self, ctx: &mut Ctx<'_>) {
        while self.unchoked.len() < self.slots(ctx) {
            let Some(conn) = self.waiting.pop_front() else {
                return;
            };
            let already = self.optimistic == Some(conn);
            if already {
                self.optimistic = None;
            }
            self.unchoked.insert(conn);
            self.turn_length.forget(conn);
            if !already {
                ctx.send(Envelope::Peer(conn, PeerMsg::Unchoke));
            }
        }
    }

    fn rechoke(&mut self, mut candidates: Vec<ChokeCandidate>, ctx: &mut Ctx<'_>) {
        let seeding = ctx.shared.is_complete();
        candidates.retain(|c| c.interested);
        candidates.sort_by(|a, b| {
            let rate = |c: &ChokeCandidate| {
                if seeding {
                    c.upload_rate
                } else {
                    c.download_rate
                }
            };
            a.snubbed
                .cmp(&b.snubbed)
                .then(rate(b).total_cmp(&rate(a)))
                .then(a.conn.cmp(&b.conn))
        });
        let chosen: BTreeSet<ConnId> = candidates
            .iter()
            .take(self.slots(ctx))
            .map(|c| c.conn)
            .collect();
        let before = self.unchoked_now();
        if self.optimistic.is_some_and(|c| chosen.contains(&c)) {
            self.optimistic = None;
        }
        self.unchoked = chosen;
        self.requeue_choked();
        self.send_changes(&before, &self.unchoked_now(), ctx);
    }

    /// Keeps `waiting` equal to the interested peers without a regular slot: those that
    /// lost theirs queue behind the ones already waiting.
    fn requeue_choked(&mut self) {
        let unchoked = &self.unchoked;
        self.waiting.retain(|c| !unchoked.contains(c));
        let queued: BTreeSet<ConnId> = self.waiting.iter().copied().collect();
        let newly_choked: Vec<ConnId> = self
            .interested
            .iter()
            .filter(|c| !unchoked.contains(c) && !queued.contains(c))
            .copied()
            .collect();
        self.waiting.extend(newly_choked);
    }

    fn rotate_optimistic(&mut self, candidates: Vec<ChokeCandidate>, ctx: &mut Ctx<'_>) {
        let before = self.unchoked_now();
        let choked: Vec<ConnId> = candidates
            .iter()
            .filter(|c| c.interested && !self.unchoked.contains(&c.conn))
            .map(|c| c.conn)
            .collect();
        self.optimistic = choked.choose(ctx.rng).copied();
        self.send_changes(&before, &self.unchoked_now(), ctx);
    }

    /// Everyone unchoked now: the regular slots and the optimistic one.
    fn unchoked_now(&self) -> BTreeSet<ConnId> {
        self.unchoked
            .iter()
            .copied()
            .chain(self.optimistic)
            .collect()
    }

    fn send_changes(&self, before: &BTreeSet<ConnId>, after: &BTreeSet<ConnId>, ctx: &mut Ctx<'_>) {
        for &conn in before.difference(after) {
            ctx.send(Envelope::Peer(conn, PeerMsg::Choke));
        }
        for &conn in after.difference(before) {
            ctx.send(Envelope::Peer(conn, PeerMsg::Unchoke));
        }
    }
}
