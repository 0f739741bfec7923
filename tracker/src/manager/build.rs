//! Making a `.torrent` for a file on the origin: piece hashing that consumes the content as
//! it streams by (uploads are hashed while they are written, never re-read), and writing
//! the private, single-file torrent that announces to this tracker.
//!
//! Everything here blocks (SHA-1, file reads): call it from `spawn_blocking` or a thread.

use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::path::Path;

use sha1::{Digest, Sha1};
use swarm_engine::metainfo::{Metainfo, MetainfoError, TorrentBuilder};

/// Smallest piece length chosen automatically.
pub const MIN_AUTO_PIECE_LENGTH: u64 = 256 * 1024;
/// Largest piece length chosen automatically.
pub const MAX_AUTO_PIECE_LENGTH: u64 = 16 * 1024 * 1024;
/// Piece count the automatic choice aims to stay under.
pub const TARGET_PIECES: u64 = 2_000;

/// A power-of-two piece length giving at most about [`TARGET_PIECES`] pieces, within
/// [`MIN_AUTO_PIECE_LENGTH`]..=[`MAX_AUTO_PIECE_LENGTH`] (20 GB: 16 MiB, 1 GB: 512 KiB).
pub fn piece_length_for(size_bytes: u64) -> u64 {
    size_bytes
        .div_ceil(TARGET_PIECES)
        .next_power_of_two()
        .clamp(MIN_AUTO_PIECE_LENGTH, MAX_AUTO_PIECE_LENGTH)
}

/// SHA-1 per piece over bytes fed in order, in chunks of any size.
#[derive(Debug, Clone)]
pub struct PieceHasher {
    piece_length: u64,
    current: Sha1,
    in_piece: u64,
    total_bytes: u64,
    hashes: Vec<[u8; 20]>,
}

/// The result of hashing: what a torrent's `info` needs besides its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hashed {
    /// Piece length, bytes.
    pub piece_length: u64,
    /// One hash per piece.
    pub piece_hashes: Vec<[u8; 20]>,
    /// Bytes hashed.
    pub total_bytes: u64,
}

impl PieceHasher {
    /// A hasher for pieces of `piece_length` bytes.
    pub fn new(piece_length: u64) -> Self {
        PieceHasher {
            piece_length,
            current: Sha1::new(),
            in_piece: 0,
            total_bytes: 0,
            hashes: Vec::new(),
        }
    }

    /// Feeds the next bytes of the content.
    pub fn update(&mut self, mut data: &[u8]) {
        self.total_bytes += data.len() as u64;
        while !data.is_empty() {
            let room = (self.piece_length - self.in_piece) as usize;
            let take = room.min(data.len());
            self.current.update(&data[..take]);
            self.in_piece += take as u64;
            data = &data[take..];
            if self.in_piece == self.piece_length {
                let done = std::mem::replace(&mut self.current, Sha1::new());
                self.hashes.push(done.finalize().into());
                self.in_piece = 0;
            }
        }
    }

    /// Hashes the last, short piece if any.
    pub fn finish(mut self) -> Hashed {
        if self.in_piece > 0 {
            self.hashes.push(self.current.finalize().into());
        }
        Hashed {
            piece_length: self.piece_length,
            piece_hashes: self.hashes,
            total_bytes: self.total_bytes,
        }
    }
}

/// Hashes a whole file with the automatic piece length (or `piece_length`).
pub fn hash_file(path: &Path, piece_length: Option<u64>) -> io::Result<Hashed> {
    let mut file = File::open(path)?;
    let size = file.metadata()?.len();
    let mut hasher = PieceHasher::new(piece_length.unwrap_or_else(|| piece_length_for(size)));
    let mut buffer = vec![0u8; 1024 * 1024];
    loop {
        let read = file.read(&mut buffer)?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
    }
    Ok(hasher.finish())
}

/// Hashes already opened files one after the other, as one stream, reading each only up to
/// the length it had when opened; a file that shrank meanwhile is an error.
pub fn hash_open_files(files: &[(&File, u64)], piece_length: u64) -> io::Result<Hashed> {
    let mut hasher = PieceHasher::new(piece_length);
    let mut buffer = vec![0u8; 1024 * 1024];
    for &(file, length) in files {
        let mut remaining = length;
        let mut offset = 0;
        while remaining > 0 {
            let want = remaining.min(buffer.len() as u64) as usize;
            let read = file.read_at(&mut buffer[..want], offset)?;
            if read == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the file shrank while it was hashed",
                ));
            }
            hasher.update(&buffer[..read]);
            offset += read as u64;
            remaining -= read as u64;
        }
    }
    Ok(hasher.finish())
}

/// Writes the private torrent for `name` announcing to `announce_url`: single-file, or
/// with `files` (path components and length of each) a multi-file one.
pub fn build_torrent(
    name: &str,
    hashed: &Hashed,
    files: Option<Vec<(Vec<String>, u64)>>,
    announce_url: &str,
    creation_date_s: i64,
) -> Result<(Vec<u8>, Metainfo), MetainfoError> {
    let builder = TorrentBuilder {
        name: name.to_string(),
        piece_length: hashed.piece_length,
        piece_hashes: hashed.piece_hashes.clone(),
        files,
        single_length: hashed.total_bytes,
        private: true,
        trackers: vec![announce_url.to_string()],
        web_seeds: Vec::new(),
        comment: None,
        created_by: Some(concat!("swarm tracker ", env!("CARGO_PKG_VERSION")).to_string()),
        creation_date: Some(creation_date_s),
    };
    let bytes = builder.to_bytes()?;
    let metainfo = Metainfo::from_bytes(&bytes)?;
    Ok((bytes, metainfo))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn chunking_does_not_change_hashes() {
        let data: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let mut whole = PieceHasher::new(16_384);
        whole.update(&data);
        let mut pieces = PieceHasher::new(16_384);
        for chunk in data.chunks(777) {
            pieces.update(chunk);
        }
        let (whole, pieces) = (whole.finish(), pieces.finish());
        assert_eq!(whole, pieces);
        assert_eq!(whole.piece_hashes.len(), 7);
        let last: [u8; 20] = Sha1::digest(&data[6 * 16_384..]).into();
        assert_eq!(whole.piece_hashes[6], last);
    }

    #[test]
    fn automatic_piece_length() {
        assert_eq!(piece_length_for(1), MIN_AUTO_PIECE_LENGTH);
        assert_eq!(piece_length_for(1_000_000_000), 512 * 1024);
        assert_eq!(piece_length_for(20_000_000_000), MAX_AUTO_PIECE_LENGTH);
        assert_eq!(piece_length_for(u64::MAX / 2), MAX_AUTO_PIECE_LENGTH);
    }

    #[test]
    fn built_torrents_are_private_and_announce_here() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("image.raw");
        std::fs::write(&path, vec![3u8; 300_000]).unwrap();
        let hashed = hash_file(&path, None).unwrap();
        let (bytes, meta) =
            build_torrent("image.raw", &hashed, None, "http://t:1/announce", 5).unwrap();
        assert_eq!(Metainfo::from_bytes(&bytes).unwrap(), meta);
        assert!(meta.private);
        assert_eq!(meta.total_length(), 300_000);
        assert_eq!(meta.announce.as_deref(), Some("http://t:1/announce"));
    }
}
