//! `completion-cdf`: the fraction of peers done against time, one step line per record, and
//! each record's bound as a dashed vertical line in the record's colour.

use plotters::coord::Shift;
use plotters::prelude::*;
use swarm_engine::record::RunRecord;

use super::line_chart::{Line, LineChart, ReferenceAxis};
use super::style;
use super::{Chart, DrawResult};
use crate::series::{completion_cdf, CompletionCdf};

/// Top of the y axis: a little above 100 % so a finished run's line stays visible.
const Y_MAX: f64 = 1.02;

/// One record's line.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CdfLine {
    pub(crate) label: String,
    pub(crate) cdf: CompletionCdf,
    /// The record's bound, if it is a positive time.
    pub(crate) bound_s: Option<f64>,
}

/// The completion-time CDF chart.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CompletionCdfChart {
    pub(crate) title: String,
    /// One entry per record with peers, in record order (colour = index in the records).
    pub(crate) lines: Vec<(usize, CdfLine)>,
    pub(crate) x_max_s: f64,
    pub(crate) notes: Vec<String>,
}

/// Builds the chart's series from labelled records.
pub(crate) fn build(records: &[(String, RunRecord)]) -> CompletionCdfChart {
    let mut notes = Vec::new();
    let mut lines = Vec::new();
    for (i, (label, record)) in records.iter().enumerate() {
        let cdf = completion_cdf(&record.nodes);
        let bound_s =
            (record.bound_s.is_finite() && record.bound_s > 0.0).then_some(record.bound_s);
        if cdf.peers == 0 {
            notes.push(format!(
                "{}: record '{label}' has no peers",
                CompletionCdfChart::NAME
            ));
            continue;
        }
        if cdf.finished == 0 {
            notes.push(format!(
                "{}: no peer of record '{label}' finished",
                CompletionCdfChart::NAME
            ));
        }
        lines.push((
            i,
            CdfLine {
                label: label.clone(),
                cdf,
                bound_s,
            },
        ));
    }
    let x_max_s = style::axis_max(lines.iter().flat_map(|(_, l)| {
        l.cdf
            .points
            .iter()
            .map(|p| p.0)
            .chain(l.bound_s)
            .collect::<Vec<_>>()
    }));
    CompletionCdfChart {
        title: style::title("Completion time of peers (CDF)", records),
        lines,
        x_max_s,
        notes,
    }
}

impl Chart for CompletionCdfChart {
    const NAME: &'static str = "completion-cdf";

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        if self.lines.is_empty() {
            return style::draw_no_data(root, &self.title, "no record has peers");
        }
        let bounds: Vec<(usize, &str, Option<f64>)> = self
            .lines
            .iter()
            .map(|(i, l)| (*i, l.label.as_str(), l.bound_s))
            .collect();
        let percent = |y: &f64| format!("{:.0} %", y * 100.0);
        LineChart {
            title: &self.title,
            x_max: self.x_max_s,
            y_max: Y_MAX,
            y_label_area_size: 80,
            y_desc: "peers done".to_string(),
            y_ticks: Some((11, &percent)),
            lines: self
                .lines
                .iter()
                .map(|(i, line)| {
                    let mut points = line.cdf.points.clone();
                    let end_s = points.last().map(|&(t, _)| t);
                    // Carry the last fraction to the right edge: the peers still missing stay
                    // missing.
                    if let Some(&(_, fraction)) = points.last() {
                        points.push((self.x_max_s, fraction));
                    }
                    Line {
                        record: *i,
                        label: format!(
                            "{} ({} of {} peers done)",
                            line.label, line.cdf.finished, line.cdf.peers
                        ),
                        points,
                        end_s,
                    }
                })
                .collect(),
            references: style::references(&bounds, |b| format!("bound {b:.2} s")),
            reference_axis: ReferenceAxis::X,
        }
        .draw(root)
    }

    fn notes(&self) -> &[String] {
        &self.notes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::series::tests::{node, record};
    use swarm_engine::record::NodeRole;

    #[test]
    fn range_covers_the_bound_and_records_without_peers_are_noted() {
        let mut with_peers = record(vec![
            node("origin", NodeRole::Origin, None),
            node("p1", NodeRole::Peer, Some(4.0)),
        ]);
        with_peers.bound_s = 8.0;
        let no_peers = record(vec![node("origin", NodeRole::Origin, None)]);
        let chart = build(&[("bt".into(), with_peers), ("empty".into(), no_peers)]);
        assert_eq!(chart.lines.len(), 1);
        assert_eq!(chart.lines[0].1.bound_s, Some(8.0));
        assert!((chart.x_max_s - 8.4).abs() < 1e-9);
        assert_eq!(
            chart.notes,
            vec!["completion-cdf: record 'empty' has no peers"]
        );
    }
}
