//! How the real runtime carries out a node's commands (the runtime side of the engine's
//! [`Driver`](swarm_engine::node::driver::Driver)): frames go to connection writers, reads,
//! writes and hashes to the disk lanes, dials and announces to tasks whose answers come
//! back as [`Event`]s.
//!
//! Reads for a peer whose writer still holds more than [`HIGH_WATER_BYTES`] are held back
//! until it drains (the engine keeps a few reads in flight per peer, so this stops serving a
//! slow peer at the source). Reads and writes are gathered over one turn of the node and
//! handed to the disk lanes together ([`NetRuntime::flush_io`]).

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use swarm_engine::node::driver::Interpret;
use swarm_engine::node::io::{Command, ConnId, Direction, Frame, Input, Report};
use swarm_engine::piece::BlockRef;
use swarm_engine::time::Time;
use swarm_engine::wire::Message;
use tokio::net::TcpStream;
use tokio::sync::mpsc;

use crate::addr::{to_peer_addr, to_socket_addr};
use crate::conn::{self, ConnHandle};
use crate::disk::{DiskPool, WriteGate};
use crate::event::Event;
use crate::node::announces::Announcer;
use crate::node::kernel_backlog::KernelBacklog;
use crate::node::options::Status;

/// Bytes a connection's writer may hold before we stop reading blocks for that peer.
pub const HIGH_WATER_BYTES: usize = 4 << 20;
/// The least backlog (writers' queues and the kernel's unsent bytes) under which a node's
/// uplink runs low; more while more is in flight (see [`NetRuntime::uplink_low`]).
const UPLINK_LOW_BYTES: usize = 32 << 10;
/// How long dialling a peer may take.
pub const DIAL_TIMEOUT: Duration = Duration::from_secs(10);

/// Everything a node's commands act on.
#[derive(Debug)]
pub(crate) struct NetRuntime {
    pub(crate) started_at: Instant,
    pub(crate) events_tx: mpsc::Sender<Event>,
    conns: BTreeMap<ConnId, ConnHandle>,
    held: BTreeMap<ConnId, VecDeque<BlockRef>>,
    next_conn: u64,
    piece_count: u32,
    pub(crate) disk: Option<DiskPool>,
    gate: Arc<WriteGate>,
    /// Blocks to read and to write, gathered over one turn of the node.
    reads: Vec<(ConnId, BlockRef)>,
    writes: Vec<(BlockRef, Bytes)>,
    pub(crate) announcer: Option<Announcer>,
    /// What the reports said so far (the counters are filled in when published).
    pub(crate) status: Status,
    /// The node asked to hear when its uplink runs low (`Command::WatchUplink`), and
    /// whether a block was sent since; the writers see the flag.
    uplink_watch: Arc<AtomicBool>,
    block_sent_since_watch: bool,
    uplink_recheck: bool,
}

impl NetRuntime {
    pub(crate) fn new(
        events_tx: mpsc::Sender<Event>,
        piece_count: u32,
        disk: DiskPool,
        gate: Arc<WriteGate>,
        status: Status,
    ) -> Self {
        NetRuntime {
            started_at: Instant::now(),
            events_tx,
            conns: BTreeMap::new(),
            held: BTreeMap::new(),
            next_conn: 1,
            piece_count,
            disk: Some(disk),
            gate,
            reads: Vec::new(),
            writes: Vec::new(),
            announcer: None,
            status,
            uplink_watch: Arc::new(AtomicBool::new(false)),
            block_sent_since_watch: false,
            uplink_recheck: false,
        }
    }

    /// The answer to `Command::WatchUplink`, once a block was sent since and the uplink's
    /// backlog, what the writers hold and what the kernel holds unsent, is under the larger
    /// of [`UPLINK_LOW_BYTES`] and what is in flight (about the link's rate times the round
    /// trip): a peer served from now on gets its first blocks about a round trip later,
    /// when what is queued now has gone. When only the kernel's share keeps it from
    /// answering, `uplink_recheck` is set: no writer will say when the kernel drains.
    pub(crate) fn uplink_low(&mut self) -> Option<Input> {
        if !self.uplink_watch.load(Ordering::Acquire) || !self.block_sent_since_watch {
            return None;
        }
        let queued: usize = self
            .conns
            .values()
            .map(|c| c.queued_bytes.load(Ordering::Acquire))
            .sum();
        if queued >= UPLINK_LOW_BYTES {
            return None;
        }
        let mut kernel = KernelBacklog::default();
        for c in self.conns.values_mut().filter(|c| c.kernel_may_hold) {
            let held = KernelBacklog::of(c.socket);
            c.kernel_may_hold = !held.is_empty();
            kernel += held;
        }
        if queued + kernel.unsent >= UPLINK_LOW_BYTES.max(kernel.in_flight) {
            self.uplink_recheck = true;
            return None;
        }
        self.uplink_watch.store(false, Ordering::Release);
        Some(Input::UplinkIdle)
    }

    /// Whether the uplink should be looked at again shortly (see [`Self::uplink_low`]).
    pub(crate) fn take_uplink_recheck(&mut self) -> bool {
        std::mem::take(&mut self.uplink_recheck)
    }

    /// The wall-clock instant of the engine time `time`.
    pub(crate) fn instant(&self, time: Time) -> Instant {
        self.started_at + Duration::from_nanos(time.as_nanos())
    }

