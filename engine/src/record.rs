//! The run record: one JSON format written by `swarm sim`, by `swarm demo` and by real
//! runs on namespaced networks, and read by `swarm report`.
//!
//! Everything here is plain data. Field names carry their units (`_s`, `_bps`, `_bytes`).
//! Node order is the order the runtime created nodes in (origin first), never a hash order,
//! so that the same run always serializes to the same bytes.

use serde::{Deserialize, Serialize};

/// Where a record came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RecordSource {
    /// Predicted by the discrete-event simulator.
    Sim,
    /// Measured on real sockets (loopback demo or namespaced hosts).
    Real,
}

/// What a node was in the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NodeRole {
    /// The server that holds the file at the start.
    Origin,
    /// A server that downloads the file.
    Peer,
}

/// One point of a node's cumulative byte counters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// Time since the start of the run.
    pub t_s: f64,
    /// Payload bytes this node has sent so far.
    pub uploaded_bytes: u64,
    /// Payload bytes this node has received so far.
    pub downloaded_bytes: u64,
}

/// One node's figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeRecord {
    /// Stable name, e.g. `origin`, `peer-07`.
    pub id: String,
    /// Origin or peer.
    pub role: NodeRole,
    /// Nominal uplink capacity; 0 when not known (an unshaped loopback demo).
    pub upload_bps: u64,
    /// Nominal downlink capacity; 0 when not known.
    pub download_bps: u64,
    /// When the node joined the swarm.
    #[serde(default)]
    pub joined_s: f64,
    /// When the node held every verified piece; `None` if it never finished.
    pub completed_s: Option<f64>,
    /// Payload bytes sent in total.
    pub uploaded_bytes: u64,
    /// Payload bytes received in total (including data later discarded as corrupt).
    pub downloaded_bytes: u64,
    /// Cumulative counters over time, in increasing `t_s`.
    #[serde(default)]
    pub samples: Vec<Sample>,
}

/// A whole run: the scenario, the bound it is held against, and every node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// Scenario name (file stem) or a short description.
    pub scenario: String,
    /// Root seed of the run (0 for real runs that used no seed).
    pub seed: u64,
    /// `bittorrent`, `naive` or `queued`.
    pub strategy: String,
    /// Predicted or measured.
    pub source: RecordSource,
    /// Size of the file in bytes.
    pub file_size: u64,
    /// Piece length in bytes.
    pub piece_length: u64,
    /// The fluid bound `T_min` of DESIGN.md for this scenario, in seconds; 0 when the link
    /// rates are not known.
    pub bound_s: f64,
    /// Time at which the last peer finished; `None` if some peer never finished.
    pub makespan_s: Option<f64>,
    /// Payload bytes the origin uploaded in total.
    pub origin_uploaded_bytes: u64,
    /// Every node, origin first.
    pub nodes: Vec<NodeRecord>,
    /// How evenly the peers shared the upload; `None` without peers or file size (and in
    /// records written before it existed).
    #[serde(default)]
    pub upload_fairness: Option<UploadFairness>,
}

/// How evenly the peers shared the upload: the smallest and largest peer upload in copies
/// of the file, and Jain's fairness index over the peer uploads, `(Σx)² / (n·Σx²)`: 1 when
/// every peer uploaded the same, `1/n` when one peer uploaded everything.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct UploadFairness {
    /// The smallest upload of a peer, in copies of the file.
    pub min_peer_copies: f64,
    /// The largest upload of a peer, in copies of the file.
    pub max_peer_copies: f64,
    /// Jain's index over peer uploads; `None` when no peer uploaded anything.
    pub jain_index: Option<f64>,
}

/// `0.93 to 1.10 copies, Jain's index 0.998`.
impl std::fmt::Display for UploadFairness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:.2} to {:.2} copies, Jain's index ",
            self.min_peer_copies, self.max_peer_copies
        )?;
        match self.jain_index {
            Some(j) => write!(f, "{j:.3}"),
            None => write!(f, "n/a"),
        }
    }
}

