//! Tests of the peer actor's hostile-input rules (issue 15), through the node's interface:
//! who speaks first, timeouts that free slots, and the refused-request limit; and of the
//! listening port its extended handshake tells and learns.

use std::sync::Arc;
use std::time::Duration;

use crate::actors::peer::{
    HANDSHAKE_TIMEOUT, IDLE_TIMEOUT, MAX_REFUSED_REQUESTS_PER_UNCHOKE, NO_PROGRESS_TIMEOUT,
};
use crate::bitfield::Bitfield;
use crate::metainfo::InfoHash;
use crate::node::addr::PeerAddr;
use crate::node::config::NodeConfig;
use crate::node::io::{CloseReason, Command, ConnId, Direction, Frame, Input};
use crate::node::{Node, TorrentSpec};
use crate::piece::Geometry;
use crate::time::Time;
use crate::wire::{ExtendedHandshake, Features, Handshake, Message, EXTENDED_HANDSHAKE_ID};

const PIECES: u32 = 4;
const CONN: ConnId = ConnId(1);

fn node(seed: bool) -> Node {
    node_with(seed, NodeConfig::new([9; 20]))
}

fn node_with(seed: bool, config: NodeConfig) -> Node {
    let spec = TorrentSpec {
        info_hash: InfoHash([7; 20]),
        geometry: Geometry::new(u64::from(PIECES) * 32 * 1024, 32 * 1024).expect("geometry"),
        piece_hashes: Arc::from(vec![[0; 20]; PIECES as usize]),
    };
    let verified = if seed {
        Bitfield::full(PIECES)
    } else {
        Bitfield::new(PIECES)
    };
    let mut node = Node::new(spec, config, verified, 1);
    node.start(Time::ZERO);
    drain(&mut node);
    node
}

fn drain(node: &mut Node) -> Vec<Command> {
    std::iter::from_fn(|| node.poll_command()).collect()
}

fn at(secs: u64) -> Time {
    Time::ZERO + Duration::from_secs(secs)
}

fn connect(node: &mut Node, direction: Direction, now: Time) -> Vec<Command> {
    let addr = PeerAddr::v4([10, 0, 0, 2], 6881);
    let conn = CONN;
    node.handle(
        now,
        Input::Connected {
            conn,
            addr,
            direction,
        },
    );
    drain(node)
}

fn remote_handshake(info_hash: InfoHash, fast: bool) -> Frame {
    let mut handshake = Handshake::new(info_hash, [2; 20]);
    if fast {
        handshake.reserved = Features::OURS.to_reserved();
    }
    Frame::Handshake(handshake)
}

fn frame(node: &mut Node, now: Time, frame: Frame) -> Vec<Command> {
    node.handle(now, Input::Frame { conn: CONN, frame });
    drain(node)
}

fn transmits(commands: &[Command]) -> Vec<&Frame> {
    commands
        .iter()
        .filter_map(|c| match c {
            Command::Transmit { frame, .. } => Some(frame),
            _ => None,
        })
        .collect()
}

fn close_reason(commands: &[Command]) -> Option<CloseReason> {
    commands.iter().find_map(|c| match c {
        Command::Close { reason, .. } => Some(reason.clone()),
        _ => None,
    })
}

/// Ticks every second from `from` to `to` (inclusive); returns the first close.
fn tick_until(node: &mut Node, from: u64, to: u64) -> Option<(u64, CloseReason)> {
    (from..=to).find_map(|s| {
        node.handle_timeout(at(s));
        close_reason(&drain(node)).map(|r| (s, r))
    })
}

/// Regression (issue 15, item 8): the listener sent its handshake (naming the torrent)
/// before reading the initiator's. Inbound, nothing is sent until the remote's handshake
/// named our torrent; then our handshake goes first.
#[test]
fn inbound_peer_answers_only_after_the_remote_handshake_names_our_torrent() {
    let mut seed = node(true);
    assert!(transmits(&connect(&mut seed, Direction::Inbound, at(0))).is_empty());
    let wrong = frame(&mut seed, at(0), remote_handshake(InfoHash([8; 20]), true));
    assert!(
        transmits(&wrong).is_empty(),
        "answered a stranger: {wrong:?}"
    );
    assert!(matches!(
        close_reason(&wrong),
        Some(CloseReason::WrongPeer(_))
    ));

    let mut seed = node(true);
    connect(&mut seed, Direction::Inbound, at(0));
    let right = frame(&mut seed, at(0), remote_handshake(InfoHash([7; 20]), true));
    let sent = transmits(&right);
    assert!(
        matches!(sent.first(), Some(Frame::Handshake(_))),
        "{sent:?}"
    );
}

