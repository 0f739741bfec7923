//! `GET /metrics` on an address of its own (`--metrics ADDR`), served by the capped,
//! timed-out accept loop of [`swarm_service::http_server`] with tighter limits than the tracker's:
//! a scraper needs one connection, so [`METRICS_LIMITS`] allows a handful.

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use swarm_service::http_server::{serve, ConnectionLimits};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use super::{render, Sampler};

/// Connections served at once and their timeouts.
pub const METRICS_LIMITS: ConnectionLimits = ConnectionLimits {
    max_connections: 16,
    header_read_timeout: Duration::from_secs(10),
    idle_timeout: Duration::from_secs(30),
};

/// The content type of the Prometheus text format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The metrics address could not be bound.
#[derive(Debug, thiserror::Error)]
#[error("cannot listen for metrics on {addr}: {source}")]
pub struct MetricsError {
    /// The address asked for.
    pub addr: SocketAddr,
    /// The cause.
    pub source: std::io::Error,
}

/// A running `/metrics` server; dropping it stops accepting (open requests get a few
/// seconds to finish).
#[derive(Debug)]
pub struct MetricsServer {
    local_addr: SocketAddr,
    _stop: oneshot::Sender<()>,
}

impl MetricsServer {
    /// Binds `addr` and serves `/metrics` from `sampler` on the current tokio runtime.
    pub async fn start(addr: SocketAddr, sampler: Sampler) -> Result<MetricsServer, MetricsError> {
        let fail = |source| MetricsError { addr, source };
        let listener = TcpListener::bind(addr).await.map_err(fail)?;
        let local_addr = listener.local_addr().map_err(fail)?;
        let router = Router::new()
            .route("/metrics", get(metrics_text))
            .with_state(sampler);
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(serve(listener, router, METRICS_LIMITS, async move {
            let _ = stopped.await;
        }));
        tracing::info!(addr = %local_addr, "metrics at http://{local_addr}/metrics");
        Ok(MetricsServer {
            local_addr,
            _stop: stop,
        })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }
}

async fn metrics_text(State(sampler): State<Sampler>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], render(&sampler()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::io::{Read, Write};
    use std::sync::Arc;

    use swarm_engine::metainfo::InfoHash;

    use super::*;
    use crate::host::TorrentStatus;
    use crate::metrics::Sample;
    use crate::node::options::Status;

    fn get(addr: SocketAddr, path: &str) -> String {
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        write!(stream, "GET {path} HTTP/1.0\r\nHost: t\r\n\r\n").unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        answer
    }

    #[tokio::test]
    async fn serves_the_sample_at_metrics_and_nothing_elsewhere() {
        let sampler: Sampler = Arc::new(|| Sample {
            torrents: vec![TorrentStatus {
                info_hash: InfoHash([7; 20]),
                name: "x.iso".into(),
                status: Status {
                    piece_count: 9,
                    ..Status::default()
                },
            }],
            releases: Vec::new(),
        });
        let server = MetricsServer::start("127.0.0.1:0".parse().unwrap(), sampler)
            .await
            .unwrap();
        let addr = server.local_addr();
        let (ok, missing) =
            tokio::task::spawn_blocking(move || (get(addr, "/metrics"), get(addr, "/")))
                .await
                .unwrap();
        assert!(
            ok.starts_with("HTTP/1.0 200") || ok.starts_with("HTTP/1.1 200"),
            "{ok}"
        );
        assert!(
            ok.contains("content-type: text/plain; version=0.0.4"),
            "{ok}"
        );
        assert!(ok.contains("swarm_torrent_pieces{info_hash=\"0707"), "{ok}");
        assert!(missing.contains(" 404 "), "{missing}");
        drop(server);
        let refused = tokio::time::timeout(Duration::from_secs(5), async {
            while tokio::net::TcpStream::connect(addr).await.is_ok() {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await;
        assert!(
            refused.is_ok(),
            "still accepting after the server was dropped"
        );
    }

    #[tokio::test]
    async fn a_taken_address_is_an_error_naming_it() {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = taken.local_addr().unwrap();
        let sampler: Sampler = Arc::new(Sample::default);
        let error = MetricsServer::start(addr, sampler).await.unwrap_err();
        assert!(error.to_string().contains(&addr.to_string()), "{error}");
    }
}
