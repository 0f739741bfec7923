//! One task pair per TCP stream (mini-redis's `Connection`): a reader that turns bytes into
//! frames for the node, and a writer that drains the node's frames onto the socket.
//!
//! The reader decodes the 68-byte handshake, then messages with the engine's [`Decoder`]
//! (its cap bounds every frame); it waits for room in the node's bounded input queue before
//! reading more, so a slow node slows its peers down through TCP. The writer encodes small
//! messages into one buffer and hands piece payloads to the kernel as they are, with
//! vectored writes: block data is never copied. It counts the bytes it still holds, which
//! the node uses to stop reading blocks for a peer that does not keep up.

use std::io::IoSlice;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::{Buf, Bytes, BytesMut};
use swarm_engine::node::io::{ConnId, Frame, Input};
use swarm_engine::wire::{encode_piece_header, Decoder, Handshake, Message};
use tokio::io::{AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

use crate::disk::WriteGate;
use crate::event::Event;

/// Read buffer growth step.
const READ_CHUNK_BYTES: usize = 256 * 1024;
/// Slices handed to one `writev`.
const MAX_IOVECS: usize = 64;

/// What the node keeps of a connection: its frame queue and the bytes queued in it.
#[derive(Debug)]
pub(crate) struct ConnHandle {
    pub(crate) frames: mpsc::UnboundedSender<Frame>,
    pub(crate) queued_bytes: Arc<AtomicUsize>,
    pub(crate) reader: tokio::task::AbortHandle,
}

/// Splits `stream` into a reader and a writer task; returns the handle the node keeps.
/// `handshake_read`: the listener already read the remote's handshake (the reader starts
/// with messages).
pub(crate) fn spawn(
    conn: ConnId,
    stream: TcpStream,
    handshake_read: bool,
    piece_count: u32,
    events: mpsc::Sender<Event>,
    low_water_bytes: usize,
    gate: Arc<WriteGate>,
) -> ConnHandle {
    let _ = stream.set_nodelay(true);
    let (read, write) = stream.into_split();
    let (tx, rx) = mpsc::unbounded_channel();
    let queued_bytes = Arc::new(AtomicUsize::new(0));
    let reader = tokio::spawn(read_loop(
        conn,
        read,
        handshake_read,
        piece_count,
        events.clone(),
        gate,
    ))
    .abort_handle();
    tokio::spawn(write_loop(
        conn,
        write,
        rx,
        Arc::clone(&queued_bytes),
        events,
        low_water_bytes,
    ));
    ConnHandle {
        frames: tx,
        queued_bytes,
        reader,
    }
}

async fn read_loop(
    conn: ConnId,
    mut read: OwnedReadHalf,
    handshake_read: bool,
    piece_count: u32,
    events: mpsc::Sender<Event>,
    gate: Arc<WriteGate>,
) {
    let mut buf = BytesMut::with_capacity(READ_CHUNK_BYTES);
    let mut decoder = Decoder::new(piece_count);
    let mut handshake_done = handshake_read;
    let mut batch = Vec::new();
    let error = loop {
        // Decode everything buffered, then hand it to the node in one event.
        let mut failure = None;
        loop {
            let decoded = if handshake_done {
                decoder.decode(&mut buf).map(|m| m.map(Frame::Message))
            } else {
                match Handshake::decode(&buf) {
                    Ok(Some((handshake, used))) => {
                        buf.advance(used);
                        handshake_done = true;
                        Ok(Some(Frame::Handshake(handshake)))
                    }
                    Ok(None) => Ok(None),
                    Err(e) => Err(e),
                }
            };
            match decoded {
                Ok(Some(frame)) => batch.push(Input::Frame { conn, frame }),
                Ok(None) => break,
                Err(error) => {
                    failure = Some(Input::WireError { conn, error });
                    break;
                }
            }
        }
        if !batch.is_empty()
            && events
                .send(Event::Inputs(std::mem::take(&mut batch)))
                .await
                .is_err()
        {
            return;
        }
        if let Some(input) = failure {
            let _ = events.send(Event::Input(input)).await;
            return;
        }
        gate.wait_for_room().await;
        if buf.capacity() - buf.len() < READ_CHUNK_BYTES / 4 {
            buf.reserve(READ_CHUNK_BYTES);
        }
        match read.read_buf(&mut buf).await {
            Ok(0) => break None,
            Ok(_) => {}
            Err(e) => break Some(e),
        }
    };
    if let Some(error) = error {
        tracing::debug!(conn = conn.0, %error, "read failed");
    }
    let _ = events.send(Event::Closed(conn)).await;
}

async fn write_loop(
    conn: ConnId,
    mut write: OwnedWriteHalf,
    mut frames: mpsc::UnboundedReceiver<Frame>,
    queued_bytes: Arc<AtomicUsize>,
    events: mpsc::Sender<Event>,
    low_water_bytes: usize,
) {
    let mut chunks: Vec<Bytes> = Vec::new();
    let mut small = BytesMut::new();
    while let Some(frame) = frames.recv().await {
        let mut batch_bytes = 0usize;
        let mut next = Some(frame);
        while let Some(frame) = next.take() {
            batch_bytes += frame.wire_len();
            encode(frame, &mut small, &mut chunks);
            if chunks.len() < MAX_IOVECS * 4 {
                next = frames.try_recv().ok();
            }
        }
        if !small.is_empty() {
            chunks.push(small.split().freeze());
        }
        if let Err(error) = write_all_chunks(&mut write, &mut chunks).await {
            tracing::debug!(conn = conn.0, %error, "write failed");
            break;
        }
        let before = queued_bytes.fetch_sub(batch_bytes, Ordering::AcqRel);
        let after = before.saturating_sub(batch_bytes);
        if before >= low_water_bytes && after < low_water_bytes {
            let _ = events.try_send(Event::Drained(conn));
        }
    }
    let _ = write.shutdown().await;
}

/// Appends `frame`'s bytes to the chunk list: small frames go into `small`, piece payloads
/// become their own chunk after their 13-byte header.
fn encode(frame: Frame, small: &mut BytesMut, chunks: &mut Vec<Bytes>) {
    match frame {
        Frame::Handshake(handshake) => handshake.encode(small),
        Frame::Message(Message::Piece { index, begin, data }) => {
            encode_piece_header(index, begin, data.len(), small);
            chunks.push(small.split().freeze());
            chunks.push(data);
        }
        Frame::Message(message) => message.encode(small),
    }
}

async fn write_all_chunks<W: AsyncWrite + Unpin>(
    write: &mut W,
    chunks: &mut Vec<Bytes>,
) -> std::io::Result<()> {
    let mut start = 0;
    while start < chunks.len() {
        let n = {
            let slices: Vec<IoSlice<'_>> = chunks[start..]
                .iter()
                .take(MAX_IOVECS)
                .map(|c| IoSlice::new(c))
                .collect();
            write.write_vectored(&slices).await?
        };
        if n == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        let mut left = n;
        while left > 0 {
            let chunk = &mut chunks[start];
            if chunk.len() <= left {
                left -= chunk.len();
                start += 1;
            } else {
                chunk.advance(left);
                left = 0;
            }
        }
        while start < chunks.len() && chunks[start].is_empty() {
            start += 1;
        }
    }
    chunks.clear();
    Ok(())
}
