//! Decoding frames: "incomplete" is told apart from "invalid".
//!
//! The decoder checks before it parses (mini-redis's `Connection::parse_frame`): the length
//! prefix is held against the cap as soon as its 4 bytes are in, and the id byte against the
//! known ids and their sizes as soon as it is in, so a bad frame is refused before its body is
//! buffered. Once a header has passed, parsing the body cannot fail.
//!
//! [`Decoder::decode`] takes from a runtime's `BytesMut` read buffer: on `Ok(None)` the buffer
//! is untouched; on `Ok(Some(_))` exactly one frame has been taken and the next frame's bytes
//! stay in the buffer. [`Decoder::decode_frame`] does the same over a plain slice (copying
//! payloads) for fuzzing and tests.

use bytes::{Buf, Bytes, BytesMut};

use super::error::{Incompatible, Malformed, Misbehaving, WireError};
use super::message::{id, payload_size, Message, PayloadSize, LENGTH_PREFIX_LEN};
use crate::bitfield;
use crate::piece::BLOCK_LENGTH;

/// The largest cap a decoder accepts (length prefix value, i.e. id byte and payload):
/// 1 MiB and the id byte. A bitfield of more than 8 Mi pieces (which a torrent of 16 KiB pieces
/// reaches at 128 GiB) does not fit; such peers must announce with have-all or haves.
pub const MAX_MESSAGE_LEN_LIMIT: u32 = (1 << 20) + 1;
/// Length of the longest fixed-size message (request, cancel, reject): the smallest cap.
const LONGEST_FIXED_MESSAGE_LEN: u32 = 13;

/// Splits a stream of bytes into [`Message`]s, refusing frames longer than its cap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoder {
    max_message_len: u32,
}

/// A frame header that passed every check.
#[derive(Debug, Clone, Copy)]
struct Header {
    /// The whole frame, prefix included.
    frame_len: usize,
    /// `None` for a keep-alive.
    message_id: Option<u8>,
}

impl Decoder {
    /// A decoder for a torrent of `piece_count` pieces: the cap fits a 16 KiB block's piece
    /// message and the torrent's bitfield message, whichever is longer, up to
    /// [`MAX_MESSAGE_LEN_LIMIT`].
    pub fn new(piece_count: u32) -> Self {
        let piece_message = BLOCK_LENGTH + 9;
        let bitfield_message = 1 + bitfield::wire_len(piece_count);
        let wanted = (piece_message as usize).max(bitfield_message);
        Decoder::with_max_message_len(u32::try_from(wanted).unwrap_or(MAX_MESSAGE_LEN_LIMIT))
    }

    /// A decoder with an explicit cap on the length prefix (id byte and payload, not the
    /// prefix itself), clamped to `13..=MAX_MESSAGE_LEN_LIMIT`.
    pub fn with_max_message_len(max_message_len: u32) -> Self {
        Decoder {
            max_message_len: max_message_len
                .clamp(LONGEST_FIXED_MESSAGE_LEN, MAX_MESSAGE_LEN_LIMIT),
        }
    }

    /// The cap on the length prefix.
    pub fn max_message_len(&self) -> u32 {
        self.max_message_len
    }

    /// Takes one message from the front of `buf`.
    ///
    /// `Ok(None)`: more bytes are needed and `buf` is untouched. `Ok(Some(_))`: exactly that
    /// message's frame was removed from `buf`. `Err(_)`: the connection should be closed;
    /// `buf` is untouched. Bitfield, piece and extended payloads share `buf`'s allocation.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Message>, WireError> {
        let Some(header) = check_header(buf, self.max_message_len)? else {
            return Ok(None);
        };
        if buf.len() < header.frame_len {
            return Ok(None);
        }
        let Some(message_id) = header.message_id else {
            buf.advance(LENGTH_PREFIX_LEN);
            return Ok(Some(Message::KeepAlive));
        };
        let body_start = LENGTH_PREFIX_LEN + 1;
        let message = match payload_size(message_id) {
            Some(PayloadSize::AtLeast(_)) => {
                let frame = buf.split_to(header.frame_len).freeze();
                parse_variable(message_id, frame.slice(body_start..))
            }
            _ => {
                let message = parse_fixed(message_id, &buf[body_start..header.frame_len]);
                buf.advance(header.frame_len);
                message
            }
        };
        Ok(Some(message))
    }

    /// Reads one message from the front of `buf`, returning it with the number of bytes it
    /// took. `Ok(None)`: more bytes are needed. Payloads are copied out of `buf`.
    pub fn decode_frame(&self, buf: &[u8]) -> Result<Option<(Message, usize)>, WireError> {
        let Some(header) = check_header(buf, self.max_message_len)? else {
            return Ok(None);
        };
        if buf.len() < header.frame_len {
            return Ok(None);
        }
        let Some(message_id) = header.message_id else {
            return Ok(Some((Message::KeepAlive, LENGTH_PREFIX_LEN)));
        };
        let body = &buf[LENGTH_PREFIX_LEN + 1..header.frame_len];
        let message = match payload_size(message_id) {
            Some(PayloadSize::AtLeast(_)) => {
                parse_variable(message_id, Bytes::copy_from_slice(body))
            }
            _ => parse_fixed(message_id, body),
        };
        Ok(Some((message, header.frame_len)))
    }
}

