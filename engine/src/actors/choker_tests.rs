//! Unit tests of the choker: slot limits and tit-for-tat.

use std::collections::BTreeSet;

use crate::actors::choker::Choker;
use crate::bitfield::Bitfield;
use crate::node::config::{ChokePolicy, NodeConfig};
use crate::node::ctx::test_world::TestWorld;
use crate::node::ctx::{ChokeCandidate, ChokerMsg, Envelope, PeerMsg};
use crate::node::io::{Command, ConnId};

fn candidate(conn: u64, download_rate: f64) -> ChokeCandidate {
    ChokeCandidate {
        conn: ConnId(conn),
        interested: true,
        download_rate,
        upload_rate: 0.0,
        snubbed: false,
    }
}

fn tit_for_tat() -> NodeConfig {
    let mut config = NodeConfig::new([1; 20]);
    config.choke_policy = ChokePolicy::TitForTat;
    config
}

fn interest(choker: &mut Choker, world: &mut TestWorld, conn: u64, interested: bool) {
    let msg = ChokerMsg::Interest {
        conn: ConnId(conn),
        interested,
    };
    choker.handle(msg, &mut world.ctx());
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
    let mut world = TestWorld::new(4, Bitfield::new(4), tit_for_tat());
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
    let mut world = TestWorld::new(4, Bitfield::new(4), tit_for_tat());
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

#[test]
fn regression_a_slot_freed_by_a_peer_that_lost_interest_goes_to_the_longest_waiting() {
    // Tit-for-tat kept a slot held by a peer that was no longer interested until the next
    // rechoke (10 s): with few slots the uplink idled meanwhile.
    let mut world = TestWorld::new(4, Bitfield::new(4), tit_for_tat());
    world.commons.shared.config.upload_slots = 2;
    let mut choker = Choker::default();
    let mut open = BTreeSet::new();
    for conn in 0..4 {
        interest(&mut choker, &mut world, conn, true);
    }
    unchoked(world.take_messages(), &mut open);
    assert_eq!(open, BTreeSet::from([0, 1]));
    interest(&mut choker, &mut world, 0, false);
    unchoked(world.take_messages(), &mut open);
    assert_eq!(open, BTreeSet::from([1, 2]), "peer 2 waited longest");
    choker.handle(ChokerMsg::PeerGone(ConnId(1)), &mut world.ctx());
    unchoked(world.take_messages(), &mut open);
    open.remove(&1);
    assert_eq!(open, BTreeSet::from([2, 3]));
}

#[test]
fn rotation_serves_one_peer_until_the_uplink_runs_low_then_passes_turns_on() {
    let mut world = TestWorld::new(4, Bitfield::new(4), NodeConfig::new([1; 20]));
    assert_eq!(
        world.commons.shared.config.choke_policy,
        ChokePolicy::Rotation
    );
    let mut choker = Choker::default();
    let mut open = BTreeSet::new();
    for conn in 0..4 {
        interest(&mut choker, &mut world, conn, true);
    }
    unchoked(world.take_messages(), &mut open);
    assert_eq!(open, BTreeSet::from([0]), "the fan-out starts at one");
    let watches = world
        .commons
        .commands
        .drain(..)
        .filter(|c| *c == Command::WatchUplink)
        .count();
    assert_eq!(
        watches, 1,
        "peers wait: the choker asks to hear when the uplink runs low"
    );
    choker.handle(ChokerMsg::UplinkIdle, &mut world.ctx());
    unchoked(world.take_messages(), &mut open);
    assert_eq!(
        open,
        BTreeSet::from([0, 1]),
        "ran low while peers wait: one more"
    );
    choker.handle(ChokerMsg::TurnServed(ConnId(0)), &mut world.ctx());
    unchoked(world.take_messages(), &mut open);
    assert_eq!(
        open,
        BTreeSet::from([1]),
        "a turn ended: its peer queues, one fewer served"
    );
    choker.handle(ChokerMsg::TurnServed(ConnId(1)), &mut world.ctx());
    unchoked(world.take_messages(), &mut open);
    assert_eq!(
        open,
        BTreeSet::from([2]),
        "the longest-waiting peer is next"
    );
    choker.handle(ChokerMsg::IdleTurns(vec![ConnId(2)]), &mut world.ctx());
    unchoked(world.take_messages(), &mut open);
    assert_eq!(
        open,
        BTreeSet::from([3]),
        "a served peer that asks nothing gives way"
    );
    for _ in 0..3 {
        choker.handle(ChokerMsg::Rechoke(vec![]), &mut world.ctx());
    }
    unchoked(world.take_messages(), &mut open);
    assert_eq!(
        open,
        BTreeSet::from([3]),
        "rotation ignores tit-for-tat's rechokes"
    );
}

#[test]
fn rotation_looks_at_idle_slots_only_while_a_peer_waits_for_one() {
    use crate::node::timers::TimerKey;
    let mut world = TestWorld::new(4, Bitfield::new(4), NodeConfig::new([1; 20]));
    let mut choker = Choker::default();
    interest(&mut choker, &mut world, 0, true);
    assert!(
        !world.commons.timers.is_set(TimerKey::TurnCheck),
        "one peer served, nobody waits: no timer (a held release costs no wakeups)"
    );
    interest(&mut choker, &mut world, 1, true);
    assert!(
        world.commons.timers.is_set(TimerKey::TurnCheck),
        "a peer waits: the slots are looked at"
    );
    while world
        .commons
        .timers
        .pop_expired(crate::time::Time::from_nanos(u64::MAX))
        .is_some()
    {}
    interest(&mut choker, &mut world, 1, false);
    assert!(
        !world.commons.timers.is_set(TimerKey::TurnCheck),
        "nobody waits any more: not armed again"
    );
}

#[test]
fn rotation_turns_last_longer_while_many_peers_wait() {
    let mut world = TestWorld::new(4, Bitfield::new(4), NodeConfig::new([1; 20]));
    world.commons.shared.config.turn_waiting_per_piece = 2;
    let mut choker = Choker::default();
    let mut open = BTreeSet::new();
    for conn in 0..5 {
        interest(&mut choker, &mut world, conn, true);
    }
    unchoked(world.take_messages(), &mut open);
    assert_eq!(open, BTreeSet::from([0]));
    // Four wait: a turn lasts 1 + 4 / 2 = 3 pieces' worth.
    for _ in 0..2 {
        choker.handle(ChokerMsg::TurnServed(ConnId(0)), &mut world.ctx());
        unchoked(world.take_messages(), &mut open);
        assert_eq!(open, BTreeSet::from([0]), "the turn goes on");
    }
    choker.handle(ChokerMsg::TurnServed(ConnId(0)), &mut world.ctx());
    unchoked(world.take_messages(), &mut open);
    assert_eq!(
        open,
        BTreeSet::from([1]),
        "three pieces' worth: the next peer"
    );
    // Peer 1's turn counts from zero. Peers 3 and 4 stop waiting, leaving 2 and 0:
    // 1 + 2 / 2 = 2 pieces' worth.
    interest(&mut choker, &mut world, 3, false);
    interest(&mut choker, &mut world, 4, false);
    choker.handle(ChokerMsg::TurnServed(ConnId(1)), &mut world.ctx());
    unchoked(world.take_messages(), &mut open);
    assert_eq!(open, BTreeSet::from([1]));
    choker.handle(ChokerMsg::TurnServed(ConnId(1)), &mut world.ctx());
    unchoked(world.take_messages(), &mut open);
    assert_eq!(open, BTreeSet::from([2]), "two waiting: two pieces' worth");
}
