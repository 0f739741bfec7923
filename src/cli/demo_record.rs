//! The demo's run record and its printed summary: which link figures are known (only the
//! upload caps `--rate` sets; loopback itself has no nominal rate, and downloads are never
//! shaped), the bound those give, and why the origin uploaded what it did.

use swarm_engine::record::{
    fluid_bound_s, NodeRecord, NodeRole, RecordSource, RunRecord, Sample, UploadFairness,
};
use swarm_engine::units::{format_rate, format_size};

/// One node's figures at the end of the demo.
#[derive(Debug)]
pub struct Finished {
    pub id: String,
    pub role: NodeRole,
    pub joined_s: f64,
    pub completed_s: Option<f64>,
    pub samples: Vec<Sample>,
    pub uploaded_bytes: u64,
    pub downloaded_bytes: u64,
}

/// What the demo knows of its links.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Links {
    /// Every node's upload cap in bits per second (`--rate`), if one was set.
    pub upload_bps: Option<u64>,
}

impl Links {
    /// The fluid bound the caps give: the origin and swarm terms of DESIGN.md; the download
    /// term is left out (downloads are not shaped: no rate is known), which keeps it a
    /// lower bound. 0 without caps: no bound is known.
    pub fn bound_s(self, file_size: u64, peers: usize) -> f64 {
        match self.upload_bps {
            Some(up) => fluid_bound_s(file_size, up, &vec![(up, u64::MAX); peers]),
            None => 0.0,
        }
    }
}

/// The run record: node rates are the caps where set and 0 ("not known") elsewhere.
pub fn record(
    name: String,
    file_size: u64,
    piece_length: u64,
    links: Links,
    nodes: Vec<Finished>,
) -> RunRecord {
    let peers = nodes.iter().filter(|n| n.role == NodeRole::Peer).count();
    let nodes: Vec<NodeRecord> = nodes
        .into_iter()
        .map(|n| NodeRecord {
            id: n.id,
            role: n.role,
            upload_bps: links.upload_bps.unwrap_or(0),
            download_bps: 0,
            joined_s: n.joined_s,
            completed_s: n.completed_s,
            uploaded_bytes: n.uploaded_bytes,
            downloaded_bytes: n.downloaded_bytes,
            samples: n.samples,
        })
        .collect();
    let makespan_s = nodes
        .iter()
        .filter(|n| n.role == NodeRole::Peer)
        .map(|n| n.completed_s)
        .try_fold(0.0f64, |acc, c| c.map(|c| acc.max(c)));
    RunRecord {
        scenario: name,
        seed: 0,
        strategy: "bittorrent".into(),
        source: RecordSource::Real,
        file_size,
        piece_length,
        bound_s: links.bound_s(file_size, peers),
        makespan_s,
        origin_uploaded_bytes: nodes.first().map_or(0, |n| n.uploaded_bytes),
        upload_fairness: UploadFairness::of_nodes(&nodes, file_size),
        nodes,
    }
}

/// The table of nodes and the closing lines: makespan against the bound, origin upload.
pub fn print(record: &RunRecord, links: Links) {
    println!(
        "{:<10} {:>10} {:>12} {:>12}",
        "node", "done (s)", "uploaded", "downloaded"
    );
    for n in &record.nodes {
        let done = match (n.role, n.completed_s) {
            (NodeRole::Origin, _) => "origin".to_string(),
            (_, Some(c)) => format!("{c:.2}"),
            (_, None) => "-".to_string(),
        };
        println!(
            "{:<10} {:>10} {:>12} {:>12}",
            n.id,
            done,
            format_size(n.uploaded_bytes),
            format_size(n.downloaded_bytes)
        );
    }
    let makespan = record
        .makespan_s
        .map_or("never (some peer did not finish)".into(), |m| {
            format!("{m:.2} s")
        });
    match (links.upload_bps, record.makespan_over_bound()) {
        (Some(rate), Some(ratio)) => println!(
            "last peer done after {makespan}: {ratio:.2} x the bound of {:.2} s for uploads \
             capped at {}",
            record.bound_s,
            format_rate(rate)
        ),
        (Some(rate), None) => println!(
            "last peer done after {makespan}; bound {:.2} s for uploads capped at {}",
            record.bound_s,
            format_rate(rate)
        ),
        (None, _) => println!(
            "last peer done after {makespan}; no bound: loopback links have no nominal rate \
             (--rate RATE caps uploads and gives one)"
        ),
    }
    println!(
        "origin uploaded {} = {:.2} copies of the {} file{}",
        format_size(record.origin_uploaded_bytes),
        record.origin_copies(),
        format_size(record.file_size),
        origin_reason(record, links)
    );
}

/// Why the origin uploaded more than about one copy, when it did.
fn origin_reason(record: &RunRecord, links: Links) -> String {
    if record.origin_copies() <= 1.1 {
        return String::new();
    }
    let why = match links.upload_bps {
        None => {
            "on unshaped loopback the origin is as fast as any peer, and once every piece has \
             gone out it serves again a piece fewer than two peers hold and any peer that \
             announced nothing for 5 s; where the origin's uplink is the bottleneck (--rate, \
             swarm sim, scripts/netns-run) it stays nearer one copy"
        }
        Some(_) => {
            "once every piece has gone out, the origin serves again a piece fewer than two \
             peers hold and any peer that announced nothing for 5 s"
        }
    };
    format!(": {why}")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn node(id: &str, role: NodeRole, completed_s: Option<f64>) -> Finished {
        Finished {
            id: id.into(),
            role,
            joined_s: 0.1,
            completed_s,
            samples: Vec::new(),
            uploaded_bytes: 0,
            downloaded_bytes: 0,
        }
    }

    fn nodes() -> Vec<Finished> {
        vec![
            node("origin", NodeRole::Origin, Some(0.0)),
            node("peer-01", NodeRole::Peer, Some(2.0)),
            node("peer-02", NodeRole::Peer, Some(3.0)),
        ]
    }

    #[test]
    fn without_caps_no_rate_and_no_bound_is_claimed() {
        let r = record(
            "d".into(),
            1 << 20,
            1 << 16,
            Links { upload_bps: None },
            nodes(),
        );
        assert_eq!(r.bound_s, 0.0);
        assert!(r
            .nodes
            .iter()
            .all(|n| n.upload_bps == 0 && n.download_bps == 0));
        assert_eq!(r.makespan_over_bound(), None);
        assert_eq!(r.makespan_s, Some(3.0));
        // No download rate is known: the join-aware bound adds no copy time either.
        assert_eq!(r.join_bound_s(), 0.0);
    }

    #[test]
    fn caps_give_the_upload_bound() {
        let links = Links {
            upload_bps: Some(8_000_000),
        };
        // 1 MB at 8 Mbit/s: the origin needs 1 s; 2 peers share 3 uplinks: 2/3 s.
        let r = record("d".into(), 1_000_000, 1 << 16, links, nodes());
        assert!((r.bound_s - 1.0).abs() < 1e-9, "{}", r.bound_s);
        assert!((r.makespan_over_bound().unwrap() - 3.0).abs() < 1e-9);
        assert!(r.nodes.iter().all(|n| n.upload_bps == 8_000_000));
    }

    #[test]
    fn an_origin_above_one_copy_says_why() {
        let mut r = record("d".into(), 100, 10, Links { upload_bps: None }, nodes());
        r.origin_uploaded_bytes = 105;
        assert_eq!(origin_reason(&r, Links { upload_bps: None }), "");
        r.origin_uploaded_bytes = 165;
        assert!(origin_reason(&r, Links { upload_bps: None }).contains("unshaped loopback"));
    }
}
