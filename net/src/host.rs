//! The host: one actix `System` on its own thread, with a supervisor that starts one node
//! actor per torrent (each on its own arbiter thread, with its connections' tasks) and
//! routes the listener's connections to them by info-hash; all torrents share one port.
//!
//! [`Host::add`] gives a [`Running`] handle per torrent (status watch, more peers, stop,
//! wait); [`Host::remove`] stops one torrent (it announces `stopped` first);
//! [`Host::torrents`] lists every running torrent's status (for `/metrics`). Dropping the
//! host stops every torrent and the system.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use actix::prelude::*;
use swarm_engine::bitfield::Bitfield;
use swarm_engine::metainfo::{InfoHash, Metainfo};
use swarm_engine::node::config::NodeConfig;
use swarm_engine::node::io::Input;
use swarm_engine::node::{Node, TorrentSpec};
use swarm_engine::wire::Handshake;
use tokio::sync::{mpsc, oneshot, watch};

use crate::addr::to_peer_addr;
use crate::announce::AnnounceParams;
use crate::disk::{DiskPool, WriteGate};
use crate::event::Event;
use crate::listener::accept_loop;
use crate::node::actor::{Inbound, NodeActor, NodeParts, NodeStopped, Stop, EVENT_QUEUE};
use crate::node::announces::ANNOUNCE_TIMEOUT;
use crate::node::commands::NetRuntime;
use crate::node::options::{NodeOptions, Status};
use crate::node::sources::Sources;
use crate::storage::Storage;

/// Why a torrent could not be added.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// This host already runs the torrent.
    #[error("torrent {0} is already running on this host")]
    AlreadyRunning(String),
    /// The host has stopped.
    #[error("the host has stopped")]
    Stopped,
}

/// Many torrents on one port.
#[derive(Debug)]
pub struct Host {
    local_addr: SocketAddr,
    supervisor: Addr<Supervisor>,
    listed: Listed,
}

/// One running torrent's status, with what names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TorrentStatus {
    /// Its info-hash.
    pub info_hash: InfoHash,
    /// Its name (the torrent's `name`).
    pub name: String,
    /// What its node has done so far.
    pub status: Status,
}

/// The running torrents' names and status watches, kept by the supervisor (entries come
/// and go with its node actors) and read by [`Host::torrents`].
type Listed = Arc<Mutex<BTreeMap<InfoHash, Named>>>;
/// A torrent's name and status watch.
type Named = (String, watch::Receiver<Status>);

