//! The tracker as the simulated nodes see it: the real tracker core from `swarm-tracker`,
//! next to the origin, with the scenario's outages.

use std::net::SocketAddr;
use std::time::Duration;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use swarm_engine::metainfo::InfoHash;
use swarm_engine::node::addr::PeerAddr;
use swarm_engine::node::io::{AnnounceEvent, AnnounceRequest, Input};
use swarm_engine::time::Time;
use swarm_tracker_core as tracker;

use crate::seed::{derive_seed, SeedTag};

use super::{addr_of, peer_id};

/// The tracker core plus the windows in which it answers nothing.
#[derive(Debug)]
pub(super) struct SimTracker {
    core: tracker::TrackerCore,
    rng: ChaCha8Rng,
    info_hash: InfoHash,
    outages: Vec<(Time, Time)>,
}

impl SimTracker {
    pub fn new(info_hash: InfoHash, interval_s: u32, root_seed: u64) -> Self {
        SimTracker {
            core: tracker::TrackerCore::new(tracker::CoreConfig::with_interval(interval_s)),
            rng: ChaCha8Rng::seed_from_u64(derive_seed(root_seed, SeedTag::Tracker, 0)),
            info_hash,
            outages: Vec::new(),
        }
    }

    /// The tracker answers nothing in `[from, until)`.
    pub fn add_outage(&mut self, from: Time, until: Time) {
        self.outages.push((from, until));
    }

    fn is_down(&self, now: Time) -> bool {
        self.outages
            .iter()
            .any(|&(from, until)| from <= now && now < until)
    }

    /// Node `i` announces at `now`; returns what the node hears back.
    pub fn announce(&mut self, now: Time, i: usize, request: &AnnounceRequest) -> Input {
        if self.is_down(now) {
            return Input::AnnounceFailed {
                reason: "tracker outage".into(),
            };
        }
        let req = self.request(
            i,
            request.event,
            tracker::Counters {
                uploaded_bytes: request.uploaded_bytes,
                downloaded_bytes: request.downloaded_bytes,
                left_bytes: request.left_bytes,
            },
            request.numwant,
        );
        match self.core.announce(now_ms(now), &req, &mut self.rng) {
            Ok(outcome) => Input::AnnounceDone {
                peers: outcome
                    .response
                    .peers
                    .iter()
                    .filter_map(|p| match p.addr {
                        SocketAddr::V4(v4) => Some(PeerAddr::v4(v4.ip().octets(), 6881)),
                        SocketAddr::V6(_) => None,
                    })
                    .collect(),
                interval: Duration::from_secs(u64::from(outcome.response.interval_s)),
            },
            Err(e) => Input::AnnounceFailed {
                reason: e.to_string(),
            },
        }
    }

    /// Node `i` leaves politely: it tells the tracker, if the tracker is up.
    pub fn stopped(&mut self, now: Time, i: usize) {
        if self.is_down(now) {
            return;
        }
        let request = self.request(
            i,
            AnnounceEvent::Stopped,
            tracker::Counters {
                uploaded_bytes: 0,
                downloaded_bytes: 0,
                left_bytes: 0,
            },
            0,
        );
        let _ = self.core.announce(now_ms(now), &request, &mut self.rng);
    }

    fn request(
        &self,
        i: usize,
        event: AnnounceEvent,
        counters: tracker::Counters,
        numwant: u32,
    ) -> tracker::AnnounceRequest {
        let [a, b, c, d] = addr_of(i).as_v4().expect("v4");
        tracker::AnnounceRequest {
            info_hash: self.info_hash,
            peer_id: tracker::PeerId(peer_id(i)),
            addr: SocketAddr::from(([a, b, c, d], 6881)),
            counters,
            event,
            numwant: Some(numwant),
        }
    }
}

fn now_ms(now: Time) -> u64 {
    now.as_nanos() / 1_000_000
}
