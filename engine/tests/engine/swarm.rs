//! End-to-end engine tests in the in-memory runtime: whole swarms transfer byte-exact
//! content, deterministically, and survive a corrupt peer.

use std::time::Duration;

use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use swarm_engine::node::addr::PeerAddr;
use swarm_engine::testkit::{NodeSetup, Swarm};
use swarm_engine::time::Time;

const PIECE: u32 = 64 * 1024;

fn content(len: usize, seed: u64) -> Vec<u8> {
    let mut bytes = vec![0; len];
    ChaCha8Rng::seed_from_u64(seed).fill_bytes(&mut bytes);
    bytes
}

fn deadline() -> Time {
    Time::from_nanos(600 * 1_000_000_000)
}

/// A seed that answers every request with bytes that are not the content.
fn liar() -> NodeSetup {
    let mut liar = NodeSetup::new(2, true);
    liar.corrupt = true;
    liar
}

/// Runs trial `trial` to the end: `victim` completes byte-exact without banning the `honest`
/// seed. Returns the addresses `victim` banned.
fn finish_trial(swarm: &mut Swarm, trial: u64, victim: usize, honest: usize) -> Vec<PeerAddr> {
    assert!(
        swarm.run_until_complete(deadline()),
        "trial {trial}: stalled"
    );
    assert!(swarm.content_matches(victim), "trial {trial}");
    let banned = swarm.banned_by(victim).to_vec();
    assert!(
        !banned.iter().any(|a| a.ip == swarm.addr(honest).ip),
        "trial {trial}: honest seed banned ({banned:?})"
    );
    banned
}

fn swarm_of(peers: usize, len: usize, seed: u64) -> Swarm {
    let mut swarm = Swarm::new(&content(len, seed), PIECE, Duration::from_millis(1), 50e6);
    swarm.add_node(NodeSetup::new(1, true), seed);
    for i in 0..peers {
        swarm.add_node(NodeSetup::new(10 + i as u8, false), seed + 1 + i as u64);
    }
    swarm
}

#[test]
fn two_nodes_transfer_byte_exact() {
    let mut swarm = swarm_of(1, 1_000_000 + 123, 7);
    assert!(swarm.run_until_complete(deadline()), "did not complete");
    assert!(swarm.content_matches(1));
    let stats = swarm.node(0).stats();
    assert!(stats.uploaded_bytes >= 1_000_123);
}

#[test]
fn five_nodes_transfer_byte_exact_and_share_the_load() {
    let mut swarm = swarm_of(4, 3_000_000, 11);
    assert!(swarm.run_until_complete(deadline()), "did not complete");
    for i in 1..5 {
        assert!(swarm.content_matches(i), "node {i}");
    }
    let peer_upload: u64 = (1..5).map(|i| swarm.node(i).stats().uploaded_bytes).sum();
    assert!(peer_upload > 0, "peers never uploaded to each other");
}

#[test]
fn same_seed_same_trace_different_seed_different_trace() {
    let run = |seed| {
        let mut swarm = swarm_of(3, 1_500_000, seed);
        assert!(swarm.run_until_complete(deadline()));
        swarm.trace().to_vec()
    };
    let first = run(3);
    let second = run(3);
    if let Some(i) = (0..first.len().min(second.len())).find(|&i| first[i] != second[i]) {
        panic!(
            "runs diverge at event {i}: {:?} vs {:?}",
            first[i], second[i]
        );
    }
    assert_eq!(first.len(), second.len());
    assert_ne!(first, run(4));
}

#[test]
fn corrupt_peer_is_banned_and_download_completes() {
    let data = content(2_000_000, 5);
    let mut swarm = Swarm::new(&data, PIECE, Duration::from_millis(1), 50e6);
    swarm.add_node(NodeSetup::new(1, true), 1);
    let liar_index = swarm.add_node(liar(), 2);
    let victim = swarm.add_node(NodeSetup::new(3, false), 3);
    assert!(swarm.run_until_complete(deadline()), "did not complete");
    assert!(swarm.content_matches(victim));
    assert!(
        swarm.banned_by(victim).contains(&swarm.addr(liar_index)),
        "liar not banned"
    );
}

