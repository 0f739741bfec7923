//! An in-memory runtime for engine tests (quinn-proto's test `Pair`, for many nodes).
//!
//! Nodes hold their content in memory, every link has one fixed latency and every uplink one
//! fixed rate (blocks queue behind each other on it), the "tracker" hands every node every
//! other node, and the clock jumps to the next event. Events are ordered by (time, sequence
//! number), so a run is a pure function of the setup and seeds; [`Swarm::trace`] records
//! every delivered input for comparison. It is small on purpose: the network model with
//! fair sharing, framing and faults belongs to `sim`.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use sha1::{Digest, Sha1};

use crate::bitfield::Bitfield;
use crate::metainfo::InfoHash;
use crate::node::addr::PeerAddr;
use crate::node::config::NodeConfig;
use crate::node::driver::{Driver, Interpret};
use crate::node::io::{Command, ConnId, Direction, Frame, Input, Report};
use crate::node::{Node, TorrentSpec};
use crate::piece::{BlockRef, Geometry};
use crate::time::Time;
use crate::wire::Message;

/// How a test node behaves.
#[derive(Debug, Clone)]
pub struct NodeSetup {
    /// Start with the whole content.
    pub seed: bool,
    /// Serve blocks with every byte flipped.
    pub corrupt: bool,
    /// Serve the blocks of this piece only with their bytes flipped (a foreign client whose
    /// copy of one piece is bad and that never checks it).
    pub corrupt_piece: Option<u32>,
    /// A seed whose copy of this piece is bad on its "disk" (a stale resume record).
    pub stale_piece: Option<u32>,
    /// Node settings.
    pub config: NodeConfig,
}

impl NodeSetup {
    /// A leecher (or a seed) with default settings and a peer id made from `id`.
    pub fn new(id: u8, seed: bool) -> Self {
        NodeSetup {
            seed,
            corrupt: false,
            corrupt_piece: None,
            stale_piece: None,
            config: NodeConfig::new([id; 20]),
        }
    }
}

/// A node's host: its address, in-memory content and uplink.
struct TestHost {
    addr: PeerAddr,
    content: Vec<u8>,
    corrupt: bool,
    corrupt_piece: Option<u32>,
    uplink_free_at: Time,
    /// It asked to hear when its uplink runs dry (`Command::WatchUplink`), and whether it
    /// has sent a block since.
    watch_uplink: Option<bool>,
    completed_at: Option<Time>,
    banned: Vec<PeerAddr>,
    /// Pieces it reported failed.
    failed: u32,
    /// It left the swarm ([`Swarm::leave`]): no more events or timers.
    gone: bool,
    /// Its connections dropped when it left, told to it when it comes back.
    dropped: Vec<ConnId>,
}

/// Many nodes of one torrent, in memory.
pub struct Swarm {
    nodes: Vec<Node>,
    driver: Driver,
    world: World,
}

/// Everything but the nodes: the runtime the driver interprets their commands with.
struct World {
    now: Time,
    seq: u64,
    spec: TorrentSpec,
    original: Vec<u8>,
    hosts: Vec<TestHost>,
    /// (node, conn) -> (remote node, remote conn)
    links: BTreeMap<(usize, ConnId), (usize, ConnId)>,
    events: BinaryHeap<Reverse<(Time, u64)>>,
    pending: BTreeMap<u64, (usize, Input)>,
    next_conn: u64,
    latency: Duration,
    uplink_bytes_per_s: f64,
    trace: Vec<String>,
    /// Addresses that accept connections and never send a byte (a poisoned peer list).
    silent: Vec<PeerAddr>,
}

impl std::fmt::Debug for Swarm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Swarm")
            .field("now", &self.world.now)
            .field("nodes", &self.nodes.len())
            .finish()
    }
}

