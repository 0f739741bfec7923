//! The picker actor: which blocks to request from whom, and (origin mode) which pieces to
//! reveal to whom.
//!
//! It owns the download-side piece states (see `engine/STATE.md`), the remote bitfields and
//! the availability buckets. Rules, in order: finish started pieces first (strict block
//! priority); then random pieces until `random_first_pieces` are verified; then rarest
//! first with a random tie-break; once every startable piece is started, endgame: request
//! blocks already requested elsewhere (at most two requesters each) and cancel the losers.

use std::collections::{BTreeMap, BTreeSet};

use rand::Rng;

use crate::actors::availability::Availability;
use crate::actors::reveal::{Reveals, Shown};
use crate::bitfield::Bitfield;
use crate::node::conns::ConnMap;
use crate::node::ctx::{Ctx, Envelope, PeerMsg, PickerMsg, TorrentMsg};
use crate::node::io::{Command, ConnId};
use crate::piece::{BlockRef, Geometry, PieceIndex};

/// Most peers that may hold a request for the same block (endgame).
const MAX_REQUESTERS_PER_BLOCK: usize = 2;

/// Download state of one piece; the states are disjoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PieceState {
    /// No block requested yet.
    Missing,
    /// Some blocks requested or received.
    Partial,
    /// Every block received; waiting for write and hash.
    Complete,
    /// Hash matched.
    Verified,
}

/// The state of one block: free, requested by the one or two connections its requester
/// slots name, or received. Free and received are requester slots no runtime uses, so a
/// block takes two words: a node assembles dozens of pieces at once, and every block
/// received reads and writes its state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct BlockState(Requesters);

const _: () = assert!(std::mem::size_of::<BlockState>() <= 16);

impl BlockState {
    /// Not requested from anyone (a requested block whose last requester is gone is free).
    const FREE: BlockState = BlockState(Requesters([NO_CONN; MAX_REQUESTERS_PER_BLOCK]));
    /// Received (who sent it is the torrent actor's business).
    const RECEIVED: BlockState = BlockState(Requesters([RECEIVED_MARK; MAX_REQUESTERS_PER_BLOCK]));

    fn requested(conn: ConnId) -> Self {
        BlockState(Requesters::one(conn))
    }

    /// The requesters of a requested block.
    fn requesters(&mut self) -> Option<&mut Requesters> {
        (*self != Self::FREE && *self != Self::RECEIVED).then_some(&mut self.0)
    }
}

/// The peers holding a request for one block: one, or two in endgame. Inline, so that
/// requesting a block allocates nothing, and compact (an empty slot is [`NO_CONN`] rather
/// than an `Option`), so that a piece's block states stay few cache lines: they are read
/// on every block received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Requesters([ConnId; MAX_REQUESTERS_PER_BLOCK]);

/// An empty requester slot. No runtime numbers a connection `u64::MAX`.
const NO_CONN: ConnId = ConnId(u64::MAX);

/// The requester slots of a received block. No runtime numbers a connection `u64::MAX - 1`.
const RECEIVED_MARK: ConnId = ConnId(u64::MAX - 1);

impl Requesters {
    fn one(conn: ConnId) -> Self {
        debug_assert!(conn != NO_CONN && conn != RECEIVED_MARK);
        let mut slots = [NO_CONN; MAX_REQUESTERS_PER_BLOCK];
        slots[0] = conn;
        Requesters(slots)
    }

    fn contains(&self, conn: ConnId) -> bool {
        self.0.contains(&conn)
    }

    /// Adds `conn` if there is room; says whether it was added.
    fn try_add(&mut self, conn: ConnId) -> bool {
        debug_assert_ne!(conn, NO_CONN);
        if self.contains(conn) {
            return false;
        }
        match self.0.iter_mut().find(|slot| **slot == NO_CONN) {
            Some(slot) => {
                *slot = conn;
                true
            }
            None => false,
        }
    }

    /// Removes `conn`; says whether nobody is left.
    fn remove(&mut self, conn: ConnId) -> bool {
        for slot in &mut self.0 {
            if *slot == conn {
                *slot = NO_CONN;
            }
        }
        self.0.iter().all(|slot| *slot == NO_CONN)
    }

    fn iter(&self) -> impl Iterator<Item = ConnId> + '_ {
        self.0.iter().copied().filter(|slot| *slot != NO_CONN)
    }
}

