//! The `bittorrent` strategy: engine nodes hosted on the network model, with the tracker
//! core (`tracker`) and the faults of the scenario.

mod commands;
mod faults;
mod tracker;

use std::collections::BTreeSet;
use std::sync::Arc;

use bytes::Bytes;

use swarm_engine::bitfield::Bitfield;
use swarm_engine::metainfo::InfoHash;
use swarm_engine::node::addr::PeerAddr;
use swarm_engine::node::driver::Driver;
use swarm_engine::node::io::{ConnId, Frame, Input};
use swarm_engine::node::{Node, TorrentSpec};
use swarm_engine::piece::Geometry;
use swarm_engine::time::Time;
use swarm_engine::wire::{BlockMessage, Message};

use self::tracker::SimTracker;
use crate::net::{remote, Net, NetOutput, COALESCE_MAX_BYTES};
use crate::record::NodeOutcome;
use crate::run_loop::{drive, next_of, step_net, Driven, EventQueue, Source, Traced, World};
use crate::scenario::Scenario;
use crate::seed::{derive_seed, SeedTag};
use crate::trace::Trace;
use crate::{Progress, RunLimits};

/// What the host schedules on its own queue (network stages live in the model).
#[derive(Debug)]
enum HostEvent {
    Timer(usize, Time),
    Input(usize, u32, Input),
    Join(usize),
    Leave(usize),
    Crash(usize),
    OriginUp,
    SetRates(usize, u64, u64),
}

impl Traced for HostEvent {
    fn code_and_node(&self) -> (u64, usize) {
        match *self {
            HostEvent::Timer(i, _) => (0, i),
            HostEvent::Input(i, _, _) => (1, i),
            HostEvent::Join(i) => (2, i),
            HostEvent::Leave(i) => (3, i),
            HostEvent::Crash(i) => (4, i),
            HostEvent::OriginUp => (5, 0),
            HostEvent::SetRates(i, _, _) => (6, i),
        }
    }
}

/// A frame as the network model carries it. Frames queue by the thousand on a busy swarm's
/// links, so the ones of the block path and the small control messages take 16 bytes and no
/// allocation instead of a boxed [`Frame`]: a piece's data is rebuilt on delivery from the
/// zero buffer every block is read from (payload is length-only); any other frame is boxed.
#[derive(Debug)]
pub(crate) enum Carried {
    Piece {
        index: u32,
        begin: u32,
        len: u32,
    },
    /// A request, cancel or reject: one block's address.
    Block {
        kind: BlockMessage,
        index: u32,
        begin: u32,
        length: u32,
    },
    Have {
        piece: u32,
    },
    Choke,
    Unchoke,
    Interested,
    NotInterested,
    Other(Box<Frame>),
}

impl Carried {
    fn new(frame: Frame) -> Self {
        let Frame::Message(message) = frame else {
            return Carried::Other(Box::new(frame));
        };
        match message {
            // Blocks are read from the zero buffer (its address says so).
            Message::Piece { index, begin, data }
                if data.as_ptr() == commands::ZEROS.as_ptr()
                    && data.len() <= commands::ZEROS.len() =>
            {
                Carried::Piece {
                    index,
                    begin,
                    len: data.len() as u32,
                }
            }
            Message::Request {
                index,
                begin,
                length,
            } => Carried::block(BlockMessage::Request, index, begin, length),
            Message::Cancel {
                index,
                begin,
                length,
            } => Carried::block(BlockMessage::Cancel, index, begin, length),
            Message::Reject {
                index,
                begin,
                length,
            } => Carried::block(BlockMessage::Reject, index, begin, length),
            Message::Have { piece } => Carried::Have { piece },
            Message::Choke => Carried::Choke,
            Message::Unchoke => Carried::Unchoke,
            Message::Interested => Carried::Interested,
            Message::NotInterested => Carried::NotInterested,
            message => Carried::Other(Box::new(Frame::Message(message))),
        }
    }

    fn block(kind: BlockMessage, index: u32, begin: u32, length: u32) -> Self {
        Carried::Block {
            kind,
            index,
            begin,
            length,
        }
    }

