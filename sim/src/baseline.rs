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

use swarm_engine::record::Sample;
use swarm_engine::time::Time;

use crate::net::{End, Net, NetOutput};
use crate::record::{initial_interval, NodeOutcome, Sampler};
use crate::scenario::{Fault, Scenario, Strategy};
use crate::{Progress, RunLimits};

/// Size of one message of a baseline flow.
pub const CHUNK_BYTES: u64 = 1 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Join(usize),
    FlowStart(usize),
    SetRates(usize, u64, u64),
    Crash(usize),
    OriginDown,
    OriginUp,
}

/// Runs a baseline; returns outcomes, samples, event count and end time.
pub fn run(
    scenario: &Scenario,
    seed: u64,
    strategy: Strategy,
    limits: &RunLimits,
    progress: &mut dyn FnMut(Progress),
) -> (Vec<NodeOutcome>, Vec<Vec<Sample>>, u64, Time) {
    let n = scenario.nodes.len();
    let file = scenario.file_size_bytes;
    let mut net: Net<u64> = Net::new(scenario.goodput_factor);
    for node in &scenario.nodes {
        net.add_node(node.upload_bps, node.download_bps);
    }
    let mut seq = 0u64;
    // (time, seq) -> kind: an ordered map is the event heap here (few events).
    let mut events: BTreeMap<(Time, u64), Kind> = BTreeMap::new();
    let push = |events: &mut BTreeMap<(Time, u64), Kind>, seq: &mut u64, t: Time, k: Kind| {
        *seq += 1;
        events.insert((t, *seq), k);
    };
    for (i, join) in scenario.join_times(seed).into_iter().enumerate().skip(1) {
        push(&mut events, &mut seq, Time::ZERO + join, Kind::Join(i));
    }
    for fault in &scenario.faults {
        match fault {
            Fault::LinkDegraded {
                node,
                at,
                duration,
                upload_bps,
                download_bps,
            } => {
                let i = scenario.node_index(node).expect("validated");
                let t = Time::ZERO + *at;
                push(
                    &mut events,
                    &mut seq,
                    t,
                    Kind::SetRates(i, *upload_bps, *download_bps),
                );
                if let Some(d) = duration {
                    let spec = &scenario.nodes[i];
                    let k = Kind::SetRates(i, spec.upload_bps, spec.download_bps);
                    push(&mut events, &mut seq, t + *d, k);
                }
            }
            Fault::PeerCrash { node, at } => {
                let i = scenario.node_index(node).expect("validated");
                push(&mut events, &mut seq, Time::ZERO + *at, Kind::Crash(i));
            }
            Fault::OriginRestart { at, downtime } => {
                let t = Time::ZERO + *at;
                push(&mut events, &mut seq, t, Kind::OriginDown);
                push(&mut events, &mut seq, t + *downtime, Kind::OriginUp);
            }
            Fault::CorruptPeer { .. } | Fault::TrackerOutage { .. } => {}
        }
    }

    let mut joined: Vec<Option<Time>> = vec![None; n];
    joined[0] = Some(Time::ZERO);
    let mut completed: Vec<Option<Time>> = vec![None; n];
    let mut crashed = vec![false; n];
    // Each peer's current flow from the origin, and the peers waiting for the origin.
    let mut flow: Vec<Option<End>> = vec![None; n];
    let mut origin_down = false;
    let mut held: Vec<usize> = Vec::new();
    let mut up = vec![0u64; n];
    let mut down = vec![0u64; n];
    let mut left_to_queue: BTreeMap<End, (usize, u64)> = BTreeMap::new();
    let mut waiting: VecDeque<usize> = VecDeque::new();
    // Under `queued`, the peer being served.
    let mut active: Option<usize> = None;
    let mut pending = n - 1;
    let mut sampler = Sampler::new(n, initial_interval(scenario.bound_s()));
    let mut count = 0u64;
    let mut now = Time::ZERO;

    let queue_chunk = |net: &mut Net<u64>,
                       left: &mut BTreeMap<End, (usize, u64)>,
                       now: Time,
                       seq: &mut u64,
                       end: End| {
        if let Some((_, bytes)) = left.get_mut(&end) {
            if *bytes > 0 {
                let len = (*bytes).min(CHUNK_BYTES);
                *bytes -= len;
                net.send(now, seq, end, len, len as u32);
            }
        }
    };

    while pending > 0 {
        let ev_next = events.keys().next().copied();
        let net_next = net.peek();
        let (t, from_net) = match (ev_next, net_next) {
            (Some(e), Some(nn)) if nn < e => (nn.0, true),
            (Some(e), _) => (e.0, false),
            (None, Some(nn)) => (nn.0, true),
            (None, None) => break,
        };
        if t > limits.deadline {
            now = limits.deadline;
            break;
        }
        while sampler.due(t) {
            let counters: Vec<(u64, u64)> = up.iter().copied().zip(down.iter().copied()).collect();
            sampler.take(&counters);
            progress(Progress {
                sim_s: t.as_secs_f64(),
                done_peers: n - 1 - pending,
                total_peers: n - 1,
            });
        }
        now = t;
        count += 1;
        let mut start_next = false;
        if from_net {
            match net.step(&mut seq) {
                NetOutput::Sent { end, .. } => {
                    queue_chunk(&mut net, &mut left_to_queue, now, &mut seq, end);
                }
                NetOutput::Delivered { node, end, count } => {
                    let mut len_bytes = 0;
                    for _ in 0..count {
                        if let Some(len) = net.take_delivered(end) {
                            len_bytes += len;
                        }
                    }
                    up[0] += len_bytes;
                    down[node] += len_bytes;
                    if down[node] >= file && completed[node].is_none() {
                        completed[node] = Some(now);
                        flow[node] = None;
                        pending -= 1;
                        start_next = strategy == Strategy::Queued;
                    }
                }
                NetOutput::Nothing => {}
            }
        } else {
            let Some((_, kind)) = events.pop_first() else {
                break;
            };
            match kind {
                Kind::Join(i) if crashed[i] => {}
                Kind::Join(i) => {
                    joined[i] = Some(now);
                    match strategy {
                        Strategy::Queued => {
                            waiting.push_back(i);
                            start_next = active.is_none();
                        }
                        _ => {
                            // Connection set-up: one round trip before data flows.
                            let rtt = 2 * scenario.latency(0, i);
                            push(&mut events, &mut seq, now + rtt, Kind::FlowStart(i));
                        }
                    }
                }
                Kind::FlowStart(i) if crashed[i] || completed[i].is_some() => {}
                Kind::FlowStart(i) if origin_down => held.push(i),
                Kind::FlowStart(i) => {
                    let (end, _) = net.open(0, i, scenario.latency(0, i));
                    flow[i] = Some(end);
                    left_to_queue.insert(end, (i, file - down[i]));
                    queue_chunk(&mut net, &mut left_to_queue, now, &mut seq, end);
                    queue_chunk(&mut net, &mut left_to_queue, now, &mut seq, end);
                }
                Kind::Crash(i) => {
                    if i != 0 && completed[i].is_none() && !crashed[i] {
                        crashed[i] = true;
                        pending -= 1;
                        if let Some(end) = flow[i].take() {
                            net.close(end);
                        }
                        waiting.retain(|&w| w != i);
                        start_next = active == Some(i);
                    }
                }
                Kind::OriginDown => {
                    origin_down = true;
                    for (i, current) in flow.iter_mut().enumerate() {
                        if let Some(end) = current.take() {
                            net.close(end);
                            held.push(i);
                        }
                    }
                }
                Kind::OriginUp => {
                    origin_down = false;
                    for i in std::mem::take(&mut held) {
                        // Reconnecting costs a round trip, as the first connection did.
                        let rtt = 2 * scenario.latency(0, i);
                        push(&mut events, &mut seq, now + rtt, Kind::FlowStart(i));
                    }
                }
                Kind::SetRates(i, u, d) => net.set_rates(i, u, d),
            }
        }
        if start_next {
            active = waiting.pop_front();
            if let Some(i) = active {
                let rtt = 2 * scenario.latency(0, i);
                push(&mut events, &mut seq, now + rtt, Kind::FlowStart(i));
            }
        }
    }
    let counters: Vec<(u64, u64)> = up.iter().copied().zip(down.iter().copied()).collect();
    let samples = sampler.finish(now, &counters);
    let outcomes = (0..n)
        .map(|i| NodeOutcome {
            joined: joined[i],
            completed: completed[i],
            crashed: crashed[i],
            uploaded_bytes: up[i],
            downloaded_bytes: down[i],
        })
        .collect();
    (outcomes, samples, count, now)
}