#[derive(Debug, Clone)]
struct PartialPiece {
    blocks: Vec<BlockState>,
    free: u32,
    received: u32,
    /// No free block below this index.
    first_free: usize,
    /// A piece that failed its hash with several senders is fetched again from one peer,
    /// so that a second failure names the culprit: the peer that holds it, once chosen.
    single_source: Option<Option<ConnId>>,
}

impl PartialPiece {
    /// Whether `conn` may take blocks of this piece (claiming it if it must be single-source).
    fn admit(&mut self, conn: ConnId) -> bool {
        match &mut self.single_source {
            None => true,
            Some(owner @ None) => {
                *owner = Some(conn);
                true
            }
            Some(Some(owner)) => *owner == conn,
        }
    }
}

#[derive(Debug, Clone)]
struct RemotePeer {
    has: Bitfield,
    /// Pieces the peer has that we have not verified.
    useful: u32,
    /// Of those, the pieces we could ask it for now: not started, or started with blocks
    /// nobody was asked for. Interest follows this (outside endgame), so that a peer is not
    /// kept waiting for a slot for pieces we are about to finish from others.
    requestable: u32,
    interesting: bool,
    /// Origin mode: pieces revealed to this peer that it does not have yet.
    revealed: BTreeSet<u32>,
    /// Pieces never asked of this peer: it alone sent a copy that failed its hash.
    excluded: BTreeSet<u32>,
}

impl Shown for RemotePeer {
    fn shown(&mut self) -> (&Bitfield, &mut BTreeSet<u32>) {
        (&self.has, &mut self.revealed)
    }
}

/// The picker actor.
#[derive(Debug)]
pub(crate) struct Picker {
    geometry: Geometry,
    state: Vec<PieceState>,
    partial: BTreeMap<u32, PartialPiece>,
    availability: Availability,
    peers: ConnMap<RemotePeer>,
    verified_count: u32,
    paused: bool,
    /// Origin mode: which peer is shown which pieces, in turns.
    reveals: Reveals,
    /// Pieces that failed their hash: the next attempt comes from a single peer.
    refetch_single_source: BTreeSet<u32>,
}

impl Picker {
    pub fn new(geometry: Geometry, verified: &Bitfield) -> Self {
        let pieces = geometry.piece_count();
        let state: Vec<PieceState> = (0..pieces)
            .map(|p| {
                if verified.get(p) {
                    PieceState::Verified
                } else {
                    PieceState::Missing
                }
            })
            .collect();
        let availability = Availability::new(pieces, |p| state[p as usize] == PieceState::Missing);
        Picker {
            geometry,
            verified_count: verified.count_ones(),
            state,
            partial: BTreeMap::new(),
            availability,
            peers: ConnMap::new(),
            paused: false,
            reveals: Reveals::default(),
            refetch_single_source: BTreeSet::new(),
        }
    }

    /// The state of a piece (for tests and invariants).
    #[cfg(test)]
    pub fn piece_state(&self, piece: u32) -> PieceState {
        self.state[piece as usize]
    }

    pub fn handle(&mut self, msg: PickerMsg, ctx: &mut Ctx<'_>) {
        match msg {
            PickerMsg::PeerBitfield { conn, bitfield } => {
                for piece in bitfield.ones() {
                    self.peer_has(conn, piece);
                }
                self.ensure_peer(conn);
                self.update_interest(conn, ctx);
                if ctx.config().origin_mode {
                    self.reveals.join(conn, ctx.now);
                    self.reveal(ctx);
                }
            }
            PickerMsg::PeerHave { conn, piece } => {
                self.peer_has(conn, piece.get());
                self.update_interest(conn, ctx);
                if ctx.config().origin_mode {
                    if let Some(peer) = self.peers.get_mut(&conn) {
                        self.reveals.have(conn, peer, ctx.now);
                    }
                    self.reveal(ctx);
                }
            }
            PickerMsg::PeerGone(conn) => {
                self.peer_gone(conn, ctx);
                if ctx.config().origin_mode {
                    self.reveals.leave(conn);
                    self.reveal(ctx);
                }
            }
            PickerMsg::Tick => {
                if ctx.config().origin_mode {
                    self.reveals.expire(ctx.now);
                    self.reveal(ctx);
                }
            }
            PickerMsg::TurnServed(conn) => {
                self.reveals
                    .served(conn, ctx.config().turn_waiting_per_piece);
                self.reveal(ctx);
            }
            PickerMsg::UplinkIdle => {
                self.reveals.uplink_idle(ctx.config().origin_slots);
                self.reveal(ctx);
            }
            PickerMsg::WantBlocks { conn, count } => {
                let was_endgame = self.availability.bucketed_len() == 0;
                let (blocks, fresh) = self.pick(conn, count as usize, ctx);
                // The first `fresh` blocks were free: their pieces may have none left now
                // (endgame blocks were requested before). Interest changes go out after the
                // assignment, so the peer learns of its requests before it may hear that
                // there is nothing more to ask.
                let mut taken_from: Vec<u32> =
                    blocks[..fresh].iter().map(|b| b.piece.get()).collect();
                taken_from.dedup();
                ctx.send(Envelope::Peer(conn, PeerMsg::Assign(blocks)));
                for piece in taken_from {
                    self.requestable_changed(piece, true, ctx);
                }
                self.endgame_changed(was_endgame, ctx);
            }
            PickerMsg::Released { conn, blocks } => {
                for block in blocks {
                    self.release(conn, block, ctx);
                }
            }
            PickerMsg::BlockReceived { conn, block, data } => {
                self.block_received(conn, block, data, ctx)
            }
            PickerMsg::Verified(proof) => self.piece_verified(proof.piece(), ctx),
            PickerMsg::HashFailed(piece) => self.reset_piece(piece, ctx),
            PickerMsg::Lost(piece) => self.piece_lost(piece.get(), ctx),
            PickerMsg::Exclude { conn, piece } => self.exclude(conn, piece.get(), ctx),
            PickerMsg::Pause => self.paused = true,
        }
    }

