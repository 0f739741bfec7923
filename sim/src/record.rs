//! What a strategy knows of each node at the end, and the run record built from it.

use swarm_engine::record::{NodeRecord, NodeRole, RecordSource, RunRecord, Sample, UploadFairness};
use swarm_engine::time::Time;

use crate::scenario::{Scenario, Strategy};

/// What a runtime knows of one node at the end.
#[derive(Debug, Clone)]
pub struct NodeOutcome {
    /// When it joined.
    pub joined: Option<Time>,
    /// When it completed.
    pub completed: Option<Time>,
    /// It crashed on purpose (a fault) before completing.
    pub crashed: bool,
    /// Payload bytes sent.
    pub uploaded_bytes: u64,
    /// Payload bytes received.
    pub downloaded_bytes: u64,
}

/// Builds the run record. The makespan counts every peer that was not crashed by a fault;
/// it is `None` if one of them never finished.
pub fn build_record(
    scenario: &Scenario,
    seed: u64,
    strategy: Strategy,
    outcomes: &[NodeOutcome],
    samples: Vec<Vec<Sample>>,
) -> RunRecord {
    let mut makespan: Option<f64> = Some(0.0);
    for o in &outcomes[1..] {
        match (o.completed, o.crashed) {
            (Some(t), _) => makespan = makespan.map(|m| m.max(t.as_secs_f64())),
            (None, true) => {}
            (None, false) => makespan = None,
        }
    }
    let nodes = scenario
        .nodes
        .iter()
        .zip(outcomes)
        .zip(samples)
        .enumerate()
        .map(|(i, ((spec, o), samples))| NodeRecord {
            id: spec.id.clone(),
            role: if i == 0 {
                NodeRole::Origin
            } else {
                NodeRole::Peer
            },
            upload_bps: spec.upload_bps,
            download_bps: spec.download_bps,
            joined_s: o.joined.map_or(0.0, Time::as_secs_f64),
            completed_s: if i == 0 {
                Some(0.0)
            } else {
                o.completed.map(Time::as_secs_f64)
            },
            uploaded_bytes: o.uploaded_bytes,
            downloaded_bytes: o.downloaded_bytes,
            samples,
        })
        .collect::<Vec<_>>();
    RunRecord {
        scenario: scenario.name.clone(),
        seed,
        strategy: strategy.name().to_string(),
        source: RecordSource::Sim,
        file_size: scenario.file_size_bytes,
        piece_length: u64::from(scenario.piece_size_bytes),
        bound_s: scenario.bound_s(),
        makespan_s: makespan,
        origin_uploaded_bytes: outcomes[0].uploaded_bytes,
        upload_fairness: UploadFairness::of_nodes(&nodes, scenario.file_size_bytes),
        nodes,
    }
}
