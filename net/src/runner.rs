//! The node task (quinn's driver over quinn-proto): one tokio task owns a torrent's
//! [`Node`] and interprets its commands; everything that blocks or waits runs elsewhere and
//! comes back as an `Event` on one bounded queue.
//!
//! Each node runs on its own thread, a single-threaded tokio runtime that also drives its
//! connections' tasks and announces: a block travels from a socket reader to the node and
//! on to a connection writer without waking another thread, whatever runtime the caller
//! uses. Only the disk threads (and the caller's [`Running`] handle) cross threads.
//!
//! ```text
//!   listener ─┐   connection readers ─┐   disk/hash threads ─┐   announcer / dialler ─┐
//!             └──────────────── Event queue (bounded) ───────┴──────────────────────┘
//!                                     │
//!                     node task: Node::handle / handle_timeout, then drain poll_command
//!                                     │
//!     Transmit → connection writer · ReadBlock/WriteBlock/HashPiece → disk pool
//!     Connect → dial task · Announce → tracker task · Close → drop the connection
//! ```
//!
//! The node task never waits on anything but its queue and its next deadline, so queues
//! that feed it can be bounded without deadlock. Reads for a peer whose writer still holds
//! more than [`HIGH_WATER_BYTES`] are held back until it drains (the engine keeps a small
//! number of reads in flight per peer, so this stops serving a slow peer at the source).

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use swarm_engine::bitfield::Bitfield;
use swarm_engine::metainfo::Metainfo;
use swarm_engine::node::config::NodeConfig;
use swarm_engine::node::io::{Command, ConnId, Direction, Input, Report};
use swarm_engine::node::{Node, TorrentSpec};
use swarm_engine::piece::BlockRef;
use swarm_engine::time::Time;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot, watch};

use crate::addr::{to_peer_addr, to_socket_addr};
use crate::announce::{announce, AnnounceParams};
use crate::conn::{self, ConnHandle};
use crate::disk::{DiskPool, WriteGate};
use crate::storage::Storage;

/// Bytes a connection's writer may hold before we stop reading blocks for that peer.
pub const HIGH_WATER_BYTES: usize = 4 << 20;
/// Capacity of the node's event queue.
const EVENT_QUEUE: usize = 256;
/// Events handled before the node's commands are dispatched, at most.
const EVENT_BATCH: usize = 256;
/// How long dialling a peer may take.
const DIAL_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one tracker request may take.
const ANNOUNCE_TIMEOUT: Duration = Duration::from_secs(15);
/// How often a status whose only change is in its byte counters is published, at most.
const COUNTER_PUBLISH_INTERVAL: Duration = Duration::from_millis(100);

/// What reaches the node task.
#[derive(Debug)]
pub(crate) enum Event {
    Input(Input),
    Inputs(Vec<Input>),
    Accepted(TcpStream, SocketAddr),
    Dialed(SocketAddr, std::io::Result<TcpStream>),
    Closed(ConnId),
    Drained(ConnId),
}

/// How to run one node.
#[derive(Debug, Clone)]
pub struct NodeOptions {
    /// Where to listen (port 0: any free port).
    pub listen: SocketAddr,
    /// Peers to dial at start, with or without a tracker.
    pub peers: Vec<SocketAddr>,
    /// Announce URLs, tried in order.
    pub trackers: Vec<String>,
    /// Engine settings.
    pub config: NodeConfig,
    /// Stop once every piece is verified.
    pub exit_when_done: bool,
    /// Disk and hashing threads.
    pub disk_threads: usize,
    /// Seed of the node's RNG.
    pub rng_seed: u64,
}

impl NodeOptions {
    /// Defaults: listen on `listen`, a random peer id, no peers, no tracker.
    pub fn new(listen: SocketAddr) -> Self {
        let seed = random_seed();
        NodeOptions {
            listen,
            peers: Vec::new(),
            trackers: Vec::new(),
            config: NodeConfig::new(peer_id(seed)),
            exit_when_done: false,
            disk_threads: std::thread::available_parallelism().map_or(2, |n| n.get().max(2)),
            rng_seed: seed,
        }
    }
}

/// A fresh seed from the clock and the process id (not for cryptography).
pub fn random_seed() -> u64 {
    use sha1::{Digest, Sha1};
    use std::sync::atomic::AtomicU64;
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let mut h = Sha1::new();
    h.update(nanos.to_le_bytes());
    h.update(std::process::id().to_le_bytes());
    h.update(COUNTER.fetch_add(1, Ordering::Relaxed).to_le_bytes());
    let d = h.finalize();
    u64::from_le_bytes([d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]])
}

