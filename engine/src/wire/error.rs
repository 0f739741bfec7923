//! Why a peer's bytes were rejected, split by kind as rustls does.
//!
//! - [`Malformed`]: the bytes cannot be parsed (a fixed-size message of the wrong length,
//!   another protocol's handshake, an extended handshake that is not a bencoded dictionary).
//! - [`Misbehaving`]: the bytes parse but break the protocol or our limits (a message over
//!   the length cap, a request beyond the end of its piece, a bitfield with spare bits set).
//! - [`Incompatible`]: a feature we do not speak (an unknown message id).
//!
//! Every variant carries the figures that explain it. Each error closes the one connection
//! it came from; none panics.

use crate::bitfield::BitfieldError;

/// The three kinds of peer error, for policy (logging, counting, banning).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ErrorKind {
    /// Cannot be parsed.
    Malformed,
    /// Parsed, but breaks the protocol or a limit.
    Misbehaving,
    /// Uses a feature we do not speak.
    Incompatible,
}

/// A peer's bytes rejected by the wire codec or by validation against the torrent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// The bytes cannot be parsed.
    #[error("malformed: {0}")]
    Malformed(#[from] Malformed),
    /// The bytes parse but break the protocol or our limits.
    #[error("misbehaving: {0}")]
    Misbehaving(#[from] Misbehaving),
    /// The peer uses a feature we do not speak.
    #[error("incompatible: {0}")]
    Incompatible(#[from] Incompatible),
}

impl WireError {
    /// Which of the three kinds this error is.
    pub fn kind(&self) -> ErrorKind {
        match self {
            WireError::Malformed(_) => ErrorKind::Malformed,
            WireError::Misbehaving(_) => ErrorKind::Misbehaving,
            WireError::Incompatible(_) => ErrorKind::Incompatible,
        }
    }
}

impl From<BitfieldError> for WireError {
    fn from(error: BitfieldError) -> Self {
        WireError::Misbehaving(Misbehaving::Bitfield(error))
    }
}

/// Bytes that cannot be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Malformed {
    /// The handshake does not start with the byte 19.
    #[error("handshake protocol length is {pstrlen}, expected 19")]
    BadProtocolLength { pstrlen: u8 },
    /// The handshake's protocol string is not "BitTorrent protocol".
    #[error("handshake protocol string differs from \"BitTorrent protocol\" at byte {offset}")]
    BadProtocolString { offset: usize },
    /// A fixed-size message whose length prefix is not that size (id byte included).
    #[error("message id {id} has length {len}, expected {expected}")]
    BadLength { id: u8, len: u32, expected: u32 },
    /// A variable-size message shorter than its fixed header (id byte included).
    #[error("message id {id} has length {len}, at least {min} needed")]
    TooShort { id: u8, len: u32, min: u32 },
    /// A BEP 10 extended handshake that is not a well-formed dictionary of the known types.
    #[error("extended handshake: {reason}")]
    ExtendedHandshake { reason: String },
}

/// Bytes that parse but break the protocol or a limit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Misbehaving {
    /// A length prefix above the decoder's cap (both exclude the 4-byte prefix itself).
    #[error("message of {len} bytes exceeds the limit of {max}")]
    MessageTooLarge { len: u32, max: u32 },
    /// A piece index at or past the piece count.
    #[error("piece {piece} out of range: the torrent has {piece_count} pieces")]
    PieceOutOfRange { piece: u32, piece_count: u32 },
    /// A block of zero bytes.
    #[error("empty block at piece {index} offset {begin}")]
    EmptyBlock { index: u32, begin: u32 },
    /// A block longer than the limit for this direction.
    #[error("block of {length} bytes at piece {index} exceeds the limit of {max}")]
    BlockTooLong { index: u32, length: u32, max: u32 },
    /// A block that runs past the end of its piece.
    #[error("block {begin}+{length} runs past the end of piece {index} ({piece_size} bytes)")]
    BlockBeyondPiece {
        index: u32,
        begin: u32,
        length: u32,
        piece_size: u32,
    },
    /// A fast (BEP 6) or extended (BEP 10) message on a connection where the handshakes did
    /// not both announce that feature.
    #[error("message id {id} needs a feature the handshakes did not negotiate")]
    NotNegotiated { id: u8 },
    /// A bitfield of the wrong length or with spare bits set.
    #[error("{0}")]
    Bitfield(BitfieldError),
}

/// A feature we do not speak.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Incompatible {
    /// A message id outside BEP 3, BEP 5 (port), BEP 6 (fast) and BEP 10 (extended).
    #[error("unknown message id {id}")]
    UnknownMessage { id: u8 },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_messages_carry_figures() {
        let too_large: WireError = Misbehaving::MessageTooLarge {
            len: 70_000,
            max: 16_393,
        }
        .into();
        assert_eq!(too_large.kind(), ErrorKind::Misbehaving);
        assert_eq!(
            too_large.to_string(),
            "misbehaving: message of 70000 bytes exceeds the limit of 16393"
        );
        let unknown: WireError = Incompatible::UnknownMessage { id: 99 }.into();
        assert_eq!(unknown.kind(), ErrorKind::Incompatible);
        let bad: WireError = Malformed::BadLength {
            id: 4,
            len: 3,
            expected: 5,
        }
        .into();
        assert_eq!(bad.kind(), ErrorKind::Malformed);
        let spare: WireError = BitfieldError::SpareBitsSet {
            piece_count: 3,
            last_byte: 0xff,
        }
        .into();
        assert_eq!(spare.kind(), ErrorKind::Misbehaving);
    }
}