#[test]
fn outbound_peer_sends_its_handshake_at_once() {
    let mut getter = node(false);
    let sent = connect(&mut getter, Direction::Outbound, at(0));
    assert!(matches!(
        transmits(&sent).first(),
        Some(Frame::Handshake(_))
    ));
}

/// Issue 15, item 3: a peer that accepts and never handshakes frees its slot.
#[test]
fn silent_connection_is_closed_after_the_handshake_timeout() {
    let mut getter = node(false);
    connect(&mut getter, Direction::Outbound, at(0));
    let limit = HANDSHAKE_TIMEOUT.as_secs();
    let (when, reason) = tick_until(&mut getter, 1, limit + 2).expect("never closed");
    assert!(when > limit, "closed at {when} s");
    assert!(matches!(reason, CloseReason::Timeout(_)), "{reason:?}");
}

/// Issue 15, item 3: a peer that handshakes, keeps the connection alive and never gives
/// a download anything frees its slot.
#[test]
fn connection_without_payload_is_closed_while_we_still_miss_pieces() {
    let mut getter = node(false);
    connect(&mut getter, Direction::Outbound, at(0));
    frame(
        &mut getter,
        at(0),
        remote_handshake(InfoHash([7; 20]), true),
    );
    frame(&mut getter, at(0), Frame::Message(Message::HaveAll));
    let limit = NO_PROGRESS_TIMEOUT.as_secs();
    for s in 1..=limit + 2 {
        if s % 30 == 0 {
            frame(&mut getter, at(s), Frame::Message(Message::KeepAlive));
        }
        getter.handle_timeout(at(s));
        if let Some(reason) = close_reason(&drain(&mut getter)) {
            assert!(s > limit, "closed at {s} s: {reason:?}");
            assert!(matches!(reason, CloseReason::Timeout(_)), "{reason:?}");
            return;
        }
    }
    panic!("never closed");
}

/// Issue 15, item 3: a seed keeps a quiet leecher for its idle timeout, not forever.
#[test]
fn seed_closes_a_connection_that_sends_nothing_after_the_idle_timeout() {
    let mut seed = node(true);
    connect(&mut seed, Direction::Inbound, at(0));
    frame(&mut seed, at(0), remote_handshake(InfoHash([7; 20]), true));
    let limit = IDLE_TIMEOUT.as_secs();
    let (when, reason) = tick_until(&mut seed, 1, limit + 2).expect("never closed");
    assert!(when > limit, "closed at {when} s");
    assert!(matches!(reason, CloseReason::Timeout(_)), "{reason:?}");
}

/// Regression (issue 15, item 2): two million requests while choked, never reading, grew a
/// seed by 160 MiB of rejects. The one beyond the limit closes the connection.
#[test]
fn requests_refused_beyond_the_limit_close_the_connection() {
    let mut seed = node(true);
    connect(&mut seed, Direction::Inbound, at(0));
    frame(&mut seed, at(0), remote_handshake(InfoHash([7; 20]), true));
    let request = Frame::Message(Message::Request {
        index: 0,
        begin: 0,
        length: 16 * 1024,
    });
    let mut rejects = 0;
    for _ in 0..MAX_REFUSED_REQUESTS_PER_UNCHOKE {
        let out = frame(&mut seed, at(0), request.clone());
        assert_eq!(close_reason(&out), None);
        rejects += transmits(&out)
            .iter()
            .filter(|f| matches!(f, Frame::Message(Message::Reject { .. })))
            .count();
    }
    assert_eq!(rejects, MAX_REFUSED_REQUESTS_PER_UNCHOKE as usize);
    let out = frame(&mut seed, at(0), request);
    assert!(
        matches!(close_reason(&out), Some(CloseReason::OverLimit(_))),
        "{out:?}"
    );
}

