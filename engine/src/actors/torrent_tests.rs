//! Unit tests of the torrent actor: blame and ban rules (issue 15), checks before serving.

use std::sync::Arc;

use bytes::Bytes;

use crate::actors::torrent::Torrent;
use crate::bitfield::Bitfield;
use crate::node::addr::PeerAddr;
use crate::node::config::NodeConfig;
use crate::node::ctx::test_world::TestWorld;
use crate::node::ctx::{Envelope, PeerMsg, PickerMsg, TorrentMsg};
use crate::node::io::{CloseReason, Command, ConnId, Direction, Report};

const PIECES: u32 = 4;

fn setup() -> (TestWorld, Torrent) {
    let world = TestWorld::new(PIECES, Bitfield::new(PIECES), NodeConfig::new([9; 20]));
    let hashes: Vec<[u8; 20]> = vec![[0xab; 20]; PIECES as usize];
    (world, Torrent::new(Arc::from(hashes), false))
}

fn connect(world: &mut TestWorld, torrent: &mut Torrent, conn: u64, addr: PeerAddr) {
    torrent.handle(
        TorrentMsg::PeerConnected {
            conn: ConnId(conn),
            addr,
            direction: Direction::Inbound,
        },
        &mut world.ctx(),
    );
}

/// Every block of `piece` arrives from `senders[i % len]`, is written, and the hash fails.
fn fail_piece(world: &mut TestWorld, torrent: &mut Torrent, piece: u32, senders: &[u64]) {
    let geometry = world.commons.shared.geometry;
    let piece = geometry.piece(piece).expect("in range");
    let blocks = geometry.blocks_in_piece(piece);
    for i in 0..blocks {
        let block = geometry.block(piece, i).expect("in range");
        let from = ConnId(senders[i as usize % senders.len()]);
        let data = Bytes::from(vec![0; block.length as usize]);
        torrent.handle(
            TorrentMsg::WriteBlock { block, data, from },
            &mut world.ctx(),
        );
    }
    torrent.handle(TorrentMsg::PieceComplete { piece }, &mut world.ctx());
    for i in 0..blocks {
        let block = geometry.block(piece, i).expect("in range");
        let result = Ok(());
        torrent.handle(TorrentMsg::BlockWritten { block, result }, &mut world.ctx());
    }
    assert!(world
        .commons
        .commands
        .iter()
        .any(|c| *c == Command::HashPiece { piece }));
    let digest = Ok([0xcd; 20]);
    torrent.handle(TorrentMsg::PieceHashed { piece, digest }, &mut world.ctx());
}

fn banned(world: &TestWorld) -> Vec<PeerAddr> {
    world
        .commons
        .commands
        .iter()
        .filter_map(|c| match c {
            Command::Report(Report::PeerBanned { addr }) => Some(*addr),
            _ => None,
        })
        .collect()
}

fn closed_as_banned(messages: &[Envelope]) -> Vec<ConnId> {
    messages
        .iter()
        .filter_map(|m| match m {
            Envelope::Peer(conn, PeerMsg::Close(CloseReason::Banned)) => Some(*conn),
            _ => None,
        })
        .collect()
}