impl UploadFairness {
    /// The fairness of the peers among `nodes`; `None` without peers or when `file_size`
    /// is 0.
    pub fn of_nodes(nodes: &[NodeRecord], file_size: u64) -> Option<Self> {
        let uploads: Vec<f64> = nodes
            .iter()
            .filter(|n| n.role == NodeRole::Peer)
            .map(|n| n.uploaded_bytes as f64 / file_size as f64)
            .collect();
        if uploads.is_empty() || file_size == 0 {
            return None;
        }
        let sum: f64 = uploads.iter().sum();
        let sum_sq: f64 = uploads.iter().map(|x| x * x).sum();
        // Nine decimals: short enough that JSON reads back exactly what was written.
        let round = |x: f64| (x * 1e9).round() / 1e9;
        Some(UploadFairness {
            min_peer_copies: round(uploads.iter().copied().fold(f64::INFINITY, f64::min)),
            max_peer_copies: round(uploads.iter().copied().fold(0.0, f64::max)),
            jain_index: (sum_sq > 0.0).then(|| round(sum * sum / (uploads.len() as f64 * sum_sq))),
        })
    }
}

impl RunRecord {
    /// Origin upload as a multiple of the file size.
    pub fn origin_copies(&self) -> f64 {
        if self.file_size == 0 {
            return 0.0;
        }
        self.origin_uploaded_bytes as f64 / self.file_size as f64
    }

    /// `makespan / bound`, when the run finished and the bound is positive.
    pub fn makespan_over_bound(&self) -> Option<f64> {
        let makespan = self.makespan_s?;
        (self.bound_s > 0.0).then(|| makespan / self.bound_s)
    }

    /// A lower bound that also counts join times: a peer cannot finish before it joined
    /// plus one copy of the file at its download rate. It equals `bound_s` when every peer
    /// joins at once, and is the fair yardstick for staggered joins (churn), where the
    /// fluid bound ignores that the last peer only arrives late. Peers that never finished
    /// are left out, as they are from the makespan, and so are peers whose download rate
    /// is not known (0).
    pub fn join_bound_s(&self) -> f64 {
        let bits = self.file_size as f64 * 8.0;
        self.nodes
            .iter()
            .filter(|n| n.role == NodeRole::Peer && n.completed_s.is_some() && n.download_bps > 0)
            .map(|n| n.joined_s + bits / n.download_bps.max(1) as f64)
            .fold(self.bound_s, f64::max)
    }

    /// `makespan / join_bound`, when the run finished and the bound is positive.
    pub fn makespan_over_join_bound(&self) -> Option<f64> {
        let makespan = self.makespan_s?;
        let bound = self.join_bound_s();
        (bound > 0.0).then(|| makespan / bound)
    }

    /// Serializes with a trailing newline; the same record always gives the same bytes.
    pub fn to_json_pretty(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("a run record always serializes");
        text.push('\n');
        text
    }
}

