//! # swarm-reports: run records to charts and a summary
//!
//! Reads the run records that `swarm sim`, `swarm demo` and real runs write
//! ([`RunRecord`]) and renders them for people: four charts, each as SVG and PNG, and a short
//! summary as text and JSON. Several records (naive against bittorrent, predicted against
//! measured) share the same axes, one colour per record, with a legend.
//!
//! | file | what it shows |
//! | --- | --- |
//! | `completion-cdf.{svg,png}` | fraction of peers done against time; each record's bound dashed |
//! | `upload-share.{svg,png}` | upload per node in copies of the file, origin first |
//! | `origin-upload.{svg,png}` | the origin's upload rate over time |
//! | `throughput.{svg,png}` | the swarm's total download rate against the bound's average rate |
//! | `summary.txt`, `summary.json` | per record: makespan against bound, origin copies, upload fairness, stragglers |
//! | `sweep.{svg,png}` | [`render_sweep`]: makespan ÷ bound, origin copies and Jain's index against a swept value |
//!
//! Contract:
//! - Bad content never panics and never fails the report: a chart with nothing to plot says
//!   "no data" and why, and [`ReportSummary::notes`] lists what was skipped. Only I/O and
//!   drawing failures are errors ([`ReportError`]).
//! - PNG text uses one embedded font (DejaVu Sans) through plotters' `ab_glyph` renderer, so
//!   rendering needs no system fonts or fontconfig. SVG text names the generic `sans-serif`.
//! - Output depends only on the records and labels: the same input gives the same files.
//!
//! Inside: `series` holds the math (CDFs, resampling, rates), `charts` one module per chart
//! plus their shared style and legend, `summary` the summary, `font` the embedded font,
//! `units` the choice of Mbit/s or Gbit/s.

mod charts;
mod error;
mod font;
mod series;
mod summary;
mod sweep;
mod units;

use std::fs;
use std::path::Path;

use swarm_engine::record::RunRecord;

use crate::charts::Chart;
pub use crate::error::ReportError;
pub use crate::summary::{RecordSummary, ReportSummary, SlowestPeer};
pub use crate::sweep::{render_sweep, SweepRow, SweepTable};

/// Name of the text summary written by [`render`].
pub const SUMMARY_TXT: &str = "summary.txt";
/// Name of the JSON summary written by [`render`].
pub const SUMMARY_JSON: &str = "summary.json";
/// File stems of the charts written by [`render`], each as `.svg` and `.png`.
pub const CHARTS: [&str; 4] = [
    charts::completion_cdf::CompletionCdfChart::NAME,
    charts::upload_share::UploadShareChart::NAME,
    <charts::origin_upload::OriginUploadChart as charts::Chart>::NAME,
    <charts::throughput::ThroughputChart as charts::Chart>::NAME,
];

/// Reads and parses one run record (JSON).
pub fn load_record(path: &Path) -> Result<RunRecord, ReportError> {
    let text = fs::read_to_string(path).map_err(|source| ReportError::ReadRecord {
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|source| ReportError::ParseRecord {
        path: path.to_path_buf(),
        source,
    })
}

/// Renders `records` (each with its legend label) into `out_dir`, which is created if
/// missing: the four charts as SVG and PNG, `summary.txt` and `summary.json`. Returns the
/// summary, which also lists the files written and notes on data that could not be plotted.
///
/// Records may be empty or incomplete (no samples, no peers, peers that never finished, a
/// zero file size): the affected charts say "no data" instead of failing.
pub fn render(
    records: &[(String, RunRecord)],
    out_dir: &Path,
) -> Result<ReportSummary, ReportError> {
    font::ensure_registered()?;
    fs::create_dir_all(out_dir).map_err(|source| ReportError::CreateDir {
        path: out_dir.to_path_buf(),
        source,
    })?;

    let mut summary = ReportSummary::of_records(records);
    write_chart(
        &charts::completion_cdf::build(records),
        out_dir,
        &mut summary,
    )?;
    write_chart(&charts::upload_share::build(records), out_dir, &mut summary)?;
    write_chart(
        &charts::origin_upload::build(records),
        out_dir,
        &mut summary,
    )?;
    write_chart(&charts::throughput::build(records), out_dir, &mut summary)?;

    summary.files.push(SUMMARY_TXT.to_string());
    summary.files.push(SUMMARY_JSON.to_string());
    write_file(&out_dir.join(SUMMARY_TXT), summary.to_string())?;
    let json_path = out_dir.join(SUMMARY_JSON);
    let mut json =
        serde_json::to_string_pretty(&summary).map_err(|source| ReportError::SerializeSummary {
            path: json_path.clone(),
            source,
        })?;
    json.push('\n');
    write_file(&json_path, json)?;
    Ok(summary)
}

fn write_chart<C: Chart>(
    chart: &C,
    out_dir: &Path,
    summary: &mut ReportSummary,
) -> Result<(), ReportError> {
    summary.files.extend(charts::write(chart, out_dir)?);
    summary.notes.extend_from_slice(chart.notes());
    Ok(())
}

fn write_file(path: &Path, contents: String) -> Result<(), ReportError> {
    fs::write(path, contents).map_err(|source| ReportError::WriteFile {
        path: path.to_path_buf(),
        source,
    })
}
