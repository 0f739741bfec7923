//! `upload-share`: bytes uploaded per node, in copies of the file, as bars grouped by node
//! (origin first, on a highlighted band) with one bar per record in each group.

use std::collections::BTreeMap;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use swarm_engine::record::{NodeRole, RunRecord};

use super::legend::{self, Entry, Mark};
use super::style;
use super::{Chart, DrawResult};
use crate::font::FAMILY;

/// Share of each group's width the bars fill; the rest separates groups.
const GROUP_WIDTH: f64 = 0.8;

/// Background of the origin's group.
const BAND: RGBColor = RGBColor(255, 236, 179);

/// Approximate width of one tick-label character, in pixels, to space node labels.
const LABEL_CHAR_PX: usize = 9;

/// One record's bars.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Bars {
    /// Index of the record (colour).
    pub(crate) record: usize,
    pub(crate) label: String,
    /// Upload in copies of the file, aligned with the chart's `nodes`; `None` where the
    /// record has no such node.
    pub(crate) copies: Vec<Option<f64>>,
}

/// The upload share chart.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct UploadShareChart {
    pub(crate) title: String,
    /// Node ids across all records: origins first, then peers in order of appearance.
    pub(crate) nodes: Vec<String>,
    /// How many of `nodes` are origins.
    pub(crate) origins: usize,
    pub(crate) bars: Vec<Bars>,
    pub(crate) y_max: f64,
    pub(crate) notes: Vec<String>,
}

/// Builds the chart's bars from labelled records.
pub(crate) fn build(records: &[(String, RunRecord)]) -> UploadShareChart {
    let name = UploadShareChart::NAME;
    let mut notes = Vec::new();
    let usable: Vec<(usize, &String, &RunRecord)> = records
        .iter()
        .enumerate()
        .filter_map(|(i, (label, record))| {
            if record.file_size == 0 {
                notes.push(format!("{name}: record '{label}' has a file size of 0"));
                None
            } else if record.nodes.is_empty() {
                notes.push(format!("{name}: record '{label}' has no nodes"));
                None
            } else {
                Some((i, label, record))
            }
        })
        .collect();

    // Origins first, then peers, each in order of first appearance.
    let mut nodes: Vec<String> = Vec::new();
    let mut slot: BTreeMap<&str, usize> = BTreeMap::new();
    for role in [NodeRole::Origin, NodeRole::Peer] {
        for (_, _, record) in &usable {
            for node in record.nodes.iter().filter(|n| n.role == role) {
                if !slot.contains_key(node.id.as_str()) {
                    slot.insert(&node.id, nodes.len());
                    nodes.push(node.id.clone());
                }
            }
        }
    }
    let origins = usable
        .iter()
        .flat_map(|(_, _, r)| r.nodes.iter())
        .filter(|n| n.role == NodeRole::Origin)
        .filter_map(|n| slot.get(n.id.as_str()))
        .max()
        .map_or(0, |last| last + 1);

    let bars: Vec<Bars> = usable
        .iter()
        .map(|&(i, label, record)| {
            let mut copies = vec![None; nodes.len()];
            for node in &record.nodes {
                let Some(&j) = slot.get(node.id.as_str()) else {
                    continue;
                };
                // A duplicated id keeps its first node's figure.
                copies[j].get_or_insert(node.uploaded_bytes as f64 / record.file_size as f64);
            }
            Bars {
                record: i,
                label: label.clone(),
                copies,
            }
        })
        .collect();
    let y_max = style::axis_max(
        bars.iter()
            .flat_map(|b| b.copies.iter().flatten().copied())
            .chain([1.0]),
    );
    UploadShareChart {
        title: style::title("Upload per node, in copies of the file", records),
        nodes,
        origins,
        bars,
        y_max,
        notes,
    }
}

impl UploadShareChart {
    /// The x range of bar `k` of node slot `j`.
    fn bar_span(&self, j: usize, k: usize) -> (f64, f64) {
        let width = GROUP_WIDTH / self.bars.len().max(1) as f64;
        let start = j as f64 - GROUP_WIDTH / 2.0 + k as f64 * width;
        // A thin gap between neighbouring bars of one group.
        (start + width * 0.06, start + width * 0.94)
    }

    /// How many node labels fit along the x axis without overlapping.
    fn label_count(&self, axis_px: u32) -> usize {
        let longest = self
            .nodes
            .iter()
            .map(|n| n.chars().count())
            .max()
            .unwrap_or(1);
        let fit = axis_px as usize / (longest * LABEL_CHAR_PX + 12).max(1);
        fit.clamp(1, self.nodes.len().max(1))
    }
}

impl Chart for UploadShareChart {
    const NAME: &'static str = "upload-share";

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        if self.bars.is_empty() || self.nodes.is_empty() {
            return style::draw_no_data(root, &self.title, "no record has nodes and a file size");
        }
        root.fill(&WHITE)?;
        let mut entries = Vec::new();
        if self.origins > 0 {
            entries.push(Entry::new(
                "origin (holds the file at the start)",
                Mark::Box,
                BAND,
            ));
        }
        entries.extend(
            self.bars
                .iter()
                .map(|b| Entry::new(b.label.clone(), Mark::Box, style::color(b.record))),
        );
        entries.push(Entry::new(
            "one copy of the file",
            Mark::Dashed,
            style::REFERENCE,
        ));
        let (plot, strip) = legend::split(root, &entries);

