//! The 68-byte BitTorrent handshake and the feature bits of its reserved bytes.
//!
//! `<19>"BitTorrent protocol"<8 reserved><20 info-hash><20 peer id>`. The first 48 bytes
//! name the torrent; a peer that accepts connections for several torrents can read them with
//! [`HandshakeStart::decode`] and answer before the peer id arrives (many clients send the
//! handshake in those two parts).

use bytes::{BufMut, BytesMut};

use super::error::{Malformed, WireError};
use crate::metainfo::InfoHash;

/// The protocol string.
pub const PROTOCOL: &[u8; 19] = b"BitTorrent protocol";
/// Length of a whole handshake.
pub const HANDSHAKE_LEN: usize = 68;
/// Length of the part up to and including the info-hash.
pub const HANDSHAKE_START_LEN: usize = 48;

/// Reserved byte and mask of the Fast extension (BEP 6).
const FAST_BIT: (usize, u8) = (7, 0x04);
/// Reserved byte and mask of the extension protocol (BEP 10).
const EXTENSION_PROTOCOL_BIT: (usize, u8) = (5, 0x10);

/// The optional protocol features a handshake's reserved bytes announce.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Features {
    /// BEP 6: have-all, have-none, suggest, reject, allowed-fast.
    pub fast: bool,
    /// BEP 10: extended messages.
    pub extension_protocol: bool,
}

impl Features {
    /// What swarm speaks.
    pub const OURS: Features = Features {
        fast: true,
        extension_protocol: true,
    };

    /// Reads the feature bits we know; other bits are ignored.
    pub fn from_reserved(reserved: &[u8; 8]) -> Self {
        let has = |(byte, mask): (usize, u8)| reserved[byte] & mask != 0;
        Features {
            fast: has(FAST_BIT),
            extension_protocol: has(EXTENSION_PROTOCOL_BIT),
        }
    }

    /// Reserved bytes announcing exactly these features.
    pub fn to_reserved(self) -> [u8; 8] {
        let mut reserved = [0u8; 8];
        for (on, (byte, mask)) in [
            (self.fast, FAST_BIT),
            (self.extension_protocol, EXTENSION_PROTOCOL_BIT),
        ] {
            if on {
                reserved[byte] |= mask;
            }
        }
        reserved
    }

    /// Features both sides announced: the ones a connection may use.
    pub fn both(self, other: Features) -> Features {
        Features {
            fast: self.fast && other.fast,
            extension_protocol: self.extension_protocol && other.extension_protocol,
        }
    }
}

/// A whole handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Handshake {
    /// The torrent.
    pub info_hash: InfoHash,
    /// The sender's peer id.
    pub peer_id: [u8; 20],
    /// Feature bits (see [`Features`]).
    pub reserved: [u8; 8],
}

/// The first 48 bytes of a handshake: enough to pick the torrent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HandshakeStart {
    /// The torrent.
    pub info_hash: InfoHash,
    /// Feature bits (see [`Features`]).
    pub reserved: [u8; 8],
}

/// Checks the protocol length byte and as much of the protocol string as `buf` holds.
fn check_protocol(buf: &[u8]) -> Result<(), WireError> {
    let Some(&pstrlen) = buf.first() else {
        return Ok(());
    };
    if usize::from(pstrlen) != PROTOCOL.len() {
        return Err(Malformed::BadProtocolLength { pstrlen }.into());
    }
    let seen = &buf[1..buf.len().min(1 + PROTOCOL.len())];
    match seen.iter().zip(PROTOCOL).position(|(a, b)| a != b) {
        Some(i) => Err(Malformed::BadProtocolString { offset: 1 + i }.into()),
        None => Ok(()),
    }
}

fn array<const N: usize>(buf: &[u8], at: usize) -> [u8; N] {
    let mut out = [0u8; N];
    out.copy_from_slice(&buf[at..at + N]);
    out
}

impl HandshakeStart {
    /// Reads the first 48 bytes of a handshake. `Ok(None)`: more bytes are needed; a wrong
    /// protocol is reported as soon as its first differing byte is in.
    pub fn decode(buf: &[u8]) -> Result<Option<HandshakeStart>, WireError> {
        check_protocol(buf)?;
        if buf.len() < HANDSHAKE_START_LEN {
            return Ok(None);
        }
        Ok(Some(HandshakeStart {
            reserved: array(buf, 20),
            info_hash: InfoHash(array(buf, 28)),
        }))
    }

    /// The features announced.
    pub fn features(&self) -> Features {
        Features::from_reserved(&self.reserved)
    }
}

impl Handshake {
    /// Our handshake: the features swarm speaks.
    pub fn new(info_hash: InfoHash, peer_id: [u8; 20]) -> Self {
        Handshake {
            info_hash,
            peer_id,
            reserved: Features::OURS.to_reserved(),
        }
    }

    /// The features announced.
    pub fn features(&self) -> Features {
        Features::from_reserved(&self.reserved)
    }

    /// Announces the Fast extension (BEP 6).
    pub fn supports_fast(&self) -> bool {
        self.features().fast
    }