    fn ensure_peer(&mut self, conn: ConnId) -> &mut RemotePeer {
        let pieces = self.geometry.piece_count();
        self.peers.get_or_insert_with(conn, || RemotePeer {
            has: Bitfield::new(pieces),
            useful: 0,
            requestable: 0,
            interesting: false,
            revealed: BTreeSet::new(),
            excluded: BTreeSet::new(),
        })
    }

    fn peer_has(&mut self, conn: ConnId, piece: u32) {
        let we_lack = self.state[piece as usize] != PieceState::Verified;
        let peer = self.ensure_peer(conn);
        if peer.has.get(piece) || peer.excluded.contains(&piece) {
            return;
        }
        peer.has.set(piece);
        peer.revealed.remove(&piece);
        if we_lack {
            peer.useful += 1;
        }
        self.availability.increment(piece);
        if self.requestable(piece) {
            self.peers.get_mut(&conn).expect("ensured").requestable += 1;
        }
    }

    /// `conn` is treated as lacking `piece` from now on (its `have`s of it are ignored).
    fn exclude(&mut self, conn: ConnId, piece: u32, ctx: &mut Ctx<'_>) {
        let we_lack = self.state[piece as usize] != PieceState::Verified;
        let requestable = self.requestable(piece);
        let Some(peer) = self.peers.get_mut(&conn) else {
            return;
        };
        peer.excluded.insert(piece);
        if peer.has.clear(piece) {
            peer.useful -= u32::from(we_lack);
            peer.requestable -= u32::from(requestable);
            self.availability.decrement(piece);
        }
        self.update_interest(conn, ctx);
    }

    fn update_interest(&mut self, conn: ConnId, ctx: &mut Ctx<'_>) {
        let Some(peer) = self.peers.get_mut(&conn) else {
            return;
        };
        let endgame = self.availability.bucketed_len() == 0;
        let interesting = !self.paused && peer.useful > 0 && (peer.requestable > 0 || endgame);
        if interesting != peer.interesting {
            peer.interesting = interesting;
            ctx.send(Envelope::Peer(conn, PeerMsg::SetInterest(interesting)));
        }
    }

    /// Whether blocks of `piece` could be asked of a peer that has it: it is missing, or
    /// started with blocks nobody was asked for.
    fn requestable(&self, piece: u32) -> bool {
        match self.state[piece as usize] {
            PieceState::Missing => true,
            PieceState::Partial => self.partial.get(&piece).is_some_and(|p| p.free > 0),
            PieceState::Complete | PieceState::Verified => false,
        }
    }

    /// `piece` changed; it was `before` requestable. Updates the peers that have it.
    fn requestable_changed(&mut self, piece: u32, before: bool, ctx: &mut Ctx<'_>) {
        let after = self.requestable(piece);
        if before == after {
            return;
        }
        let conns: Vec<ConnId> = self
            .peers
            .iter_mut()
            .filter(|(_, peer)| peer.has.get(piece))
            .map(|(&conn, peer)| {
                if after {
                    peer.requestable += 1;
                } else {
                    peer.requestable -= 1;
                }
                conn
            })
            .collect();
        for conn in conns {
            self.update_interest(conn, ctx);
        }
    }