    fn into_frame(self) -> Frame {
        let message = match self {
            Carried::Piece { index, begin, len } => Message::Piece {
                index,
                begin,
                data: Bytes::from_static(&commands::ZEROS[..len as usize]),
            },
            Carried::Block {
                kind,
                index,
                begin,
                length,
            } => kind.message(index, begin, length),
            Carried::Have { piece } => Message::Have { piece },
            Carried::Choke => Message::Choke,
            Carried::Unchoke => Message::Unchoke,
            Carried::Interested => Message::Interested,
            Carried::NotInterested => Message::NotInterested,
            Carried::Other(frame) => return *frame,
        };
        Frame::Message(message)
    }
}

/// The runtime says the uplink runs low (`Input::UplinkIdle`) once fewer bytes than this
/// are queued behind the unit on the wire: two blocks, so that a peer unchoked then has its
/// requests in before the uplink runs dry.
const LOW_WATER: u64 = 2 * 16 * 1024;

/// One node of the scenario: its engine while it is up, and what the host keeps across
/// restarts.
#[derive(Debug)]
struct NodeSlot {
    /// Boxed: the driver takes the node out while the host interprets its commands.
    node: Option<Box<Node>>,
    incarnation: u32,
    timer_at: Option<Time>,
    joined: Option<Time>,
    completed: Option<Time>,
    crashed: bool,
    corrupt: bool,
    tainted: BTreeSet<u32>,
    base_up: u64,
    base_down: u64,
    /// The node asked to hear when its uplink next runs dry (`Command::WatchUplink`), and
    /// whether it has sent payload since.
    watch_uplink: Option<bool>,
}

/// One `bittorrent` run.
#[derive(Debug)]
pub struct Host<'a> {
    scenario: &'a Scenario,
    root_seed: u64,
    now: Time,
    seq: u64,
    events: EventQueue<HostEvent>,
    net: Net<Carried>,
    slots: Vec<NodeSlot>,
    /// Taken out while it runs a node (`None` only then).
    driver: Option<Driver>,
    spec: TorrentSpec,
    tracker: SimTracker,
    pending_peers: usize,
    /// Whether any node serves corrupt data (most runs: none, and deliveries skip the check).
    any_corrupt: bool,
}

impl World for Host<'_> {
    fn next(&self) -> Option<(Time, Source)> {
        next_of(&self.events, &self.net)
    }

    fn set_now(&mut self, now: Time) {
        self.now = now;
    }

    fn step(&mut self, source: Source, n: u64, trace: &mut Trace) {
        match source {
            Source::Net => {
                let output = step_net(&mut self.net, &mut self.seq, trace, n, self.now);
                self.on_net(output);
            }
            Source::Queue => {
                let Some(event) = self.events.pop_traced(trace, n, self.now) else {
                    return;
                };
                self.handle(event);
            }
        }
    }

    fn counters(&self) -> Vec<(u64, u64)> {
        self.slots
            .iter()
            .map(|s| {
                let stats = s.node.as_ref().map(|n| n.stats());
                (
                    s.base_up + stats.map_or(0, |x| x.uploaded_bytes),
                    s.base_down + stats.map_or(0, |x| x.downloaded_bytes),
                )
            })
            .collect()
    }

    fn pending_peers(&self) -> usize {
        self.pending_peers
    }
}

fn addr_of(index: usize) -> PeerAddr {
    PeerAddr::v4(
        [10, (index >> 16) as u8, (index >> 8) as u8, index as u8],
        6881,
    )
}

fn index_of(addr: &PeerAddr) -> Option<usize> {
    let [a, b, c, d] = addr.as_v4()?;
    (a == 10).then(|| (usize::from(b) << 16) | (usize::from(c) << 8) | usize::from(d))
}

fn peer_id(index: usize) -> [u8; 20] {
    let mut id = *b"-SW0001-000000000000";
    let digits = format!("{index:012}");
    id[8..].copy_from_slice(digits.as_bytes());
    id
}

/// Synthetic piece hash: the engine only compares digests.
fn piece_hash(index: u32) -> [u8; 20] {
    let mut h = [0x5au8; 20];
    h[..4].copy_from_slice(&index.to_be_bytes());
    h
}

