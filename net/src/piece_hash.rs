//! Piece hashes computed while the blocks are written, so that checking a piece seldom
//! reads it back from disk.
//!
//! Each piece being written has a running SHA-1 that covers a prefix of the piece exactly
//! as reads return it now: the invariant every method keeps. A block that continues the
//! prefix is hashed from memory as it is written, on the disk thread that writes it; a
//! block further on is only noted, and hashed from disk once the gap before it fills. A
//! write inside the prefix (a block written again, by whatever path) restarts the piece's
//! hash, and [`PieceHashers::finish`] drops the state whatever the digest, so a piece that
//! failed its check starts from scratch on the next attempt. A block that touches a pad
//! file is hashed from disk, since reads give zeros there whatever the peer sent.
//!
//! Memory: one SHA-1 state and a list of written ranges per piece written and not yet
//! hashed; no block data is kept. Writes to one piece are serialized with its hash state,
//! writes to different pieces run in parallel.

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use sha1::{Digest, Sha1};
use swarm_engine::piece::{BlockRef, PieceIndex};

use crate::storage::Storage;

/// The running hashes of the pieces being written.
#[derive(Debug, Default)]
pub(crate) struct PieceHashers {
    pieces: Mutex<HashMap<PieceIndex, Arc<Mutex<Running>>>>,
}

/// One piece's hash so far.
#[derive(Debug, Default)]
struct Running {
    /// SHA-1 of bytes `[0, hashed_bytes)` of the piece, as on disk now.
    sha: Sha1,
    hashed_bytes: u32,
    /// Written ranges (start → end) beyond `hashed_bytes`, not hashed yet.
    ahead: BTreeMap<u32, u32>,
}

impl PieceHashers {
    /// Writes `data` as `block` and hashes what it can of the piece.
    pub(crate) fn write(&self, storage: &Storage, block: BlockRef, data: &[u8]) -> io::Result<()> {
        let running = Arc::clone(lock(&self.pieces).entry(block.piece).or_default());
        let mut running = lock_running(&running);
        if let Err(error) = storage.write_block(block, data) {
            *running = Running::default(); // what is on disk is unknown now
            return Err(error);
        }
        let end = block.offset.saturating_add(data.len() as u32);
        if block.offset < running.hashed_bytes {
            running.restart();
        }
        if block.offset == running.hashed_bytes && !storage.touches_pad(block) {
            running.sha.update(data);
            running.hashed_bytes = end;
        } else {
            running.ahead.insert(block.offset, end);
        }
        if running.catch_up(storage, block.piece).is_err() {
            // Reading back failed: leave the whole piece to `finish`, which reports errors.
            *running = Running::default();
        }
        Ok(())
    }

    /// SHA-1 of `piece` as on disk, reading only what was not hashed while written; forgets
    /// the piece's running hash.
    pub(crate) fn finish(&self, storage: &Storage, piece: PieceIndex) -> io::Result<[u8; 20]> {
        let running = lock(&self.pieces).remove(&piece);
        let Running {
            mut sha,
            hashed_bytes,
            ..
        } = running.map_or_else(Running::default, |r| std::mem::take(&mut *lock_running(&r)));
        storage.hash_range(
            piece,
            hashed_bytes..storage.geometry().piece_size(piece),
            &mut sha,
        )?;
        Ok(sha.finalize().into())
    }

    /// SHA-1 of `piece` if its running hash covers all `size` bytes (and no writer holds
    /// it), forgetting the running hash; `None` leaves it for [`PieceHashers::finish`].
    pub(crate) fn finish_if_whole(&self, piece: PieceIndex, size: u32) -> Option<[u8; 20]> {
        let mut pieces = lock(&self.pieces);
        let digest = {
            let mut running = pieces.get(&piece)?.try_lock().ok()?;
            if running.hashed_bytes != size {
                return None;
            }
            std::mem::take(&mut running.sha).finalize().into()
        };
        pieces.remove(&piece);
        Some(digest)
    }

    /// Pieces with a running hash (for tests).
    #[cfg(test)]
    fn len(&self) -> usize {
        lock(&self.pieces).len()
    }
}

impl Running {
    /// Forgets the hashed prefix: it is still written, but no longer what `sha` covers.
    fn restart(&mut self) {
        if self.hashed_bytes > 0 {
            self.ahead.insert(0, self.hashed_bytes);
        }
        self.sha = Sha1::new();
        self.hashed_bytes = 0;
    }

