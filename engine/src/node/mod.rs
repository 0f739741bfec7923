//! A node: the actors of one torrent on one host, behind one sans-IO interface.
//!
//! ## Using a node (every runtime does exactly this)
//! - Getters: [`Node::is_complete`], [`Node::verified`], [`Node::stats`].
//! - Events in: [`Node::start`] once, then [`Node::handle`] for every [`Input`] and
//!   [`Node::handle_timeout`] when the time from [`Node::poll_timeout`] has come.
//! - Outputs: after each call above, drain [`Node::poll_command`] until it returns `None`
//!   and interpret the commands in that order; then ask [`Node::poll_timeout`] again.
//!   [`driver::Driver`] is that loop, written once; every runtime runs its nodes through it.
//!
//! Inside, inputs become messages to actors (peer, picker, choker, torrent) through one FIFO
//! queue that is drained completely before a call returns. The node is a function of the
//! inputs and their times: the same inputs at the same times give the same commands.

pub mod addr;
pub mod config;
pub(crate) mod conns;
pub(crate) mod ctx;
pub mod driver;
pub mod io;
pub mod timers;

use std::sync::Arc;

use crate::actors::choker::Choker;
use crate::actors::peer::Peer;
use crate::actors::picker::Picker;
use crate::actors::torrent::Torrent;
use crate::bitfield::Bitfield;
use crate::metainfo::InfoHash;
use crate::piece::Geometry;
use crate::time::Time;

use self::config::NodeConfig;
use self::conns::ConnMap;
use self::ctx::{ChokerMsg, Commons, Envelope, PeerMsg, PickerMsg, Shared, TorrentMsg};
use self::io::{CloseReason, Command, ConnId, Input};
use self::timers::{TimerKey, TimerTable};

pub use self::ctx::PieceVerified;

/// What a node needs to know of its torrent.
#[derive(Debug, Clone)]
pub struct TorrentSpec {
    /// The swarm's identity.
    pub info_hash: InfoHash,
    /// Sizes.
    pub geometry: Geometry,
    /// One SHA-1 per piece.
    pub piece_hashes: Arc<[[u8; 20]]>,
}

/// Counters a runtime may read at any time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeStats {
    /// Payload bytes sent.
    pub uploaded_bytes: u64,
    /// Payload bytes received.
    pub downloaded_bytes: u64,
    /// Verified pieces.
    pub verified_pieces: u32,
    /// Open connections.
    pub connections: usize,
}

/// One torrent on one host.
#[derive(Debug)]
pub struct Node {
    commons: Commons,
    torrent: Torrent,
    picker: Picker,
    choker: Choker,
    peers: ConnMap<Peer>,
}

impl Node {
    /// A node that already holds the `verified` pieces (all of them for a seed; those a
    /// resume check hashed for a restarted download). `rng_seed` seeds its only RNG.
    pub fn new(spec: TorrentSpec, config: NodeConfig, verified: Bitfield, rng_seed: u64) -> Self {
        let complete = verified.is_full();
        let picker = Picker::new(spec.geometry, &verified);
        Node {
            commons: Commons::new(
                Shared::new(spec.info_hash, config, spec.geometry, verified),
                rng_seed,
            ),
            torrent: Torrent::new(spec.piece_hashes, complete),
            picker,
            choker: Choker::default(),
            peers: ConnMap::new(),
        }
    }

    /// The node's owner hashed every verified piece in this run (a seed that checked its
    /// copy in full at start), so no piece is hashed again before it is first served. A
    /// node started from a resume record must not be told so: its pieces are checked one
    /// by one as they are first asked for.
    pub fn verified_pieces_were_hashed(&mut self) {
        self.commons.shared.mark_verified_checked();
    }

    /// Whether every piece is verified.
    pub fn is_complete(&self) -> bool {
        self.commons.shared.is_complete()
    }

    /// The verified pieces.
    pub fn verified(&self) -> &Bitfield {
        self.commons.shared.verified()
    }

