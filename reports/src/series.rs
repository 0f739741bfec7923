//! Series math for the charts: completion CDFs, resampling of cumulative byte counters on a
//! common time grid, and rates derived from them. Pure functions over the run record, no
//! drawing.
//!
//! Conventions:
//! - A node's `samples` are cumulative counters, zero when the node joined: a first sample
//!   later than that is preceded by an implicit zero at `joined_s` (or at `t = 0`).
//! - Bad samples are tolerated, never fatal: non-finite or negative times are dropped and the
//!   rest are sorted by time. Between samples a counter is interpolated linearly; after the
//!   last sample it holds its last value (the node sent or received nothing more).
//! - A rate over a grid interval is the counter's increase divided by the interval, in bits
//!   per second. A counter that goes backwards (a restarted node) gives a rate of zero there,
//!   not a negative one.

use swarm_engine::record::{NodeRecord, NodeRole, RunRecord, Sample};

/// Number of intervals a record's time span is cut into for rate charts.
pub const GRID_STEPS: usize = 240;

/// Which cumulative counter of a [`Sample`] to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counter {
    /// `uploaded_bytes`.
    Uploaded,
    /// `downloaded_bytes`.
    Downloaded,
}

impl Counter {
    fn read(self, sample: &Sample) -> u64 {
        match self {
            Counter::Uploaded => sample.uploaded_bytes,
            Counter::Downloaded => sample.downloaded_bytes,
        }
    }
}

/// The average rate over one interval of a time grid.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateStep {
    /// Start of the interval.
    pub start_s: f64,
    /// End of the interval.
    pub end_s: f64,
    /// Average rate over the interval, never negative.
    pub bits_per_s: f64,
}

/// The completion-time CDF of a record's peers.
#[derive(Debug, Clone, PartialEq)]
pub struct CompletionCdf {
    /// Step polyline `(seconds, fraction of peers done)`, starting at `(0, 0)`; empty when
    /// the record has no peers. It ends at the last completion: a caller extends it
    /// horizontally to the edge of its chart.
    pub points: Vec<(f64, f64)>,
    /// Peers in the record.
    pub peers: usize,
    /// Peers with a finite completion time.
    pub finished: usize,
}

/// Completion-time CDF over the peers of `nodes` (the origin is not counted). The fraction
/// is of all peers, so a run where some peers never finished stays below 1.
pub fn completion_cdf(nodes: &[NodeRecord]) -> CompletionCdf {
    let peers = nodes.iter().filter(|n| n.role == NodeRole::Peer).count();
    let mut times: Vec<f64> = peers_completed(nodes).map(|(_, t)| t).collect();
    times.sort_by(f64::total_cmp);
    let finished = times.len();
    if peers == 0 {
        return CompletionCdf {
            points: Vec::new(),
            peers,
            finished,
        };
    }
    let mut points = Vec::with_capacity(2 * finished + 1);
    points.push((0.0, 0.0));
    for (done_before, &t) in times.iter().enumerate() {
        points.push((t, done_before as f64 / peers as f64));
        points.push((t, (done_before + 1) as f64 / peers as f64));
    }
    CompletionCdf {
        points,
        peers,
        finished,
    }
}

/// A node's completion time, if it is a usable time (finite, not negative).
pub fn completion_s(node: &NodeRecord) -> Option<f64> {
    node.completed_s.filter(|t| t.is_finite() && *t >= 0.0)
}

/// Peers with a usable completion time, as `(id, completed_s)`, in record order.
pub fn peers_completed(nodes: &[NodeRecord]) -> impl Iterator<Item = (&str, f64)> {
    nodes
        .iter()
        .filter(|n| n.role == NodeRole::Peer)
        .filter_map(|n| completion_s(n).map(|t| (n.id.as_str(), t)))
}

/// One counter of a node as `(t_s, bytes)` points: cleaned, sorted, and starting at zero
/// when the node joined (or at the start of the run, if the join time is unusable or later
/// than the first sample).
pub fn counter_points(node: &NodeRecord, counter: Counter) -> Vec<(f64, f64)> {
    let mut points: Vec<(f64, f64)> = node
        .samples
        .iter()
        .filter(|s| s.t_s.is_finite() && s.t_s >= 0.0)
        .map(|s| (s.t_s, counter.read(s) as f64))
        .collect();
    points.sort_by(|a, b| a.0.total_cmp(&b.0));
    if let Some(&(first_s, _)) = points.first() {
        if first_s > 0.0 {
            let joined_s = node.joined_s;
            let zero_s = if joined_s.is_finite() && joined_s >= 0.0 && joined_s < first_s {
                joined_s
            } else {
                0.0
            };
            points.insert(0, (zero_s, 0.0));
        }
    }
    points
}

