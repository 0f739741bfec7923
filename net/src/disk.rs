//! The disk threads: every block read, block write and piece hash runs here, off the event
//! loop, and each result goes back to the node as an [`Input`].
//!
//! Each thread has its own FIFO, and every job of a piece goes to the same thread (piece
//! number modulo threads): a piece's blocks are written and hashed in the order they came,
//! on one thread, from memory, with no thread waiting for another's hash state (see
//! [`crate::piece_hash`]), and a piece's hash job queues behind its writes. Different
//! pieces run in parallel. Writes come in batches (the blocks of one turn of the node
//! loop); a submit wakes its thread only when it is idle. [`WriteGate`] bounds the bytes
//! waiting to be written.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread;

use bytes::Bytes;
use swarm_engine::node::io::{ConnId, DiskError, Input};
use swarm_engine::piece::{BlockRef, PieceIndex};
use tokio::sync::Notify;

use crate::event::Event;
use crate::piece_hash::PieceHashers;
use crate::storage::Storage;

/// Bytes of received blocks waiting to be written, at most, before connection readers stop
/// reading their sockets: the disk, not the network, sets the pace when it is the slower.
pub const MAX_PENDING_WRITE_BYTES: usize = 32 << 20;

/// Counts bytes handed to the disk threads and not yet written; readers wait on it.
#[derive(Debug, Default)]
pub(crate) struct WriteGate {
    pending: AtomicUsize,
    room: Notify,
}

impl WriteGate {
    pub(crate) fn add(&self, bytes: usize) {
        self.pending.fetch_add(bytes, Ordering::AcqRel);
    }

    pub(crate) fn done(&self, bytes: usize) {
        let before = self.pending.fetch_sub(bytes, Ordering::AcqRel);
        if before > MAX_PENDING_WRITE_BYTES && before - bytes <= MAX_PENDING_WRITE_BYTES {
            self.room.notify_waiters();
        }
    }

    /// Returns once the pending bytes are under the limit.
    pub(crate) async fn wait_for_room(&self) {
        loop {
            let notified = self.room.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.pending.load(Ordering::Acquire) <= MAX_PENDING_WRITE_BYTES {
                return;
            }
            notified.await;
        }
    }
}

/// A disk or hashing job. Batches hold what one turn of the node loop asked for (of the
/// pieces of one thread), done in one wake-up and answered in one event.
#[derive(Debug)]
enum Job {
    Reads(Vec<(ConnId, BlockRef)>),
    Writes(Vec<(BlockRef, Bytes)>),
    Hash { piece: PieceIndex },
}

/// Worker threads, each with its job queue.
#[derive(Debug)]
pub(crate) struct DiskPool {
    queues: Vec<Arc<JobQueue>>,
    threads: Vec<thread::JoinHandle<()>>,
    storage: Arc<Storage>,
    hashers: Arc<PieceHashers>,
}

impl DiskPool {
    pub(crate) fn start(
        storage: Arc<Storage>,
        threads: usize,
        results: tokio::sync::mpsc::Sender<Event>,
        gate: Arc<WriteGate>,
    ) -> Self {
        let queues: Vec<_> = (0..threads.max(1))
            .map(|_| Arc::new(JobQueue::default()))
            .collect();
        let hashers = Arc::new(PieceHashers::default());
        let threads = queues
            .iter()
            .enumerate()
            .map(|(i, queue)| {
                let worker = Worker {
                    queue: Arc::clone(queue),
                    storage: Arc::clone(&storage),
                    hashers: Arc::clone(&hashers),
                    results: results.clone(),
                    gate: Arc::clone(&gate),
                };
                thread::Builder::new()
                    .name(format!("swarm-disk-{i}"))
                    .spawn(move || worker.run())
                    .expect("spawning a disk thread")
            })
            .collect();
        DiskPool {
            queues,
            threads,
            storage,
            hashers,
        }
    }