/// An Azureus-style peer id: `-SW0100-` and 12 bytes from `seed`.
pub fn peer_id(seed: u64) -> [u8; 20] {
    use sha1::{Digest, Sha1};
    let mut id = [0u8; 20];
    id[..8].copy_from_slice(b"-SW0100-");
    let d = Sha1::digest(seed.to_le_bytes());
    for (slot, byte) in id[8..].iter_mut().zip(d.iter()) {
        *slot = b'0' + byte % 10; // printable, as many clients expect
    }
    id
}

/// What a node has done so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Status {
    /// Pieces in the torrent.
    pub piece_count: u32,
    /// Verified pieces.
    pub verified_pieces: u32,
    /// Payload bytes sent.
    pub uploaded_bytes: u64,
    /// Payload bytes received.
    pub downloaded_bytes: u64,
    /// Open connections.
    pub connections: usize,
    /// Every piece verified.
    pub complete: bool,
    /// Time from start to completion, if it completed while running.
    pub completed_after: Option<Duration>,
    /// Pieces that failed their hash check.
    pub failed_pieces: u32,
    /// Peers banned for corrupt data.
    pub banned_peers: u32,
    /// Writing failed: the node stopped.
    pub storage_error: Option<String>,
}

/// A running node.
#[derive(Debug)]
pub struct Running {
    /// The address it listens on.
    pub local_addr: SocketAddr,
    status: watch::Receiver<Status>,
    shutdown: watch::Sender<bool>,
    events: mpsc::Sender<Event>,
    done: oneshot::Receiver<Status>,
}

impl Running {
    /// Live status (updated as the node works).
    pub fn status(&self) -> watch::Receiver<Status> {
        self.status.clone()
    }

    /// Gives the node more peers to dial.
    pub fn add_peers(&self, peers: &[SocketAddr]) {
        let peers = peers.iter().copied().map(to_peer_addr).collect();
        let _ = self
            .events
            .try_send(Event::Input(Input::AddPeers { peers }));
    }

    /// Asks the node to stop (announces `stopped`, closes connections).
    pub fn stop(&self) {
        let _ = self.shutdown.send(true);
    }

    /// Waits for the node to stop; returns its last status.
    pub async fn wait(self) -> Status {
        let last = self.status.borrow().clone();
        self.done.await.unwrap_or(last)
    }
}

/// Binds the listener and starts the node on its own thread.
pub async fn start(
    metainfo: &Metainfo,
    storage: Storage,
    verified: Bitfield,
    options: NodeOptions,
) -> std::io::Result<Running> {
    // Bound here so that errors reach the caller; then moved to the node's own runtime.
    let listener = TcpListener::bind(options.listen).await?.into_std()?;
    let local_addr = listener.local_addr()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let listener = {
        let _node_runtime = runtime.enter();
        TcpListener::from_std(listener)?
    };
    let (events_tx, events_rx) = mpsc::channel(EVENT_QUEUE);
    let spec = TorrentSpec {
        info_hash: metainfo.info_hash,
        geometry: metainfo.geometry,
        piece_hashes: Arc::from(metainfo.piece_hashes.clone()),
    };
    let piece_count = metainfo.geometry.piece_count();
    let node = Node::new(spec, options.config.clone(), verified, options.rng_seed);
    let status = Status {
        piece_count,
        verified_pieces: node.stats().verified_pieces,
        complete: node.is_complete(),
        ..Status::default()
    };
    let (status_tx, status_rx) = watch::channel(status);
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let storage = Arc::new(storage);
    let gate = Arc::new(WriteGate::default());
    let disk = DiskPool::start(
        Arc::clone(&storage),
        options.disk_threads,
        events_tx.clone(),
        Arc::clone(&gate),
    );
    let accept = runtime.spawn(accept_loop(listener, events_tx.clone()));
    let announce = options.trackers.first().map(|_| AnnounceParams {
        url: String::new(),
        info_hash: metainfo.info_hash.0,
        peer_id: options.config.peer_id,
        port: local_addr.port(),
        timeout: ANNOUNCE_TIMEOUT,
    });
    let events_tx_handle = events_tx.clone();
    let driver = Driver {
        node,
        start: Instant::now(),
        events_tx,
        conns: BTreeMap::new(),
        held: BTreeMap::new(),
        next_conn: 1,
        piece_count,
        geometry: metainfo.geometry,
        disk,
        gate,
        reads: Vec::new(),
        writes: Vec::new(),
        ready: VecDeque::new(),
        trackers: options.trackers.clone(),
        announce,
        status_tx,
        status: status_rx.borrow().clone(),
        published_at: Instant::now(),
        exit_when_done: options.exit_when_done,
    };
    let peers = options.peers.clone();
    let (done_tx, done_rx) = oneshot::channel();
    std::thread::Builder::new()
        .name("swarm-node".into())
        .spawn(move || {
            let status = runtime.block_on(driver.run(events_rx, shutdown_rx, peers));
            accept.abort();
            let _ = done_tx.send(status);
        })?;
    Ok(Running {
        local_addr,
        status: status_rx,
        shutdown: shutdown_tx,
        events: events_tx_handle,
        done: done_rx,
    })
}

