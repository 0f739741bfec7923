//! The accept loop of every HTTP server in the workspace (the tracker and manager, the
//! `/metrics` of `seed`, `get` and `agent`): HTTP/1.1 connections with a cap and timeouts,
//! so clients that open connections and never finish a request cannot make a server stop
//! answering (issue 15 item 5: 300 partial requests did).
//!
//! - At most [`MAX_CONNECTIONS`] connections are served at once, and never more than the
//!   process's open-file limit less [`FD_RESERVE`] (so `accept` does not run out of file
//!   descriptors first); one more is accepted and closed at once.
//! - A request head must arrive within [`HEADER_READ_TIMEOUT`]. hyper starts that timer
//!   whenever it waits for a head, so it is also the idle keep-alive timeout between two
//!   requests on one connection.
//! - A connection on which no byte moves either way for [`IDLE_TIMEOUT`] is closed (a
//!   body that stalls half-way, a client that stops reading its answer). The live event
//!   stream writes every second, so it never idles.
//!
//! Body sizes are limited per route by the router's owner.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};
use tokio::time::Instant;
use tower_service::Service;

/// Most connections served at once.
pub const MAX_CONNECTIONS: usize = 1024;
/// A request head must be complete this long after the server starts waiting for it.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// A connection with no byte read or written for this long is closed. Long enough for a
/// registration by path to hash a 20 GB image on a slow disk before it answers.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(120);
/// File descriptors kept free for everything else (registry, seeds, uploads) when the
/// cap is derived from the process's open-file limit.
pub const FD_RESERVE: usize = 128;
/// Pause after a failed `accept` (out of file descriptors, say) before trying again.
pub const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);
/// How long shutdown waits for open connections to finish their requests.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// The connection limits one server applies (the constants above by default; tests use
/// smaller ones to cross them quickly).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Most connections served at once.
    pub max_connections: usize,
    /// See [`HEADER_READ_TIMEOUT`].
    pub header_read_timeout: Duration,
    /// See [`IDLE_TIMEOUT`].
    pub idle_timeout: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            max_connections: MAX_CONNECTIONS,
            header_read_timeout: HEADER_READ_TIMEOUT,
            idle_timeout: IDLE_TIMEOUT,
        }
    }
}

/// Serves `router` on `listener` until `shutdown` completes, then lets open connections
/// finish their requests for at most [`SHUTDOWN_GRACE`]. `closing` is sent `true` first
/// (long-lived streams end on it).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send,
) {
    let max_connections = capped_by_fd_limit(limits.max_connections);
    let slots = Arc::new(Semaphore::new(max_connections));
    let (closing_tx, closing_rx) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                    continue;
                }
            },
        };
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            tracing::debug!(%peer, max = max_connections, "connection cap reached");
            drop(stream);
            continue;
        };
        let (router, closing) = (router.clone(), closing_rx.clone());
        tokio::spawn(async move {
            connection(stream, peer, router, limits, closing).await;
            drop(slot);
        });
    }
    drop(listener);
    closing_tx.send_replace(true);
    let all = u32::try_from(max_connections).unwrap_or(u32::MAX);
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, slots.acquire_many(all)).await;
}

/// `max` lowered to the soft open-file limit less [`FD_RESERVE`] (at least 1), as
/// `/proc/self/limits` says; `max` itself where that cannot be read.
fn capped_by_fd_limit(max: usize) -> usize {
    let soft = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|text| {
            let line = text.lines().find(|l| l.starts_with("Max open files"))?;
            line.split_whitespace().nth(3)?.parse::<usize>().ok()
        });
    match soft {
        Some(soft) => max.min(soft.saturating_sub(FD_RESERVE).max(1)),
        None => max,
    }
}

/// Serves one connection until it ends, times out, idles, or the server closes.
async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    limits: ConnectionLimits,
    mut closing: watch::Receiver<bool>,
) {
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(Watched {
        inner: stream,
        activity: Arc::clone(&activity),
    });
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        let mut router = router.clone();
        async move { router.call(request).await }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    let conn = builder.serve_connection(io, service);
    tokio::pin!(conn);
    let mut shutting_down = false;
    loop {
        let idle_deadline = activity.last() + limits.idle_timeout;
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(error) = result {
                    tracing::debug!(%peer, %error, "connection ended");
                }
                return;
            }
            _ = closing.wait_for(|c| *c), if !shutting_down => {
                shutting_down = true;
                conn.as_mut().graceful_shutdown();
            }
            () = tokio::time::sleep_until(idle_deadline) => {
                if activity.last() + limits.idle_timeout <= Instant::now() {
                    tracing::debug!(%peer, "idle connection closed");
                    return;
                }
            }
        }
    }
}

/// When bytes last moved on a connection.
#[derive(Debug)]
struct Activity {
    start: Instant,
    last_ms: AtomicU64,
}

impl Activity {
    fn new() -> Self {
        Activity {
            start: Instant::now(),
            last_ms: AtomicU64::new(0),
        }
    }

    fn touch(&self) {
        let ms = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    fn last(&self) -> Instant {
        self.start + Duration::from_millis(self.last_ms.load(Ordering::Relaxed))
    }
}

/// A stream that records when bytes last moved.
#[derive(Debug)]
struct Watched<S> {
    inner: S,
    activity: Arc<Activity>,
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.touch();
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_stays_under_the_open_file_limit() {
        let capped = capped_by_fd_limit(usize::MAX);
        assert!((1..usize::MAX).contains(&capped), "{capped}");
        assert_eq!(capped_by_fd_limit(3), 3);
    }
}
