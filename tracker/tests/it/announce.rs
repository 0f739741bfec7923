//! `/announce`: compact and dictionary answers, peer selection, limits, bad input,
//! timeouts, registered-only mode and announce keys.

use std::net::SocketAddr;
use std::time::Duration;

use crate::support::*;

const HASH: [u8; 20] = [0xfe; 20];

fn ports(peers: &[SocketAddr]) -> Vec<u16> {
    let mut ports: Vec<u16> = peers.iter().map(SocketAddr::port).collect();
    ports.sort_unstable();
    ports
}

#[test]
fn compact_answer_decodes_to_the_other_peers() {
    let dir = temp_dir();
    let server = TestServer::start(config(dir.path()));
    let first = server.bencode(&announce_query(HASH, 1, 10001, 0, "&event=started"));
    assert_eq!(failure(&first), None);
    assert!(compact_peers(&first).is_empty());
    let second = server.bencode(&announce_query(
        HASH,
        2,
        10002,
        500,
        "&event=started&compact=1",
    ));
    assert_eq!(
        compact_peers(&second),
        vec!["127.0.0.1:10001".parse().unwrap()]
    );
    assert_eq!(
        (int(&second, "interval"), int(&second, "min interval")),
        (30, 15)
    );
    assert_eq!(
        (int(&second, "complete"), int(&second, "incomplete")),
        (1, 1)
    );
}

#[test]
fn leechers_get_seeds_first_and_nobody_gets_itself() {
    let dir = temp_dir();
    let server = TestServer::start(config(dir.path()));
    for n in 0..3 {
        server.bencode(&announce_query(
            HASH,
            n,
            20000 + u16::from(n),
            0,
            "&event=started",
        ));
    }
    for n in 3..8 {
        server.bencode(&announce_query(
            HASH,
            n,
            20000 + u16::from(n),
            100,
            "&event=started",
        ));
    }
    let leecher = server.bencode(&announce_query(HASH, 5, 20005, 100, "&numwant=3"));
    assert_eq!(
        ports(&compact_peers(&leecher)),
        vec![20000, 20001, 20002],
        "seeds first"
    );
    let everyone = server.bencode(&announce_query(HASH, 5, 20005, 100, "&numwant=50"));
    let got = ports(&compact_peers(&everyone));
    assert_eq!(got.len(), 7);
    assert!(!got.contains(&20005), "never itself: {got:?}");
    let seed = server.bencode(&announce_query(HASH, 1, 20001, 0, ""));
    assert_eq!(
        ports(&compact_peers(&seed)),
        vec![20003, 20004, 20005, 20006, 20007],
        "seeds get leechers"
    );
}

#[test]
fn dictionary_model_carries_peer_ids_unless_told_not_to() {
    let dir = temp_dir();
    let server = TestServer::start(config(dir.path()));
    server.bencode(&announce_query(HASH, 1, 10001, 0, ""));
    let answer = server.bencode(&announce_query(HASH, 2, 10002, 5, "&compact=0"));
    let serde_bencode::value::Value::List(peers) = get(&answer, "peers") else {
        panic!("not a list")
    };
    assert_eq!(peers.len(), 1);
    assert_eq!(bytes(&peers[0], "ip"), b"127.0.0.1");
    assert_eq!(int(&peers[0], "port"), 10001);
    assert_eq!(bytes(&peers[0], "peer id"), peer_id(1));
    let plain = server.bencode(&announce_query(
        HASH,
        2,
        10002,
        5,
        "&compact=0&no_peer_id=1",
    ));
    let serde_bencode::value::Value::List(peers) = get(&plain, "peers") else {
        panic!("not a list")
    };
    assert!(!dict(&peers[0]).contains_key(&b"peer id".to_vec()));
}

#[test]
fn bad_requests_get_a_failure_reason_and_the_tracker_keeps_working() {
    let dir = temp_dir();
    let server = TestServer::start(config(dir.path()));
    let id = pct(&peer_id(1));
    let hash = pct(&HASH);
    let cases = [
        (
            format!("/announce?peer_id={id}&port=1&left=0"),
            "missing `info_hash`",
        ),
        (
            format!("/announce?info_hash=abc&peer_id={id}&port=1&left=0"),
            "`info_hash` must be 20 bytes",
        ),
        (
            format!("/announce?info_hash={hash}%FF&peer_id={id}&port=1&left=0"),
            "`info_hash` must be 20 bytes",
        ),
        (
            format!("/announce?info_hash=%ZZ{hash}&peer_id={id}&port=1&left=0"),
            "malformed percent-encoding",
        ),
        (
            format!("/announce?info_hash={hash}&port=1&left=0"),
            "missing `peer_id`",
        ),
        (
            format!("/announce?info_hash={hash}&peer_id={id}&left=0"),
            "missing `port`",
        ),
        (
            format!("/announce?info_hash={hash}&peer_id={id}&port=0&left=0"),
            "invalid port",
        ),
        (
            format!("/announce?info_hash={hash}&peer_id={id}&port=65536&left=0"),
            "invalid port",
        ),
        (
            format!("/announce?info_hash={hash}&peer_id={id}&port=http&left=0"),
            "`port` is not",
        ),
        (
            format!("/announce?info_hash={hash}&peer_id={id}&port=1&left=-5"),
            "`left` is not",
        ),
        (
            format!("/announce?info_hash={hash}&peer_id={id}&port=1&left=0&event=exploded"),
            "unknown event",
        ),
        (
            format!("/announce?info_hash={hash}&peer_id={id}&port=1&left=0&numwant=lots"),
            "`numwant` is not",
        ),
        ("/announce".to_string(), "missing"),
    ];
    for (query, expected) in &cases {
        let answer = server.bencode(query);
        let reason =
            failure(&answer).unwrap_or_else(|| panic!("{query}: no failure in {answer:?}"));
        assert!(
            reason.contains(expected),
            "{query}: {reason:?} lacks {expected:?}"
        );
    }
    let ok = server.bencode(&announce_query(HASH, 1, 10001, 0, ""));
    assert_eq!(failure(&ok), None);
}

