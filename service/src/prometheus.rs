//! Prometheus text rendered per scrape: what a closure records with the `metrics` macros,
//! on a recorder made for that call alone. Nothing is installed globally, so several
//! servers can share a process and a series that stopped being recorded leaves the output
//! with it.

use metrics::with_local_recorder;
use metrics_exporter_prometheus::PrometheusBuilder;

/// Renders what `record` records (with the `metrics` macros) on a recorder made for this
/// call alone.
pub fn render_once(record: impl FnOnce()) -> String {
    let recorder = PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    with_local_recorder(&recorder, record);
    handle.render()
}

#[cfg(test)]
mod tests {
    use super::*;
    use metrics::{counter, describe_gauge, gauge};

    #[test]
    fn each_render_shows_what_its_closure_recorded_and_nothing_else() {
        let first = render_once(|| {
            describe_gauge!("test_depth", "Items queued");
            gauge!("test_depth", "queue" => "a").set(3.0);
            counter!("test_seen_total").absolute(9);
        });
        assert!(first.contains("# HELP test_depth Items queued"), "{first}");
        assert!(first.contains("# TYPE test_depth gauge"), "{first}");
        assert!(first.contains("test_depth{queue=\"a\"} 3"), "{first}");
        assert!(first.contains("test_seen_total 9"), "{first}");
        let second = render_once(|| gauge!("test_depth", "queue" => "b").set(1.0));
        assert!(second.contains("test_depth{queue=\"b\"} 1"), "{second}");
        assert!(!second.contains("queue=\"a\""), "{second}");
        assert!(!second.contains("test_seen_total"), "{second}");
    }
}
