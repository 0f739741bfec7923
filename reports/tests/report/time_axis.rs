//! Charts of runs whose lengths differ many times over (naive against bittorrent on 12
//! servers: 12x) put time on a log axis, so the short run is not squeezed into a few pixels;
//! runs of similar length keep a linear axis.

use std::fs;

use swarm_engine::record::RunRecord;
use swarm_reports::render;

use crate::records;

/// `record` with every time stretched by `factor`.
fn stretched(mut record: RunRecord, factor: f64) -> RunRecord {
    for node in &mut record.nodes {
        node.completed_s = node.completed_s.map(|t| t * factor);
        for sample in &mut node.samples {
            sample.t_s *= factor;
        }
    }
    record.makespan_s = record.makespan_s.map(|t| t * factor);
    record
}

const TIME_CHARTS: [&str; 3] = ["completion-cdf", "origin-upload", "throughput"];

#[test]
fn a_run_twelve_times_longer_puts_time_on_a_log_axis() {
    let dir = tempfile::tempdir().expect("tempdir");
    // bittorrent ends at 10.5 s; naive stretched from 32 s to 128 s.
    let records = vec![
        ("bt".to_string(), records::bittorrent()),
        ("naive".to_string(), stretched(records::naive(), 4.0)),
    ];
    render(&records, dir.path()).expect("renders");
    for chart in TIME_CHARTS {
        let svg = fs::read_to_string(dir.path().join(format!("{chart}.svg"))).expect("svg");
        assert!(svg.contains("log scale"), "{chart} has a log time axis");
        // Decade ticks.
        assert!(
            svg.contains(">\n10\n<") && svg.contains(">\n100\n<"),
            "{chart} ticks"
        );
        assert!(dir.path().join(format!("{chart}.png")).exists());
    }
}

#[test]
fn runs_of_similar_length_keep_a_linear_time_axis() {
    let dir = tempfile::tempdir().expect("tempdir");
    let records = vec![
        ("bt".to_string(), records::bittorrent()),
        ("naive".to_string(), records::naive()),
    ];
    render(&records, dir.path()).expect("renders");
    for chart in TIME_CHARTS {
        let svg = fs::read_to_string(dir.path().join(format!("{chart}.svg"))).expect("svg");
        assert!(!svg.contains("log scale"), "{chart} stays linear");
        assert!(svg.contains("time since start (s)"), "{chart}");
    }
}
