//! `swarm sim SCENARIO --sweep AXIS=V1,V2,...`: the scenario at each value, one table and
//! one chart (`sweep.svg`, `sweep.png`) of makespan ÷ bound, origin copies and fairness.

use std::path::Path;

use anyhow::Context;
use swarm_reports::{render_sweep, SweepRow, SweepTable};
use swarm_sim::{Scenario, Strategy, Sweep};

use super::Outcome;

/// What a sweep needs from `swarm sim`'s arguments.
pub struct SweepRun<'a> {
    pub spec: &'a str,
    pub scenario: &'a Scenario,
    pub seed: u64,
    pub strategy: Option<Strategy>,
    pub out: &'a Path,
    pub json: bool,
    pub no_report: bool,
}

/// Runs every point, writes each record to `OUT/AXIS-VALUE/record.json` and the chart to
/// `OUT`, and prints the table. Incomplete when some point left peers unfinished.
pub fn run_sweep(run: SweepRun<'_>) -> anyhow::Result<Outcome> {
    let sweep = Sweep::parse(run.spec)?;
    let scenarios = sweep
        .scenarios(run.scenario)
        .with_context(|| format!("cannot sweep {}", run.scenario.name))?;
    let mut rows = Vec::new();
    for ((label, value), scenario) in sweep.values.iter().zip(&scenarios) {
        let output = swarm_sim::run(scenario, run.seed, run.strategy, &mut |_| {});
        let dir = run.out.join(format!("{}-{label}", sweep.axis.name()));
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        let path = dir.join("record.json");
        std::fs::write(&path, output.record.to_json_pretty())
            .with_context(|| format!("cannot write {}", path.display()))?;
        rows.push(SweepRow::new(
            label,
            sweep.axis.chart_value(*value),
            &output.record,
        ));
    }
    let table = SweepTable {
        axis: sweep.axis.name().to_string(),
        rows,
    };
    let mut files = Vec::new();
    if !run.no_report {
        let title = format!("{}: sweep over {}", run.scenario.name, sweep.axis.name());
        match render_sweep(&title, sweep.axis.description(), &table, run.out) {
            Ok((written, notes)) => {
                files = written;
                for note in notes {
                    eprintln!("swarm: note: {note}");
                }
            }
            Err(e) => eprintln!("swarm: warning: sweep chart not rendered: {e}"),
        }
    }
    if run.json {
        let summary = serde_json::json!({
            "scenario": run.scenario.name,
            "seed": run.seed,
            "sweep": table,
            "out": run.out,
            "files": files,
        });
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        print!("{table}");
        println!("out          {}", run.out.display());
    }
    let unfinished = table.rows.iter().any(|r| r.makespan_over_bound.is_none());
    Ok(if unfinished {
        Outcome::Incomplete
    } else {
        Outcome::Success
    })
}
