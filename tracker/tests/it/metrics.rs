//! `/metrics` (Prometheus text), per server.

use crate::support::*;

fn value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[test]
fn metrics_count_announces_peers_and_bytes_per_server() {
    let dir = temp_dir();
    let server = TestServer::start(config(dir.path()));
    let other_dir = temp_dir();
    let other = TestServer::start(config(other_dir.path()));
    let hash = [0x55u8; 20];
    server.bencode(&announce_query(hash, 1, 10001, 0, "&event=started"));
    server.bencode(&announce_query(hash, 2, 10002, 10, "&event=started"));
    server.bencode(&announce_query(hash, 2, 10002, 10, "").replace("uploaded=0", "uploaded=4096"));
    server.bencode("/announce?garbage");
    server.bencode(&format!("/scrape?info_hash={}", pct(&hash)));

    let text = server.get("/metrics").text();
    assert_eq!(
        value(&text, "swarm_tracker_announces_total{event=\"started\"}"),
        Some(2.0),
        "{text}"
    );
    assert_eq!(
        value(&text, "swarm_tracker_announces_total{event=\"none\"}"),
        Some(1.0)
    );
    assert_eq!(value(&text, "swarm_tracker_swarms"), Some(1.0));
    assert_eq!(value(&text, "swarm_tracker_peers"), Some(2.0));
    assert_eq!(value(&text, "swarm_tracker_seeds"), Some(1.0));
    assert_eq!(
        value(&text, "swarm_tracker_reported_uploaded_bytes_total"),
        Some(4096.0)
    );
    assert_eq!(value(&text, "swarm_tracker_scrapes_total"), Some(1.0));
    assert_eq!(
        value(
            &text,
            "swarm_tracker_failures_total{endpoint=\"announce\",kind=\"bad_request\"}"
        ),
        Some(1.0)
    );

    let other_text = other.get("/metrics").text();
    assert_eq!(
        value(
            &other_text,
            "swarm_tracker_announces_total{event=\"started\"}"
        ),
        None,
        "servers do not share counts"
    );
    assert_eq!(value(&other_text, "swarm_tracker_peers"), Some(0.0));
}
