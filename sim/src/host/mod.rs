//! The `bittorrent` strategy: engine nodes hosted on the network model, with the tracker
//! core (`tracker`) and the faults of the scenario.

mod commands;
mod faults;
mod tracker;

use std::cmp::{Ordering, Reverse};
use std::collections::{BTreeSet, BinaryHeap};
use std::sync::Arc;

use swarm_engine::bep3::PeerId;
use swarm_engine::bitfield::Bitfield;
use swarm_engine::metainfo::InfoHash;
use swarm_engine::node::addr::PeerAddr;
use swarm_engine::node::config::NodeConfig;
use swarm_engine::node::driver::Driver;
use swarm_engine::node::io::{ConnId, Frame, Input};
use swarm_engine::node::{Node, TorrentSpec};
use swarm_engine::piece::Geometry;
use swarm_engine::time::Time;
use swarm_engine::units::parse_duration;
use swarm_engine::wire::Message;

use self::tracker::SimTracker;
use crate::net::{Net, NetOutput};
use crate::record::{derive_seed, NodeOutcome, SeedTag};
use crate::scenario::Scenario;
use crate::trace::Trace;
use crate::{Progress, RunLimits};

#[derive(Debug)]
enum Kind {
    Timer(usize, Time),
    Input(usize, u32, Input),
    Join(usize),
    Leave(usize),
    Crash(usize),
    OriginUp,
    SetRates(usize, u64, u64),
}

impl Kind {
    /// A small code for the variant, and the node it concerns (0 for the origin's own).
    fn code_and_node(&self) -> (u64, usize) {
        match *self {
            Kind::Timer(i, _) => (0, i),
            Kind::Input(i, _, _) => (1, i),
            Kind::Join(i) => (2, i),
            Kind::Leave(i) => (3, i),
            Kind::Crash(i) => (4, i),
            Kind::OriginUp => (5, 0),
            Kind::SetRates(i, _, _) => (6, i),
        }
    }
}

#[derive(Debug)]
struct Ev {
    time: Time,
    seq: u64,
    kind: Kind,
}
impl PartialEq for Ev {
    fn eq(&self, other: &Self) -> bool {
        (self.time, self.seq) == (other.time, other.seq)
    }
}
impl Eq for Ev {}
impl PartialOrd for Ev {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Ev {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.time, self.seq).cmp(&(other.time, other.seq))
    }
}

#[derive(Debug)]
struct Slot {
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
}