    /// Starts the tasks of a new connection; returns its id and the input that tells the
    /// node. `handshake_read`: the listener already read the remote's handshake.
    pub(crate) fn open(
        &mut self,
        stream: TcpStream,
        addr: SocketAddr,
        direction: Direction,
        handshake_read: bool,
    ) -> (ConnId, Input) {
        let conn = ConnId(self.next_conn);
        self.next_conn += 1;
        let handle = conn::spawn(
            conn,
            stream,
            handshake_read,
            conn::NodeLinks {
                piece_count: self.piece_count,
                events: self.events_tx.clone(),
                low_water_bytes: HIGH_WATER_BYTES / 2,
                gate: Arc::clone(&self.gate),
                uplink_watch: Arc::clone(&self.uplink_watch),
            },
        );
        self.conns.insert(conn, handle);
        let addr = to_peer_addr(addr);
        (
            conn,
            Input::Connected {
                conn,
                addr,
                direction,
            },
        )
    }

    /// Forgets a connection whose reader ended; whether the node knew it.
    pub(crate) fn closed(&mut self, conn: ConnId) -> bool {
        self.held.remove(&conn);
        self.conns.remove(&conn).is_some()
    }

    /// Closes every connection (the node is stopping) and drops reads nobody will get.
    pub(crate) fn close_all(&mut self) {
        for (_, handle) in std::mem::take(&mut self.conns) {
            handle.reader.abort();
        }
        self.held.clear();
        self.reads.clear();
    }

    /// Hands the turn's reads and writes to the disk lanes.
    pub(crate) fn flush_io(&mut self) {
        let Some(disk) = &self.disk else { return };
        if !self.reads.is_empty() {
            disk.read(std::mem::take(&mut self.reads));
        }
        if !self.writes.is_empty() {
            disk.write(std::mem::take(&mut self.writes));
        }
    }

    /// Submits held reads of connections whose writers drained.
    pub(crate) fn release_held(&mut self) {
        if self.held.is_empty() {
            return;
        }
        let conns = &self.conns;
        let reads = &mut self.reads;
        self.held.retain(|conn, blocks| {
            let Some(c) = conns.get(conn) else {
                return false;
            };
            while c.queued_bytes.load(Ordering::Acquire) <= HIGH_WATER_BYTES {
                let Some(block) = blocks.pop_front() else {
                    break;
                };
                reads.push((*conn, block));
            }
            !blocks.is_empty()
        });
    }

    fn dial(&self, addr: SocketAddr) {
        let events = self.events_tx.clone();
        tokio::spawn(async move {
            let result = match tokio::time::timeout(DIAL_TIMEOUT, TcpStream::connect(addr)).await {
                Ok(result) => result,
                Err(_) => Err(std::io::ErrorKind::TimedOut.into()),
            };
            let _ = events.send(Event::Dialed(addr, result)).await;
        });
    }

    fn read_block(&mut self, conn: ConnId, block: BlockRef) {
        let Some(c) = self.conns.get(&conn) else {
            return;
        };
        let held = self.held.get(&conn).is_some_and(|h| !h.is_empty());
        if held || c.queued_bytes.load(Ordering::Acquire) > HIGH_WATER_BYTES {
            self.held.entry(conn).or_default().push_back(block);
        } else {
            self.reads.push((conn, block));
        }
    }

    fn on_report(&mut self, report: Report) {
        match report {
            Report::PieceFailed { piece } => {
                self.status.failed_pieces += 1;
                tracing::warn!(piece, "piece failed its hash check");
            }
            Report::Completed => {
                self.status.completed_after = Some(self.started_at.elapsed());
                tracing::info!("download complete");
            }
            Report::PeerBanned { addr } => {
                self.status.banned_peers += 1;
                tracing::warn!(%addr, "peer banned for corrupt data");
            }
            Report::StorageFailed { error } => {
                tracing::error!(%error, "storage failed");
                self.status.storage_error = Some(error.to_string());
            }
            Report::Closed { conn, reason } => {
                tracing::debug!(conn = conn.0, ?reason, "closed");
            }
        }
    }
}

impl Interpret for NetRuntime {
    fn now(&mut self) -> Time {
        Time::from_nanos(self.started_at.elapsed().as_nanos() as u64)
    }

    fn execute(&mut self, command: Command, ready: &mut VecDeque<Input>) {
        match command {
            Command::Transmit { conn, frame } => {
                let block = matches!(frame, Frame::Message(Message::Piece { .. }));
                self.block_sent_since_watch |= block;
                if let Some(c) = self.conns.get_mut(&conn) {
                    c.kernel_may_hold |= block;
                    c.queued_bytes.fetch_add(frame.wire_len(), Ordering::AcqRel);
                    let _ = c.frames.send(frame);
                }
            }
            Command::Connect { addr } => self.dial(to_socket_addr(addr)),
            Command::Close { conn, reason } => {
                tracing::debug!(conn = conn.0, ?reason, "closing");
                if let Some(c) = self.conns.remove(&conn) {
                    c.reader.abort(); // the writer flushes what it holds, then shuts down
                }
                self.held.remove(&conn);
            }
            Command::ReadBlock { conn, block } => self.read_block(conn, block),
            Command::WriteBlock { block, data } => {
                self.gate.add(data.len());
                self.writes.push((block, data));
            }
            Command::HashPiece { piece } => {
                let Some(disk) = &self.disk else { return };
                match disk.hashed(piece) {
                    // Hashed while written: only the SHA-1 padding is left, no thread needed.
                    Some(digest) => ready.push_back(Input::PieceHashed {
                        piece,
                        digest: Ok(digest),
                    }),
                    None => disk.hash(piece),
                }
            }
            Command::Announce(request) => {
                if let Some(answer) = self.announcer.as_ref().and_then(|a| a.push(request)) {
                    ready.push_back(answer);
                }
            }
            Command::Report(report) => self.on_report(report),
            Command::WatchUplink => {
                self.block_sent_since_watch = false;
                self.uplink_watch.store(true, Ordering::Release);
            }
        }
    }
}
