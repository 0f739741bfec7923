//! `swarm report RECORD...`: charts and a summary from one or more run records.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use super::Outcome;

/// Render run records (from `swarm sim`, `swarm demo` or `scripts/netns-run`) as charts
/// (SVG and PNG: completion-time CDF, upload share, origin upload rate, swarm throughput
/// against the bound) and a summary. Several records are drawn on the same axes, e.g.
/// naive against bittorrent, or predicted against measured.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Run records (record.json); label one with LABEL=PATH.
    #[arg(required = true, value_name = "RECORD")]
    records: Vec<String>,
    /// Output directory.
    #[arg(long, default_value = "out/report", value_name = "DIR")]
    out: PathBuf,
    /// Print the summary as JSON.
    #[arg(long)]
    pub(super) json: bool,
}

/// Runs `swarm report`.
pub fn run_report(args: ReportArgs) -> anyhow::Result<Outcome> {
    let mut records = Vec::new();
    for arg in &args.records {
        let (label, path) = match arg.split_once('=') {
            Some((label, path)) if !label.is_empty() => (label.to_string(), PathBuf::from(path)),
            _ => {
                let path = PathBuf::from(arg);
                let record = swarm_reports::load_record(&path)?;
                let label = format!(
                    "{} ({}, {:?})",
                    record.scenario, record.strategy, record.source
                )
                .to_lowercase();
                records.push((label, record));
                continue;
            }
        };
        records.push((label, swarm_reports::load_record(&path)?));
    }
    let summary = swarm_reports::render(&records, &args.out)
        .with_context(|| format!("cannot render into {}", args.out.display()))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        print!("{summary}");
        println!("charts in {}", args.out.display());
    }
    Ok(Outcome::Success)
}
