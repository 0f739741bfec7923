//! `swarm tracker`, `swarm agent` and `swarm publish` end to end on loopback: real child
//! processes of the built binary, real TCP, SQLite and files.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;
use swarm_testsupport::content::{same_file, write_large};
use swarm_testsupport::tools::tmpfs;

use super::fleet_rig::{placement, Fleet};
use super::support::{http, s, swarm_in, wait_for, write_random};

#[test]
fn publish_rolls_out_to_labelled_agents_and_retention_deletes() {
    let root = tempfile::tempdir().unwrap();
    let mut fleet = Fleet::new(root.path());
    for (name, label) in [
        ("a1", "role=test"),
        ("a2", "role=test"),
        ("b1", "role=other"),
    ] {
        fleet.start_agent(name, label);
    }
    let v1 = root.path().join("build/v1.img");
    let v1_bytes = write_random(&v1, 3 << 20, 11);
    let run = fleet
        .publish(
            &v1,
            "nightly",
            &["--to", "role=test", "--wait", "--timeout", "60s", "--json"],
        )
        .expect(0);
    let view = run.json();
    assert_eq!(view["counts"]["verified"], 2, "{view}");
    assert_eq!(view["hosts"].as_array().unwrap().len(), 2);
    assert!(run.stderr.contains("2/2 verified"), "{}", run.stderr);
    for name in ["a1", "a2"] {
        let copy = fleet.agent_dir(name).join("nightly/v1.img");
        assert_eq!(std::fs::read(&copy).unwrap(), v1_bytes, "{name}");
        assert!(!fleet.agent_dir(name).join("nightly/v1.img.part").exists());
        let placement = placement(&view, name);
        let (origin, peers) = (
            &placement["from_origin_bytes"],
            &placement["from_peers_bytes"],
        );
        let total = placement["downloaded_bytes"].as_u64().unwrap();
        assert_eq!(
            origin.as_u64().unwrap() + peers.as_u64().unwrap(),
            total,
            "{placement}"
        );
        assert!(total >= 3 << 20, "{placement}");
    }
    let sum: u64 = ["a1", "a2"]
        .iter()
        .map(|n| placement(&view, n)["from_origin_bytes"].as_u64().unwrap())
        .sum();
    assert_eq!(view["origin_uploaded_bytes"].as_u64(), Some(sum), "{view}");
    assert!(
        !fleet.agent_dir("b1").join("nightly").exists(),
        "b1 fetched"
    );
    assert!(view["finished_ms"].is_i64(), "{view}");

    // A wrong token changes nothing.
    let wrong = root.path().join("wrong-token");
    std::fs::write(&wrong, "not-the-fleet-token-at-all").unwrap();
    let run = swarm_in(
        root.path(),
        &[
            "publish",
            s(&v1),
            "--manager",
            &fleet.url,
            "--channel",
            "nightly",
            "--token-file",
            s(&wrong),
        ],
    );
    assert_ne!(run.code, 0);
    assert!(run.stderr.contains("401"), "{}", run.stderr);
    assert!(
        fleet.rollout(2).is_none(),
        "a refused publish made a rollout"
    );
    let (status, _) = http(fleet.addr, "POST", "/api/fleet/releases", "{}");
    assert_eq!(status, 401);
    let (status, _) = http(
        fleet.addr,
        "POST",
        "/api/torrents",
        "{\"path\": \"/etc/passwd\"}",
    );
    assert_eq!(status, 401);
    let (status, _) = http(fleet.addr, "POST", "/api/fleet/agents/evil/report", "{}");
    assert_eq!(status, 401);
    let (status, _) = http(fleet.addr, "GET", "/api/fleet/agents/a1/channel", "");
    assert_eq!(status, 401);
    let hosts = super::support::get_json(fleet.addr, "/api/fleet/hosts").unwrap();
    assert_eq!(hosts.as_array().unwrap().len(), 3, "{hosts}");

    // v2 with --keep 1: v1 is deleted where it was.
    let v2 = root.path().join("build/v2.img");
    let v2_bytes = write_random(&v2, 2 << 20, 12);
    let run = fleet
        .publish(
            &v2,
            "nightly",
            &[
                "--to",
                "role=test",
                "--keep",
                "1",
                "--wait",
                "--timeout",
                "60s",
            ],
        )
        .expect(0);
    assert!(run.stderr.contains("2/2 verified"), "{}", run.stderr);
    for name in ["a1", "a2"] {
        let dir = fleet.agent_dir(name).join("nightly");
        assert_eq!(std::fs::read(dir.join("v2.img")).unwrap(), v2_bytes);
        wait_for("v1's deletion", Duration::from_secs(10), || {
            !dir.join("v1.img").exists()
        });
    }
    let first = fleet.rollout(1).unwrap();
    wait_for("v1 reported deleted", Duration::from_secs(10), || {
        fleet
            .rollout(1)
            .is_some_and(|v| v["counts"]["deleted"] == 2)
    });
    assert!(first["finished_ms"].is_i64());
}

