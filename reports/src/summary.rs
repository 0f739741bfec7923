//! The text and JSON summary: per record, how long the run took against its bound, what the
//! origin uploaded, and which peers were slowest or never finished.
//!
//! [`ReportSummary`]'s `Display` is the content of `summary.txt`; its `Serialize` form is
//! `summary.json` (and what `swarm report --json` prints).

use std::fmt;

use serde::Serialize;
use swarm_engine::record::{NodeRole, RecordSource, RunRecord, UploadFairness};

use crate::series::completion_s;

/// At most this many unfinished peers are named in the text summary (JSON lists all).
const UNFINISHED_SHOWN: usize = 10;

/// What [`render`](crate::render) produced: one summary per record, the files it wrote and
/// notes about data it could not plot.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportSummary {
    /// One entry per record, in the order given.
    pub records: Vec<RecordSummary>,
    /// Files written, relative to the output directory.
    pub files: Vec<String>,
    /// Data that was missing or unusable, e.g. a record without samples.
    pub notes: Vec<String>,
}

/// The figures of one run record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecordSummary {
    /// The caller's label (legend entry).
    pub label: String,
    /// Scenario name.
    pub scenario: String,
    /// Root seed.
    pub seed: u64,
    /// `bittorrent`, `naive` or `queued`.
    pub strategy: String,
    /// Predicted (`sim`) or measured (`real`).
    pub source: RecordSource,
    /// Size of the file.
    pub file_size_bytes: u64,
    /// Number of peers (the origin is not a peer).
    pub peers: usize,
    /// Peers with a completion time.
    pub finished_peers: usize,
    /// When the last peer finished; `None` if some peer never did.
    pub makespan_s: Option<f64>,
    /// The fluid lower bound on the makespan.
    pub bound_s: f64,
    /// `makespan_s / bound_s`, when both are known.
    pub makespan_over_bound: Option<f64>,
    /// The bound counting join times (equal to `bound_s` when everyone joins at once).
    pub join_bound_s: f64,
    /// `makespan_s / join_bound_s`, when both are known.
    pub makespan_over_join_bound: Option<f64>,
    /// The origin's upload in copies of the file; `None` when the file size is zero.
    pub origin_upload_copies: Option<f64>,
    /// Smallest and largest peer upload in copies, and Jain's index (computed from the
    /// nodes for records that predate the field).
    pub upload_fairness: Option<UploadFairness>,
    /// The peer that finished last, among those that finished.
    pub slowest_peer: Option<SlowestPeer>,
    /// Peers without a completion time, in record order.
    pub unfinished_peers: Vec<String>,
}

/// The peer that finished last.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SlowestPeer {
    /// Node id.
    pub id: String,
    /// Its completion time.
    pub completed_s: f64,
}

impl RecordSummary {
    /// Computes the summary of one labelled record.
    pub fn new(label: &str, record: &RunRecord) -> Self {
        let mut slowest_peer: Option<SlowestPeer> = None;
        let mut finished_peers = 0;
        let mut unfinished_peers = Vec::new();
        for peer in record.nodes.iter().filter(|n| n.role == NodeRole::Peer) {
            let Some(completed_s) = completion_s(peer) else {
                unfinished_peers.push(peer.id.clone());
                continue;
            };
            finished_peers += 1;
            // Strictly later only: the first of equal times stays, so the pick is stable.
            if slowest_peer
                .as_ref()
                .is_none_or(|s| completed_s > s.completed_s)
            {
                slowest_peer = Some(SlowestPeer {
                    id: peer.id.clone(),
                    completed_s,
                });
            }
        }
        RecordSummary {
            label: label.to_string(),
            scenario: record.scenario.clone(),
            seed: record.seed,
            strategy: record.strategy.clone(),
            source: record.source,
            file_size_bytes: record.file_size,
            peers: finished_peers + unfinished_peers.len(),
            finished_peers,
            makespan_s: record.makespan_s,
            bound_s: record.bound_s,
            makespan_over_bound: record.makespan_over_bound(),
            join_bound_s: record.join_bound_s(),
            makespan_over_join_bound: record.makespan_over_join_bound(),
            origin_upload_copies: (record.file_size > 0).then(|| record.origin_copies()),
            upload_fairness: record
                .upload_fairness
                .or_else(|| UploadFairness::of_nodes(&record.nodes, record.file_size)),
            slowest_peer,
            unfinished_peers,
        }
    }
}