/// The fluid lower bound on completion time (DESIGN.md): no schedule can beat
/// `max(F/u_s, F/min(d_i), N·F/(u_s + Σu_i))`. Rates are in bits per second.
pub fn fluid_bound_s(file_size_bytes: u64, origin_upload_bps: u64, peers: &[(u64, u64)]) -> f64 {
    let bits = file_size_bytes as f64 * 8.0;
    if peers.is_empty() {
        return 0.0;
    }
    let origin_term = bits / origin_upload_bps.max(1) as f64;
    let min_down = peers
        .iter()
        .map(|&(_, down)| down)
        .min()
        .unwrap_or(1)
        .max(1);
    let download_term = bits / min_down as f64;
    let total_up: u64 = origin_upload_bps + peers.iter().map(|&(up, _)| up).sum::<u64>();
    let swarm_term = peers.len() as f64 * bits / total_up.max(1) as f64;
    origin_term.max(download_term).max(swarm_term)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(joined_s: f64, completed_s: Option<f64>) -> NodeRecord {
        NodeRecord {
            id: "p".into(),
            role: NodeRole::Peer,
            upload_bps: 1_000_000_000,
            download_bps: 1_000_000_000,
            joined_s,
            completed_s,
            uploaded_bytes: 0,
            downloaded_bytes: 0,
            samples: Vec::new(),
        }
    }

    #[test]
    fn join_bound_counts_the_last_finisher_arrival() {
        let mut record = RunRecord {
            scenario: "s".into(),
            seed: 1,
            strategy: "bittorrent".into(),
            source: RecordSource::Sim,
            file_size: 1_000_000_000,
            piece_length: 1 << 22,
            bound_s: 8.0,
            makespan_s: Some(130.0),
            origin_uploaded_bytes: 0,
            nodes: vec![peer(0.0, Some(9.0)), peer(120.0, Some(130.0))],
            upload_fairness: None,
        };
        // The late peer needs 8 s at 1 Gbps after joining at 120 s.
        assert!((record.join_bound_s() - 128.0).abs() < 1e-9);
        assert!(
            (record.makespan_over_join_bound().expect("finished") - 130.0 / 128.0).abs() < 1e-9
        );
        // A peer that never finished does not raise the bound; all at once gives bound_s.
        record.nodes[1].completed_s = None;
        assert!((record.join_bound_s() - 8.0).abs() < 1e-9);
        // Regression (demo record): an unknown download rate (0) adds no term, instead of
        // a copy at 1 bit/s.
        record.nodes[1].completed_s = Some(130.0);
        record.nodes[1].download_bps = 0;
        assert!((record.join_bound_s() - 8.0).abs() < 1e-9);
        record.bound_s = 0.0;
        record.nodes[0].download_bps = 0;
        assert_eq!(record.join_bound_s(), 0.0);
        assert_eq!(record.makespan_over_join_bound(), None);
    }

    #[test]
    fn fairness_is_one_for_equal_uploads_and_one_over_n_for_a_single_uploader() {
        let with_uploads = |uploads: &[u64]| -> Vec<NodeRecord> {
            uploads
                .iter()
                .map(|&u| NodeRecord {
                    uploaded_bytes: u,
                    ..peer(0.0, Some(1.0))
                })
                .collect()
        };
        let even =
            UploadFairness::of_nodes(&with_uploads(&[100, 100, 100, 100]), 100).expect("peers");
        assert_eq!((even.min_peer_copies, even.max_peer_copies), (1.0, 1.0));
        assert!((even.jain_index.expect("uploads") - 1.0).abs() < 1e-12);
        let one = UploadFairness::of_nodes(&with_uploads(&[0, 0, 0, 400]), 100).expect("peers");
        assert_eq!((one.min_peer_copies, one.max_peer_copies), (0.0, 4.0));
        assert!((one.jain_index.expect("uploads") - 0.25).abs() < 1e-12);
        let none = UploadFairness::of_nodes(&with_uploads(&[0, 0]), 100).expect("peers");
        assert_eq!(none.jain_index, None);
        assert_eq!(UploadFairness::of_nodes(&with_uploads(&[5]), 0), None);
        assert_eq!(UploadFairness::of_nodes(&[], 100), None);
    }

    #[test]
    fn bound_of_symmetric_swarm_is_one_copy_time() {
        let gbps = 1_000_000_000;
        let peers = vec![(gbps, gbps); 30];
        let bound = fluid_bound_s(1_000_000_000, gbps, &peers);
        assert!((bound - 8.0).abs() < 1e-9, "{bound}");
    }

    #[test]
    fn bound_is_limited_by_slow_origin_and_swarm_upload() {
        // Origin at 100 Mbps dominates: 8e9 bits / 1e8 = 80 s.
        let bound = fluid_bound_s(
            1_000_000_000,
            100_000_000,
            &[(1_000_000_000, 1_000_000_000)],
        );
        assert!((bound - 80.0).abs() < 1e-9);
        // Peers that upload nothing: N·F / u_s.
        let bound = fluid_bound_s(1_000_000_000, 1_000_000_000, &[(0, 10_000_000_000); 4]);
        assert!((bound - 32.0).abs() < 1e-9);
    }
}