#[test]
fn killed_agent_resumes_and_restarted_manager_keeps_the_rollout() {
    let root = tempfile::tempdir().unwrap();
    let mut fleet = Fleet::new(root.path());
    fleet.start_agent("s1", "role=slow");
    fleet.start_agent("s2", "role=slow");
    let image = root.path().join("build/big.img");
    let size: u64 = 12 << 20;
    let bytes = write_random(&image, size as usize, 21);
    let log = root.path().join("publish-big.log");
    // 32 Mbit/s from the origin: about 3 s per copy, time to interrupt things.
    let mut publish = fleet.publish_spawned(
        &image,
        "big",
        &[
            "--to",
            "role=slow",
            "--timeout",
            "120s",
            "--max-upload",
            "32Mbit/s",
        ],
        &log,
    );
    wait_for("s1 halfway", Duration::from_secs(60), || {
        fleet.rollout(1).is_some_and(|v| {
            let have = placement(&v, "s1")["have_bytes"].as_u64().unwrap_or(0);
            have > size / 4 && have < size
        })
    });
    fleet.kill_agent("s1"); // SIGKILL
    let before = fleet.rollout(1).unwrap();
    let had = placement(&before, "s1")["have_bytes"].as_u64().unwrap();
    // The manager goes down and comes back mid-rollout.
    fleet.tracker = None;
    fleet.start_tracker();
    fleet.start_agent("s1", "role=slow");
    let status = publish.0.wait().unwrap();
    let stderr = std::fs::read_to_string(&log).unwrap();
    assert!(status.success(), "publish failed:\n{stderr}");
    let view: Value =
        serde_json::from_str(&std::fs::read_to_string(log.with_extension("json")).unwrap())
            .unwrap();
    assert_eq!(view["counts"]["verified"], 2, "{view}");
    for name in ["s1", "s2"] {
        assert_eq!(
            std::fs::read(fleet.agent_dir(name).join("big/big.img")).unwrap(),
            bytes
        );
    }
    let s1 = placement(&view, "s1");
    let resumed = s1["session_downloaded_bytes"].as_u64().unwrap();
    assert!(
        resumed <= size - had + (1 << 20),
        "s1 fetched {resumed} bytes after the restart though it held {had} of {size}"
    );
    // The record survived the restart.
    let record = fleet.rollout(1).unwrap();
    assert!(record["finished_ms"].as_i64() >= record["started_ms"].as_i64());
    assert!(record["origin_copies"].as_f64().unwrap() > 0.0, "{record}");
}

/// Writes an executable `--on-complete` script under `root` that appends its release, channel
/// and argument to `log`, then exits with `code`.
fn hook_script(root: &std::path::Path, name: &str, log: &std::path::Path, code: i32) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = root.join(name);
    let body = format!(
        "#!/bin/sh\necho \"$SWARM_RELEASE $SWARM_CHANNEL $SWARM_NAME $1\" >> '{}'\nexit {code}\n",
        log.display()
    );
    std::fs::write(&path, body).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

