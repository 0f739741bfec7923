//! The line chart over time shared by `completion-cdf`, `origin-upload` and `throughput`: one
//! line per record in the record's colour, dashed reference lines (bounds, capacities) behind
//! them, and the legend strip naming both.
//!
//! A chart module turns its series into a [`LineChart`] (or, for a rate over time, calls
//! [`rate_over_time`]) and draws that; the axes, grid, fonts and legend then match across
//! charts by construction.

use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::coord::Shift;
use plotters::prelude::*;

use super::legend::{self, Entry, Mark};
use super::style::{self, Reference, LINE_WIDTH};
use super::time_axis::{self, TimeAxis};
use super::DrawResult;
use crate::series::{self, RateStep};
use crate::units::RateUnit;

/// Which way the reference lines run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReferenceAxis {
    /// Horizontal lines at `y = value` (a rate).
    Y,
    /// Vertical lines at `x = value` (a time).
    X,
}

/// One record's line.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Line {
    /// Index of the record: picks the colour.
    pub(crate) record: usize,
    /// Legend label.
    pub(crate) label: String,
    /// The polyline, in axis units.
    pub(crate) points: Vec<(f64, f64)>,
    /// When the record's run ended, if not at the last point (a CDF carried on to the
    /// right edge); picks the time axis.
    pub(crate) end_s: Option<f64>,
}

/// Turns a tick value into its label.
pub(crate) type TickFormatter<'a> = &'a dyn Fn(&f64) -> String;

/// A line chart whose x axis is the time since the start of the run.
pub(crate) struct LineChart<'a> {
    pub(crate) title: &'a str,
    pub(crate) x_max: f64,
    pub(crate) y_max: f64,
    /// Width of the area left of the plot for the y ticks and description, in pixels.
    pub(crate) y_label_area_size: u32,
    pub(crate) y_desc: String,
    /// Number of y ticks and their formatter, instead of plotters' defaults.
    pub(crate) y_ticks: Option<(usize, TickFormatter<'a>)>,
    pub(crate) lines: Vec<Line>,
    /// Reference lines, with values in axis units.
    pub(crate) references: Vec<Reference>,
    pub(crate) reference_axis: ReferenceAxis,
}

impl LineChart<'_> {
    /// Draws the chart on `root`: white canvas, title, axes, references, lines and legend.
    /// Time is on a log axis when one run lasts many times longer than another.
    pub(crate) fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        root.fill(&WHITE)?;
        let mut entries: Vec<Entry> = self
            .lines
            .iter()
            .map(|line| Entry::new(line.label.clone(), Mark::Line, style::color(line.record)))
            .collect();
        entries.extend(
            self.references
                .iter()
                .map(|r| Entry::new(r.label.clone(), Mark::Dashed, r.color)),
        );
        let (plot, strip) = legend::split(root, &entries);
        match self.time_axis() {
            TimeAxis::Linear => self.draw_plot(&plot, 0.0..self.x_max, TimeAxis::Linear, None)?,
            axis @ TimeAxis::Log { start_s } => {
                let x_max = self.x_max.max(start_s * 10.0);
                let tick: &dyn Fn(&f64) -> String = &time_axis::log_tick;
                self.draw_plot(&plot, (start_s..x_max).log_scale(), axis, Some(tick))?
            }
        }
        legend::draw(&strip, &entries)
    }

    /// The time axis that suits the lines' ends.
    pub(crate) fn time_axis(&self) -> TimeAxis {
        TimeAxis::for_ends(
            self.lines
                .iter()
                .filter_map(|line| line.end_s.or_else(|| line.points.last().map(|&(t, _)| t))),
        )
    }

    fn draw_plot<DB, X>(
        &self,
        plot: &DrawingArea<DB, Shift>,
        x_spec: X,
        axis: TimeAxis,
        x_ticks: Option<TickFormatter<'_>>,
    ) -> DrawResult<DB>
    where
        DB: DrawingBackend,
        X: AsRangedCoord<Value = f64>,
        X::CoordDescType: ValueFormatter<f64>,
    {
        let mut chart = ChartBuilder::on(plot)
            .caption(self.title, style::title_font())
            .margin(24)
            .x_label_area_size(60)
            .y_label_area_size(self.y_label_area_size)
            .build_cartesian_2d(x_spec, 0.0..self.y_max)?;
        let mut mesh = chart.configure_mesh();
        style::style_mesh(&mut mesh)
            .x_desc(axis.desc())
            .y_desc(self.y_desc.as_str());
        if let Some(formatter) = x_ticks {
            mesh.x_label_formatter(formatter);
        }
        if let Some((count, formatter)) = self.y_ticks {
            mesh.y_labels(count).y_label_formatter(formatter);
        }
        mesh.draw()?;

        // On a log axis, what happened before its start is drawn at its start.
        let x0 = axis.start_s();
        for reference in &self.references {
            let v = reference.value;
            let ends = match self.reference_axis {
                ReferenceAxis::Y => [(x0, v), (self.x_max, v)],
                ReferenceAxis::X => [(v.max(x0), 0.0), (v.max(x0), self.y_max)],
            };
            chart.draw_series(DashedLineSeries::new(
                ends,
                10,
                6,
                reference.color.stroke_width(2),
            ))?;
        }
        for line in &self.lines {
            chart.draw_series(LineSeries::new(
                line.points.iter().map(|&(t, y)| (t.max(x0), y)),
                style::color(line.record).stroke_width(LINE_WIDTH),
            ))?;
        }
        Ok(())
    }
}

