//! The shared form of the charts of one rate over time (`origin-upload`, `throughput`): a
//! step line per record, each with a dashed reference rate. A [`RateKind`] names the chart
//! and says what its line and its reference are; the charts' modules build the lines.

use std::marker::PhantomData;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::line_chart::{self, RateAxes};
use super::style;
use super::{Chart, DrawResult};
use crate::series::RateStep;
use crate::units::RateUnit;

/// What one chart of rates over time shows.
pub(crate) trait RateKind {
    /// File stem of the chart's images.
    const NAME: &'static str;
    /// The y axis' description (the unit is appended).
    const Y_DESC: &'static str;
    /// Drawn instead of the chart when no record has a line.
    const NO_DATA: &'static str;
    /// The legend text of a reference line at `bps` bits/s.
    fn reference_label(bps: f64) -> String;
}

/// One record's line.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RateLine {
    pub(crate) label: String,
    pub(crate) steps: Vec<RateStep>,
    /// The reference rate drawn dashed beside the line, if known (non-zero).
    pub(crate) reference_bps: Option<f64>,
}

/// A chart of rates over time of kind `K`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RateChart<K> {
    pub(crate) title: String,
    /// The records that have a line, by record index (colour).
    pub(crate) lines: Vec<(usize, RateLine)>,
    pub(crate) x_max_s: f64,
    pub(crate) unit: RateUnit,
    pub(crate) y_max: f64,
    pub(crate) notes: Vec<String>,
    kind: PhantomData<K>,
}

impl<K: RateKind> RateChart<K> {
    /// The chart of `lines`, on axes that fit every line and reference.
    pub(crate) fn new(title: String, lines: Vec<(usize, RateLine)>, notes: Vec<String>) -> Self {
        let RateAxes {
            x_max_s,
            unit,
            y_max,
        } = line_chart::rate_axes(
            lines
                .iter()
                .map(|(_, l)| (l.steps.as_slice(), l.reference_bps)),
        );
        RateChart {
            title,
            lines,
            x_max_s,
            unit,
            y_max,
            notes,
            kind: PhantomData,
        }
    }
}

impl<K: RateKind> Chart for RateChart<K> {
    const NAME: &'static str = K::NAME;

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        if self.lines.is_empty() {
            return style::draw_no_data(root, &self.title, K::NO_DATA);
        }
        let axes = RateAxes {
            x_max_s: self.x_max_s,
            unit: self.unit,
            y_max: self.y_max,
        };
        let lines = self
            .lines
            .iter()
            .map(|(i, l)| (*i, l.label.as_str(), l.steps.as_slice(), l.reference_bps));
        line_chart::rate_over_time(&self.title, axes, K::Y_DESC, lines, K::reference_label)
            .draw(root)
    }

    fn notes(&self) -> &[String] {
        &self.notes
    }
}
