//! The baselines users run today, on the same network model: `naive` (every peer pulls the
//! whole file from the origin at once, one flow each) and `queued` (one peer at a time).
//!
//! A flow is a stream of [`CHUNK_BYTES`] messages from the origin; the origin keeps two
//! chunks queued per flow, so its uplink never idles and is shared round-robin.
//!
//! Faults: a degraded link slows its flows; a crashed peer's flow stops for good (and under
//! `queued` the next peer starts); an origin restart cuts every flow, and when the origin is
//! back each unfinished peer resumes where it stopped (as `curl -C -` or `rsync --partial`
//! would, the kindest reading of today's scripts). Corrupt peers and tracker outages do not
//! apply: no peer serves and no tracker is involved.

use std::collections::{BTreeMap, VecDeque};

use swarm_engine::time::Time;

use crate::faults::{timed_faults, FaultEvent};
use crate::net::{End, Net, NetOutput};
use crate::record::NodeOutcome;
use crate::run_loop::{drive, next_of, step_net, Driven, EventQueue, Source, Traced, World};
use crate::scenario::{Scenario, Strategy};
use crate::trace::Trace;
use crate::{Progress, RunLimits};

/// Size of one message of a baseline flow.
pub const CHUNK_BYTES: u64 = 1 << 20;

/// What a baseline schedules on its own queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BaselineEvent {
    /// A peer shows up.
    Join(usize),
    /// A peer's connection to the origin is up: its flow starts (or resumes).
    FlowStart(usize),
    /// A fault of the scenario.
    Fault(FaultEvent),
}

impl Traced for BaselineEvent {
    fn code_and_node(&self) -> (u64, usize) {
        match *self {
            BaselineEvent::Join(i) => (2, i),
            BaselineEvent::FlowStart(i) => (7, i),
            BaselineEvent::Fault(FaultEvent::PeerCrash(i)) => (4, i),
            BaselineEvent::Fault(FaultEvent::OriginDown) => (4, 0),
            BaselineEvent::Fault(FaultEvent::OriginUp) => (5, 0),
            BaselineEvent::Fault(FaultEvent::SetRates(i, _, _)) => (6, i),
        }
    }
}

/// One peer as a baseline sees it.
#[derive(Debug, Clone, Default)]
struct PeerState {
    joined: Option<Time>,
    completed: Option<Time>,
    crashed: bool,
    /// Its current flow from the origin.
    flow: Option<End>,
    uploaded_bytes: u64,
    downloaded_bytes: u64,
}

/// One `naive` or `queued` run.
#[derive(Debug)]
struct Baseline<'a> {
    scenario: &'a Scenario,
    strategy: Strategy,
    now: Time,
    seq: u64,
    events: EventQueue<BaselineEvent>,
    net: Net<u64>,
    nodes: Vec<PeerState>,
    origin_down: bool,
    /// Peers waiting for the origin to come back.
    held: Vec<usize>,
    /// Bytes of each flow not yet queued, by the origin's end.
    left_to_queue: BTreeMap<End, u64>,
    /// Under `queued`: the peers waiting for their turn, and the one being served.
    waiting: VecDeque<usize>,
    active: Option<usize>,
    pending: usize,
}

/// Runs a baseline; returns the node outcomes and what the loop saw.
pub(crate) fn run(
    scenario: &Scenario,
    seed: u64,
    strategy: Strategy,
    limits: &RunLimits,
    progress: &mut dyn FnMut(Progress),
    trace: &mut Trace,
) -> (Vec<NodeOutcome>, Driven) {
    let n = scenario.nodes.len();
    let mut net = Net::new(scenario.goodput_factor);
    for node in &scenario.nodes {
        net.add_node(node.upload_bps, node.download_bps);
    }
    let mut world = Baseline {
        scenario,
        strategy,
        now: Time::ZERO,
        seq: 0,
        events: EventQueue::default(),
        net,
        nodes: vec![PeerState::default(); n],
        origin_down: false,
        held: Vec::new(),
        left_to_queue: BTreeMap::new(),
        waiting: VecDeque::new(),
        active: None,
        pending: n - 1,
    };
    world.nodes[0].joined = Some(Time::ZERO);
    for (i, join) in scenario.join_times(seed).into_iter().enumerate().skip(1) {
        world.push(Time::ZERO + join, BaselineEvent::Join(i));
    }
    for (at, fault) in timed_faults(scenario) {
        world.push(at, BaselineEvent::Fault(fault));
    }
    let driven = drive(&mut world, n, scenario.bound_s(), limits, progress, trace);
    let outcomes = world
        .nodes
        .iter()
        .map(|p| NodeOutcome {
            joined: p.joined,
            completed: p.completed,
            crashed: p.crashed,
            uploaded_bytes: p.uploaded_bytes,
            downloaded_bytes: p.downloaded_bytes,
        })
        .collect();
    (outcomes, driven)
}