impl Swarm {
    /// A swarm sharing `content` cut in pieces of `piece_length`; every link has `latency`
    /// and every uplink `uplink_bytes_per_s`.
    pub fn new(
        content: &[u8],
        piece_length: u32,
        latency: Duration,
        uplink_bytes_per_s: f64,
    ) -> Self {
        let geometry = Geometry::new(content.len() as u64, piece_length).expect("valid geometry");
        let piece_hashes: Vec<[u8; 20]> = content
            .chunks(piece_length as usize)
            .map(|chunk| Sha1::digest(chunk).into())
            .collect();
        Swarm {
            nodes: Vec::new(),
            driver: Driver::default(),
            world: World {
                now: Time::ZERO,
                seq: 0,
                spec: TorrentSpec {
                    info_hash: InfoHash([0x5a; 20]),
                    geometry,
                    piece_hashes: Arc::from(piece_hashes),
                },
                original: content.to_vec(),
                hosts: Vec::new(),
                links: BTreeMap::new(),
                events: BinaryHeap::new(),
                pending: BTreeMap::new(),
                next_conn: 1,
                latency,
                uplink_bytes_per_s,
                trace: Vec::new(),
                silent: Vec::new(),
            },
        }
    }

    /// Adds a node and starts it; returns its index.
    pub fn add_node(&mut self, setup: NodeSetup, rng_seed: u64) -> usize {
        let world = &mut self.world;
        let pieces = world.spec.geometry.piece_count();
        let (verified, mut content) = if setup.seed {
            (Bitfield::full(pieces), world.original.clone())
        } else {
            (Bitfield::new(pieces), vec![0; world.original.len()])
        };
        if let Some(piece) = setup.stale_piece.and_then(|p| world.spec.geometry.piece(p)) {
            content[world.spec.geometry.piece_offset(piece) as usize] ^= 0x01;
        }
        let index = self.nodes.len();
        let mut node = Node::new(world.spec.clone(), setup.config, verified, rng_seed);
        world.hosts.push(TestHost {
            addr: PeerAddr::v4([10, 0, 0, index as u8 + 1], 6881),
            content,
            corrupt: setup.corrupt,
            corrupt_piece: setup.corrupt_piece,
            uplink_free_at: world.now,
            watch_uplink: None,
            completed_at: None,
            banned: Vec::new(),
            failed: 0,
            gone: false,
            dropped: Vec::new(),
        });
        let mut runtime = HostRuntime { world, index };
        self.driver.start(&mut node, &mut runtime);
        self.nodes.push(node);
        index
    }

    /// Runs until every node is complete or `deadline` passes; returns whether all completed.
    pub fn run_until_complete(&mut self, deadline: Time) -> bool {
        while !(self.nodes.iter().zip(&self.world.hosts)).all(|(n, h)| h.gone || n.is_complete()) {
            let next_event = self.world.events.peek().map(|Reverse((t, _))| *t);
            let next_timer = self
                .nodes
                .iter()
                .enumerate()
                .filter(|&(i, _)| !self.world.hosts[i].gone)
                .filter_map(|(i, n)| n.poll_timeout().map(|t| (t, i)))
                .min();
            let step = match (next_event, next_timer) {
                (Some(e), Some((t, i))) if t < e => Step::Timer(t, i),
                (Some(e), _) => Step::Event(e),
                (None, Some((t, i))) => Step::Timer(t, i),
                (None, None) => return false,
            };
            let world = &mut self.world;
            match step {
                Step::Timer(t, index) => {
                    if t > deadline {
                        return false;
                    }
                    world.now = world.now.max(t);
                    let mut runtime = HostRuntime { world, index };
                    self.driver
                        .handle_timeout(&mut self.nodes[index], &mut runtime);
                }
                Step::Event(t) => {
                    if t > deadline {
                        return false;
                    }
                    let Reverse((time, seq)) = world.events.pop().expect("peeked");
                    world.now = time;
                    let (index, input) = world.pending.remove(&seq).expect("scheduled");
                    if world.hosts[index].gone {
                        continue;
                    }
                    if matches!(input, Input::UplinkIdle) {
                        // Queued to the uplink since it was scheduled: check again then.
                        let free_at = world.hosts[index].uplink_free_at;
                        if free_at > time {
                            world.schedule(free_at, index, input);
                            continue;
                        }
                        world.hosts[index].watch_uplink = None;
                    }
                    world
                        .trace
                        .push(format!("{} n{index} {}", time.as_nanos(), describe(&input)));
                    let mut runtime = HostRuntime { world, index };
                    self.driver
                        .handle(&mut self.nodes[index], input, &mut runtime);
                }
            }
            for (host, node) in self.world.hosts.iter_mut().zip(&self.nodes) {
                if host.completed_at.is_none() && node.is_complete() {
                    host.completed_at = Some(self.world.now);
                }
            }
        }
        true
    }

