//! `swarm sim SCENARIO`: predict a rollout with the deterministic simulator.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context};
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use swarm_engine::record::{NodeRole, RunRecord};
use swarm_sim::{Fault, Scenario, Strategy};

use super::Outcome;

/// Simulate a rollout described by a scenario file (TOML) and write its run record.
///
/// Writes DIR/record.json and the report (charts and summary) into DIR. The same scenario
/// and seed always give the same record, byte for byte. Exit 0 when every peer finished
/// (a peer that a `peer-crash` fault kills is not expected to, and is not counted in the
/// makespan), 1 when some other peer never did, e.g. by `max_time` (the record and the
/// summary say which).
#[derive(Debug, Args)]
pub struct SimArgs {
    /// The scenario file (see scenarios/ for examples).
    scenario: PathBuf,
    /// Root seed of the run [default: the scenario's `seed`, else 1].
    #[arg(long, value_name = "N")]
    seed: Option<u64>,
    /// Output directory [default: out/sim-<scenario>].
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Override the scenario's strategy: bittorrent, naive or queued.
    #[arg(long, value_name = "S")]
    strategy: Option<String>,
    /// Print the summary as JSON on stdout.
    #[arg(long)]
    pub(super) json: bool,
    /// Skip the charts (write record.json only).
    #[arg(long)]
    no_report: bool,
    /// Print the expanded plan (hosts, rates in bit/s, join times, faults, bound) as JSON and
    /// exit without simulating; `scripts/netns-run` builds real hosts from it.
    #[arg(long)]
    plan: bool,
    /// Run the scenario at each value of one setting and chart how it scales:
    /// `peers=6,12,24,48` or `size=256MiB,1GiB` (records in DIR/AXIS-VALUE/, the chart in DIR).
    #[arg(long, value_name = "AXIS=V1,V2,...")]
    sweep: Option<String>,
}

/// Runs `swarm sim`.
pub fn run_sim(args: SimArgs) -> anyhow::Result<Outcome> {
    let text = std::fs::read_to_string(&args.scenario)
        .with_context(|| format!("cannot read {}", args.scenario.display()))?;
    let stem = args.scenario.file_stem().map_or_else(
        || "scenario".to_string(),
        |s| s.to_string_lossy().into_owned(),
    );
    let scenario = Scenario::parse(&text, &stem)
        .with_context(|| format!("{} is not a usable scenario", args.scenario.display()))?;
    let strategy = match args.strategy.as_deref() {
        Some(s) => match Strategy::parse(s) {
            Some(s) => Some(s),
            None => bail!("unknown strategy {s:?} (bittorrent, naive, queued)"),
        },
        None => None,
    };
    let seed = args.seed.unwrap_or(scenario.seed);
    let strategy_name = strategy.unwrap_or(scenario.strategy).name();
    if args.plan {
        println!(
            "{}",
            serde_json::to_string_pretty(&plan(&scenario, seed, strategy_name))?
        );
        return Ok(Outcome::Success);
    }
    let out = args.out.clone().unwrap_or_else(|| {
        let suffix = match strategy {
            Some(s) if s != scenario.strategy => format!("-{}", s.name()),
            _ => String::new(),
        };
        PathBuf::from(format!("out/sim-{stem}{suffix}"))
    });
    if let Some(spec) = &args.sweep {
        return super::sweep::run_sweep(super::sweep::SweepRun {
            spec,
            scenario: &scenario,
            seed,
            strategy,
            out: &out,
            json: args.json,
            no_report: args.no_report,
        });
    }

    let bar = progress_bar(scenario.bound_s());
    let started = Instant::now();
    let output = swarm_sim::run(&scenario, seed, strategy, &mut |p| {
        if let Some(bar) = &bar {
            bar.set_position((p.sim_s * 10.0) as u64);
            bar.set_message(format!(
                "{:.1} s simulated, {}/{} peers done",
                p.sim_s, p.done_peers, p.total_peers
            ));
        }
    });
    let wall_s = started.elapsed().as_secs_f64();
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }

    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    let record_path = out.join("record.json");
    std::fs::write(&record_path, output.record.to_json_pretty())
        .with_context(|| format!("cannot write {}", record_path.display()))?;
    let report_note = if args.no_report {
        None
    } else {
        let label = format!("{} ({strategy_name})", scenario.name);
        match swarm_reports::render(&[(label, output.record.clone())], &out) {
            Ok(_) => None,
            Err(e) => Some(format!("report not rendered: {e}")),
        }
    };

    let (crashed, unfinished) = unfinished_peers(&scenario, &output.record);
    let summary = Summary {
        output: &output,
        wall_s,
        record_path: &record_path,
        crashed,
        unfinished,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary.json())?);
    } else {
        summary.print();
    }
    if let Some(note) = report_note {
        eprintln!("swarm: warning: {note}");
    }
    if output.record.makespan_s.is_none() {
        eprintln!(
            "swarm: some peers never finished; reproduce with `swarm sim {} --seed {seed}`",
            args.scenario.display()
        );
        return Ok(Outcome::Incomplete);
    }
    Ok(Outcome::Success)
}

/// What one run printed at its end: the figures, and which peers never finished.
struct Summary<'a> {
    output: &'a swarm_sim::RunOutput,
    wall_s: f64,
    record_path: &'a Path,
    crashed: Vec<String>,
    unfinished: Vec<String>,
}

