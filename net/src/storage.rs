//! A torrent's files on disk, read and written with positioned I/O, and the worker threads
//! that run every disk access and SHA-1 off the event loop.
//!
//! Files are opened once and preallocated to their exact length (sparse), so a block is one
//! `pwrite` per file it touches wherever it lands. Pieces map to files through
//! [`swarm_engine::layout::file_spans`], the one place that splits a piece across files.
//! Pad files (BEP 47) are never created or opened: their spans read as zeros and writes to
//! them are dropped (the piece hash, computed from what reads return, catches a peer that
//! sent anything but zeros there).

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
    /// One per file; `None` for pad files, which are not on disk.
    handles: Vec<Option<File>>,
    paths: Vec<PathBuf>,
    /// Fault injection for tests: every block read is served with its bytes flipped.
    corrupt_reads: bool,
}

/// Where each file of `metainfo` lives when its content is at `root` (the file itself for a
/// single-file torrent, the directory for a multi-file one). Pad files get a path too, so
/// the list stays parallel to the torrent's files, but nothing is ever there.
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
            if entry.pad {
                handles.push(None);
            } else if writable {
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
                handles.push(Some(file));
            } else {
                handles.push(Some(File::open(path).map_err(err("open"))?));
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
            match &self.handles[span.file_index] {
                Some(file) => file
                    .read_exact_at(part, span.file_offset)
                    .map_err(|e| self.context(span.file_index, e))?,
                None => part.fill(0),
            }
        }
        Ok(())
    }

    fn context(&self, file_index: usize, error: io::Error) -> io::Error {
        io::Error::new(
            error.kind(),
            format!("{}: {error}", self.paths[file_index].display()),
        )
    }

    /// Reads one block; bytes falling in pad files are zeros.
    pub fn read_block(&self, block: BlockRef) -> io::Result<Bytes> {
        let mut buf = BytesMut::zeroed(block.length as usize);
        let offset = self.geometry.piece_offset(block.piece) + u64::from(block.offset);
        self.read_range(offset, &mut buf)?;
        if self.corrupt_reads {
            buf.iter_mut().for_each(|b| *b = !*b);
        }
        Ok(buf.freeze())
    }

    /// Writes one block; bytes falling in pad files are dropped.
    pub fn write_block(&self, block: BlockRef, data: &[u8]) -> io::Result<()> {
        let offset = self.geometry.piece_offset(block.piece) + u64::from(block.offset);
        for span in file_spans(&self.files, offset, data.len() as u64) {
            let Some(file) = &self.handles[span.file_index] else {
                continue; // a pad file
            };
            let start = span.range_offset as usize;
            file.write_all_at(&data[start..start + span.length as usize], span.file_offset)
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
            let Some(file) = file else { continue };
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

/// Torrents with BEP 47 pad files, which `swarm create` never writes, for this crate's tests.
#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod padded {
    use super::*;

    /// Piece length of [`torrent`].
    pub(crate) const PIECE_LENGTH: usize = 16 * 1024;

    /// The content of file `a` (10 bytes) and `b` (5 bytes).
    pub(crate) const A: &[u8] = b"0123456789";
    pub(crate) const B: &[u8] = b"abcde";

    /// Multi-file torrent `set` as libtorrent 2 lays it out: `a`, the pad file `.pad/16374`
    /// up to the first piece boundary, then `b`. Two pieces: `a` + zeros, and `b`.
    pub(crate) fn torrent() -> Metainfo {
        let pad = PIECE_LENGTH - A.len();
        let mut first = A.to_vec();
        first.resize(PIECE_LENGTH, 0);
        let mut bytes = b"d4:infod5:filesl".to_vec();
        bytes.extend_from_slice(format!("d6:lengthi{}e4:pathl1:aee", A.len()).as_bytes());
        bytes.extend_from_slice(
            format!(
                "d4:attr1:p6:lengthi{pad}e4:pathl4:.pad{}:{pad}ee",
                pad.to_string().len()
            )
            .as_bytes(),
        );
        bytes.extend_from_slice(format!("d4:attr1:x6:lengthi{}e4:pathl1:bee", B.len()).as_bytes());
        bytes.extend_from_slice(
            format!("e4:name3:set12:piece lengthi{PIECE_LENGTH}e6:pieces40:").as_bytes(),
        );
        bytes.extend_from_slice(&Sha1::digest(&first));
        bytes.extend_from_slice(&Sha1::digest(B));
        bytes.extend_from_slice(b"ee");
        let meta = Metainfo::from_bytes(&bytes).unwrap();
        assert!(meta.files[1].pad);
        meta
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::padded::{self, A, B, PIECE_LENGTH};
    use super::*;

    fn block(meta: &Metainfo, piece: u32, offset: u32, length: u32) -> BlockRef {
        BlockRef {
            piece: meta.geometry.piece(piece).unwrap(),
            offset,
            length,
        }
    }

    #[test]
    fn pad_files_read_as_zeros_and_are_never_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("set");
        let meta = padded::torrent();
        let storage = Storage::open(&meta, &root, true).unwrap();
        assert!(!root.join(".pad").exists());

        // A whole first piece whose pad bytes are not zeros: they are dropped.
        let mut sent = A.to_vec();
        sent.resize(PIECE_LENGTH, 0xee);
        storage
            .write_block(block(&meta, 0, 0, PIECE_LENGTH as u32), &sent)
            .unwrap();
        storage
            .write_block(block(&meta, 1, 0, B.len() as u32), B)
            .unwrap();
        assert!(!root.join(".pad").exists());
        assert_eq!(fs::read(root.join("a")).unwrap(), A);
        assert_eq!(fs::read(root.join("b")).unwrap(), B);

        // The first block spans `a` and the pad file.
        let data = storage
            .read_block(block(&meta, 0, 0, PIECE_LENGTH as u32))
            .unwrap();
        assert_eq!(&data[..A.len()], A);
        assert!(data[A.len()..].iter().all(|&b| b == 0));
        for (piece, expected) in meta.piece_hashes.iter().enumerate() {
            let piece = meta.geometry.piece(piece as u32).unwrap();
            assert_eq!(&storage.hash_piece(piece).unwrap(), expected);
        }
        storage.sync().unwrap();

        // Read-only opening does not look for the pad file either.
        let seed = Storage::open(&meta, &root, false).unwrap();
        assert_eq!(seed.read_block(block(&meta, 0, 0, 16)).unwrap()[..10], *A);
    }
}