    /// `count` fake peers that the tracker hands out with the others: they accept every
    /// connection and never send anything.
    pub fn add_silent_peers(&mut self, count: u16) {
        let silent = (0..count).map(|i| PeerAddr::v4([10, 9, (i >> 8) as u8, i as u8], 6881));
        self.world.silent.extend(silent);
    }

    /// Node `index` leaves at once, as if killed: every connection of it drops (its remotes
    /// see `Disconnected` one latency later) and it handles nothing any more.
    pub fn leave(&mut self, index: usize) {
        let world = &mut self.world;
        world.hosts[index].gone = true;
        let conns: Vec<ConnId> = world
            .links
            .keys()
            .filter(|(node, _)| *node == index)
            .map(|&(_, conn)| conn)
            .collect();
        let mut unused = VecDeque::new();
        for &conn in &conns {
            let reason = crate::node::io::CloseReason::Shutdown;
            world.execute(index, Command::Close { conn, reason }, &mut unused);
        }
        world.hosts[index].dropped.extend(conns);
    }

    /// Node `from` comes back (if it left) and dials node `to` from a new source port, as a
    /// redialling peer does: `to` sees it at its IP with a port never used before.
    pub fn redial(&mut self, from: usize, to: usize) {
        let world = &mut self.world;
        world.hosts[from].gone = false;
        for conn in std::mem::take(&mut world.hosts[from].dropped) {
            let mut runtime = HostRuntime {
                world: &mut *world,
                index: from,
            };
            let gone = Input::Disconnected { conn };
            self.driver
                .handle(&mut self.nodes[from], gone, &mut runtime);
        }
        let source = PeerAddr {
            port: 40_000 + ((world.next_conn + 2) % 20_000) as u16,
            ..world.hosts[from].addr
        };
        let addr = world.hosts[to].addr;
        world.link(from, to, addr, source);
    }

    /// Whether node `index` holds exactly the original content.
    pub fn content_matches(&self, index: usize) -> bool {
        self.world.hosts[index].content == self.world.original
    }

    /// When node `index` completed.
    pub fn completed_at(&self, index: usize) -> Option<Time> {
        self.world.hosts[index].completed_at
    }

    /// The node itself, for its getters.
    pub fn node(&self, index: usize) -> &Node {
        &self.nodes[index]
    }

    /// Addresses node `index` banned.
    pub fn banned_by(&self, index: usize) -> &[PeerAddr] {
        &self.world.hosts[index].banned
    }

    /// Pieces node `index` reported failed (downloaded, or checked before serving).
    pub fn failed_by(&self, index: usize) -> u32 {
        self.world.hosts[index].failed
    }

    /// The address of node `index`.
    pub fn addr(&self, index: usize) -> PeerAddr {
        self.world.hosts[index].addr
    }

    /// Every delivered input, one line each: compare two runs with it.
    pub fn trace(&self) -> &[String] {
        &self.world.trace
    }
}

/// The world as the runtime of node `index`.
struct HostRuntime<'w> {
    world: &'w mut World,
    index: usize,
}

impl Interpret for HostRuntime<'_> {
    fn now(&mut self) -> Time {
        self.world.now
    }

    fn execute(&mut self, command: Command, ready: &mut VecDeque<Input>) {
        self.world.execute(self.index, command, ready);
    }
}

impl World {
    fn schedule(&mut self, at: Time, node: usize, input: Input) {
        self.seq += 1;
        self.events.push(Reverse((at, self.seq)));
        self.pending.insert(self.seq, (node, input));
    }

