//! Property and unit tests of the picker's invariants (see `engine/STATE.md`).

use std::collections::BTreeMap;

use bytes::Bytes;
use proptest::prelude::*;

use crate::actors::picker::{Picker, PieceState};
use crate::bitfield::Bitfield;
use crate::node::config::NodeConfig;
use crate::node::ctx::test_world::TestWorld;
use crate::node::ctx::{Envelope, PeerMsg, PickerMsg, PieceVerified};
use crate::node::io::ConnId;
use crate::piece::BlockRef;

fn world(pieces: u32) -> (TestWorld, Picker) {
    let world = TestWorld::new(pieces, Bitfield::new(pieces), NodeConfig::new([9; 20]));
    let picker = Picker::new(
        world.commons.shared.geometry,
        world.commons.shared.verified(),
    );
    (world, picker)
}

fn assigned(messages: Vec<Envelope>) -> Vec<(ConnId, Vec<BlockRef>)> {
    messages
        .into_iter()
        .filter_map(|m| match m {
            Envelope::Peer(conn, PeerMsg::Assign(blocks)) => Some((conn, blocks)),
            _ => None,
        })
        .collect()
}

#[derive(Debug, Clone)]
enum Op {
    Want { peer: usize, count: u32 },
    Deliver { peer: usize },
    Release { peer: usize },
    Gone { peer: usize },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..4usize, 1..12u32).prop_map(|(peer, count)| Op::Want { peer, count }),
        (0..4usize).prop_map(|peer| Op::Deliver { peer }),
        (0..4usize).prop_map(|peer| Op::Release { peer }),
        (0..4usize).prop_map(|peer| Op::Gone { peer }),
    ]
}

proptest! {
    /// Never a piece the peer lacks; never the same block to two peers outside endgame;
    /// the piece states stay consistent whatever the order of events.
    #[test]
    fn picks_respect_bitfields_and_never_duplicate_outside_endgame(
        bitfields in proptest::collection::vec(proptest::collection::vec(any::<bool>(), 12), 4),
        ops in proptest::collection::vec(op(), 1..80),
    ) {
        let pieces = 12u32;
        let (mut world, mut picker) = world(pieces);
        let mut has: Vec<Bitfield> = Vec::new();
        for (i, bits) in bitfields.iter().enumerate() {
            let mut bitfield = Bitfield::new(pieces);
            for (p, &b) in bits.iter().enumerate() {
                if b { bitfield.set(p as u32); }
            }
            has.push(bitfield.clone());
            picker.handle(PickerMsg::PeerBitfield { conn: ConnId(i as u64), bitfield }, &mut world.ctx());
        }
        world.take_messages();
        let mut outstanding: BTreeMap<usize, Vec<BlockRef>> = BTreeMap::new();
        let mut gone = [false; 4];
        for op in ops {
            match op {
                Op::Want { peer, count } if !gone[peer] => {
                    picker.handle(PickerMsg::WantBlocks { conn: ConnId(peer as u64), count }, &mut world.ctx());
                    for (conn, blocks) in assigned(world.take_messages()) {
                        prop_assert!(blocks.len() <= count as usize);
                        for block in blocks {
                            prop_assert!(has[conn.0 as usize].get(block.piece.get()), "piece the peer lacks");
                            let elsewhere = outstanding.iter().any(|(&p, bs)| p != peer && bs.contains(&block));
                            let endgame = picker.startable_available_for_tests() == 0;
                            prop_assert!(!elsewhere || endgame, "duplicate request outside endgame");
                            outstanding.entry(peer).or_default().push(block);
                        }
                    }
                }
                Op::Deliver { peer } => {
                    if let Some(block) = outstanding.get_mut(&peer).and_then(|bs| bs.pop()) {
                        let data = Bytes::from(vec![0u8; block.length as usize]);
                        picker.handle(PickerMsg::BlockReceived { conn: ConnId(peer as u64), block, data }, &mut world.ctx());
                        for blocks in outstanding.values_mut() {
                            blocks.retain(|b| *b != block);
                        }
                        world.take_messages();
                    }
                }
                Op::Release { peer } => {
                    let blocks = outstanding.remove(&peer).unwrap_or_default();
                    picker.handle(PickerMsg::Released { conn: ConnId(peer as u64), blocks }, &mut world.ctx());
                }
                Op::Gone { peer } if !gone[peer] => {
                    gone[peer] = true;
                    outstanding.remove(&peer);
                    picker.handle(PickerMsg::PeerGone(ConnId(peer as u64)), &mut world.ctx());
                }
                _ => {}
            }
            picker.check_invariants();
        }
    }
}

#[test]
fn rarest_piece_is_picked_first_after_random_start() {
    let (mut world, mut picker) = world(6);
    world.commons.shared.config.random_first_pieces = 0;
    let mut common = Bitfield::full(6);
    common.clear(4);
    for conn in 0..3 {
        picker.handle(
            PickerMsg::PeerBitfield {
                conn: ConnId(conn),
                bitfield: common.clone(),
            },
            &mut world.ctx(),
        );
    }
    picker.handle(
        PickerMsg::PeerBitfield {
            conn: ConnId(9),
            bitfield: Bitfield::full(6),
        },
        &mut world.ctx(),
    );
    world.take_messages();
    picker.handle(
        PickerMsg::WantBlocks {
            conn: ConnId(9),
            count: 2,
        },
        &mut world.ctx(),
    );
    let picks = assigned(world.take_messages());
    assert_eq!(
        picks[0].1[0].piece.get(),
        4,
        "piece 4 has one source, the others four"
    );
}

#[test]
fn hash_failure_returns_piece_to_missing_and_verification_needs_proof() {
    let (mut world, mut picker) = world(2);
    picker.handle(
        PickerMsg::PeerBitfield {
            conn: ConnId(1),
            bitfield: Bitfield::full(2),
        },
        &mut world.ctx(),
    );
    picker.handle(
        PickerMsg::WantBlocks {
            conn: ConnId(1),
            count: 4,
        },
        &mut world.ctx(),
    );
    let blocks: Vec<BlockRef> = assigned(world.take_messages()).remove(0).1;
    for block in blocks
        .iter()
        .filter(|b| b.piece.get() == blocks[0].piece.get())
    {
        let data = Bytes::from(vec![0u8; block.length as usize]);
        picker.handle(
            PickerMsg::BlockReceived {
                conn: ConnId(1),
                block: *block,
                data,
            },
            &mut world.ctx(),
        );
    }
    let piece = blocks[0].piece;
    assert_eq!(picker.piece_state(piece.get()), PieceState::Complete);
    picker.handle(PickerMsg::HashFailed(piece), &mut world.ctx());
    assert_eq!(picker.piece_state(piece.get()), PieceState::Missing);
    assert!(PieceVerified::check(piece, &[1; 20], &[2; 20]).is_none());
    let proof = PieceVerified::check(piece, &[2; 20], &[2; 20]).expect("matching digest");
    picker.handle(PickerMsg::Verified(proof), &mut world.ctx());
    assert_eq!(picker.piece_state(piece.get()), PieceState::Verified);
    picker.check_invariants();
}
