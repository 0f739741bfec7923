//! A [`Sample`] as Prometheus text. Every series of a torrent carries the labels
//! `info_hash` (40 hex digits) and `name`:
//!
//! | metric | type | what |
//! | --- | --- | --- |
//! | `swarm_torrent_uploaded_bytes_total` | counter | payload bytes sent since the node started |
//! | `swarm_torrent_downloaded_bytes_total` | counter | payload bytes received since the node started |
//! | `swarm_torrent_peers` | gauge | open peer connections |
//! | `swarm_torrent_verified_pieces` | gauge | pieces verified (held and checked) |
//! | `swarm_torrent_pieces` | gauge | pieces in the torrent |
//! | `swarm_torrent_complete` | gauge | 1 once every piece is verified |
//! | `swarm_torrent_hash_failures_total` | counter | pieces that failed their hash check |
//! | `swarm_torrent_bans_total` | counter | peers banned for sending corrupt data |
//!
//! An agent adds `swarm_agent_release_state` (gauge, labels `release_id`, `channel`,
//! `name`, `info_hash`, `state`): one series per state of each release it holds, 1 for the
//! state it is in and 0 for the others (pending, downloading, verified, failed, deleted);
//! and `swarm_agent_release_from_origin_bytes_total` (counter, labels `release_id`,
//! `channel`, `name`, `info_hash`): of the payload bytes received for the release since the
//! agent started, those that came from the origin, when the origin is known.
//!
//! Each scrape renders through a fresh local recorder
//! ([`swarm_service::prometheus::render_once`]), so the output is a function of the sample
//! alone.

use metrics::{counter, describe_counter, describe_gauge, gauge, Label};
use swarm_service::prometheus::render_once;
use swarm_service::wire::PlacementState;

use crate::host::TorrentStatus;

/// What one scrape shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sample {
    /// Every running torrent.
    pub torrents: Vec<TorrentStatus>,
    /// An agent's releases (empty for `seed` and `get`).
    pub releases: Vec<ReleaseSample>,
}

/// One release an agent holds or was asked to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseSample {
    /// The manager's release id.
    pub id: i64,
    /// Its channel.
    pub channel: String,
    /// Its file name.
    pub name: String,
    /// Its torrent's info-hash, hex.
    pub info_hash: String,
    /// Where it is on this host.
    pub state: PlacementState,
    /// Of the bytes received since the agent started, those from the origin (`None`: the
    /// origin is not known).
    pub from_origin_bytes: Option<u64>,
}

/// Every state a release can be in, in the order series are written.
const STATES: [PlacementState; 5] = [
    PlacementState::Pending,
    PlacementState::Downloading,
    PlacementState::Verified,
    PlacementState::Failed,
    PlacementState::Deleted,
];

/// The text exposition of `sample`.
pub fn render(sample: &Sample) -> String {
    render_once(|| {
        describe();
        for torrent in &sample.torrents {
            record_torrent(torrent);
        }
        for release in &sample.releases {
            record_release(release);
        }
    })
}

fn describe() {
    describe_counter!(
        "swarm_torrent_uploaded_bytes_total",
        "Payload bytes sent since the node started"
    );
    describe_counter!(
        "swarm_torrent_downloaded_bytes_total",
        "Payload bytes received since the node started"
    );
    describe_gauge!("swarm_torrent_peers", "Open peer connections");
    describe_gauge!("swarm_torrent_verified_pieces", "Pieces verified");
    describe_gauge!("swarm_torrent_pieces", "Pieces in the torrent");
    describe_gauge!("swarm_torrent_complete", "1 once every piece is verified");
    describe_counter!(
        "swarm_torrent_hash_failures_total",
        "Pieces that failed their hash check"
    );
    describe_counter!(
        "swarm_torrent_bans_total",
        "Peers banned for sending corrupt data"
    );
    describe_gauge!(
        "swarm_agent_release_state",
        "1 for the state each release is in on this host, 0 for the others"
    );
    describe_counter!(
        "swarm_agent_release_from_origin_bytes_total",
        "Payload bytes received from the origin for each release since the agent started"
    );
}

fn record_torrent(torrent: &TorrentStatus) {
    let labels = vec![
        Label::new("info_hash", torrent.info_hash.to_string()),
        Label::new("name", torrent.name.clone()),
    ];
    let s = &torrent.status;
    counter!("swarm_torrent_uploaded_bytes_total", labels.clone()).absolute(s.uploaded_bytes);
    counter!("swarm_torrent_downloaded_bytes_total", labels.clone()).absolute(s.downloaded_bytes);
    gauge!("swarm_torrent_peers", labels.clone()).set(s.connections as f64);
    gauge!("swarm_torrent_verified_pieces", labels.clone()).set(f64::from(s.verified_pieces));
    gauge!("swarm_torrent_pieces", labels.clone()).set(f64::from(s.piece_count));
    gauge!("swarm_torrent_complete", labels.clone()).set(if s.complete { 1.0 } else { 0.0 });
    counter!("swarm_torrent_hash_failures_total", labels.clone())
        .absolute(u64::from(s.failed_pieces));
    counter!("swarm_torrent_bans_total", labels).absolute(u64::from(s.banned_peers));
}

