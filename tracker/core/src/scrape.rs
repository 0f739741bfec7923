//! Scrape (BEP 48): per-torrent seed, leecher and download counts.

use swarm_engine::metainfo::InfoHash;

use super::TrackerCore;

/// One torrent's scrape entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ScrapeStats {
    /// Seeds.
    pub complete: u32,
    /// Leechers.
    pub incomplete: u32,
    /// `completed` events counted.
    pub downloaded: u64,
}

impl TrackerCore {
    /// Counts for the given torrents (at most `max_scrape_swarms` of them). Torrents the
    /// tracker does not know are left out, as BEP 48 allows; no hash asks for nothing (a
    /// full scrape would list every info-hash to anyone). Silent peers are swept first if
    /// a sweep is due.
    pub fn scrape(
        &mut self,
        now_ms: u64,
        info_hashes: &[InfoHash],
    ) -> Vec<(InfoHash, ScrapeStats)> {
        let wanted = &info_hashes[..info_hashes.len().min(self.config.max_scrape_swarms)];
        let mut out = Vec::with_capacity(wanted.len());
        for &hash in wanted {
            self.purge_swarm_if_due(&hash, now_ms);
            if let Some(swarm) = self.swarms.get(&hash) {
                let stats = ScrapeStats {
                    complete: u32::try_from(swarm.seeds().len()).unwrap_or(u32::MAX),
                    incomplete: u32::try_from(swarm.leechers().len()).unwrap_or(u32::MAX),
                    downloaded: swarm.totals().completed,
                };
                out.push((hash, stats));
            }
        }
        out
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use crate::announce::tests::request;
    use crate::{AnnounceEvent, AnnounceRequest, CoreConfig};

    use super::*;

    fn announce(core: &mut TrackerCore, hash: u8, peer: u8, left_bytes: u64, event: AnnounceEvent) {
        let on_hash = AnnounceRequest {
            info_hash: InfoHash([hash; 20]),
            ..request(peer, left_bytes, event)
        };
        core.announce(0, &on_hash, &mut ChaCha8Rng::seed_from_u64(0))
            .unwrap();
    }

    #[test]
    fn scrape_counts_seeds_leechers_and_downloads() {
        let mut core = TrackerCore::new(CoreConfig::default());
        announce(&mut core, 1, 1, 0, AnnounceEvent::Started);
        announce(&mut core, 1, 2, 5, AnnounceEvent::Started);
        announce(&mut core, 1, 3, 0, AnnounceEvent::Completed);
        announce(&mut core, 2, 1, 5, AnnounceEvent::Started);
        let one = core.scrape(0, &[InfoHash([1; 20]), InfoHash([9; 20])]);
        assert_eq!(
            one,
            vec![(
                InfoHash([1; 20]),
                ScrapeStats {
                    complete: 2,
                    incomplete: 1,
                    downloaded: 1
                }
            )]
        );
        assert!(core.scrape(0, &[]).is_empty(), "no full scrape");
    }
}