impl ReportSummary {
    /// Summaries of `records`, with no files or notes yet.
    pub fn of_records(records: &[(String, RunRecord)]) -> Self {
        ReportSummary {
            records: records
                .iter()
                .map(|(label, record)| RecordSummary::new(label, record))
                .collect(),
            files: Vec::new(),
            notes: Vec::new(),
        }
    }
}

fn source_name(source: RecordSource) -> &'static str {
    match source {
        RecordSource::Sim => "simulated",
        RecordSource::Real => "measured",
    }
}

/// Seconds with a precision that suits their size.
fn seconds(t: f64) -> String {
    if t.abs() >= 100.0 {
        format!("{t:.1} s")
    } else {
        format!("{t:.2} s")
    }
}

impl fmt::Display for RecordSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{}: {} ({}), scenario {}, seed {}",
            self.label,
            self.strategy,
            source_name(self.source),
            self.scenario,
            self.seed
        )?;
        writeln!(
            f,
            "  peers finished   {} of {}",
            self.finished_peers, self.peers
        )?;
        let makespan = self
            .makespan_s
            .map_or("none (not all peers finished)".to_string(), seconds);
        writeln!(f, "  makespan         {makespan}")?;
        if self.bound_s > 0.0 {
            writeln!(f, "  bound            {}", seconds(self.bound_s))?;
        } else {
            writeln!(
                f,
                "  bound            unknown (the record has no link rates)"
            )?;
        }
        match self.makespan_over_bound {
            Some(ratio) => writeln!(f, "  makespan / bound {ratio:.3}")?,
            None => writeln!(f, "  makespan / bound n/a")?,
        }
        if self.join_bound_s > self.bound_s {
            writeln!(f, "  join-aware bound {}", seconds(self.join_bound_s))?;
            if let Some(ratio) = self.makespan_over_join_bound {
                writeln!(f, "  makespan / join-aware bound {ratio:.3}")?;
            }
        }
        match self.origin_upload_copies {
            Some(copies) => writeln!(f, "  origin upload    {copies:.2} copies of the file")?,
            None => writeln!(f, "  origin upload    n/a (file size is 0)")?,
        }
        if let Some(u) = &self.upload_fairness {
            writeln!(f, "  peer upload      {u}")?;
        }
        match &self.slowest_peer {
            Some(p) => writeln!(
                f,
                "  slowest peer     {} at {}",
                p.id,
                seconds(p.completed_s)
            )?,
            None => writeln!(f, "  slowest peer     none finished")?,
        }
        if self.unfinished_peers.is_empty() {
            writeln!(f, "  never finished   none")?;
        } else {
            let shown = self.unfinished_peers[..self.unfinished_peers.len().min(UNFINISHED_SHOWN)]
                .join(", ");
            let more = self.unfinished_peers.len().saturating_sub(UNFINISHED_SHOWN);
            if more > 0 {
                writeln!(f, "  never finished   {shown} and {more} more")?;
            } else {
                writeln!(f, "  never finished   {shown}")?;
            }
        }
        Ok(())
    }
}

