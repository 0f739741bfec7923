//! The one event loop every strategy runs (the `bittorrent` host and the baselines): it
//! merges the strategy's own events with the network model's stages into one total order
//! `(time, sequence number)`, jumps the clock, samples the counters, reports progress,
//! folds every event into the trace and stops at the deadline or when no peer is pending.
//!
//! A strategy is a [`World`]: it keeps its events in an [`EventQueue`] and its links in a
//! [`Net`], and says how to handle one of either.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

use swarm_engine::record::Sample;
use swarm_engine::time::Time;

use crate::net::{Net, NetOutput};
use crate::sampler::{initial_interval, Sampler};
use crate::trace::Trace;
use crate::{Progress, RunLimits};

/// An event of a strategy, due at `time`; `seq` breaks ties in scheduling order.
#[derive(Debug)]
struct Scheduled<E> {
    time: Time,
    seq: u64,
    event: E,
}

impl<E> PartialEq for Scheduled<E> {
    fn eq(&self, other: &Self) -> bool {
        (self.time, self.seq) == (other.time, other.seq)
    }
}
impl<E> Eq for Scheduled<E> {}
impl<E> PartialOrd for Scheduled<E> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<E> Ord for Scheduled<E> {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.time, self.seq).cmp(&(other.time, other.seq))
    }
}

/// A strategy's own events, earliest first. The sequence numbers come from the counter
/// the network model also draws from, so both merge into one total order.
#[derive(Debug)]
pub(crate) struct EventQueue<E> {
    heap: BinaryHeap<Reverse<Scheduled<E>>>,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        EventQueue {
            heap: BinaryHeap::new(),
        }
    }
}

impl<E> EventQueue<E> {
    /// Schedules `event` at `time`, numbering it from `seq`.
    pub fn push(&mut self, seq: &mut u64, time: Time, event: E) {
        *seq += 1;
        self.heap.push(Reverse(Scheduled {
            time,
            seq: *seq,
            event,
        }));
    }

    fn peek(&self) -> Option<(Time, u64)> {
        self.heap.peek().map(|Reverse(e)| (e.time, e.seq))
    }

    /// The earliest event.
    fn pop(&mut self) -> Option<E> {
        self.heap.pop().map(|Reverse(e)| e.event)
    }
}

/// A strategy's event as the trace sees it.
pub(crate) trait Traced: std::fmt::Debug {
    /// A small code for the variant (traced as kind 16 and up), and the node it concerns (0
    /// for the origin's own).
    fn code_and_node(&self) -> (u64, usize);
}

impl<E: Traced> EventQueue<E> {
    /// The earliest event, folded into the trace as event number `n` at `t`.
    pub fn pop_traced(&mut self, trace: &mut Trace, n: u64, t: Time) -> Option<E> {
        let event = self.pop()?;
        let (kind, node) = event.code_and_node();
        let description = trace.wants(n).then(|| format!("{event:?}"));
        trace.event(n, t, 16 + kind, node as u64, 0, description);
        Some(event)
    }
}

/// Where the next event comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    /// A stage of the network model.
    Net,
    /// The strategy's own queue.
    Queue,
}

/// The next event of `queue` and `net` together: its time and where it is.
pub(crate) fn next_of<E, M>(queue: &EventQueue<E>, net: &Net<M>) -> Option<(Time, Source)> {
    match (queue.peek(), net.peek()) {
        (Some(q), Some(n)) if n < q => Some((n.0, Source::Net)),
        (Some(q), _) => Some((q.0, Source::Queue)),
        (None, Some(n)) => Some((n.0, Source::Net)),
        (None, None) => None,
    }
}

/// Runs the next stage of `net`, folded into the trace as event number `n` at `t` (kinds
/// 0–2; strategy events use 16 and up).
pub(crate) fn step_net<M>(
    net: &mut Net<M>,
    seq: &mut u64,
    trace: &mut Trace,
    n: u64,
    t: Time,
) -> NetOutput {
    let output = net.step(seq);
    let (kind, node, end) = match output {
        NetOutput::Nothing => (0, 0, 0),
        NetOutput::Sent { node, end, .. } => (1, node, end),
        NetOutput::Delivered { node, end, .. } => (2, node, end),
    };
    let description = trace.wants(n).then(|| format!("net {output:?}"));
    trace.event(n, t, kind, node as u64, end, description);
    output
}

/// A strategy on the network model, as the loop drives it.
pub(crate) trait World {
    /// When the next event is due, and where it is (usually [`next_of`]).
    fn next(&self) -> Option<(Time, Source)>;
    /// Sets the clock (to the next event's time, or to the deadline at the end).
    fn set_now(&mut self, now: Time);
    /// Handles the next event of `source`; it is event number `n` of the run.
    fn step(&mut self, source: Source, n: u64, trace: &mut Trace);
    /// Every node's `(uploaded, downloaded)` payload bytes so far.
    fn counters(&self) -> Vec<(u64, u64)>;
    /// Peers neither complete nor crashed.
    fn pending_peers(&self) -> usize;
}

/// What [`drive`] hands back: the samples, the event count and the end time.
pub(crate) struct Driven {
    /// Every node's samples.
    pub samples: Vec<Vec<Sample>>,
    /// Events processed.
    pub events: u64,
    /// Simulated time at the end.
    pub end: Time,
    /// The counters at the end.
    pub counters: Vec<(u64, u64)>,
}

/// Runs `world` until no peer is pending, nothing is scheduled, or the deadline passes.
/// Generic rather than `dyn`: the calls below happen for every event.
pub(crate) fn drive<W: World>(
    world: &mut W,
    nodes: usize,
    bound_s: f64,
    limits: &RunLimits,
    progress: &mut dyn FnMut(Progress),
    trace: &mut Trace,
) -> Driven {
    let mut sampler = Sampler::new(nodes, initial_interval(bound_s));
    let total_peers = nodes - 1;
    let mut events = 0u64;
    let mut now = Time::ZERO;
    while world.pending_peers() > 0 {
        let Some((t, source)) = world.next() else {
            break;
        };
        if t > limits.deadline {
            now = limits.deadline;
            world.set_now(now);
            break;
        }
        while sampler.due(t) {
            sampler.take(&world.counters());
            progress(Progress {
                sim_s: t.as_secs_f64(),
                done_peers: total_peers - world.pending_peers(),
                total_peers,
            });
        }
        now = t;
        world.set_now(t);
        events += 1;
        world.step(source, events, trace);
    }
    let counters = world.counters();
    Driven {
        samples: sampler.finish(now, &counters),
        events,
        end: now,
        counters,
    }
}