/// `steps + 1` evenly spaced times from 0 to `end_s`; empty when the span is not positive.
pub fn uniform_grid(end_s: f64, steps: usize) -> Vec<f64> {
    if !(end_s.is_finite() && end_s > 0.0) || steps == 0 {
        return Vec::new();
    }
    (0..=steps)
        .map(|i| end_s * i as f64 / steps as f64)
        .collect()
}

/// The piecewise-linear counter through `points` (sorted by time) read at each time of the
/// sorted `grid`. Before the first point it reads the first value, after the last point the
/// last value; with no points it reads zero.
pub fn resample(points: &[(f64, f64)], grid: &[f64]) -> Vec<f64> {
    let mut out = Vec::with_capacity(grid.len());
    let mut next = 0; // index of the first point later than the current grid time
    for &t in grid {
        while next < points.len() && points[next].0 <= t {
            next += 1;
        }
        let value = match (next.checked_sub(1).map(|i| points[i]), points.get(next)) {
            (None, None) => 0.0,
            (None, Some(&(_, v))) | (Some((_, v)), None) => v,
            (Some((t0, v0)), Some(&(t1, v1))) => {
                // t0 <= t < t1, so the span is positive.
                v0 + (v1 - v0) * (t - t0) / (t1 - t0)
            }
        };
        out.push(value);
    }
    out
}

/// Average rates between successive grid times of a byte counter read on that grid.
pub fn rates(grid: &[f64], bytes: &[f64]) -> Vec<RateStep> {
    grid.windows(2)
        .zip(bytes.windows(2))
        .filter_map(|(t, b)| {
            let dt = t[1] - t[0];
            (dt > 0.0).then(|| RateStep {
                start_s: t[0],
                end_s: t[1],
                bits_per_s: ((b[1] - b[0]) * 8.0 / dt).max(0.0),
            })
        })
        .collect()
}

/// The polyline that draws `steps` as horizontal segments joined by vertical ones.
pub fn step_polyline(steps: &[RateStep]) -> Vec<(f64, f64)> {
    steps
        .iter()
        .flat_map(|s| [(s.start_s, s.bits_per_s), (s.end_s, s.bits_per_s)])
        .collect()
}

/// Time of the latest usable sample of any node of the record.
pub fn last_sample_s(record: &RunRecord) -> Option<f64> {
    record
        .nodes
        .iter()
        .flat_map(|n| n.samples.iter().map(|s| s.t_s))
        .filter(|t| t.is_finite() && *t >= 0.0)
        .max_by(f64::total_cmp)
}

/// The record's origin node: the first node with the origin role.
pub fn origin(record: &RunRecord) -> Option<&NodeRecord> {
    record.nodes.iter().find(|n| n.role == NodeRole::Origin)
}

/// The origin's upload rate over the record's sampled time span; empty without samples.
pub fn origin_upload_rate(record: &RunRecord, steps: usize) -> Vec<RateStep> {
    let (Some(origin), Some(end_s)) = (origin(record), last_sample_s(record)) else {
        return Vec::new();
    };
    let grid = uniform_grid(end_s, steps);
    let bytes = resample(&counter_points(origin, Counter::Uploaded), &grid);
    rates(&grid, &bytes)
}

/// The whole swarm's download rate: every node's downloaded bytes resampled on one grid over
/// the record's sampled time span, summed, then differentiated. Empty without samples.
pub fn swarm_download_rate(record: &RunRecord, steps: usize) -> Vec<RateStep> {
    let Some(end_s) = last_sample_s(record) else {
        return Vec::new();
    };
    let grid = uniform_grid(end_s, steps);
    let mut total = vec![0.0; grid.len()];
    for node in &record.nodes {
        let bytes = resample(&counter_points(node, Counter::Downloaded), &grid);
        for (sum, b) in total.iter_mut().zip(bytes) {
            *sum += b;
        }
    }
    rates(&grid, &total)
}