    /// Entering or leaving endgame changes every peer's interest.
    fn endgame_changed(&mut self, was_endgame: bool, ctx: &mut Ctx<'_>) {
        if was_endgame != (self.availability.bucketed_len() == 0) {
            let conns: Vec<ConnId> = self.peers.keys().copied().collect();
            for conn in conns {
                self.update_interest(conn, ctx);
            }
        }
    }

    fn peer_gone(&mut self, conn: ConnId, ctx: &mut Ctx<'_>) {
        let Some(peer) = self.peers.remove(&conn) else {
            return;
        };
        for piece in peer.has.ones() {
            self.availability.decrement(piece);
        }
        let mut freed = Vec::new();
        for (&piece, partial) in self.partial.iter_mut() {
            if partial.free == 0 {
                freed.push(piece);
            }
            if partial.single_source == Some(Some(conn)) {
                // It must come from one peer: what the leaver sent is fetched again.
                let blocks = partial.blocks.len();
                partial.blocks.fill(BlockState::FREE);
                (partial.free, partial.received) = (blocks as u32, 0);
                partial.first_free = 0;
                partial.single_source = Some(None);
                continue;
            }
            for (index, block) in partial.blocks.iter_mut().enumerate() {
                if let Some(requesters) = block.requesters() {
                    if requesters.remove(conn) {
                        *block = BlockState::FREE;
                        partial.free += 1;
                        partial.first_free = partial.first_free.min(index);
                    }
                }
            }
        }
        for piece in freed {
            self.requestable_changed(piece, false, ctx);
        }
    }

    fn release(&mut self, conn: ConnId, block: BlockRef, ctx: &mut Ctx<'_>) {
        let piece = block.piece.get();
        let before = self.requestable(piece);
        self.release_block(conn, block);
        self.requestable_changed(piece, before, ctx);
    }

    fn release_block(&mut self, conn: ConnId, block: BlockRef) {
        let Some(partial) = self.partial.get_mut(&block.piece.get()) else {
            return;
        };
        let index = block.block_index() as usize;
        if let Some(requesters) = partial
            .blocks
            .get_mut(index)
            .and_then(BlockState::requesters)
        {
            if requesters.remove(conn) {
                partial.blocks[index] = BlockState::FREE;
                partial.free += 1;
                partial.first_free = partial.first_free.min(index);
            }
        }
    }

    /// Up to `count` blocks to request from `conn`, never of a piece it lacks; and how many
    /// of them (the first ones) were free rather than taken in endgame.
    fn pick(&mut self, conn: ConnId, count: usize, ctx: &mut Ctx<'_>) -> (Vec<BlockRef>, usize) {
        let mut picked = Vec::new();
        if self.paused || count == 0 || !self.peers.contains_key(&conn) {
            return (picked, 0);
        }
        self.take_from_started(conn, count, &mut picked);
        while picked.len() < count {
            let Some(piece) = self.choose_new_piece(conn, ctx) else {
                break;
            };
            self.start_piece(piece);
            self.take_from_piece(conn, piece, count, &mut picked);
        }
        let fresh = picked.len();
        if picked.len() < count && self.startable_available() == 0 {
            self.take_endgame(conn, count, &mut picked);
        }
        (picked, fresh)
    }

    /// Missing pieces not started yet; endgame waits until there are none. Pieces that no
    /// connected peer has count too: an origin reveals its pieces a few at a time, and a
    /// peer that has started everything revealed so far is not at the end (duplicate
    /// requests there wasted most of the download in the simulator).
    fn startable_available(&self) -> usize {
        self.availability.bucketed_len()
    }

    fn take_from_started(&mut self, conn: ConnId, count: usize, picked: &mut Vec<BlockRef>) {
        let mut from = 0;
        while picked.len() < count {
            let has = &self.peers[&conn].has;
            let next = self
                .partial
                .range(from..)
                .find(|(&piece, partial)| {
                    partial.free > 0
                        && has.get(piece)
                        && partial
                            .single_source
                            .is_none_or(|owner| owner.is_none_or(|o| o == conn))
                })
                .map(|(&piece, _)| piece);
            let Some(piece) = next else {
                return;
            };
            self.take_from_piece(conn, piece, count, picked);
            from = piece + 1;
        }
    }

