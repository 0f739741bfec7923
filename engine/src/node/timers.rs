//! The node's timers as one table of deadlines (quinn's `TimerTable`): the runtime asks
//! for the earliest and calls back when it passes; there are no callbacks to cancel.

use std::collections::BTreeMap;

use crate::time::Time;

/// Every timer a node can have armed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TimerKey {
    /// Choker: re-rank peers.
    Rechoke,
    /// Choker: rotate the optimistic unchoke.
    OptimisticUnchoke,
    /// Torrent: next announce (or announce retry).
    Announce,
    /// Housekeeping: request timeouts, snubbing, keep-alives, new connections.
    Tick,
    /// Upload cap: serving may resume.
    UploadBudget,
}

/// Deadlines keyed by timer; at most one deadline per key.
#[derive(Debug, Clone, Default)]
pub struct TimerTable {
    deadlines: BTreeMap<TimerKey, Time>,
}

impl TimerTable {
    /// Arms (or re-arms) a timer.
    pub fn set(&mut self, key: TimerKey, at: Time) {
        self.deadlines.insert(key, at);
    }

    /// Disarms a timer.
    pub fn cancel(&mut self, key: TimerKey) {
        self.deadlines.remove(&key);
    }

    /// Whether a timer is armed.
    pub fn is_set(&self, key: TimerKey) -> bool {
        self.deadlines.contains_key(&key)
    }

    /// The earliest deadline.
    pub fn next_deadline(&self) -> Option<Time> {
        self.deadlines.values().min().copied()
    }

    /// Removes and returns the first timer (in key order, so deterministically) that is due
    /// at `now`; call until `None`. Allocates nothing.
    pub fn pop_expired(&mut self, now: Time) -> Option<TimerKey> {
        let key = self
            .deadlines
            .iter()
            .find(|(_, &at)| at <= now)
            .map(|(&key, _)| key)?;
        self.deadlines.remove(&key);
        Some(key)
    }
}