        let x_end = self.nodes.len() as f64 - 0.5;
        let mut chart = ChartBuilder::on(&plot)
            .caption(&self.title, style::title_font())
            .margin(24)
            .x_label_area_size(60)
            .y_label_area_size(80)
            .build_cartesian_2d(-0.5..x_end, 0.0..self.y_max)?;
        let nodes = &self.nodes;
        let label_of = |x: &f64| {
            let rounded = x.round();
            if (x - rounded).abs() > 1e-6 || rounded < 0.0 {
                return String::new();
            }
            nodes.get(rounded as usize).cloned().unwrap_or_default()
        };
        let axis_px = chart.plotting_area().dim_in_pixel().0;
        style::style_mesh(&mut chart.configure_mesh())
            .disable_x_mesh()
            .x_labels(self.label_count(axis_px))
            .x_label_formatter(&label_of)
            .x_desc("node (origin first)")
            .y_desc("uploaded (copies of the file)")
            .draw()?;

        // The origin band, behind the bars.
        if self.origins > 0 {
            chart.draw_series(std::iter::once(Rectangle::new(
                [(-0.5, 0.0), (self.origins as f64 - 0.5, self.y_max)],
                BAND.filled(),
            )))?;
        }
        // One copy of the file: what each peer uploads on average when the swarm shares
        // the work evenly.
        chart.draw_series(DashedLineSeries::new(
            [(-0.5, 1.0), (x_end, 1.0)],
            8,
            6,
            style::REFERENCE.stroke_width(1),
        ))?;

        let value_font = (FAMILY, 15)
            .into_font()
            .color(&BLACK)
            .pos(Pos::new(HPos::Center, VPos::Bottom));
        for (k, bars) in self.bars.iter().enumerate() {
            let color = style::color(bars.record);
            chart.draw_series(bars.copies.iter().enumerate().filter_map(|(j, copies)| {
                let (x0, x1) = self.bar_span(j, k);
                copies.map(|c| Rectangle::new([(x0, 0.0), (x1, c)], color.filled()))
            }))?;
            // The origin's figure over its bar: the number the chart is about.
            chart.draw_series(bars.copies[..self.origins].iter().enumerate().filter_map(
                |(j, copies)| {
                    let (x0, x1) = self.bar_span(j, k);
                    copies.map(|c| {
                        EmptyElement::at(((x0 + x1) / 2.0, c))
                            + Text::new(format!("{c:.2}"), (0, -4), value_font.clone())
                    })
                },
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
    use crate::series::tests::{node, record};

    fn uploading(
        id: &str,
        role: NodeRole,
        uploaded_bytes: u64,
    ) -> swarm_engine::record::NodeRecord {
        let mut n = node(id, role, None);
        n.uploaded_bytes = uploaded_bytes;
        n
    }

    #[test]
    fn bars_align_on_the_union_of_nodes_with_the_origin_first() {
        let naive = record(vec![
            uploading("origin", NodeRole::Origin, 3_000),
            uploading("p1", NodeRole::Peer, 0),
            uploading("p2", NodeRole::Peer, 0),
        ]);
        let bt = record(vec![
            uploading("p3", NodeRole::Peer, 900),
            uploading("origin", NodeRole::Origin, 1_100),
            uploading("p1", NodeRole::Peer, 1_000),
        ]);
        let mut zero = bt.clone();
        zero.file_size = 0;
        let chart = build(&[
            ("naive".into(), naive),
            ("zero".into(), zero),
            ("bt".into(), bt),
        ]);
        assert_eq!(chart.nodes, vec!["origin", "p1", "p2", "p3"]);
        assert_eq!(chart.origins, 1);
        assert_eq!(chart.bars.len(), 2);
        assert_eq!(
            chart.bars[0].copies,
            vec![Some(3.0), Some(0.0), Some(0.0), None]
        );
        assert_eq!(chart.bars[1].record, 2);
        assert_eq!(
            chart.bars[1].copies,
            vec![Some(1.1), Some(1.0), None, Some(0.9)]
        );
        assert!((chart.y_max - 3.15).abs() < 1e-9);
        assert_eq!(
            chart.notes,
            vec!["upload-share: record 'zero' has a file size of 0"]
        );
    }

    #[test]
    fn bars_of_a_group_do_not_overlap_and_labels_thin_out() {
        let rec = record(
            (0..40)
                .map(|i| uploading(&format!("peer-{i:02}"), NodeRole::Peer, 1))
                .collect(),
        );
        let chart = build(&[("a".into(), rec.clone()), ("b".into(), rec)]);
        let (a0, a1) = chart.bar_span(3, 0);
        let (b0, b1) = chart.bar_span(3, 1);
        assert!(2.5 < a0 && a0 < a1 && a1 < b0 && b0 < b1 && b1 < 3.5);
        assert!(chart.label_count(1000) < 40);
        assert_eq!(chart.label_count(0), 1);
    }
}
