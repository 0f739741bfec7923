//! The choker actor: who may download from us (Cohen's algorithm).
//!
//! Every rechoke (10 s) it unchokes the `upload_slots` interested peers that give us the
//! most while we download, or that we reach fastest while we seed; snubbed peers (no data
//! for 60 s) rank last. One optimistic unchoke on top rotates every 30 s to a random choked
//! interested peer. A newly interested peer is unchoked at once while a slot is free. In
//! origin mode every interested peer is unchoked: the picker's reveals, not the choker,
//! keep the origin from sending a piece twice.

use std::collections::BTreeSet;

use rand::seq::SliceRandom;

use crate::node::ctx::{ChokeCandidate, ChokerMsg, Ctx, Envelope, PeerMsg};
use crate::node::io::ConnId;

/// The choker actor.
#[derive(Debug, Default)]
pub(crate) struct Choker {
    interested: BTreeSet<ConnId>,
    /// Regular slots.
    unchoked: BTreeSet<ConnId>,
    optimistic: Option<ConnId>,
}

impl Choker {
    pub fn handle(&mut self, msg: ChokerMsg, ctx: &mut Ctx<'_>) {
        match msg {
            ChokerMsg::Interest { conn, interested } => {
                if interested {
                    self.interested.insert(conn);
                    if self.unchoked.len() < Self::slots(ctx) && !self.is_unchoked(conn) {
                        self.unchoked.insert(conn);
                        ctx.send(Envelope::Peer(conn, PeerMsg::Unchoke));
                    }
                } else {
                    self.interested.remove(&conn);
                }
            }
            ChokerMsg::PeerGone(conn) => {
                self.interested.remove(&conn);
                self.unchoked.remove(&conn);
                if self.optimistic == Some(conn) {
                    self.optimistic = None;
                }
            }
            ChokerMsg::Rechoke(candidates) => self.rechoke(candidates, ctx),
            ChokerMsg::RotateOptimistic(candidates) => self.rotate_optimistic(candidates, ctx),
        }
    }

    /// Peers unchoked right now (regular and optimistic).
    #[cfg(test)]
    pub fn unchoked_count(&self) -> usize {
        self.unchoked.len()
            + usize::from(self.optimistic.is_some_and(|c| !self.unchoked.contains(&c)))
    }

    fn slots(ctx: &Ctx<'_>) -> usize {
        if ctx.config().origin_mode {
            ctx.config().max_connections
        } else {
            ctx.config().upload_slots
        }
    }

    fn is_unchoked(&self, conn: ConnId) -> bool {
        self.unchoked.contains(&conn) || self.optimistic == Some(conn)
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
            .take(Self::slots(ctx))
            .map(|c| c.conn)
            .collect();
        let before = self.unchoked_now();
        if self.optimistic.is_some_and(|c| chosen.contains(&c)) {
            self.optimistic = None;
        }
        self.unchoked = chosen;
        self.send_changes(&before, &self.unchoked_now(), ctx);
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
