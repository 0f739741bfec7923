//! Torrent files (BEP 3 v1): reading with validation, and writing canonical ones.
//!
//! Reading runs the bounded scanner of [`crate::bencode`] first, takes the info-hash from
//! the exact bytes of the `info` value, then lets serde_bencode fill the typed fields.
//! Supported: single-file and multi-file torrents, `announce`, `announce-list` (BEP 12),
//! `private` (BEP 27), `url-list` (BEP 19), `comment`, `created by`, `creation date`, and
//! the `attr` of multi-file entries (BEP 47): a file flagged `p` is a pad file, zeros that
//! count in the content and its piece hashes but are never on disk. Other flags (`x`, `h`,
//! `l`) and unknown ones are accepted and ignored.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;
use sha1::{Digest, Sha1};

use crate::bencode::{self, BencodeError};
use crate::piece::Geometry;

/// Smallest piece length accepted (one block).
pub const MIN_PIECE_LENGTH: u64 = 16 * 1024;
/// Largest piece length accepted.
pub const MAX_PIECE_LENGTH: u64 = 256 * 1024 * 1024;

/// The SHA-1 of a torrent's bencoded `info` dictionary: the swarm's identity.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct InfoHash(pub [u8; 20]);

impl InfoHash {
    /// Hashes the exact bytes of an `info` dictionary.
    pub fn of_info_bytes(info: &[u8]) -> Self {
        InfoHash(Sha1::digest(info).into())
    }
}

impl fmt::Display for InfoHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for InfoHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "InfoHash({self})")
    }
}

impl FromStr for InfoHash {
    type Err = MetainfoError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut bytes = [0u8; 20];
        hex::decode_to_slice(text, &mut bytes).map_err(|_| MetainfoError::BadInfoHashText {
            text: text.chars().take(64).collect(),
        })?;
        Ok(InfoHash(bytes))
    }
}

impl From<InfoHash> for String {
    fn from(hash: InfoHash) -> String {
        hash.to_string()
    }
}

impl TryFrom<String> for InfoHash {
    type Error = MetainfoError;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
    }
}

/// Why a torrent file was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetainfoError {
    /// Not well-formed bencode.
    #[error("malformed bencode: {0}")]
    Bencode(#[from] BencodeError),
    /// Well-formed bencode, but a field has the wrong type or is missing.
    #[error("invalid torrent field: {0}")]
    Field(String),
    /// There is no `info` dictionary.
    #[error("the torrent has no `info` dictionary")]
    MissingInfo,
    /// `piece length` is not a power of two in the accepted range.
    #[error("piece length {0} is not a power of two between 16 KiB and 256 MiB")]
    BadPieceLength(u64),
    /// `pieces` is not a whole number of 20-byte hashes.
    #[error("`pieces` is {0} bytes long, not a multiple of 20")]
    PiecesNotMultipleOf20(usize),
    /// The number of hashes does not match the total length.
    #[error("{found} piece hashes for {total_length} bytes at piece length {piece_length}: expected {expected}")]
    PieceCountMismatch {
        found: usize,
        expected: u64,
        total_length: u64,
        piece_length: u64,
    },
    /// Both or neither of `length` and `files`.
    #[error("the info dictionary must have exactly one of `length` and `files`")]
    AmbiguousLayout,
    /// A multi-file torrent with an empty file list.
    #[error("the torrent lists no files")]
    NoFiles,
    /// A name or path that could escape the download directory or is empty.
    #[error("unsafe file path {path:?}: {reason}")]
    UnsafePath { path: String, reason: &'static str },
    /// The sum of file lengths overflows.
    #[error("file lengths add up past 2^64 bytes")]
    TotalTooLarge,
    /// An info-hash given as text is not 40 hex digits.
    #[error("{text:?} is not an info-hash of 40 hex digits")]
    BadInfoHashText { text: String },
}

/// One file of the torrent, in order, with its offset in the concatenated content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileEntry {
    /// Path components below the torrent's directory (just the name for single-file).
    pub path: Vec<String>,
    /// Length in bytes.
    pub length: u64,
    /// Offset of the file's first byte in the concatenated content.
    pub offset: u64,
    /// BEP 47 pad file (`attr` holds `p`): `length` zero bytes that are never on disk.
    /// Readers supply zeros for it, writers drop its bytes, checks never find it missing.
    pub pad: bool,
}