/// What a seed does with the first request for a block once it unchoked the asker:
/// hash the piece first, or read the block at once.
fn first_request_for_a_block(hashed_by_owner: bool) -> Vec<Command> {
    let mut seed = node(true);
    if hashed_by_owner {
        seed.verified_pieces_were_hashed();
    }
    connect(&mut seed, Direction::Inbound, at(0));
    frame(&mut seed, at(0), remote_handshake(InfoHash([7; 20]), true));
    frame(&mut seed, at(0), Frame::Message(Message::Interested));
    let request = Frame::Message(Message::Request {
        index: 1,
        begin: 0,
        length: 16 * 1024,
    });
    frame(&mut seed, at(0), request)
}

/// A seed started from a resume record hashes a piece before it first serves it; one whose
/// owner just hashed the whole copy (a seed's full check at start) serves at once: on
/// loopback the check on the way cost 2 GiB transfers about 2 s of 5.
#[test]
fn a_copy_hashed_by_the_owner_is_served_without_a_check_of_each_piece() {
    let hash = |out: &[Command]| out.iter().any(|c| matches!(c, Command::HashPiece { .. }));
    let read = |out: &[Command]| out.iter().any(|c| matches!(c, Command::ReadBlock { .. }));
    let lazy = first_request_for_a_block(false);
    assert!(hash(&lazy) && !read(&lazy), "{lazy:?}");
    let hashed = first_request_for_a_block(true);
    assert!(!hash(&hashed) && read(&hashed), "{hashed:?}");
}

/// An inbound connection from `source` whose remote sends an extended handshake naming
/// `remote_port`; then the tracker lists `listed`. Returns the extended handshake we sent
/// and the addresses we dialled.
fn dials_after_an_inbound_peer(
    remote_port: Option<u16>,
    source: PeerAddr,
    listed: Vec<PeerAddr>,
) -> (ExtendedHandshake, Vec<PeerAddr>) {
    let config = NodeConfig {
        listen_port: Some(7000),
        ..NodeConfig::new([9; 20])
    };
    let mut node = node_with(false, config);
    let (conn, direction) = (CONN, Direction::Inbound);
    let connected = Input::Connected {
        conn,
        addr: source,
        direction,
    };
    node.handle(at(0), connected);
    drain(&mut node);
    let sent = frame(&mut node, at(0), remote_handshake(InfoHash([7; 20]), true));
    let ours = transmits(&sent)
        .into_iter()
        .find_map(|f| match f {
            Frame::Message(Message::Extended { id, payload }) if *id == EXTENDED_HANDSHAKE_ID => {
                Some(ExtendedHandshake::from_payload(payload).expect("ours parses"))
            }
            _ => None,
        })
        .expect("an extended handshake is sent");
    let theirs = ExtendedHandshake::ours(250, remote_port).to_message();
    frame(&mut node, at(0), Frame::Message(theirs));
    let interval = Duration::from_secs(30);
    node.handle(
        at(1),
        Input::AnnounceDone {
            peers: listed,
            interval,
        },
    );
    let dialled = drain(&mut node)
        .into_iter()
        .filter_map(|c| match c {
            Command::Connect { addr } => Some(addr),
            _ => None,
        })
        .collect();
    (ours, dialled)
}

/// Regression (issue 13): a peer knew of a peer that dialled it only the source port, so
/// every announce it dialled that peer's listening address too, and the duplicate rule
/// closed one connection of each pair (in a real 24-peer swarm, about 23 per peer a few
/// seconds into the run, established ones among them). Our extended handshake now says
/// where we listen (BEP 10 `p`), and an address a connection listens on is not dialled.
#[test]
fn a_peer_that_named_its_listening_port_is_not_dialled_again() {
    let source = PeerAddr::v4([10, 0, 0, 2], 51_000);
    let listening = PeerAddr::v4([10, 0, 0, 2], 6881);
    let other = PeerAddr::v4([10, 0, 0, 3], 6881);
    let listed = vec![listening, other];

    let (ours, dialled) = dials_after_an_inbound_peer(Some(6881), source, listed.clone());
    assert_eq!(ours.listen_port, Some(7000), "we tell where we listen");
    assert_eq!(dialled, vec![other]);

    let (_, dialled) = dials_after_an_inbound_peer(None, source, listed);
    assert_eq!(
        dialled.len(),
        2,
        "without `p` the source port is all we know"
    );
}
