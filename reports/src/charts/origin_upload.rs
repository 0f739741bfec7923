//! `origin-upload`: the origin's upload rate over time, one step line per record, derived
//! from the origin's cumulative samples; the origin's nominal uplink is a dashed line.

use plotters::coord::Shift;
use plotters::prelude::*;
use swarm_engine::record::RunRecord;

use super::legend::{self, Entry, Mark};
use super::style::{self, LINE_WIDTH};
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
    let max_bps = lines
        .iter()
        .flat_map(|(_, l)| l.steps.iter().map(|s| s.bits_per_s).chain(l.uplink_bps))
        .fold(0.0, f64::max);
    let unit = RateUnit::for_max(max_bps);
    OriginUploadChart {
        title: style::title("Origin upload rate", records),
        x_max_s: style::axis_max(
            lines
                .iter()
                .flat_map(|(_, l)| l.steps.last().map(|s| s.end_s)),
        ),
        y_max: style::axis_max([unit.scale(max_bps)]),
        unit,
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
        root.fill(&WHITE)?;
        let unit = self.unit;
        let values: Vec<(usize, &str, Option<f64>)> = self
            .lines
            .iter()
            .map(|(i, l)| (*i, l.label.as_str(), l.uplink_bps))
            .collect();
        let references =
            style::references(&values, |bps| format!("origin uplink {}", format_rate(bps)));
        let mut entries: Vec<Entry> = self
            .lines
            .iter()
            .map(|(i, line)| Entry::new(line.label.clone(), Mark::Line, style::color(*i)))
            .collect();
        entries.extend(
            references
                .iter()
                .map(|r| Entry::new(r.label.clone(), Mark::Dashed, r.color)),
        );
        let (plot, strip) = legend::split(root, &entries);

        let mut chart = ChartBuilder::on(&plot)
            .caption(&self.title, style::title_font())
            .margin(24)
            .x_label_area_size(60)
            .y_label_area_size(90)
            .build_cartesian_2d(0.0..self.x_max_s, 0.0..self.y_max)?;
        chart
            .configure_mesh()
            .x_desc("time since start (s)")
            .y_desc(format!("origin upload ({})", unit.symbol()))
            .axis_desc_style(style::axis_desc_font())
            .label_style(style::tick_font())
            .bold_line_style(style::grid_style())
            .light_line_style(style::light_grid_style())
            .max_light_lines(4)
            .draw()?;

        for reference in &references {
            let y = unit.scale(reference.value);
            chart.draw_series(DashedLineSeries::new(
                [(0.0, y), (self.x_max_s, y)],
                10,
                6,
                reference.color.stroke_width(2),
            ))?;
        }
        for (i, line) in &self.lines {
            let points = series::step_polyline(&line.steps)
                .into_iter()
                .map(|(t, bps)| (t, unit.scale(bps)));
            chart.draw_series(LineSeries::new(
                points,
                style::color(*i).stroke_width(LINE_WIDTH),
            ))?;
        }
        legend::draw(&strip, &entries)
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