/// Checks the length prefix and the id byte, as far as `buf` holds them.
fn check_header(buf: &[u8], max_message_len: u32) -> Result<Option<Header>, WireError> {
    let Some(prefix) = buf.first_chunk::<LENGTH_PREFIX_LEN>() else {
        return Ok(None);
    };
    let len = u32::from_be_bytes(*prefix);
    if len > max_message_len {
        return Err(Misbehaving::MessageTooLarge {
            len,
            max: max_message_len,
        }
        .into());
    }
    let frame_len = LENGTH_PREFIX_LEN + len as usize;
    if len == 0 {
        return Ok(Some(Header {
            frame_len,
            message_id: None,
        }));
    }
    let Some(&message_id) = buf.get(LENGTH_PREFIX_LEN) else {
        return Ok(None);
    };
    let payload_len = len - 1;
    match payload_size(message_id) {
        None => return Err(Incompatible::UnknownMessage { id: message_id }.into()),
        Some(PayloadSize::Fixed(n)) if payload_len != n => {
            return Err(Malformed::BadLength {
                id: message_id,
                len,
                expected: n + 1,
            }
            .into())
        }
        Some(PayloadSize::AtLeast(n)) if payload_len < n => {
            return Err(Malformed::TooShort {
                id: message_id,
                len,
                min: n + 1,
            }
            .into())
        }
        Some(_) => {}
    }
    Ok(Some(Header {
        frame_len,
        message_id: Some(message_id),
    }))
}

fn read_u32(body: &[u8], at: usize) -> u32 {
    let mut word = [0u8; 4];
    word.copy_from_slice(&body[at..at + 4]);
    u32::from_be_bytes(word)
}

/// Parses a fixed-size body whose length [`check_header`] has proven.
fn parse_fixed(message_id: u8, body: &[u8]) -> Message {
    let triple = || (read_u32(body, 0), read_u32(body, 4), read_u32(body, 8));
    match message_id {
        id::CHOKE => Message::Choke,
        id::UNCHOKE => Message::Unchoke,
        id::INTERESTED => Message::Interested,
        id::NOT_INTERESTED => Message::NotInterested,
        id::HAVE => Message::Have {
            piece: read_u32(body, 0),
        },
        id::REQUEST => {
            let (index, begin, length) = triple();
            Message::Request {
                index,
                begin,
                length,
            }
        }
        id::CANCEL => {
            let (index, begin, length) = triple();
            Message::Cancel {
                index,
                begin,
                length,
            }
        }
        id::PORT => Message::Port(u16::from_be_bytes([body[0], body[1]])),
        id::SUGGEST => Message::Suggest {
            piece: read_u32(body, 0),
        },
        id::HAVE_ALL => Message::HaveAll,
        id::HAVE_NONE => Message::HaveNone,
        id::REJECT => {
            let (index, begin, length) = triple();
            Message::Reject {
                index,
                begin,
                length,
            }
        }
        id::ALLOWED_FAST => Message::AllowedFast {
            piece: read_u32(body, 0),
        },
        other => unreachable!("check_header let through id {other} as fixed-size"),
    }
}

