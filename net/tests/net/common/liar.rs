//! A hostile test peer on raw TCP, speaking the wire protocol with the engine's codec: it
//! claims every piece, unchokes, and answers every request with bytes that are not the file.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::BytesMut;
use swarm_engine::bitfield::Bitfield;
use swarm_engine::metainfo::Metainfo;
use swarm_engine::wire::{Decoder, Handshake, Message};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};

use super::data;

/// A liar listening on `ip`; counts the blocks it answered.
pub struct Liar {
    pub addr: SocketAddr,
    pub blocks_sent: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Liar {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Liar {
    /// Listens on `ip:0` and serves lies to everyone who dials.
    pub async fn listen(meta: &Metainfo, ip: &str) -> Liar {
        let listener = TcpListener::bind(format!("{ip}:0")).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let blocks_sent = Arc::new(AtomicU64::new(0));
        let (meta, counter) = (meta.clone(), Arc::clone(&blocks_sent));
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve_lies(
                    stream,
                    Side::Listener,
                    meta.clone(),
                    Arc::clone(&counter),
                ));
            }
        });
        Liar {
            addr,
            blocks_sent,
            task,
        }
    }
}

/// Which end of the connection the liar is: the initiator speaks first (BEP 3).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Initiator,
    Listener,
}

/// Dials `target` from `ip` (a new source port each time) and serves lies on it.
pub async fn dial_and_lie(meta: &Metainfo, ip: &str, target: SocketAddr) -> std::io::Result<u64> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(format!("{ip}:0").parse().unwrap())?;
    let stream = socket.connect(target).await?;
    let counter = Arc::new(AtomicU64::new(0));
    serve_lies(stream, Side::Initiator, meta.clone(), Arc::clone(&counter)).await;
    Ok(counter.load(Ordering::Relaxed))
}

/// Handshake (first when it dialled, else after reading the remote's), all pieces,
/// unchoke; every request gets junk. Returns when the remote closes.
async fn serve_lies(
    mut stream: TcpStream,
    side: Side,
    meta: Metainfo,
    blocks_sent: Arc<AtomicU64>,
) {
    let mut buf = BytesMut::with_capacity(64 * 1024);
    let mut out = BytesMut::new();
    Handshake::new(meta.info_hash, *b"-LIAR00-000000000000").encode(&mut out);
    if side == Side::Initiator && stream.write_all(&out.split()).await.is_err() {
        return;
    }
    loop {
        if let Ok(Some(_)) = Handshake::decode(&buf) {
            break;
        }
        match stream.read_buf(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    }
    let _ = buf.split_to(swarm_engine::wire::HANDSHAKE_LEN);
    Message::bitfield(&Bitfield::full(meta.geometry.piece_count())).encode(&mut out);
    Message::Unchoke.encode(&mut out);
    if stream.write_all(&out).await.is_err() {
        return;
    }
    let mut decoder = Decoder::new(meta.geometry.piece_count());
    loop {
        while let Ok(Some(message)) = decoder.decode(&mut buf) {
            if let Message::Request {
                index,
                begin,
                length,
            } = message
            {
                let n = blocks_sent.fetch_add(1, Ordering::Relaxed);
                let junk = data(length as usize, 0x11AA ^ n);
                let piece = Message::Piece {
                    index,
                    begin,
                    data: junk.into(),
                };
                out.clear();
                piece.encode(&mut out);
                if stream.write_all(&out).await.is_err() {
                    return;
                }
            }
        }
        match stream.read_buf(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    }
}