    /// Reads blocks for connections; each comes back as [`Input::BlockRead`].
    pub(crate) fn read(&self, reads: Vec<(ConnId, BlockRef)>) {
        self.spread(reads, |(_, block)| block.piece, Job::Reads);
    }

    /// Writes blocks; each comes back as [`Input::BlockWritten`].
    pub(crate) fn write(&self, blocks: Vec<(BlockRef, Bytes)>) {
        self.spread(blocks, |(block, _)| block.piece, Job::Writes);
    }

    /// Hashes a piece; comes back as [`Input::PieceHashed`].
    pub(crate) fn hash(&self, piece: PieceIndex) {
        self.queues[self.lane(piece)].push(Job::Hash { piece });
    }

    /// Queues `items` on the threads of their pieces, one job per thread.
    fn spread<T>(&self, items: Vec<T>, piece: impl Fn(&T) -> PieceIndex, job: fn(Vec<T>) -> Job) {
        let Some(first) = items.first().map(|item| self.lane(piece(item))) else {
            return;
        };
        if items.iter().all(|item| self.lane(piece(item)) == first) {
            return self.queues[first].push(job(items));
        }
        let mut parts: Vec<Vec<T>> = self.queues.iter().map(|_| Vec::new()).collect();
        for item in items {
            parts[self.lane(piece(&item))].push(item);
        }
        for (queue, part) in self.queues.iter().zip(parts) {
            if !part.is_empty() {
                queue.push(job(part));
            }
        }
    }

    fn close(&self) {
        for queue in &self.queues {
            queue.close();
        }
    }

    /// The thread of `piece`'s jobs.
    fn lane(&self, piece: PieceIndex) -> usize {
        piece.as_usize() % self.queues.len()
    }

    /// The SHA-1 of `piece` if its blocks were all hashed as they were written: finishing
    /// it costs no I/O and next to no CPU, so it need not go to a thread.
    pub(crate) fn hashed(&self, piece: PieceIndex) -> Option<[u8; 20]> {
        self.hashers
            .finish_if_whole(piece, self.storage.geometry().piece_size(piece))
    }

    /// Lets the workers finish queued jobs and waits for them.
    pub(crate) fn shutdown(mut self) {
        self.close();
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

/// Threads left running finish their queues, then exit.
impl Drop for DiskPool {
    fn drop(&mut self) {
        self.close();
    }
}

/// The FIFO of one thread's jobs.
#[derive(Debug, Default)]
struct JobQueue {
    state: Mutex<QueueState>,
    ready: Condvar,
}

#[derive(Debug, Default)]
struct QueueState {
    jobs: VecDeque<Job>,
    /// Threads waiting for a job.
    idle: usize,
    /// No more jobs will come: threads exit once the queue is empty.
    closed: bool,
}

impl JobQueue {
    fn lock(&self) -> MutexGuard<'_, QueueState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn push(&self, job: Job) {
        let mut state = self.lock();
        if state.closed {
            return;
        }
        state.jobs.push_back(job);
        let wake = state.idle > 0;
        drop(state);
        if wake {
            self.ready.notify_one();
        }
    }

    /// The next job, waiting for one; `None` once closed and drained.
    fn pop(&self) -> Option<Job> {
        let mut state = self.lock();
        loop {
            if let Some(job) = state.jobs.pop_front() {
                return Some(job);
            }
            if state.closed {
                return None;
            }
            state.idle += 1;
            state = self
                .ready
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
            state.idle -= 1;
        }
    }

    fn close(&self) {
        self.lock().closed = true;
        self.ready.notify_all();
    }
}

/// What one disk thread works with.
struct Worker {
    queue: Arc<JobQueue>,
    storage: Arc<Storage>,
    hashers: Arc<PieceHashers>,
    results: tokio::sync::mpsc::Sender<Event>,
    gate: Arc<WriteGate>,
}

impl Worker {
    fn run(self) {
        while let Some(job) = self.queue.pop() {
            let event = match job {
                Job::Reads(reads) => Event::Inputs(
                    reads
                        .into_iter()
                        .map(|(conn, block)| Input::BlockRead {
                            conn,
                            block,
                            data: self.storage.read_block(block).map_err(disk_error),
                        })
                        .collect(),
                ),
                Job::Writes(blocks) => Event::Inputs(self.write(blocks)),
                Job::Hash { piece } => Event::Input(Input::PieceHashed {
                    piece,
                    digest: self
                        .hashers
                        .finish(&self.storage, piece)
                        .map_err(disk_error),
                }),
            };
            // Once the node is gone its answers are dropped, but queued writes still land.
            let _ = self.results.blocking_send(event);
        }
    }

