//! The torrent actor: what is verified, what goes to storage, whom to connect to.
//!
//! It turns complete pieces into write-then-hash requests and hash results into
//! [`PieceVerified`] proofs (the only way a piece becomes verified); discards pieces that
//! fail and blames the senders of their blocks, recorded by address as each block arrives (so
//! a sender that left since is still named, and whoever completed the piece is not framed).
//! A sole sender gets a strike for that piece; an IP address with strikes on
//! `ban_after_failures` distinct pieces is banned (every port: a redial is closed at once). It schedules announces (with backoff when the tracker is
//! down), keeps the set of known peer addresses and dials new ones while below
//! `max_connections`, and drops duplicate connections to the same peer id.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use rand::seq::IteratorRandom;

use crate::node::addr::PeerAddr;
use crate::node::conns::ConnMap;
use crate::node::ctx::{Ctx, Envelope, PeerMsg, PickerMsg, PieceVerified, TorrentMsg};
use crate::node::io::{
    AnnounceEvent, AnnounceRequest, CloseReason, Command, ConnId, Direction, DiskError, Report,
};
use crate::node::timers::TimerKey;
use crate::piece::PieceIndex;
use crate::time::Time;

/// Wait before dialling an address again after it failed or closed.
const REDIAL_AFTER: Duration = Duration::from_secs(30);
/// First wait before retrying a failed announce; it doubles with every failure.
const FIRST_ANNOUNCE_RETRY: Duration = Duration::from_secs(5);
/// Inbound connections kept at most; one more is closed at once (a flood of idle
/// connections must not exhaust file descriptors or memory).
pub(crate) const MAX_INBOUND_CONNECTIONS: usize = 200;
/// Longest wait between announce retries.
const MAX_ANNOUNCE_BACKOFF: Duration = Duration::from_secs(300);

/// A peer's IP address (IPv4 mapped): what strikes and bans are keyed by, never the port.
type Ip = [u8; 16];

#[derive(Debug, Clone)]
struct Connection {
    addr: PeerAddr,
    /// Where the remote listens: the address we dialled, or for an inbound connection its
    /// IP with the port of its extended handshake (its source address until then). An
    /// address a connection listens on is not dialled: without this, every announce
    /// dialled the peers that had dialled us, and the duplicate rule closed one connection
    /// of each pair. In a real 24-peer swarm each peer closed about 23 connections a few
    /// seconds into the run, established ones among them, then 24 more every 30 s.
    listen: PeerAddr,
    /// How `senders` names this connection (see [`Senders`]).
    sender: u32,
    peer_id: Option<[u8; 20]>,
    direction: Direction,
}

/// No sender recorded for a block.
const NO_SENDER: u32 = u32::MAX;

/// Who sent the blocks of the pieces being assembled, four bytes a block (this is written
/// for every block received, and a node assembles dozens of pieces at once). Each
/// connection gets a number; the address behind it is kept while the connection is open
/// or a recorded block names it, so a sender that left is still named, and the table stays
/// as small as the connections and the pieces in progress.
#[derive(Debug, Default)]
struct Senders {
    /// By piece, the sender of each block (by block index), or [`NO_SENDER`].
    blocks: BTreeMap<PieceIndex, Vec<u32>>,
    addrs: Vec<PeerAddr>,
    /// What holds each number: its open connection and the blocks that name it.
    holds: Vec<u32>,
    free: Vec<u32>,
}

impl Senders {
    /// A number for a new connection from `addr`.
    fn open(&mut self, addr: PeerAddr) -> u32 {
        match self.free.pop() {
            Some(number) => {
                self.addrs[number as usize] = addr;
                self.holds[number as usize] = 1;
                number
            }
            None => {
                self.addrs.push(addr);
                self.holds.push(1);
                (self.addrs.len() - 1) as u32
            }
        }
    }

    fn release(&mut self, number: u32) {
        let holds = &mut self.holds[number as usize];
        *holds -= 1;
        if *holds == 0 {
            self.free.push(number);
        }
    }

