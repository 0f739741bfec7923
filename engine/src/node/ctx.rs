//! The context an actor handles a message with, and the messages actors exchange.
//!
//! Actors never call each other: they `send` envelopes into the node's FIFO queue, which the
//! dispatcher drains in order. Everything an actor may use from the outside world comes
//! through [`Ctx`]: the time, the node's RNG, the timer table, the command buffer, and the
//! small state every actor may read ([`Shared`]).

use std::collections::VecDeque;
use std::time::Duration;

use bytes::Bytes;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::bitfield::Bitfield;
use crate::metainfo::InfoHash;
use crate::node::addr::PeerAddr;
use crate::node::config::NodeConfig;
use crate::node::io::{
    AnnounceRequest, CloseReason, Command, ConnId, Direction, DiskError, Frame, Report,
};
use crate::node::timers::{TimerKey, TimerTable};
use crate::piece::{BlockRef, Geometry, PieceIndex};
use crate::time::Time;
use crate::wire::WireError;

/// Proof that a piece's data matched its hash. Only the torrent actor's hash-completion
/// path can construct one, and marking a piece verified requires one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PieceVerified(PieceIndex);

impl PieceVerified {
    /// Compares a digest with the expected hash; the only way to make the proof.
    pub(crate) fn check(piece: PieceIndex, digest: &[u8; 20], expected: &[u8; 20]) -> Option<Self> {
        (digest == expected).then_some(PieceVerified(piece))
    }

    /// The verified piece.
    pub fn piece(self) -> PieceIndex {
        self.0
    }
}

/// Node-wide state that every actor may read; written only through the methods here.
#[derive(Debug)]
pub struct Shared {
    /// The torrent.
    pub info_hash: InfoHash,
    /// The node's settings.
    pub config: NodeConfig,
    /// The torrent's geometry.
    pub geometry: Geometry,
    verified: Bitfield,
    /// Verified pieces whose data was hashed in this run (downloaded, or checked before
    /// first serving it): only these are served, so a stale resume record costs a re-check,
    /// never a corrupt piece sent.
    checked: Bitfield,
    /// Payload bytes sent by all connections.
    pub uploaded_bytes: u64,
    /// Payload bytes received by all connections (including discarded ones).
    pub downloaded_bytes: u64,
    /// Upload cap state: bytes that may still be sent in the current budget window.
    upload_tokens: f64,
    upload_refilled_at: Time,
}

impl Shared {
    /// State for a node that starts with `verified` pieces.
    pub fn new(
        info_hash: InfoHash,
        config: NodeConfig,
        geometry: Geometry,
        verified: Bitfield,
    ) -> Self {
        let checked = Bitfield::new(verified.len());
        Shared {
            info_hash,
            config,
            geometry,
            verified,
            checked,
            uploaded_bytes: 0,
            downloaded_bytes: 0,
            upload_tokens: 0.0,
            upload_refilled_at: Time::ZERO,
        }
    }

    /// Pieces whose hash matched.
    pub fn verified(&self) -> &Bitfield {
        &self.verified
    }

    /// Whether every piece is verified.
    pub fn is_complete(&self) -> bool {
        self.verified.is_full()
    }

    /// Bytes still missing.
    pub fn left_bytes(&self) -> u64 {
        self.geometry
            .pieces()
            .filter(|p| !self.verified.get(p.get()))
            .map(|p| u64::from(self.geometry.piece_size(p)))
            .sum()
    }

    pub(crate) fn mark_verified(&mut self, proof: PieceVerified) {
        self.verified.set(proof.piece().get());
        self.checked.set(proof.piece().get());
    }

    /// Whether `piece` was hashed in this run (and may be served).
    pub fn is_checked(&self, piece: PieceIndex) -> bool {
        self.checked.get(piece.get())
    }

    /// A verified piece's data matched its hash when checked before serving.
    pub(crate) fn mark_checked(&mut self, proof: PieceVerified) {
        self.checked.set(proof.piece().get());
    }

    /// Every verified piece was hashed in this run by the node's owner (a seed's full check
    /// at start): none needs a check of its own before it is served.
    pub(crate) fn mark_verified_checked(&mut self) {
        self.checked = self.verified.clone();
    }

    /// A verified piece's data failed its check before serving: it is missing after all.
    pub(crate) fn mark_missing(&mut self, piece: PieceIndex) {
        self.verified.clear(piece.get());
    }

