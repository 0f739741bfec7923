//! `/scrape` (BEP 48).

use crate::support::*;

#[test]
fn scrape_reports_counts_per_torrent() {
    let dir = temp_dir();
    let server = TestServer::start(config(dir.path()));
    let (a, b) = ([0x11u8; 20], [0x22u8; 20]);
    server.bencode(&announce_query(a, 1, 10001, 0, "&event=started"));
    server.bencode(&announce_query(a, 2, 10002, 9, "&event=started"));
    server.bencode(&announce_query(a, 2, 10002, 0, "&event=completed"));
    server.bencode(&announce_query(b, 3, 10003, 9, "&event=started"));

    let one = server.bencode(&format!("/scrape?info_hash={}", pct(&a)));
    let files = dict(get(&one, "files"));
    assert_eq!(files.len(), 1);
    let entry = &files[&a.to_vec()];
    assert_eq!(
        (
            int(entry, "complete"),
            int(entry, "incomplete"),
            int(entry, "downloaded")
        ),
        (2, 0, 1)
    );

    let both = server.bencode(&format!(
        "/scrape?info_hash={}&info_hash={}",
        pct(&b),
        pct(&a)
    ));
    assert_eq!(dict(get(&both, "files")).len(), 2);
    let unknown = server.bencode(&format!("/scrape?info_hash={}", pct(&[0x33; 20])));
    assert!(dict(get(&unknown, "files")).is_empty());
}

#[test]
fn regression_full_scrape_is_refused() {
    // Issue 15 item 8: `/scrape` without info_hash listed every info-hash to anyone.
    let dir = temp_dir();
    let server = TestServer::start(config(dir.path()));
    server.bencode(&announce_query([0x11; 20], 1, 10001, 0, "&event=started"));
    let all = server.bencode("/scrape");
    assert_eq!(
        failure(&all).as_deref(),
        Some(swarm_tracker::http::scrape::FULL_SCRAPE_REFUSED)
    );
    assert!(!dict(&all).contains_key(&b"files".to_vec()));
}

#[test]
fn bad_scrapes_get_a_failure_reason() {
    let dir = temp_dir();
    let server = TestServer::start(config(dir.path()));
    for query in ["/scrape?info_hash=short", "/scrape?info_hash=%G1"] {
        assert!(failure(&server.bencode(query)).is_some(), "{query}");
    }
}