    /// Block `index` of `piece` (of `blocks` blocks) came from `number`.
    fn record(&mut self, piece: PieceIndex, blocks: usize, index: usize, number: u32) {
        let senders = self
            .blocks
            .entry(piece)
            .or_insert_with(|| vec![NO_SENDER; blocks]);
        let replaced = std::mem::replace(&mut senders[index], number);
        self.holds[number as usize] += 1;
        if replaced != NO_SENDER {
            self.release(replaced);
        }
    }

    /// Forgets `piece`; returns the address of each of its blocks' senders, in block order.
    fn take(&mut self, piece: PieceIndex) -> Vec<PeerAddr> {
        let numbers = self.blocks.remove(&piece).unwrap_or_default();
        let mut addrs = Vec::new();
        for number in numbers.into_iter().filter(|&n| n != NO_SENDER) {
            addrs.push(self.addrs[number as usize]);
            self.release(number);
        }
        addrs
    }
}

/// The torrent actor.
#[derive(Debug)]
pub(crate) struct Torrent {
    piece_hashes: Arc<[[u8; 20]]>,
    connections: ConnMap<Connection>,
    known: BTreeSet<PeerAddr>,
    dialling: BTreeSet<PeerAddr>,
    not_before: BTreeMap<PeerAddr, Time>,
    banned: BTreeSet<Ip>,
    /// Distinct pieces that failed with this address as their sole sender.
    strikes: BTreeMap<Ip, BTreeSet<PieceIndex>>,
    /// Who sent each block of the pieces being assembled; a re-sent block replaces its
    /// sender.
    senders: Senders,
    /// Writes not yet confirmed, by piece.
    pending_writes: Vec<u32>,
    awaiting_writes: BTreeMap<PieceIndex, Vec<PeerAddr>>,
    hashing: BTreeMap<PieceIndex, Vec<PeerAddr>>,
    /// Held pieces being hashed before they are first served.
    checking: BTreeSet<PieceIndex>,
    /// Check ahead: no piece below this index waits for a check of its own.
    check_cursor: u32,
    storage_failed: bool,
    announced_started: bool,
    announce_failures: u32,
    completion_reported: bool,
}

impl Torrent {
    pub fn new(piece_hashes: Arc<[[u8; 20]]>, already_complete: bool) -> Self {
        let pieces = piece_hashes.len();
        Torrent {
            piece_hashes,
            connections: ConnMap::new(),
            known: BTreeSet::new(),
            dialling: BTreeSet::new(),
            not_before: BTreeMap::new(),
            banned: BTreeSet::new(),
            strikes: BTreeMap::new(),
            senders: Senders::default(),
            pending_writes: vec![0; pieces],
            awaiting_writes: BTreeMap::new(),
            hashing: BTreeMap::new(),
            checking: BTreeSet::new(),
            check_cursor: 0,
            storage_failed: false,
            announced_started: false,
            announce_failures: 0,
            completion_reported: already_complete,
        }
    }

    /// Open connections.
    pub fn connection_count(&self) -> usize {
        self.connections.len()
    }

