//! What crosses the boundary between a node and its runtime: inputs fed in, commands out.
//!
//! Commands are data (stateright style): the runtime interprets each one and, for those
//! that complete later (connect, disk, hashing, announce), feeds the result back as an
//! [`Input`]. The same commands are interpreted by the simulator and by the real runner.

use std::time::Duration;

use bytes::Bytes;

pub use crate::bep3::AnnounceEvent;
use crate::node::addr::PeerAddr;
use crate::piece::{BlockRef, PieceIndex};
use crate::wire::{Handshake, Message, WireError, HANDSHAKE_LEN};

/// Identifies one connection; chosen by the runtime, unique for the node's lifetime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConnId(pub u64);

/// A unit on the wire: the handshake, or a length-prefixed message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// The 68-byte handshake.
    Handshake(Handshake),
    /// Any message after the handshake.
    Message(Message),
}

impl Frame {
    /// Bytes the frame takes on the wire (the length prefix included).
    pub fn wire_len(&self) -> usize {
        match self {
            Frame::Handshake(_) => HANDSHAKE_LEN,
            Frame::Message(message) => message.wire_len(),
        }
    }
}

/// Who opened a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// We dialled.
    Outbound,
    /// The remote dialled us.
    Inbound,
}

/// What the node tells the tracker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnnounceRequest {
    /// Why it announces.
    pub event: AnnounceEvent,
    /// Payload bytes sent so far.
    pub uploaded_bytes: u64,
    /// Payload bytes received so far.
    pub downloaded_bytes: u64,
    /// Bytes still missing.
    pub left_bytes: u64,
    /// How many peers it would like.
    pub numwant: u32,
}

/// Why a disk or hashing job failed, by kind, so that policy can depend on it (a full disk
/// pauses the download; it is not the peer's fault).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DiskError {
    /// No space left on the device (or over quota).
    #[error("no space left on device: {detail}")]
    NoSpace { detail: String },
    /// The files may not be read or written.
    #[error("permission denied: {detail}")]
    PermissionDenied { detail: String },
    /// The file is shorter than the torrent says (truncated or replaced underneath us).
    #[error("file too short: {detail}")]
    UnexpectedEnd { detail: String },
    /// Any other I/O failure.
    #[error("{detail}")]
    Other { detail: String },
}

/// Why the node closed a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CloseReason {
    /// The peer's bytes were rejected by the codec or by validation (see the error's kind).
    Wire(WireError),
    /// The peer broke the protocol in a way the codec cannot see (a message before the
    /// handshake, a second handshake), or serving it failed.
    PeerError(String),
    /// Handshake for another torrent, or a connection to ourselves.
    WrongPeer(String),
    /// Banned after sending data that failed verification.
    Banned,
    /// Both sides are seeds: nothing to exchange.
    BothSeeds,
    /// A handshake, idle or no-progress timeout: the connection held a slot to no use.
    Timeout(String),
    /// The peer crossed a limit (a flood of requests, too many connections).
    OverLimit(String),
    /// The node is shutting down.
    Shutdown,
}

/// Events the runtime may log, count or record; they need no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Report {
    /// A piece failed its hash check and was discarded.
    PieceFailed { piece: u32 },
    /// Every piece is verified.
    Completed,
    /// A peer address is banned for corrupt data.
    PeerBanned { addr: PeerAddr },
    /// Writing to storage failed; the download is paused.
    StorageFailed { error: DiskError },
    /// A connection was closed by us.
    Closed { conn: ConnId, reason: CloseReason },
}

/// Instructions from the node to its runtime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Send a frame on a connection, in order.
    Transmit { conn: ConnId, frame: Frame },
    /// Dial a peer; answer with [`Input::Connected`] or [`Input::ConnectFailed`].
    Connect { addr: PeerAddr },
    /// Close a connection; the runtime answers with nothing.
    Close { conn: ConnId, reason: CloseReason },
    /// Read a block for a peer; answer with [`Input::BlockRead`].
    ReadBlock { conn: ConnId, block: BlockRef },
    /// Write a received block; answer with [`Input::BlockWritten`].
    WriteBlock { block: BlockRef, data: Bytes },
    /// Hash a piece whose blocks are all written; answer with [`Input::PieceHashed`].
    HashPiece { piece: PieceIndex },
    /// Announce to the tracker; answer with [`Input::AnnounceDone`] or `AnnounceFailed`.
    Announce(AnnounceRequest),
    /// Something worth logging or recording.
    Report(Report),
    /// Answer with one [`Input::UplinkIdle`] the first time, after this command, that the
    /// node has sent payload (piece messages) and has nothing left queued on any connection. The
    /// node sizes its upload fan-out by it (see `actors/choker.rs`); a runtime must answer
    /// it, or the node keeps serving one peer at a time.
    WatchUplink,
}

/// Events from the runtime to the node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A connection is open (we dialled it, or accepted it).
    Connected {
        conn: ConnId,
        addr: PeerAddr,
        direction: Direction,
    },
    /// Dialling failed.
    ConnectFailed { addr: PeerAddr },
    /// A frame arrived, decoded by the runtime's codec.
    Frame { conn: ConnId, frame: Frame },
    /// The runtime's codec rejected the peer's bytes; the node closes the connection.
    WireError { conn: ConnId, error: WireError },
    /// The connection is gone.
    Disconnected { conn: ConnId },
    /// A block requested by [`Command::ReadBlock`].
    BlockRead {
        conn: ConnId,
        block: BlockRef,
        data: Result<Bytes, DiskError>,
    },
    /// A block written by [`Command::WriteBlock`].
    BlockWritten {
        block: BlockRef,
        result: Result<(), DiskError>,
    },
    /// The SHA-1 of a piece requested by [`Command::HashPiece`] (an error if unreadable).
    PieceHashed {
        piece: PieceIndex,
        digest: Result<[u8; 20], DiskError>,
    },
    /// The tracker answered.
    AnnounceDone {
        peers: Vec<PeerAddr>,
        interval: Duration,
    },
    /// The tracker could not be reached or refused.
    AnnounceFailed { reason: String },
    /// Peers learned another way (given on the command line, or by the harness).
    AddPeers { peers: Vec<PeerAddr> },
    /// The answer to [`Command::WatchUplink`]: everything sent, nothing left queued.
    UplinkIdle,
}