    /// Announces the extension protocol (BEP 10).
    pub fn supports_extension_protocol(&self) -> bool {
        self.features().extension_protocol
    }

    /// The 68 bytes.
    pub fn to_bytes(&self) -> [u8; HANDSHAKE_LEN] {
        let mut out = [0u8; HANDSHAKE_LEN];
        out[0] = PROTOCOL.len() as u8;
        out[1..20].copy_from_slice(PROTOCOL);
        out[20..28].copy_from_slice(&self.reserved);
        out[28..48].copy_from_slice(&self.info_hash.0);
        out[48..68].copy_from_slice(&self.peer_id);
        out
    }

    /// Appends the 68 bytes to `dst`.
    pub fn encode(&self, dst: &mut BytesMut) {
        dst.put_slice(&self.to_bytes());
    }

    /// Reads a handshake from the front of `buf`, returning it with the bytes it took (68).
    /// `Ok(None)`: more bytes are needed; a wrong protocol is reported as soon as its first
    /// differing byte is in. Bytes after the 68th (the first messages) are left alone.
    pub fn decode(buf: &[u8]) -> Result<Option<(Handshake, usize)>, WireError> {
        let Some(start) = HandshakeStart::decode(buf)? else {
            return Ok(None);
        };
        if buf.len() < HANDSHAKE_LEN {
            return Ok(None);
        }
        let handshake = Handshake {
            info_hash: start.info_hash,
            peer_id: array(buf, HANDSHAKE_START_LEN),
            reserved: start.reserved,
        };
        Ok(Some((handshake, HANDSHAKE_LEN)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::ErrorKind;
    use proptest::prelude::*;

    fn sample() -> Handshake {
        Handshake::new(InfoHash([0xab; 20]), *b"-SW0001-abcdefghijkl")
    }

    #[test]
    fn layout_and_our_feature_bits() {
        let bytes = sample().to_bytes();
        assert_eq!(bytes[0], 19);
        assert_eq!(&bytes[1..20], b"BitTorrent protocol");
        assert_eq!(&bytes[20..28], &[0, 0, 0, 0, 0, 0x10, 0, 0x04]);
        assert_eq!(&bytes[28..48], &[0xab; 20]);
        assert_eq!(&bytes[48..], b"-SW0001-abcdefghijkl");
        assert!(sample().supports_fast() && sample().supports_extension_protocol());
    }

    #[test]
    fn feature_bits_are_independent_and_intersect() {
        let only_fast = Features {
            fast: true,
            extension_protocol: false,
        };
        assert_eq!(only_fast.to_reserved(), [0, 0, 0, 0, 0, 0, 0, 0x04]);
        assert_eq!(Features::from_reserved(&[0xff; 8]), Features::OURS);
        assert_eq!(Features::from_reserved(&[0; 8]), Features::default());
        assert_eq!(Features::OURS.both(only_fast), only_fast);
    }

    #[test]
    fn start_is_readable_before_the_peer_id() {
        let bytes = sample().to_bytes();
        assert_eq!(HandshakeStart::decode(&bytes[..47]), Ok(None));
        let start = HandshakeStart::decode(&bytes[..48]).unwrap().unwrap();
        assert_eq!(start.info_hash, InfoHash([0xab; 20]));
        assert!(start.features().fast);
        assert_eq!(Handshake::decode(&bytes[..48]), Ok(None));
    }

    #[test]
    fn leaves_trailing_bytes() {
        let mut bytes = sample().to_bytes().to_vec();
        bytes.extend_from_slice(&[0, 0, 0, 1, 2]);
        assert_eq!(Handshake::decode(&bytes), Ok(Some((sample(), 68))));
    }

    #[test]
    fn wrong_protocol_is_malformed_early() {
        let err = Handshake::decode(&[18]).unwrap_err();
        assert_eq!(err, Malformed::BadProtocolLength { pstrlen: 18 }.into());
        assert_eq!(err.kind(), ErrorKind::Malformed);
        assert_eq!(Handshake::decode(b"\x13BitTorrent pro").map(|_| ()), Ok(()));
        assert_eq!(
            Handshake::decode(b"\x13BitTorrent Pro").unwrap_err(),
            Malformed::BadProtocolString { offset: 12 }.into()
        );
        assert_eq!(Handshake::decode(b""), Ok(None));
    }

    proptest! {
        #[test]
        fn round_trips_and_every_prefix_is_incomplete(
            hash in any::<[u8; 20]>(), peer_id in any::<[u8; 20]>(), reserved in any::<[u8; 8]>()
        ) {
            let handshake = Handshake { info_hash: InfoHash(hash), peer_id, reserved };
            let bytes = handshake.to_bytes();
            prop_assert_eq!(Handshake::decode(&bytes), Ok(Some((handshake, 68))));
            for cut in 0..HANDSHAKE_LEN {
                prop_assert_eq!(Handshake::decode(&bytes[..cut]), Ok(None));
            }
            let mut dst = BytesMut::new();
            handshake.encode(&mut dst);
            prop_assert_eq!(&dst[..], &bytes[..]);
        }
    }
}
