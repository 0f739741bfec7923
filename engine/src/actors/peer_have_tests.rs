//! Unit tests of the peer actor: what it counts of the remote (distinct pieces, "both seeds").

use crate::actors::peer::Peer;
use crate::bitfield::Bitfield;
use crate::metainfo::InfoHash;
use crate::node::config::NodeConfig;
use crate::node::ctx::test_world::TestWorld;
use crate::node::ctx::{PeerMsg, PieceVerified};
use crate::node::io::{CloseReason, Command, ConnId, Direction, Frame};
use crate::wire::{Handshake, Message};

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
