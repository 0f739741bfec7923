//! Checks that need the torrent's geometry: the step from "parsed" to "acceptable".
//!
//! The codec only knows frames; these functions turn a message's raw numbers into the
//! validated types of [`crate::piece`] ([`PieceIndex`], [`BlockRef`]) and [`Bitfield`], or
//! into a [`Misbehaving`] error that names the figures. Requests we send are at most
//! [`MAX_REQUEST_SENT_LEN`]; requests we serve may be up to [`MAX_REQUEST_SERVED_LEN`]
//! (some clients ask for larger blocks); anything longer closes the connection.

use super::error::{Misbehaving, WireError};
use super::handshake::Features;
use super::message::Message;
use crate::bitfield::Bitfield;
use crate::piece::{BlockRef, Geometry, PieceIndex, BLOCK_LENGTH};

/// Longest block we request, hence the longest piece message we accept.
pub const MAX_REQUEST_SENT_LEN: u32 = BLOCK_LENGTH;
/// Longest block we serve when a peer asks for it.
pub const MAX_REQUEST_SERVED_LEN: u32 = 128 * 1024;

/// The features a message needs both handshakes to have announced.
pub fn features_needed(message: &Message) -> Features {
    match message {
        Message::Suggest { .. }
        | Message::HaveAll
        | Message::HaveNone
        | Message::Reject { .. }
        | Message::AllowedFast { .. } => Features {
            fast: true,
            extension_protocol: false,
        },
        Message::Extended { .. } => Features {
            fast: false,
            extension_protocol: true,
        },
        _ => Features::default(),
    }
}

/// A message allowed by the `negotiated` features (see [`Features::both`]): BEP 6 says to
/// close a connection that sends fast messages without having announced them.
pub fn validate_negotiated(negotiated: Features, message: &Message) -> Result<(), WireError> {
    let needed = features_needed(message);
    let missing = (needed.fast && !negotiated.fast)
        || (needed.extension_protocol && !negotiated.extension_protocol);
    match (missing, message.id()) {
        (true, Some(id)) => Err(Misbehaving::NotNegotiated { id }.into()),
        _ => Ok(()),
    }
}

/// A piece index from a have, suggest or allowed-fast message.
pub fn validate_piece(geometry: &Geometry, piece: u32) -> Result<PieceIndex, WireError> {
    geometry.piece(piece).ok_or_else(|| {
        Misbehaving::PieceOutOfRange {
            piece,
            piece_count: geometry.piece_count(),
        }
        .into()
    })
}

/// A block from a request, cancel, reject or piece message: in range, not empty, at most
/// `max_length` bytes (one of the limits above) and not past the end of its piece.
pub fn validate_request(
    geometry: &Geometry,
    index: u32,
    begin: u32,
    length: u32,
    max_length: u32,
) -> Result<BlockRef, WireError> {
    let piece = validate_piece(geometry, index)?;
    if length == 0 {
        return Err(Misbehaving::EmptyBlock { index, begin }.into());
    }
    if length > max_length {
        return Err(Misbehaving::BlockTooLong {
            index,
            length,
            max: max_length,
        }
        .into());
    }
    let beyond = || Misbehaving::BlockBeyondPiece {
        index,
        begin,
        length,
        piece_size: geometry.piece_size(piece),
    };
    geometry
        .checked_span(index, begin, length, max_length)
        .ok_or_else(|| beyond().into())
}

