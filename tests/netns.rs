//! The proof on a namespaced network: `scripts/netns-run` builds one network namespace per
//! host with tc-shaped links, runs the real tracker, origin and peers, and writes a run
//! record; the simulator predicts the same scenario. Needs root (to make namespaces): it
//! says so and passes without running elsewhere. CI runs as root.

use std::path::{Path, PathBuf};
use std::process::Command;

use swarm_engine::record::RunRecord;

const SCENARIO: &str = "scenarios/netns-small.toml";

fn can_make_namespaces() -> bool {
    let name = format!("swprobe{}", std::process::id());
    let made = Command::new("ip")
        .args(["netns", "add", &name])
        .status()
        .is_ok_and(|s| s.success());
    if made {
        let _ = Command::new("ip").args(["netns", "del", &name]).status();
    }
    made
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn measured(strategy: &str, out: &Path) -> RunRecord {
    let status = Command::new(root().join("scripts/netns-run"))
        .args([
            SCENARIO,
            "--strategy",
            strategy,
            "--swarm",
            env!("CARGO_BIN_EXE_swarm"),
            "--out",
        ])
        .arg(out)
        .current_dir(root())
        .status()
        .expect("netns-run starts");
    assert!(status.success(), "netns-run {strategy} failed: {status}");
    let text = std::fs::read_to_string(out.join("record.json")).expect("record written");
    serde_json::from_str(&text).expect("a run record")
}

fn predicted(strategy: &str, out: &Path) -> RunRecord {
    let status = Command::new(env!("CARGO_BIN_EXE_swarm"))
        .args([
            "sim",
            SCENARIO,
            "--strategy",
            strategy,
            "--no-report",
            "--out",
        ])
        .arg(out)
        .current_dir(root())
        .status()
        .expect("swarm sim starts");
    assert!(status.success());
    serde_json::from_str(&std::fs::read_to_string(out.join("record.json")).unwrap()).unwrap()
}

#[test]
fn namespaced_swarm_completes_near_the_bound_and_the_simulator_predicts_it() {
    if !can_make_namespaces() {
        eprintln!("skipped: this user cannot create network namespaces (needs root)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut lines = Vec::new();
    for strategy in ["bittorrent", "naive", "queued"] {
        let real = measured(strategy, &dir.path().join(format!("real-{strategy}")));
        let sim = predicted(strategy, &dir.path().join(format!("sim-{strategy}")));
        let real_makespan = real.makespan_s.expect("every peer finished for real");
        let sim_makespan = sim
            .makespan_s
            .expect("every peer finished in the simulator");
        lines.push(format!(
            "{strategy}: measured {real_makespan:.1} s ({:.2} x bound, origin {:.2} copies), predicted {sim_makespan:.1} s, error {:+.1} %",
            real_makespan / real.bound_s,
            real.origin_copies(),
            100.0 * (sim_makespan - real_makespan) / real_makespan
        ));
        if strategy == "bittorrent" {
            assert!(
                real.origin_copies() <= 1.5,
                "origin sent {:.2} copies",
                real.origin_copies()
            );
            assert!(
                real_makespan <= 2.0 * real.bound_s,
                "{}",
                lines.last().unwrap()
            );
        } else {
            assert!(
                real.origin_copies() >= 5.5,
                "a single-source copy must cost the origin a copy per peer"
            );
        }
    }
    eprintln!("{}", lines.join("\n"));
}