impl Summary<'_> {
    fn events_per_s(&self) -> f64 {
        self.output.events as f64 / self.wall_s.max(1e-9)
    }

    /// The `--json` summary.
    fn json(&self) -> serde_json::Value {
        let r = &self.output.record;
        serde_json::json!({
            "scenario": r.scenario,
            "seed": r.seed,
            "strategy": r.strategy,
            "makespan_s": r.makespan_s,
            "bound_s": r.bound_s,
            "makespan_over_bound": r.makespan_over_bound(),
            "join_bound_s": r.join_bound_s(),
            "makespan_over_join_bound": r.makespan_over_join_bound(),
            "origin_copies": r.origin_copies(),
            "unfinished_peers": self.unfinished,
            "crashed_peers": self.crashed,
            "upload_fairness": r.upload_fairness,
            "events": self.output.events,
            "events_per_s": self.events_per_s(),
            "wall_s": self.wall_s,
            "record": self.record_path,
        })
    }

    /// The summary for a person.
    fn print(&self) {
        let r = &self.output.record;
        println!(
            "scenario     {} ({}, seed {})",
            r.scenario, r.strategy, r.seed
        );
        match (r.makespan_s, r.makespan_over_bound()) {
            (Some(m), Some(ratio)) => println!(
                "makespan     {m:.1} s  (bound {:.1} s, makespan/bound {ratio:.3})",
                r.bound_s
            ),
            _ => println!(
                "makespan     unfinished after {:.1} s  (bound {:.1} s)",
                self.output.end_s, r.bound_s
            ),
        }
        if let Some(ratio) = r
            .makespan_over_join_bound()
            .filter(|_| r.join_bound_s() > r.bound_s)
        {
            println!(
                "joins        staggered: join-aware bound {:.1} s, makespan/join bound {ratio:.3}",
                r.join_bound_s()
            );
        }
        println!(
            "origin       {:.2} copies of the file uploaded",
            r.origin_copies()
        );
        if let Some(u) = &r.upload_fairness {
            println!("peer upload  {u}");
        }
        if !self.crashed.is_empty() {
            println!(
                "crashed      {} (by a peer-crash fault: not counted in the makespan)",
                self.crashed.join(", ")
            );
        }
        if !self.unfinished.is_empty() {
            println!("unfinished   {}", self.unfinished.join(", "));
        }
        println!(
            "simulation   {} events in {:.2} s wall ({:.2} M events/s)",
            self.output.events,
            self.wall_s,
            self.events_per_s() / 1e6
        );
        println!("record       {}", self.record_path.display());
    }
}

/// Peers without a completion time: those a `peer-crash` fault killed, and the others.
fn unfinished_peers(scenario: &Scenario, record: &RunRecord) -> (Vec<String>, Vec<String>) {
    let crashed_by_fault = |id: &str| {
        scenario
            .faults
            .iter()
            .any(|f| matches!(f, Fault::PeerCrash { node, .. } if node == id))
    };
    record
        .nodes
        .iter()
        .filter(|n| n.role == NodeRole::Peer && n.completed_s.is_none())
        .map(|n| n.id.clone())
        .partition(|id| crashed_by_fault(id))
}

/// A bar in tenths of simulated seconds, sized to twice the bound (it may overrun).
fn progress_bar(bound_s: f64) -> Option<ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let style = ProgressStyle::with_template("simulating [{bar:40}] {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
    let total = ((bound_s * 2.0) * 10.0).max(1.0) as u64;
    Some(ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr()).with_style(style))
}

/// The scenario expanded for a real run: what `scripts/netns-run` builds hosts from.
fn plan(scenario: &Scenario, seed: u64, strategy: &str) -> serde_json::Value {
    let joins = scenario.join_times(seed);
    let nodes: Vec<serde_json::Value> = scenario
        .nodes
        .iter()
        .zip(&joins)
        .map(|(node, join)| {
            serde_json::json!({
                "id": node.id,
                "upload_bps": node.upload_bps,
                "download_bps": node.download_bps,
                "latency_s": node.latency.as_secs_f64(),
                "join_s": join.as_secs_f64(),
                "leave_after_done": node.leave_after_done,
            })
        })
        .collect();
    let faults: Vec<serde_json::Value> = scenario
        .faults
        .iter()
        .map(|fault| match fault {
            Fault::PeerCrash { node, at } => {
                serde_json::json!({"kind": "peer-crash", "node": node, "at_s": at.as_secs_f64()})
            }
            Fault::OriginRestart { at, downtime } => serde_json::json!({
                "kind": "origin-restart",
                "at_s": at.as_secs_f64(),
                "duration_s": downtime.as_secs_f64(),
            }),
            Fault::TrackerOutage { at, duration } => serde_json::json!({
                "kind": "tracker-outage",
                "at_s": at.as_secs_f64(),
                "duration_s": duration.as_secs_f64(),
            }),
            Fault::LinkDegraded {
                node,
                at,
                duration,
                upload_bps,
                download_bps,
            } => serde_json::json!({
                "kind": "link-degraded",
                "node": node,
                "at_s": at.as_secs_f64(),
                "duration_s": duration.map(|d| d.as_secs_f64()),
                "upload_bps": upload_bps,
                "download_bps": download_bps,
            }),
            // A real `swarm seed` never serves corrupt data on purpose.
            other @ Fault::CorruptPeer { .. } => {
                serde_json::json!({"kind": "unsupported-in-real-runs", "fault": format!("{other:?}")})
            }
        })
        .collect();
    serde_json::json!({
        "name": scenario.name,
        "seed": seed,
        "strategy": strategy,
        "file_size_bytes": scenario.file_size_bytes,
        "piece_size_bytes": scenario.piece_size_bytes,
        "bound_s": scenario.bound_s(),
        "nodes": nodes,
        "faults": faults,
    })
}
