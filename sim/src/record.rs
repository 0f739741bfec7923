//! Seeds, samples and the run record every runtime of this crate writes.

use std::time::Duration;

use swarm_engine::record::{NodeRecord, NodeRole, RecordSource, RunRecord, Sample};
use swarm_engine::time::Time;

use crate::scenario::{Scenario, Strategy};

/// Subsystems that get their own seed derived from the root seed.
#[derive(Debug, Clone, Copy)]
pub enum SeedTag {
    /// A node's engine RNG.
    Node = 1,
    /// The tracker core's RNG.
    Tracker = 2,
    /// Join times within a spread.
    Joins = 3,
}

fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// The seed of one subsystem instance (`index`: node index, incarnation in the high bits).
pub fn derive_seed(root: u64, tag: SeedTag, index: u64) -> u64 {
    splitmix64(splitmix64(root ^ ((tag as u64) << 56)).wrapping_add(index))
}

/// Most samples kept per node; past it the series is thinned and the interval doubled.
pub const MAX_SAMPLES_PER_NODE: usize = 512;

/// Cumulative counters of every node at a fixed, adaptive, simulated interval.
#[derive(Debug)]
pub struct Sampler {
    interval: Duration,
    next: Time,
    series: Vec<Vec<Sample>>,
}

impl Sampler {
    /// Samples `nodes` series, first every `interval`.
    pub fn new(nodes: usize, interval: Duration) -> Self {
        Sampler {
            interval: interval.max(Duration::from_millis(1)),
            next: Time::ZERO,
            series: vec![Vec::new(); nodes],
        }
    }

    /// Whether a sample falls at or before `t`.
    pub fn due(&self, t: Time) -> bool {
        self.next <= t
    }

    /// Records one sample at the pending sample time; `counters[i]` = (up, down) of node i.
    pub fn take(&mut self, counters: &[(u64, u64)]) {
        let t_s = self.next.as_secs_f64();
        for (series, &(up, down)) in self.series.iter_mut().zip(counters) {
            series.push(Sample {
                t_s,
                uploaded_bytes: up,
                downloaded_bytes: down,
            });
        }
        if self
            .series
            .first()
            .is_some_and(|s| s.len() > MAX_SAMPLES_PER_NODE)
        {
            for series in &mut self.series {
                let mut i = 0;
                series.retain(|_| {
                    i += 1;
                    i % 2 == 1
                });
            }
            self.interval *= 2;
            let last = self.series[0].last().map_or(0.0, |s| s.t_s);
            self.next = Time::from_nanos((last * 1e9).round() as u64);
        }
        self.next = self.next + self.interval;
    }

    /// A last sample at `now` (the end of the run), then the series.
    pub fn finish(mut self, now: Time, counters: &[(u64, u64)]) -> Vec<Vec<Sample>> {
        if self.series.first().and_then(|s| s.last()).map(|s| s.t_s) != Some(now.as_secs_f64()) {
            self.next = now;
            let t_s = now.as_secs_f64();
            for (series, &(up, down)) in self.series.iter_mut().zip(counters) {
                series.push(Sample {
                    t_s,
                    uploaded_bytes: up,
                    downloaded_bytes: down,
                });
            }
        }
        self.series
    }
}

/// A first sampling interval: about 250 samples over the bound.
pub fn initial_interval(bound_s: f64) -> Duration {
    Duration::from_secs_f64((bound_s / 250.0).max(0.001))
}

/// What a runtime knows of one node at the end.
#[derive(Debug, Clone)]
pub struct NodeOutcome {
    /// When it joined.
    pub joined: Option<Time>,
    /// When it completed.
    pub completed: Option<Time>,
    /// It crashed on purpose (a fault) before completing.
    pub crashed: bool,
    /// Payload bytes sent.
    pub uploaded_bytes: u64,
    /// Payload bytes received.
    pub downloaded_bytes: u64,
}

/// Builds the run record. The makespan counts every peer that was not crashed by a fault;
/// it is `None` if one of them never finished.
pub fn build_record(
    scenario: &Scenario,
    seed: u64,
    strategy: Strategy,
    outcomes: &[NodeOutcome],
    samples: Vec<Vec<Sample>>,
) -> RunRecord {
    let mut makespan: Option<f64> = Some(0.0);
    for o in &outcomes[1..] {
        match (o.completed, o.crashed) {
            (Some(t), _) => makespan = makespan.map(|m| m.max(t.as_secs_f64())),
            (None, true) => {}
            (None, false) => makespan = None,
        }
    }
    let nodes = scenario
        .nodes
        .iter()
        .zip(outcomes)
        .zip(samples)
        .enumerate()
        .map(|(i, ((spec, o), samples))| NodeRecord {
            id: spec.id.clone(),
            role: if i == 0 {
                NodeRole::Origin
            } else {
                NodeRole::Peer
            },
            upload_bps: spec.upload_bps,
            download_bps: spec.download_bps,
            joined_s: o.joined.map_or(0.0, Time::as_secs_f64),
            completed_s: if i == 0 {
                Some(0.0)
            } else {
                o.completed.map(Time::as_secs_f64)
            },
            uploaded_bytes: o.uploaded_bytes,
            downloaded_bytes: o.downloaded_bytes,
            samples,
        })
        .collect();
    RunRecord {
        scenario: scenario.name.clone(),
        seed,
        strategy: strategy.name().to_string(),
        source: RecordSource::Sim,
        file_size: scenario.file_size_bytes,
        piece_length: u64::from(scenario.piece_size_bytes),
        bound_s: scenario.bound_s(),
        makespan_s: makespan,
        origin_uploaded_bytes: outcomes[0].uploaded_bytes,
        nodes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_differ_by_tag_index_and_root() {
        let a = derive_seed(1, SeedTag::Node, 0);
        assert_ne!(a, derive_seed(1, SeedTag::Node, 1));
        assert_ne!(a, derive_seed(1, SeedTag::Tracker, 0));
        assert_ne!(a, derive_seed(2, SeedTag::Node, 0));
        assert_eq!(a, derive_seed(1, SeedTag::Node, 0));
    }

    #[test]
    fn sampler_stays_bounded() {
        let mut s = Sampler::new(2, Duration::from_millis(10));
        let mut t = Time::ZERO;
        for i in 0..10_000u64 {
            while s.due(t) {
                s.take(&[(i, i), (0, i)]);
            }
            t = t + Duration::from_millis(10);
        }
        let series = s.finish(t, &[(1, 1), (1, 1)]);
        assert!(series[0].len() <= MAX_SAMPLES_PER_NODE + 1);
        assert!(series[0].windows(2).all(|w| w[0].t_s < w[1].t_s));
    }
}
