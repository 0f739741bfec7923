//! `swarm sim` exits as its help says: 0 when every peer finished (peers a `peer-crash`
//! fault kills are not expected to), 1 when another peer never did.

use std::fs;

use crate::support::{s, swarm_in};

fn smoke() -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/smoke.toml");
    fs::read_to_string(path).unwrap()
}

#[test]
fn a_peer_that_never_finishes_exits_1_and_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("short.toml");
    fs::write(&scenario, format!("max_time = \"0.2s\"\n{}", smoke())).unwrap();
    let out = dir.path().join("out");
    let run = swarm_in(
        dir.path(),
        &[
            "sim",
            s(&scenario),
            "--out",
            s(&out),
            "--no-report",
            "--json",
        ],
    )
    .expect(1);
    let summary = run.json();
    assert_eq!(summary["makespan_s"], serde_json::Value::Null);
    assert_eq!(summary["unfinished_peers"].as_array().unwrap().len(), 4);
    assert!(
        run.stderr.contains("some peers never finished"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("--seed 1"), "{}", run.stderr);
    let help = swarm_in(dir.path(), &["help", "sim"]).expect(0);
    assert!(
        help.stdout.contains("1 when some other peer never did"),
        "{}",
        help.stdout
    );
}

#[test]
fn a_peer_crashed_by_a_fault_is_named_but_does_not_fail_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("crash.toml");
    let fault = "\n[[faults]]\nkind = \"peer-crash\"\nnode = \"peer-02\"\nat = \"0.1s\"\n";
    fs::write(&scenario, format!("{}{fault}", smoke())).unwrap();
    let out = dir.path().join("out");
    let run = swarm_in(
        dir.path(),
        &["sim", s(&scenario), "--out", s(&out), "--no-report"],
    )
    .expect(0);
    assert!(
        run.stdout
            .contains("crashed      peer-02 (by a peer-crash fault"),
        "{}",
        run.stdout
    );
}
