//! `swarm demo`: a real loopback run whose record claims no link rate it does not know and
//! whose summary prints no made-up bound.

use std::fs;

use serde_json::Value;

use crate::support::{s, swarm_in};

fn record(path: &std::path::Path) -> Value {
    serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn demo_without_rates_claims_no_bound_and_with_rate_caps_has_one() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("plain");
    let run = swarm_in(
        dir.path(),
        &["demo", "--peers", "2", "--size", "4MiB", "--out", s(&out)],
    )
    .expect(0);
    assert!(
        run.stdout
            .contains("no bound: loopback links have no nominal rate"),
        "{}",
        run.stdout
    );
    let plain = record(&out.join("record.json"));
    assert_eq!(plain["bound_s"], 0.0);
    for node in plain["nodes"].as_array().unwrap() {
        assert_eq!(node["download_bps"], 0, "0 means not known");
        assert_eq!(node["upload_bps"], 0);
    }
    let summary = fs::read_to_string(out.join("report/summary.txt")).unwrap();
    assert!(summary.contains("bound            unknown"), "{summary}");
    assert!(!summary.contains("join-aware"), "{summary}");

    let out = dir.path().join("capped");
    let run = swarm_in(
        dir.path(),
        &[
            "demo",
            "--peers",
            "2",
            "--size",
            "4MiB",
            "--rate",
            "100Mbit/s",
            "--out",
            s(&out),
        ],
    )
    .expect(0);
    assert!(run.stdout.contains("x the bound of"), "{}", run.stdout);
    let capped = record(&out.join("record.json"));
    // 4 MiB at 100 Mbit/s from the origin: 0.34 s.
    let bound = capped["bound_s"].as_f64().unwrap();
    assert!(
        (bound - 4.0 * 1.048_576 * 8.0 / 100.0).abs() < 1e-6,
        "{bound}"
    );
    assert!(capped["makespan_s"].as_f64().unwrap() >= bound);
    assert_eq!(capped["nodes"][0]["upload_bps"], 100_000_000);
}
