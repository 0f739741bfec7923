//! # swarm-sim: a deterministic discrete-event simulator for swarm rollouts
//!
//! The contract: a run is a pure function of the scenario and the root seed. The clock is
//! virtual and jumps to the next event; events are ordered by `(time, sequence number)`;
//! every node's engine gets its own ChaCha8 RNG derived from the root seed (as do the
//! tracker and the join times); no hash-map iteration touches a simulated path. The same
//! scenario and seed give a byte-identical [`RunRecord`] (see `tests/`).
//!
//! - [`scenario`]: scenario files (TOML), parsed in two stages, errors with key and line.
//! - [`net`]: the network model.
//! - [`host`]: the `bittorrent` strategy — unchanged engine nodes on the network model, the
//!   tracker core of `swarm-tracker`, and faults.
//! - [`baseline`]: `naive` and `queued`, the ways files are copied today.
//! - `run_loop`: the one event loop both strategies run (clock, merge of the strategy's
//!   events with the network's, sampling, progress, trace, deadline); `faults` the timed
//!   faults every strategy schedules.
//! - [`seed`]: the root seed and the seeds derived from it; [`sampler`]: counters over time;
//!   [`record`]: the run record.
//! - [`sweep`]: one scenario at several peer counts or file sizes.
//! - [`trace`]: event digests, to find where two runs that should agree part ways.
//!
//! ## The network model, and what it ignores
//! Every node has an uplink and a downlink capacity; two nodes are `latency(a) + latency(b)`
//! apart, plus `inter_rack_latency` when their racks differ. A message serializes on the
//! sender's uplink (round-robin over its connections, one message at a time), propagates,
//! then serializes on the receiver's downlink (round-robin over incoming connections).
//! Capacities are multiplied by a goodput factor (0.956: one TCP flow on a tc-shaped link)
//! and every message is charged its wire framing (handshake, length prefix, piece header).
//! Payloads are length-only: blocks point into one static zero buffer, so a 10 GiB run
//! costs no memory for data; piece hashes are synthetic and a corrupt sender taints the
//! pieces it contributes to.
//!
//! Ignored: TCP slow start and congestion control, loss and retransmission, reordering,
//! receive-window limits, switch buffers and cross-traffic, CPU time (hashing, parsing) and
//! disk time. Connection set-up costs one round trip; the tracker answers after one round
//! trip to the origin's position.

pub mod baseline;
mod faults;
pub mod host;
pub mod net;
pub mod record;
mod run_loop;
pub mod sampler;
pub mod scenario;
pub mod seed;
pub mod sweep;
pub mod trace;

use std::time::Duration;

use swarm_engine::record::RunRecord;
use swarm_engine::time::Time;

pub use scenario::{Fault, Scenario, ScenarioError, Strategy};
pub use sweep::{Sweep, SweepAxis};
pub use trace::Trace;

/// Where a run stands, for a progress bar.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    /// Simulated seconds.
    pub sim_s: f64,
    /// Peers done (complete or crashed).
    pub done_peers: usize,
    /// Peers in all.
    pub total_peers: usize,
}

/// When a run gives up.
#[derive(Debug, Clone, Copy)]
pub struct RunLimits {
    /// Simulated time after which the run stops.
    pub deadline: Time,
}

impl RunLimits {
    /// The scenario's `max_time`, or 100 × the bound plus the last join plus 10 minutes.
    pub fn for_scenario(scenario: &Scenario) -> Self {
        let last_join = scenario
            .nodes
            .iter()
            .map(|n| n.join_at + n.join_spread)
            .max()
            .unwrap_or_default();
        let default = Duration::from_secs_f64(scenario.bound_s() * 100.0)
            + last_join
            + Duration::from_secs(600);
        RunLimits {
            deadline: Time::ZERO + scenario.max_time.unwrap_or(default),
        }
    }
}

/// A finished run.
#[derive(Debug, Clone)]
pub struct RunOutput {
    /// The record.
    pub record: RunRecord,
    /// Events processed.
    pub events: u64,
    /// Simulated time at the end.
    pub end_s: f64,
}

