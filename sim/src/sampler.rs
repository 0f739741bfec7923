//! Cumulative byte counters of every node at a fixed simulated interval that doubles when
//! the series grow long, so a record stays small however long the run.

use std::time::Duration;

use swarm_engine::record::Sample;
use swarm_engine::time::Time;

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

#[cfg(test)]
mod tests {
    use super::*;

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
