//! Checks for the engine's parsers: bencode, torrent files, the handshake, peer wire
//! messages and the extension handshake (BEP 10).

use bytes::BytesMut;
use swarm_engine::bencode as scanner;
use swarm_engine::metainfo::Metainfo;
use swarm_engine::wire::{Decoder, ExtendedHandshake, Handshake, HandshakeStart, Message};

/// The bounded bencode scanner never panics and agrees with itself.
pub fn bencode(data: &[u8]) {
    let valid = scanner::validate(data);
    let ranges = scanner::top_level_ranges(data, [b"info", b"announce"]);
    if let Ok([info, announce]) = ranges {
        // A dictionary accepted by the key scan is one well-formed value.
        assert!(
            valid.is_ok(),
            "top_level_ranges accepted what validate refused"
        );
        for range in [info, announce].into_iter().flatten() {
            assert!(range.end <= data.len());
            assert!(
                scanner::validate(&data[range]).is_ok(),
                "a value range is not one value"
            );
        }
    }
}

/// Torrent file parsing never panics; what it accepts is internally consistent.
pub fn metainfo(data: &[u8]) {
    if let Ok(meta) = Metainfo::from_bytes(data) {
        let geometry = meta.geometry;
        assert_eq!(
            meta.piece_hashes.len() as u64,
            u64::from(geometry.piece_count())
        );
        let total: u64 = meta.files.iter().map(|f| f.length).sum();
        assert_eq!(total, geometry.total_length());
        let _ = meta.trackers();
    }
}

/// The 68-byte handshake and its 48-byte start: never panic, agree with each other, and an
/// accepted handshake re-encodes to the same bytes.
pub fn handshake(data: &[u8]) {
    let full = Handshake::decode(data);
    let start = HandshakeStart::decode(data);
    match &full {
        Ok(Some((handshake, used))) => {
            assert_eq!(&handshake.to_bytes()[..], &data[..*used]);
            let start = start.expect("a full handshake has a valid start");
            let start = start.expect("a full handshake has a complete start");
            assert_eq!(start.info_hash, handshake.info_hash);
            assert_eq!(start.reserved, handshake.reserved);
        }
        Ok(None) => assert!(
            start.is_ok(),
            "start refused a prefix the full decoder waits on"
        ),
        Err(_) => {}
    }
}

/// The extension handshake payload (a bencoded dictionary): never panics, and what it
/// accepts survives a round trip through our encoder.
pub fn extension(data: &[u8]) {
    if let Ok(handshake) = ExtendedHandshake::from_payload(data) {
        let round = ExtendedHandshake::from_payload(&handshake.to_payload());
        assert_eq!(round.as_ref(), Ok(&handshake));
    }
}

/// A stream of wire messages, optionally after a handshake: the slice decoder and the
/// buffer decoder never panic, agree with each other, and what they decode re-encodes to
/// the same bytes. The first byte picks the decoder's size cap, so small caps (and
/// `MessageTooLarge`) are exercised too.
pub fn wire(data: &[u8]) {
    let Some((&selector, data)) = data.split_first() else {
        return;
    };
    let mut data = data;
    if let Ok(Some((_, used))) = Handshake::decode(data) {
        data = &data[used..];
    }
    let mut decoder = match selector % 4 {
        0 => Decoder::new(u32::from(selector) * 997),
        1 => Decoder::with_max_message_len(u32::from(selector)),
        _ => Decoder::new(1_000),
    };
    let mut buf = BytesMut::from(data);
    let mut at = 0;
    loop {
        let from_slice = decoder.decode_frame(&data[at..]);
        let before = buf.len();
        let from_buffer = decoder.decode(&mut buf);
        match (from_slice, from_buffer) {
            (Ok(Some((a, used))), Ok(Some(b))) => {
                assert_eq!(a, b);
                assert_eq!(used, before - buf.len());
                assert_eq!(used, a.wire_len());
                let mut again = BytesMut::new();
                a.encode(&mut again);
                assert_eq!(&again[..], &data[at..at + used], "re-encoding differs");
                if let Message::Extended { id: 0, payload } = &a {
                    extension(payload);
                }
                at += used;
            }
            (Ok(None), Ok(None)) | (Err(_), Err(_)) => {
                assert_eq!(buf.len(), before, "buffer changed without a message");
                break;
            }
            (a, b) => panic!("decoders disagree: {a:?} vs {b:?}"),
        }
    }
}