impl FileEntry {
    /// The path joined with `/`, for display.
    pub fn display_path(&self) -> String {
        self.path.join("/")
    }
}

/// A validated torrent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metainfo {
    /// SHA-1 of the raw `info` bytes.
    pub info_hash: InfoHash,
    /// Suggested file or directory name.
    pub name: String,
    /// Piece geometry: total length, piece length, piece count.
    pub geometry: Geometry,
    /// One SHA-1 per piece.
    pub piece_hashes: Vec<[u8; 20]>,
    /// Files in order; a single-file torrent has one entry whose path is `[name]`.
    pub files: Vec<FileEntry>,
    /// Whether this is a multi-file torrent (content lives in a directory `name`).
    pub multi_file: bool,
    /// BEP 27: only the torrent's trackers may introduce peers.
    pub private: bool,
    /// `announce`.
    pub announce: Option<String>,
    /// `announce-list` tiers (BEP 12).
    pub announce_list: Vec<Vec<String>>,
    /// `url-list` web seeds (BEP 19).
    pub web_seeds: Vec<String>,
    /// Free text.
    pub comment: Option<String>,
    /// Program that wrote the torrent.
    pub created_by: Option<String>,
    /// Seconds since the Unix epoch.
    pub creation_date: Option<i64>,
}

impl Metainfo {
    /// Parses and validates a torrent file.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, MetainfoError> {
        let [info_range] = bencode::top_level_ranges(bytes, [b"info"])?;
        let info_range = info_range.ok_or(MetainfoError::MissingInfo)?;
        let info_hash = InfoHash::of_info_bytes(&bytes[info_range]);
        let raw: RawTorrent =
            serde_bencode::from_bytes(bytes).map_err(|e| MetainfoError::Field(e.to_string()))?;
        Self::from_raw(raw, info_hash)
    }

    fn from_raw(raw: RawTorrent, info_hash: InfoHash) -> Result<Self, MetainfoError> {
        let info = raw.info;
        check_component(&info.name, &info.name)?;
        let piece_length = info.piece_length;
        if !piece_length.is_power_of_two()
            || !(MIN_PIECE_LENGTH..=MAX_PIECE_LENGTH).contains(&piece_length)
        {
            return Err(MetainfoError::BadPieceLength(piece_length));
        }
        let (files, multi_file) = match (info.length, info.files) {
            (Some(length), None) => (
                vec![FileEntry {
                    path: vec![info.name.clone()],
                    length,
                    offset: 0,
                    pad: false,
                }],
                false,
            ),
            (None, Some(raw_files)) => (layout_files(raw_files)?, true),
            _ => return Err(MetainfoError::AmbiguousLayout),
        };
        let total_length = files
            .iter()
            .try_fold(0u64, |sum, f| sum.checked_add(f.length))
            .ok_or(MetainfoError::TotalTooLarge)?;
        if !info.pieces.len().is_multiple_of(20) {
            return Err(MetainfoError::PiecesNotMultipleOf20(info.pieces.len()));
        }
        let piece_hashes: Vec<[u8; 20]> = info
            .pieces
            .chunks_exact(20)
            .map(|c| c.try_into().expect("chunks_exact yields 20 bytes"))
            .collect();
        let expected = total_length.div_ceil(piece_length);
        if piece_hashes.len() as u64 != expected {
            return Err(MetainfoError::PieceCountMismatch {
                found: piece_hashes.len(),
                expected,
                total_length,
                piece_length,
            });
        }
        let geometry = Geometry::new(total_length, piece_length as u32)
            .ok_or(MetainfoError::BadPieceLength(piece_length))?;
        Ok(Metainfo {
            info_hash,
            name: info.name,
            geometry,
            piece_hashes,
            files,
            multi_file,
            private: info.private == Some(1),
            announce: raw.announce,
            announce_list: raw.announce_list.unwrap_or_default(),
            web_seeds: raw.url_list.map(UrlList::into_vec).unwrap_or_default(),
            comment: raw.comment,
            created_by: raw.created_by,
            creation_date: raw.creation_date,
        })
    }

    /// Total content length in bytes.
    pub fn total_length(&self) -> u64 {
        self.geometry.total_length()
    }

    /// Every tracker URL once, `announce-list` tiers first (BEP 12), then `announce`.
    pub fn trackers(&self) -> Vec<String> {
        let mut urls: Vec<String> = Vec::new();
        let listed = self.announce_list.iter().flatten();
        for url in listed.chain(self.announce.iter()) {
            if !urls.contains(url) {
                urls.push(url.clone());
            }
        }
        urls
    }
}

