//! A torrent's files on disk, read and written with positioned I/O, and the worker threads
//! that run every disk access and SHA-1 off the event loop.
//!
//! Files are opened once and preallocated to their exact length (sparse), so a block is one
//! `pwrite` per file it touches wherever it lands. Pieces map to files through
//! [`swarm_engine::layout::file_spans`], the one place that splits a piece across files.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;

use bytes::{Bytes, BytesMut};
use sha1::{Digest, Sha1};
use swarm_engine::layout::file_spans;
use swarm_engine::metainfo::{FileEntry, Metainfo};
use swarm_engine::node::io::{ConnId, Input};
use swarm_engine::piece::{BlockRef, Geometry, PieceIndex};
use tokio::sync::Notify;

/// Why the files could not be opened.
#[derive(Debug, thiserror::Error)]
#[error("cannot {action} {path}", path = path.display())]
pub struct StorageError {
    /// What was being done.
    pub action: &'static str,
    /// The file.
    pub path: PathBuf,
    /// The OS error.
    pub source: io::Error,
}

/// The open files of one torrent.
#[derive(Debug)]
pub struct Storage {
    geometry: Geometry,
    files: Vec<FileEntry>,
    handles: Vec<File>,
    paths: Vec<PathBuf>,
    /// Fault injection for tests: every block read is served with its bytes flipped.
    corrupt_reads: bool,
}

/// Where each file of `metainfo` lives when its content is at `root` (the file itself for a
/// single-file torrent, the directory for a multi-file one).
pub fn file_paths(metainfo: &Metainfo, root: &Path) -> Vec<PathBuf> {
    if metainfo.multi_file {
        metainfo
            .files
            .iter()
            .map(|f| f.path.iter().fold(root.to_path_buf(), |p, c| p.join(c)))
            .collect()
    } else {
        vec![root.to_path_buf()]
    }
}

impl Storage {
    /// Opens the content at `root`. Writable: creates missing directories and files and sets
    /// every file to its exact length (sparse). Read-only: the files must exist.
    pub fn open(metainfo: &Metainfo, root: &Path, writable: bool) -> Result<Self, StorageError> {
        let paths = file_paths(metainfo, root);
        let mut handles = Vec::with_capacity(paths.len());
        for (entry, path) in metainfo.files.iter().zip(&paths) {
            let err = |action| {
                move |source| StorageError {
                    action,
                    path: path.clone(),
                    source,
                }
            };
            if writable {
                if let Some(parent) = path.parent() {
                    fs::create_dir_all(parent).map_err(err("create the directory of"))?;
                }
                let file = OpenOptions::new()
                    .read(true)
                    .write(true)
                    .create(true)
                    .truncate(false)
                    .open(path)
                    .map_err(err("open"))?;
                let len = file.metadata().map_err(err("read metadata of"))?.len();
                if len != entry.length {
                    file.set_len(entry.length).map_err(err("preallocate"))?;
                }
                handles.push(file);
            } else {
                handles.push(File::open(path).map_err(err("open"))?);
            }
        }
        Ok(Storage {
            geometry: metainfo.geometry,
            files: metainfo.files.clone(),
            handles,
            paths,
            corrupt_reads: false,
        })
    }

    /// Fault injection for tests: serve every block with its bytes flipped.
    pub fn set_corrupt_reads(&mut self, corrupt: bool) {
        self.corrupt_reads = corrupt;
    }

    fn read_range(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        for span in file_spans(&self.files, offset, buf.len() as u64) {
            let start = span.range_offset as usize;
            let part = &mut buf[start..start + span.length as usize];
            self.handles[span.file_index]
                .read_exact_at(part, span.file_offset)
                .map_err(|e| self.context(span.file_index, e))?;
        }
        Ok(())
    }

    fn context(&self, file_index: usize, error: io::Error) -> io::Error {
        io::Error::new(
            error.kind(),
            format!("{}: {error}", self.paths[file_index].display()),
        )
    }

    /// Reads one block.
    pub fn read_block(&self, block: BlockRef) -> io::Result<Bytes> {
        let mut buf = BytesMut::zeroed(block.length as usize);
        let offset = self.geometry.piece_offset(block.piece) + u64::from(block.offset);
        self.read_range(offset, &mut buf)?;
        if self.corrupt_reads {
            buf.iter_mut().for_each(|b| *b = !*b);
        }
        Ok(buf.freeze())
    }