    fn take_from_piece(
        &mut self,
        conn: ConnId,
        piece: u32,
        count: usize,
        picked: &mut Vec<BlockRef>,
    ) {
        let piece_index = self
            .geometry
            .piece(piece)
            .expect("partial pieces are in range");
        let partial = self.partial.get_mut(&piece).expect("piece is started");
        if !partial.admit(conn) {
            return;
        }
        let mut index = partial.first_free;
        while picked.len() < count && partial.free > 0 && index < partial.blocks.len() {
            if partial.blocks[index] == BlockState::FREE {
                partial.blocks[index] = BlockState::requested(conn);
                partial.free -= 1;
                picked.push(
                    self.geometry
                        .block(piece_index, index as u32)
                        .expect("block in range"),
                );
            }
            index += 1;
        }
        partial.first_free = if partial.free == 0 {
            partial.blocks.len()
        } else {
            index.min(partial.blocks.len())
        };
        if partial.free > 0 && partial.first_free >= partial.blocks.len() {
            partial.first_free = partial
                .blocks
                .iter()
                .position(|b| *b == BlockState::FREE)
                .unwrap_or(0);
        }
    }

    fn choose_new_piece(&mut self, conn: ConnId, ctx: &mut Ctx<'_>) -> Option<u32> {
        let has = &self.peers[&conn].has;
        if self.verified_count < ctx.config().random_first_pieces {
            let pieces = self.geometry.piece_count();
            if pieces == 0 {
                return None;
            }
            let start = ctx.rng.gen_range(0..pieces);
            return (0..pieces)
                .map(|i| (start + i) % pieces)
                .find(|&p| self.availability.is_bucketed(p) && has.get(p));
        }
        let tie_break: u64 = ctx.rng.gen();
        self.availability
            .rarest_first(tie_break)
            .find(|&p| has.get(p))
    }

    fn start_piece(&mut self, piece: u32) {
        let index = self
            .geometry
            .piece(piece)
            .expect("bucketed pieces are in range");
        let blocks = self.geometry.blocks_in_piece(index);
        self.availability.remove(piece);
        self.state[piece as usize] = PieceState::Partial;
        self.partial.insert(
            piece,
            PartialPiece {
                blocks: vec![BlockState::FREE; blocks as usize],
                free: blocks,
                received: 0,
                first_free: 0,
                single_source: self.refetch_single_source.contains(&piece).then_some(None),
            },
        );
    }

    fn take_endgame(&mut self, conn: ConnId, count: usize, picked: &mut Vec<BlockRef>) {
        let has = &self.peers[&conn].has;
        for (&piece, partial) in self.partial.iter_mut() {
            if !has.get(piece) || partial.single_source.is_some() {
                continue;
            }
            let piece_index = self
                .geometry
                .piece(piece)
                .expect("partial pieces are in range");
            for (index, block) in partial.blocks.iter_mut().enumerate() {
                if picked.len() >= count {
                    return;
                }
                if let Some(requesters) = block.requesters() {
                    if requesters.try_add(conn) {
                        picked.push(
                            self.geometry
                                .block(piece_index, index as u32)
                                .expect("block in range"),
                        );
                    }
                }
            }
        }
    }

    fn block_received(
        &mut self,
        conn: ConnId,
        block: BlockRef,
        data: bytes::Bytes,
        ctx: &mut Ctx<'_>,
    ) {
        let piece = block.piece.get();
        let before = self.requestable(piece);
        self.take_block(conn, block, data, ctx);
        self.requestable_changed(piece, before, ctx);
    }

    fn take_block(&mut self, conn: ConnId, block: BlockRef, data: bytes::Bytes, ctx: &mut Ctx<'_>) {
        let piece = block.piece.get();
        let Some(partial) = self.partial.get_mut(&piece) else {
            return; // not wanted any more (verified, or reset): drop it
        };
        let index = block.block_index() as usize;
        let state = &mut partial.blocks[index];
        if *state == BlockState::RECEIVED {
            return; // a duplicate from endgame
        }
        match state.requesters() {
            None => partial.free -= 1,
            Some(requesters) => {
                for other in requesters.iter().filter(|&c| c != conn) {
                    ctx.send(Envelope::Peer(other, PeerMsg::CancelBlock(block)));
                }
            }
        }
        *state = BlockState::RECEIVED;
        partial.received += 1;
        ctx.send(Envelope::Torrent(TorrentMsg::WriteBlock {
            block,
            data,
            from: conn,
        }));
        if partial.received as usize == partial.blocks.len() {
            self.partial.remove(&piece);
            self.state[piece as usize] = PieceState::Complete;
            ctx.send(Envelope::Torrent(TorrentMsg::PieceComplete {
                piece: block.piece,
            }));
        }
    }

