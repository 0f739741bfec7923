//! The messages of the peer wire protocol and their encoding.
//!
//! Frames are `<u32 big-endian length><id byte><payload>`; a length of zero is a keep-alive.
//! Payloads that can be large ([`Message::Bitfield`], [`Message::Piece`],
//! [`Message::Extended`]) are [`Bytes`], so decoding them out of a read buffer is zero-copy,
//! and a runtime can send a piece's data without copying it by writing only the header
//! ([`encode_piece_header`]) and handing the payload to the socket as a second buffer.

use bytes::{BufMut, Bytes, BytesMut};

use crate::bitfield::Bitfield;

/// Length of the length prefix that starts every frame.
pub const LENGTH_PREFIX_LEN: usize = 4;
/// Bytes of a piece message before its data: prefix, id, index, begin.
pub const PIECE_HEADER_LEN: usize = LENGTH_PREFIX_LEN + 1 + 8;

/// Message ids on the wire.
pub mod id {
    /// BEP 3.
    pub const CHOKE: u8 = 0;
    /// BEP 3.
    pub const UNCHOKE: u8 = 1;
    /// BEP 3.
    pub const INTERESTED: u8 = 2;
    /// BEP 3.
    pub const NOT_INTERESTED: u8 = 3;
    /// BEP 3.
    pub const HAVE: u8 = 4;
    /// BEP 3.
    pub const BITFIELD: u8 = 5;
    /// BEP 3.
    pub const REQUEST: u8 = 6;
    /// BEP 3.
    pub const PIECE: u8 = 7;
    /// BEP 3.
    pub const CANCEL: u8 = 8;
    /// BEP 5 (DHT port).
    pub const PORT: u8 = 9;
    /// BEP 6.
    pub const SUGGEST: u8 = 0x0d;
    /// BEP 6.
    pub const HAVE_ALL: u8 = 0x0e;
    /// BEP 6.
    pub const HAVE_NONE: u8 = 0x0f;
    /// BEP 6.
    pub const REJECT: u8 = 0x10;
    /// BEP 6.
    pub const ALLOWED_FAST: u8 = 0x11;
    /// BEP 10.
    pub const EXTENDED: u8 = 20;
}

/// The size rule of a message id's payload (after the id byte).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PayloadSize {
    /// Exactly this many bytes.
    Fixed(u32),
    /// At least this many bytes (a fixed header, then opaque bytes).
    AtLeast(u32),
}

/// The payload size rule of a known id; `None` for an id we do not speak.
pub(crate) fn payload_size(message_id: u8) -> Option<PayloadSize> {
    use PayloadSize::{AtLeast, Fixed};
    Some(match message_id {
        id::CHOKE | id::UNCHOKE | id::INTERESTED | id::NOT_INTERESTED => Fixed(0),
        id::HAVE_ALL | id::HAVE_NONE => Fixed(0),
        id::HAVE | id::SUGGEST | id::ALLOWED_FAST => Fixed(4),
        id::REQUEST | id::CANCEL | id::REJECT => Fixed(12),
        id::PORT => Fixed(2),
        id::BITFIELD => AtLeast(0),
        id::PIECE => AtLeast(8),
        id::EXTENDED => AtLeast(1),
        _ => return None,
    })
}

/// One message of the peer wire protocol (BEP 3, with BEP 5's port, BEP 6's fast
/// extension and BEP 10's extended messages).
///
/// Field values are as received: whether a piece index or a block is in range for the
/// torrent is checked by [`crate::wire::validate`], and whether fast or extended messages
/// were negotiated is the peer session's business.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Message {
    /// A zero-length frame.
    KeepAlive,
    /// We will not serve your requests.
    Choke,
    /// We will serve your requests.
    Unchoke,
    /// We want something you have.
    Interested,
    /// We want nothing you have.
    NotInterested,
    /// We now have this piece.
    Have { piece: u32 },
    /// The pieces we have, in wire order (see [`Bitfield::from_wire`]).
    Bitfield(Bytes),
    /// Send us this block.
    Request { index: u32, begin: u32, length: u32 },
    /// A block of data.
    Piece { index: u32, begin: u32, data: Bytes },
    /// Forget this earlier request.
    Cancel { index: u32, begin: u32, length: u32 },
    /// Our DHT port (BEP 5).
    Port(u16),
    /// You might want this piece (BEP 6).
    Suggest { piece: u32 },
    /// We have every piece (BEP 6).
    HaveAll,
    /// We have no piece (BEP 6).
    HaveNone,
    /// We will not serve this request (BEP 6).
    Reject { index: u32, begin: u32, length: u32 },
    /// You may request this piece even while choked (BEP 6).
    AllowedFast { piece: u32 },
    /// An extension message (BEP 10); `id` 0 is the extended handshake.
    Extended { id: u8, payload: Bytes },
}

