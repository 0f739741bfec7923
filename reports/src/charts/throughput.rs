//! `throughput`: the whole swarm's download rate over time, one step line per record, against
//! the average rate the bound implies (peers × file size × 8 / bound) as a dashed line.

use plotters::coord::Shift;
use plotters::prelude::*;
use swarm_engine::record::RunRecord;

use super::legend::{self, Entry, Mark};
use super::style::{self, LINE_WIDTH};
use super::{Chart, DrawResult};
use crate::series::{self, bound_average_rate_bps, swarm_download_rate, RateStep, GRID_STEPS};
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
    let max_bps = lines
        .iter()
        .flat_map(|(_, l)| l.steps.iter().map(|s| s.bits_per_s).chain(l.bound_bps))
        .fold(0.0, f64::max);
    let unit = RateUnit::for_max(max_bps);
    ThroughputChart {
        title: style::title("Swarm download throughput", records),
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

impl Chart for ThroughputChart {
    const NAME: &'static str = "throughput";

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        if self.lines.is_empty() {
            return style::draw_no_data(root, &self.title, "no record has samples");
        }
        root.fill(&WHITE)?;
        let unit = self.unit;
        let values: Vec<(usize, &str, Option<f64>)> = self
            .lines
            .iter()
            .map(|(i, l)| (*i, l.label.as_str(), l.bound_bps))
            .collect();
        let references = style::references(&values, |bps| {
            format!("rate to meet the bound, {}", format_rate(bps))
        });
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
            .y_desc(format!("total download rate ({})", unit.symbol()))
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