    /// Byte and piece counters.
    pub fn stats(&self) -> NodeStats {
        NodeStats {
            uploaded_bytes: self.commons.shared.uploaded_bytes,
            downloaded_bytes: self.commons.shared.downloaded_bytes,
            verified_pieces: self.commons.shared.verified().count_ones(),
            connections: self.torrent.connection_count(),
        }
    }

    /// Starts the node: first announce, choker and housekeeping timers.
    pub fn start(&mut self, now: Time) {
        let config = &self.commons.shared.config;
        self.commons
            .timers
            .set(TimerKey::Rechoke, now + config.rechoke_interval);
        self.commons.timers.set(
            TimerKey::OptimisticUnchoke,
            now + config.optimistic_interval,
        );
        self.commons
            .timers
            .set(TimerKey::Tick, now + config.tick_interval);
        self.commons.timers.set(TimerKey::Announce, now);
        self.handle_timeout(now);
    }

    /// Feeds one event from the runtime.
    pub fn handle(&mut self, now: Time, input: Input) {
        // The queue is empty between calls: the input's message goes to its actor at once,
        // then whatever it sent. The inputs of every block go straight to their actor.
        debug_assert!(self.commons.queue.is_empty());
        let envelope = match input {
            Input::Frame { conn, frame } => return self.deliver(now, conn, PeerMsg::Frame(frame)),
            Input::BlockRead { conn, block, data } => {
                return self.deliver(now, conn, PeerMsg::BlockRead { block, data })
            }
            Input::BlockWritten { block, result } => {
                let msg = TorrentMsg::BlockWritten { block, result };
                self.torrent.handle(msg, &mut self.commons.ctx(now));
                return self.drain(now);
            }
            Input::Connected {
                conn,
                addr,
                direction,
            } => {
                let mut ctx = self.commons.ctx(now);
                let peer = Peer::new(conn, direction, &mut ctx);
                self.peers.insert(conn, peer);
                Envelope::Torrent(TorrentMsg::PeerConnected {
                    conn,
                    addr,
                    direction,
                })
            }
            Input::ConnectFailed { addr } => Envelope::Torrent(TorrentMsg::ConnectFailed(addr)),
            Input::WireError { conn, error } => Envelope::Peer(conn, PeerMsg::WireError(error)),
            Input::Disconnected { conn } => {
                self.remove_peer(conn);
                return self.drain(now);
            }
            Input::PieceHashed { piece, digest } => {
                Envelope::Torrent(TorrentMsg::PieceHashed { piece, digest })
            }
            Input::AnnounceDone { peers, interval } => {
                Envelope::Torrent(TorrentMsg::AnnounceDone { peers, interval })
            }
            Input::AnnounceFailed { .. } => Envelope::Torrent(TorrentMsg::AnnounceFailed),
            Input::AddPeers { peers } => Envelope::Torrent(TorrentMsg::AddPeers(peers)),
            Input::UplinkIdle if self.commons.shared.config.origin_mode => {
                Envelope::Picker(PickerMsg::UplinkIdle)
            }
            Input::UplinkIdle => Envelope::Choker(ChokerMsg::UplinkIdle),
        };
        self.dispatch(now, envelope);
        self.drain(now);
    }

    /// Hands `msg` to the peer actor of `conn` (dropped if the connection is gone), then
    /// delivers what follows.
    fn deliver(&mut self, now: Time, conn: ConnId, msg: PeerMsg) {
        self.hand_to_peer(now, conn, msg);
        self.drain(now);
    }

    fn hand_to_peer(&mut self, now: Time, conn: ConnId, msg: PeerMsg) {
        let Some(peer) = self.peers.get_mut(&conn) else {
            return; // the connection is gone; late messages are dropped
        };
        peer.handle(msg, &mut self.commons.ctx(now));
        if peer.is_closed() {
            self.remove_peer(conn);
        }
    }

    /// The earliest time at which [`Node::handle_timeout`] must be called.
    pub fn poll_timeout(&self) -> Option<Time> {
        self.commons.timers.next_deadline()
    }