impl fmt::Display for ReportSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.records.is_empty() {
            writeln!(f, "no run records")?;
        }
        for (i, record) in self.records.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{record}")?;
        }
        if !self.notes.is_empty() {
            writeln!(f)?;
            writeln!(f, "notes:")?;
            for note in &self.notes {
                writeln!(f, "  - {note}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::series::tests::{node, record};

    fn finished_record() -> RunRecord {
        let mut rec = record(vec![
            node("origin", NodeRole::Origin, None),
            node("peer-1", NodeRole::Peer, Some(12.0)),
            node("peer-2", NodeRole::Peer, Some(15.0)),
            node("peer-3", NodeRole::Peer, Some(15.0)),
        ]);
        rec.makespan_s = Some(15.0);
        rec.origin_uploaded_bytes = 1_500;
        for (peer, up) in rec.nodes[1..].iter_mut().zip([1_000, 500, 1_500]) {
            peer.uploaded_bytes = up;
        }
        rec
    }

    #[test]
    fn summary_of_a_finished_run() {
        let s = RecordSummary::new("bt", &finished_record());
        assert_eq!(s.peers, 3);
        assert_eq!(s.finished_peers, 3);
        assert_eq!(s.makespan_over_bound, Some(1.5));
        assert_eq!(s.origin_upload_copies, Some(1.5));
        assert_eq!(
            s.slowest_peer,
            Some(SlowestPeer {
                id: "peer-2".to_string(),
                completed_s: 15.0
            })
        );
        assert!(s.unfinished_peers.is_empty());
        let text = s.to_string();
        assert!(text.starts_with("bt: bittorrent (simulated), scenario test, seed 7"));
        assert!(text.contains("makespan / bound 1.500"), "{text}");
        assert!(text.contains("1.50 copies of the file"), "{text}");
        assert!(
            text.contains("peer upload      0.50 to 1.50 copies, Jain's index 0.857"),
            "{text}"
        );
        assert!(
            text.contains("slowest peer     peer-2 at 15.00 s"),
            "{text}"
        );
        assert!(text.contains("never finished   none"), "{text}");
    }

    #[test]
    fn summary_of_a_run_that_did_not_finish_with_zero_file_size() {
        let mut rec = record(vec![
            node("origin", NodeRole::Origin, None),
            node("peer-1", NodeRole::Peer, None),
            node("peer-2", NodeRole::Peer, Some(f64::INFINITY)),
        ]);
        rec.file_size = 0;
        rec.bound_s = 0.0;
        let s = RecordSummary::new("naive", &rec);
        assert_eq!((s.peers, s.finished_peers), (2, 0));
        assert_eq!(s.makespan_over_bound, None);
        assert_eq!(s.origin_upload_copies, None);
        assert_eq!(s.slowest_peer, None);
        assert_eq!(s.unfinished_peers, vec!["peer-1", "peer-2"]);
        let text = s.to_string();
        assert!(text.contains("none (not all peers finished)"), "{text}");
        assert!(text.contains("n/a (file size is 0)"), "{text}");
        assert!(text.contains("never finished   peer-1, peer-2\n"), "{text}");
        // Regression (demo record): no rates, no bound, and no "bound 0.00 s".
        assert!(
            text.contains("bound            unknown (the record has no link rates)"),
            "{text}"
        );
        assert!(!text.contains("0.00 s"), "{text}");
    }

    #[test]
    fn long_lists_of_unfinished_peers_are_cut_in_text_only() {
        let nodes = (0..25)
            .map(|i| node(&format!("p{i}"), NodeRole::Peer, None))
            .collect();
        let s = RecordSummary::new("x", &record(nodes));
        assert_eq!(s.unfinished_peers.len(), 25);
        assert!(s.to_string().contains("p9 and 15 more"));
    }

    #[test]
    fn report_summary_lists_records_and_notes_and_serializes() {
        let mut summary = ReportSummary::of_records(&[("a".to_string(), finished_record())]);
        summary.notes.push("something was missing".to_string());
        let text = summary.to_string();
        assert!(text.contains("notes:\n  - something was missing"), "{text}");
        let json = serde_json::to_value(&summary).expect("serializes");
        assert_eq!(json["records"][0]["label"], "a");
        assert_eq!(json["records"][0]["source"], "sim");
        assert_eq!(json["records"][0]["slowest_peer"]["id"], "peer-2");
        assert_eq!(
            json["records"][0]["upload_fairness"]["min_peer_copies"],
            0.5
        );
        assert_eq!(
            ReportSummary::of_records(&[]).to_string(),
            "no run records\n"
        );
    }
}
