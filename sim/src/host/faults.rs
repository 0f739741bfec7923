//! The scenario's faults, put on the host's timeline before the run starts.

use std::time::Duration;

use swarm_engine::time::Time;

use super::{Host, Kind};
use crate::scenario::Fault;

impl Host<'_> {
    /// Schedules every fault of the scenario: crashes and restarts as events, corrupt peers
    /// as a flag on their slot, tracker outages as windows of the tracker, degraded links
    /// as rate changes (and their repair).
    pub(super) fn schedule_faults(&mut self) {
        for fault in &self.scenario.faults {
            let at = |d: &Duration| Time::ZERO + *d;
            match fault {
                Fault::PeerCrash { node, at: t } => {
                    let i = self.scenario.node_index(node).expect("validated");
                    self.push(at(t), Kind::Crash(i));
                }
                Fault::CorruptPeer { node } => {
                    let i = self.scenario.node_index(node).expect("validated");
                    self.slots[i].corrupt = true;
                }
                Fault::OriginRestart { at: t, downtime } => {
                    self.push(at(t), Kind::Crash(0));
                    self.push(at(t) + *downtime, Kind::OriginUp);
                }
                Fault::TrackerOutage { at: t, duration } => {
                    self.tracker.add_outage(at(t), at(t) + *duration);
                }
                Fault::LinkDegraded {
                    node,
                    at: t,
                    duration,
                    upload_bps,
                    download_bps,
                } => {
                    let i = self.scenario.node_index(node).expect("validated");
                    self.push(at(t), Kind::SetRates(i, *upload_bps, *download_bps));
                    if let Some(d) = duration {
                        let spec = &self.scenario.nodes[i];
                        self.push(
                            at(t) + *d,
                            Kind::SetRates(i, spec.upload_bps, spec.download_bps),
                        );
                    }
                }
            }
        }
    }
}
