//! A bounded parallel piece-hashing pipeline, the one implementation behind `create` and
//! `verify`.
//!
//! ```text
//!   reader thread ──jobs (piece buffers, in index order)──▶ N hashing workers
//!        ▲                                                      │
//!        └──────────── buffer pool (workers + queue_depth) ◀────┤
//!                                                               ▼
//!                                    caller's thread ◀── digests (any order), stored by index
//! ```
//!
//! One reader thread reads every byte once, piece by piece in order, into buffers taken from
//! a pool; workers hash on all cores and hand the buffers back. At most
//! [`HashConfig::buffers`] buffers of one piece length ever exist, so memory stays at about
//! `(workers + queue_depth) × piece_length` whatever the content size. The caller's thread
//! only collects digests (20 bytes each) and reports progress.

use std::sync::mpsc::{self, Receiver, Sender, SyncSender, TryRecvError};
use std::sync::Mutex;
use std::thread;

use sha1::{Digest, Sha1};
use swarm_engine::piece::{Geometry, PieceIndex};

/// Whether a piece's bytes could be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    /// The buffer holds the piece.
    Present,
    /// The data is not there (a file absent or too short): nothing to hash.
    Missing,
}

/// The outcome for one piece.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PieceDigest {
    /// SHA-1 of the piece's bytes.
    Hashed([u8; 20]),
    /// The source reported the data absent.
    Missing,
}

/// Where pieces come from. Called on the reader thread only, once per piece, in index order,
/// so an implementation can keep a file open between calls.
pub trait PieceSource: Send {
    /// Why reading failed (hashing stops at the first failure).
    type Error: Send;

    /// Fills `buf`, which is exactly the piece's length, with the piece's bytes.
    fn read_piece(&mut self, piece: PieceIndex, buf: &mut [u8]) -> Result<Presence, Self::Error>;
}

/// Threads and buffering of the pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashConfig {
    /// Hashing threads (besides the reader thread).
    pub workers: usize,
    /// Read-ahead: pieces read and waiting beyond one per worker.
    pub queue_depth: usize,
}

/// Most hashing threads used, whatever the core count (bounds memory at 16 MiB pieces).
pub const MAX_WORKERS: usize = 32;

impl HashConfig {
    /// One worker per core (up to [`MAX_WORKERS`]) and a read-ahead of two pieces.
    pub fn for_this_machine() -> Self {
        let cores = thread::available_parallelism().map_or(1, |n| n.get());
        HashConfig {
            workers: cores.clamp(1, MAX_WORKERS),
            queue_depth: 2,
        }
    }

    /// How many piece buffers may exist at once.
    pub fn buffers(&self) -> usize {
        self.workers.max(1) + self.queue_depth
    }

    /// The most buffer memory the pipeline holds for pieces of `piece_length` bytes.
    pub fn buffer_bytes(&self, piece_length: u32) -> u64 {
        self.buffers() as u64 * u64::from(piece_length)
    }
}

impl Default for HashConfig {
    fn default() -> Self {
        Self::for_this_machine()
    }
}

enum Outcome<E> {
    Piece {
        piece: PieceIndex,
        digest: PieceDigest,
        length: u64,
    },
    Failed(E),
}

