//! `throughput`: the whole swarm's download rate over time, one step line per record, against
//! the average rate the bound implies (peers × file size × 8 / bound) as a dashed line.

use plotters::coord::Shift;
use plotters::prelude::*;
use swarm_engine::record::RunRecord;

use super::line_chart;
use super::style;
use super::{Chart, DrawResult};
use crate::series::{bound_average_rate_bps, swarm_download_rate, RateStep, GRID_STEPS};
use crate::units::{format_rate, RateUnit};

/// One record's line.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ThroughputLine {
    pub(crate) label: String,
    pub(crate) steps: Vec<RateStep>,
    /// The average rate needed to meet the bound, if the bound is known.
    pub(crate) bound_bps: Option<f64>,
}

/// The swarm throughput chart.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ThroughputChart {
    pub(crate) title: String,
    /// Records with samples, by record index (colour).
    pub(crate) lines: Vec<(usize, ThroughputLine)>,
    pub(crate) x_max_s: f64,
    pub(crate) unit: RateUnit,
    pub(crate) y_max: f64,
    pub(crate) notes: Vec<String>,
}

/// Builds the chart's series from labelled records.
pub(crate) fn build(records: &[(String, RunRecord)]) -> ThroughputChart {
    let name = ThroughputChart::NAME;
    let mut notes = Vec::new();
    let mut lines = Vec::new();
    for (i, (label, record)) in records.iter().enumerate() {
        let steps = swarm_download_rate(record, GRID_STEPS);
        if steps.is_empty() {
            notes.push(format!(
                "{name}: record '{label}' has no samples spanning time"
            ));
            continue;
        }
        let bound_bps = bound_average_rate_bps(record).filter(|bps| *bps > 0.0);
        if bound_bps.is_none() {
            notes.push(format!(
                "{name}: record '{label}' has no usable bound (bound_s {}, file size {} bytes)",
                record.bound_s, record.file_size
            ));
        }
        lines.push((
            i,
            ThroughputLine {
                label: label.clone(),
                steps,
                bound_bps,
            },
        ));
    }
    let axes = line_chart::rate_axes(lines.iter().map(|(_, l)| (l.steps.as_slice(), l.bound_bps)));
    ThroughputChart {
        title: style::title("Swarm download throughput", records),
        x_max_s: axes.x_max_s,
        y_max: axes.y_max,
        unit: axes.unit,
        lines,
        notes,
    }
}

impl Chart for ThroughputChart {
    const NAME: &'static str = "throughput";

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        if self.lines.is_empty() {
            return style::draw_no_data(root, &self.title, "no record has samples");
        }
        let axes = line_chart::RateAxes {
            x_max_s: self.x_max_s,
            unit: self.unit,
            y_max: self.y_max,
        };
        let lines = self
            .lines
            .iter()
            .map(|(i, l)| (*i, l.label.as_str(), l.steps.as_slice(), l.bound_bps));
        line_chart::rate_over_time(&self.title, axes, "total download rate", lines, |bps| {
            format!("rate to meet the bound, {}", format_rate(bps))
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
    fn bound_line_and_notes() {
        let mut peer = node("p", NodeRole::Peer, Some(10.0));
        peer.samples = vec![sample(10.0, 0, 1_000)];
        let mut good = record(vec![node("origin", NodeRole::Origin, None), peer]);
        good.bound_s = 8.0;
        let mut no_bound = good.clone();
        no_bound.bound_s = 0.0;
        let no_samples = record(vec![node("p", NodeRole::Peer, None)]);
        let chart = build(&[
            ("a".into(), good),
            ("b".into(), no_bound),
            ("c".into(), no_samples),
        ]);
        assert_eq!(chart.lines.len(), 2);
        // 1 peer × 1000 bytes × 8 / 8 s.
        assert_eq!(chart.lines[0].1.bound_bps, Some(1_000.0));
        assert_eq!(chart.lines[1].1.bound_bps, None);
        assert_eq!(chart.unit, RateUnit::Mbit);
        assert_eq!(chart.notes.len(), 2, "{:?}", chart.notes);
    }
}