#[test]
fn huge_numwant_is_capped() {
    let dir = temp_dir();
    let mut config = config(dir.path());
    config.max_numwant = 5;
    let server = TestServer::start(config);
    for n in 0..12 {
        server.bencode(&announce_query(HASH, n, 30000 + u16::from(n), 7, ""));
    }
    let answer = server.bencode(&announce_query(
        HASH,
        99,
        30099,
        7,
        "&numwant=99999999999999999999999999",
    ));
    assert_eq!(compact_peers(&answer).len(), 5);
}

#[test]
fn stopped_peers_leave_the_swarm() {
    let dir = temp_dir();
    let server = TestServer::start(config(dir.path()));
    server.bencode(&announce_query(HASH, 1, 10001, 0, "&event=started"));
    let stop = server.bencode(&announce_query(HASH, 1, 10001, 0, "&event=stopped"));
    assert!(compact_peers(&stop).is_empty());
    let other = server.bencode(&announce_query(HASH, 2, 10002, 5, "&event=started"));
    assert!(compact_peers(&other).is_empty());
    assert_eq!(int(&other, "complete"), 0);
}

#[test]
fn silent_peers_are_dropped_after_twice_the_interval() {
    let dir = temp_dir();
    let mut config = config(dir.path());
    config.interval_s = 1;
    let server = TestServer::start(config);
    server.bencode(&announce_query(HASH, 1, 10001, 0, "&event=started"));
    let early = server.bencode(&announce_query(HASH, 2, 10002, 5, "&event=started"));
    assert_eq!(compact_peers(&early).len(), 1);
    // Peer 2 keeps announcing every interval; peer 1 goes silent.
    for _ in 0..5 {
        std::thread::sleep(Duration::from_millis(600));
        server.bencode(&announce_query(HASH, 2, 10002, 5, ""));
    }
    let late = server.bencode(&announce_query(HASH, 2, 10002, 5, ""));
    assert!(compact_peers(&late).is_empty(), "silent seed still listed");
    assert_eq!(int(&late, "complete"), 0);
    let detail = server.json(&format!("/api/torrents/{}", hex::encode(HASH)));
    let peers = detail["peers"].as_array().unwrap();
    assert_eq!(peers.len(), 1);
    assert_eq!(peers[0]["addr"], "127.0.0.1:10002");
}

#[test]
fn registered_only_mode_refuses_unknown_torrents() {
    let dir = temp_dir();
    let mut config = config(dir.path());
    config.registered_only = true;
    let server = TestServer::start(config);
    let answer = server.bencode(&announce_query(HASH, 1, 10001, 0, "&event=started"));
    let reason = failure(&answer).expect("refused");
    assert!(reason.contains("unregistered torrent"), "{reason}");
    let registered = server
        .upload("/api/torrents", "small.bin", &[7u8; 50_000])
        .json();
    let mut hash = [0u8; 20];
    hex::decode_to_slice(registered["info_hash"].as_str().unwrap(), &mut hash).unwrap();
    let ok = server.bencode(&announce_query(hash, 1, 10001, 0, "&event=started"));
    assert_eq!(failure(&ok), None);
}

#[test]
fn announce_keys_are_required_when_configured() {
    let dir = temp_dir();
    let mut config = config(dir.path());
    config.announce_keys = vec!["s3cret".into(), "other-key".into()];
    let server = TestServer::start(config);
    let query = announce_query(HASH, 1, 10001, 0, "");
    let missing = failure(&server.bencode(&query)).expect("key required");
    assert!(missing.contains("requires an announce key"), "{missing}");
    let wrong = failure(&server.bencode(&format!("/wrong{query}"))).expect("unknown key");
    assert!(wrong.contains("unknown announce key"), "{wrong}");
    assert_eq!(failure(&server.bencode(&format!("/s3cret{query}"))), None);
    assert_eq!(
        failure(&server.bencode(&format!("/other-key{query}"))),
        None
    );
    let scrape = server.bencode(&format!("/s3cret/scrape?info_hash={}", pct(&[1; 20])));
    assert!(failure(&scrape).is_none());
    assert!(failure(&server.bencode(&format!("/scrape?info_hash={}", pct(&[1; 20])))).is_some());
    let registered = server
        .upload("/api/torrents", "k.bin", &[1u8; 20_000])
        .json();
    assert_eq!(
        registered["announce_url"],
        format!("{}/s3cret/announce", server.url())
    );
}

#[test]
fn the_ip_parameter_is_used_only_when_trusted() {
    let dir = temp_dir();
    let server = TestServer::start(config(dir.path()));
    server.bencode(&announce_query(HASH, 1, 10001, 0, "&ip=10.9.8.7"));
    let answer = server.bencode(&announce_query(HASH, 2, 10002, 5, ""));
    assert_eq!(
        compact_peers(&answer),
        vec!["127.0.0.1:10001".parse().unwrap()]
    );

    let dir = temp_dir();
    let mut trusting = config(dir.path());
    trusting.trust_ip_param = true;
    let server = TestServer::start(trusting);
    server.bencode(&announce_query(HASH, 1, 10001, 0, "&ip=10.9.8.7"));
    let answer = server.bencode(&announce_query(HASH, 2, 10002, 5, ""));
    assert_eq!(
        compact_peers(&answer),
        vec!["10.9.8.7:10001".parse().unwrap()]
    );
}
