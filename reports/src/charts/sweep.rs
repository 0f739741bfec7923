//! `sweep`: how a rollout scales. One point per run of a sweep (`swarm sim --sweep`), the
//! swept value (peers, file size) on the x axis, and three lines: makespan ÷ bound, origin
//! upload in copies, and Jain's fairness index of the peer uploads. A dashed line at 1 is
//! where the first two should be.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::legend::{self, Entry, Mark};
use super::style::{self, LINE_WIDTH};
use super::{Chart, DrawResult};
use crate::sweep::SweepRow;

/// The chart, ready to draw.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SweepChart {
    title: String,
    x_desc: String,
    /// `(label, points)` per line.
    lines: Vec<(&'static str, Vec<(f64, f64)>)>,
    notes: Vec<String>,
}

/// Builds the chart of `rows`, whose `value` is described by `x_desc`.
pub(crate) fn build(title: &str, x_desc: &str, rows: &[SweepRow]) -> SweepChart {
    let line = |f: fn(&SweepRow) -> Option<f64>| -> Vec<(f64, f64)> {
        rows.iter()
            .filter_map(|r| f(r).filter(|y| y.is_finite()).map(|y| (r.value, y)))
            .collect()
    };
    let mut notes = Vec::new();
    let unfinished: Vec<String> = rows
        .iter()
        .filter(|r| r.makespan_over_bound.is_none())
        .map(|r| r.label.clone())
        .collect();
    if !unfinished.is_empty() {
        notes.push(format!(
            "sweep: no makespan at {} (some peers never finished)",
            unfinished.join(", ")
        ));
    }
    SweepChart {
        title: title.to_string(),
        x_desc: x_desc.to_string(),
        lines: vec![
            ("makespan / bound", line(|r| r.makespan_over_bound)),
            ("origin upload (copies)", line(|r| r.origin_copies)),
            ("Jain's index of peer uploads", line(|r| r.jain_index)),
        ],
        notes,
    }
}

impl Chart for SweepChart {
    const NAME: &'static str = "sweep";

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let points = self.lines.iter().flat_map(|(_, p)| p.iter());
        let (mut x_min, mut x_max, mut y_max) = (f64::INFINITY, 0.0_f64, 1.0_f64);
        for &(x, y) in points {
            x_min = x_min.min(x);
            x_max = x_max.max(x);
            y_max = y_max.max(y);
        }
        if !x_min.is_finite() {
            return style::draw_no_data(root, &self.title, "no run of the sweep finished");
        }
        root.fill(&WHITE)?;
        let mut entries: Vec<Entry> = self
            .lines
            .iter()
            .enumerate()
            .map(|(i, (label, _))| Entry::new(*label, Mark::Line, style::color(i)))
            .collect();
        entries.push(Entry::new(
            "1 (the bound, one copy)",
            Mark::Dashed,
            style::REFERENCE,
        ));
        let (plot, strip) = legend::split(root, &entries);
        let pad = ((x_max - x_min) * 0.05).max(0.5);
        let (x0, x1) = ((x_min - pad).max(0.0), x_max + pad);
        let mut chart = ChartBuilder::on(&plot)
            .caption(self.title.as_str(), style::title_font())
            .margin(24)
            .x_label_area_size(60)
            .y_label_area_size(80)
            .build_cartesian_2d(x0..x1, 0.0..y_max * 1.1)?;
        let mut mesh = chart.configure_mesh();
        style::style_mesh(&mut mesh)
            .x_desc(self.x_desc.as_str())
            .y_desc("ratio, copies, index");
        mesh.draw()?;
        chart.draw_series(DashedLineSeries::new(
            [(x0, 1.0), (x1, 1.0)],
            10,
            6,
            style::REFERENCE.stroke_width(2),
        ))?;
        for (i, (_, points)) in self.lines.iter().enumerate() {
            let color = style::color(i);
            chart.draw_series(LineSeries::new(
                points.iter().copied(),
                color.stroke_width(LINE_WIDTH),
            ))?;
            chart.draw_series(points.iter().map(|&p| Circle::new(p, 5, color.filled())))?;
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

    fn row(value: f64, ratio: Option<f64>) -> SweepRow {
        SweepRow {
            label: format!("{value}"),
            value,
            makespan_over_bound: ratio,
            origin_copies: Some(1.1),
            min_peer_copies: Some(0.9),
            max_peer_copies: Some(1.1),
            jain_index: Some(0.99),
        }
    }

    #[test]
    fn lines_skip_points_without_a_value_and_say_so() {
        let chart = build("t", "peers", &[row(6.0, Some(1.05)), row(12.0, None)]);
        assert_eq!(chart.lines[0].1, vec![(6.0, 1.05)]);
        assert_eq!(chart.lines[1].1.len(), 2);
        assert_eq!(chart.notes.len(), 1);
        assert!(chart.notes[0].contains("12"), "{:?}", chart.notes);
    }
}
