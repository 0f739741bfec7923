//! Prometheus metrics (`/metrics`): announces, scrapes, swarms, peers, seeds and bytes
//! reported, through the `metrics` facade.
//!
//! Each server owns its recorder and installs it only around its own updates
//! (`metrics::with_local_recorder`), never as the global recorder: several servers (as in
//! the tests) can live in one process without seeing each other's counts.

use metrics::{counter, gauge, with_local_recorder};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle, PrometheusRecorder};

use crate::core::peer::CounterDelta;
use crate::core::{AnnounceEvent, Counts};

/// Why an announce or scrape failed, as a metrics label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// Unparsable request.
    BadRequest,
    /// Missing or unknown announce key.
    Key,
    /// Registered-only mode and an unknown torrent.
    Unregistered,
    /// A limit was reached.
    Full,
}

impl FailureKind {
    fn label(self) -> &'static str {
        match self {
            FailureKind::BadRequest => "bad_request",
            FailureKind::Key => "key",
            FailureKind::Unregistered => "unregistered",
            FailureKind::Full => "full",
        }
    }
}

/// One server's metrics.
#[derive(Debug)]
pub struct Metrics {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A fresh recorder with the metrics described.
    pub fn new() -> Self {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        let metrics = Metrics { recorder, handle };
        metrics.with(|| {
            use metrics::{describe_counter, describe_gauge, Unit};
            describe_counter!(
                "swarm_tracker_announces_total",
                "Announces answered, by event"
            );
            describe_counter!(
                "swarm_tracker_failures_total",
                "Announces and scrapes refused, by endpoint and kind"
            );
            describe_counter!("swarm_tracker_scrapes_total", "Scrapes answered");
            describe_counter!(
                "swarm_tracker_peers_expired_total",
                "Peers dropped after going silent"
            );
            describe_counter!(
                "swarm_tracker_reported_uploaded_bytes_total",
                Unit::Bytes,
                "Upload reported by peers"
            );
            describe_counter!(
                "swarm_tracker_reported_downloaded_bytes_total",
                Unit::Bytes,
                "Download reported by peers"
            );
            describe_gauge!("swarm_tracker_swarms", "Swarms tracked");
            describe_gauge!("swarm_tracker_peers", "Peers tracked");
            describe_gauge!("swarm_tracker_seeds", "Seeds tracked");
            describe_gauge!(
                "swarm_tracker_registered_torrents",
                "Torrents in the registry"
            );
        });
        metrics
    }

    fn with<T>(&self, f: impl FnOnce() -> T) -> T {
        with_local_recorder(&self.recorder, f)
    }

    /// Counts an answered announce.
    pub fn announce(&self, event: AnnounceEvent, delta: CounterDelta, expired_peers: usize) {
        self.with(|| {
            counter!("swarm_tracker_announces_total", "event" => event.as_str()).increment(1);
            if delta.uploaded_bytes > 0 {
                counter!("swarm_tracker_reported_uploaded_bytes_total")
                    .increment(delta.uploaded_bytes);
            }
            if delta.downloaded_bytes > 0 {
                counter!("swarm_tracker_reported_downloaded_bytes_total")
                    .increment(delta.downloaded_bytes);
            }
            if expired_peers > 0 {
                counter!("swarm_tracker_peers_expired_total").increment(expired_peers as u64);
            }
        });
    }

    /// Counts peers dropped by the periodic sweep.
    pub fn expired(&self, peers: usize) {
        self.with(|| counter!("swarm_tracker_peers_expired_total").increment(peers as u64));
    }

    /// Counts an answered scrape.
    pub fn scrape(&self) {
        self.with(|| counter!("swarm_tracker_scrapes_total").increment(1));
    }

    /// Counts a refused request.
    pub fn failure(&self, endpoint: &'static str, kind: FailureKind) {
        self.with(|| {
            counter!("swarm_tracker_failures_total", "endpoint" => endpoint, "kind" => kind.label())
                .increment(1);
        });
    }

    /// Renders the text exposition with the gauges set to `counts`.
    pub fn render(&self, counts: Counts, registered: usize) -> String {
        self.with(|| {
            gauge!("swarm_tracker_swarms").set(counts.swarms as f64);
            gauge!("swarm_tracker_peers").set(counts.peers as f64);
            gauge!("swarm_tracker_seeds").set(counts.seeds as f64);
            gauge!("swarm_tracker_registered_torrents").set(registered as f64);
        });
        self.handle.render()
    }
}