/// The average download rate the swarm needs to meet the bound: every peer receives the
/// whole file within `bound_s`. `None` when the bound is not a positive time.
pub fn bound_average_rate_bps(record: &RunRecord) -> Option<f64> {
    let peers = record
        .nodes
        .iter()
        .filter(|n| n.role == NodeRole::Peer)
        .count();
    (record.bound_s.is_finite() && record.bound_s > 0.0)
        .then(|| peers as f64 * record.file_size as f64 * 8.0 / record.bound_s)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use swarm_engine::record::RecordSource;

    pub(crate) fn sample(t_s: f64, uploaded_bytes: u64, downloaded_bytes: u64) -> Sample {
        Sample {
            t_s,
            uploaded_bytes,
            downloaded_bytes,
        }
    }

    pub(crate) fn node(id: &str, role: NodeRole, completed_s: Option<f64>) -> NodeRecord {
        NodeRecord {
            id: id.to_string(),
            role,
            upload_bps: 1_000_000_000,
            download_bps: 1_000_000_000,
            joined_s: 0.0,
            completed_s,
            uploaded_bytes: 0,
            downloaded_bytes: 0,
            samples: Vec::new(),
        }
    }

    pub(crate) fn record(nodes: Vec<NodeRecord>) -> RunRecord {
        RunRecord {
            scenario: "test".to_string(),
            seed: 7,
            strategy: "bittorrent".to_string(),
            source: RecordSource::Sim,
            file_size: 1_000,
            piece_length: 100,
            bound_s: 10.0,
            makespan_s: None,
            origin_uploaded_bytes: 0,
            nodes,
            upload_fairness: None,
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn cdf_steps_through_each_completion_and_counts_unfinished_peers() {
        let nodes = vec![
            node("origin", NodeRole::Origin, Some(0.0)),
            node("peer-1", NodeRole::Peer, Some(20.0)),
            node("peer-2", NodeRole::Peer, None),
            node("peer-3", NodeRole::Peer, Some(10.0)),
            node("peer-4", NodeRole::Peer, Some(f64::NAN)),
        ];
        let cdf = completion_cdf(&nodes);
        assert_eq!(cdf.peers, 4);
        assert_eq!(cdf.finished, 2);
        assert_eq!(
            cdf.points,
            vec![
                (0.0, 0.0),
                (10.0, 0.0),
                (10.0, 0.25),
                (20.0, 0.25),
                (20.0, 0.5)
            ]
        );
    }

    #[test]
    fn cdf_of_no_peers_is_empty() {
        let cdf = completion_cdf(&[node("origin", NodeRole::Origin, None)]);
        assert!(cdf.points.is_empty());
        assert_eq!((cdf.peers, cdf.finished), (0, 0));
        assert!(completion_cdf(&[]).points.is_empty());
    }

    #[test]
    fn counter_points_start_at_zero_and_drop_bad_times() {
        let mut n = node("p", NodeRole::Peer, None);
        n.samples = vec![
            sample(2.0, 20, 0),
            sample(f64::NAN, 99, 0),
            sample(1.0, 10, 0),
            sample(-1.0, 99, 0),
        ];
        assert_eq!(
            counter_points(&n, Counter::Uploaded),
            vec![(0.0, 0.0), (1.0, 10.0), (2.0, 20.0)]
        );
        // A sample at t = 0 needs no implicit zero.
        n.samples = vec![sample(0.0, 0, 5)];
        assert_eq!(counter_points(&n, Counter::Downloaded), vec![(0.0, 5.0)]);
        n.samples.clear();
        assert!(counter_points(&n, Counter::Uploaded).is_empty());
    }

    #[test]
    fn counter_points_of_a_late_joiner_start_at_its_join() {
        let mut n = node("p", NodeRole::Peer, None);
        n.joined_s = 30.0;
        n.samples = vec![sample(40.0, 0, 1_000)];
        assert_eq!(
            counter_points(&n, Counter::Downloaded),
            vec![(30.0, 0.0), (40.0, 1_000.0)]
        );
        // A join time after the first sample cannot be right: fall back to the run's start.
        n.joined_s = 50.0;
        assert_eq!(counter_points(&n, Counter::Downloaded)[0], (0.0, 0.0));
    }

    #[test]
    fn grid_is_even_and_empty_for_bad_spans() {
        assert_eq!(uniform_grid(10.0, 4), vec![0.0, 2.5, 5.0, 7.5, 10.0]);
        assert!(uniform_grid(0.0, 4).is_empty());
        assert!(uniform_grid(f64::INFINITY, 4).is_empty());
        assert!(uniform_grid(10.0, 0).is_empty());
    }

    #[test]
    fn resample_interpolates_and_holds_at_the_ends() {
        let points = [(1.0, 10.0), (3.0, 30.0), (4.0, 30.0)];
        let grid = [0.0, 1.0, 2.0, 3.5, 4.0, 9.0];
        let values = resample(&points, &grid);
        assert_eq!(values, vec![10.0, 10.0, 20.0, 30.0, 30.0, 30.0]);
        assert_eq!(resample(&[], &grid), vec![0.0; 6]);
    }

    #[test]
    fn resample_handles_samples_at_the_same_time() {
        // A jump at t = 1: the later of the equal-time samples wins from then on.
        let points = [(0.0, 0.0), (1.0, 0.0), (1.0, 100.0), (2.0, 100.0)];
        assert_eq!(resample(&points, &[0.5, 1.0, 1.5]), vec![0.0, 100.0, 100.0]);
    }

    #[test]
    fn rate_of_a_linear_counter_is_constant() {
        // 125 MB/s = 1 Gbit/s, sampled every 2 s, read on a 1 s grid.
        let points: Vec<(f64, f64)> = (0..=5)
            .map(|i| (2.0 * i as f64, 250e6 * i as f64))
            .collect();
        let grid = uniform_grid(10.0, 10);
        let steps = rates(&grid, &resample(&points, &grid));
        assert_eq!(steps.len(), 10);
        for step in &steps {
            assert!(close(step.bits_per_s, 1e9), "{step:?}");
            assert!(close(step.end_s - step.start_s, 1.0));
        }
    }

    #[test]
    fn rate_is_zero_after_the_last_sample_and_never_negative() {
        let grid = [0.0, 1.0, 2.0, 3.0];
        let steps = rates(&grid, &[0.0, 100.0, 50.0, 50.0]);
        let bps: Vec<f64> = steps.iter().map(|s| s.bits_per_s).collect();
        assert_eq!(bps, vec![800.0, 0.0, 0.0]);
        assert!(rates(&[], &[]).is_empty());
        assert!(rates(&[1.0], &[5.0]).is_empty());
    }

    #[test]
    fn step_polyline_draws_flat_segments() {
        let steps = [
            RateStep {
                start_s: 0.0,
                end_s: 1.0,
                bits_per_s: 5.0,
            },
            RateStep {
                start_s: 1.0,
                end_s: 2.0,
                bits_per_s: 7.0,
            },
        ];
        assert_eq!(
            step_polyline(&steps),
            vec![(0.0, 5.0), (1.0, 5.0), (1.0, 7.0), (2.0, 7.0)]
        );
    }

    #[test]
    fn swarm_rate_sums_nodes_sampled_at_different_times() {
        // Peer A downloads 1000 bytes over [0, 10] s (sampled at 5 s and 10 s); peer B
        // downloads 500 bytes over [0, 5] s (sampled once, at 5 s) and then stops.
        let mut a = node("a", NodeRole::Peer, Some(10.0));
        a.samples = vec![sample(5.0, 0, 500), sample(10.0, 0, 1000)];
        let mut b = node("b", NodeRole::Peer, Some(5.0));
        b.samples = vec![sample(5.0, 0, 500)];
        let rec = record(vec![node("origin", NodeRole::Origin, None), a, b]);
        assert_eq!(last_sample_s(&rec), Some(10.0));
        let steps = swarm_download_rate(&rec, 2);
        assert_eq!(steps.len(), 2);
        assert!(close(steps[0].bits_per_s, (500.0 + 500.0) * 8.0 / 5.0));
        assert!(close(steps[1].bits_per_s, 500.0 * 8.0 / 5.0));
    }

    #[test]
    fn origin_rate_reads_the_origin_uploads() {
        let mut origin = node("origin", NodeRole::Origin, None);
        origin.samples = vec![
            sample(0.0, 0, 0),
            sample(2.0, 2_000, 0),
            sample(4.0, 2_000, 0),
        ];
        let rec = record(vec![origin, node("p", NodeRole::Peer, None)]);
        let bps: Vec<f64> = origin_upload_rate(&rec, 2)
            .iter()
            .map(|s| s.bits_per_s)
            .collect();
        assert_eq!(bps, vec![8_000.0, 0.0]);
    }

    #[test]
    fn rates_of_a_record_without_samples_or_origin_are_empty() {
        let rec = record(vec![node("p", NodeRole::Peer, None)]);
        assert!(origin_upload_rate(&rec, 10).is_empty());
        assert!(swarm_download_rate(&rec, 10).is_empty());
        assert!(swarm_download_rate(&record(Vec::new()), 10).is_empty());
    }

    #[test]
    fn bound_rate_is_all_peers_receiving_the_file_within_the_bound() {
        let mut rec = record(vec![
            node("origin", NodeRole::Origin, None),
            node("p1", NodeRole::Peer, None),
            node("p2", NodeRole::Peer, None),
        ]);
        // 2 peers × 1000 bytes × 8 / 10 s.
        assert_eq!(bound_average_rate_bps(&rec), Some(1_600.0));
        rec.bound_s = 0.0;
        assert_eq!(bound_average_rate_bps(&rec), None);
        rec.bound_s = f64::NAN;
        assert_eq!(bound_average_rate_bps(&rec), None);
    }
}