    /// The bytes of `block` in node `index`'s content.
    fn block_range(&self, block: BlockRef) -> std::ops::Range<usize> {
        let start =
            (self.spec.geometry.piece_offset(block.piece) + u64::from(block.offset)) as usize;
        start..start + block.length as usize
    }

    fn execute(&mut self, index: usize, command: Command, ready: &mut VecDeque<Input>) {
        let now = self.now;
        match command {
            Command::Transmit { conn, frame } => {
                let Some(&(remote, remote_conn)) = self.links.get(&(index, conn)) else {
                    return;
                };
                let bytes = frame.wire_len() as f64;
                let is_block = matches!(frame, Frame::Message(Message::Piece { .. }));
                let host = &mut self.hosts[index];
                let start = host.uplink_free_at.max(now);
                host.uplink_free_at =
                    start + Duration::from_secs_f64(bytes / self.uplink_bytes_per_s);
                let free_at = host.uplink_free_at;
                let watch = is_block && host.watch_uplink == Some(false);
                if watch {
                    host.watch_uplink = Some(true);
                    self.schedule(free_at, index, Input::UplinkIdle);
                }
                let arrival = free_at + self.latency;
                let frame = Input::Frame {
                    conn: remote_conn,
                    frame,
                };
                self.schedule(arrival, remote, frame);
            }
            Command::Connect { addr } if self.silent.contains(&addr) => {
                let conn = ConnId(self.next_conn);
                self.next_conn += 1;
                let direction = Direction::Outbound;
                let connected = Input::Connected {
                    conn,
                    addr,
                    direction,
                };
                self.schedule(now + self.latency, index, connected);
            }
            Command::Connect { addr } => self.connect(index, addr),
            Command::WatchUplink => {
                let host = &mut self.hosts[index];
                if host.watch_uplink.is_none() {
                    host.watch_uplink = Some(false);
                }
            }
            Command::Close { conn, .. } => {
                if let Some((remote, remote_conn)) = self.links.remove(&(index, conn)) {
                    self.links.remove(&(remote, remote_conn));
                    let gone = Input::Disconnected { conn: remote_conn };
                    self.schedule(now + self.latency, remote, gone);
                }
            }
            Command::ReadBlock { conn, block } => {
                let host = &self.hosts[index];
                let mut data = host.content[self.block_range(block)].to_vec();
                if host.corrupt || host.corrupt_piece == Some(block.piece.get()) {
                    data.iter_mut().for_each(|b| *b = !*b);
                }
                let data = Ok(Bytes::from(data));
                ready.push_back(Input::BlockRead { conn, block, data });
            }
            Command::WriteBlock { block, data } => {
                let range = self.block_range(block);
                self.hosts[index].content[range].copy_from_slice(&data);
                let result = Ok(());
                ready.push_back(Input::BlockWritten { block, result });
            }
            Command::HashPiece { piece } => {
                let start = self.spec.geometry.piece_offset(piece) as usize;
                let end = start + self.spec.geometry.piece_size(piece) as usize;
                let digest: [u8; 20] = Sha1::digest(&self.hosts[index].content[start..end]).into();
                let digest = Ok(digest);
                ready.push_back(Input::PieceHashed { piece, digest });
            }
            Command::Announce(_) => {
                let peers = self
                    .hosts
                    .iter()
                    .enumerate()
                    .filter(|&(i, _)| i != index)
                    .map(|(_, n)| n.addr)
                    .chain(self.silent.iter().copied())
                    .collect();
                let interval = Duration::from_secs(30);
                let answer = Input::AnnounceDone { peers, interval };
                self.schedule(now + self.latency, index, answer);
            }
            Command::Report(Report::PeerBanned { addr }) => self.hosts[index].banned.push(addr),
            Command::Report(Report::PieceFailed { .. }) => self.hosts[index].failed += 1,
            Command::Report(_) => {}
        }
    }

