//! The host's listener: accepts on one port, reads the initiator's 68-byte handshake and
//! hands the connection to the node actor of that info-hash (through the supervisor's
//! routing table). A connection for an unknown torrent, with a broken handshake or silent
//! for [`INBOUND_HANDSHAKE_TIMEOUT`] is closed without a byte sent.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use swarm_engine::wire::{Handshake, HANDSHAKE_LEN};
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

use crate::host::Route;

/// How long an accepted connection may take to send its handshake.
pub const INBOUND_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Accepted connections whose handshake is still awaited, at most; more wait in the
/// kernel's backlog.
pub const MAX_PENDING_HANDSHAKES: usize = 256;
/// Pause after a failed accept (out of file descriptors, say) before trying again.
const ACCEPT_RETRY: Duration = Duration::from_millis(100);

/// Accepts until the host stops; each connection's handshake is read in its own task.
pub(crate) async fn accept_loop(listener: TcpListener, routes: Recipient<Route>) {
    let pending = Arc::new(Semaphore::new(MAX_PENDING_HANDSHAKES));
    loop {
        let Ok(permit) = Arc::clone(&pending).acquire_owned().await else {
            return;
        };
        match listener.accept().await {
            Ok((stream, addr)) => {
                let routes = routes.clone();
                tokio::spawn(async move {
                    if let Some(route) = read_handshake(stream, addr).await {
                        let _ = routes.try_send(route);
                    }
                    drop(permit);
                });
            }
            Err(error) => {
                tracing::warn!(%error, "accept failed");
                tokio::time::sleep(ACCEPT_RETRY).await;
            }
        }
    }
}

/// Reads exactly the handshake (the first messages stay in the socket for the reader).
async fn read_handshake(mut stream: TcpStream, addr: SocketAddr) -> Option<Route> {
    let mut bytes = [0u8; HANDSHAKE_LEN];
    let read = tokio::time::timeout(INBOUND_HANDSHAKE_TIMEOUT, stream.read_exact(&mut bytes));
    match read.await {
        Ok(Ok(_)) => {}
        Ok(Err(error)) => {
            tracing::debug!(%addr, %error, "no handshake");
            return None;
        }
        Err(_) => {
            tracing::debug!(%addr, "handshake timed out");
            return None;
        }
    }
    let handshake = match Handshake::decode(&bytes) {
        Ok(Some((handshake, _))) => handshake,
        Ok(None) => return None,
        Err(error) => {
            tracing::debug!(%addr, %error, "bad handshake");
            return None;
        }
    };
    let stream = stream.into_std().ok()?;
    Some(Route {
        stream,
        addr,
        handshake,
    })
}
