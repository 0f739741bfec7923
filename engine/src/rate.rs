//! Transfer rate estimation over a sliding window, driven by the context's clock.
//!
//! Bytes are added into one-second bins; the rate is the sum of the bins in the window
//! divided by the time the window covers (shorter at the start, so a new connection's
//! rate is not diluted by seconds it did not exist).

use std::time::Duration;

use crate::time::Time;

const BIN_NANOS: u64 = 1_000_000_000;
const BINS: usize = 5;

/// Bytes per second over the last few seconds, plus a running total.
#[derive(Debug, Clone)]
pub struct RateEstimator {
    started: Time,
    bins: [u64; BINS],
    current_bin: u64,
    total_bytes: u64,
}

impl RateEstimator {
    /// A new estimator whose window starts at `now`.
    pub fn new(now: Time) -> Self {
        RateEstimator {
            started: now,
            bins: [0; BINS],
            current_bin: now.as_nanos() / BIN_NANOS,
            total_bytes: 0,
        }
    }

    /// Counts `bytes` transferred at `now`.
    pub fn add(&mut self, now: Time, bytes: u64) {
        self.advance(now);
        self.bins[(self.current_bin % BINS as u64) as usize] += bytes;
        self.total_bytes += bytes;
    }

    /// Bytes per second over the window ending at `now`.
    pub fn bytes_per_s(&mut self, now: Time) -> f64 {
        self.advance(now);
        let window_start = (self.current_bin + 1).saturating_sub(BINS as u64) * BIN_NANOS;
        let covered_from = window_start.max(self.started.as_nanos());
        let covered = Duration::from_nanos(now.as_nanos().saturating_sub(covered_from))
            .as_secs_f64()
            .max(0.05);
        self.bins.iter().sum::<u64>() as f64 / covered
    }

    /// All bytes ever counted.
    pub fn total_bytes(&self) -> u64 {
        self.total_bytes
    }

    fn advance(&mut self, now: Time) {
        let bin = now.as_nanos() / BIN_NANOS;
        if bin <= self.current_bin {
            return;
        }
        let stale = (bin - self.current_bin).min(BINS as u64);
        for step in 1..=stale {
            self.bins[((self.current_bin + step) % BINS as u64) as usize] = 0;
        }
        self.current_bin = bin;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: f64) -> Time {
        Time::from_nanos((secs * 1e9) as u64)
    }

    #[test]
    fn steady_rate_is_measured() {
        let mut rate = RateEstimator::new(at(0.0));
        for tenth in 0..100 {
            rate.add(at(tenth as f64 / 10.0), 100_000);
        }
        let measured = rate.bytes_per_s(at(10.0));
        assert!((measured - 1_000_000.0).abs() < 100_000.0, "{measured}");
    }

    #[test]
    fn rate_decays_to_zero_when_idle() {
        let mut rate = RateEstimator::new(at(0.0));
        rate.add(at(0.5), 1_000_000);
        assert!(rate.bytes_per_s(at(1.0)) > 0.0);
        assert_eq!(rate.bytes_per_s(at(20.0)), 0.0);
        assert_eq!(rate.total_bytes(), 1_000_000);
    }
}