    pub fn handle(&mut self, msg: TorrentMsg, ctx: &mut Ctx<'_>) {
        match msg {
            TorrentMsg::PeerConnected {
                conn,
                addr,
                direction,
            } => self.peer_connected(conn, addr, direction, ctx),
            TorrentMsg::PeerIdentified {
                conn,
                peer_id,
                direction,
            } => self.peer_identified(conn, peer_id, direction, ctx),
            TorrentMsg::PeerListens { conn, port } => {
                // A dialled connection keeps the address that reached it (behind a port
                // mapping, `p` may name another).
                if let Some(connection) = self
                    .connections
                    .get_mut(&conn)
                    .filter(|c| c.direction == Direction::Inbound)
                {
                    connection.listen = PeerAddr {
                        port,
                        ..connection.addr
                    };
                }
            }
            TorrentMsg::PeerGone(conn) => {
                if let Some(connection) = self.connections.remove(&conn) {
                    self.senders.release(connection.sender);
                    self.not_before
                        .insert(connection.listen, ctx.now + REDIAL_AFTER);
                }
            }
            TorrentMsg::ConnectFailed(addr) => {
                self.dialling.remove(&addr);
                self.not_before.insert(addr, ctx.now + REDIAL_AFTER);
            }
            TorrentMsg::AddPeers(addrs) => {
                self.learn(addrs);
                self.connect_more(ctx);
            }
            TorrentMsg::WriteBlock { block, data, from } => {
                if let Some(connection) = self.connections.get(&from) {
                    let blocks = ctx.shared.geometry.blocks_in_piece(block.piece) as usize;
                    let index = block.block_index() as usize;
                    self.senders
                        .record(block.piece, blocks, index, connection.sender);
                }
                self.pending_writes[block.piece.as_usize()] += 1;
                ctx.command(Command::WriteBlock { block, data });
            }
            TorrentMsg::BlockWritten { block, result } => {
                self.block_written(block.piece, result, ctx)
            }
            TorrentMsg::PieceComplete { piece } => {
                let mut by_ip: BTreeMap<Ip, PeerAddr> = BTreeMap::new();
                for addr in self.senders.take(piece) {
                    by_ip.entry(addr.ip).or_insert(addr);
                }
                self.awaiting_writes
                    .insert(piece, by_ip.into_values().collect());
                self.hash_if_written(piece, ctx);
            }
            TorrentMsg::PieceHashed { piece, digest } if self.checking.remove(&piece) => {
                self.checked_before_serving(piece, digest, ctx);
                self.check_ahead(ctx);
            }
            TorrentMsg::PieceHashed { piece, digest } => self.piece_hashed(piece, digest, ctx),
            TorrentMsg::CheckBeforeServing(piece) => {
                if !ctx.shared.is_checked(piece) && self.checking.insert(piece) {
                    ctx.command(Command::HashPiece { piece });
                }
                self.check_ahead(ctx);
            }
            TorrentMsg::AnnounceDone { peers, interval } => {
                self.announce_failures = 0;
                ctx.set_timer(TimerKey::Announce, ctx.now + interval);
                self.learn(peers);
                self.connect_more(ctx);
            }
            TorrentMsg::AnnounceFailed => {
                self.announce_failures += 1;
                let base = ctx
                    .config()
                    .default_announce_interval
                    .min(FIRST_ANNOUNCE_RETRY);
                let backoff = base
                    .saturating_mul(1 << (self.announce_failures - 1).min(6))
                    .min(MAX_ANNOUNCE_BACKOFF);
                ctx.set_timer(TimerKey::Announce, ctx.now + backoff);
            }
            TorrentMsg::AnnounceDue => self.announce(None, ctx),
            TorrentMsg::Tick => self.connect_more(ctx),
            TorrentMsg::Shutdown => {
                self.known.clear();
                if self.announced_started {
                    self.announce(Some(AnnounceEvent::Stopped), ctx);
                }
            }
        }
    }

    fn announce(&mut self, event: Option<AnnounceEvent>, ctx: &mut Ctx<'_>) {
        let event = event.unwrap_or(if self.announced_started {
            AnnounceEvent::Periodic
        } else {
            AnnounceEvent::Started
        });
        self.announced_started = true;
        ctx.announce(AnnounceRequest {
            event,
            uploaded_bytes: ctx.shared.uploaded_bytes,
            downloaded_bytes: ctx.shared.downloaded_bytes,
            left_bytes: ctx.shared.left_bytes(),
            numwant: ctx.config().announce_numwant,
        });
    }

    fn learn(&mut self, addrs: Vec<PeerAddr>) {
        for addr in addrs {
            if !self.banned.contains(&addr.ip) {
                self.known.insert(addr);
            }
        }
    }

    fn connect_more(&mut self, ctx: &mut Ctx<'_>) {
        if ctx.shared.is_complete() && !ctx.config().origin_mode {
            return; // seeds wait to be dialled
        }
        let max = ctx.config().max_connections;
        if self.connections.len() + self.dialling.len() >= max {
            return; // the usual case, every tick
        }
        // Who may be dialled, once (the addresses, connections and back-offs do not change
        // while we dial); each dial then chooses among those not dialled yet. `choose` on
        // an iterator of unknown length draws once per element, and so it still does here
        // (the filter hides the slice's exact length): the same draws, the same choices.
        let now = ctx.now;
        let connected: BTreeSet<PeerAddr> = self.connections.values().map(|c| c.listen).collect();
        let mut candidates: Vec<PeerAddr> = self
            .known
            .iter()
            .filter(|a| {
                !connected.contains(a)
                    && !self.dialling.contains(a)
                    && self.not_before.get(a).is_none_or(|&t| t <= now)
            })
            .copied()
            .collect();
        while self.connections.len() + self.dialling.len() < max {
            let chosen = candidates
                .iter()
                .enumerate()
                .filter(|_| true)
                .choose(ctx.rng)
                .map(|(at, _)| at);
            let Some(at) = chosen else {
                return;
            };
            let addr = candidates.remove(at);
            self.dialling.insert(addr);
            ctx.command(Command::Connect { addr });
        }
    }