    /// Writes one block.
    pub fn write_block(&self, block: BlockRef, data: &[u8]) -> io::Result<()> {
        let offset = self.geometry.piece_offset(block.piece) + u64::from(block.offset);
        for span in file_spans(&self.files, offset, data.len() as u64) {
            let start = span.range_offset as usize;
            self.handles[span.file_index]
                .write_all_at(&data[start..start + span.length as usize], span.file_offset)
                .map_err(|e| self.context(span.file_index, e))?;
        }
        Ok(())
    }

    /// SHA-1 of one piece as it is on disk, read in 1 MiB chunks.
    pub fn hash_piece(&self, piece: PieceIndex) -> io::Result<[u8; 20]> {
        const CHUNK: usize = 1 << 20;
        let offset = self.geometry.piece_offset(piece);
        let size = u64::from(self.geometry.piece_size(piece));
        let mut buf = vec![0u8; CHUNK.min(size as usize)];
        let mut hasher = Sha1::new();
        let mut done = 0u64;
        while done < size {
            let n = (size - done).min(CHUNK as u64) as usize;
            self.read_range(offset + done, &mut buf[..n])?;
            hasher.update(&buf[..n]);
            done += n as u64;
        }
        Ok(hasher.finalize().into())
    }

    /// Flushes written data to the disk.
    pub fn sync(&self) -> io::Result<()> {
        for (i, file) in self.handles.iter().enumerate() {
            file.sync_data().map_err(|e| self.context(i, e))?;
        }
        Ok(())
    }
}

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

/// A disk or hashing job.
#[derive(Debug)]
pub(crate) enum Job {
    Read {
        conn: ConnId,
        block: BlockRef,
    },
    /// Blocks received in one turn of the node loop, written by one thread in one wake-up.
    Writes(Vec<(BlockRef, Bytes)>),
    Hash {
        piece: PieceIndex,
    },
}

/// Worker threads sharing one job queue; each result goes back to the node as an [`Input`].
#[derive(Debug)]
pub(crate) struct DiskPool {
    jobs: Option<mpsc::Sender<Job>>,
    threads: Vec<thread::JoinHandle<()>>,
}

impl DiskPool {
    pub(crate) fn start(
        storage: Arc<Storage>,
        threads: usize,
        results: tokio::sync::mpsc::Sender<crate::runner::Event>,
        gate: Arc<WriteGate>,
    ) -> Self {
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        let threads = (0..threads.max(1))
            .map(|i| {
                let (rx, storage, results) =
                    (Arc::clone(&rx), Arc::clone(&storage), results.clone());
                let gate = Arc::clone(&gate);
                thread::Builder::new()
                    .name(format!("swarm-disk-{i}"))
                    .spawn(move || worker(&rx, &storage, &results, &gate))
                    .expect("spawning a disk thread")
            })
            .collect();
        DiskPool {
            jobs: Some(tx),
            threads,
        }
    }

    pub(crate) fn submit(&self, job: Job) {
        if let Some(jobs) = &self.jobs {
            let _ = jobs.send(job);
        }
    }

    /// Lets the workers finish queued jobs and waits for them.
    pub(crate) fn shutdown(mut self) {
        self.jobs = None;
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

fn worker(
    rx: &Mutex<mpsc::Receiver<Job>>,
    storage: &Storage,
    results: &tokio::sync::mpsc::Sender<crate::runner::Event>,
    gate: &WriteGate,
) {
    loop {
        let job = match rx.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        let Ok(job) = job else { return };
        let input = match job {
            Job::Read { conn, block } => Input::BlockRead {
                conn,
                block,
                data: storage.read_block(block).map_err(|e| e.to_string()),
            },
            Job::Writes(blocks) => {
                let mut inputs = Vec::with_capacity(blocks.len());
                for (block, data) in blocks {
                    let result = storage.write_block(block, &data).map_err(|e| e.to_string());
                    gate.done(data.len());
                    drop(data);
                    inputs.push(Input::BlockWritten { block, result });
                }
                if results
                    .blocking_send(crate::runner::Event::Inputs(inputs))
                    .is_err()
                {
                    return;
                }
                continue;
            }
            Job::Hash { piece } => Input::PieceHashed {
                piece,
                digest: storage.hash_piece(piece).map_err(|e| e.to_string()),
            },
        };
        if results
            .blocking_send(crate::runner::Event::Input(input))
            .is_err()
        {
            return; // the node is gone
        }
    }
}
