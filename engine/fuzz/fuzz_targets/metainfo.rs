//! Torrent file parsing: never panics; what it accepts is internally consistent.
#![no_main]

use libfuzzer_sys::fuzz_target;
use swarm_engine::metainfo::Metainfo;

fuzz_target!(|data: &[u8]| {
    if let Ok(meta) = Metainfo::from_bytes(data) {
        let geometry = meta.geometry;
        assert_eq!(meta.piece_hashes.len() as u64, u64::from(geometry.piece_count()));
        let total: u64 = meta.files.iter().map(|f| f.length).sum();
        assert_eq!(total, geometry.total_length());
        let _ = meta.trackers();
    }
});