fn record_release(release: &ReleaseSample) {
    let labels = vec![
        Label::new("release_id", release.id.to_string()),
        Label::new("channel", release.channel.clone()),
        Label::new("name", release.name.clone()),
        Label::new("info_hash", release.info_hash.clone()),
    ];
    for state in STATES {
        let mut labels = labels.clone();
        labels.push(Label::new("state", state.as_str()));
        let value = if state == release.state { 1.0 } else { 0.0 };
        gauge!("swarm_agent_release_state", labels).set(value);
    }
    if let Some(bytes) = release.from_origin_bytes {
        counter!("swarm_agent_release_from_origin_bytes_total", labels).absolute(bytes);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::node::options::Status;
    use swarm_engine::metainfo::InfoHash;

    /// The value of the series written exactly as `series`.
    fn value(text: &str, series: &str) -> Option<f64> {
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
            .and_then(|v| v.parse().ok())
    }

    fn torrent(byte: u8, name: &str, status: Status) -> TorrentStatus {
        TorrentStatus {
            info_hash: InfoHash([byte; 20]),
            name: name.into(),
            status,
        }
    }

    #[test]
    fn every_counter_of_a_torrent_is_rendered_under_its_labels() {
        let status = Status {
            piece_count: 40,
            verified_pieces: 12,
            uploaded_bytes: 1 << 20,
            downloaded_bytes: 3 << 20,
            connections: 3,
            failed_pieces: 2,
            banned_peers: 1,
            ..Status::default()
        };
        let text = render(&Sample {
            torrents: vec![torrent(0xab, "disk.img", status)],
            releases: Vec::new(),
        });
        let labels = format!("{{info_hash=\"{}\",name=\"disk.img\"}}", "ab".repeat(20));
        let at = |name: &str| value(&text, &format!("{name}{labels}"));
        assert_eq!(
            at("swarm_torrent_uploaded_bytes_total"),
            Some(1048576.0),
            "{text}"
        );
        assert_eq!(at("swarm_torrent_downloaded_bytes_total"), Some(3145728.0));
        assert_eq!(at("swarm_torrent_peers"), Some(3.0));
        assert_eq!(at("swarm_torrent_verified_pieces"), Some(12.0));
        assert_eq!(at("swarm_torrent_pieces"), Some(40.0));
        assert_eq!(at("swarm_torrent_complete"), Some(0.0));
        assert_eq!(at("swarm_torrent_hash_failures_total"), Some(2.0));
        assert_eq!(at("swarm_torrent_bans_total"), Some(1.0));
        assert!(
            text.contains("# TYPE swarm_torrent_uploaded_bytes_total counter"),
            "{text}"
        );
        assert!(text.contains("# TYPE swarm_torrent_peers gauge"), "{text}");
        assert!(!text.contains("swarm_agent_release_state{"), "{text}");
    }

    #[test]
    fn a_release_has_one_series_per_state_and_only_its_own_is_one() {
        let release = ReleaseSample {
            id: 7,
            channel: "nightly".into(),
            name: "v1.img".into(),
            info_hash: "cd".repeat(20),
            state: PlacementState::Downloading,
            from_origin_bytes: Some(4096),
        };
        let unknown = ReleaseSample {
            id: 8,
            from_origin_bytes: None,
            ..release.clone()
        };
        let text = render(&Sample {
            torrents: Vec::new(),
            releases: vec![release, unknown],
        });
        let series = |state: &str| {
            format!(
                "swarm_agent_release_state{{release_id=\"7\",channel=\"nightly\",\
                 name=\"v1.img\",info_hash=\"{}\",state=\"{state}\"}}",
                "cd".repeat(20)
            )
        };
        assert_eq!(value(&text, &series("downloading")), Some(1.0), "{text}");
        for state in ["pending", "verified", "failed", "deleted"] {
            assert_eq!(value(&text, &series(state)), Some(0.0), "{state}: {text}");
        }
        let from_origin = format!(
            "swarm_agent_release_from_origin_bytes_total{{release_id=\"7\",channel=\"nightly\",\
             name=\"v1.img\",info_hash=\"{}\"}}",
            "cd".repeat(20)
        );
        assert_eq!(value(&text, &from_origin), Some(4096.0), "{text}");
        assert_eq!(
            text.lines()
                .filter(|l| l.starts_with("swarm_agent_release_from_origin_bytes_total{"))
                .count(),
            1,
            "a release whose origin is unknown has no such series: {text}"
        );
    }

    #[test]
    fn names_are_escaped_and_each_render_shows_only_its_sample() {
        let tricky = torrent(1, "a \"quoted\"\nname", Status::default());
        let text = render(&Sample {
            torrents: vec![tricky],
            releases: Vec::new(),
        });
        assert!(text.contains(r#"name="a \"quoted\"\nname""#), "{text}");
        assert_eq!(
            text.lines()
                .filter(|l| l.starts_with("swarm_torrent_pieces{"))
                .count(),
            1
        );
        let later = render(&Sample {
            torrents: vec![torrent(2, "other", Status::default())],
            releases: Vec::new(),
        });
        assert!(
            !later.contains("quoted"),
            "a stopped torrent stays listed:\n{later}"
        );
        assert!(later.contains("name=\"other\""), "{later}");
    }
}