/// Frame length of a piece message carrying `data_len` bytes, without building it
/// (the simulator charges framing this way when payloads are length-only).
pub const fn piece_wire_len(data_len: usize) -> usize {
    PIECE_HEADER_LEN + data_len
}

/// The messages that name one block by its address: request, cancel and reject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockMessage {
    /// `request`.
    Request,
    /// `cancel`.
    Cancel,
    /// `reject request` (fast extension).
    Reject,
}

impl BlockMessage {
    /// The message of this kind for the block at `index`, `begin`, `length`.
    pub fn message(self, index: u32, begin: u32, length: u32) -> Message {
        match self {
            BlockMessage::Request => Message::Request {
                index,
                begin,
                length,
            },
            BlockMessage::Cancel => Message::Cancel {
                index,
                begin,
                length,
            },
            BlockMessage::Reject => Message::Reject {
                index,
                begin,
                length,
            },
        }
    }
}

impl Message {
    /// A bitfield message for our pieces (copies the bytes).
    pub fn bitfield(field: &Bitfield) -> Message {
        Message::Bitfield(Bytes::copy_from_slice(field.as_bytes()))
    }

    /// The id byte, `None` for a keep-alive.
    pub fn id(&self) -> Option<u8> {
        Some(match self {
            Message::KeepAlive => return None,
            Message::Choke => id::CHOKE,
            Message::Unchoke => id::UNCHOKE,
            Message::Interested => id::INTERESTED,
            Message::NotInterested => id::NOT_INTERESTED,
            Message::Have { .. } => id::HAVE,
            Message::Bitfield(_) => id::BITFIELD,
            Message::Request { .. } => id::REQUEST,
            Message::Piece { .. } => id::PIECE,
            Message::Cancel { .. } => id::CANCEL,
            Message::Port(_) => id::PORT,
            Message::Suggest { .. } => id::SUGGEST,
            Message::HaveAll => id::HAVE_ALL,
            Message::HaveNone => id::HAVE_NONE,
            Message::Reject { .. } => id::REJECT,
            Message::AllowedFast { .. } => id::ALLOWED_FAST,
            Message::Extended { .. } => id::EXTENDED,
        })
    }

    /// A short name for logs and counters.
    pub fn name(&self) -> &'static str {
        match self {
            Message::KeepAlive => "keep-alive",
            Message::Choke => "choke",
            Message::Unchoke => "unchoke",
            Message::Interested => "interested",
            Message::NotInterested => "not-interested",
            Message::Have { .. } => "have",
            Message::Bitfield(_) => "bitfield",
            Message::Request { .. } => "request",
            Message::Piece { .. } => "piece",
            Message::Cancel { .. } => "cancel",
            Message::Port(_) => "port",
            Message::Suggest { .. } => "suggest",
            Message::HaveAll => "have-all",
            Message::HaveNone => "have-none",
            Message::Reject { .. } => "reject",
            Message::AllowedFast { .. } => "allowed-fast",
            Message::Extended { .. } => "extended",
        }
    }

    /// Bytes after the id byte.
    fn payload_len(&self) -> usize {
        match self {
            Message::Bitfield(bits) => bits.len(),
            Message::Piece { data, .. } => 8 + data.len(),
            Message::Extended { payload, .. } => 1 + payload.len(),
            other => match other.id().and_then(payload_size) {
                Some(PayloadSize::Fixed(n)) => n as usize,
                _ => 0,
            },
        }
    }

    /// Bytes this message takes on the wire, the 4-byte length prefix included.
    pub fn wire_len(&self) -> usize {
        match self {
            Message::KeepAlive => LENGTH_PREFIX_LEN,
            other => LENGTH_PREFIX_LEN + 1 + other.payload_len(),
        }
    }

    /// Appends the whole frame to `dst`.
    ///
    /// # Panics
    /// If a payload would make the frame longer than `u32::MAX` bytes.
    pub fn encode(&self, dst: &mut BytesMut) {
        dst.reserve(self.wire_len());
        let Some(message_id) = self.id() else {
            dst.put_u32(0);
            return;
        };
        if let Message::Piece { index, begin, data } = self {
            encode_piece_header(*index, *begin, data.len(), dst);
            dst.put_slice(data);
            return;
        }
        dst.put_u32(frame_len(1 + self.payload_len()));
        dst.put_u8(message_id);
        match self {
            Message::Have { piece }
            | Message::Suggest { piece }
            | Message::AllowedFast { piece } => dst.put_u32(*piece),
            Message::Request {
                index,
                begin,
                length,
            }
            | Message::Cancel {
                index,
                begin,
                length,
            }
            | Message::Reject {
                index,
                begin,
                length,
            } => {
                dst.put_u32(*index);
                dst.put_u32(*begin);
                dst.put_u32(*length);
            }
            Message::Port(port) => dst.put_u16(*port),
            Message::Bitfield(bits) => dst.put_slice(bits),
            Message::Extended { id, payload } => {
                dst.put_u8(*id);
                dst.put_slice(payload);
            }
            _ => {}
        }
    }
}

