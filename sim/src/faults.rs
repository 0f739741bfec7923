//! The scenario's timed faults as one timeline every strategy schedules from: crashes, the
//! origin going down and coming back, link rates changing (and their repair). Faults that
//! are not events (a corrupt peer, a tracker outage window) stay with the strategy that
//! models them.

use swarm_engine::time::Time;

use crate::scenario::{Fault, Scenario};

/// A fault at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FaultEvent {
    /// A peer's process dies for good.
    PeerCrash(usize),
    /// The origin dies.
    OriginDown,
    /// The origin is back.
    OriginUp,
    /// A node's link runs at `(upload_bps, download_bps)` from now on.
    SetRates(usize, u64, u64),
}

/// Every timed fault of `scenario` with its time, in scenario order (a fault with a
/// duration gives its start, then its end).
pub(crate) fn timed_faults(scenario: &Scenario) -> Vec<(Time, FaultEvent)> {
    let mut out = Vec::new();
    for fault in &scenario.faults {
        let at = |d: &std::time::Duration| Time::ZERO + *d;
        match fault {
            Fault::PeerCrash { node, at: t } => {
                out.push((at(t), FaultEvent::PeerCrash(index(scenario, node))));
            }
            Fault::OriginRestart { at: t, downtime } => {
                out.push((at(t), FaultEvent::OriginDown));
                out.push((at(t) + *downtime, FaultEvent::OriginUp));
            }
            Fault::LinkDegraded {
                node,
                at: t,
                duration,
                upload_bps,
                download_bps,
            } => {
                let i = index(scenario, node);
                out.push((at(t), FaultEvent::SetRates(i, *upload_bps, *download_bps)));
                if let Some(d) = duration {
                    let spec = &scenario.nodes[i];
                    let repair = FaultEvent::SetRates(i, spec.upload_bps, spec.download_bps);
                    out.push((at(t) + *d, repair));
                }
            }
            Fault::CorruptPeer { .. } | Fault::TrackerOutage { .. } => {}
        }
    }
    out
}

fn index(scenario: &Scenario, node: &str) -> usize {
    scenario
        .node_index(node)
        .expect("a validated scenario's faults name its nodes")
}