    fn connect(&mut self, index: usize, addr: PeerAddr) {
        let now = self.now;
        let Some(remote) = self.hosts.iter().position(|n| n.addr == addr) else {
            self.schedule(now, index, Input::ConnectFailed { addr });
            return;
        };
        let our_addr = self.hosts[index].addr;
        self.link(index, remote, addr, our_addr);
    }

    /// A new connection from node `from` (seen by `to` as coming from `source`) to node `to`
    /// (dialled at `addr`): both ends learn of it one latency from now.
    fn link(&mut self, from: usize, to: usize, addr: PeerAddr, source: PeerAddr) {
        let (ours, theirs) = (ConnId(self.next_conn), ConnId(self.next_conn + 1));
        self.next_conn += 2;
        self.links.insert((from, ours), (to, theirs));
        self.links.insert((to, theirs), (from, ours));
        let at = self.now + self.latency;
        let outbound = Input::Connected {
            conn: ours,
            addr,
            direction: Direction::Outbound,
        };
        self.schedule(at, from, outbound);
        let inbound = Input::Connected {
            conn: theirs,
            addr: source,
            direction: Direction::Inbound,
        };
        self.schedule(at, to, inbound);
    }
}

enum Step {
    Timer(Time, usize),
    Event(Time),
}

fn describe(input: &Input) -> String {
    match input {
        Input::Frame {
            conn,
            frame: Frame::Message(Message::Piece { index, begin, data }),
        } => {
            format!("c{} piece {index}/{begin} {}B", conn.0, data.len())
        }
        Input::Frame { conn, frame } => format!("c{} {frame:?}", conn.0),
        Input::BlockRead { conn, block, .. } => format!("c{} read {block:?}", conn.0),
        other => format!("{other:?}"),
    }
}

/// The picker alone with `peers` connected peers, for benchmarks of its decisions.
pub struct PickerBench {
    world: crate::node::ctx::test_world::TestWorld,
    picker: crate::actors::picker::Picker,
    peers: u64,
    next: u64,
}

impl std::fmt::Debug for PickerBench {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PickerBench")
            .field("peers", &self.peers)
            .finish()
    }
}

impl PickerBench {
    /// `pieces` pieces of two blocks; each peer holds a seeded random ~half of them; picks are
    /// rarest first (the random-first phase is over).
    pub fn new(pieces: u32, peers: u64) -> Self {
        use crate::node::ctx::PickerMsg;
        use rand::{Rng, SeedableRng};
        let mut world = crate::node::ctx::test_world::TestWorld::new(
            pieces,
            Bitfield::new(pieces),
            NodeConfig::new([7; 20]),
        );
        world.commons.shared.config.random_first_pieces = 0; // measure the steady state: rarest first
        let mut picker = crate::actors::picker::Picker::new(
            world.commons.shared.geometry,
            world.commons.shared.verified(),
        );
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(42);
        for conn in 0..peers {
            let mut bitfield = Bitfield::new(pieces);
            for piece in 0..pieces {
                if rng.gen_bool(0.5) {
                    bitfield.set(piece);
                }
            }
            picker.handle(
                PickerMsg::PeerBitfield {
                    conn: ConnId(conn),
                    bitfield,
                },
                &mut world.ctx(),
            );
        }
        world.take_messages();
        PickerBench {
            world,
            picker,
            peers,
            next: 0,
        }
    }

    /// One decision: the next peer asks for 4 blocks, then gives them back (so the state
    /// stays comparable between iterations). Returns how many blocks were picked.
    pub fn decide(&mut self) -> usize {
        use crate::node::ctx::{Envelope, PeerMsg, PickerMsg};
        let conn = ConnId(self.next % self.peers);
        self.next += 1;
        self.picker.handle(
            PickerMsg::WantBlocks { conn, count: 4 },
            &mut self.world.ctx(),
        );
        let mut picked = 0;
        for message in self.world.take_messages() {
            if let Envelope::Peer(conn, PeerMsg::Assign(blocks)) = message {
                picked += blocks.len();
                self.picker
                    .handle(PickerMsg::Released { conn, blocks }, &mut self.world.ctx());
            }
        }
        picked
    }
}