/// Regression (issue 15, item 1): the liar's blocks were looked up among the connections
/// still open, so once it left, whoever completed the piece was its sole contributor.
#[test]
fn sender_that_left_is_still_blamed_and_the_completer_is_not_struck() {
    let (mut world, mut torrent) = setup();
    let (liar, honest) = (
        PeerAddr::v4([10, 0, 0, 2], 6881),
        PeerAddr::v4([10, 0, 0, 1], 6881),
    );
    for piece in 0..2 {
        connect(&mut world, &mut torrent, 10 + piece, liar);
        connect(&mut world, &mut torrent, 20 + piece, honest);
        let geometry = world.commons.shared.geometry;
        let p = geometry.piece(piece as u32).expect("in range");
        let first = geometry.block(p, 0).expect("in range");
        let data = Bytes::from(vec![0; first.length as usize]);
        let from = ConnId(10 + piece);
        torrent.handle(
            TorrentMsg::WriteBlock {
                block: first,
                data,
                from,
            },
            &mut world.ctx(),
        );
        torrent.handle(TorrentMsg::PeerGone(from), &mut world.ctx());
        // The honest peer sends every block but the first, which the liar sent and left.
        let senders = [20 + piece];
        let rest = geometry.blocks_in_piece(p);
        for i in 1..rest {
            let block = geometry.block(p, i).expect("in range");
            let data = Bytes::from(vec![0; block.length as usize]);
            let from = ConnId(senders[0]);
            torrent.handle(
                TorrentMsg::WriteBlock { block, data, from },
                &mut world.ctx(),
            );
        }
        torrent.handle(TorrentMsg::PieceComplete { piece: p }, &mut world.ctx());
        for i in 0..rest {
            let block = geometry.block(p, i).expect("in range");
            torrent.handle(
                TorrentMsg::BlockWritten {
                    block,
                    result: Ok(()),
                },
                &mut world.ctx(),
            );
        }
        let digest = Ok([0xcd; 20]);
        torrent.handle(
            TorrentMsg::PieceHashed { piece: p, digest },
            &mut world.ctx(),
        );
    }
    assert!(banned(&world).is_empty(), "{:?}", banned(&world));
}

/// Regression (issue 15, item 1): bans were per ip:port, so a liar dialling in again from a
/// new source port was a new peer. Now a ban covers the IP: the redial is closed at once and
/// no port of it is dialled.
#[test]
fn ban_is_by_ip_and_a_redial_from_a_new_port_is_closed_at_once() {
    let (mut world, mut torrent) = setup();
    let liar = PeerAddr::v4([10, 0, 0, 2], 40_001);
    connect(&mut world, &mut torrent, 1, liar);
    fail_piece(&mut world, &mut torrent, 0, &[1]);
    fail_piece(&mut world, &mut torrent, 1, &[1]);
    assert_eq!(banned(&world), vec![liar]);
    assert_eq!(closed_as_banned(&world.take_messages()), vec![ConnId(1)]);
    torrent.handle(TorrentMsg::PeerGone(ConnId(1)), &mut world.ctx());
    connect(
        &mut world,
        &mut torrent,
        2,
        PeerAddr {
            port: 40_002,
            ..liar
        },
    );
    assert_eq!(closed_as_banned(&world.take_messages()), vec![ConnId(2)]);
    world.commons.commands.clear();
    let other_port = PeerAddr { port: 6881, ..liar };
    torrent.handle(TorrentMsg::AddPeers(vec![other_port]), &mut world.ctx());
    assert!(
        !world
            .commons
            .commands
            .iter()
            .any(|c| matches!(c, Command::Connect { .. })),
        "dialled a banned IP: {:?}",
        world.commons.commands
    );
}

/// Issue 15, item 10: a source whose copy of one piece is bad (a stale resume record) keeps
/// serving the others. The same piece failing again is not a second strike; that piece is
/// not asked of it any more; a second distinct bad piece bans it (`ban_after_failures` = 2).
#[test]
fn one_bad_piece_excludes_that_piece_and_a_second_distinct_one_bans() {
    let (mut world, mut torrent) = setup();
    let source = PeerAddr::v4([10, 0, 0, 3], 6881);
    connect(&mut world, &mut torrent, 1, source);
    fail_piece(&mut world, &mut torrent, 0, &[1]);
    fail_piece(&mut world, &mut torrent, 0, &[1]);
    assert!(banned(&world).is_empty());
    let excluded = world
        .take_messages()
        .into_iter()
        .filter(|m| matches!(m, Envelope::Picker(PickerMsg::Exclude { conn: ConnId(1), piece }) if piece.get() == 0))
        .count();
    assert_eq!(excluded, 2);
    fail_piece(&mut world, &mut torrent, 2, &[1]);
    assert_eq!(banned(&world), vec![source]);
}