async fn accept_loop(listener: TcpListener, events: mpsc::Sender<Event>) {
    loop {
        match listener.accept().await {
            Ok((stream, addr)) => {
                if events.send(Event::Accepted(stream, addr)).await.is_err() {
                    return;
                }
            }
            Err(error) => {
                tracing::warn!(%error, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

struct Conn {
    handle: ConnHandle,
}

struct Driver {
    node: Node,
    start: Instant,
    events_tx: mpsc::Sender<Event>,
    conns: BTreeMap<ConnId, Conn>,
    held: BTreeMap<ConnId, VecDeque<BlockRef>>,
    next_conn: u64,
    piece_count: u32,
    geometry: swarm_engine::piece::Geometry,
    disk: DiskPool,
    gate: Arc<WriteGate>,
    /// Blocks to read and to write, gathered over one turn of the loop.
    reads: Vec<(ConnId, BlockRef)>,
    writes: Vec<(BlockRef, bytes::Bytes)>,
    /// Inputs ready without a round trip (pieces fully hashed as they were written).
    ready: VecDeque<Input>,
    trackers: Vec<String>,
    announce: Option<AnnounceParams>,
    status_tx: watch::Sender<Status>,
    status: Status,
    /// When the status was last published.
    published_at: Instant,
    exit_when_done: bool,
}

impl Driver {
    fn now(&self) -> Time {
        Time::from_nanos(self.start.elapsed().as_nanos() as u64)
    }

    async fn run(
        mut self,
        mut events: mpsc::Receiver<Event>,
        mut shutdown: watch::Receiver<bool>,
        peers: Vec<SocketAddr>,
    ) -> Status {
        let now = self.now();
        self.node.start(now);
        if !peers.is_empty() {
            let peers = peers.into_iter().map(to_peer_addr).collect();
            self.node.handle(self.now(), Input::AddPeers { peers });
        }
        self.dispatch();
        loop {
            if self.should_stop() {
                break;
            }
            let deadline = self
                .node
                .poll_timeout()
                .map(|t| self.start + Duration::from_nanos(t.as_nanos()));
            let sleep = tokio::time::sleep_until(
                deadline
                    .unwrap_or_else(|| Instant::now() + Duration::from_secs(3600))
                    .into(),
            );
            tokio::select! {
                biased;
                _ = shutdown.changed() => break,
                event = events.recv() => {
                    let Some(event) = event else { break };
                    self.on_event(event);
                    for _ in 1..EVENT_BATCH {
                        match events.try_recv() {
                            Ok(event) => { self.on_event(event); }
                            Err(_) => break,
                        }
                    }
                }
                () = sleep => {
                    let now = self.now();
                    self.node.handle_timeout(now);
                    self.dispatch();
                }
            }
            if deadline.is_some_and(|d| d <= Instant::now()) {
                let now = self.now();
                self.node.handle_timeout(now);
                self.dispatch();
            }
            self.release_held();
            self.flush_io();
            self.publish(false);
        }
        self.shutdown(events).await
    }

    /// Hands the turn's reads and writes to the disk threads.
    fn flush_io(&mut self) {
        if !self.reads.is_empty() {
            self.disk.read(std::mem::take(&mut self.reads));
        }
        if !self.writes.is_empty() {
            self.disk.write(std::mem::take(&mut self.writes));
        }
    }

    fn should_stop(&self) -> bool {
        self.status.storage_error.is_some() || (self.exit_when_done && self.node.is_complete())
    }

    async fn shutdown(mut self, events: mpsc::Receiver<Event>) -> Status {
        self.reads.clear(); // no one is served any more; received blocks are still written
        self.flush_io();
        self.publish(true);
        // Closing the queue stops the readers and lets blocked disk threads finish.
        drop(events);
        for (_, conn) in std::mem::take(&mut self.conns) {
            conn.handle.reader.abort();
        }
        if let Some(params) = self.announce.take() {
            let stats = self.node.stats();
            let left = self.left_bytes();
            let request = swarm_engine::node::io::AnnounceRequest {
                event: swarm_engine::node::io::AnnounceEvent::Stopped,
                uploaded_bytes: stats.uploaded_bytes,
                downloaded_bytes: stats.downloaded_bytes,
                left_bytes: left,
                numwant: 0,
            };
            for url in &self.trackers {
                let params = AnnounceParams {
                    url: url.clone(),
                    timeout: Duration::from_secs(2),
                    ..params.clone()
                };
                if announce(&params, &request).await.is_ok() {
                    break;
                }
            }
        }
        let disk = self.disk;
        let _ = tokio::task::spawn_blocking(move || disk.shutdown()).await;
        self.status
    }

    fn left_bytes(&self) -> u64 {
        let verified = self.node.verified();
        self.geometry
            .pieces()
            .filter(|p| !verified.get(p.get()))
            .map(|p| u64::from(self.geometry.piece_size(p)))
            .sum()
    }

    fn on_event(&mut self, event: Event) {
        match event {
            Event::Input(input) => {
                let now = self.now();
                self.node.handle(now, input);
            }
            Event::Inputs(inputs) => {
                let now = self.now();
                for input in inputs {
                    self.node.handle(now, input);
                    self.dispatch();
                }
            }
            Event::Accepted(stream, addr) => self.open(stream, addr, Direction::Inbound),
            Event::Dialed(addr, Ok(stream)) => self.open(stream, addr, Direction::Outbound),
            Event::Dialed(addr, Err(error)) => {
                tracing::debug!(%addr, %error, "dial failed");
                let now = self.now();
                self.node.handle(
                    now,
                    Input::ConnectFailed {
                        addr: to_peer_addr(addr),
                    },
                );
            }
            Event::Closed(conn) => {
                if self.conns.remove(&conn).is_some() {
                    self.held.remove(&conn);
                    let now = self.now();
                    self.node.handle(now, Input::Disconnected { conn });
                }
            }
            Event::Drained(conn) => tracing::trace!(conn = conn.0, "writer drained"),
        }
        self.dispatch();
    }

    fn open(&mut self, stream: TcpStream, addr: SocketAddr, direction: Direction) {
        let conn = ConnId(self.next_conn);
        self.next_conn += 1;
        let reader_events = self.events_tx.clone();
        let handle = conn::spawn(
            conn,
            stream,
            self.piece_count,
            reader_events,
            HIGH_WATER_BYTES / 2,
            Arc::clone(&self.gate),
        );
        self.conns.insert(conn, Conn { handle });
        let now = self.now();
        self.node.handle(
            now,
            Input::Connected {
                conn,
                addr: to_peer_addr(addr),
                direction,
            },
        );
    }

    /// Executes the node's commands, and feeds it the inputs they produced at once.
    fn dispatch(&mut self) {
        loop {
            while let Some(command) = self.node.poll_command() {
                self.execute(command);
            }
            let Some(input) = self.ready.pop_front() else {
                return;
            };
            let now = self.now();
            self.node.handle(now, input);
        }
    }

    fn execute(&mut self, command: Command) {
        match command {
            Command::Transmit { conn, frame } => {
                if let Some(c) = self.conns.get(&conn) {
                    c.handle
                        .queued_bytes
                        .fetch_add(conn::frame_len(&frame), Ordering::AcqRel);
                    let _ = c.handle.frames.send(frame);
                }
            }
            Command::Connect { addr } => {
                let addr = to_socket_addr(addr);
                let events = self.events_tx.clone();
                tokio::spawn(async move {
                    let result =
                        match tokio::time::timeout(DIAL_TIMEOUT, TcpStream::connect(addr)).await {
                            Ok(result) => result,
                            Err(_) => Err(std::io::ErrorKind::TimedOut.into()),
                        };
                    let _ = events.send(Event::Dialed(addr, result)).await;
                });
            }
            Command::Close { conn, reason } => {
                tracing::debug!(conn = conn.0, ?reason, "closing");
                if let Some(c) = self.conns.remove(&conn) {
                    c.handle.reader.abort(); // the writer flushes what it holds, then shuts down
                }
                self.held.remove(&conn);
            }
            Command::ReadBlock { conn, block } => {
                let Some(c) = self.conns.get(&conn) else {
                    return;
                };
                let held = self.held.get(&conn).is_some_and(|h| !h.is_empty());
                if held || c.handle.queued_bytes.load(Ordering::Acquire) > HIGH_WATER_BYTES {
                    self.held.entry(conn).or_default().push_back(block);
                } else {
                    self.reads.push((conn, block));
                }
            }
            Command::WriteBlock { block, data } => {
                self.gate.add(data.len());
                self.writes.push((block, data));
            }
            Command::HashPiece { piece } => match self.disk.hashed(piece) {
                // Hashed while written: only the SHA-1 padding is left, no need for a thread.
                Some(digest) => self.ready.push_back(Input::PieceHashed {
                    piece,
                    digest: Ok(digest),
                }),
                None => self.disk.hash(piece),
            },
            Command::Announce(request) => {
                let events = self.events_tx.clone();
                let Some(params) = self.announce.clone() else {
                    // No tracker: peers come from --peer only.
                    let _ = events.try_send(Event::Input(Input::AnnounceDone {
                        peers: Vec::new(),
                        interval: Duration::from_secs(3600),
                    }));
                    return;
                };
                let trackers = self.trackers.clone();
                tokio::spawn(async move {
                    let mut last_error = String::new();
                    for url in trackers {
                        let params = AnnounceParams {
                            url,
                            ..params.clone()
                        };
                        match announce(&params, &request).await {
                            Ok(response) => {
                                let _ = events
                                    .send(Event::Input(Input::AnnounceDone {
                                        peers: response.peers,
                                        interval: response.interval,
                                    }))
                                    .await;
                                return;
                            }
                            Err(error) => {
                                tracing::info!(url = params.url, %error, "announce failed");
                                last_error = error.to_string();
                            }
                        }
                    }
                    let _ = events
                        .send(Event::Input(Input::AnnounceFailed { reason: last_error }))
                        .await;
                });
            }
            Command::Report(report) => self.on_report(report),
        }
    }

    fn on_report(&mut self, report: Report) {
        match report {
            Report::PieceVerified { .. } => {}
            Report::PieceFailed { piece } => {
                self.status.failed_pieces += 1;
                tracing::warn!(piece, "piece failed its hash check");
            }
            Report::Completed => {
                self.status.completed_after = Some(self.start.elapsed());
                tracing::info!("download complete");
            }
            Report::PeerBanned { addr } => {
                self.status.banned_peers += 1;
                tracing::warn!(%addr, "peer banned for corrupt data");
            }
            Report::StorageFailed { error } => {
                tracing::error!(%error, "storage failed");
                self.status.storage_error = Some(error);
            }
            Report::Closed { conn, reason } => {
                tracing::debug!(conn = conn.0, ?reason, "closed");
            }
        }
    }

    /// Submits held reads of connections whose writers drained.
    fn release_held(&mut self) {
        if self.held.is_empty() {
            return;
        }
        let conns = &self.conns;
        let reads = &mut self.reads;
        self.held.retain(|conn, blocks| {
            let Some(c) = conns.get(conn) else {
                return false;
            };
            while c.handle.queued_bytes.load(Ordering::Acquire) <= HIGH_WATER_BYTES {
                let Some(block) = blocks.pop_front() else {
                    break;
                };
                reads.push((*conn, block));
            }
            !blocks.is_empty()
        });
    }

    /// Publishes the status when more than the byte counters changed, and when only they
    /// did at most every [`COUNTER_PUBLISH_INTERVAL`] (they change with every block, and
    /// each publication wakes every watcher), unless `force`.
    fn publish(&mut self, force: bool) {
        let stats = self.node.stats();
        self.status.verified_pieces = stats.verified_pieces;
        self.status.uploaded_bytes = stats.uploaded_bytes;
        self.status.downloaded_bytes = stats.downloaded_bytes;
        self.status.connections = stats.connections;
        self.status.complete = self.node.is_complete();
        let counters_due = force || self.published_at.elapsed() >= COUNTER_PUBLISH_INTERVAL;
        let status = &self.status;
        let sent = self.status_tx.send_if_modified(|s| {
            let counters_only = Status {
                uploaded_bytes: s.uploaded_bytes,
                downloaded_bytes: s.downloaded_bytes,
                ..status.clone()
            } == *s;
            if s == status || (counters_only && !counters_due) {
                return false;
            }
            *s = status.clone();
            true
        });
        if sent {
            self.published_at = Instant::now();
        }
    }
}