/// Runs `scenario` with `seed` (and `strategy`, or the scenario's).
pub fn run(
    scenario: &Scenario,
    seed: u64,
    strategy: Option<Strategy>,
    progress: &mut dyn FnMut(Progress),
) -> RunOutput {
    run_traced(scenario, seed, strategy, progress, &mut Trace::default())
}

/// [`run`], folding the events of the run into `trace`.
pub fn run_traced(
    scenario: &Scenario,
    seed: u64,
    strategy: Option<Strategy>,
    progress: &mut dyn FnMut(Progress),
    trace: &mut Trace,
) -> RunOutput {
    let strategy = strategy.unwrap_or(scenario.strategy);
    let limits = RunLimits::for_scenario(scenario);
    let (outcomes, driven) = match strategy {
        Strategy::Bittorrent => host::Host::new(scenario, seed).run(&limits, progress, trace),
        Strategy::Naive | Strategy::Queued => {
            baseline::run(scenario, seed, strategy, &limits, progress, trace)
        }
    };
    let record = record::build_record(scenario, seed, strategy, &outcomes, driven.samples);
    RunOutput {
        record,
        events: driven.events,
        end_s: driven.end.as_secs_f64(),
    }
}

/// Runs `scenario` with `seed` twice and says where the two runs part ways, or `None` when
/// their records are byte-identical (as they must be). The answer names the first event
/// that differs (number, time, what it was in each run) when the event streams differ,
/// else the first record line that does.
pub fn first_divergence(
    scenario: &Scenario,
    seed: u64,
    strategy: Option<Strategy>,
) -> Option<String> {
    divergence_between(scenario, (seed, seed), strategy)
}

/// Where a run with `seeds.0` and one with `seeds.1` part ways (see [`first_divergence`]).
pub fn divergence_between(
    scenario: &Scenario,
    seeds: (u64, u64),
    strategy: Option<Strategy>,
) -> Option<String> {
    let traced = |seed: u64, trace: &mut Trace| {
        run_traced(scenario, seed, strategy, &mut |_| {}, trace)
            .record
            .to_json_pretty()
    };
    let (mut a, mut b) = (Trace::default(), Trace::default());
    let (record_a, record_b) = (traced(seeds.0, &mut a), traced(seeds.1, &mut b));
    let (line, left, right) = first_difference(&record_a, &record_b)?;
    let block = a
        .checkpoints()
        .iter()
        .zip(b.checkpoints())
        .position(|(x, y)| x != y)
        .unwrap_or(a.checkpoints().len().min(b.checkpoints().len())) as u64;
    let window = block * trace::CHECKPOINT_EVENTS + 1..=(block + 1) * trace::CHECKPOINT_EVENTS;
    let (mut a, mut b) = (Trace::describing(window.clone()), Trace::describing(window));
    traced(seeds.0, &mut a);
    traced(seeds.1, &mut b);
    let events = a
        .described()
        .iter()
        .map(Some)
        .chain(std::iter::repeat(None))
        .zip(
            b.described()
                .iter()
                .map(Some)
                .chain(std::iter::repeat(None)),
        )
        .take(a.described().len().max(b.described().len()))
        .find(|(x, y)| x != y);
    Some(match events {
        Some((x, y)) => format!(
            "first differing event: {} / {}",
            x.map_or("<none>", String::as_str),
            y.map_or("<none>", String::as_str)
        ),
        None => format!("events agree; record line {line} differs: {left} / {right}"),
    })
}

/// Where two serialized records first differ: `(line number, left line, right line)`.
pub fn first_difference(a: &str, b: &str) -> Option<(usize, String, String)> {
    let mut left = a.lines();
    let mut right = b.lines();
    let mut n = 0;
    loop {
        n += 1;
        match (left.next(), right.next()) {
            (None, None) => return None,
            (l, r) if l != r => {
                return Some((
                    n,
                    l.unwrap_or("<end>").to_string(),
                    r.unwrap_or("<end>").to_string(),
                ))
            }
            _ => {}
        }
    }
}