/// A failed piece from two senders strikes neither; it is fetched again from one peer.
#[test]
fn piece_from_several_senders_strikes_nobody() {
    let (mut world, mut torrent) = setup();
    connect(
        &mut world,
        &mut torrent,
        1,
        PeerAddr::v4([10, 0, 0, 1], 6881),
    );
    connect(
        &mut world,
        &mut torrent,
        2,
        PeerAddr::v4([10, 0, 0, 2], 6881),
    );
    for piece in 0..PIECES {
        fail_piece(&mut world, &mut torrent, piece, &[1, 2]);
    }
    assert!(banned(&world).is_empty());
}

/// Issue 15, item 3: inbound connections are capped; the one beyond the cap is closed at
/// once, and outbound ones do not count.
#[test]
fn inbound_connection_beyond_the_cap_is_closed() {
    use crate::actors::torrent::MAX_INBOUND_CONNECTIONS;
    let (mut world, mut torrent) = setup();
    for i in 0..=MAX_INBOUND_CONNECTIONS as u64 {
        let addr = PeerAddr::v4([10, 1, (i >> 8) as u8, i as u8], 6881);
        connect(&mut world, &mut torrent, i, addr);
    }
    let outbound = TorrentMsg::PeerConnected {
        conn: ConnId(9_999),
        addr: PeerAddr::v4([10, 2, 0, 1], 6881),
        direction: Direction::Outbound,
    };
    torrent.handle(outbound, &mut world.ctx());
    let closed: Vec<ConnId> = world
        .take_messages()
        .into_iter()
        .filter_map(|m| match m {
            Envelope::Peer(conn, PeerMsg::Close(CloseReason::OverLimit(_))) => Some(conn),
            _ => None,
        })
        .collect();
    assert_eq!(closed, vec![ConnId(MAX_INBOUND_CONNECTIONS as u64)]);
}

fn hashes_asked(world: &TestWorld) -> Vec<u32> {
    world
        .commons
        .commands
        .iter()
        .filter_map(|c| match c {
            Command::HashPiece { piece } => Some(piece.get()),
            _ => None,
        })
        .collect()
}

/// A seed serving a copy it did not hash in this run checks the first piece asked for,
/// and with `check_ahead_pieces` keeps that many checks going over the others, in order,
/// so later requests seldom wait for one; without it, only what is asked for is hashed.
#[test]
fn serving_checks_ahead_of_the_requests_when_asked_to() {
    for (ahead, first, after_one) in [(0, vec![2], vec![2]), (2, vec![2, 0], vec![2, 0, 1])] {
        let config = NodeConfig {
            check_ahead_pieces: ahead,
            ..NodeConfig::new([9; 20])
        };
        let mut world = TestWorld::new(PIECES, Bitfield::full(PIECES), config);
        let hashes: Vec<[u8; 20]> = vec![[0xab; 20]; PIECES as usize];
        let mut torrent = Torrent::new(Arc::from(hashes), true);
        let piece = |i| world.commons.shared.geometry.piece(i).expect("in range");
        let (asked, first_ahead) = (piece(2), piece(0));
        torrent.handle(TorrentMsg::CheckBeforeServing(asked), &mut world.ctx());
        assert_eq!(hashes_asked(&world), first, "check_ahead_pieces {ahead}");
        let digest = Ok([0xab; 20]);
        let done = if ahead == 0 { asked } else { first_ahead };
        torrent.handle(
            TorrentMsg::PieceHashed {
                piece: done,
                digest,
            },
            &mut world.ctx(),
        );
        assert!(world.commons.shared.is_checked(done));
        assert_eq!(
            hashes_asked(&world),
            after_one,
            "check_ahead_pieces {ahead}"
        );
    }
}
