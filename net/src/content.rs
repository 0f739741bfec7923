//! Reading a torrent's pieces from its files on disk: the [`PieceSource`] that `create` and
//! `verify` hand to the hashing pipeline.
//!
//! Pieces map to file ranges through [`swarm_engine::layout::file_spans`], the one place
//! that splits a piece across files. Each file is opened once, when its first byte is
//! needed, and read sequentially, so the kernel's read-ahead works.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::PathBuf;

use swarm_engine::layout::file_spans;
use swarm_engine::metainfo::FileEntry;
use swarm_engine::piece::{Geometry, PieceIndex};

use crate::hashing::{PieceSource, Presence};

/// What to make of data that ends early (a file shorter than expected, or gone).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ShortData {
    /// The piece is missing (verifying a copy).
    Missing,
    /// An error: the file changed under us (creating a torrent).
    Error,
}

/// Why a piece could not be read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ReadError {
    /// Opening, seeking or reading failed.
    #[error("cannot {action} {path}: {source}", path = path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    /// A file ended early or vanished while it was read, with [`ShortData::Error`].
    #[error("{path} shrank or vanished while it was read", path = path.display())]
    Shrank { path: PathBuf },
}

/// The files of one torrent as they are on disk.
#[derive(Debug)]
pub(crate) struct DiskContent {
    geometry: Geometry,
    /// The torrent's files: lengths and offsets in the concatenated content.
    files: Vec<FileEntry>,
    /// Where each file is on disk.
    paths: Vec<PathBuf>,
    /// Each file's length found on disk before reading; `None` when absent.
    found_lengths: Vec<Option<u64>>,
    short_data: ShortData,
    /// The file read last and the position of its cursor.
    open: Option<(usize, File, u64)>,
}

impl DiskContent {
    /// `files`, `paths` and `found_lengths` are parallel lists.
    pub(crate) fn new(
        geometry: Geometry,
        files: Vec<FileEntry>,
        paths: Vec<PathBuf>,
        found_lengths: Vec<Option<u64>>,
        short_data: ShortData,
    ) -> Self {
        debug_assert_eq!(files.len(), paths.len());
        debug_assert_eq!(files.len(), found_lengths.len());
        DiskContent {
            geometry,
            files,
            paths,
            found_lengths,
            short_data,
            open: None,
        }
    }

    fn short(&self, file_index: usize) -> Result<Presence, ReadError> {
        match self.short_data {
            ShortData::Missing => Ok(Presence::Missing),
            ShortData::Error => Err(ReadError::Shrank {
                path: self.paths[file_index].clone(),
            }),
        }
    }

    /// Reads `buf.len()` bytes of file `file_index` at `offset`; `Ok(false)` at early EOF.
    fn read_at(&mut self, file_index: usize, offset: u64, buf: &mut [u8]) -> io::Result<bool> {
        let (_, file, position) = match self.open.take() {
            Some(open) if open.0 == file_index => self.open.insert(open),
            _ => {
                let file = File::open(&self.paths[file_index])?;
                self.open.insert((file_index, file, 0))
            }
        };
        if *position != offset {
            file.seek(SeekFrom::Start(offset))?;
            *position = offset;
        }
        match file.read_exact(buf) {
            Ok(()) => {
                *position += buf.len() as u64;
                Ok(true)
            }
            Err(error) if error.kind() == io::ErrorKind::UnexpectedEof => {
                self.open = None;
                Ok(false)
            }
            Err(error) => {
                self.open = None;
                Err(error)
            }
        }
    }
}

impl PieceSource for DiskContent {
    type Error = ReadError;

    fn read_piece(&mut self, piece: PieceIndex, buf: &mut [u8]) -> Result<Presence, ReadError> {
        let offset = self.geometry.piece_offset(piece);
        let spans = file_spans(&self.files, offset, buf.len() as u64);
        // A piece is present only if every file it touches holds all of its part.
        for span in &spans {
            match self.found_lengths[span.file_index] {
                Some(found) if span.file_offset + span.length <= found => {}
                _ => return Ok(Presence::Missing),
            }
        }
        for span in spans {
            let start = span.range_offset as usize;
            let part = &mut buf[start..start + span.length as usize];
            match self.read_at(span.file_index, span.file_offset, part) {
                Ok(true) => {}
                Ok(false) => return self.short(span.file_index),
                Err(error) if error.kind() == io::ErrorKind::NotFound => {
                    return self.short(span.file_index)
                }
                Err(source) => {
                    return Err(ReadError::Io {
                        action: "read",
                        path: self.paths[span.file_index].clone(),
                        source,
                    })
                }
            }
        }
        Ok(Presence::Present)
    }
}
