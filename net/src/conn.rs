//! One task pair per TCP stream (mini-redis's `Connection`): a reader that turns bytes into
//! frames for the node, and a writer that drains the node's frames onto the socket.
//!
//! The reader decodes the 68-byte handshake, then messages with the engine's [`Decoder`]
//! (its cap bounds every frame); it waits for room in the node's bounded input queue before
//! reading more, so a slow node slows its peers down through TCP. The writer encodes small
//! messages into one buffer and hands piece payloads to the kernel as they are, with
//! vectored writes: block data is never copied. Control messages pass the blocks queued
//! before them (two lanes), and the kernel holds little unsent data (`TCP_NOTSENT_LOWAT`),
//! so a request or a `have` waits for at most a burst of blocks, not for the whole queue. It counts the bytes it still holds, which
//! the node uses to stop reading blocks for a peer that does not keep up; a peer that does
//! not read at all cannot grow that queue past [`MAX_WRITER_QUEUE_BYTES`] or
//! [`MAX_WRITER_QUEUE_FRAMES`]: the frame beyond either closes the connection.

use std::collections::VecDeque;
use std::io::IoSlice;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::{Buf, Bytes, BytesMut};
use swarm_engine::node::io::{ConnId, Frame, Input};
use swarm_engine::wire::{encode_piece_header, Decoder, Handshake, Message};
use tokio::io::{AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, Notify};

use crate::disk::WriteGate;
use crate::event::Event;

/// Read buffer growth step.
const READ_CHUNK_BYTES: usize = 256 * 1024;
/// Slices handed to one `writev`.
const MAX_IOVECS: usize = 64;
/// Block payload bytes a writer hands the kernel between two looks at its control lane.
const BLOCK_BURST_BYTES: usize = 256 * 1024;
/// Unsent bytes the kernel may hold for a socket (`TCP_NOTSENT_LOWAT`). Blocks beyond it
/// wait in the writer, where control messages can still pass them. The node adds what the
/// kernel holds to the writers' queues when it asks whether its uplink runs low
/// (`node::kernel_backlog`).
const KERNEL_UNSENT_BYTES: u32 = 128 * 1024;
/// Wire bytes a writer may hold; a frame queued beyond it closes the connection. Above the
/// runner's high-water mark (block reads stop there) plus the reads in flight, so only a
/// peer that stopped reading crosses it.
pub(crate) const MAX_WRITER_QUEUE_BYTES: usize = 16 << 20;
/// Frames a writer may hold; one more closes the connection. Small frames cost more memory
/// than their wire bytes (about 100 B each queued), so they are counted too.
pub(crate) const MAX_WRITER_QUEUE_FRAMES: usize = 64 * 1024;

/// What the node keeps of a connection: its frame queue and the bytes queued in it.
#[derive(Debug)]
pub(crate) struct ConnHandle {
    pub(crate) frames: FrameSender,
    pub(crate) queued_bytes: Arc<AtomicUsize>,
    pub(crate) reader: tokio::task::AbortHandle,
    /// The socket's descriptor, to ask the kernel what it still holds.
    pub(crate) socket: std::os::fd::RawFd,
    /// A block went to this socket since the node last asked the kernel about it, or the
    /// kernel held some of its bytes then: it is asked next time.
    pub(crate) kernel_may_hold: bool,
}

/// The writer's queue was over a limit: the frame was dropped and the connection closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("writer queue over its limit; connection closing")]
pub(crate) struct Overflow;

/// The sending end of a writer's queue, bounded in bytes and frames.
#[derive(Debug)]
pub(crate) struct FrameSender {
    tx: mpsc::UnboundedSender<Frame>,
    /// Counted by the caller before [`FrameSender::send`] (the runner reads it too).
    queued_bytes: Arc<AtomicUsize>,
    queued_frames: Arc<AtomicUsize>,
    overflow: Arc<Notify>,
}

impl FrameSender {
    /// Queues `frame`, whose bytes the caller already added to the queued bytes; over a
    /// limit, drops it and has the writer close the connection.
    pub(crate) fn send(&self, frame: Frame) -> Result<(), Overflow> {
        let frames = self.queued_frames.fetch_add(1, Ordering::AcqRel) + 1;
        let bytes = self.queued_bytes.load(Ordering::Acquire);
        if bytes > MAX_WRITER_QUEUE_BYTES || frames > MAX_WRITER_QUEUE_FRAMES {
            self.overflow.notify_one();
            return Err(Overflow);
        }
        self.tx.send(frame).map_err(|_| Overflow)
    }
}

/// What a connection's tasks share with their node.
#[derive(Debug)]
pub(crate) struct NodeLinks {
    pub(crate) piece_count: u32,
    /// Where the reader and the writer report.
    pub(crate) events: mpsc::Sender<Event>,
    /// The writer tells the node it drained under this many queued bytes.
    pub(crate) low_water_bytes: usize,
    pub(crate) gate: Arc<WriteGate>,
    /// Set while the node waits to hear that its uplink runs low.
    pub(crate) uplink_watch: Arc<AtomicBool>,
}

