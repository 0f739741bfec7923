//! `origin-upload`: the origin's upload rate over time, one step line per record, derived
//! from the origin's cumulative samples; the origin's nominal uplink is a dashed line.

use plotters::coord::Shift;
use plotters::prelude::*;
use swarm_engine::record::RunRecord;

use super::line_chart;
use super::style;
use super::{Chart, DrawResult};
use crate::series::{self, origin_upload_rate, RateStep, GRID_STEPS};
use crate::units::{format_rate, RateUnit};

/// One record's line.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct OriginLine {
    pub(crate) label: String,
    pub(crate) steps: Vec<RateStep>,
    /// The origin's nominal uplink, if known (non-zero).
    pub(crate) uplink_bps: Option<f64>,
}

/// The origin upload chart.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct OriginUploadChart {
    pub(crate) title: String,
    /// Records with an origin that has samples, by record index (colour).
    pub(crate) lines: Vec<(usize, OriginLine)>,
    pub(crate) x_max_s: f64,
    pub(crate) unit: RateUnit,
    pub(crate) y_max: f64,
    pub(crate) notes: Vec<String>,
}

/// Builds the chart's series from labelled records.
pub(crate) fn build(records: &[(String, RunRecord)]) -> OriginUploadChart {
    let name = OriginUploadChart::NAME;
    let mut notes = Vec::new();
    let mut lines = Vec::new();
    for (i, (label, record)) in records.iter().enumerate() {
        let Some(origin) = series::origin(record) else {
            notes.push(format!("{name}: record '{label}' has no origin node"));
            continue;
        };
        if origin.samples.is_empty() {
            notes.push(format!(
                "{name}: the origin of record '{label}' has no samples"
            ));
            continue;
        }
        let steps = origin_upload_rate(record, GRID_STEPS);
        if steps.is_empty() {
            notes.push(format!(
                "{name}: the samples of record '{label}' span no time"
            ));
            continue;
        }
        let uplink_bps = (origin.upload_bps > 0).then_some(origin.upload_bps as f64);
        lines.push((
            i,
            OriginLine {
                label: label.clone(),
                steps,
                uplink_bps,
            },
        ));
    }
    let axes = line_chart::rate_axes(
        lines
            .iter()
            .map(|(_, l)| (l.steps.as_slice(), l.uplink_bps)),
    );
    OriginUploadChart {
        title: style::title("Origin upload rate", records),
        x_max_s: axes.x_max_s,
        y_max: axes.y_max,
        unit: axes.unit,
        lines,
        notes,
    }
}

impl Chart for OriginUploadChart {
    const NAME: &'static str = "origin-upload";

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        if self.lines.is_empty() {
            return style::draw_no_data(root, &self.title, "no record has samples of its origin");
        }
        let axes = line_chart::RateAxes {
            x_max_s: self.x_max_s,
            unit: self.unit,
            y_max: self.y_max,
        };
        let lines = self
            .lines
            .iter()
            .map(|(i, l)| (*i, l.label.as_str(), l.steps.as_slice(), l.uplink_bps));
        line_chart::rate_over_time(&self.title, axes, "origin upload", lines, |bps| {
            format!("origin uplink {}", format_rate(bps))
        })
        .draw(root)
    }

    fn notes(&self) -> &[String] {
        &self.notes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::series::tests::{node, record, sample};
    use swarm_engine::record::NodeRole;

    #[test]
    fn lines_use_one_unit_and_skip_records_without_samples() {
        let mut origin = node("origin", NodeRole::Origin, None);
        origin.upload_bps = 10_000_000_000;
        // 1.25 GB in 2 s: 5 Gbit/s.
        origin.samples = vec![sample(2.0, 1_250_000_000, 0)];
        let sampled = record(vec![origin, node("p", NodeRole::Peer, None)]);
        let unsampled = record(vec![node("origin", NodeRole::Origin, None)]);
        let no_origin = record(vec![node("p", NodeRole::Peer, None)]);
        let chart = build(&[
            ("a".into(), sampled),
            ("b".into(), unsampled),
            ("c".into(), no_origin),
        ]);
        assert_eq!(chart.lines.len(), 1);
        assert_eq!(chart.unit, RateUnit::Gbit);
        // The uplink (10 Gbit/s) sets the top of the axis.
        assert!((chart.y_max - 10.5).abs() < 1e-9, "{}", chart.y_max);
        assert!((chart.x_max_s - 2.1).abs() < 1e-9);
        assert!(chart.lines[0]
            .1
            .steps
            .iter()
            .all(|s| (s.bits_per_s - 5e9).abs() < 1.0));
        assert_eq!(chart.notes.len(), 2);
    }
}
