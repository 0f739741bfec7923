//! Prometheus metrics (`/metrics`): announces, scrapes, swarms, peers, seeds and bytes
//! reported, through the `metrics` facade.
//!
//! Each server owns its recorder and installs it only around its own updates
//! (`metrics::with_local_recorder`), never as the global recorder: several servers (as in
//! the tests) can live in one process without seeing each other's counts.
//!
//! Per-torrent series (labels `info_hash` and `name`) exist for **registered** torrents
//! only: anyone can announce any info-hash, and a label per announced hash would let a
//! hostile client grow the output (and every scraper's database) without bound. They are
//! rendered from the core at each scrape on a recorder of their own
//! ([`swarm_service::prometheus::render_once`]), so they always match what is registered:
//! `swarm_tracker_torrent_seeds`, `swarm_tracker_torrent_leechers` (gauges),
//! `swarm_tracker_torrent_completed_total`,
//! `swarm_tracker_torrent_reported_uploaded_bytes_total` and
//! `swarm_tracker_torrent_reported_downloaded_bytes_total` (counters over the tracker's
//! life).

use std::collections::BTreeMap;

use metrics::{counter, describe_counter, describe_gauge, gauge, with_local_recorder, Label};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle, PrometheusRecorder};
use swarm_engine::metainfo::InfoHash;

use crate::core::peer::CounterDelta;
use crate::core::{AnnounceEvent, Counts, SwarmTotals, TrackerCore};

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
            use metrics::Unit;
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

    /// Renders the text exposition with the gauges set to `counts`, then the series of
    /// each registered torrent in `torrents`.
    pub fn render(&self, counts: Counts, registered: usize, torrents: &[TorrentCounts]) -> String {
        self.with(|| {
            gauge!("swarm_tracker_swarms").set(counts.swarms as f64);
            gauge!("swarm_tracker_peers").set(counts.peers as f64);
            gauge!("swarm_tracker_seeds").set(counts.seeds as f64);
            gauge!("swarm_tracker_registered_torrents").set(registered as f64);
        });
        let mut text = self.handle.render();
        text.push_str(&render_torrents(torrents));
        text
    }
}

/// One registered torrent's swarm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TorrentCounts {
    /// Its info-hash.
    pub info_hash: InfoHash,
    /// Its name in the registry or the fleet's releases (empty if neither has it).
    pub name: String,
    /// Seeds tracked now.
    pub seeds: usize,
    /// Leechers tracked now.
    pub leechers: usize,
    /// Totals over the tracker's life.
    pub totals: SwarmTotals,
}

/// The swarm of every torrent `core` has registered, named from `names`; swarms of
/// merely announced info-hashes are left out.
pub fn registered_torrents(
    core: &TrackerCore,
    names: &BTreeMap<InfoHash, String>,
) -> Vec<TorrentCounts> {
    core.swarms()
        .filter(|(info_hash, _)| core.is_registered(info_hash))
        .map(|(info_hash, swarm)| TorrentCounts {
            info_hash: *info_hash,
            name: names.get(info_hash).cloned().unwrap_or_default(),
            seeds: swarm.seeds().len(),
            leechers: swarm.leechers().len(),
            totals: swarm.totals(),
        })
        .collect()
}

fn render_torrents(torrents: &[TorrentCounts]) -> String {
    swarm_service::prometheus::render_once(|| {
        describe_gauge!(
            "swarm_tracker_torrent_seeds",
            "Seeds of a registered torrent"
        );
        describe_gauge!(
            "swarm_tracker_torrent_leechers",
            "Leechers of a registered torrent"
        );
        describe_counter!(
            "swarm_tracker_torrent_completed_total",
            "Completed announces of a registered torrent"
        );
        describe_counter!(
            "swarm_tracker_torrent_reported_uploaded_bytes_total",
            "Upload reported by a registered torrent's peers"
        );
        describe_counter!(
            "swarm_tracker_torrent_reported_downloaded_bytes_total",
            "Download reported by a registered torrent's peers"
        );
        for t in torrents {
            let labels = vec![
                Label::new("info_hash", t.info_hash.to_string()),
                Label::new("name", t.name.clone()),
            ];
            gauge!("swarm_tracker_torrent_seeds", labels.clone()).set(t.seeds as f64);
            gauge!("swarm_tracker_torrent_leechers", labels.clone()).set(t.leechers as f64);
            counter!("swarm_tracker_torrent_completed_total", labels.clone())
                .absolute(t.totals.completed);
            counter!(
                "swarm_tracker_torrent_reported_uploaded_bytes_total",
                labels.clone()
            )
            .absolute(t.totals.uploaded_bytes);
            counter!(
                "swarm_tracker_torrent_reported_downloaded_bytes_total",
                labels
            )
            .absolute(t.totals.downloaded_bytes);
        }
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use rand::SeedableRng;

    use super::*;
    use crate::core::{AnnounceRequest, CoreConfig, Counters, PeerId};

    fn announce(core: &mut TrackerCore, hash: InfoHash, peer: u8, left_bytes: u64) {
        let request = AnnounceRequest {
            info_hash: hash,
            peer_id: PeerId([peer; 20]),
            addr: format!("10.0.0.{peer}:6881").parse().unwrap(),
            counters: Counters {
                uploaded_bytes: 0,
                downloaded_bytes: 0,
                left_bytes,
            },
            event: AnnounceEvent::Started,
            numwant: None,
        };
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        core.announce(0, &request, &mut rng).unwrap();
    }

    #[test]
    fn only_registered_torrents_get_series_of_their_own() {
        let (registered, stranger) = (InfoHash([0x11; 20]), InfoHash([0x22; 20]));
        let mut core = TrackerCore::new(CoreConfig::with_interval(30));
        core.register(registered);
        announce(&mut core, registered, 1, 0);
        announce(&mut core, registered, 2, 100);
        announce(&mut core, stranger, 3, 100);
        let names = BTreeMap::from([(registered, "build.iso".to_string())]);
        let torrents = registered_torrents(&core, &names);
        assert_eq!(torrents.len(), 1, "{torrents:?}");
        let text = Metrics::new().render(core.counts(), 1, &torrents);
        let labels = format!("{{info_hash=\"{}\",name=\"build.iso\"}}", "11".repeat(20));
        assert!(
            text.contains(&format!("swarm_tracker_torrent_seeds{labels} 1")),
            "{text}"
        );
        assert!(
            text.contains(&format!("swarm_tracker_torrent_leechers{labels} 1")),
            "{text}"
        );
        assert!(
            !text.contains(&"22".repeat(20)),
            "an unregistered hash is labelled:\n{text}"
        );
        assert!(text.contains("swarm_tracker_swarms 2"), "{text}");
        assert!(
            text.contains("# TYPE swarm_tracker_torrent_completed_total counter"),
            "{text}"
        );
    }
}