impl<'a> Host<'a> {
    /// Sets up the nodes, joins and faults of `scenario` under `seed`.
    pub fn new(scenario: &'a Scenario, seed: u64) -> Self {
        let geometry = Geometry::new(scenario.file_size_bytes, scenario.piece_size_bytes)
            .expect("a validated scenario has a valid geometry");
        let hashes: Vec<[u8; 20]> = (0..geometry.piece_count()).map(piece_hash).collect();
        let info_hash = InfoHash([0x42; 20]);
        let spec = TorrentSpec {
            info_hash,
            geometry,
            piece_hashes: Arc::from(hashes),
        };
        let interval = scenario.bittorrent.announce_interval_s();
        let mut net = Net::new(scenario.goodput_factor);
        let mut slots = Vec::new();
        for node in &scenario.nodes {
            net.add_node(node.upload_bps, node.download_bps);
            slots.push(NodeSlot {
                node: None,
                incarnation: 0,
                timer_at: None,
                joined: None,
                completed: None,
                crashed: false,
                corrupt: false,
                tainted: BTreeSet::new(),
                base_up: 0,
                base_down: 0,
                watch_uplink: None,
            });
        }
        let mut host = Host {
            scenario,
            root_seed: seed,
            now: Time::ZERO,
            seq: 0,
            events: EventQueue::default(),
            net,
            slots,
            driver: Some(Driver::default()),
            spec,
            tracker: SimTracker::new(info_hash, interval, seed),
            pending_peers: scenario.nodes.len() - 1,
            any_corrupt: false,
        };
        for (i, join) in scenario.join_times(seed).into_iter().enumerate() {
            host.push(Time::ZERO + join, HostEvent::Join(i));
        }
        host.schedule_faults();
        host.any_corrupt = host.slots.iter().any(|s| s.corrupt);
        host
    }

    fn push(&mut self, time: Time, event: HostEvent) {
        self.events.push(&mut self.seq, time, event);
    }

    fn input_at(&mut self, time: Time, node: usize, input: Input) {
        let inc = self.slots[node].incarnation;
        self.push(time, HostEvent::Input(node, inc, input));
    }

    /// Runs to the end; returns the node outcomes and what the loop saw.
    pub(crate) fn run(
        mut self,
        limits: &RunLimits,
        progress: &mut dyn FnMut(Progress),
        trace: &mut Trace,
    ) -> (Vec<NodeOutcome>, Driven) {
        let (nodes, bound_s) = (self.slots.len(), self.scenario.bound_s());
        let driven = drive(&mut self, nodes, bound_s, limits, progress, trace);
        let outcomes = self
            .slots
            .iter()
            .zip(&driven.counters)
            .map(|(s, &(up, down))| NodeOutcome {
                joined: s.joined,
                completed: s.completed,
                crashed: s.crashed,
                uploaded_bytes: up,
                downloaded_bytes: down,
            })
            .collect();
        (outcomes, driven)
    }

    /// Hands the frames of a delivered unit to the receiving node.
    fn on_net(&mut self, output: NetOutput) {
        match output {
            NetOutput::Delivered { node, end, count } => {
                for _ in 0..count {
                    let Some(carried) = self.net.take_delivered(end) else {
                        break; // the connection closed while delivering
                    };
                    self.deliver(node, end, carried);
                }
            }
            NetOutput::Sent { node, len, .. } => {
                let slot = &mut self.slots[node];
                let Some(payload_sent) = &mut slot.watch_uplink else {
                    return;
                };
                // Only a block (a piece message) counts as payload; control messages
                // travel in small units.
                *payload_sent |= len > COALESCE_MAX_BYTES;
                if *payload_sent && self.net.uplink_queued_bytes(node) < LOW_WATER {
                    slot.watch_uplink = None;
                    self.feed(node, Input::UplinkIdle);
                }
            }
            NetOutput::Nothing => {}
        }
    }

    fn handle(&mut self, event: HostEvent) {
        match event {
            HostEvent::Timer(i, deadline) => {
                if self.slots[i].timer_at != Some(deadline) {
                    return; // stale
                }
                self.slots[i].timer_at = None;
                self.drive(i, |driver, node, runtime| {
                    driver.handle_timeout(node, runtime)
                });
            }
            HostEvent::Input(i, inc, input) => {
                let slot = &self.slots[i];
                if slot.node.is_none() || slot.incarnation != inc {
                    return;
                }
                if let Input::Connected { conn, .. } = &input {
                    if !self.net.is_open(conn.0) {
                        return;
                    }
                }
                self.feed(i, input);
            }
            HostEvent::Join(i) => self.join(i, false),
            HostEvent::OriginUp => self.join(0, true),
            HostEvent::Leave(i) => self.stop(i, true),
            HostEvent::Crash(i) => {
                if i != 0 && self.slots[i].completed.is_none() && !self.slots[i].crashed {
                    self.slots[i].crashed = true;
                    self.pending_peers -= 1;
                }
                self.stop(i, false);
            }
            HostEvent::SetRates(i, up, down) => self.net.set_rates(i, up, down),
        }
    }