    /// Fires every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Time) {
        while let Some(key) = self.commons.timers.pop_expired(now) {
            let config = &self.commons.shared.config;
            match key {
                TimerKey::Rechoke => {
                    self.commons
                        .timers
                        .set(TimerKey::Rechoke, now + config.rechoke_interval);
                    let candidates = self.choke_candidates(now);
                    self.commons
                        .queue
                        .push_back(Envelope::Choker(ChokerMsg::Rechoke(candidates)));
                }
                TimerKey::OptimisticUnchoke => {
                    self.commons.timers.set(
                        TimerKey::OptimisticUnchoke,
                        now + config.optimistic_interval,
                    );
                    let candidates = self.choke_candidates(now);
                    self.commons
                        .queue
                        .push_back(Envelope::Choker(ChokerMsg::RotateOptimistic(candidates)));
                }
                TimerKey::Announce => self
                    .commons
                    .queue
                    .push_back(Envelope::Torrent(TorrentMsg::AnnounceDue)),
                TimerKey::Tick => {
                    self.commons
                        .timers
                        .set(TimerKey::Tick, now + config.tick_interval);
                    self.commons
                        .queue
                        .push_back(Envelope::Torrent(TorrentMsg::Tick));
                    if config.origin_mode {
                        self.commons
                            .queue
                            .push_back(Envelope::Picker(PickerMsg::Tick));
                    }
                    for &conn in self.peers.keys() {
                        self.commons
                            .queue
                            .push_back(Envelope::Peer(conn, PeerMsg::Tick));
                    }
                }
                TimerKey::TurnCheck => {
                    let conns = self
                        .peers
                        .iter_mut()
                        .filter_map(|(&conn, peer)| peer.take_idle_turn(now).then_some(conn))
                        .collect();
                    self.commons
                        .queue
                        .push_back(Envelope::Choker(ChokerMsg::IdleTurns(conns)));
                }
                TimerKey::UploadBudget => {
                    for &conn in self.peers.keys() {
                        self.commons
                            .queue
                            .push_back(Envelope::Peer(conn, PeerMsg::ResumeServing));
                    }
                }
            }
        }
        self.drain(now);
    }

    /// Stops the node: closes every connection, announces `stopped` if it announced before,
    /// and disarms every timer. Drain the commands afterwards as usual.
    pub fn shutdown(&mut self, now: Time) {
        self.commons.timers = TimerTable::default();
        for &conn in self.peers.keys() {
            self.commons
                .queue
                .push_back(Envelope::Peer(conn, PeerMsg::Close(CloseReason::Shutdown)));
        }
        self.commons
            .queue
            .push_back(Envelope::Torrent(TorrentMsg::Shutdown));
        self.drain(now);
    }

    /// The next command for the runtime, in order.
    pub fn poll_command(&mut self) -> Option<Command> {
        self.commons.commands.pop_front()
    }

    fn choke_candidates(&mut self, now: Time) -> Vec<ctx::ChokeCandidate> {
        let snub = self.commons.shared.config.snub_timeout;
        self.peers
            .values_mut()
            .map(|p| p.choke_candidate(now, snub))
            .collect()
    }

    fn remove_peer(&mut self, conn: ConnId) {
        if self.peers.remove(&conn).is_some() {
            self.commons
                .queue
                .push_back(Envelope::Picker(PickerMsg::PeerGone(conn)));
            self.commons
                .queue
                .push_back(Envelope::Choker(ChokerMsg::PeerGone(conn)));
            self.commons
                .queue
                .push_back(Envelope::Torrent(TorrentMsg::PeerGone(conn)));
        }
    }

    /// Delivers queued messages until the queue is empty.
    fn drain(&mut self, now: Time) {
        while let Some(envelope) = self.commons.queue.pop_front() {
            self.dispatch(now, envelope);
        }
    }

    /// Delivers one message to its actor.
    fn dispatch(&mut self, now: Time, envelope: Envelope) {
        match envelope {
            Envelope::Peer(conn, msg) => self.hand_to_peer(now, conn, msg),
            Envelope::Picker(msg) => self.picker.handle(msg, &mut self.commons.ctx(now)),
            Envelope::Choker(msg) => self.choker.handle(msg, &mut self.commons.ctx(now)),
            Envelope::Torrent(msg) => self.torrent.handle(msg, &mut self.commons.ctx(now)),
        }
    }
}
