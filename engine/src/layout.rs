//! Where the bytes of the concatenated content live among a torrent's files.
//!
//! Pure arithmetic over [`crate::metainfo::FileEntry`] offsets, shared by every storage
//! implementation and by `verify`, so that no two places split a piece differently.

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
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(lengths: &[u64]) -> Vec<FileEntry> {
        let mut offset = 0;
        lengths
            .iter()
            .enumerate()
            .map(|(i, &length)| {
                let entry = FileEntry {
                    path: vec![format!("f{i}")],
                    length,
                    offset,
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
                    length: 2
                },
                FileSpan {
                    file_index: 2,
                    file_offset: 0,
                    range_offset: 2,
                    length: 5
                },
                FileSpan {
                    file_index: 3,
                    file_offset: 0,
                    range_offset: 7,
                    length: 3
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
                length: 4
            }]
        );
    }
}
