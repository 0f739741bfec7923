//! The torrent actor: what is verified, what goes to storage, whom to connect to.
//!
//! It turns complete pieces into write-then-hash requests and hash results into
//! [`PieceVerified`] proofs (the only way a piece becomes verified); discards pieces that
//! fail, strikes every peer that sent a block of them and bans a peer's address after
//! `ban_after_failures` strikes. It schedules announces (with backoff when the tracker is
//! down), keeps the set of known peer addresses and dials new ones while below
//! `max_connections`, and drops duplicate connections to the same peer id.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use rand::seq::IteratorRandom;

use crate::node::addr::PeerAddr;
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
/// Longest wait between announce retries.
const MAX_ANNOUNCE_BACKOFF: Duration = Duration::from_secs(300);

#[derive(Debug, Clone)]
struct Connection {
    addr: PeerAddr,
    peer_id: Option<[u8; 20]>,
    direction: Direction,
}

/// The torrent actor.
#[derive(Debug)]
pub(crate) struct Torrent {
    piece_hashes: Arc<[[u8; 20]]>,
    connections: BTreeMap<ConnId, Connection>,
    known: BTreeSet<PeerAddr>,
    dialling: BTreeSet<PeerAddr>,
    not_before: BTreeMap<PeerAddr, Time>,
    banned: BTreeSet<PeerAddr>,
    strikes: BTreeMap<PeerAddr, u32>,
    pending_writes: BTreeMap<PieceIndex, u32>,
    awaiting_writes: BTreeMap<PieceIndex, Vec<PeerAddr>>,
    hashing: BTreeMap<PieceIndex, Vec<PeerAddr>>,
    storage_failed: bool,
    announced_started: bool,
    announce_failures: u32,
    completion_reported: bool,
}

impl Torrent {
    pub fn new(piece_hashes: Arc<[[u8; 20]]>, already_complete: bool) -> Self {
        Torrent {
            piece_hashes,
            connections: BTreeMap::new(),
            known: BTreeSet::new(),
            dialling: BTreeSet::new(),
            not_before: BTreeMap::new(),
            banned: BTreeSet::new(),
            strikes: BTreeMap::new(),
            pending_writes: BTreeMap::new(),
            awaiting_writes: BTreeMap::new(),
            hashing: BTreeMap::new(),
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
            TorrentMsg::PeerConnected { conn, addr } => self.peer_connected(conn, addr, ctx),
            TorrentMsg::PeerIdentified {
                conn,
                peer_id,
                direction,
            } => self.peer_identified(conn, peer_id, direction, ctx),
            TorrentMsg::PeerGone(conn) => {
                if let Some(connection) = self.connections.remove(&conn) {
                    self.not_before
                        .insert(connection.addr, ctx.now + REDIAL_AFTER);
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
            TorrentMsg::WriteBlock { block, data } => {
                *self.pending_writes.entry(block.piece).or_default() += 1;
                ctx.command(Command::WriteBlock { block, data });
            }
            TorrentMsg::BlockWritten { block, result } => {
                self.block_written(block.piece, result, ctx)
            }
            TorrentMsg::PieceComplete {
                piece,
                contributors,
            } => {
                let addrs = contributors
                    .iter()
                    .filter_map(|c| self.connections.get(c).map(|c| c.addr))
                    .collect();
                self.awaiting_writes.insert(piece, addrs);
                self.hash_if_written(piece, ctx);
            }
            TorrentMsg::PieceHashed { piece, digest } => self.piece_hashed(piece, digest, ctx),
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
            if !self.banned.contains(&addr) {
                self.known.insert(addr);
            }
        }
    }

    fn connect_more(&mut self, ctx: &mut Ctx<'_>) {
        if ctx.shared.is_complete() && !ctx.config().origin_mode {
            return; // seeds wait to be dialled
        }
        let connected: BTreeSet<PeerAddr> = self.connections.values().map(|c| c.addr).collect();
        while self.connections.len() + self.dialling.len() < ctx.config().max_connections {
            let now = ctx.now;
            let candidate = self
                .known
                .iter()
                .filter(|a| {
                    !connected.contains(a)
                        && !self.dialling.contains(a)
                        && self.not_before.get(a).is_none_or(|&t| t <= now)
                })
                .choose(ctx.rng)
                .copied();
            let Some(addr) = candidate else {
                return;
            };
            self.dialling.insert(addr);
            ctx.command(Command::Connect { addr });
        }
    }

    fn peer_connected(&mut self, conn: ConnId, addr: PeerAddr, ctx: &mut Ctx<'_>) {
        self.dialling.remove(&addr);
        if self.banned.contains(&addr) {
            ctx.send(Envelope::Peer(conn, PeerMsg::Close(CloseReason::Banned)));
        }
        self.connections.insert(
            conn,
            Connection {
                addr,
                peer_id: None,
                direction: Direction::Inbound,
            },
        );
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
        if let Some(count) = self.pending_writes.get_mut(&piece) {
            *count -= 1;
            if *count == 0 {
                self.pending_writes.remove(&piece);
            }
        }
        if let Err(error) = result {
            if !self.storage_failed {
                self.storage_failed = true;
                ctx.report(Report::StorageFailed { error });
                ctx.send(Envelope::Picker(PickerMsg::Pause));
            }
            self.awaiting_writes.remove(&piece);
            ctx.send(Envelope::Picker(PickerMsg::HashFailed(piece)));
            return;
        }
        self.hash_if_written(piece, ctx);
    }

    fn hash_if_written(&mut self, piece: PieceIndex, ctx: &mut Ctx<'_>) {
        if self.pending_writes.contains_key(&piece) || self.storage_failed {
            return;
        }
        if let Some(contributors) = self.awaiting_writes.remove(&piece) {
            self.hashing.insert(piece, contributors);
            ctx.command(Command::HashPiece { piece });
        }
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
            if digest.is_ok() && contributors.len() == 1 {
                self.strike(contributors, ctx);
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

    fn strike(&mut self, contributors: Vec<PeerAddr>, ctx: &mut Ctx<'_>) {
        let limit = ctx.config().ban_after_failures;
        for addr in contributors {
            let strikes = self.strikes.entry(addr).or_default();
            *strikes += 1;
            if *strikes >= limit && self.banned.insert(addr) {
                self.known.remove(&addr);
                ctx.report(Report::PeerBanned { addr });
                for (&conn, _) in self.connections.iter().filter(|(_, c)| c.addr == addr) {
                    ctx.send(Envelope::Peer(conn, PeerMsg::Close(CloseReason::Banned)));
                }
            }
        }
    }
}
