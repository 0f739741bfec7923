//! A sweep: one scenario run at several values of one setting (peers, file size), as a table
//! ([`SweepRow`], `Display` for the terminal, `Serialize` for `--json`) and one chart
//! (`sweep.svg`, `sweep.png`).

use std::fmt;
use std::fs;
use std::path::Path;

use serde::Serialize;
use swarm_engine::record::{RunRecord, UploadFairness};

use crate::charts;
use crate::error::ReportError;

/// The figures of one run of a sweep.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SweepRow {
    /// The swept value as the user wrote it (`48`, `1GiB`).
    pub label: String,
    /// The swept value as a number in the chart's unit (peers, MiB), the chart's x.
    pub value: f64,
    /// `makespan / bound`; `None` if some peer never finished.
    pub makespan_over_bound: Option<f64>,
    /// Origin upload in copies of the file.
    pub origin_copies: Option<f64>,
    /// Smallest peer upload in copies.
    pub min_peer_copies: Option<f64>,
    /// Largest peer upload in copies.
    pub max_peer_copies: Option<f64>,
    /// Jain's index of the peer uploads.
    pub jain_index: Option<f64>,
}

impl SweepRow {
    /// The row of `record`, run at the swept value `value` (written `label`).
    pub fn new(label: &str, value: f64, record: &RunRecord) -> Self {
        let fairness = record
            .upload_fairness
            .or_else(|| UploadFairness::of_nodes(&record.nodes, record.file_size));
        SweepRow {
            label: label.to_string(),
            value,
            makespan_over_bound: record.makespan_over_bound(),
            origin_copies: (record.file_size > 0).then(|| record.origin_copies()),
            min_peer_copies: fairness.map(|f| f.min_peer_copies),
            max_peer_copies: fairness.map(|f| f.max_peer_copies),
            jain_index: fairness.and_then(|f| f.jain_index),
        }
    }
}

/// A whole sweep, as a table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SweepTable {
    /// What was swept (`peers`, `size`).
    pub axis: String,
    /// One row per value, in the order given.
    pub rows: Vec<SweepRow>,
}

impl fmt::Display for SweepTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cell =
            |v: Option<f64>, digits: usize| v.map_or("-".to_string(), |v| format!("{v:.digits$}"));
        writeln!(
            f,
            "{:>10} {:>16} {:>13} {:>15} {:>15} {:>7}",
            self.axis,
            "makespan/bound",
            "origin copies",
            "min peer copies",
            "max peer copies",
            "Jain"
        )?;
        for r in &self.rows {
            writeln!(
                f,
                "{:>10} {:>16} {:>13} {:>15} {:>15} {:>7}",
                r.label,
                cell(r.makespan_over_bound, 3),
                cell(r.origin_copies, 2),
                cell(r.min_peer_copies, 2),
                cell(r.max_peer_copies, 2),
                cell(r.jain_index, 3)
            )?;
        }
        Ok(())
    }
}

/// Draws `table` as `sweep.svg` and `sweep.png` in `out_dir` (created if missing), titled
/// `title`, with `x_desc` under the x axis; returns the files written and notes on points
/// that could not be plotted.
pub fn render_sweep(
    title: &str,
    x_desc: &str,
    table: &SweepTable,
    out_dir: &Path,
) -> Result<(Vec<String>, Vec<String>), ReportError> {
    crate::font::ensure_registered()?;
    fs::create_dir_all(out_dir).map_err(|source| ReportError::CreateDir {
        path: out_dir.to_path_buf(),
        source,
    })?;
    let chart = charts::sweep::build(title, x_desc, &table.rows);
    let files = charts::write(&chart, out_dir)?;
    Ok((files.to_vec(), charts::Chart::notes(&chart).to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_has_a_row_per_value_and_dashes_for_missing_figures() {
        let table = SweepTable {
            axis: "peers".into(),
            rows: vec![SweepRow {
                label: "6".into(),
                value: 6.0,
                makespan_over_bound: None,
                origin_copies: Some(1.02),
                min_peer_copies: Some(0.9),
                max_peer_copies: Some(1.1),
                jain_index: Some(0.995),
            }],
        };
        let text = table.to_string();
        assert_eq!(text.lines().count(), 2, "{text}");
        assert!(
            text.lines()
                .nth(1)
                .is_some_and(|l| l.contains(" - ") && l.contains("0.995")),
            "{text}"
        );
    }
}