/// Reads and hashes every piece of `geometry` from `source`; returns one digest per piece,
/// in index order. `progress` is called on the caller's thread with the number of bytes
/// done so far (hashed or found missing), which reaches the total length at the end.
/// Stops at the source's first error and returns it once every thread has finished.
pub fn hash_pieces<S: PieceSource>(
    geometry: &Geometry,
    source: S,
    config: HashConfig,
    progress: &dyn Fn(u64),
) -> Result<Vec<PieceDigest>, S::Error> {
    let piece_count = geometry.piece_count() as usize;
    let workers = config.workers.clamp(1, piece_count.max(1));
    let buffers = workers + config.queue_depth;
    let (job_tx, job_rx) = mpsc::sync_channel::<(PieceIndex, Vec<u8>)>(buffers);
    let (pool_tx, pool_rx) = mpsc::sync_channel::<Vec<u8>>(buffers);
    let (outcome_tx, outcome_rx) = mpsc::channel::<Outcome<S::Error>>();
    let job_rx = Mutex::new(job_rx);

    let mut digests = vec![PieceDigest::Missing; piece_count];
    let mut failure = None;
    thread::scope(|scope| {
        for _ in 0..workers {
            let (job_rx, pool_tx, outcome_tx) = (&job_rx, pool_tx.clone(), outcome_tx.clone());
            scope.spawn(move || hash_worker(job_rx, pool_tx, outcome_tx));
        }
        let reader_outcomes = outcome_tx.clone();
        scope.spawn(move || {
            read_pieces(geometry, source, buffers, job_tx, pool_rx, reader_outcomes)
        });
        // Only the threads hold senders now: the loop ends when all of them have finished.
        drop((pool_tx, outcome_tx));
        let mut done_bytes = 0u64;
        for outcome in outcome_rx {
            match outcome {
                Outcome::Piece {
                    piece,
                    digest,
                    length,
                } => {
                    digests[piece.as_usize()] = digest;
                    done_bytes += length;
                    progress(done_bytes);
                }
                Outcome::Failed(error) => failure = Some(error),
            }
        }
    });
    match failure {
        Some(error) => Err(error),
        None => Ok(digests),
    }
}

/// The reader thread: fills pool buffers piece by piece and queues them for the workers.
fn read_pieces<S: PieceSource>(
    geometry: &Geometry,
    mut source: S,
    buffers: usize,
    jobs: SyncSender<(PieceIndex, Vec<u8>)>,
    pool: Receiver<Vec<u8>>,
    outcomes: Sender<Outcome<S::Error>>,
) {
    let piece_length = geometry.piece_length() as usize;
    let mut allocated = 0;
    let mut spare: Option<Vec<u8>> = None;
    for piece in geometry.pieces() {
        let buffer = match spare.take().map_or_else(|| pool.try_recv(), Ok) {
            Ok(buffer) => Some(buffer),
            Err(TryRecvError::Empty) if allocated < buffers => {
                allocated += 1;
                Some(Vec::with_capacity(piece_length))
            }
            Err(_) => pool.recv().ok(),
        };
        // No buffer can come back only when every worker has gone: nothing left to do.
        let Some(mut buffer) = buffer else { return };
        let length = geometry.piece_size(piece) as usize;
        buffer.resize(length, 0);
        match source.read_piece(piece, &mut buffer) {
            Ok(Presence::Present) => {
                if jobs.send((piece, buffer)).is_err() {
                    return;
                }
            }
            Ok(Presence::Missing) => {
                spare = Some(buffer);
                let missing = Outcome::Piece {
                    piece,
                    digest: PieceDigest::Missing,
                    length: length as u64,
                };
                if outcomes.send(missing).is_err() {
                    return;
                }
            }
            Err(error) => {
                let _ = outcomes.send(Outcome::Failed(error));
                return;
            }
        }
    }
}