    fn write(&self, blocks: Vec<(BlockRef, Bytes)>) -> Vec<Input> {
        blocks
            .into_iter()
            .map(|(block, data)| {
                let result = self
                    .hashers
                    .write(&self.storage, block, &data)
                    .map_err(disk_error);
                self.gate.done(data.len());
                Input::BlockWritten { block, result }
            })
            .collect()
    }
}

/// An I/O error as the engine sees it: by kind, with the OS's words.
pub(crate) fn disk_error(error: std::io::Error) -> DiskError {
    let detail = error.to_string();
    match error.kind() {
        std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded => {
            DiskError::NoSpace { detail }
        }
        std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem => {
            DiskError::PermissionDenied { detail }
        }
        std::io::ErrorKind::UnexpectedEof => DiskError::UnexpectedEnd { detail },
        _ => DiskError::Other { detail },
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::storage::padded::{self, A, B, PIECE_LENGTH};

    /// The next event's inputs.
    fn inputs(events: &mut tokio::sync::mpsc::Receiver<Event>) -> Vec<Input> {
        match events.blocking_recv().unwrap() {
            Event::Inputs(inputs) => inputs,
            Event::Input(input) => vec![input],
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn batches_spread_over_the_threads_of_their_pieces() {
        let dir = tempfile::tempdir().unwrap();
        let meta = padded::torrent();
        let storage = Storage::open(&meta, &dir.path().join("set"), true).unwrap();
        let (tx, mut events) = tokio::sync::mpsc::channel(16);
        let gate = Arc::new(WriteGate::default());
        let pool = DiskPool::start(Arc::new(storage), 2, tx, Arc::clone(&gate));
        let piece = |i| meta.geometry.piece(i).unwrap();
        let block = |i| meta.geometry.block(piece(i), 0).unwrap();
        let mut first = A.to_vec();
        first.resize(PIECE_LENGTH, 0);
        gate.add(first.len() + B.len());
        pool.write(vec![
            (block(0), Bytes::from(first)),
            (block(1), Bytes::from_static(B)),
        ]);
        // Pieces 0 and 1 go to different threads: one event each.
        let mut written: Vec<_> = (0..2).flat_map(|_| inputs(&mut events)).collect();
        written.sort_by_key(|input| match input {
            Input::BlockWritten { block, result } => {
                assert!(result.is_ok());
                block.piece
            }
            other => panic!("unexpected {other:?}"),
        });
        assert_eq!(written.len(), 2);
        // Both were hashed as they were written.
        assert_eq!(pool.hashed(piece(1)), Some(meta.piece_hashes[1]));
        assert_eq!(pool.hashed(piece(1)), None, "finishing forgets the piece");
        // A piece with no running hash is hashed from disk by its thread.
        pool.hash(piece(1));
        assert!(matches!(
            &inputs(&mut events)[..],
            [Input::PieceHashed { digest: Ok(d), .. }] if *d == meta.piece_hashes[1]
        ));
        pool.read(vec![(ConnId(7), block(1))]);
        assert!(matches!(
            &inputs(&mut events)[..],
            [Input::BlockRead { conn: ConnId(7), data: Ok(data), .. }] if data[..] == *B
        ));
        pool.shutdown();
    }
}
