//! Rendering: every file is written, PNGs hold real pictures, and bad input still renders.

use std::fs;
use std::path::Path;

use swarm_engine::record::RunRecord;
use swarm_reports::{render, ReportError, CHARTS, SUMMARY_JSON, SUMMARY_TXT};

use crate::records;

/// Every chart as SVG and PNG, plus both summaries.
fn expected_files() -> Vec<String> {
    let mut files: Vec<String> = CHARTS
        .iter()
        .flat_map(|c| [format!("{c}.svg"), format!("{c}.png")])
        .collect();
    files.push(SUMMARY_TXT.to_string());
    files.push(SUMMARY_JSON.to_string());
    files
}

fn assert_all_files_written(dir: &Path, files: &[String]) {
    assert_eq!(files, expected_files().as_slice());
    for name in files {
        let path = dir.join(name);
        let len = fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        assert!(len > 0, "{} is missing or empty", path.display());
    }
}

/// A PNG that is more than a blank canvas: valid signature, a real size, and far more bytes
/// than a uniform 1200×720 image compresses to.
fn assert_png_has_content(path: &Path) {
    let bytes = fs::read(path).expect("read png");
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{}", path.display());
    assert!(
        bytes.len() > 15_000,
        "{} is only {} bytes",
        path.display(),
        bytes.len()
    );
}

fn pair() -> Vec<(String, RunRecord)> {
    vec![
        ("naive".to_string(), records::naive()),
        ("bittorrent".to_string(), records::bittorrent()),
    ]
}

#[test]
fn a_pair_of_records_renders_every_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("report");
    let summary = render(&pair(), &out).expect("renders");
    assert_all_files_written(&out, &summary.files);
    for chart in CHARTS {
        assert_png_has_content(&out.join(format!("{chart}.png")));
        let svg = fs::read_to_string(out.join(format!("{chart}.svg"))).expect("svg");
        assert!(
            svg.contains("naive") && svg.contains("bittorrent"),
            "{chart}: legend"
        );
    }
    assert!(summary.notes.is_empty(), "{:?}", summary.notes);

    let text = fs::read_to_string(out.join(SUMMARY_TXT)).expect("summary.txt");
    assert_eq!(text, summary.to_string());
    assert!(text.contains("naive: naive (simulated)"), "{text}");
    assert!(text.contains("makespan / bound 4.000"), "{text}");
    assert!(text.contains("4.00 copies of the file"), "{text}");
    assert!(
        text.contains("slowest peer     peer-03 at 10.50 s"),
        "{text}"
    );
    assert!(text.contains("never finished   peer-04"), "{text}");

    let json: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(out.join(SUMMARY_JSON)).expect("json"))
            .expect("valid json");
    assert_eq!(json["records"][1]["label"], "bittorrent");
    assert_eq!(json["records"][1]["unfinished_peers"][0], "peer-04");
    assert_eq!(json["records"][1]["makespan_s"], serde_json::Value::Null);
    assert_eq!(json["records"][0]["origin_upload_copies"], 4.0);
}

#[test]
fn rendering_is_deterministic() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    render(&pair(), &a).expect("first");
    render(&pair(), &b).expect("second");
    for name in expected_files() {
        let first = fs::read(a.join(&name)).expect("read");
        let second = fs::read(b.join(&name)).expect("read");
        assert!(first == second, "{name} differs between two renders");
    }
}

#[test]
fn no_records_still_render_with_no_data_notes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let summary = render(&[], dir.path()).expect("renders");
    assert_all_files_written(dir.path(), &summary.files);
    let svg = fs::read_to_string(dir.path().join("throughput.svg")).expect("svg");
    assert!(svg.contains("no data"));
    assert_eq!(summary.to_string(), "no run records\n");
}

#[test]
fn degenerate_records_render_and_explain_what_is_missing() {
    let mut no_samples = records::bittorrent();
    for node in &mut no_samples.nodes {
        node.samples.clear();
        node.completed_s = None;
    }
    no_samples.makespan_s = None;
    let mut zero_size = records::naive();
    zero_size.file_size = 0;
    zero_size.bound_s = 0.0;
    let mut no_nodes = records::naive();
    no_nodes.nodes.clear();
    let records = vec![
        ("no samples".to_string(), no_samples),
        ("zero size".to_string(), zero_size),
        ("no nodes".to_string(), no_nodes),
    ];
    let dir = tempfile::tempdir().expect("tempdir");
    let summary = render(&records, dir.path()).expect("renders");
    assert_all_files_written(dir.path(), &summary.files);
    let notes = summary.notes.join("\n");
    for expected in [
        "completion-cdf: no peer of record 'no samples' finished",
        "completion-cdf: record 'no nodes' has no peers",
        "upload-share: record 'zero size' has a file size of 0",
        "origin-upload: the origin of record 'no samples' has no samples",
        "throughput: record 'no nodes' has no samples spanning time",
    ] {
        assert!(
            notes.contains(expected),
            "missing note {expected:?} in:\n{notes}"
        );
    }
}

#[test]
fn an_unwritable_output_directory_is_an_error_naming_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("occupied");
    fs::write(&file, "not a directory").expect("write");
    let error = render(&pair(), &file.join("report")).expect_err("cannot create");
    assert!(matches!(error, ReportError::CreateDir { .. }), "{error:?}");
    assert!(error.to_string().contains("occupied"), "{error}");
}