/// A hashing thread: hashes queued pieces until the reader closes the queue.
fn hash_worker<E>(
    jobs: &Mutex<Receiver<(PieceIndex, Vec<u8>)>>,
    pool: SyncSender<Vec<u8>>,
    outcomes: Sender<Outcome<E>>,
) {
    loop {
        let job = match jobs.lock() {
            Ok(queue) => queue.recv(),
            Err(_) => return,
        };
        let Ok((piece, buffer)) = job else { return };
        let digest = PieceDigest::Hashed(Sha1::digest(&buffer).into());
        let length = buffer.len() as u64;
        // The pool has room for every buffer, so this never blocks; it fails only once the
        // reader has finished, and then the buffer is simply freed.
        let _ = pool.send(buffer);
        if outcomes
            .send(Outcome::Piece {
                piece,
                digest,
                length,
            })
            .is_err()
        {
            return;
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use std::collections::BTreeSet;
    use std::sync::Arc;

    /// Deterministic content; pieces in `missing` report absent, `fail_at` errors.
    struct Synthetic {
        data: Vec<u8>,
        piece_length: usize,
        missing: Vec<u32>,
        fail_at: Option<u32>,
        /// Addresses of the buffers handed to the source: one per allocation.
        buffers_seen: Arc<Mutex<BTreeSet<usize>>>,
    }

    impl PieceSource for Synthetic {
        type Error = u32;
        fn read_piece(&mut self, piece: PieceIndex, buf: &mut [u8]) -> Result<Presence, u32> {
            if self.fail_at == Some(piece.get()) {
                return Err(piece.get());
            }
            if let Ok(mut seen) = self.buffers_seen.lock() {
                seen.insert(buf.as_ptr() as usize);
            }
            if self.missing.contains(&piece.get()) {
                return Ok(Presence::Missing);
            }
            let start = piece.as_usize() * self.piece_length;
            buf.copy_from_slice(&self.data[start..start + buf.len()]);
            Ok(Presence::Present)
        }
    }

    fn synthetic(len: usize, piece_length: usize) -> Synthetic {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let data = (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        Synthetic {
            data,
            piece_length,
            missing: Vec::new(),
            fail_at: None,
            buffers_seen: Arc::default(),
        }
    }

    fn sequential(source: &Synthetic) -> Vec<PieceDigest> {
        source
            .data
            .chunks(source.piece_length)
            .map(|chunk| PieceDigest::Hashed(Sha1::digest(chunk).into()))
            .collect()
    }

    #[test]
    fn matches_sequential_hashing_for_any_thread_count() {
        let piece_length = 16 * 1024;
        for len in [
            1,
            piece_length - 1,
            piece_length,
            5 * piece_length + 3,
            40 * piece_length,
        ] {
            let source = synthetic(len, piece_length);
            let expected = sequential(&source);
            let geometry = Geometry::new(len as u64, piece_length as u32).unwrap();
            for workers in [1, 2, 3, 8] {
                let config = HashConfig {
                    workers,
                    queue_depth: 1,
                };
                let source = Synthetic {
                    data: source.data.clone(),
                    ..synthetic(0, piece_length)
                };
                let last = Cell::new(0);
                let digests = hash_pieces(&geometry, source, config, &|done| {
                    assert!(done > last.get());
                    last.set(done);
                })
                .unwrap();
                assert_eq!(digests, expected, "len {len} workers {workers}");
                assert_eq!(last.get(), len as u64);
            }
        }
    }

    #[test]
    fn missing_pieces_are_reported_not_hashed() {
        let piece_length = 16 * 1024;
        let mut source = synthetic(10 * piece_length, piece_length);
        let expected = sequential(&source);
        source.missing = vec![0, 4, 9];
        let geometry = Geometry::new(source.data.len() as u64, piece_length as u32).unwrap();
        let digests = hash_pieces(&geometry, source, HashConfig::default(), &|_| {}).unwrap();
        for (index, digest) in digests.iter().enumerate() {
            if [0, 4, 9].contains(&index) {
                assert_eq!(*digest, PieceDigest::Missing);
            } else {
                assert_eq!(*digest, expected[index]);
            }
        }
    }

    #[test]
    fn first_error_stops_the_pipeline() {
        let piece_length = 16 * 1024;
        let mut source = synthetic(50 * piece_length, piece_length);
        source.fail_at = Some(7);
        let geometry = Geometry::new(source.data.len() as u64, piece_length as u32).unwrap();
        let config = HashConfig {
            workers: 4,
            queue_depth: 2,
        };
        assert_eq!(hash_pieces(&geometry, source, config, &|_| {}), Err(7));
    }

    #[test]
    fn empty_content_hashes_nothing() {
        let source = synthetic(0, 16 * 1024);
        let geometry = Geometry::new(0, 16 * 1024).unwrap();
        let digests = hash_pieces(&geometry, source, HashConfig::default(), &|_| {}).unwrap();
        assert!(digests.is_empty());
    }

    #[test]
    fn buffer_memory_is_bounded_by_the_config() {
        let config = HashConfig {
            workers: 3,
            queue_depth: 2,
        };
        assert_eq!(config.buffers(), 5);
        assert_eq!(config.buffer_bytes(16 << 20), 80 << 20);

        let piece_length = 16 * 1024;
        let source = synthetic(300 * piece_length, piece_length);
        let seen = Arc::clone(&source.buffers_seen);
        let geometry = Geometry::new(source.data.len() as u64, piece_length as u32).unwrap();
        hash_pieces(&geometry, source, config, &|_| {}).unwrap();
        let distinct = seen.lock().unwrap().len();
        assert!(
            (1..=config.buffers()).contains(&distinct),
            "{distinct} buffers for 300 pieces"
        );
    }
}