impl Host {
    /// Binds `listen` (errors reach the caller) and starts the system on its own thread.
    pub async fn bind(listen: SocketAddr) -> std::io::Result<Host> {
        let listener = std::net::TcpListener::bind(listen)?;
        listener.set_nonblocking(true)?;
        let local_addr = listener.local_addr()?;
        let (tx, rx) = oneshot::channel();
        std::thread::Builder::new()
            .name("swarm-host".into())
            .spawn(move || {
                let system = System::new();
                let started = system.block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(listener)?;
                    let supervisor = Supervisor::default();
                    let listed = Arc::clone(&supervisor.listed);
                    let supervisor = supervisor.start();
                    tokio::spawn(accept_loop(listener, supervisor.clone().recipient()));
                    Ok::<_, std::io::Error>((supervisor, listed))
                });
                let ok = started.is_ok();
                let _ = tx.send(started);
                if ok {
                    let _ = system.run();
                }
            })?;
        let (supervisor, listed) = rx
            .await
            .map_err(|_| std::io::Error::other("the host thread ended at start"))??;
        Ok(Host {
            local_addr,
            supervisor,
            listed,
        })
    }

    /// The address every torrent of this host listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Every running torrent's status now, in info-hash order.
    pub fn torrents(&self) -> Vec<TorrentStatus> {
        let listed = self.listed.lock().unwrap_or_else(PoisonError::into_inner);
        listed
            .iter()
            .map(|(info_hash, (name, status))| TorrentStatus {
                info_hash: *info_hash,
                name: name.clone(),
                status: status.borrow().clone(),
            })
            .collect()
    }

    /// Starts a torrent: seeding if `verified` is full, else downloading into `storage`.
    /// `options.listen` is ignored: the torrent shares the host's port.
    pub async fn add(
        &self,
        metainfo: &Metainfo,
        storage: Storage,
        verified: Bitfield,
        options: NodeOptions,
    ) -> Result<Running, HostError> {
        let (events_tx, events) = mpsc::channel(EVENT_QUEUE);
        let spec = TorrentSpec {
            info_hash: metainfo.info_hash,
            geometry: metainfo.geometry,
            piece_hashes: Arc::from(metainfo.piece_hashes.clone()),
        };
        let config = NodeConfig {
            listen_port: Some(self.local_addr.port()),
            ..options.config.clone()
        };
        let mut node = Node::new(spec, config, verified, options.rng_seed);
        if options.verified_hashed {
            node.verified_pieces_were_hashed();
        }
        let status = Status {
            piece_count: metainfo.geometry.piece_count(),
            verified_pieces: node.stats().verified_pieces,
            complete: node.is_complete(),
            ..Status::default()
        };
        let (status_tx, status_rx) = watch::channel(status.clone());
        let gate = Arc::new(WriteGate::default());
        let disk = DiskPool::start(
            Arc::new(storage),
            options.disk_threads,
            events_tx.clone(),
            Arc::clone(&gate),
        );
        let runtime = NetRuntime::new(
            events_tx.clone(),
            metainfo.geometry.piece_count(),
            disk,
            gate,
            status,
        );
        let (done_tx, done_rx) = oneshot::channel();
        let parts = NodeParts {
            node,
            runtime,
            events,
            trackers: options.trackers.clone(),
            announce: AnnounceParams {
                url: String::new(),
                info_hash: metainfo.info_hash.0,
                peer_id: options.config.peer_id,
                port: self.local_addr.port(),
                timeout: ANNOUNCE_TIMEOUT,
            },
            peers: options.peers.clone(),
            exit_when_done: options.exit_when_done,
            status_tx,
            done: done_tx,
            supervisor: self.supervisor.clone().recipient(),
            sources: Sources::new(options.origin_peer_id),
        };
        let info_hash = metainfo.info_hash;
        let named = (metainfo.name.clone(), status_rx.clone());
        let node = self
            .supervisor
            .send(AddTorrent(info_hash, Box::new(parts), named))
            .await
            .map_err(|_| HostError::Stopped)??;
        Ok(Running {
            local_addr: self.local_addr,
            status: status_rx,
            events: events_tx,
            node,
            done: Some(done_rx),
            host: None,
        })
    }

    /// Stops the torrent `info_hash` (it announces `stopped`); whether it was running.
    /// Wait on its [`Running`] handle for its last status.
    pub async fn remove(&self, info_hash: InfoHash) -> bool {
        self.supervisor
            .send(RemoveTorrent(info_hash))
            .await
            .unwrap_or(false)
    }
}

/// Stops every torrent, then the system.
impl Drop for Host {
    fn drop(&mut self) {
        self.supervisor.do_send(StopHost);
    }
}

/// A running torrent.
#[derive(Debug)]
pub struct Running {
    /// The address it listens on (its host's).
    pub local_addr: SocketAddr,
    status: watch::Receiver<Status>,
    events: mpsc::Sender<Event>,
    node: Addr<NodeActor>,
    done: Option<oneshot::Receiver<Status>>,
    /// The host this torrent has to itself ([`crate::runner::start`]), stopped with it.
    host: Option<Host>,
}

impl Running {
    /// This handle owns `host`: it stops when the torrent does.
    pub(crate) fn owning(mut self, host: Host) -> Self {
        self.host = Some(host);
        self
    }

    /// Live status (updated as the node works).
    pub fn status(&self) -> watch::Receiver<Status> {
        self.status.clone()
    }

    /// Gives the node more peers to dial.
    pub fn add_peers(&self, peers: &[SocketAddr]) {
        let peers = peers.iter().copied().map(to_peer_addr).collect();
        let _ = self
            .events
            .try_send(Event::Input(Input::AddPeers { peers }));
    }