    /// Takes `bytes` from the upload budget, or says when enough will be there.
    pub(crate) fn take_upload_budget(&mut self, now: Time, bytes: u64) -> Result<(), Time> {
        let Some(rate) = self.config.max_upload_bytes_per_s else {
            return Ok(());
        };
        let rate = rate.max(1) as f64;
        let burst = (rate / 10.0).max(bytes as f64);
        let elapsed = now.since(self.upload_refilled_at).as_secs_f64();
        self.upload_tokens = (self.upload_tokens + elapsed * rate).min(burst);
        self.upload_refilled_at = now;
        if self.upload_tokens >= bytes as f64 {
            self.upload_tokens -= bytes as f64;
            Ok(())
        } else {
            let wait_s = (bytes as f64 - self.upload_tokens) / rate;
            Err(now + Duration::from_secs_f64(wait_s))
        }
    }
}

/// Who a message is for, and what it says.
#[derive(Debug)]
pub(crate) enum Envelope {
    Peer(ConnId, PeerMsg),
    Picker(PickerMsg),
    Choker(ChokerMsg),
    Torrent(TorrentMsg),
}

/// Messages to a peer actor.
#[derive(Debug)]
pub(crate) enum PeerMsg {
    Frame(Frame),
    WireError(WireError),
    BlockRead {
        block: BlockRef,
        data: Result<Bytes, DiskError>,
    },
    /// From the picker: whether the remote has something we lack.
    SetInterest(bool),
    /// From the picker: blocks to request.
    Assign(Vec<BlockRef>),
    /// From the picker: another peer delivered this block (endgame).
    CancelBlock(BlockRef),
    /// From the choker.
    Choke,
    /// From the choker.
    Unchoke,
    /// From the torrent: a piece we now have.
    Have(PieceIndex),
    /// From the picker in origin mode: pieces to advertise to this peer.
    Reveal(Vec<PieceIndex>),
    /// Housekeeping.
    Tick,
    /// The upload budget has refilled.
    ResumeServing,
    /// From the torrent: close this connection.
    Close(CloseReason),
}

/// What the choker knows of one peer at a rechoke.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ChokeCandidate {
    pub conn: ConnId,
    pub interested: bool,
    /// Bytes per second the peer gives us.
    pub download_rate: f64,
    /// Bytes per second we reach sending to the peer.
    pub upload_rate: f64,
    pub snubbed: bool,
}

/// Messages to the choker.
#[derive(Debug)]
pub(crate) enum ChokerMsg {
    PeerGone(ConnId),
    Interest {
        conn: ConnId,
        interested: bool,
    },
    Rechoke(Vec<ChokeCandidate>),
    RotateOptimistic(Vec<ChokeCandidate>),
    /// The unchoked peer on `conn` was sent a piece's worth since it was unchoked (or since
    /// it last said so), or asked nothing for a tick: under rotation its slot may pass on.
    TurnServed(ConnId),
    /// The uplink ran out of work (the answer to `Command::WatchUplink`).
    UplinkIdle,
    /// Unchoked peers that asked for nothing since the previous turn check.
    IdleTurns(Vec<ConnId>),
}

/// Messages to the picker.
#[derive(Debug)]
pub(crate) enum PickerMsg {
    PeerBitfield {
        conn: ConnId,
        bitfield: Bitfield,
    },
    PeerHave {
        conn: ConnId,
        piece: PieceIndex,
    },
    PeerGone(ConnId),
    WantBlocks {
        conn: ConnId,
        count: u32,
    },
    /// Requests that will not be answered (choked, rejected, timed out).
    Released {
        conn: ConnId,
        blocks: Vec<BlockRef>,
    },
    BlockReceived {
        conn: ConnId,
        block: BlockRef,
        data: Bytes,
    },
    Verified(PieceVerified),
    HashFailed(PieceIndex),
    /// A piece we held failed its check before serving: fetch it like any missing piece.
    Lost(PieceIndex),
    /// Do not ask `conn` for `piece` any more: it alone sent a copy that failed.
    Exclude {
        conn: ConnId,
        piece: PieceIndex,
    },
    /// Storage failed: stop handing out blocks.
    Pause,
    /// Housekeeping (origin mode: turns that ran too long end).
    Tick,
    /// Origin mode: the uplink ran out of work (the answer to `Command::WatchUplink`).
    UplinkIdle,
    /// Origin mode: `conn` was sent a piece's worth since it was unchoked or last said so:
    /// its turn is over as far as the uplink goes (the rest is on its way).
    TurnServed(ConnId),
}