fn layout_files(raw_files: Vec<RawFile>) -> Result<Vec<FileEntry>, MetainfoError> {
    if raw_files.is_empty() {
        return Err(MetainfoError::NoFiles);
    }
    let mut offset = 0u64;
    let mut files = Vec::with_capacity(raw_files.len());
    for raw in raw_files {
        let joined = raw.path.join("/");
        if raw.path.is_empty() {
            return Err(MetainfoError::UnsafePath {
                path: joined,
                reason: "empty path",
            });
        }
        for component in &raw.path {
            check_component(component, &joined)?;
        }
        files.push(FileEntry {
            pad: raw.attr.as_deref().is_some_and(|attr| attr.contains(&b'p')),
            path: raw.path,
            length: raw.length,
            offset,
        });
        offset = offset
            .checked_add(raw.length)
            .ok_or(MetainfoError::TotalTooLarge)?;
    }
    Ok(files)
}

/// A path component must name one entry inside the download directory.
fn check_component(component: &str, whole: &str) -> Result<(), MetainfoError> {
    let reason = if component.is_empty() {
        Some("empty component")
    } else if component == "." || component == ".." {
        Some("`.` or `..` component")
    } else if component.contains('/') || component.contains('\\') {
        Some("separator inside a component")
    } else if component.contains('\0') {
        Some("NUL byte")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(MetainfoError::UnsafePath {
            path: whole.to_string(),
            reason,
        }),
        None => Ok(()),
    }
}

/// What a new torrent holds; [`TorrentBuilder::to_bytes`] writes it canonically.
#[derive(Debug, Clone, Default)]
pub struct TorrentBuilder {
    /// File or directory name.
    pub name: String,
    /// Piece length, a power of two of at least 16 KiB.
    pub piece_length: u64,
    /// One hash per piece.
    pub piece_hashes: Vec<[u8; 20]>,
    /// `None` for a single file of `single_length` bytes; otherwise the files in order.
    pub files: Option<Vec<(Vec<String>, u64)>>,
    /// Length of the single file.
    pub single_length: u64,
    /// BEP 27 private flag.
    pub private: bool,
    /// Tracker URLs: the first becomes `announce`, all of them one tier each of `announce-list`.
    pub trackers: Vec<String>,
    /// BEP 19 web seeds.
    pub web_seeds: Vec<String>,
    /// Free text.
    pub comment: Option<String>,
    /// Program name.
    pub created_by: Option<String>,
    /// Seconds since the Unix epoch.
    pub creation_date: Option<i64>,
}

