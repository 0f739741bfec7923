//! Unit tests of the choker: slot limits and tit-for-tat.

use std::collections::BTreeSet;

use crate::actors::choker::Choker;
use crate::bitfield::Bitfield;
use crate::node::config::NodeConfig;
use crate::node::ctx::test_world::TestWorld;
use crate::node::ctx::{ChokeCandidate, ChokerMsg, Envelope, PeerMsg};
use crate::node::io::ConnId;

fn candidate(conn: u64, download_rate: f64) -> ChokeCandidate {
    ChokeCandidate {
        conn: ConnId(conn),
        interested: true,
        download_rate,
        upload_rate: 0.0,
        snubbed: false,
    }
}

fn unchoked(messages: Vec<Envelope>, set: &mut BTreeSet<u64>) {
    for message in messages {
        match message {
            Envelope::Peer(conn, PeerMsg::Unchoke) => {
                set.insert(conn.0);
            }
            Envelope::Peer(conn, PeerMsg::Choke) => {
                set.remove(&conn.0);
            }
            _ => {}
        }
    }
}

#[test]
fn at_most_n_plus_one_unchoked_and_fastest_uploaders_win() {
    let mut world = TestWorld::new(4, Bitfield::new(4), NodeConfig::new([1; 20]));
    world.commons.shared.config.upload_slots = 4;
    let slots = world.commons.shared.config.upload_slots;
    let mut choker = Choker::default();
    let mut open = BTreeSet::new();
    for conn in 0..10 {
        choker.handle(
            ChokerMsg::Interest {
                conn: ConnId(conn),
                interested: true,
            },
            &mut world.ctx(),
        );
    }
    unchoked(world.take_messages(), &mut open);
    assert_eq!(open.len(), slots, "free slots fill at once");
    let candidates: Vec<ChokeCandidate> =
        (0..10).map(|c| candidate(c, c as f64 * 1000.0)).collect();
    choker.handle(ChokerMsg::Rechoke(candidates.clone()), &mut world.ctx());
    unchoked(world.take_messages(), &mut open);
    let expected: BTreeSet<u64> = (10 - slots as u64..10).collect();
    assert_eq!(
        open, expected,
        "tit-for-tat keeps the peers that give us most"
    );
    for _ in 0..5 {
        choker.handle(
            ChokerMsg::RotateOptimistic(candidates.clone()),
            &mut world.ctx(),
        );
        unchoked(world.take_messages(), &mut open);
        assert!(open.len() <= slots + 1);
        assert_eq!(choker.unchoked_count(), open.len());
    }
}

#[test]
fn snubbed_peers_rank_last() {
    let mut world = TestWorld::new(4, Bitfield::new(4), NodeConfig::new([1; 20]));
    world.commons.shared.config.upload_slots = 1;
    let mut choker = Choker::default();
    let mut fast_but_snubbed = candidate(1, 1e9);
    fast_but_snubbed.snubbed = true;
    choker.handle(
        ChokerMsg::Rechoke(vec![fast_but_snubbed, candidate(2, 10.0)]),
        &mut world.ctx(),
    );
    let mut open = BTreeSet::new();
    unchoked(world.take_messages(), &mut open);
    assert_eq!(open, BTreeSet::from([2]));
}