impl World for Baseline<'_> {
    fn next(&self) -> Option<(Time, Source)> {
        next_of(&self.events, &self.net)
    }

    fn set_now(&mut self, now: Time) {
        self.now = now;
    }

    fn step(&mut self, source: Source, n: u64, trace: &mut Trace) {
        let start_next = match source {
            Source::Net => {
                let output = step_net(&mut self.net, &mut self.seq, trace, n, self.now);
                self.on_net(output)
            }
            Source::Queue => {
                let Some(event) = self.events.pop_traced(trace, n, self.now) else {
                    return;
                };
                self.handle(event)
            }
        };
        if start_next {
            self.active = self.waiting.pop_front();
            if let Some(i) = self.active {
                self.connect_after_round_trip(i);
            }
        }
    }

    fn counters(&self) -> Vec<(u64, u64)> {
        self.nodes
            .iter()
            .map(|p| (p.uploaded_bytes, p.downloaded_bytes))
            .collect()
    }

    fn pending_peers(&self) -> usize {
        self.pending
    }
}

impl Baseline<'_> {
    fn push(&mut self, at: Time, event: BaselineEvent) {
        self.events.push(&mut self.seq, at, event);
    }

    /// Connection set-up costs one round trip before data flows.
    fn connect_after_round_trip(&mut self, i: usize) {
        let rtt = 2 * self.scenario.latency(0, i);
        self.push(self.now + rtt, BaselineEvent::FlowStart(i));
    }

    /// Queues the flow's next chunk on the origin's `end`, if any is left.
    fn queue_chunk(&mut self, end: End) {
        if let Some(bytes) = self.left_to_queue.get_mut(&end) {
            if *bytes > 0 {
                let len = (*bytes).min(CHUNK_BYTES);
                *bytes -= len;
                self.net.send(self.now, &mut self.seq, end, len, len as u32);
            }
        }
    }

    /// A network stage; returns whether the next queued peer's turn has come.
    fn on_net(&mut self, output: NetOutput) -> bool {
        match output {
            NetOutput::Sent { end, .. } => self.queue_chunk(end),
            NetOutput::Delivered { node, end, count } => {
                let mut len_bytes = 0;
                for _ in 0..count {
                    if let Some(len) = self.net.take_delivered(end) {
                        len_bytes += len;
                    }
                }
                self.nodes[0].uploaded_bytes += len_bytes;
                let peer = &mut self.nodes[node];
                peer.downloaded_bytes += len_bytes;
                if peer.downloaded_bytes >= self.scenario.file_size_bytes
                    && peer.completed.is_none()
                {
                    peer.completed = Some(self.now);
                    peer.flow = None;
                    self.pending -= 1;
                    return self.strategy == Strategy::Queued;
                }
            }
            NetOutput::Nothing => {}
        }
        false
    }

    /// One of the baseline's own events; returns whether the next queued peer's turn has
    /// come.
    fn handle(&mut self, event: BaselineEvent) -> bool {
        match event {
            BaselineEvent::Join(i) if self.nodes[i].crashed => {}
            BaselineEvent::Join(i) => {
                self.nodes[i].joined = Some(self.now);
                if self.strategy == Strategy::Queued {
                    self.waiting.push_back(i);
                    return self.active.is_none();
                }
                self.connect_after_round_trip(i);
            }
            BaselineEvent::FlowStart(i)
                if self.nodes[i].crashed || self.nodes[i].completed.is_some() => {}
            BaselineEvent::FlowStart(i) if self.origin_down => self.held.push(i),
            BaselineEvent::FlowStart(i) => {
                let (end, _) = self.net.open(0, i, self.scenario.latency(0, i));
                self.nodes[i].flow = Some(end);
                let left = self.scenario.file_size_bytes - self.nodes[i].downloaded_bytes;
                self.left_to_queue.insert(end, left);
                // Two chunks queued per flow keep the origin's uplink busy.
                self.queue_chunk(end);
                self.queue_chunk(end);
            }
            BaselineEvent::Fault(fault) => return self.fault(fault),
        }
        false
    }

    fn fault(&mut self, fault: FaultEvent) -> bool {
        match fault {
            FaultEvent::PeerCrash(i) => {
                let peer = &mut self.nodes[i];
                if i != 0 && peer.completed.is_none() && !peer.crashed {
                    peer.crashed = true;
                    self.pending -= 1;
                    if let Some(end) = peer.flow.take() {
                        self.net.close(end);
                    }
                    self.waiting.retain(|&w| w != i);
                    return self.active == Some(i);
                }
            }
            FaultEvent::OriginDown => {
                self.origin_down = true;
                for (i, peer) in self.nodes.iter_mut().enumerate() {
                    if let Some(end) = peer.flow.take() {
                        self.net.close(end);
                        self.held.push(i);
                    }
                }
            }
            FaultEvent::OriginUp => {
                self.origin_down = false;
                for i in std::mem::take(&mut self.held) {
                    // Reconnecting costs a round trip, as the first connection did.
                    self.connect_after_round_trip(i);
                }
            }
            FaultEvent::SetRates(i, up, down) => self.net.set_rates(i, up, down),
        }
        false
    }
}
