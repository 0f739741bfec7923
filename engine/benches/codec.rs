//! Wire codec throughput: piece messages with 16 KiB blocks, and a mixed stream.
//!
//! `cargo bench -p swarm-engine --bench codec -- --warm-up-time 1 --measurement-time 3`
//!
//! Decoding from a `BytesMut` is zero-copy for payloads, so its bytes-per-second figure is
//! mostly the per-frame cost spread over 16 KiB; `decode_frame` (slice input) copies payloads
//! and shows the memcpy-bound figure. Encoding a whole piece message copies the block;
//! `encode_piece_header` is what a runtime that sends the block as a second buffer pays.

use bytes::{Bytes, BytesMut};
use criterion::measurement::WallTime;
use criterion::{
    black_box, criterion_group, criterion_main, BatchSize, BenchmarkGroup, Criterion, Throughput,
};
use swarm_engine::piece::BLOCK_LENGTH;
use swarm_engine::wire::{encode_piece_header, Decoder, Message};

const PIECES_PER_BATCH: u32 = 64;
const PIECE_COUNT: u32 = 1_280; // a 20 GiB image in 16 MiB pieces

fn piece(index: u32, block: u32) -> Message {
    Message::Piece {
        index,
        begin: block * BLOCK_LENGTH,
        data: Bytes::from(vec![(index ^ block) as u8; BLOCK_LENGTH as usize]),
    }
}

type Group<'a> = BenchmarkGroup<'a, WallTime>;

fn encode_into(dst: &mut BytesMut, messages: &[Message]) {
    for message in messages {
        message.encode(dst);
    }
}

fn encode_all(messages: &[Message]) -> Vec<u8> {
    let mut buf = BytesMut::new();
    encode_into(&mut buf, messages);
    buf.to_vec()
}

/// What a downloading peer's socket carries: mostly blocks, with the requests, haves and
/// state messages around them.
fn mixed_stream() -> Vec<Message> {
    let mut messages = vec![Message::Unchoke, Message::Interested];
    for i in 0..PIECES_PER_BATCH {
        messages.push(Message::Request {
            index: i / 4,
            begin: (i % 4) * BLOCK_LENGTH,
            length: BLOCK_LENGTH,
        });
        messages.push(piece(i / 4, i % 4));
        messages.push(Message::Have { piece: i });
        if i % 16 == 0 {
            messages.push(Message::KeepAlive);
            messages.push(Message::Cancel {
                index: i,
                begin: 0,
                length: BLOCK_LENGTH,
            });
        }
    }
    messages
}

fn decode_stream(decoder: &mut Decoder, mut buf: BytesMut) -> usize {
    let mut count = 0;
    while let Some(message) = decoder.decode(&mut buf).expect("valid stream") {
        black_box(&message);
        count += 1;
    }
    count
}

fn decode_slice(decoder: &Decoder, bytes: &[u8]) -> usize {
    let mut at = 0;
    let mut count = 0;
    while let Some((message, used)) = decoder.decode_frame(&bytes[at..]).expect("valid stream") {
        black_box(&message);
        at += used;
        count += 1;
    }
    count
}

/// `decode_bytesmut`: `stream` decoded from a fresh `BytesMut` each round (zero-copy payloads).
fn bench_decode_bytesmut(group: &mut Group, stream: &[u8]) {
    let mut decoder = Decoder::new(PIECE_COUNT);
    group.bench_function("decode_bytesmut", |b| {
        b.iter_batched(
            || BytesMut::from(stream),
            |buf| decode_stream(&mut decoder, buf),
            BatchSize::LargeInput,
        )
    });
}

/// `name`: every one of `messages` encoded into one reused buffer of `capacity` bytes.
fn bench_encode(group: &mut Group, name: &str, messages: &[Message], capacity: usize) {
    let mut dst = BytesMut::with_capacity(capacity);
    group.bench_function(name, |b| {
        b.iter(|| {
            dst.clear();
            encode_into(&mut dst, messages);
            black_box(dst.len())
        })
    });
}

fn bench_pieces(c: &mut Criterion) {
    let pieces: Vec<Message> = (0..PIECES_PER_BATCH).map(|i| piece(i / 4, i % 4)).collect();
    let stream = encode_all(&pieces);
    let mut group = c.benchmark_group("piece_16KiB");
    group.throughput(Throughput::Bytes(stream.len() as u64));

    bench_decode_bytesmut(&mut group, &stream);
    let decoder = Decoder::new(PIECE_COUNT);
    group.bench_function("decode_frame_copying", |b| {
        b.iter(|| decode_slice(&decoder, black_box(&stream)))
    });

    bench_encode(&mut group, "encode_whole", &pieces, stream.len());
    let mut dst = BytesMut::with_capacity(stream.len());
    group.bench_function("encode_header_only", |b| {
        b.iter(|| {
            dst.clear();
            for i in 0..PIECES_PER_BATCH {
                encode_piece_header(
                    i / 4,
                    (i % 4) * BLOCK_LENGTH,
                    BLOCK_LENGTH as usize,
                    &mut dst,
                );
            }
            black_box(dst.len())
        })
    });
    group.finish();
}

fn bench_mixed(c: &mut Criterion) {
    let messages = mixed_stream();
    let stream = encode_all(&messages);
    let mut group = c.benchmark_group("mixed_stream");
    group.throughput(Throughput::Bytes(stream.len() as u64));
    bench_decode_bytesmut(&mut group, &stream);
    bench_encode(&mut group, "encode", &messages, stream.len());
    group.finish();

    let small: Vec<Message> = messages
        .iter()
        .filter(|m| !matches!(m, Message::Piece { .. }))
        .cloned()
        .collect();
    let small_stream = encode_all(&small);
    let mut group = c.benchmark_group("small_messages");
    group.throughput(Throughput::Elements(small.len() as u64));
    let decoder = Decoder::new(PIECE_COUNT);
    group.bench_function("decode_frame", |b| {
        b.iter(|| decode_slice(&decoder, black_box(&small_stream)))
    });
    group.finish();
}

criterion_group!(benches, bench_pieces, bench_mixed);
criterion_main!(benches);