    fn peer_connected(
        &mut self,
        conn: ConnId,
        addr: PeerAddr,
        direction: Direction,
        ctx: &mut Ctx<'_>,
    ) {
        self.dialling.remove(&addr);
        let inbound = || {
            self.connections
                .values()
                .filter(|c| c.direction == Direction::Inbound)
                .count()
        };
        let refusal = if self.banned.contains(&addr.ip) {
            Some(CloseReason::Banned)
        } else if direction == Direction::Inbound && inbound() >= MAX_INBOUND_CONNECTIONS {
            let why = format!("over {MAX_INBOUND_CONNECTIONS} inbound connections");
            Some(CloseReason::OverLimit(why))
        } else {
            None
        };
        if let Some(reason) = refusal {
            ctx.send(Envelope::Peer(conn, PeerMsg::Close(reason)));
        }
        let peer_id = None;
        let connection = Connection {
            addr,
            listen: addr,
            sender: self.senders.open(addr),
            peer_id,
            direction,
        };
        if let Some(replaced) = self.connections.insert(conn, connection) {
            self.senders.release(replaced.sender);
        }
    }

    /// Two connections to one peer id: both ends keep the one dialled by the smaller id.
    fn peer_identified(
        &mut self,
        conn: ConnId,
        peer_id: [u8; 20],
        direction: Direction,
        ctx: &mut Ctx<'_>,
    ) {
        let Some(connection) = self.connections.get_mut(&conn) else {
            return;
        };
        connection.peer_id = Some(peer_id);
        connection.direction = direction;
        let duplicate = self
            .connections
            .iter()
            .find(|(&other, c)| other != conn && c.peer_id == Some(peer_id))
            .map(|(&other, c)| (other, c.direction));
        let Some((other, other_direction)) = duplicate else {
            return;
        };
        let ours = ctx.config().peer_id;
        let keep_dialled_by_us = ours < peer_id;
        let keep = |d: Direction| (d == Direction::Outbound) == keep_dialled_by_us;
        let victim = if keep(direction) && !keep(other_direction) {
            other
        } else {
            conn
        };
        ctx.send(Envelope::Peer(
            victim,
            PeerMsg::Close(CloseReason::WrongPeer("duplicate connection".into())),
        ));
    }

    fn block_written(
        &mut self,
        piece: PieceIndex,
        result: Result<(), DiskError>,
        ctx: &mut Ctx<'_>,
    ) {
        let count = &mut self.pending_writes[piece.as_usize()];
        *count = count.saturating_sub(1);
        if let Err(error) = result {
            if !self.storage_failed {
                self.storage_failed = true;
                ctx.report(Report::StorageFailed { error });
                ctx.send(Envelope::Picker(PickerMsg::Pause));
            }
            self.awaiting_writes.remove(&piece);
            self.senders.take(piece);
            ctx.send(Envelope::Picker(PickerMsg::HashFailed(piece)));
            return;
        }
        self.hash_if_written(piece, ctx);
    }

    fn hash_if_written(&mut self, piece: PieceIndex, ctx: &mut Ctx<'_>) {
        if self.pending_writes[piece.as_usize()] > 0 || self.storage_failed {
            return;
        }
        // Every block's write ends here, and almost always with nothing awaiting.
        if self.awaiting_writes.is_empty() {
            return;
        }
        if let Some(contributors) = self.awaiting_writes.remove(&piece) {
            self.hashing.insert(piece, contributors);
            ctx.command(Command::HashPiece { piece });
        }
    }