fn frame_len(len: usize) -> u32 {
    u32::try_from(len).expect("message longer than u32::MAX bytes")
}

/// Appends `message`'s frame to `dst`.
pub fn encode(message: &Message, dst: &mut BytesMut) {
    message.encode(dst);
}

/// Appends the 13-byte header of a piece message whose `data_len` bytes of data the caller
/// sends next, so the data itself need not be copied.
///
/// # Panics
/// If `data_len` would make the frame longer than `u32::MAX` bytes.
pub fn encode_piece_header(index: u32, begin: u32, data_len: usize, dst: &mut BytesMut) {
    dst.reserve(PIECE_HEADER_LEN);
    dst.put_u32(frame_len(data_len + 9));
    dst.put_u8(id::PIECE);
    dst.put_u32(index);
    dst.put_u32(begin);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(message: &Message) -> Vec<u8> {
        let mut dst = BytesMut::new();
        message.encode(&mut dst);
        assert_eq!(dst.len(), message.wire_len(), "{message:?}");
        dst.to_vec()
    }

    #[test]
    fn known_encodings() {
        assert_eq!(encoded(&Message::KeepAlive), [0, 0, 0, 0]);
        assert_eq!(encoded(&Message::Interested), [0, 0, 0, 1, 2]);
        assert_eq!(
            encoded(&Message::Have { piece: 258 }),
            [0, 0, 0, 5, 4, 0, 0, 1, 2]
        );
        assert_eq!(
            encoded(&Message::Request {
                index: 1,
                begin: 16_384,
                length: 16_384
            }),
            [0, 0, 0, 13, 6, 0, 0, 0, 1, 0, 0, 0x40, 0, 0, 0, 0x40, 0]
        );
        assert_eq!(encoded(&Message::Port(6881)), [0, 0, 0, 3, 9, 0x1a, 0xe1]);
        assert_eq!(encoded(&Message::HaveAll), [0, 0, 0, 1, 0x0e]);
        assert_eq!(
            encoded(&Message::Extended {
                id: 0,
                payload: Bytes::from_static(b"de")
            }),
            [0, 0, 0, 4, 20, 0, b'd', b'e']
        );
    }

    #[test]
    fn piece_header_then_data_equals_whole_message() {
        let data = Bytes::from(vec![7u8; 100]);
        let whole = encoded(&Message::Piece {
            index: 3,
            begin: 16_384,
            data: data.clone(),
        });
        let mut split = BytesMut::new();
        encode_piece_header(3, 16_384, data.len(), &mut split);
        assert_eq!(split.len(), PIECE_HEADER_LEN);
        split.extend_from_slice(&data);
        assert_eq!(whole, split.to_vec());
        assert_eq!(piece_wire_len(100), whole.len());
    }

    #[test]
    fn bitfield_message_copies_the_wire_bytes() {
        let mut field = Bitfield::new(9);
        field.set(8);
        assert_eq!(
            encoded(&Message::bitfield(&field)),
            [0, 0, 0, 3, 5, 0, 0x80]
        );
    }
}
