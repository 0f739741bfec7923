//! Properties across the codec: every message round-trips, and a stream cut anywhere
//! decodes to the same messages.

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;

use super::{Decoder, Message};

fn arb_bytes(max: usize) -> impl Strategy<Value = Bytes> {
    proptest::collection::vec(any::<u8>(), 0..max).prop_map(Bytes::from)
}

fn arb_message() -> impl Strategy<Value = Message> {
    let triple = (any::<u32>(), any::<u32>(), any::<u32>());
    prop_oneof![
        Just(Message::KeepAlive),
        Just(Message::Choke),
        Just(Message::Unchoke),
        Just(Message::Interested),
        Just(Message::NotInterested),
        any::<u32>().prop_map(|piece| Message::Have { piece }),
        arb_bytes(40).prop_map(Message::Bitfield),
        triple.prop_map(|(index, begin, length)| Message::Request {
            index,
            begin,
            length
        }),
        (any::<u32>(), any::<u32>(), arb_bytes(64))
            .prop_map(|(index, begin, data)| Message::Piece { index, begin, data }),
        triple.prop_map(|(index, begin, length)| Message::Cancel {
            index,
            begin,
            length
        }),
        any::<u16>().prop_map(Message::Port),
        any::<u32>().prop_map(|piece| Message::Suggest { piece }),
        Just(Message::HaveAll),
        Just(Message::HaveNone),
        triple.prop_map(|(index, begin, length)| Message::Reject {
            index,
            begin,
            length
        }),
        any::<u32>().prop_map(|piece| Message::AllowedFast { piece }),
        (any::<u8>(), arb_bytes(40)).prop_map(|(id, payload)| Message::Extended { id, payload }),
    ]
}

fn encode_all(messages: &[Message]) -> Vec<u8> {
    let mut buf = BytesMut::new();
    for message in messages {
        message.encode(&mut buf);
    }
    buf.to_vec()
}

/// Feeds `bytes` in the given chunks, decoding everything available after each one.
fn decode_in_chunks(bytes: &[u8], cuts: &[usize]) -> Vec<Message> {
    let mut decoder = Decoder::new(1000);
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    let mut from = 0;
    for &to in cuts.iter().chain(std::iter::once(&bytes.len())) {
        buf.extend_from_slice(&bytes[from..to]);
        from = to;
        while let Some(message) = decoder.decode(&mut buf).expect("valid stream") {
            out.push(message);
        }
    }
    assert!(buf.is_empty(), "{} bytes left over", buf.len());
    out
}

proptest! {
    #[test]
    fn every_message_round_trips(message in arb_message()) {
        let bytes = encode_all(std::slice::from_ref(&message));
        prop_assert_eq!(bytes.len(), message.wire_len());
        let decoder = Decoder::new(1000);
        prop_assert_eq!(decoder.decode_frame(&bytes), Ok(Some((message.clone(), bytes.len()))));
        for cut in 0..bytes.len() {
            prop_assert_eq!(decoder.decode_frame(&bytes[..cut]), Ok(None));
        }
        let mut buf = BytesMut::from(&bytes[..]);
        prop_assert_eq!(Decoder::new(1000).decode(&mut buf), Ok(Some(message)));
        prop_assert!(buf.is_empty());
    }

    #[test]
    fn a_stream_cut_at_any_point_decodes_the_same(
        messages in proptest::collection::vec(arb_message(), 0..8)
    ) {
        let bytes = encode_all(&messages);
        for cut in 0..=bytes.len() {
            prop_assert_eq!(&decode_in_chunks(&bytes, &[cut]), &messages);
        }
    }

    #[test]
    fn a_stream_fed_in_random_chunks_decodes_the_same(
        messages in proptest::collection::vec(arb_message(), 0..12),
        mut cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..20),
    ) {
        let bytes = encode_all(&messages);
        let mut cuts: Vec<usize> = cuts.drain(..).map(|i| i.index(bytes.len() + 1)).collect();
        cuts.sort_unstable();
        prop_assert_eq!(&decode_in_chunks(&bytes, &cuts), &messages);
    }

    #[test]
    fn slice_and_buffer_decoders_agree_on_any_bytes(
        bytes in proptest::collection::vec(any::<u8>(), 0..64), cap in 0u32..40
    ) {
        let decoder = Decoder::with_max_message_len(cap);
        let from_slice = decoder.decode_frame(&bytes);
        let mut buf = BytesMut::from(&bytes[..]);
        let from_buffer = decoder.clone().decode(&mut buf);
        match (&from_slice, &from_buffer) {
            (Ok(Some((a, used))), Ok(Some(b))) => {
                prop_assert_eq!(a, b);
                prop_assert_eq!(*used, a.wire_len());
                prop_assert_eq!(buf.len(), bytes.len() - used);
            }
            (Ok(None), Ok(None)) | (Err(_), Err(_)) => {
                prop_assert_eq!(from_slice.clone().map(|_| ()), from_buffer.clone().map(|_| ()));
                prop_assert_eq!(buf.len(), bytes.len());
            }
            _ => prop_assert!(false, "{from_slice:?} vs {from_buffer:?}"),
        }
    }
}
