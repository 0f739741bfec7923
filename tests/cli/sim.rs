//! `swarm sim` and `swarm report`: records, charts, summaries and errors, end to end.

use std::fs;

use crate::support::{s, swarm_in};

fn root() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn sim_writes_a_record_charts_and_a_json_summary() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let scenario = root().join("scenarios/smoke.toml");
    let run = swarm_in(
        dir.path(),
        &[
            "sim",
            s(&scenario),
            "--seed",
            "3",
            "--out",
            s(&out),
            "--json",
        ],
    )
    .expect(0);
    let summary = run.json();
    assert_eq!(summary["seed"], 3);
    assert!(summary["makespan_over_bound"].as_f64().unwrap() >= 1.0);
    assert!(summary["events_per_s"].as_f64().unwrap() > 0.0);
    let record: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(out.join("record.json")).unwrap()).unwrap();
    for key in [
        "scenario",
        "seed",
        "strategy",
        "file_size",
        "bound_s",
        "makespan_s",
    ] {
        assert!(record.get(key).is_some(), "record has {key}");
    }
    assert_eq!(record["nodes"].as_array().unwrap().len(), 5);
    let fairness = &summary["upload_fairness"];
    assert_eq!(fairness, &record["upload_fairness"]);
    let (min, max) = (
        fairness["min_peer_copies"].as_f64().unwrap(),
        fairness["max_peer_copies"].as_f64().unwrap(),
    );
    assert!(0.0 < min && min <= max, "{fairness}");
    let jain = fairness["jain_index"].as_f64().unwrap();
    assert!((0.25..=1.0).contains(&jain), "{fairness}");
    let charts: Vec<_> = fs::read_dir(&out)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".svg") || name.ends_with(".png"))
        .collect();
    assert_eq!(charts.len(), 8, "four charts as SVG and PNG: {charts:?}");
}

#[test]
fn a_sweep_runs_each_point_and_draws_one_chart_with_a_table() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sweep");
    let scenario = root().join("scenarios/smoke.toml");
    let args = [
        "sim",
        s(&scenario),
        "--sweep",
        "peers=2,6",
        "--out",
        s(&out),
    ];
    let json = swarm_in(dir.path(), &[&args[..], &["--json"]].concat())
        .expect(0)
        .json();
    let rows = json["sweep"]["rows"].as_array().unwrap();
    assert_eq!(json["sweep"]["axis"], "peers");
    assert_eq!(rows.len(), 2);
    assert_eq!(
        (rows[0]["value"].as_f64(), rows[1]["label"].as_str()),
        (Some(2.0), Some("6"))
    );
    for row in rows {
        assert!(row["makespan_over_bound"].as_f64().unwrap() >= 1.0, "{row}");
        assert!(row["jain_index"].as_f64().unwrap() > 0.0, "{row}");
    }
    let record: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(out.join("peers-6/record.json")).unwrap())
            .unwrap();
    assert_eq!(record["nodes"].as_array().unwrap().len(), 7);
    assert!(out.join("sweep.svg").exists() && out.join("sweep.png").exists());
    let text = swarm_in(dir.path(), &args).expect(0).stdout;
    assert!(
        text.lines().next().unwrap().contains("makespan/bound"),
        "{text}"
    );
    let bad = swarm_in(dir.path(), &["sim", s(&scenario), "--sweep", "colour=1"]).expect(2);
    assert!(bad.stderr.contains("unknown axis"), "{}", bad.stderr);
}

#[test]
fn sim_names_the_key_and_line_of_a_bad_scenario() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("bad.toml");
    fs::write(
        &scenario,
        "file_size = \"1GiB\"\npiece_size = \"1MiB\"\n[origin]\nupload = \"fast\"\n",
    )
    .unwrap();
    let run = swarm_in(dir.path(), &["sim", s(&scenario)]).expect(2);
    assert!(run.stderr.contains("line 4"), "{}", run.stderr);
    assert!(run.stderr.contains("origin.upload"), "{}", run.stderr);
}

#[test]
fn staggered_joins_get_a_join_aware_bound_and_reports_compare_records() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("late.toml");
    let smoke = fs::read_to_string(root().join("scenarios/smoke.toml")).unwrap();
    fs::write(&scenario, format!("{smoke}join_at = \"2s\"\n")).unwrap();
    let late = dir.path().join("late");
    let run = swarm_in(dir.path(), &["sim", s(&scenario), "--out", s(&late)]).expect(0);
    assert!(run.stdout.contains("join-aware bound"), "{}", run.stdout);
    let naive = dir.path().join("naive");
    swarm_in(
        dir.path(),
        &[
            "sim",
            s(&scenario),
            "--strategy",
            "naive",
            "--no-report",
            "--out",
            s(&naive),
        ],
    )
    .expect(0);
    let report = dir.path().join("report");
    let bt = format!("bt={}", s(&late.join("record.json")));
    let nv = format!("naive={}", s(&naive.join("record.json")));
    swarm_in(dir.path(), &["report", &bt, &nv, "--out", s(&report)]).expect(0);
    let summary = fs::read_to_string(report.join("summary.txt")).unwrap();
    assert!(
        summary.contains("bt") && summary.contains("naive"),
        "{summary}"
    );
    assert!(summary.contains("makespan / join-aware bound"), "{summary}");
}