/// Regression: every sender of a failed piece used to get a strike, so an honest seed that
/// shared pieces with a liar was banned too and the download could stall.
#[test]
fn honest_peer_sharing_failed_pieces_with_a_liar_is_not_banned() {
    let data = content(3_000_000, 6);
    let mut swarm = Swarm::new(&data, PIECE, Duration::from_millis(1), 50e6);
    let honest = swarm.add_node(NodeSetup::new(1, true), 1);
    swarm.add_node(liar(), 2);
    let victim = swarm.add_node(NodeSetup::new(3, false), 3);
    assert!(swarm.run_until_complete(deadline()), "did not complete");
    assert!(swarm.content_matches(victim));
    assert!(
        !swarm.banned_by(victim).contains(&swarm.addr(honest)),
        "honest seed banned"
    );
}

#[test]
fn origin_mode_sends_about_one_copy() {
    let len = 4_000_000;
    let mut swarm = Swarm::new(&content(len, 9), PIECE, Duration::from_millis(1), 20e6);
    let mut origin = NodeSetup::new(1, true);
    origin.config.origin_mode = true;
    swarm.add_node(origin, 1);
    for i in 0..6 {
        swarm.add_node(NodeSetup::new(10 + i, false), 10 + u64::from(i));
    }
    assert!(swarm.run_until_complete(deadline()), "did not complete");
    for i in 1..7 {
        assert!(swarm.content_matches(i));
    }
    let copies = swarm.node(0).stats().uploaded_bytes as f64 / len as f64;
    assert!(copies < 2.0, "origin uploaded {copies:.2} copies");
}

/// Regression (issue 15, item 1): a liar that is banned and closed leaves its bad blocks in
/// partial pieces; the honest seed completes them and the piece fails. The failure used to be
/// blamed on the connections still open, so the honest seed was the "sole contributor" and was
/// banned, and the download stalled. Over several seeds: the honest seed is never banned, the
/// liar is, and the download completes byte-exact.
#[test]
fn corrupt_peer_never_gets_the_honest_seed_banned() {
    // Pieces of 16 blocks, twice a pipeline, so both seeds send blocks of the same pieces.
    const BIG_PIECE: u32 = 256 * 1024;
    for trial in 0..8u64 {
        let data = content(6_000_000, 100 + trial);
        let mut swarm = Swarm::new(&data, BIG_PIECE, Duration::from_millis(1), 50e6);
        // Half the trials the liar is known first, half the honest seed.
        let (liar_index, honest) = if trial % 2 == 0 {
            let l = swarm.add_node(liar(), 2 + trial);
            (l, swarm.add_node(NodeSetup::new(1, true), 1 + trial))
        } else {
            let h = swarm.add_node(NodeSetup::new(1, true), 1 + trial);
            (swarm.add_node(liar(), 2 + trial), h)
        };
        let victim = swarm.add_node(NodeSetup::new(3, false), 30 + trial);
        let banned = finish_trial(&mut swarm, trial, victim, honest);
        assert!(
            banned.iter().any(|a| a.ip == swarm.addr(liar_index).ip),
            "trial {trial}: liar not banned"
        );
    }
}

