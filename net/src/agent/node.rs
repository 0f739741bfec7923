//! The one file between the agent (and `swarm publish`) and the runtime: one actix
//! [`Host`] per process, on one port, with a node actor per torrent it fetches or seeds.
//!
//! The host listens on the configured port when it is free, else on any free port (the
//! tracker tells peers which).

use std::net::{IpAddr, SocketAddr};

use swarm_engine::bitfield::Bitfield;
use swarm_engine::metainfo::Metainfo;

use crate::host::{Host, Running, TorrentStatus};
use crate::runner::{NodeOptions, Status};
use crate::storage::Storage;

/// Every torrent of this process, on one port.
#[derive(Debug)]
pub struct NodeHost {
    host: Host,
}

impl NodeHost {
    /// Listens on `ip:port`, or on any free port of `ip` when `port` is taken.
    pub async fn bind(ip: IpAddr, port: u16) -> std::io::Result<NodeHost> {
        let host = match Host::bind(SocketAddr::new(ip, port)).await {
            Err(error) if port != 0 && error.kind() == std::io::ErrorKind::AddrInUse => {
                tracing::warn!(port, "port taken; listening on any free port");
                Host::bind(SocketAddr::new(ip, 0)).await?
            }
            bound => bound?,
        };
        Ok(NodeHost { host })
    }

    /// Where peers reach every torrent of this host.
    pub fn local_addr(&self) -> SocketAddr {
        self.host.local_addr()
    }

    /// Every running torrent's status now (for `/metrics`).
    pub fn torrents(&self) -> Vec<TorrentStatus> {
        self.host.torrents()
    }
}

/// What a node has done so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeStatus {
    /// Pieces in the torrent.
    pub piece_count: u32,
    /// Verified pieces.
    pub verified_pieces: u32,
    /// Payload bytes received since it started.
    pub downloaded_bytes: u64,
    /// Of those, from the origin ([`NodeSpec::origin_peer_id`]).
    pub from_origin_bytes: u64,
    /// Payload bytes sent since it started.
    pub uploaded_bytes: u64,
    /// Open connections.
    pub peers: u32,
    /// Every piece verified.
    pub complete: bool,
    /// Pieces that failed their hash check.
    pub failed_pieces: u32,
    /// Writing or reading failed: the node stopped.
    pub storage_error: Option<String>,
}

/// How to run one torrent.
#[derive(Debug, Clone)]
pub struct NodeSpec {
    /// Announce URLs.
    pub trackers: Vec<String>,
    /// Origin protection (the origin's in-process seed).
    pub origin: bool,
    /// Upload cap, bytes per second.
    pub max_upload_bytes_per_s: Option<u64>,
    /// Our peer id (`None`: a random one). The origin seeds with the release's.
    pub peer_id: Option<[u8; 20]>,
    /// The origin's peer id, to count what it sends.
    pub origin_peer_id: Option<[u8; 20]>,
}

/// One running torrent.
#[derive(Debug)]
pub struct NodeHandle {
    running: Running,
    changes: tokio::sync::watch::Receiver<Status>,
}

impl NodeHandle {
    /// Starts serving (and fetching what `verified` lacks) from `storage` on `host`.
    pub async fn start(
        host: &NodeHost,
        metainfo: &Metainfo,
        storage: Storage,
        verified: Bitfield,
        spec: &NodeSpec,
    ) -> std::io::Result<NodeHandle> {
        let mut options = NodeOptions::new(host.local_addr());
        options.trackers = spec.trackers.clone();
        options.config.origin_mode = spec.origin;
        options.config.max_upload_bytes_per_s = spec.max_upload_bytes_per_s;
        if let Some(id) = spec.peer_id {
            options.config.peer_id = id;
        }
        options.origin_peer_id = spec.origin_peer_id;
        let running = host
            .host
            .add(metainfo, storage, verified, options)
            .await
            .map_err(std::io::Error::other)?;
        let changes = running.status();
        Ok(NodeHandle { running, changes })
    }

    /// Where peers reach it.
    pub fn local_addr(&self) -> SocketAddr {
        self.running.local_addr
    }

    /// Its status now.
    pub fn status(&self) -> NodeStatus {
        let s = self.running.status().borrow().clone();
        NodeStatus {
            piece_count: s.piece_count,
            verified_pieces: s.verified_pieces,
            downloaded_bytes: s.downloaded_bytes,
            from_origin_bytes: s.from_origin_bytes,
            uploaded_bytes: s.uploaded_bytes,
            peers: u32::try_from(s.connections).unwrap_or(u32::MAX),
            complete: s.complete,
            failed_pieces: s.failed_pieces,
            storage_error: s.storage_error,
        }
    }

    /// Waits until its status changes (an idle node's does not: waiting costs nothing);
    /// `false` once the node has stopped.
    pub async fn changed(&mut self) -> bool {
        self.changes.changed().await.is_ok()
    }

    /// Stops it (announces `stopped`) and waits until it has.
    pub async fn stop(self) {
        self.running.stop();
        self.running.wait().await;
    }
}
