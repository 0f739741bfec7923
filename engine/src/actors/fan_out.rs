//! How many peers to serve at once: the fewest that keep the uplink busy.
//!
//! A peer can pass a piece on only once it holds all of it, so a piece that an uploader
//! sends to `k` peers at once reaches each of them after `k` piece-times: the fewer peers
//! served at a time, the sooner pieces spread. But one peer may not take a full uplink (its
//! downlink is shared with other senders), and then a small `k` leaves the uplink idle.
//!
//! So the fan-out adapts, like a congestion window with the roles turned around: one more
//! peer each time the uplink runs low while peers wait (the runtime says so when asked,
//! [`Command::WatchUplink`]), one fewer each time a turn ends. It settles where the uplink
//! runs low about once per turn: one or two peers while few peers hold what others want (the
//! start, the last pieces), more in the middle of a run, when every downlink is shared.
//! (Keeping the fan-out when the uplink ran low during the turn measured worse: 1.256 against
//! 1.240 × the bound on 96 peers.)
//!
//! [`Command::WatchUplink`]: crate::node::io::Command::WatchUplink

/// The adaptive number of upload slots.
#[derive(Debug, Clone)]
pub(crate) struct FanOut {
    slots: usize,
    /// A `WatchUplink` is outstanding.
    watching: bool,
}

impl Default for FanOut {
    fn default() -> Self {
        FanOut {
            slots: 1,
            watching: false,
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

    /// The uplink ran low: serve one more peer if one waits.
    pub fn uplink_idle(&mut self, peers_waiting: bool, max: usize) {
        self.watching = false;
        if peers_waiting && self.slots < max {
            self.slots += 1;
        }
    }

    /// A turn ended and its peer queues again: serve one fewer.
    pub fn turn_ended(&mut self) {
        self.slots = self.slots.saturating_sub(1).max(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_when_the_uplink_runs_low_and_shrinks_when_a_turn_ends() {
        let mut fan_out = FanOut::default();
        assert_eq!(fan_out.slots(8), 1);
        assert!(
            !fan_out.should_watch(false),
            "nobody waits: nothing to grow for"
        );
        assert!(fan_out.should_watch(true));
        assert!(!fan_out.should_watch(true), "one watch at a time");
        fan_out.uplink_idle(true, 8);
        fan_out.uplink_idle(true, 8);
        assert_eq!(fan_out.slots(8), 3);
        fan_out.turn_ended();
        assert_eq!(fan_out.slots(8), 2);
        fan_out.turn_ended();
        fan_out.turn_ended();
        assert_eq!(fan_out.slots(8), 1, "never below one");
        for _ in 0..10 {
            fan_out.uplink_idle(true, 4);
        }
        assert_eq!(fan_out.slots(4), 4, "never past the maximum");
        fan_out.uplink_idle(false, 8);
        assert_eq!(fan_out.slots(8), 4, "nobody waits: no growth");
    }
}