/// Messages to the torrent actor.
#[derive(Debug)]
pub(crate) enum TorrentMsg {
    PeerConnected {
        conn: ConnId,
        addr: PeerAddr,
        direction: Direction,
    },
    PeerIdentified {
        conn: ConnId,
        peer_id: [u8; 20],
        direction: Direction,
    },
    /// The remote of `conn` listens on `port` (its extended handshake's `p`).
    PeerListens {
        conn: ConnId,
        port: u16,
    },
    PeerGone(ConnId),
    AddPeers(Vec<PeerAddr>),
    ConnectFailed(PeerAddr),
    WriteBlock {
        block: BlockRef,
        data: Bytes,
        /// The connection that sent it.
        from: ConnId,
    },
    BlockWritten {
        block: BlockRef,
        result: Result<(), DiskError>,
    },
    /// Every block of the piece is received (the torrent knows who sent each).
    PieceComplete {
        piece: PieceIndex,
    },
    PieceHashed {
        piece: PieceIndex,
        digest: Result<[u8; 20], DiskError>,
    },
    /// A peer wants to serve a block of a held piece not hashed in this run yet.
    CheckBeforeServing(PieceIndex),
    AnnounceDone {
        peers: Vec<PeerAddr>,
        interval: Duration,
    },
    AnnounceFailed,
    AnnounceDue,
    Tick,
    /// The node is stopping: say goodbye to the tracker.
    Shutdown,
}

/// An actor's view of the world while it handles one message.
pub(crate) struct Ctx<'a> {
    pub now: Time,
    pub rng: &'a mut ChaCha8Rng,
    pub shared: &'a mut Shared,
    queue: &'a mut VecDeque<Envelope>,
    commands: &'a mut VecDeque<Command>,
    timers: &'a mut TimerTable,
}

/// Everything a [`Ctx`] lends the actors of one node: its only RNG, the shared state, the
/// message queue, the command buffer and the timers. A node owns one; so does the world of
/// a single actor's unit tests.
#[derive(Debug)]
pub(crate) struct Commons {
    pub rng: ChaCha8Rng,
    pub shared: Shared,
    pub queue: VecDeque<Envelope>,
    pub commands: VecDeque<Command>,
    pub timers: TimerTable,
}

impl Commons {
    /// Empty queues and timers around `shared`, with the RNG seeded from `rng_seed`.
    pub fn new(shared: Shared, rng_seed: u64) -> Self {
        Commons {
            rng: ChaCha8Rng::seed_from_u64(rng_seed),
            shared,
            queue: VecDeque::new(),
            commands: VecDeque::new(),
            timers: TimerTable::default(),
        }
    }

    /// The actors' view of all this at `now`.
    pub fn ctx(&mut self, now: Time) -> Ctx<'_> {
        Ctx {
            now,
            rng: &mut self.rng,
            shared: &mut self.shared,
            queue: &mut self.queue,
            commands: &mut self.commands,
            timers: &mut self.timers,
        }
    }
}

impl<'a> Ctx<'a> {
    pub fn config(&self) -> &NodeConfig {
        &self.shared.config
    }

    pub fn send(&mut self, envelope: Envelope) {
        self.queue.push_back(envelope);
    }

    pub fn transmit(&mut self, conn: ConnId, frame: Frame) {
        self.commands.push_back(Command::Transmit { conn, frame });
    }

    pub fn command(&mut self, command: Command) {
        self.commands.push_back(command);
    }

    pub fn close(&mut self, conn: ConnId, reason: CloseReason) {
        self.commands.push_back(Command::Report(Report::Closed {
            conn,
            reason: reason.clone(),
        }));
        self.commands.push_back(Command::Close { conn, reason });
    }

    pub fn announce(&mut self, request: AnnounceRequest) {
        self.commands.push_back(Command::Announce(request));
    }

    pub fn report(&mut self, report: Report) {
        self.commands.push_back(Command::Report(report));
    }

    pub fn set_timer(&mut self, key: TimerKey, at: Time) {
        self.timers.set(key, at);
    }

    pub fn timer_is_set(&self, key: TimerKey) -> bool {
        self.timers.is_set(key)
    }
}

/// A context with nothing behind it, for unit tests and benchmarks of single actors.
#[cfg(any(test, feature = "testkit"))]
pub(crate) mod test_world {
    use super::*;

    /// Owns everything a [`Ctx`] borrows, and the clock.
    pub struct TestWorld {
        pub now: Time,
        pub commons: Commons,
    }

    impl TestWorld {
        /// `pieces` pieces of 32 KiB (two blocks each), with `verified` already held.
        pub fn new(pieces: u32, verified: Bitfield, config: NodeConfig) -> Self {
            let geometry =
                Geometry::new(u64::from(pieces) * 32 * 1024, 32 * 1024).expect("geometry");
            let shared = Shared::new(InfoHash([1; 20]), config, geometry, verified);
            TestWorld {
                now: Time::ZERO,
                commons: Commons::new(shared, 1),
            }
        }

        pub fn ctx(&mut self) -> Ctx<'_> {
            self.commons.ctx(self.now)
        }

        /// Messages sent so far, emptied.
        pub fn take_messages(&mut self) -> Vec<Envelope> {
            self.commons.queue.drain(..).collect()
        }
    }
}
