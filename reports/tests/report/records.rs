//! Synthetic run records shared by the tests.

use swarm_engine::record::{NodeRecord, NodeRole, RecordSource, RunRecord, Sample, UploadFairness};

pub const FILE_SIZE: u64 = 1_000_000_000;
const GBPS: u64 = 1_000_000_000;

/// A node whose counters grow linearly from `start_s` to `end_s`, sampled every second.
fn node(id: &str, role: NodeRole, up_bytes: u64, down_bytes: u64, end_s: f64) -> NodeRecord {
    let samples = (0..=end_s.ceil() as u64)
        .map(|t| {
            let f = (t as f64 / end_s).min(1.0);
            Sample {
                t_s: t as f64,
                uploaded_bytes: (up_bytes as f64 * f) as u64,
                downloaded_bytes: (down_bytes as f64 * f) as u64,
            }
        })
        .collect();
    NodeRecord {
        id: id.to_string(),
        role,
        upload_bps: GBPS,
        download_bps: GBPS,
        joined_s: 0.0,
        completed_s: (role == NodeRole::Peer && down_bytes >= FILE_SIZE).then_some(end_s),
        uploaded_bytes: up_bytes,
        downloaded_bytes: down_bytes,
        samples,
    }
}

fn run(strategy: &str, nodes: Vec<NodeRecord>) -> RunRecord {
    let makespan_s = nodes
        .iter()
        .filter(|n| n.role == NodeRole::Peer)
        .map(|n| n.completed_s)
        .try_fold(0.0_f64, |max, t| t.map(|t| max.max(t)));
    RunRecord {
        scenario: "four-peers".to_string(),
        seed: 1,
        strategy: strategy.to_string(),
        source: RecordSource::Sim,
        file_size: FILE_SIZE,
        piece_length: 4 << 20,
        bound_s: 8.0,
        makespan_s,
        origin_uploaded_bytes: nodes[0].uploaded_bytes,
        upload_fairness: UploadFairness::of_nodes(&nodes, FILE_SIZE),
        nodes,
    }
}

/// Four peers pulling from the origin at once: 32 s, the origin uploads 4 copies.
pub fn naive() -> RunRecord {
    let mut nodes = vec![node("origin", NodeRole::Origin, 4 * FILE_SIZE, 0, 32.0)];
    for i in 1..=4 {
        nodes.push(node(
            &format!("peer-{i:02}"),
            NodeRole::Peer,
            0,
            FILE_SIZE,
            32.0,
        ));
    }
    run("naive", nodes)
}

/// Four peers sharing: about 10 s, the origin uploads 1.2 copies; peer-04 never finishes.
pub fn bittorrent() -> RunRecord {
    let mut nodes = vec![node("origin", NodeRole::Origin, FILE_SIZE * 6 / 5, 0, 10.0)];
    for i in 1..=3 {
        let end_s = 9.0 + i as f64 * 0.5;
        nodes.push(node(
            &format!("peer-{i:02}"),
            NodeRole::Peer,
            FILE_SIZE,
            FILE_SIZE,
            end_s,
        ));
    }
    nodes.push(node(
        "peer-04",
        NodeRole::Peer,
        FILE_SIZE / 2,
        FILE_SIZE / 3,
        11.0,
    ));
    run("bittorrent", nodes)
}
