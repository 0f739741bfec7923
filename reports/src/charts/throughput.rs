//! `throughput`: the whole swarm's download rate over time, one step line per record, against
//! the average rate the bound implies (peers × file size × 8 / bound) as a dashed line.

use swarm_engine::record::RunRecord;

use super::rate_chart::{RateChart, RateKind, RateLine};
use super::style;
use crate::series::{bound_average_rate_bps, swarm_download_rate, GRID_STEPS};
use crate::units::format_rate;

/// The swarm throughput chart's kind.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Throughput;

impl RateKind for Throughput {
    const NAME: &'static str = "throughput";
    const Y_DESC: &'static str = "total download rate";
    const NO_DATA: &'static str = "no record has samples";

    fn reference_label(bps: f64) -> String {
        format!("rate to meet the bound, {}", format_rate(bps))
    }
}

/// The swarm throughput chart: the reference is the average rate needed to meet the bound.
pub(crate) type ThroughputChart = RateChart<Throughput>;

/// Builds the chart's series from labelled records.
pub(crate) fn build(records: &[(String, RunRecord)]) -> ThroughputChart {
    let name = Throughput::NAME;
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
        let reference_bps = bound_average_rate_bps(record).filter(|bps| *bps > 0.0);
        if reference_bps.is_none() {
            notes.push(format!(
                "{name}: record '{label}' has no usable bound (bound_s {}, file size {} bytes)",
                record.bound_s, record.file_size
            ));
        }
        let line = RateLine {
            label: label.clone(),
            steps,
            reference_bps,
        };
        lines.push((i, line));
    }
    let title = style::title("Swarm download throughput", records);
    RateChart::new(title, lines, notes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::series::tests::{node, record, sample};
    use crate::units::RateUnit;
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
        assert_eq!(chart.lines[0].1.reference_bps, Some(1_000.0));
        assert_eq!(chart.lines[1].1.reference_bps, None);
        assert_eq!(chart.unit, RateUnit::Mbit);
        assert_eq!(chart.notes.len(), 2, "{:?}", chart.notes);
    }
}
