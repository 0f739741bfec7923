//! How many peers to serve at once: the fewest that keep the uplink busy.
//!
//! A peer can pass a piece on only once it holds all of it, so a piece that an uploader
//! sends to `k` peers at once reaches each of them after `k` piece-times: the fewer peers
//! served at a time, the sooner pieces spread. But one peer may not take a full uplink (its
//! downlink is shared with other senders), and then a small `k` leaves the uplink idle.
//!
//! So the fan-out adapts. It starts at one. The node asks its runtime to say when the uplink
//! runs out of work ([`Command::WatchUplink`]); each time it does while peers wait, one more
//! peer is served. Each time a turn ends without the uplink having run dry since the last
//! turn ended, one fewer is. The fan-out hovers at the smallest that keeps the uplink busy:
//! one or two while few peers hold what others want (the start, the last pieces), more in
//! the middle of a run, when every downlink is shared.
//!
//! [`Command::WatchUplink`]: crate::node::io::Command::WatchUplink

const SHRINK_AFTER_ROUNDS: usize = 0;
const MIN_SLOTS: usize = 1;

/// The adaptive number of upload slots.
#[derive(Debug, Clone)]
pub(crate) struct FanOut {
    slots: usize,
    /// A `WatchUplink` is outstanding.
    watching: bool,
    /// Turns ended in a row without the uplink running dry.
    busy_turns: usize,
}

impl Default for FanOut {
    fn default() -> Self {
        FanOut {
            slots: MIN_SLOTS,
            watching: false,
            busy_turns: 0,
        }
    }
}

impl FanOut {
    /// Peers to serve at once now, at most `max`.
    pub fn slots(&self, max: usize) -> usize {
        self.slots.min(max.max(1))
    }

    /// Whether to ask the runtime to watch the uplink now: peers wait, and no watch is out.
    pub fn should_watch(&mut self, peers_waiting: bool) -> bool {
        if peers_waiting && !self.watching {
            self.watching = true;
            return true;
        }
        false
    }

    /// The uplink ran dry: serve one more peer if one waits.
    pub fn uplink_idle(&mut self, peers_waiting: bool, max: usize) {
        self.watching = false;
        self.busy_turns = 0;
        if peers_waiting && self.slots < max {
            self.slots += 1;
        }
    }

    /// A turn ended and its peer queues again: serve one fewer if the uplink stayed busy.
    pub fn turn_ended(&mut self) {
        self.busy_turns += 1;
        if self.busy_turns > self.slots * SHRINK_AFTER_ROUNDS && self.slots > MIN_SLOTS {
            self.slots -= 1;
            self.busy_turns = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_while_the_uplink_runs_dry_and_shrinks_while_it_stays_busy() {
        let mut fan_out = FanOut::default();
        assert_eq!(fan_out.slots(8), 1);
        assert!(!fan_out.should_watch(false), "nobody waits: nothing to grow for");
        assert!(fan_out.should_watch(true));
        assert!(!fan_out.should_watch(true), "one watch at a time");
        fan_out.uplink_idle(true, 8);
        fan_out.uplink_idle(true, 8);
        assert_eq!(fan_out.slots(8), 3);
        fan_out.turn_ended(); // the uplink ran dry during this turn: keep
        assert_eq!(fan_out.slots(8), 3);
        fan_out.turn_ended(); // busy throughout: one fewer
        assert_eq!(fan_out.slots(8), 2);
        for _ in 0..10 {
            fan_out.uplink_idle(true, 4);
        }
        assert_eq!(fan_out.slots(4), 4, "never past the maximum");
        fan_out.uplink_idle(false, 8);
        assert_eq!(fan_out.slots(8), 4, "nobody waits: no growth");
    }
}
