//! The node's timers as one table of deadlines (quinn's `TimerTable`): the runtime asks
//! for the earliest and calls back when it passes; there are no callbacks to cancel.

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
    /// Choker (rotation): served peers that asked for nothing lately give their slots up.
    TurnCheck,
}

impl TimerKey {
    /// Every key, in the order expired timers are returned.
    const ALL: [TimerKey; 6] = [
        TimerKey::Rechoke,
        TimerKey::OptimisticUnchoke,
        TimerKey::Announce,
        TimerKey::Tick,
        TimerKey::UploadBudget,
        TimerKey::TurnCheck,
    ];
}

/// Deadlines keyed by timer; at most one deadline per key. A fixed array, and the earliest
/// deadline kept beside it: the runtime asks for the earliest deadline after every input,
/// so this must cost next to nothing, while timers are set far less often.
#[derive(Debug, Clone, Default)]
pub struct TimerTable {
    deadlines: [Option<Time>; TimerKey::ALL.len()],
    earliest: Option<Time>,
}

impl TimerTable {
    /// Arms (or re-arms) a timer.
    pub fn set(&mut self, key: TimerKey, at: Time) {
        self.deadlines[key as usize] = Some(at);
        self.earliest = self.deadlines.iter().flatten().min().copied();
    }

    /// Whether a timer is armed.
    pub fn is_set(&self, key: TimerKey) -> bool {
        self.deadlines[key as usize].is_some()
    }

    /// The earliest deadline.
    pub fn next_deadline(&self) -> Option<Time> {
        self.earliest
    }

    /// Removes and returns the first timer (in key order, so deterministically) that is due
    /// at `now`; call until `None`. Allocates nothing.
    pub fn pop_expired(&mut self, now: Time) -> Option<TimerKey> {
        let key = TimerKey::ALL
            .into_iter()
            .find(|&key| self.deadlines[key as usize].is_some_and(|at| at <= now))?;
        self.deadlines[key as usize] = None;
        self.earliest = self.deadlines.iter().flatten().min().copied();
        Some(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn earliest_deadline_and_expiry_in_key_order() {
        let mut timers = TimerTable::default();
        assert_eq!(timers.next_deadline(), None);
        timers.set(TimerKey::Tick, Time::from_nanos(30));
        timers.set(TimerKey::Rechoke, Time::from_nanos(20));
        timers.set(TimerKey::Announce, Time::from_nanos(50));
        timers.set(TimerKey::Tick, Time::from_nanos(10)); // re-armed earlier
        assert_eq!(timers.next_deadline(), Some(Time::from_nanos(10)));
        assert!(timers.is_set(TimerKey::Tick));
        let now = Time::from_nanos(25);
        assert_eq!(timers.pop_expired(now), Some(TimerKey::Rechoke));
        assert_eq!(timers.pop_expired(now), Some(TimerKey::Tick));
        assert_eq!(timers.pop_expired(now), None);
        assert!(!timers.is_set(TimerKey::Tick));
        assert_eq!(timers.next_deadline(), Some(Time::from_nanos(50)));
        timers.set(TimerKey::Announce, Time::from_nanos(70)); // re-armed later
        assert_eq!(timers.next_deadline(), Some(Time::from_nanos(70)));
        assert_eq!(
            timers.pop_expired(Time::from_nanos(70)),
            Some(TimerKey::Announce)
        );
        assert_eq!(timers.next_deadline(), None);
    }
}