    /// Hashes from disk the written ranges that now continue the prefix.
    fn catch_up(&mut self, storage: &Storage, piece: PieceIndex) -> io::Result<()> {
        while let Some((&start, &end)) = self.ahead.first_key_value() {
            if start > self.hashed_bytes {
                break;
            }
            self.ahead.pop_first();
            if end > self.hashed_bytes {
                storage.hash_range(piece, self.hashed_bytes..end, &mut self.sha)?;
                self.hashed_bytes = end;
            }
        }
        Ok(())
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A state left by a thread that panicked mid-update is not trusted: it starts over.
fn lock_running(mutex: &Mutex<Running>) -> MutexGuard<'_, Running> {
    mutex.lock().unwrap_or_else(|poisoned| {
        let mut running = poisoned.into_inner();
        *running = Running::default();
        running
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::storage::padded::{self, A, B, PIECE_LENGTH};
    use swarm_engine::metainfo::Metainfo;
    use swarm_engine::piece::BLOCK_LENGTH;

    const BLOCK: usize = BLOCK_LENGTH as usize;

    /// A torrent of `files` (name, length) in pieces of `piece_length`, and its content.
    fn torrent(files: &[(&str, usize)], piece_length: usize) -> (Metainfo, Vec<u8>) {
        let total: usize = files.iter().map(|f| f.1).sum();
        let content: Vec<u8> = (0..total).map(|i| (i * 7 + i / 4099) as u8).collect();
        let mut bytes = b"d4:infod5:filesl".to_vec();
        for (name, length) in files {
            bytes.extend_from_slice(
                format!("d6:lengthi{length}e4:pathl{}:{name}ee", name.len()).as_bytes(),
            );
        }
        let pieces: Vec<u8> = content
            .chunks(piece_length)
            .flat_map(|p| Sha1::digest(p).to_vec())
            .collect();
        bytes.extend_from_slice(
            format!(
                "e4:name1:t12:piece lengthi{piece_length}e6:pieces{}:",
                pieces.len()
            )
            .as_bytes(),
        );
        bytes.extend_from_slice(&pieces);
        bytes.extend_from_slice(b"ee");
        (Metainfo::from_bytes(&bytes).unwrap(), content)
    }

    struct Fixture {
        _dir: tempfile::TempDir,
        meta: Metainfo,
        content: Vec<u8>,
        storage: Storage,
        hashers: PieceHashers,
    }

    impl Fixture {
        fn new(files: &[(&str, usize)], piece_length: usize) -> Self {
            let (meta, content) = torrent(files, piece_length);
            let dir = tempfile::tempdir().unwrap();
            let storage = Storage::open(&meta, &dir.path().join("t"), true).unwrap();
            Fixture {
                _dir: dir,
                meta,
                content,
                storage,
                hashers: PieceHashers::default(),
            }
        }

        fn block(&self, piece: u32, index: u32) -> BlockRef {
            self.meta
                .geometry
                .block(self.meta.geometry.piece(piece).unwrap(), index)
                .unwrap()
        }

        /// Writes block `index` of `piece` with the right bytes, or with `corrupt` ones.
        fn write(&self, piece: u32, index: u32, corrupt: bool) {
            let block = self.block(piece, index);
            let start =
                self.meta.geometry.piece_offset(block.piece) as usize + block.offset as usize;
            let mut data = self.content[start..start + block.length as usize].to_vec();
            if corrupt {
                data[0] ^= 0xff;
            }
            self.hashers.write(&self.storage, block, &data).unwrap();
        }

        fn hashed_bytes(&self, piece: u32) -> u32 {
            let piece = self.meta.geometry.piece(piece).unwrap();
            let pieces = lock(&self.hashers.pieces);
            pieces
                .get(&piece)
                .map_or(0, |r| lock_running(r).hashed_bytes)
        }

        fn verifies(&self, piece: u32) -> bool {
            let index = self.meta.geometry.piece(piece).unwrap();
            let digest = self.hashers.finish(&self.storage, index).unwrap();
            digest == self.meta.piece_hashes[piece as usize]
        }
    }

    #[test]
    fn in_order_blocks_are_hashed_as_written() {
        let f = Fixture::new(&[("a", 3 * 4 * BLOCK + 100)], 4 * BLOCK);
        for index in 0..4 {
            f.write(1, index, false);
            assert_eq!(f.hashed_bytes(1), (index + 1) * BLOCK_LENGTH);
        }
        assert!(f.verifies(1));
        assert_eq!(f.hashers.len(), 0);
        // Whole in memory: finished without a thread.
        for index in 0..4 {
            f.write(2, index, false);
        }
        let piece = f.meta.geometry.piece(2).unwrap();
        let size = f.meta.geometry.piece_size(piece);
        let digest = f.hashers.finish_if_whole(piece, size);
        assert_eq!(digest, Some(f.meta.piece_hashes[2]));
        assert_eq!(f.hashers.len(), 0);
        // The short last piece, one short block.
        f.write(3, 0, false);
        assert_eq!(f.hashed_bytes(3), 100);
        assert!(f.verifies(3));
    }

    #[test]
    fn out_of_order_blocks_are_hashed_from_disk_when_the_gap_fills() {
        let f = Fixture::new(&[("a", 4 * BLOCK)], 4 * BLOCK);
        f.write(0, 2, false);
        f.write(0, 1, false);
        assert_eq!(f.hashed_bytes(0), 0);
        f.write(0, 0, false);
        assert_eq!(f.hashed_bytes(0), 3 * BLOCK_LENGTH);
        let piece = f.meta.geometry.piece(0).unwrap();
        assert_eq!(f.hashers.finish_if_whole(piece, 4 * BLOCK_LENGTH), None);
        f.write(0, 3, false);
        assert_eq!(f.hashed_bytes(0), 4 * BLOCK_LENGTH);
        assert!(f.verifies(0));
    }

    #[test]
    fn finish_reads_back_what_was_not_hashed() {
        let f = Fixture::new(&[("a", 4 * BLOCK)], 4 * BLOCK);
        f.write(0, 3, false);
        f.write(0, 1, false);
        // Blocks 0 and 2 were written by an earlier run, before this process.
        let data = &f.content[..BLOCK];
        f.storage.write_block(f.block(0, 0), data).unwrap();
        f.storage
            .write_block(f.block(0, 2), &f.content[2 * BLOCK..3 * BLOCK])
            .unwrap();
        assert!(f.verifies(0));
        assert_eq!(f.hashers.len(), 0);
        // With no running hash at all, the piece is hashed from disk.
        assert!(f.verifies(0));
    }

    #[test]
    fn a_failed_piece_written_again_verifies() {
        let f = Fixture::new(&[("a", 4 * BLOCK)], 4 * BLOCK);
        f.write(0, 0, false);
        f.write(0, 1, true);
        f.write(0, 2, false);
        f.write(0, 3, false);
        assert!(!f.verifies(0));
        assert_eq!(f.hashers.len(), 0, "a checked piece leaves no state");
        // The next attempt, from another peer, in another order.
        for index in [1, 0, 3, 2] {
            f.write(0, index, false);
        }
        assert!(f.verifies(0));
    }

    #[test]
    fn a_block_rewritten_inside_the_hashed_prefix_restarts_the_hash() {
        let f = Fixture::new(&[("a", 4 * BLOCK)], 4 * BLOCK);
        f.write(0, 0, false);
        f.write(0, 1, true);
        f.write(0, 2, false);
        assert_eq!(f.hashed_bytes(0), 3 * BLOCK_LENGTH);
        f.write(0, 1, false); // rewritten before any check
        assert_eq!(f.hashed_bytes(0), 3 * BLOCK_LENGTH, "caught up from disk");
        f.write(0, 3, false);
        assert!(f.verifies(0));

        // A good block replaced by a bad one is caught too.
        for index in 0..4 {
            f.write(0, index, false);
        }
        f.write(0, 0, true);
        assert!(!f.verifies(0));
    }

    #[test]
    fn blocks_spanning_files_are_hashed_as_written() {
        // Files of 1.5 blocks, 10 bytes and the rest: blocks 1 and 2 cross file boundaries.
        let f = Fixture::new(
            &[("a", BLOCK + BLOCK / 2), ("b", 10), ("c", 3 * BLOCK)],
            2 * BLOCK,
        );
        for (piece, index) in [(0, 0), (0, 1), (1, 1), (1, 0), (2, 0)] {
            f.write(piece, index, false);
        }
        assert_eq!(f.hashed_bytes(0), 2 * BLOCK_LENGTH);
        assert!(f.verifies(0));
        assert!(f.verifies(1));
        assert!(f.verifies(2));
    }

    #[test]
    fn blocks_touching_pad_files_are_hashed_as_read() {
        let dir = tempfile::tempdir().unwrap();
        let meta = padded::torrent();
        let storage = Storage::open(&meta, &dir.path().join("set"), true).unwrap();
        let hashers = PieceHashers::default();
        let piece = meta.geometry.piece(0).unwrap();
        // The first block holds `a` then pad bytes, which the peer sent as non-zeros: they
        // are dropped, reads give zeros, and the piece verifies like its reads.
        let mut sent = A.to_vec();
        sent.resize(PIECE_LENGTH, 0xee);
        let block = meta.geometry.block(piece, 0).unwrap();
        hashers.write(&storage, block, &sent).unwrap();
        let digest = hashers.finish(&storage, piece).unwrap();
        assert_eq!(digest, storage.hash_piece(piece).unwrap());
        assert_eq!(digest, meta.piece_hashes[0]);

        let piece = meta.geometry.piece(1).unwrap();
        let block = meta.geometry.block(piece, 0).unwrap();
        hashers.write(&storage, block, B).unwrap();
        assert_eq!(
            hashers.finish(&storage, piece).unwrap(),
            meta.piece_hashes[1]
        );
    }
}