/// Splits `stream` into a reader and a writer task; returns the handle the node keeps.
/// `handshake_read`: the listener already read the remote's handshake (the reader starts
/// with messages).
pub(crate) fn spawn(
    conn: ConnId,
    stream: TcpStream,
    handshake_read: bool,
    links: NodeLinks,
) -> ConnHandle {
    let NodeLinks {
        piece_count,
        events,
        low_water_bytes,
        gate,
        uplink_watch,
    } = links;
    let _ = stream.set_nodelay(true);
    let socket = std::os::fd::AsRawFd::as_raw_fd(&stream);
    let _ = socket2::SockRef::from(&stream).set_tcp_notsent_lowat(KERNEL_UNSENT_BYTES);
    let (read, write) = stream.into_split();
    let (tx, rx) = mpsc::unbounded_channel();
    let queued_bytes = Arc::new(AtomicUsize::new(0));
    let queued_frames = Arc::new(AtomicUsize::new(0));
    let overflow = Arc::new(Notify::new());
    let reader_task = tokio::spawn(read_loop(
        conn,
        read,
        handshake_read,
        piece_count,
        events.clone(),
        gate,
    ));
    let writer = Writer {
        conn,
        queued_bytes: Arc::clone(&queued_bytes),
        queued_frames: Arc::clone(&queued_frames),
        events,
        low_water_bytes,
        uplink_watch,
    };
    let (overflowed, reader) = (Arc::clone(&overflow), reader_task.abort_handle());
    tokio::spawn(async move {
        tokio::select! {
            () = writer.run(write, rx) => {}
            () = overflowed.notified() => {
                tracing::debug!(conn = conn.0, "writer queue over its limit: closing");
                reader.abort();
                let _ = writer.events.send(Event::Closed(conn)).await;
            }
        }
    });
    let frames = FrameSender {
        tx,
        queued_bytes: Arc::clone(&queued_bytes),
        queued_frames,
        overflow,
    };
    ConnHandle {
        frames,
        queued_bytes,
        reader: reader_task.abort_handle(),
        socket,
        kernel_may_hold: false,
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

/// The writer task's state.
struct Writer {
    conn: ConnId,
    queued_bytes: Arc<AtomicUsize>,
    queued_frames: Arc<AtomicUsize>,
    events: mpsc::Sender<Event>,
    low_water_bytes: usize,
    /// Set while the node waits to hear that its uplink runs low: an emptied queue says so.
    uplink_watch: Arc<AtomicBool>,
}

impl Writer {
    async fn run(&self, mut write: OwnedWriteHalf, frames: mpsc::UnboundedReceiver<Frame>) {
        self.write_frames(&mut write, frames).await;
        let _ = write.shutdown().await;
    }

    async fn write_frames(
        &self,
        write: &mut OwnedWriteHalf,
        mut frames: mpsc::UnboundedReceiver<Frame>,
    ) {
        let (conn, queued_bytes) = (self.conn, &self.queued_bytes);
        let (events, low_water_bytes) = (&self.events, self.low_water_bytes);
        let mut lanes = Lanes::default();
        let mut chunks: Vec<Bytes> = Vec::new();
        let mut small = BytesMut::new();
        loop {
            if lanes.is_empty() {
                match frames.recv().await {
                    Some(frame) => lanes.push(frame),
                    None => break,
                }
            }
            while let Ok(frame) = frames.try_recv() {
                lanes.push(frame);
            }
            let (batch_bytes, batch_frames) = lanes.next_batch(&mut small, &mut chunks);
            if let Err(error) = write_all_chunks(write, &mut chunks).await {
                tracing::debug!(conn = conn.0, %error, "write failed");
                break;
            }
            self.queued_frames.fetch_sub(batch_frames, Ordering::AcqRel);
            let before = queued_bytes.fetch_sub(batch_bytes, Ordering::AcqRel);
            let after = before.saturating_sub(batch_bytes);
            let emptied = after == 0 && self.uplink_watch.load(Ordering::Acquire);
            if (before >= low_water_bytes && after < low_water_bytes) || emptied {
                let _ = events.try_send(Event::Drained(conn));
            }
        }
    }
}

/// A writer's frames in two lanes: control messages (handshake, have, request, choke, ...)
/// pass the block payloads queued before them, so a peer's requests and announcements are
/// not stuck behind megabytes of blocks. Each lane keeps its own order.
#[derive(Default)]
struct Lanes {
    control: VecDeque<Frame>,
    blocks: VecDeque<Frame>,
}

impl Lanes {
    fn is_empty(&self) -> bool {
        self.control.is_empty() && self.blocks.is_empty()
    }

    fn push(&mut self, frame: Frame) {
        match frame {
            Frame::Message(Message::Piece { .. }) => self.blocks.push_back(frame),
            other => self.control.push_back(other),
        }
    }

    /// Encodes every control frame, then block frames up to [`BLOCK_BURST_BYTES`], into
    /// `chunks`; returns the wire bytes and frames taken.
    fn next_batch(&mut self, small: &mut BytesMut, chunks: &mut Vec<Bytes>) -> (usize, usize) {
        let (mut bytes, mut count) = (0usize, 0usize);
        let mut take = |frame: Frame, small: &mut BytesMut, chunks: &mut Vec<Bytes>| {
            bytes += frame.wire_len();
            count += 1;
            encode(frame, small, chunks);
        };
        while let Some(frame) = self.control.pop_front() {
            take(frame, small, chunks);
        }
        let mut burst = 0usize;
        while burst < BLOCK_BURST_BYTES {
            let Some(frame) = self.blocks.pop_front() else {
                break;
            };
            burst += frame.wire_len();
            take(frame, small, chunks);
        }
        if !small.is_empty() {
            chunks.push(small.split().freeze());
        }
        (bytes, count)
    }
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn test_links(events: mpsc::Sender<Event>) -> NodeLinks {
        NodeLinks {
            piece_count: 4,
            events,
            low_water_bytes: 1 << 20,
            gate: Arc::new(WriteGate::default()),
            uplink_watch: Arc::new(AtomicBool::new(false)),
        }
    }

    fn piece(index: u32) -> Frame {
        Frame::Message(Message::Piece {
            index,
            begin: 0,
            data: Bytes::from(vec![0u8; 16 * 1024]),
        })
    }

    /// Control frames queued after a megabyte of blocks leave first, in their own order,
    /// and the blocks follow in theirs, a burst at a time.
    #[test]
    fn control_frames_pass_queued_blocks_and_each_lane_keeps_its_order() {
        let mut lanes = Lanes::default();
        for index in 0..64 {
            lanes.push(piece(index));
        }
        lanes.push(Frame::Message(Message::Have { piece: 7 }));
        lanes.push(Frame::Message(Message::Interested));
        let (mut small, mut chunks) = (BytesMut::new(), Vec::new());
        let (bytes, frames) = lanes.next_batch(&mut small, &mut chunks);
        let burst_blocks = BLOCK_BURST_BYTES / (16 * 1024 + 13);
        assert_eq!(frames, 2 + burst_blocks + 1);
        let wire: Vec<u8> = chunks.iter().flat_map(|c| c.iter().copied()).collect();
        assert_eq!(wire.len(), bytes);
        // have (9 bytes), interested (5 bytes), then the first block's header.
        assert_eq!(&wire[..9], &[0, 0, 0, 5, 4, 0, 0, 0, 7]);
        assert_eq!(&wire[9..14], &[0, 0, 0, 1, 2]);
        assert_eq!(&wire[14..18], &(16 * 1024 + 9u32).to_be_bytes());
        assert_eq!(&wire[18..23], &[7, 0, 0, 0, 0]);
        let mut rest = 0;
        while !lanes.is_empty() {
            chunks.clear();
            rest += lanes.next_batch(&mut small, &mut chunks).1;
        }
        assert_eq!(frames + rest, 66);
    }

    /// Regression (issue 15, item 2): the writer's queue was unbounded, so a peer that never
    /// reads grew our memory for as long as we had frames for it. The frame beyond the byte
    /// limit is refused and the connection closes.
    #[tokio::test]
    async fn peer_that_never_reads_is_closed_beyond_the_writer_byte_limit() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        let (events_tx, mut events) = mpsc::channel(16);
        let handle = spawn(ConnId(7), server, false, test_links(events_tx));
        let block = Bytes::from(vec![0u8; 16 * 1024]);
        let mut queued = 0usize;
        let refused = loop {
            let frame = Frame::Message(Message::Piece {
                index: 0,
                begin: 0,
                data: block.clone(),
            });
            let len = frame.wire_len();
            handle.queued_bytes.fetch_add(len, Ordering::AcqRel);
            if handle.frames.send(frame).is_err() {
                break queued;
            }
            queued += len;
            assert!(queued < 4 * MAX_WRITER_QUEUE_BYTES, "never refused");
        };
        assert!(
            refused >= MAX_WRITER_QUEUE_BYTES / 2,
            "refused early: {refused}"
        );
        let closed = tokio::time::timeout(Duration::from_secs(5), async {
            while let Some(event) = events.recv().await {
                if let Event::Closed(ConnId(7)) = event {
                    return true;
                }
            }
            false
        })
        .await
        .unwrap();
        assert!(closed);
        drop(client);
    }

    /// The frame-count limit: small frames (a reject flood) are refused beyond it.
    #[tokio::test]
    async fn small_frames_beyond_the_writer_frame_limit_close_the_connection() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let _client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        let (events_tx, _events) = mpsc::channel(16);
        let handle = spawn(ConnId(8), server, false, test_links(events_tx));
        // Held by the test: the writer never drains them, as with a peer that never reads.
        handle
            .frames
            .queued_frames
            .fetch_add(MAX_WRITER_QUEUE_FRAMES, Ordering::AcqRel);
        let reject = Frame::Message(Message::Reject {
            index: 0,
            begin: 0,
            length: 16 * 1024,
        });
        assert_eq!(handle.frames.send(reject), Err(Overflow));
    }
}
