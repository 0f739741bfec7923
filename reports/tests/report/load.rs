//! Loading run records: good files round-trip, bad ones name the file.

use std::fs;

use swarm_reports::{load_record, ReportError};

use crate::records;

#[test]
fn a_written_record_loads_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("run.json");
    let record = records::bittorrent();
    fs::write(&path, record.to_json_pretty()).expect("write");
    assert_eq!(load_record(&path).expect("loads"), record);
}

#[test]
fn a_missing_file_is_a_read_error_naming_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("missing.json");
    let error = load_record(&path).expect_err("missing");
    assert!(matches!(error, ReportError::ReadRecord { .. }), "{error:?}");
    assert!(error.to_string().contains("missing.json"), "{error}");
}

#[test]
fn invalid_json_is_a_parse_error_naming_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("bad.json");
    fs::write(&path, "{\"scenario\": 3}").expect("write");
    let error = load_record(&path).expect_err("invalid");
    assert!(
        matches!(error, ReportError::ParseRecord { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("bad.json"), "{error}");
}
