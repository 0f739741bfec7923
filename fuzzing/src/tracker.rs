//! Checks for what crosses the tracker protocol: the announce and scrape queries the
//! tracker parses, the bencoded answers the client parses, and the manager's agent channel.

use swarm_net::agent::client::take_event;
use swarm_net::announce::parse_response;
use swarm_service::wire::Desired;
use swarm_tracker::http::announce::AnnounceParams;
use swarm_tracker::http::scrape;

/// The announce query (BEP 3): never panics on any query string.
pub fn announce_query(data: &[u8]) {
    let Ok(query) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(params) = AnnounceParams::parse(query) {
        // Parsing is a function of the text: the same query gives the same request.
        let again = AnnounceParams::parse(query).expect("a query parses the same way twice");
        assert_eq!(format!("{params:?}"), format!("{again:?}"));
    }
}

/// The scrape query (BEP 48): never panics; an accepted one names distinct info-hashes,
/// no more of them than the query could spell out.
pub fn scrape_query(data: &[u8]) {
    let Ok(query) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(hashes) = scrape::parse(query) {
        let mut sorted = hashes.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), hashes.len(), "duplicate info-hashes");
        assert!(
            hashes.len() <= query.len() / 20 + 1,
            "more hashes than the query holds"
        );
    }
}

/// A tracker's announce answer as the client reads it: never panics; the peers it returns
/// were spelled out in the body (6 bytes per compact IPv4 peer at the least).
pub fn tracker_response(data: &[u8]) {
    if let Ok(response) = parse_response(data) {
        assert!(
            response.peers.len() <= data.len() / 6 + 1,
            "more peers than the body holds"
        );
    }
}

/// The agent's live channel (server-sent events carrying JSON desired states): never panics;
/// each event taken shortens the stream, and a desired state that parses and passes the
/// agent's path check serializes back to the same state.
pub fn agent_channel(data: &[u8]) {
    let mut buffer = data.to_vec();
    loop {
        let before = buffer.len();
        let Some(event) = take_event(&mut buffer) else {
            break;
        };
        assert!(buffer.len() < before, "an event took no bytes");
        let Some(text) = event else { continue };
        let Ok(desired) = serde_json::from_str::<Desired>(&text) else {
            continue;
        };
        if desired.check().is_ok() {
            let json = serde_json::to_string(&desired).expect("a desired state serializes");
            let again: Desired = serde_json::from_str(&json).expect("and parses back");
            assert_eq!(again, desired);
        }
    }
}