    /// Asks the node to stop (closes connections, announces `stopped`).
    pub fn stop(&self) {
        self.node.do_send(Stop);
    }

    /// Waits for the node to stop; returns its last status.
    pub async fn wait(mut self) -> Status {
        let last = self.status.borrow().clone();
        match self.done.take() {
            Some(done) => done.await.unwrap_or(last),
            None => last,
        }
    }
}

/// Dropping the handle stops the torrent.
impl Drop for Running {
    fn drop(&mut self) {
        if self.done.is_some() {
            self.node.do_send(Stop);
        }
    }
}

/// A connection whose handshake the listener read, to route by its info-hash.
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct Route {
    pub stream: std::net::TcpStream,
    pub addr: SocketAddr,
    pub handshake: Handshake,
}

#[derive(Message)]
#[rtype(result = "Result<Addr<NodeActor>, HostError>")]
struct AddTorrent(InfoHash, Box<NodeParts>, Named);

#[derive(Message)]
#[rtype(result = "bool")]
struct RemoveTorrent(InfoHash);

#[derive(Message)]
#[rtype(result = "()")]
struct StopHost;

/// Starts node actors, routes connections to them, stops them.
#[derive(Default)]
pub(crate) struct Supervisor {
    nodes: BTreeMap<InfoHash, Addr<NodeActor>>,
    listed: Listed,
    stopping: bool,
}

impl Supervisor {
    fn listed(&self) -> std::sync::MutexGuard<'_, BTreeMap<InfoHash, Named>> {
        self.listed.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Actor for Supervisor {
    type Context = Context<Self>;
}

impl Handler<AddTorrent> for Supervisor {
    type Result = Result<Addr<NodeActor>, HostError>;

    fn handle(&mut self, msg: AddTorrent, _ctx: &mut Context<Self>) -> Self::Result {
        let AddTorrent(info_hash, parts, named) = msg;
        if self.stopping {
            return Err(HostError::Stopped);
        }
        if self.nodes.contains_key(&info_hash) {
            return Err(HostError::AlreadyRunning(hex::encode(info_hash.0)));
        }
        // Its own thread, as a single-threaded runtime that also drives its connections: a
        // block goes from a socket reader to the node and on to a writer on one thread.
        let arbiter = Arbiter::new();
        let node = NodeActor::start_in_arbiter(&arbiter.handle(), move |_| {
            NodeActor::new(info_hash, *parts)
        });
        self.nodes.insert(info_hash, node.clone());
        self.listed().insert(info_hash, named);
        Ok(node)
    }
}

impl Handler<Route> for Supervisor {
    type Result = ();

    fn handle(&mut self, msg: Route, _ctx: &mut Context<Self>) {
        let Some(node) = self.nodes.get(&msg.handshake.info_hash) else {
            return; // unknown torrent: dropping the stream closes it, nothing sent
        };
        let inbound = Inbound {
            stream: msg.stream,
            addr: msg.addr,
            handshake: msg.handshake,
        };
        if node.try_send(inbound).is_err() {
            tracing::debug!(addr = %msg.addr, "node busy: connection dropped");
        }
    }
}

impl Handler<RemoveTorrent> for Supervisor {
    type Result = bool;

    fn handle(&mut self, msg: RemoveTorrent, _ctx: &mut Context<Self>) -> bool {
        match self.nodes.get(&msg.0) {
            Some(node) => {
                node.do_send(Stop);
                true
            }
            None => false,
        }
    }
}

impl Handler<NodeStopped> for Supervisor {
    type Result = ();

    fn handle(&mut self, msg: NodeStopped, _ctx: &mut Context<Self>) {
        self.nodes.remove(&msg.0);
        self.listed().remove(&msg.0);
        if self.stopping && self.nodes.is_empty() {
            System::current().stop();
        }
    }
}

impl Handler<StopHost> for Supervisor {
    type Result = ();

    fn handle(&mut self, _: StopHost, _ctx: &mut Context<Self>) {
        self.stopping = true;
        if self.nodes.is_empty() {
            return System::current().stop();
        }
        for node in self.nodes.values() {
            node.do_send(Stop);
        }
    }
}
