//! `origin-upload`: the origin's upload rate over time, one step line per record, derived
//! from the origin's cumulative samples; the origin's nominal uplink is a dashed line.

use swarm_engine::record::RunRecord;

use super::rate_chart::{RateChart, RateKind, RateLine};
use super::style;
use crate::series::{self, origin_upload_rate, GRID_STEPS};
use crate::units::format_rate;

/// The origin upload chart's kind.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct OriginUpload;

impl RateKind for OriginUpload {
    const NAME: &'static str = "origin-upload";
    const Y_DESC: &'static str = "origin upload";
    const NO_DATA: &'static str = "no record has samples of its origin";

    fn reference_label(bps: f64) -> String {
        format!("origin uplink {}", format_rate(bps))
    }
}

/// The origin upload chart: the reference is the origin's nominal uplink.
pub(crate) type OriginUploadChart = RateChart<OriginUpload>;

/// Builds the chart's series from labelled records.
pub(crate) fn build(records: &[(String, RunRecord)]) -> OriginUploadChart {
    let name = OriginUpload::NAME;
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
        let reference_bps = (origin.upload_bps > 0).then_some(origin.upload_bps as f64);
        let line = RateLine {
            label: label.clone(),
            steps,
            reference_bps,
        };
        lines.push((i, line));
    }
    let title = style::title("Origin upload rate", records);
    RateChart::new(title, lines, notes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::series::tests::{node, record, sample};
    use crate::units::RateUnit;
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
