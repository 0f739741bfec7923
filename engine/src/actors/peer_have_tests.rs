//! Unit tests of the peer actor: what it counts of the remote (distinct pieces, "both seeds")
//! and which `have`s it passes on.

use crate::actors::peer::Peer;
use crate::bitfield::Bitfield;
use crate::metainfo::InfoHash;
use crate::node::config::NodeConfig;
use crate::node::ctx::test_world::TestWorld;
use crate::node::ctx::{PeerMsg, PieceVerified};
use crate::node::io::{CloseReason, Command, ConnId, Direction, Frame};
use crate::wire::{ExtendedHandshake, Handshake, Message};

fn both_seeds_closes(world: &TestWorld) -> usize {
    world
        .commons
        .commands
        .iter()
        .filter(|c| {
            matches!(
                c,
                Command::Close {
                    reason: CloseReason::BothSeeds,
                    ..
                }
            )
        })
        .count()
}

/// Issue 14: duplicate `have`s counted twice made a peer holding 1 of 2 pieces look like a
/// seed, so "both seeds" closed the connection as soon as we completed.
#[test]
fn duplicate_haves_count_once_so_both_seeds_does_not_fire_early() {
    let mut verified = Bitfield::new(2);
    verified.set(0);
    let mut world = TestWorld::new(2, verified, NodeConfig::new([1; 20]));
    let conn = ConnId(1);
    let mut peer = Peer::new(conn, Direction::Inbound, &mut world.ctx());
    let handshake = Handshake::new(InfoHash([1; 20]), [2; 20]);
    peer.handle(
        PeerMsg::Frame(Frame::Handshake(handshake)),
        &mut world.ctx(),
    );
    for _ in 0..2 {
        let have = Frame::Message(Message::Have { piece: 1 });
        peer.handle(PeerMsg::Frame(have), &mut world.ctx());
    }
    let piece = world.commons.shared.geometry.piece(1).expect("piece 1");
    let proof = PieceVerified::check(piece, &[7; 20], &[7; 20]).expect("equal digests");
    world.commons.shared.mark_verified(proof);
    peer.handle(PeerMsg::Have(piece), &mut world.ctx());
    assert_eq!(both_seeds_closes(&world), 0, "{:?}", world.commons.commands);
    assert!(!peer.is_closed());
    // The remote really completes: now both are seeds.
    let have = Frame::Message(Message::Have { piece: 0 });
    peer.handle(PeerMsg::Frame(have), &mut world.ctx());
    peer.handle(PeerMsg::Have(piece), &mut world.ctx());
    assert_eq!(both_seeds_closes(&world), 1, "{:?}", world.commons.commands);
}

fn haves_sent(world: &TestWorld) -> Vec<u32> {
    world
        .commons
        .commands
        .iter()
        .filter_map(|c| match c {
            Command::Transmit {
                frame: Frame::Message(Message::Have { piece }),
                ..
            } => Some(*piece),
            _ => None,
        })
        .collect()
}

/// A connected peer that announced piece 0 (and, if `origin`, asked for every `have`),
/// after we verified pieces 0 and 1 and told the peer actor so.
fn haves_after_verifying_pieces_the_remote_partly_has(origin: bool) -> Vec<u32> {
    let mut world = TestWorld::new(3, Bitfield::new(3), NodeConfig::new([1; 20]));
    let mut peer = Peer::new(ConnId(1), Direction::Inbound, &mut world.ctx());
    let handshake = Handshake::new(InfoHash([1; 20]), [2; 20]);
    peer.handle(
        PeerMsg::Frame(Frame::Handshake(handshake)),
        &mut world.ctx(),
    );
    let mut theirs = ExtendedHandshake::ours(250, None);
    if origin {
        theirs = theirs.wanting_all_haves();
    }
    peer.handle(
        PeerMsg::Frame(Frame::Message(theirs.to_message())),
        &mut world.ctx(),
    );
    let have = Frame::Message(Message::Have { piece: 0 });
    peer.handle(PeerMsg::Frame(have), &mut world.ctx());
    for index in [0, 1] {
        let piece = world.commons.shared.geometry.piece(index).expect("piece");
        let proof = PieceVerified::check(piece, &[7; 20], &[7; 20]).expect("equal digests");
        world.commons.shared.mark_verified(proof);
        peer.handle(PeerMsg::Have(piece), &mut world.ctx());
    }
    assert!(!peer.is_closed(), "{:?}", world.commons.commands);
    haves_sent(&world)
}

/// Issue 13: in a 300-peer swarm half of all haves went to peers that had announced the
/// piece; they are not sent, except to a remote that asks for them all (an origin, which
/// counts holders).
#[test]
fn no_have_for_a_piece_the_remote_announced_unless_it_asks_for_all() {
    assert_eq!(
        haves_after_verifying_pieces_the_remote_partly_has(false),
        [1]
    );
    assert_eq!(
        haves_after_verifying_pieces_the_remote_partly_has(true),
        [0, 1]
    );
}
