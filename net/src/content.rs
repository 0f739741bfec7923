//! Reading a torrent's pieces from its files on disk: the [`PieceSource`] that `create` and
//! `verify` hand to the hashing pipeline.
//!
//! Pieces map to file ranges through [`swarm_engine::layout::file_spans`], the one place
//! that splits a piece across files. Each hashing worker has its own clone, which keeps the
//! file it read last open and reads each piece sequentially, chunk by chunk. Spans in pad
//! files (BEP 47) are handed over as zeros without touching the disk.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::sync::Arc;

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

/// `From<ReadError>` for an error enum of this crate that has the variants
/// `Io { action, path, source }` and `Changed { path }` (a file that shrank is one that
/// changed under the caller, who says what it was doing in the message).
macro_rules! from_read_error {
    ($error:ident) => {
        impl From<$crate::content::ReadError> for $error {
            fn from(error: $crate::content::ReadError) -> Self {
                match error {
                    $crate::content::ReadError::Io {
                        action,
                        path,
                        source,
                    } => $error::Io {
                        action,
                        path,
                        source,
                    },
                    $crate::content::ReadError::Shrank { path } => $error::Changed { path },
                }
            }
        }
    };
}
pub(crate) use from_read_error;

/// The files of one torrent as they are on disk. Cloning is cheap (the file lists are
/// shared); each clone opens files for itself.
#[derive(Debug)]
pub(crate) struct DiskContent {
    layout: Arc<Layout>,
    /// The file read last by this clone and the position of its cursor.
    open: Option<(usize, File, u64)>,
}

#[derive(Debug)]
struct Layout {
    geometry: Geometry,
    /// The torrent's files: lengths and offsets in the concatenated content.
    files: Vec<FileEntry>,
    /// Where each file is on disk.
    paths: Vec<PathBuf>,
    /// Each file's length found on disk before reading; `None` when absent (and for pad
    /// files, which are never read).
    found_lengths: Vec<Option<u64>>,
    short_data: ShortData,
}

impl Clone for DiskContent {
    fn clone(&self) -> Self {
        DiskContent {
            layout: Arc::clone(&self.layout),
            open: None,
        }
    }
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
            layout: Arc::new(Layout {
                geometry,
                files,
                paths,
                found_lengths,
                short_data,
            }),
            open: None,
        }
    }

    fn short(&self, file_index: usize) -> Result<Presence, ReadError> {
        match self.layout.short_data {
            ShortData::Missing => Ok(Presence::Missing),
            ShortData::Error => Err(ReadError::Shrank {
                path: self.layout.paths[file_index].clone(),
            }),
        }
    }

    /// Reads `buf.len()` bytes of file `file_index` at `offset`; `Ok(false)` at early EOF.
    fn read_at(&mut self, file_index: usize, offset: u64, buf: &mut [u8]) -> io::Result<bool> {
        let (_, file, position) = match self.open.take() {
            Some(open) if open.0 == file_index => self.open.insert(open),
            _ => {
                let file = File::open(&self.layout.paths[file_index])?;
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

    fn read_piece(
        &mut self,
        piece: PieceIndex,
        chunk: &mut [u8],
        consume: &mut dyn FnMut(&[u8]),
    ) -> Result<Presence, ReadError> {
        let layout = Arc::clone(&self.layout);
        let offset = layout.geometry.piece_offset(piece);
        let size = u64::from(layout.geometry.piece_size(piece));
        let spans = file_spans(&layout.files, offset, size);
        // A piece is present only if every file it touches holds all of its part.
        for span in spans.iter().filter(|s| !s.pad) {
            match layout.found_lengths[span.file_index] {
                Some(found) if span.file_offset + span.length <= found => {}
                _ => return Ok(Presence::Missing),
            }
        }
        for span in spans {
            let mut done = 0;
            while done < span.length {
                let length = (span.length - done).min(chunk.len() as u64) as usize;
                let part = &mut chunk[..length];
                let read = if span.pad {
                    part.fill(0);
                    Ok(true)
                } else {
                    self.read_at(span.file_index, span.file_offset + done, part)
                };
                match read {
                    Ok(true) => consume(part),
                    Ok(false) => return self.short(span.file_index),
                    Err(error) if error.kind() == io::ErrorKind::NotFound => {
                        return self.short(span.file_index)
                    }
                    Err(source) => {
                        return Err(ReadError::Io {
                            action: "read",
                            path: layout.paths[span.file_index].clone(),
                            source,
                        })
                    }
                }
                done += length as u64;
            }
        }
        Ok(Presence::Present)
    }
}