/// A bitfield message's payload: the torrent's byte length, no spare bit set.
pub fn validate_bitfield(geometry: &Geometry, bytes: &[u8]) -> Result<Bitfield, WireError> {
    Ok(Bitfield::from_wire(bytes, geometry.piece_count())?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bitfield::BitfieldError;
    use crate::wire::ErrorKind;

    fn geometry() -> Geometry {
        // 4 pieces of 32 KiB, the last one 1696 bytes.
        Geometry::new(100_000, 32_768).unwrap()
    }

    fn misbehaving(result: Result<impl std::fmt::Debug, WireError>) -> Misbehaving {
        match result {
            Err(WireError::Misbehaving(m)) => m,
            other => panic!("expected misbehaving, got {other:?}"),
        }
    }

    #[test]
    fn accepts_blocks_inside_pieces() {
        let g = geometry();
        let block = validate_request(&g, 0, 16_384, 16_384, MAX_REQUEST_SENT_LEN).unwrap();
        assert_eq!(
            (block.piece.get(), block.offset, block.length),
            (0, 16_384, 16_384)
        );
        assert!(validate_request(&g, 3, 0, 1696, MAX_REQUEST_SENT_LEN).is_ok());
        assert!(validate_request(&g, 0, 0, 32_768, MAX_REQUEST_SERVED_LEN).is_ok());
        assert_eq!(validate_piece(&g, 3).unwrap().get(), 3);
    }

    #[test]
    fn rejects_with_figures() {
        let g = geometry();
        assert_eq!(
            misbehaving(validate_piece(&g, 4)),
            Misbehaving::PieceOutOfRange {
                piece: 4,
                piece_count: 4
            }
        );
        assert_eq!(
            misbehaving(validate_request(&g, 9, 0, 1, BLOCK_LENGTH)),
            Misbehaving::PieceOutOfRange {
                piece: 9,
                piece_count: 4
            }
        );
        assert_eq!(
            misbehaving(validate_request(&g, 0, 0, 0, BLOCK_LENGTH)),
            Misbehaving::EmptyBlock { index: 0, begin: 0 }
        );
        assert_eq!(
            misbehaving(validate_request(&g, 0, 0, 32_768, MAX_REQUEST_SENT_LEN)),
            Misbehaving::BlockTooLong {
                index: 0,
                length: 32_768,
                max: 16_384
            }
        );
        assert_eq!(
            misbehaving(validate_request(&g, 3, 1000, 1000, BLOCK_LENGTH)),
            Misbehaving::BlockBeyondPiece {
                index: 3,
                begin: 1000,
                length: 1000,
                piece_size: 1696
            }
        );
        assert_eq!(
            misbehaving(validate_request(&g, 0, u32::MAX, 2, BLOCK_LENGTH)),
            Misbehaving::BlockBeyondPiece {
                index: 0,
                begin: u32::MAX,
                length: 2,
                piece_size: 32_768
            }
        );
    }

    #[test]
    fn fast_and_extended_messages_need_negotiation() {
        let none = Features::default();
        let fast_only = Features {
            fast: true,
            extension_protocol: false,
        };
        assert_eq!(
            validate_negotiated(none, &Message::Have { piece: 1 }),
            Ok(())
        );
        assert_eq!(
            misbehaving(validate_negotiated(none, &Message::HaveAll)),
            Misbehaving::NotNegotiated { id: 0x0e }
        );
        assert_eq!(validate_negotiated(fast_only, &Message::HaveAll), Ok(()));
        let extended = Message::Extended {
            id: 0,
            payload: bytes::Bytes::new(),
        };
        assert_eq!(
            misbehaving(validate_negotiated(fast_only, &extended)),
            Misbehaving::NotNegotiated { id: 20 }
        );
        assert_eq!(validate_negotiated(Features::OURS, &extended), Ok(()));
    }

    #[test]
    fn bitfield_errors_are_misbehaving() {
        let g = geometry();
        assert_eq!(validate_bitfield(&g, &[0xf0]).unwrap().count_ones(), 4);
        let err = validate_bitfield(&g, &[0xf8]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Misbehaving);
        assert_eq!(
            misbehaving(validate_bitfield(&g, &[0xf0, 0])),
            Misbehaving::Bitfield(BitfieldError::WrongLength {
                len_bytes: 2,
                expected_bytes: 1,
                piece_count: 4
            })
        );
    }
}