/// The axes of a chart of rates over time: where time ends, the rate unit, and the top of
/// the y axis in that unit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct RateAxes {
    pub(crate) x_max_s: f64,
    pub(crate) unit: RateUnit,
    pub(crate) y_max: f64,
}

/// Axes that fit `lines`, given as `(steps, reference rate in bits/s)`: the last step's end
/// and the highest rate, steps and references alike, with some headroom.
pub(crate) fn rate_axes<'a>(
    lines: impl IntoIterator<Item = (&'a [RateStep], Option<f64>)>,
) -> RateAxes {
    let lines: Vec<_> = lines.into_iter().collect();
    let max_bps = lines
        .iter()
        .flat_map(|(steps, reference)| steps.iter().map(|s| s.bits_per_s).chain(*reference))
        .fold(0.0, f64::max);
    let unit = RateUnit::for_max(max_bps);
    RateAxes {
        x_max_s: style::axis_max(
            lines
                .iter()
                .flat_map(|(steps, _)| steps.last().map(|s| s.end_s)),
        ),
        unit,
        y_max: style::axis_max([unit.scale(max_bps)]),
    }
}

/// A chart of rates over time on `axes`: one step line per record, given as
/// `(record index, label, steps, reference rate in bits/s)`, with horizontal reference lines
/// labelled by `describe` (see [`style::references`]); `y_desc` gets the unit appended.
pub(crate) fn rate_over_time<'a, 'l>(
    title: &'a str,
    axes: RateAxes,
    y_desc: &str,
    lines: impl IntoIterator<Item = (usize, &'l str, &'l [RateStep], Option<f64>)>,
    describe: impl Fn(f64) -> String,
) -> LineChart<'a> {
    let RateAxes {
        x_max_s,
        unit,
        y_max,
    } = axes;
    let lines: Vec<_> = lines.into_iter().collect();
    let values: Vec<(usize, &str, Option<f64>)> = lines
        .iter()
        .map(|&(record, label, _, reference)| (record, label, reference))
        .collect();
    let references = style::references(&values, describe)
        .into_iter()
        .map(|r| Reference {
            value: unit.scale(r.value),
            ..r
        })
        .collect();
    LineChart {
        title,
        x_max: x_max_s,
        y_max,
        y_label_area_size: 90,
        y_desc: format!("{y_desc} ({})", unit.symbol()),
        y_ticks: None,
        lines: lines
            .iter()
            .map(|&(record, label, steps, _)| Line {
                record,
                label: label.to_string(),
                points: series::step_polyline(steps)
                    .into_iter()
                    .map(|(t, bps)| (t, unit.scale(bps)))
                    .collect(),
                end_s: None,
            })
            .collect(),
        references,
        reference_axis: ReferenceAxis::Y,
    }
}
