//! A torrent's files on disk, read and written with positioned I/O (the threads that run
//! every access off the event loop are in `disk`).
//!
//! Files are opened once and preallocated to their exact length (sparse), so a block is one
//! `pwrite` per file it touches wherever it lands. Pieces map to files through
//! [`swarm_engine::layout::file_spans`], the one place that splits a piece across files.
//! Pad files (BEP 47) are never created or opened: their spans read as zeros and writes to
//! them are dropped (piece hashes are computed from what reads return, so whatever a peer
//! sent for those bytes never reaches a hash or a file).

use std::fs::{self, File, OpenOptions};
use std::io;
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use bytes::{Bytes, BytesMut};
use sha1::{Digest, Sha1};
use swarm_engine::layout::file_spans;
use swarm_engine::metainfo::{FileEntry, Metainfo};
use swarm_engine::piece::{BlockRef, Geometry, PieceIndex};

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
    /// Some file is a pad file.
    has_pad_files: bool,
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
            has_pad_files: metainfo.files.iter().any(|f| f.pad),
        })
    }

    /// Storage over files the caller already opened for reading (one per torrent file,
    /// `None` for pad files; `paths` name them in errors). A seed whose files were checked
    /// against a directory serves exactly the files it checked, never a path re-opened
    /// after the check.
    pub fn from_open_files(
        metainfo: &Metainfo,
        handles: Vec<Option<File>>,
        paths: Vec<PathBuf>,
    ) -> Self {
        Storage {
            geometry: metainfo.geometry,
            files: metainfo.files.clone(),
            handles,
            paths,
            has_pad_files: metainfo.files.iter().any(|f| f.pad),
        }
    }

    /// The torrent's piece geometry.
    pub(crate) fn geometry(&self) -> Geometry {
        self.geometry
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

    /// SHA-1 of one piece as it is on disk.
    pub fn hash_piece(&self, piece: PieceIndex) -> io::Result<[u8; 20]> {
        let mut hasher = Sha1::new();
        self.hash_range(piece, 0..self.geometry.piece_size(piece), &mut hasher)?;
        Ok(hasher.finalize().into())
    }

    /// Feeds bytes `range` of `piece`, as reads return them, to `hasher`, in 1 MiB chunks.
    pub(crate) fn hash_range(
        &self,
        piece: PieceIndex,
        range: Range<u32>,
        hasher: &mut Sha1,
    ) -> io::Result<()> {
        const CHUNK: usize = 1 << 20;
        let offset = self.geometry.piece_offset(piece);
        let (mut done, end) = (u64::from(range.start), u64::from(range.end));
        let mut buf = vec![0u8; CHUNK.min(range.len())];
        while done < end {
            let n = (end - done).min(CHUNK as u64) as usize;
            self.read_range(offset + done, &mut buf[..n])?;
            hasher.update(&buf[..n]);
            done += n as u64;
        }
        Ok(())
    }

    /// Whether part of `block` falls in a pad file, so that reads of it differ from the
    /// bytes written whenever a peer sent anything but zeros there.
    pub(crate) fn touches_pad(&self, block: BlockRef) -> bool {
        self.has_pad_files && {
            let offset = self.geometry.piece_offset(block.piece) + u64::from(block.offset);
            file_spans(&self.files, offset, u64::from(block.length))
                .iter()
                .any(|span| span.pad)
        }
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

    /// Writes a complete copy of [`torrent`] as `DIR/set` (files `a` and `b`; the pad file
    /// is never on disk) and returns its path.
    pub(crate) fn write_copy(dir: &std::path::Path) -> std::path::PathBuf {
        let root = dir.join("set");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::write(root.join("a"), A).unwrap();
        std::fs::write(root.join("b"), B).unwrap();
        root
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