/// Parses a variable-size body whose minimum length [`check_header`] has proven.
fn parse_variable(message_id: u8, body: Bytes) -> Message {
    match message_id {
        id::BITFIELD => Message::Bitfield(body),
        id::PIECE => Message::Piece {
            index: read_u32(&body, 0),
            begin: read_u32(&body, 4),
            data: body.slice(8..),
        },
        id::EXTENDED => Message::Extended {
            id: body[0],
            payload: body.slice(1..),
        },
        other => unreachable!("check_header let through id {other} as variable-size"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::ErrorKind;

    fn decoder() -> Decoder {
        Decoder::new(1000)
    }

    fn decode_all(bytes: &[u8]) -> Result<Option<Message>, WireError> {
        decoder().decode(&mut BytesMut::from(bytes))
    }

    #[test]
    fn cap_fits_block_or_bitfield() {
        assert_eq!(Decoder::new(10).max_message_len(), BLOCK_LENGTH + 9);
        assert_eq!(Decoder::new(1_000_000).max_message_len(), 1 + 125_000);
        assert_eq!(
            Decoder::new(u32::MAX).max_message_len(),
            MAX_MESSAGE_LEN_LIMIT
        );
        assert_eq!(Decoder::with_max_message_len(0).max_message_len(), 13);
    }

    #[test]
    fn incomplete_leaves_buffer_untouched() {
        let mut buf = BytesMut::from(&[0u8, 0, 0, 13, 6, 0, 0][..]);
        assert_eq!(decoder().decode(&mut buf), Ok(None));
        assert_eq!(&buf[..], &[0, 0, 0, 13, 6, 0, 0]);
        let mut empty = BytesMut::new();
        assert_eq!(decoder().decode(&mut empty), Ok(None));
    }

    #[test]
    fn leaves_the_next_frame_in_the_buffer() {
        let mut buf = BytesMut::from(&[0u8, 0, 0, 1, 1, 0, 0, 0, 5, 4, 0, 0][..]);
        let mut decoder = decoder();
        assert_eq!(decoder.decode(&mut buf), Ok(Some(Message::Unchoke)));
        assert_eq!(&buf[..], &[0, 0, 0, 5, 4, 0, 0]);
        assert_eq!(decoder.decode(&mut buf), Ok(None));
        buf.extend_from_slice(&[0, 9, 0, 0, 0, 0]);
        assert_eq!(
            decoder.decode(&mut buf),
            Ok(Some(Message::Have { piece: 9 }))
        );
        assert_eq!(&buf[..], &[0, 0, 0, 0]);
        assert_eq!(decoder.decode(&mut buf), Ok(Some(Message::KeepAlive)));
        assert!(buf.is_empty());
    }

    #[test]
    fn piece_payload_shares_the_read_buffer() {
        let mut buf = BytesMut::new();
        Message::Piece {
            index: 1,
            begin: 0,
            data: Bytes::from(vec![9u8; 64]),
        }
        .encode(&mut buf);
        let start = buf.as_ptr() as usize;
        let Ok(Some(Message::Piece { data, .. })) = decoder().decode(&mut buf) else {
            panic!("expected a piece");
        };
        assert_eq!(data.as_ptr() as usize, start + 13, "payload was copied");
    }

    #[test]
    fn too_large_is_refused_from_the_prefix_alone() {
        let err = decode_all(&[0, 1, 0, 0]).unwrap_err();
        assert_eq!(
            err,
            Misbehaving::MessageTooLarge {
                len: 65_536,
                max: BLOCK_LENGTH + 9
            }
            .into()
        );
        assert_eq!(err.kind(), ErrorKind::Misbehaving);
    }

    #[test]
    fn unknown_id_is_incompatible() {
        let err = decode_all(&[0, 0, 0, 3, 0x42]).unwrap_err();
        assert_eq!(err, Incompatible::UnknownMessage { id: 0x42 }.into());
        assert_eq!(err.kind(), ErrorKind::Incompatible);
    }

    #[test]
    fn wrong_sizes_are_malformed_before_the_body_arrives() {
        // (id, length prefix, the one length that id takes)
        let fixed = [
            (id::CHOKE, 2, 1),
            (id::HAVE, 4, 5),
            (id::REQUEST, 14, 13),
            (id::PORT, 2, 3),
            (id::REJECT, 1, 13),
        ];
        // (id, length prefix, the least length that id takes)
        let variable = [(id::PIECE, 8, 9), (id::EXTENDED, 1, 2)];
        let cases = fixed
            .map(|(id, len, expected)| (id, len, Malformed::BadLength { id, len, expected }))
            .into_iter()
            .chain(variable.map(|(id, len, min)| (id, len, Malformed::TooShort { id, len, min })));
        for (id, len, expected) in cases {
            let bytes = [0, 0, 0, len as u8, id];
            let err = decode_all(&bytes).unwrap_err();
            assert_eq!(err, WireError::Malformed(expected), "{bytes:?}");
            assert_eq!(decoder().decode_frame(&bytes).unwrap_err(), err);
        }
    }

    #[test]
    fn error_leaves_buffer_untouched() {
        let mut buf = BytesMut::from(&[0u8, 0, 0, 2, 0x42, 0][..]);
        assert!(decoder().decode(&mut buf).is_err());
        assert_eq!(buf.len(), 6);
    }

    #[test]
    fn empty_bitfield_and_empty_piece_decode() {
        assert_eq!(
            decode_all(&[0, 0, 0, 1, 5]),
            Ok(Some(Message::Bitfield(Bytes::new())))
        );
        assert_eq!(
            decode_all(&[0, 0, 0, 9, 7, 0, 0, 0, 1, 0, 0, 0, 2]),
            Ok(Some(Message::Piece {
                index: 1,
                begin: 2,
                data: Bytes::new()
            }))
        );
    }
}