fn lines(path: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn agent_on_complete_runs_once_per_copy_and_a_failure_is_reported() {
    let root = tempfile::tempdir().unwrap();
    let mut fleet = Fleet::new(root.path());
    let (ok_log, bad_log) = (root.path().join("ok.log"), root.path().join("bad.log"));
    let ok = hook_script(root.path(), "ok.sh", &ok_log, 0);
    let bad = hook_script(root.path(), "bad.sh", &bad_log, 3);
    fleet.start_agent_with("h1", "role=hook", &["--on-complete", s(&ok)]);
    fleet.start_agent_with("h2", "role=hook", &["--on-complete", s(&bad)]);
    let image = root.path().join("build/hooked.img");
    write_random(&image, 2 << 20, 41);
    let run = fleet
        .publish(
            &image,
            "hooks",
            &["--to", "role=hook", "--wait", "--timeout", "60s"],
        )
        .expect(0);
    assert!(run.stderr.contains("2/2 verified"), "{}", run.stderr);
    let copy = fleet.agent_dir("h1").join("hooks/hooked.img");
    wait_for("h1's hook", Duration::from_secs(10), || {
        !lines(&ok_log).is_empty()
    });
    assert_eq!(
        lines(&ok_log),
        [format!("1 hooks hooked.img {}", copy.display())]
    );
    // The failing hook leaves h2 verified, with the failure as its reason.
    wait_for(
        "h2's hook failure reported",
        Duration::from_secs(10),
        || {
            fleet.rollout(1).is_some_and(|v| {
                let h2 = placement(&v, "h2");
                h2["state"] == "verified"
                    && h2["reason"]
                        .as_str()
                        .is_some_and(|r| r.contains("bad.sh failed: it exited with code 3"))
            })
        },
    );
    assert_eq!(lines(&bad_log).len(), 1);

    // Restarted, h1 does not run its hook again for the same copy; h2, whose hook failed,
    // runs it again (now succeeding) and its reason clears.
    fleet.stop_agent("h1");
    fleet.stop_agent("h2");
    let fixed = hook_script(root.path(), "fixed.sh", &bad_log, 0);
    fleet.start_agent_with("h1", "role=hook", &["--on-complete", s(&ok)]);
    fleet.start_agent_with("h2", "role=hook", &["--on-complete", s(&fixed)]);
    wait_for("h2's hook again", Duration::from_secs(20), || {
        lines(&bad_log).len() == 2
    });
    wait_for(
        "both verified without a reason",
        Duration::from_secs(10),
        || {
            fleet.rollout(1).is_some_and(|v| {
                ["h1", "h2"].iter().all(|n| {
                    placement(&v, n)["state"] == "verified" && placement(&v, n)["reason"].is_null()
                })
            })
        },
    );
    assert_eq!(lines(&ok_log).len(), 1, "h1 ran its hook again");
}

#[test]
fn a_full_disk_fails_its_host_by_name_while_the_others_finish() {
    let root = tempfile::tempdir().unwrap();
    let mut fleet = Fleet::new(root.path());
    let tiny = fleet.agent_dir("tiny");
    std::fs::create_dir_all(&tiny).unwrap();
    let Some(_tmpfs) = tmpfs(&tiny, "1m") else {
        return;
    };
    fleet.start_agent("tiny", "role=edge");
    fleet.start_agent("roomy", "role=edge");
    let image = root.path().join("build/edge.img");
    let bytes = write_random(&image, 4 << 20, 31);
    let run = fleet.publish(
        &image,
        "edge",
        &["--to", "role=edge", "--wait", "--timeout", "60s"],
    );
    assert_eq!(run.code, 1, "stderr:\n{}", run.stderr);
    assert!(
        run.stderr.contains("tiny: failed: disk full"),
        "{}",
        run.stderr
    );
    assert_eq!(
        std::fs::read(fleet.agent_dir("roomy").join("edge/edge.img")).unwrap(),
        bytes
    );
}

#[test]
fn publish_hands_the_seeding_to_the_agent_on_the_origin_host() {
    let root = tempfile::tempdir().unwrap();
    let mut fleet = Fleet::new(root.path());
    fleet.start_agent("origin", "role=build");
    fleet.start_agent("t1", "role=test");
    fleet.start_agent("t2", "role=test");
    let v1 = root.path().join("build/v1.img");
    let v1_bytes = write_random(&v1, 3 << 20, 41);
    let started = Instant::now();
    let run = fleet
        .publish(
            &v1,
            "ci",
            &["--to", "role=test", "--origin-agent", "origin"],
        )
        .expect(0);
    assert!(
        run.stderr.contains("the agent on origin seeds it"),
        "{}",
        run.stderr
    );
    // Without --wait, publish returns once the agent seeds; the agent finishes the job.
    wait_for("the rollout", Duration::from_secs(60), || {
        fleet
            .rollout(1)
            .is_some_and(|v| v["counts"]["verified"] == 2)
    });
    eprintln!("rolled out in {:.1} s", started.elapsed().as_secs_f64());
    let view = fleet.rollout(1).unwrap();
    assert_eq!(view["origin"]["host"], "origin", "{view}");
    assert_eq!(view["origin"]["state"], "verified", "{view}");
    assert_eq!(view["hosts"].as_array().unwrap().len(), 2, "{view}");
    for name in ["t1", "t2"] {
        let copy = fleet.agent_dir(name).join("ci/v1.img");
        assert_eq!(std::fs::read(&copy).unwrap(), v1_bytes, "{name}");
    }
    let from_origin: u64 = ["t1", "t2"]
        .iter()
        .map(|n| placement(&view, n)["from_origin_bytes"].as_u64().unwrap())
        .sum();
    assert!(
        from_origin >= 3 << 20,
        "the origin's agent sent {from_origin}"
    );
    assert!(
        !fleet.agent_dir("origin").join("ci").exists(),
        "the origin's agent downloaded its own release"
    );
    // Retention drops v1: the origin's agent stops seeding it and keeps the build.
    let v2 = root.path().join("build/v2.img");
    write_random(&v2, 1 << 20, 42);
    let run = fleet
        .publish(
            &v2,
            "ci",
            &[
                "--to",
                "role=test",
                "--keep",
                "1",
                "--origin-agent",
                "origin",
                "--wait",
                "--timeout",
                "60s",
            ],
        )
        .expect(0);
    assert!(run.stderr.contains("2/2 verified"), "{}", run.stderr);
    assert_eq!(
        std::fs::read(&v1).unwrap(),
        v1_bytes,
        "the build was touched"
    );
}

/// Issue 11's agent target, measured (ignored: 24 GiB of disk at its peak and a few
/// minutes; run on a quiet machine with a release build):
///
/// ```text
/// cargo test --release --test cli agent_holding -- --ignored --nocapture
/// ```
///
/// One agent fetches five releases of 4 GiB (`SWARM_BENCH_GIB` to change it) over loopback
/// and keeps them (`--keep 5`); each build is removed once rolled out, so the agent holds
/// the only copies. Then: its peak RSS over the whole run (VmHWM, ≤ 64 MiB), its RSS once
/// idle (what it keeps for holding them: each release used to keep about 5 MiB of freed
/// download buffers, see `swarm_net::agent::memory`) and its CPU while it holds and seeds
/// them with nobody asking, over 30 s (≈ 0).
#[test]
#[ignore = "a measurement: minutes, 24 GiB of disk"]
fn agent_holding_five_4gib_releases_stays_small_and_idle() {
    let gib: usize = std::env::var("SWARM_BENCH_GIB")
        .ok()
        .and_then(|g| g.parse().ok())
        .unwrap_or(4);
    let root = tempfile::tempdir().unwrap();
    let mut fleet = Fleet::new(root.path());
    fleet.start_agent("holder", "role=hold");
    let pid = fleet.agents[0].1 .0.id();
    let mut last = PathBuf::new();
    for v in 1..=5 {
        let build = root.path().join(format!("build/r{v}.img"));
        write_large(&build, gib << 30, 50 + v);
        let started = Instant::now();
        let run = fleet
            .publish(
                &build,
                "big",
                &[
                    "--to",
                    "role=hold",
                    "--keep",
                    "5",
                    "--wait",
                    "--timeout",
                    "30m",
                    "--piece-size",
                    "4MiB",
                ],
            )
            .expect(0);
        assert!(run.stderr.contains("1/1 verified"), "{}", run.stderr);
        eprintln!(
            "release {v} ({gib} GiB) rolled out in {:.1} s; agent RSS now {} KiB, peak {} KiB",
            started.elapsed().as_secs_f64(),
            proc_status_kib(pid, "VmRSS:"),
            proc_status_kib(pid, "VmHWM:")
        );
        let copy = fleet.agent_dir("holder").join(format!("big/r{v}.img"));
        assert!(same_file(&copy, &build), "release {v}");
        std::fs::remove_file(&build).unwrap();
        last = copy;
    }
    assert!(last.exists());
    std::thread::sleep(Duration::from_secs(5)); // the last rollout's connections close
    let idle_s = 30.0;
    let before = cpu_ticks(pid);
    std::thread::sleep(Duration::from_secs_f64(idle_s));
    let ticks = cpu_ticks(pid) - before;
    let idle_cpu = ticks as f64 / clock_ticks_per_s() / idle_s;
    let peak_kib = proc_status_kib(pid, "VmHWM:");
    let idle_kib = proc_status_kib(pid, "VmRSS:");
    let held = std::fs::read_dir(fleet.agent_dir("holder").join("big"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension() == Some("img".as_ref()))
        })
        .count();
    assert_eq!(held, 5);
    eprintln!(
        "agent holding {held} releases of {gib} GiB: peak RSS {:.1} MiB, RSS {:.1} MiB after \
         {idle_s} s idle, idle CPU {:.2} % of one core over those {idle_s} s",
        peak_kib as f64 / 1024.0,
        idle_kib as f64 / 1024.0,
        100.0 * idle_cpu
    );
    assert!(peak_kib <= 64 * 1024, "peak RSS {peak_kib} KiB");
    assert!(idle_cpu <= 0.01, "idle CPU {:.2} %", 100.0 * idle_cpu);
}

/// A `/proc/PID/status` figure in KiB (`VmRSS:`, `VmHWM:`).
fn proc_status_kib(pid: u32, key: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with(key)).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// User plus system time of a process, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command (which may hold spaces) in parentheses: utime is the 12th.
    let after = stat.rsplit_once(')').unwrap().1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

fn clock_ticks_per_s() -> f64 {
    let out = Command::new("getconf").arg("CLK_TCK").output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}
