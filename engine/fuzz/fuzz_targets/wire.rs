//! The wire codec over arbitrary bytes: the handshake, the slice decoder and the buffer
//! decoder never panic, agree with each other, and what they decode re-encodes to the
//! same bytes.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use swarm_engine::wire::{Decoder, ExtendedHandshake, Handshake, HandshakeStart, Message};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, data)) = data.split_first() else {
        return;
    };

    // A stream that opens with a handshake goes on with messages after it.
    let mut data = data;
    if let Ok(Some((handshake, used))) = Handshake::decode(data) {
        assert_eq!(&handshake.to_bytes()[..], &data[..used]);
        assert!(HandshakeStart::decode(data).is_ok());
        data = &data[used..];
    }

    // The first byte picks a cap, so small caps (and MessageTooLarge) get exercised too.
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
                    if let Ok(handshake) = ExtendedHandshake::from_payload(payload) {
                        let round = ExtendedHandshake::from_payload(&handshake.to_payload());
                        assert_eq!(round.as_ref(), Ok(&handshake));
                    }
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
});