impl TorrentBuilder {
    /// Bencodes the torrent with keys in canonical order.
    pub fn to_bytes(&self) -> Result<Vec<u8>, MetainfoError> {
        let pieces: Vec<u8> = self.piece_hashes.iter().flatten().copied().collect();
        let raw = RawTorrent {
            info: RawInfo {
                name: self.name.clone(),
                piece_length: self.piece_length,
                pieces: ByteBuf::from(pieces),
                length: self.files.is_none().then_some(self.single_length),
                files: self.files.as_ref().map(|files| {
                    files
                        .iter()
                        .map(|(path, length)| RawFile {
                            path: path.clone(),
                            length: *length,
                            attr: None,
                        })
                        .collect()
                }),
                private: self.private.then_some(1),
            },
            announce: self.trackers.first().cloned(),
            announce_list: (self.trackers.len() > 1)
                .then(|| self.trackers.iter().map(|t| vec![t.clone()]).collect()),
            url_list: match self.web_seeds.len() {
                0 => None,
                1 => Some(UrlList::One(self.web_seeds[0].clone())),
                _ => Some(UrlList::Many(self.web_seeds.clone())),
            },
            comment: self.comment.clone(),
            created_by: self.created_by.clone(),
            creation_date: self.creation_date,
        };
        let bytes =
            serde_bencode::to_bytes(&raw).map_err(|e| MetainfoError::Field(e.to_string()))?;
        Metainfo::from_bytes(&bytes)?;
        Ok(bytes)
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct RawTorrent {
    info: RawInfo,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    announce: Option<String>,
    #[serde(
        default,
        rename = "announce-list",
        skip_serializing_if = "Option::is_none"
    )]
    announce_list: Option<Vec<Vec<String>>>,
    #[serde(default, rename = "url-list", skip_serializing_if = "Option::is_none")]
    url_list: Option<UrlList>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    comment: Option<String>,
    #[serde(
        default,
        rename = "created by",
        skip_serializing_if = "Option::is_none"
    )]
    created_by: Option<String>,
    #[serde(
        default,
        rename = "creation date",
        skip_serializing_if = "Option::is_none"
    )]
    creation_date: Option<i64>,
}

#[derive(Debug, Serialize, Deserialize)]
struct RawInfo {
    name: String,
    #[serde(rename = "piece length")]
    piece_length: u64,
    pieces: ByteBuf,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    length: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    files: Option<Vec<RawFile>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    private: Option<u8>,
}

#[derive(Debug, Serialize, Deserialize)]
struct RawFile {
    /// BEP 47 flags, one letter each: `p` pad, `x` executable, `h` hidden, `l` symlink.
    /// Bytes, not text, so that a stray non-UTF-8 flag is ignored rather than rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    attr: Option<ByteBuf>,
    length: u64,
    path: Vec<String>,
}

/// BEP 19 allows one URL or a list.
#[derive(Debug, Serialize, Deserialize)]
#[serde(untagged)]
enum UrlList {
    One(String),
    Many(Vec<String>),
}

