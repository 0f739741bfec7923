//! Where the bytes of the concatenated content live among a torrent's files.
//!
//! Pure arithmetic over [`crate::metainfo::FileEntry`] offsets, shared by every storage
//! implementation and by `verify`, so that no two places split a piece differently.
//!
//! Pad files (BEP 47) yield spans like any file, marked [`FileSpan::pad`]: their bytes are
//! zeros that are never on disk, so a reader fills the span with zeros and a writer skips
//! it. Every caller handles that one flag; none looks at the file list for pad files.

use crate::metainfo::FileEntry;

/// A run of bytes inside one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileSpan {
    /// Position of the file in the torrent's file list.
    pub file_index: usize,
    /// Offset inside that file.
    pub file_offset: u64,
    /// Offset of the run inside the requested range.
    pub range_offset: u64,
    /// Length of the run.
    pub length: u64,
    /// The file is a pad file: the run is zeros, never read from or written to disk.
    pub pad: bool,
}

/// Splits the content range `[offset, offset + length)` into runs inside files, in order.
/// Zero-length files are skipped. Bytes past the end of the last file yield no span.
pub fn file_spans(files: &[FileEntry], offset: u64, length: u64) -> Vec<FileSpan> {
    let end = offset.saturating_add(length);
    let first = files.partition_point(|f| f.offset + f.length <= offset);
    files[first..]
        .iter()
        .enumerate()
        .take_while(|(_, f)| f.offset < end)
        .filter(|(_, f)| f.length > 0)
        .map(|(i, f)| {
            let start = offset.max(f.offset);
            let stop = end.min(f.offset + f.length);
            FileSpan {
                file_index: first + i,
                file_offset: start - f.offset,
                range_offset: start - offset,
                length: stop - start,
                pad: f.pad,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(lengths: &[u64]) -> Vec<FileEntry> {
        padded(&lengths.iter().map(|&l| (l, false)).collect::<Vec<_>>())
    }

    /// Files of `(length, pad)`.
    fn padded(files: &[(u64, bool)]) -> Vec<FileEntry> {
        let mut offset = 0;
        files
            .iter()
            .enumerate()
            .map(|(i, &(length, pad))| {
                let entry = FileEntry {
                    path: vec![format!("f{i}")],
                    length,
                    offset,
                    pad,
                };
                offset += length;
                entry
            })
            .collect()
    }

    #[test]
    fn range_across_files_and_empty_file() {
        let files = files(&[10, 0, 5, 20]);
        let spans = file_spans(&files, 8, 10);
        assert_eq!(
            spans,
            vec![
                FileSpan {
                    file_index: 0,
                    file_offset: 8,
                    range_offset: 0,
                    length: 2,
                    pad: false
                },
                FileSpan {
                    file_index: 2,
                    file_offset: 0,
                    range_offset: 2,
                    length: 5,
                    pad: false
                },
                FileSpan {
                    file_index: 3,
                    file_offset: 0,
                    range_offset: 7,
                    length: 3,
                    pad: false
                },
            ]
        );
    }

    #[test]
    fn range_inside_one_file() {
        let files = files(&[10, 20]);
        assert_eq!(
            file_spans(&files, 12, 4),
            vec![FileSpan {
                file_index: 1,
                file_offset: 2,
                range_offset: 0,
                length: 4,
                pad: false
            }]
        );
    }

    #[test]
    fn pad_file_spans_are_marked() {
        // a [0, 10), pad [10, 16), b [16, 21): a range across all three.
        let files = padded(&[(10, false), (6, true), (5, false)]);
        let spans = file_spans(&files, 8, 10);
        let summary: Vec<_> = spans
            .iter()
            .map(|s| (s.file_index, s.file_offset, s.range_offset, s.length, s.pad))
            .collect();
        assert_eq!(
            summary,
            vec![(0, 8, 0, 2, false), (1, 0, 2, 6, true), (2, 0, 8, 2, false)]
        );
        assert_eq!(spans.iter().map(|s| s.length).sum::<u64>(), 10);
    }
}
