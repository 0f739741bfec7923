//! The host's listener: accepts on one port, reads the initiator's 68-byte handshake and
//! hands the connection to the node actor of that info-hash (through the supervisor's
//! routing table). A connection for an unknown torrent, with a broken handshake or silent
//! for [`INBOUND_HANDSHAKE_TIMEOUT`] is closed without a byte sent.
//!
//! Silent connections cannot starve the accept loop (slowloris): at most
//! [`MAX_PENDING_HANDSHAKES`] wait for their handshake, at most [`MAX_PENDING_PER_IP`] of
//! them from one address (more are closed at once), and when the pool is full the oldest
//! waiting connection is closed to make room. An honest peer's handshake arrives within a
//! round trip, so it completes long before a flood of newer connections reaches it.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use actix::prelude::*;
use swarm_engine::wire::{Handshake, HANDSHAKE_LEN};
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::AbortHandle;

use crate::host::Route;

/// How long an accepted connection may take to send its handshake.
pub const INBOUND_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Accepted connections whose handshake is still awaited, at most; a new one closes the
/// oldest.
pub const MAX_PENDING_HANDSHAKES: usize = 256;
/// Connections from one address whose handshake is still awaited, at most; more are
/// closed on accept.
pub const MAX_PENDING_PER_IP: usize = 64;
/// Pause after a failed accept (out of file descriptors, say) before trying again.
const ACCEPT_RETRY: Duration = Duration::from_millis(100);

/// The connections whose handshake is awaited, oldest first, and how many per address.
#[derive(Default)]
struct Pending {
    tasks: BTreeMap<u64, (IpAddr, AbortHandle)>,
    per_ip: HashMap<IpAddr, usize>,
    next_id: u64,
}

impl Pending {
    fn insert(&mut self, id: u64, ip: IpAddr, task: AbortHandle) {
        self.tasks.insert(id, (ip, task));
        *self.per_ip.entry(ip).or_default() += 1;
    }

    /// Forgets a connection; `Some` with its task if it was still waiting.
    fn remove(&mut self, id: u64) -> Option<AbortHandle> {
        let (ip, task) = self.tasks.remove(&id)?;
        if let Some(count) = self.per_ip.get_mut(&ip) {
            *count -= 1;
            if *count == 0 {
                self.per_ip.remove(&ip);
            }
        }
        Some(task)
    }

    fn waiting_from(&self, ip: IpAddr) -> usize {
        self.per_ip.get(&ip).copied().unwrap_or(0)
    }

    /// Closes the connection that has waited longest.
    fn evict_oldest(&mut self) {
        let Some(&oldest) = self.tasks.keys().next() else {
            return;
        };
        if let Some(task) = self.remove(oldest) {
            task.abort(); // drops its stream: closed without a byte sent
        }
    }
}

/// Accepts until the host stops; each connection's handshake is read in its own task.
pub(crate) async fn accept_loop(listener: TcpListener, routes: Recipient<Route>) {
    let pending = Arc::new(Mutex::new(Pending::default()));
    loop {
        let (stream, addr) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                tracing::warn!(%error, "accept failed");
                tokio::time::sleep(ACCEPT_RETRY).await;
                continue;
            }
        };
        let mut waiting = pending.lock().unwrap_or_else(PoisonError::into_inner);
        if waiting.waiting_from(addr.ip()) >= MAX_PENDING_PER_IP {
            tracing::debug!(%addr, "too many handshakes awaited from this address");
            continue; // dropping the stream closes it
        }
        if waiting.tasks.len() >= MAX_PENDING_HANDSHAKES {
            waiting.evict_oldest();
        }
        let id = waiting.next_id;
        waiting.next_id += 1;
        let routes = routes.clone();
        let done = Arc::clone(&pending);
        // The task cannot forget itself before it is inserted: that needs this lock.
        let task = tokio::spawn(async move {
            let route = read_handshake(stream, addr).await;
            let still_waiting = done
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .remove(id)
                .is_some();
            if let (Some(route), true) = (route, still_waiting) {
                let _ = routes.try_send(route);
            }
        });
        waiting.insert(id, addr.ip(), task.abort_handle());
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
