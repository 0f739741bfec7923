//! The BitTorrent v1 peer wire protocol: handshake, messages, codec, and the checks that
//! need the torrent.
//!
//! - [`handshake`]: the 68-byte handshake, readable in two parts, and its feature bits.
//! - [`message`]: [`Message`], its encoding, and the framing figures the simulator charges.
//! - [`codec`]: [`Decoder`], which tells "incomplete" (`Ok(None)`) from "invalid" (`Err`).
//! - [`validate`]: piece indexes, blocks and bitfields held against the torrent's geometry.
//! - [`extension`]: the BEP 10 extended handshake.
//! - [`error`]: [`WireError`], split by kind into malformed, misbehaving and incompatible.
//!
//! Everything here is pure: bytes in, values out. Which messages a session may send when
//! (a bitfield only first, fast messages only if both sides announced BEP 6) is the peer
//! actor's business, not the codec's.

pub mod codec;
pub mod error;
pub mod extension;
pub mod handshake;
pub mod message;
pub mod validate;

#[cfg(test)]
mod tests;

pub use codec::{Decoder, MAX_MESSAGE_LEN_LIMIT};
pub use error::{ErrorKind, Incompatible, Malformed, Misbehaving, WireError};
pub use extension::{ExtendedHandshake, CLIENT_VERSION, EXTENDED_HANDSHAKE_ID};
pub use handshake::{Features, Handshake, HandshakeStart, HANDSHAKE_LEN, PROTOCOL};
pub use message::{
    encode, encode_piece_header, piece_wire_len, BlockMessage, Message, LENGTH_PREFIX_LEN,
    PIECE_HEADER_LEN,
};
pub use validate::{
    features_needed, validate_bitfield, validate_negotiated, validate_piece, validate_request,
    MAX_REQUEST_SENT_LEN, MAX_REQUEST_SERVED_LEN,
};