impl UrlList {
    fn into_vec(self) -> Vec<String> {
        match self {
            UrlList::One(url) if url.is_empty() => Vec::new(),
            UrlList::One(url) => vec![url],
            UrlList::Many(urls) => urls,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn single(length: u64, piece_length: u64) -> TorrentBuilder {
        TorrentBuilder {
            name: "image.raw".into(),
            piece_length,
            piece_hashes: vec![[7; 20]; length.div_ceil(piece_length) as usize],
            single_length: length,
            private: true,
            trackers: vec!["http://t1/announce".into(), "http://t2/announce".into()],
            web_seeds: vec!["http://seed/image.raw".into()],
            comment: Some("hi".into()),
            created_by: Some("swarm".into()),
            creation_date: Some(1_700_000_000),
            ..Default::default()
        }
    }

    #[test]
    fn round_trips_single_file() {
        let bytes = single(100_000, 16_384).to_bytes().unwrap();
        let meta = Metainfo::from_bytes(&bytes).unwrap();
        assert_eq!(meta.name, "image.raw");
        assert_eq!(meta.total_length(), 100_000);
        assert_eq!(meta.geometry.piece_count(), 7);
        assert!(meta.private && !meta.multi_file);
        assert_eq!(
            meta.trackers(),
            vec!["http://t1/announce", "http://t2/announce"]
        );
        assert_eq!(meta.web_seeds, vec!["http://seed/image.raw"]);
        assert_eq!(meta.creation_date, Some(1_700_000_000));
    }

    #[test]
    fn round_trips_multi_file_with_offsets() {
        let mut builder = single(0, 16_384);
        builder.files = Some(vec![
            (vec!["a".into()], 10),
            (vec!["dir".into(), "b".into()], 20_000),
        ]);
        builder.piece_hashes = vec![[1; 20]; 2];
        let meta = Metainfo::from_bytes(&builder.to_bytes().unwrap()).unwrap();
        assert!(meta.multi_file);
        assert_eq!(meta.files[1].offset, 10);
        assert_eq!(meta.files[1].display_path(), "dir/b");
    }

    #[test]
    fn info_hash_is_taken_from_raw_bytes_not_reencoding() {
        // `zz` after `name` and `piece length` before `name` would both change on re-encoding.
        let info =
            b"d6:lengthi5e12:piece lengthi16384e4:name1:a6:pieces20:AAAAAAAAAAAAAAAAAAAA2:zzi1ee";
        let mut torrent = b"d4:info".to_vec();
        torrent.extend_from_slice(info);
        torrent.push(b'e');
        let meta = Metainfo::from_bytes(&torrent).unwrap();
        assert_eq!(meta.info_hash, InfoHash::of_info_bytes(info));
    }

    #[test]
    fn rejects_bad_fields_with_names() {
        let mut bad = single(100_000, 16_384);
        bad.piece_length = 20_000;
        assert_eq!(
            bad.to_bytes().unwrap_err(),
            MetainfoError::BadPieceLength(20_000)
        );

        let mut bad = single(100_000, 16_384);
        bad.piece_hashes.pop();
        assert!(matches!(
            bad.to_bytes().unwrap_err(),
            MetainfoError::PieceCountMismatch {
                found: 6,
                expected: 7,
                ..
            }
        ));

        for path in [vec!["..".to_string()], vec![], vec!["a".into(), "".into()]] {
            let mut bad = single(0, 16_384);
            bad.files = Some(vec![(path, 1)]);
            bad.piece_hashes = vec![[0; 20]];
            assert!(matches!(
                bad.to_bytes().unwrap_err(),
                MetainfoError::UnsafePath { .. }
            ));
        }
    }

    /// A multi-file torrent as libtorrent 2 writes it: `a`, a pad file up to the piece
    /// boundary, then `b` with flags this crate does not act on.
    fn padded(attrs: [Option<&[u8]>; 3], pad_path: &[&str]) -> Vec<u8> {
        let file = |attr: Option<&[u8]>, length, path: &[&str]| RawFile {
            attr: attr.map(|a| ByteBuf::from(a.to_vec())),
            length,
            path: path.iter().map(|c| c.to_string()).collect(),
        };
        let raw = RawTorrent {
            info: RawInfo {
                name: "set".into(),
                piece_length: 16_384,
                pieces: ByteBuf::from(vec![0u8; 40]),
                length: None,
                files: Some(vec![
                    file(attrs[0], 10, &["a"]),
                    file(attrs[1], 16_374, pad_path),
                    file(attrs[2], 5, &["b"]),
                ]),
                private: None,
            },
            announce: None,
            announce_list: None,
            url_list: None,
            comment: None,
            created_by: None,
            creation_date: None,
        };
        serde_bencode::to_bytes(&raw).unwrap()
    }

    #[test]
    fn attr_p_marks_a_pad_file_and_other_flags_are_ignored() {
        let bytes = padded(
            [Some(b""), Some(b"p"), Some(b"xhl?\xff")],
            &[".pad", "16374"],
        );
        let meta = Metainfo::from_bytes(&bytes).unwrap();
        let pads: Vec<bool> = meta.files.iter().map(|f| f.pad).collect();
        assert_eq!(pads, vec![false, true, false]);
        assert_eq!(meta.files[1].display_path(), ".pad/16374");
        assert_eq!(meta.files[2].offset, 16_384);
        assert_eq!(meta.total_length(), 16_389);

        // Without `attr`, or with flags but no `p`, a file is an ordinary one.
        let bytes = padded([None, Some(b"x"), None], &[".pad", "16374"]);
        assert!(Metainfo::from_bytes(&bytes)
            .unwrap()
            .files
            .iter()
            .all(|f| !f.pad));
    }

    #[test]
    fn pad_file_paths_are_still_checked() {
        let bytes = padded([None, Some(b"p"), None], &[".pad", ".."]);
        assert!(matches!(
            Metainfo::from_bytes(&bytes).unwrap_err(),
            MetainfoError::UnsafePath { .. }
        ));
    }

    #[test]
    fn info_hash_text_round_trips() {
        let hash = InfoHash([0xab; 20]);
        assert_eq!(hash.to_string().parse::<InfoHash>().unwrap(), hash);
        assert!("xyz".parse::<InfoHash>().is_err());
    }
}