    fn piece_verified(&mut self, piece: PieceIndex, ctx: &mut Ctx<'_>) {
        let p = piece.get();
        if self.state[p as usize] == PieceState::Verified {
            return;
        }
        let (before, was_endgame) = (self.requestable(p), self.availability.bucketed_len() == 0);
        self.state[p as usize] = PieceState::Verified;
        self.partial.remove(&p);
        self.refetch_single_source.remove(&p);
        self.availability.remove(p);
        self.verified_count += 1;
        let conns: Vec<ConnId> = self
            .peers
            .iter_mut()
            .filter(|(_, peer)| peer.has.get(p))
            .map(|(&conn, peer)| {
                peer.useful -= 1;
                peer.requestable -= u32::from(before);
                conn
            })
            .collect();
        for conn in conns {
            self.update_interest(conn, ctx);
        }
        self.endgame_changed(was_endgame, ctx);
    }

    /// A verified piece failed its check before serving: missing, and wanted from peers.
    fn piece_lost(&mut self, p: u32, ctx: &mut Ctx<'_>) {
        if self.state[p as usize] != PieceState::Verified {
            return;
        }
        let was_endgame = self.availability.bucketed_len() == 0;
        self.state[p as usize] = PieceState::Missing;
        self.verified_count -= 1;
        self.availability.insert(p);
        let conns: Vec<ConnId> = self
            .peers
            .iter_mut()
            .filter(|(_, peer)| peer.has.get(p))
            .map(|(&conn, peer)| {
                peer.useful += 1;
                peer.requestable += 1;
                conn
            })
            .collect();
        for conn in conns {
            self.update_interest(conn, ctx);
        }
        self.endgame_changed(was_endgame, ctx);
    }

    /// Back to missing, to be fetched again from a single peer: the data failed its hash or
    /// could not be written.
    fn reset_piece(&mut self, piece: PieceIndex, ctx: &mut Ctx<'_>) {
        let p = piece.get();
        if self.state[p as usize] == PieceState::Verified {
            return;
        }
        let (before, was_endgame) = (self.requestable(p), self.availability.bucketed_len() == 0);
        self.partial.remove(&p);
        self.state[p as usize] = PieceState::Missing;
        self.availability.insert(p);
        self.refetch_single_source.insert(p);
        self.requestable_changed(p, before, ctx);
        self.endgame_changed(was_endgame, ctx);
    }

    /// Origin mode: gives free turns to waiting peers and shows them their pieces.
    fn reveal(&mut self, ctx: &mut Ctx<'_>) {
        let config = ctx.config();
        let (slots, per_turn) = (config.origin_slots, config.origin_reveal_per_peer);
        let shown = self.reveals.fill(
            slots,
            per_turn,
            ctx.now,
            &mut self.peers,
            &self.availability,
            ctx.rng,
        );
        for (conn, pieces) in shown {
            let pieces = pieces
                .into_iter()
                .map(|p| self.geometry.piece(p).expect("in range"))
                .collect();
            ctx.send(Envelope::Peer(conn, PeerMsg::Reveal(pieces)));
        }
        if self.reveals.should_watch() {
            ctx.command(Command::WatchUplink);
        }
    }

    /// Whether endgame may start (no startable piece left); for tests.
    #[cfg(test)]
    pub fn startable_available_for_tests(&self) -> usize {
        self.startable_available()
    }

    /// Checks the invariants of `engine/STATE.md`; for tests.
    #[cfg(test)]
    pub fn check_invariants(&self) {
        for (piece, state) in self.state.iter().enumerate() {
            let p = piece as u32;
            assert_eq!(
                self.partial.contains_key(&p),
                *state == PieceState::Partial,
                "piece {p} {state:?}"
            );
            assert_eq!(
                self.availability.is_bucketed(p),
                *state == PieceState::Missing,
                "piece {p} {state:?}"
            );
        }
        for partial in self.partial.values() {
            let free = partial
                .blocks
                .iter()
                .filter(|b| **b == BlockState::FREE)
                .count();
            let received = partial
                .blocks
                .iter()
                .filter(|b| **b == BlockState::RECEIVED)
                .count();
            assert_eq!(free as u32, partial.free);
            assert_eq!(received as u32, partial.received);
        }
    }
}
