//! The live chart's figures: per rollout, samples of the swarm's throughput (what its
//! hosts receive, summed) and of the origin's upload, taken by the page's builder as
//! reports arrive. Kept in memory only (the history's figures are in SQLite; these curves
//! start again after a restart), for the newest [`MAX_ROLLOUTS`] rollouts, each at most
//! [`MAX_SAMPLES`] long: a full series drops every other sample, so it always spans the
//! whole rollout at a coarser step.

use std::collections::BTreeMap;

use serde::Serialize;

/// Rollouts whose series are kept.
pub const MAX_ROLLOUTS: usize = 4;
/// Samples kept per rollout.
pub const MAX_SAMPLES: usize = 1200;
/// Samples closer together than this replace the previous one.
pub const MIN_STEP_MS: i64 = 500;

/// One sample.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Sample {
    at_ms: i64,
    swarm_bps: u64,
    origin_bytes: u64,
}

/// Every kept series.
#[derive(Debug, Default)]
pub struct Series {
    rollouts: BTreeMap<i64, Vec<Sample>>,
}

/// One rollout's chart, as the page's script draws it: `[seconds since start, swarm
/// bytes/s, origin bytes/s]` per point, and the rate that would finish at the bound.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Chart {
    /// The rollout.
    pub rollout_id: i64,
    /// Points, oldest first.
    pub points: Vec<[f64; 3]>,
    /// `N·F / bound`, bytes per second, when the bound is known.
    pub bound_bps: Option<f64>,
}

impl Series {
    /// Records a sample of `rollout_id` taken at `at_ms` (Unix ms).
    pub fn record(&mut self, rollout_id: i64, at_ms: i64, swarm_bps: u64, origin_bytes: u64) {
        let samples = self.rollouts.entry(rollout_id).or_default();
        let sample = Sample {
            at_ms,
            swarm_bps,
            origin_bytes,
        };
        let several = samples.len() > 1;
        match samples.last_mut() {
            Some(last) if at_ms < last.at_ms => return,
            Some(last) if at_ms - last.at_ms < MIN_STEP_MS && several => {
                *last = sample;
            }
            _ => samples.push(sample),
        }
        if samples.len() > MAX_SAMPLES {
            let mut index = 0;
            samples.retain(|_| {
                index += 1;
                index % 2 == 1
            });
        }
        while self.rollouts.len() > MAX_ROLLOUTS {
            self.rollouts.pop_first();
        }
    }

    /// The chart of `rollout_id` since `started_ms` (empty if nothing was sampled).
    pub fn chart(&self, rollout_id: i64, started_ms: i64, bound_bps: Option<f64>) -> Chart {
        let samples = self
            .rollouts
            .get(&rollout_id)
            .map_or(&[][..], Vec::as_slice);
        let mut points = Vec::with_capacity(samples.len());
        let mut previous: Option<&Sample> = None;
        for sample in samples {
            let origin_bps = match previous {
                Some(p) if sample.at_ms > p.at_ms => {
                    let bytes = sample.origin_bytes.saturating_sub(p.origin_bytes) as f64;
                    bytes * 1000.0 / (sample.at_ms - p.at_ms) as f64
                }
                _ => 0.0,
            };
            let t = (sample.at_ms - started_ms) as f64 / 1000.0;
            points.push([t.max(0.0), sample.swarm_bps as f64, origin_bps]);
            previous = Some(sample);
        }
        Chart {
            rollout_id,
            points,
            bound_bps,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_rate_comes_from_its_counter_and_long_series_thin_out() {
        let mut series = Series::default();
        series.record(1, 1_000, 10, 0);
        series.record(1, 2_000, 20, 500);
        series.record(1, 2_100, 25, 600);
        let chart = series.chart(1, 0, Some(7.0));
        assert_eq!(chart.points.len(), 2, "{chart:?}");
        let [t, swarm, origin] = chart.points[1];
        assert_eq!((t, swarm), (2.1, 25.0));
        assert!((origin - 600.0 / 1.1).abs() < 1e-6, "{origin}");
        for i in 0..(MAX_SAMPLES as i64 * 2) {
            series.record(2, i * 1000, 1, 0);
        }
        let chart = series.chart(2, 0, None);
        assert!(chart.points.len() <= MAX_SAMPLES, "{}", chart.points.len());
        assert!(chart.points.last().unwrap()[0] > 2000.0);
        for id in 3..10 {
            series.record(id, 0, 1, 0);
        }
        assert!(series.chart(1, 0, None).points.is_empty(), "oldest dropped");
        assert_eq!(series.chart(9, 0, None).points.len(), 1);
    }
}