    fn join(&mut self, i: usize, restart: bool) {
        if self.slots[i].crashed || self.slots[i].node.is_some() {
            return; // crashed before joining, or already up
        }
        let pieces = self.spec.geometry.piece_count();
        let config = self.scenario.bittorrent.node_config(peer_id(i), i == 0);
        let verified = if i == 0 {
            Bitfield::full(pieces)
        } else {
            Bitfield::new(pieces)
        };
        let slot = &mut self.slots[i];
        if restart {
            slot.incarnation += 1;
        }
        let seed = derive_seed(
            self.root_seed,
            SeedTag::Node,
            i as u64 | (u64::from(slot.incarnation) << 32),
        );
        let node = Node::new(self.spec.clone(), config, verified, seed);
        slot.node = Some(Box::new(node));
        if slot.joined.is_none() {
            slot.joined = Some(self.now);
        }
        slot.timer_at = None;
        slot.watch_uplink = None;
        self.drive(i, |driver, node, runtime| driver.start(node, runtime));
    }

    /// The node leaves (politely, telling the tracker) or crashes; its connections close.
    fn stop(&mut self, i: usize, polite: bool) {
        let Some(node) = self.slots[i].node.take() else {
            return;
        };
        let stats = node.stats();
        let slot = &mut self.slots[i];
        slot.base_up += stats.uploaded_bytes;
        slot.base_down += stats.downloaded_bytes;
        slot.incarnation += 1;
        slot.timer_at = None;
        for end in self.net.open_ends(i).to_vec() {
            let peer = self.net.node_of(remote(end));
            let latency = self.net.latency(end);
            self.net.close(end);
            let at = self.now + latency;
            self.input_at(
                at,
                peer,
                Input::Disconnected {
                    conn: ConnId(remote(end)),
                },
            );
        }
        if polite {
            self.tracker.stopped(self.now, i);
        }
    }

    fn deliver(&mut self, node: usize, end: u64, carried: Carried) {
        if self.slots[node].node.is_none() {
            return;
        }
        if let (true, Carried::Piece { index, .. }) = (self.any_corrupt, &carried) {
            let sender = self.net.node_of(remote(end));
            if self.slots[sender].corrupt {
                self.slots[node].tainted.insert(*index);
            }
        }
        let frame = carried.into_frame();
        self.feed(
            node,
            Input::Frame {
                conn: ConnId(end),
                frame,
            },
        );
    }

    fn feed(&mut self, i: usize, input: Input) {
        self.drive(i, |driver, node, runtime| {
            driver.handle(node, input, runtime)
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn carried_frames_come_back_as_sent_and_stay_small() {
        assert!(std::mem::size_of::<Carried>() <= 16);
        let block = |index| (index, 16_384, 16_384);
        let messages = [
            Message::Piece {
                index: 3,
                begin: 0,
                data: Bytes::from_static(&commands::ZEROS[..100]),
            },
            {
                let (index, begin, length) = block(1);
                Message::Request {
                    index,
                    begin,
                    length,
                }
            },
            {
                let (index, begin, length) = block(2);
                Message::Cancel {
                    index,
                    begin,
                    length,
                }
            },
            {
                let (index, begin, length) = block(3);
                Message::Reject {
                    index,
                    begin,
                    length,
                }
            },
            Message::Have { piece: 9 },
            Message::Choke,
            Message::Unchoke,
            Message::Interested,
            Message::NotInterested,
            Message::KeepAlive,
            Message::Piece {
                index: 4,
                begin: 0,
                data: Bytes::from_static(b"not from the zero buffer"),
            },
        ];
        for message in messages {
            let frame = Frame::Message(message);
            assert_eq!(Carried::new(frame.clone()).into_frame(), frame);
        }
    }
}