/// One `bittorrent` run.
#[derive(Debug)]
pub struct Host<'a> {
    scenario: &'a Scenario,
    root_seed: u64,
    now: Time,
    seq: u64,
    heap: BinaryHeap<Reverse<Ev>>,
    net: Net<Frame>,
    slots: Vec<Slot>,
    driver: Driver,
    spec: TorrentSpec,
    tracker: SimTracker,
    pending_peers: usize,
    events: u64,
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
    let mut digits = [0u8; 12];
    digits.copy_from_slice(format!("{index:012}").as_bytes());
    PeerId::ours(digits).0
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
        let interval = scenario
            .bittorrent
            .announce_interval
            .as_deref()
            .and_then(|s| parse_duration(s).ok())
            .map_or(30, |d| d.as_secs().max(1) as u32);
        let mut net = Net::new(scenario.goodput_factor);
        let mut slots = Vec::new();
        for node in &scenario.nodes {
            net.add_node(node.upload_bps, node.download_bps);
            slots.push(Slot {
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
            });
        }
        let mut host = Host {
            scenario,
            root_seed: seed,
            now: Time::ZERO,
            seq: 0,
            heap: BinaryHeap::new(),
            net,
            slots,
            driver: Driver::default(),
            spec,
            tracker: SimTracker::new(info_hash, interval, seed),
            pending_peers: scenario.nodes.len() - 1,
            events: 0,
        };
        for (i, join) in scenario.join_times(seed).into_iter().enumerate() {
            host.push(Time::ZERO + join, Kind::Join(i));
        }
        host.schedule_faults();
        host
    }

    fn push(&mut self, time: Time, kind: Kind) {
        self.seq += 1;
        self.heap.push(Reverse(Ev {
            time,
            seq: self.seq,
            kind,
        }));
    }

    fn input_at(&mut self, time: Time, node: usize, input: Input) {
        let inc = self.slots[node].incarnation;
        self.push(time, Kind::Input(node, inc, input));
    }

    /// Runs to the end; returns the node outcomes, the samples and the event count.
    pub fn run(
        mut self,
        limits: &RunLimits,
        progress: &mut dyn FnMut(Progress),
        trace: &mut Trace,
    ) -> (
        Vec<NodeOutcome>,
        Vec<Vec<swarm_engine::record::Sample>>,
        u64,
        Time,
    ) {
        let mut sampler = crate::record::Sampler::new(
            self.slots.len(),
            crate::record::initial_interval(self.scenario.bound_s()),
        );
        let total_peers = self.slots.len() - 1;
        while self.pending_peers > 0 {
            let heap_next = self.heap.peek().map(|Reverse(e)| (e.time, e.seq));
            let net_next = self.net.peek();
            let (t, from_net) = match (heap_next, net_next) {
                (Some(h), Some(n)) if n < h => (n.0, true),
                (Some(h), _) => (h.0, false),
                (None, Some(n)) => (n.0, true),
                (None, None) => break,
            };
            if t > limits.deadline {
                self.now = limits.deadline;
                break;
            }
            while sampler.due(t) {
                let counters = self.counters();
                sampler.take(&counters);
                progress(Progress {
                    sim_s: t.as_secs_f64(),
                    done_peers: total_peers - self.pending_peers,
                    total_peers,
                });
            }
            self.now = t;
            self.events += 1;
            let n = self.events;
            if from_net {
                let output = self.net.step(&mut self.seq);
                let (kind, node, end) = match output {
                    NetOutput::Nothing => (0, 0, 0),
                    NetOutput::Sent { node, end } => (1, node, end),
                    NetOutput::Delivered { node, end, .. } => (2, node, end),
                };
                let description = trace.wants(n).then(|| format!("net {output:?}"));
                trace.event(n, t, kind, node as u64, end, description);
                if let NetOutput::Delivered { node, end, count } = output {
                    for _ in 0..count {
                        let Some(frame) = self.net.take_delivered(end) else {
                            break; // the connection closed while delivering
                        };
                        self.deliver(node, end, frame);
                    }
                }
            } else {
                let Some(Reverse(ev)) = self.heap.pop() else {
                    break;
                };
                let (kind, node) = ev.kind.code_and_node();
                let description = trace.wants(n).then(|| format!("{:?}", ev.kind));
                trace.event(n, t, 16 + kind, node as u64, 0, description);
                self.handle(ev.kind);
            }
        }
        let counters = self.counters();
        let samples = sampler.finish(self.now, &counters);
        let outcomes = self
            .slots
            .iter()
            .zip(&counters)
            .map(|(s, &(up, down))| NodeOutcome {
                joined: s.joined,
                completed: s.completed,
                crashed: s.crashed,
                uploaded_bytes: up,
                downloaded_bytes: down,
            })
            .collect();
        (outcomes, samples, self.events, self.now)
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

    fn handle(&mut self, kind: Kind) {
        match kind {
            Kind::Timer(i, deadline) => {
                if self.slots[i].timer_at != Some(deadline) {
                    return; // stale
                }
                self.slots[i].timer_at = None;
                self.drive(i, |driver, node, runtime| {
                    driver.handle_timeout(node, runtime)
                });
            }
            Kind::Input(i, inc, input) => {
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
            Kind::Join(i) => self.join(i, false),
            Kind::OriginUp => self.join(0, true),
            Kind::Leave(i) => self.stop(i, true),
            Kind::Crash(i) => {
                if i != 0 && self.slots[i].completed.is_none() && !self.slots[i].crashed {
                    self.slots[i].crashed = true;
                    self.pending_peers -= 1;
                }
                self.stop(i, false);
            }
            Kind::SetRates(i, up, down) => self.net.set_rates(i, up, down),
        }
    }

    fn join(&mut self, i: usize, restart: bool) {
        if self.slots[i].crashed || self.slots[i].node.is_some() {
            return; // crashed before joining, or already up
        }
        let pieces = self.spec.geometry.piece_count();
        let mut config = NodeConfig::new(peer_id(i));
        let bt = &self.scenario.bittorrent;
        if i == 0 {
            config.origin_mode = bt.origin_mode.unwrap_or(true);
            if let Some(v) = bt.origin_upload_slots {
                config.upload_slots = v;
            }
            if let Some(v) = bt.origin_reveal_per_peer {
                config.origin_reveal_per_peer = v;
            }
        } else if let Some(v) = bt.upload_slots {
            config.upload_slots = v;
        }
        if let Some(v) = bt.max_connections {
            config.max_connections = v;
        }
        if let Some(v) = bt.min_pipeline_blocks {
            config.min_pipeline_blocks = v;
        }
        if let Some(v) = bt.max_pipeline_blocks {
            config.max_pipeline_blocks = v;
        }
        if let Some(v) = bt.random_first_pieces {
            config.random_first_pieces = v;
        }
        if let Some(v) = bt.announce_numwant {
            config.announce_numwant = v;
        }
        if let Some(d) = bt
            .rechoke_interval
            .as_deref()
            .and_then(|s| parse_duration(s).ok())
        {
            config.rechoke_interval = d;
        }
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
        slot.node = Some(Box::new(Node::new(
            self.spec.clone(),
            config,
            verified,
            seed,
        )));
        if slot.joined.is_none() {
            slot.joined = Some(self.now);
        }
        slot.timer_at = None;
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
            let remote = self.net.node_of(end ^ 1);
            let latency = self.net.latency(end);
            self.net.close(end);
            let at = self.now + latency;
            self.input_at(
                at,
                remote,
                Input::Disconnected {
                    conn: ConnId(end ^ 1),
                },
            );
        }
        if polite {
            self.tracker.stopped(self.now, i);
        }
    }

    fn deliver(&mut self, node: usize, end: u64, frame: Frame) {
        if self.slots[node].node.is_none() {
            return;
        }
        if let Frame::Message(Message::Piece { index, .. }) = &frame {
            let sender = self.net.node_of(end ^ 1);
            if self.slots[sender].corrupt {
                self.slots[node].tainted.insert(*index);
            }
        }
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
