//! One peer of one swarm as the tracker sees it: identity, address, and the statistics
//! derived from its announces (counters, progress, rates between announces).

use std::net::SocketAddr;

pub use swarm_engine::bep3::PeerId;

/// The counters a client reports in one announce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counters {
    /// Bytes uploaded since the client's `started` event.
    pub uploaded_bytes: u64,
    /// Bytes downloaded since the client's `started` event.
    pub downloaded_bytes: u64,
    /// Bytes the client still lacks; 0 means it is a seed.
    pub left_bytes: u64,
}

/// One tracked peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    /// Identity within the swarm.
    pub id: PeerId,
    /// Where other peers reach it.
    pub addr: SocketAddr,
    /// The latest reported counters.
    pub counters: Counters,
    /// Upload rate between its last two announces, bytes per second.
    pub upload_bps: u64,
    /// Download rate between its last two announces, bytes per second.
    pub download_bps: u64,
    /// Time of its first announce (core clock, milliseconds).
    pub first_seen_ms: u64,
    /// Time of its latest announce (core clock, milliseconds).
    pub last_seen_ms: u64,
    /// Announces received from it.
    pub announces: u32,
    /// It held the whole content at its first announce (an origin or another initial seed).
    pub initial_seed: bool,
    /// Its `completed` event was counted (a peer is counted once per swarm).
    pub completed_counted: bool,
}

/// What changed in a peer's counters since its previous announce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CounterDelta {
    /// Newly reported upload, bytes.
    pub uploaded_bytes: u64,
    /// Newly reported download, bytes.
    pub downloaded_bytes: u64,
}

impl Peer {
    /// A peer first seen now.
    pub fn new(id: PeerId, addr: SocketAddr, counters: Counters, now_ms: u64) -> Self {
        Peer {
            id,
            addr,
            counters,
            upload_bps: 0,
            download_bps: 0,
            first_seen_ms: now_ms,
            last_seen_ms: now_ms,
            announces: 1,
            initial_seed: counters.left_bytes == 0,
            completed_counted: false,
        }
    }

    /// Whether it holds the whole content.
    pub fn is_seed(&self) -> bool {
        self.counters.left_bytes == 0
    }

    /// Whether it has gone without announcing for longer than `timeout_ms`.
    pub fn is_expired(&self, now_ms: u64, timeout_ms: u64) -> bool {
        now_ms.saturating_sub(self.last_seen_ms) > timeout_ms
    }

    /// Takes a new announce: updates counters, address and rates, and returns what was
    /// newly reported. A counter that went down (the client restarted) counts from zero.
    pub fn update(&mut self, addr: SocketAddr, counters: Counters, now_ms: u64) -> CounterDelta {
        let previous = self.counters;
        let grew = |new: u64, old: u64| if new >= old { new - old } else { new };
        let delta = CounterDelta {
            uploaded_bytes: grew(counters.uploaded_bytes, previous.uploaded_bytes),
            downloaded_bytes: grew(counters.downloaded_bytes, previous.downloaded_bytes),
        };
        let elapsed_ms = now_ms.saturating_sub(self.last_seen_ms);
        if elapsed_ms > 0 {
            self.upload_bps = rate_bps(delta.uploaded_bytes, elapsed_ms);
            self.download_bps = rate_bps(delta.downloaded_bytes, elapsed_ms);
        }
        self.addr = addr;
        self.counters = counters;
        self.last_seen_ms = now_ms;
        self.announces = self.announces.saturating_add(1);
        delta
    }
}

fn rate_bps(bytes: u64, elapsed_ms: u64) -> u64 {
    let bps = u128::from(bytes) * 1000 / u128::from(elapsed_ms);
    u64::try_from(bps).unwrap_or(u64::MAX)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn addr() -> SocketAddr {
        "10.0.0.1:6881".parse().unwrap()
    }

    #[test]
    fn rates_are_computed_between_announces() {
        let counters = Counters {
            left_bytes: 1000,
            ..Default::default()
        };
        let mut peer = Peer::new(PeerId([1; 20]), addr(), counters, 1_000);
        let next = Counters {
            uploaded_bytes: 4_000,
            downloaded_bytes: 2_000,
            left_bytes: 0,
        };
        let delta = peer.update(addr(), next, 3_000);
        assert_eq!(
            delta,
            CounterDelta {
                uploaded_bytes: 4_000,
                downloaded_bytes: 2_000
            }
        );
        assert_eq!((peer.upload_bps, peer.download_bps), (2_000, 1_000));
        assert!(peer.is_seed() && !peer.initial_seed);
    }

    #[test]
    fn counters_that_go_down_count_from_zero() {
        let counters = Counters {
            uploaded_bytes: 500,
            ..Default::default()
        };
        let mut peer = Peer::new(PeerId([1; 20]), addr(), counters, 0);
        let delta = peer.update(
            addr(),
            Counters {
                uploaded_bytes: 100,
                ..counters
            },
            1_000,
        );
        assert_eq!(delta.uploaded_bytes, 100);
    }

    #[test]
    fn peer_id_display_keeps_client_prefix() {
        let mut id = [0u8; 20];
        id[..8].copy_from_slice(b"-qB4650-");
        assert!(PeerId(id).display_lossy().starts_with("-qB4650-%00"));
    }
}