    /// Once serving has begun, keeps `check_ahead_pieces` checks in flight over the held
    /// pieces not checked yet, in index order, so that a request seldom waits for its
    /// piece's check (one check per first request put a seed's 2 GiB loopback transfer at
    /// half the speed of a seed that checks nothing).
    fn check_ahead(&mut self, ctx: &mut Ctx<'_>) {
        let want = ctx.config().check_ahead_pieces;
        let pieces = ctx.shared.geometry.piece_count();
        while self.checking.len() < want && self.check_cursor < pieces {
            let Some(piece) = ctx.shared.geometry.piece(self.check_cursor) else {
                break;
            };
            self.check_cursor += 1;
            if ctx.shared.verified().get(piece.get())
                && !ctx.shared.is_checked(piece)
                && self.checking.insert(piece)
            {
                ctx.command(Command::HashPiece { piece });
            }
        }
    }

    /// A held piece hashed before its first block is served: it passed, and every peer may
    /// serve it; or it failed, and it is missing (reported, fetched again, never sent).
    fn checked_before_serving(
        &mut self,
        piece: PieceIndex,
        digest: Result<[u8; 20], DiskError>,
        ctx: &mut Ctx<'_>,
    ) {
        let expected = &self.piece_hashes[piece.as_usize()];
        let proof = digest
            .as_ref()
            .ok()
            .and_then(|d| PieceVerified::check(piece, d, expected));
        match proof {
            Some(proof) => ctx.shared.mark_checked(proof),
            None => {
                ctx.shared.mark_missing(piece);
                self.completion_reported = false;
                ctx.report(Report::PieceFailed { piece: piece.get() });
                ctx.send(Envelope::Picker(PickerMsg::Lost(piece)));
            }
        }
        for &conn in self.connections.keys() {
            ctx.send(Envelope::Peer(conn, PeerMsg::ResumeServing));
        }
        self.connect_more(ctx);
    }

    fn piece_hashed(
        &mut self,
        piece: PieceIndex,
        digest: Result<[u8; 20], DiskError>,
        ctx: &mut Ctx<'_>,
    ) {
        let contributors = self.hashing.remove(&piece).unwrap_or_default();
        let expected = &self.piece_hashes[piece.as_usize()];
        let proof = digest
            .as_ref()
            .ok()
            .and_then(|d| PieceVerified::check(piece, d, expected));
        let Some(proof) = proof else {
            ctx.report(Report::PieceFailed { piece: piece.get() });
            ctx.send(Envelope::Picker(PickerMsg::HashFailed(piece)));
            // Only a sole sender is to blame; a piece from several senders is fetched again
            // from one peer (the picker sees to it), so a liar is caught on the next try.
            if let (Ok(_), [sender]) = (digest, contributors.as_slice()) {
                self.strike(*sender, piece, ctx);
            }
            return;
        };
        ctx.shared.mark_verified(proof);
        ctx.send(Envelope::Picker(PickerMsg::Verified(proof)));
        for &conn in self.connections.keys() {
            ctx.send(Envelope::Peer(conn, PeerMsg::Have(piece)));
        }
        if ctx.shared.is_complete() && !self.completion_reported {
            self.completion_reported = true;
            ctx.report(Report::Completed);
            self.announce(Some(AnnounceEvent::Completed), ctx);
        }
    }

    /// `sender` alone sent `piece`, which failed: that piece is not asked of its address
    /// again (it may hold a stale copy and still serve the others well), and the address is
    /// banned once `ban_after_failures` distinct pieces failed so.
    fn strike(&mut self, sender: PeerAddr, piece: PieceIndex, ctx: &mut Ctx<'_>) {
        let ip = sender.ip;
        let struck: Vec<ConnId> = self
            .connections
            .iter()
            .filter(|(_, c)| c.addr.ip == ip)
            .map(|(&conn, _)| conn)
            .collect();
        let pieces = self.strikes.entry(ip).or_default();
        pieces.insert(piece);
        let ban = pieces.len() >= ctx.config().ban_after_failures as usize;
        if ban && self.banned.insert(ip) {
            self.known.retain(|a| a.ip != ip);
            ctx.report(Report::PeerBanned { addr: sender });
            for conn in struck {
                ctx.send(Envelope::Peer(conn, PeerMsg::Close(CloseReason::Banned)));
            }
        } else {
            for conn in struck {
                ctx.send(Envelope::Picker(PickerMsg::Exclude { conn, piece }));
            }
        }
    }
}
