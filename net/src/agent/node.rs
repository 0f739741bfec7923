//! The one file between the agent and the runtime: today's [`crate::runner`] (one node,
//! one listener per torrent). When the actix host that serves many torrents on one port
//! lands, only this file changes.
//!
//! Today each torrent listens on its own port: the configured one when it is free, else
//! any free port (the tracker tells peers which).

use std::net::{IpAddr, SocketAddr};

use swarm_engine::bitfield::Bitfield;
use swarm_engine::metainfo::Metainfo;

use crate::runner::{self, NodeOptions, Running};
use crate::storage::Storage;

/// What a node has done so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeStatus {
    /// Pieces in the torrent.
    pub piece_count: u32,
    /// Verified pieces.
    pub verified_pieces: u32,
    /// Payload bytes received since it started.
    pub downloaded_bytes: u64,
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
    /// Address to listen on.
    pub ip: IpAddr,
    /// Port wished for (0: any).
    pub port: u16,
    /// Announce URLs.
    pub trackers: Vec<String>,
    /// Origin protection (the origin's in-process seed).
    pub origin: bool,
    /// Upload cap, bytes per second.
    pub max_upload_bytes_per_s: Option<u64>,
}

/// One running torrent.
#[derive(Debug)]
pub struct NodeHandle {
    running: Running,
}

impl NodeHandle {
    /// Starts serving (and fetching what `verified` lacks) from `storage`.
    pub async fn start(
        metainfo: &Metainfo,
        storage: Storage,
        verified: Bitfield,
        spec: &NodeSpec,
    ) -> std::io::Result<NodeHandle> {
        let mut options = NodeOptions::new(SocketAddr::new(spec.ip, spec.port));
        options.trackers = spec.trackers.clone();
        options.config.origin_mode = spec.origin;
        options.config.max_upload_bytes_per_s = spec.max_upload_bytes_per_s;
        if spec.port != 0 && std::net::TcpListener::bind(options.listen).is_err() {
            options.listen.set_port(0);
        }
        let running = runner::start(metainfo, storage, verified, options).await?;
        Ok(NodeHandle { running })
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
            uploaded_bytes: s.uploaded_bytes,
            peers: u32::try_from(s.connections).unwrap_or(u32::MAX),
            complete: s.complete,
            failed_pieces: s.failed_pieces,
            storage_error: s.storage_error,
        }
    }

    /// Stops it (announces `stopped`) and waits until it has.
    pub async fn stop(self) {
        self.running.stop();
        self.running.wait().await;
    }
}
