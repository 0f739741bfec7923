//! Event traces, for finding where two runs of one scenario and seed part ways.
//!
//! Every `bittorrent` run folds its event stream (time, kind, node of each event) into a
//! digest and keeps a checkpoint of it every [`CHECKPOINT_EVENTS`] events: a few
//! nanoseconds an event, a few kilobytes a run. When two runs that should be identical are
//! not, the first differing checkpoint names the block of events where they part; running
//! both again while describing that block names the first event that differs, with its
//! time and node. [`crate::first_divergence`] does all of this.

use std::ops::RangeInclusive;

use swarm_engine::time::Time;

/// Events between two checkpoints of the digest.
pub const CHECKPOINT_EVENTS: u64 = 1 << 16;

/// The digest of a run's events, and optionally the description of some of them.
#[derive(Debug, Clone, Default)]
pub struct Trace {
    digest: u64,
    checkpoints: Vec<u64>,
    describe: Option<RangeInclusive<u64>>,
    described: Vec<String>,
}

impl Trace {
    /// A trace that also describes the events numbered in `events` (from 1).
    pub fn describing(events: RangeInclusive<u64>) -> Self {
        Trace {
            describe: Some(events),
            ..Trace::default()
        }
    }

    /// Whether event `n` is to be described.
    pub fn wants(&self, n: u64) -> bool {
        self.describe.as_ref().is_some_and(|r| r.contains(&n))
    }

    /// Folds event `n` into the digest: its time, a code for its kind, and its node and
    /// connection (`0` where there is none). `description` is kept when [`Trace::wants`] it.
    pub fn event(
        &mut self,
        n: u64,
        time: Time,
        kind: u64,
        node: u64,
        conn: u64,
        description: Option<String>,
    ) {
        for word in [time.as_nanos(), kind, node, conn] {
            // FNV-1a over 64-bit words, then a final mix: cheap, and order-sensitive.
            self.digest = (self.digest ^ word).wrapping_mul(0x0000_0100_0000_01b3);
        }
        if n.is_multiple_of(CHECKPOINT_EVENTS) {
            self.checkpoints.push(self.digest ^ (self.digest >> 29));
        }
        if let Some(text) = description {
            self.described
                .push(format!("event {n} at {time:?}: {text}"));
        }
    }

    /// The digest at every checkpoint so far.
    pub fn checkpoints(&self) -> &[u64] {
        &self.checkpoints
    }

    /// The described events, in order.
    pub fn described(&self) -> &[String] {
        &self.described
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_see_order_and_describe_only_the_window() {
        let mut a = Trace::describing(2..=3);
        let mut b = Trace::default();
        for n in 1..=CHECKPOINT_EVENTS {
            let t = Time::from_nanos(n);
            let description = a.wants(n).then(|| format!("e{n}"));
            a.event(n, t, 1, n % 3, 0, description);
            b.event(n, t, 1, n % 3, 0, None);
        }
        assert_eq!(a.checkpoints(), b.checkpoints());
        assert_eq!(a.checkpoints().len(), 1);
        assert_eq!(a.described().len(), 2);
        let mut c = Trace::default();
        for n in 1..=CHECKPOINT_EVENTS {
            // Two events swapped: a different digest.
            let node = match n {
                5 => 6 % 3,
                6 => 5 % 3,
                _ => n % 3,
            };
            c.event(n, Time::from_nanos(n), 1, node, 0, None);
        }
        assert_ne!(c.checkpoints(), b.checkpoints());
    }
}
