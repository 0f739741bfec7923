//! The scenario's faults, put on the host's timeline before the run starts.

use swarm_engine::time::Time;

use super::{Host, HostEvent};
use crate::faults::{timed_faults, FaultEvent};
use crate::scenario::Fault;

impl Host<'_> {
    /// Schedules every fault of the scenario: crashes and restarts as events, corrupt peers
    /// as a flag on their slot, tracker outages as windows of the tracker, degraded links
    /// as rate changes (and their repair).
    pub(super) fn schedule_faults(&mut self) {
        for (at, fault) in timed_faults(self.scenario) {
            let event = match fault {
                FaultEvent::PeerCrash(i) => HostEvent::Crash(i),
                FaultEvent::OriginDown => HostEvent::Crash(0),
                FaultEvent::OriginUp => HostEvent::OriginUp,
                FaultEvent::SetRates(i, up, down) => HostEvent::SetRates(i, up, down),
            };
            self.push(at, event);
        }
        for fault in &self.scenario.faults {
            match fault {
                Fault::CorruptPeer { node } => {
                    let i = self.scenario.node_index(node).expect("validated");
                    self.slots[i].corrupt = true;
                }
                Fault::TrackerOutage { at, duration } => {
                    let from = Time::ZERO + *at;
                    self.tracker.add_outage(from, from + *duration);
                }
                _ => {}
            }
        }
    }
}