/// Regression (issue 15, item 1): a liar that sends bad blocks and leaves could frame anyone:
/// its blocks stayed in partial pieces and were blamed on whoever completed them. Here the
/// liar leaves every few milliseconds, with blocks of some pieces received, and dials in again
/// from a new source port; each trial at other moments. The honest seed is never banned.
#[test]
fn corrupt_peer_that_leaves_and_redials_never_gets_the_honest_seed_banned() {
    const BIG_PIECE: u32 = 256 * 1024;
    for trial in 0..8u64 {
        let data = content(6_000_000, 200 + trial);
        let mut swarm = Swarm::new(&data, BIG_PIECE, Duration::from_millis(1), 20e6);
        let honest = swarm.add_node(NodeSetup::new(1, true), 1 + trial);
        let liar_index = swarm.add_node(liar(), 2 + trial);
        let victim = swarm.add_node(NodeSetup::new(3, false), 30 + trial);
        let mut at = 0;
        for round in 0..20 {
            at += (5 + (trial + round) % 7) * 1_000_000;
            if swarm.run_until_complete(Time::from_nanos(at)) {
                break;
            }
            swarm.leave(liar_index);
            swarm.redial(liar_index, victim);
        }
        finish_trial(&mut swarm, trial, victim, honest);
    }
}

/// Regression (issue 15, item 3): 300 announced fake seeds that accept and stay silent
/// filled every connection slot and the download verified nothing. Handshake timeouts
/// free the slots; the download completes.
#[test]
fn poisoned_peer_list_of_silent_seeds_does_not_stall_the_download() {
    let mut swarm = Swarm::new(
        &content(2_000_000, 12),
        PIECE,
        Duration::from_millis(1),
        50e6,
    );
    swarm.add_silent_peers(300);
    swarm.add_node(NodeSetup::new(1, true), 1);
    let victim = swarm.add_node(NodeSetup::new(3, false), 3);
    assert!(swarm.run_until_complete(deadline()), "stalled");
    assert!(swarm.content_matches(victim));
}

/// Regression (issue 15, item 10): a byte flipped on the origin's disk, with size and mtime
/// kept, was trusted through its resume record and served. A seed hashes each piece before
/// it first serves it: the stale piece is reported, fetched again, and never sent.
#[test]
fn stale_piece_on_a_seed_is_checked_before_serving_and_never_sent() {
    let data = content(2_000_000, 13);
    let mut swarm = Swarm::new(&data, PIECE, Duration::from_millis(1), 50e6);
    let mut stale = NodeSetup::new(1, true);
    stale.stale_piece = Some(3);
    let stale = swarm.add_node(stale, 1);
    swarm.add_node(NodeSetup::new(2, true), 2);
    let victim = swarm.add_node(NodeSetup::new(3, false), 3);
    assert!(swarm.run_until_complete(deadline()), "did not complete");
    assert!(swarm.content_matches(victim));
    assert_eq!(swarm.failed_by(victim), 0, "a bad piece was sent");
    assert_eq!(swarm.failed_by(stale), 1, "the stale piece was not caught");
    assert!(
        swarm.content_matches(stale),
        "the stale seed did not repair its copy"
    );
    assert!(swarm.banned_by(victim).is_empty());
}

/// Regression (issue 15, item 10): a leecher whose only source failed one piece banned it
/// after the second failure and stopped at 80 of 128 pieces. Now the source is struck for
/// that piece only, which is not asked of it again: every other piece arrives.
#[test]
fn only_source_with_one_bad_piece_still_serves_all_the_others() {
    let data = content(2_000_000, 14);
    let mut swarm = Swarm::new(&data, PIECE, Duration::from_millis(1), 50e6);
    let mut source = NodeSetup::new(1, true);
    source.corrupt_piece = Some(5);
    swarm.add_node(source, 1);
    let victim = swarm.add_node(NodeSetup::new(3, false), 3);
    assert!(!swarm.run_until_complete(Time::from_nanos(60_000_000_000)));
    let verified = swarm.node(victim).verified();
    assert_eq!(verified.count_ones(), verified.len() - 1);
    assert!(!verified.get(5));
    assert!(
        swarm.banned_by(victim).is_empty(),
        "the only source was banned"
    );
    assert_eq!(
        swarm.failed_by(victim),
        1,
        "the bad piece was asked for again"
    );
}
