//! The node actor: one per torrent, it owns the engine [`Node`] and runs it through the
//! engine's [`Driver`] with the commands interpreted by [`NetRuntime`].
//!
//! Control comes through its mailbox ([`Inbound`] connections from the listener, [`Stop`]);
//! the hot path (frames, disk answers, dials, announces) comes through one bounded
//! [`Event`] queue that [`Turns`] drains on the actor's context, up to [`EVENT_BATCH`]
//! events a turn, with the node's next deadline. After each turn the gathered reads and
//! writes go to the disk lanes and the status is published.
//!
//! ```text
//!   listener ─ Inbound ─┐   readers · disk lanes · dials · announcer ─ Event queue ─┐
//!                       └──────────── node actor: Driver over Node ─────────────────┘
//!     Transmit → writer · Read/Write/Hash → disk lanes · Connect → dial · Announce → announcer
//! ```

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Poll, Waker};
use std::time::{Duration, Instant};

use actix::prelude::*;
use swarm_engine::metainfo::InfoHash;
use swarm_engine::node::driver::Driver;
use swarm_engine::node::io::{Direction, Frame, Input};
use swarm_engine::node::Node;
use swarm_engine::wire::Handshake;
use tokio::sync::{mpsc, oneshot, watch};

use crate::addr::to_peer_addr;
use crate::announce::AnnounceParams;
use crate::event::Event;
use crate::node::announces::Announcer;
use crate::node::commands::NetRuntime;
use crate::node::options::Status;
use crate::node::sources::Sources;

/// Capacity of a node's event queue.
pub const EVENT_QUEUE: usize = 256;
/// Events handled in one turn of a node, at most, before its commands go out.
pub const EVENT_BATCH: usize = 256;
/// How soon the uplink is looked at again when only the kernel's backlog kept it from
/// running low.
const UPLINK_RECHECK: Duration = Duration::from_millis(10);
/// How often a status whose only change is in its byte counters is published, at most.
const COUNTER_PUBLISH_INTERVAL: Duration = Duration::from_millis(100);

/// A connection the listener accepted for this torrent, its handshake already read.
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct Inbound {
    pub stream: std::net::TcpStream,
    pub addr: SocketAddr,
    pub handshake: Handshake,
}

/// Stop: close the connections, announce `stopped`, finish the disk jobs.
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct Stop;

/// Told to the supervisor when a node actor has stopped.
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct NodeStopped(pub InfoHash);

/// The parts a node actor starts from.
pub(crate) struct NodeParts {
    pub node: Node,
    pub runtime: NetRuntime,
    pub events: mpsc::Receiver<Event>,
    pub trackers: Vec<String>,
    pub announce: AnnounceParams,
    pub peers: Vec<SocketAddr>,
    pub exit_when_done: bool,
    pub status_tx: watch::Sender<Status>,
    pub done: oneshot::Sender<Status>,
    pub supervisor: Recipient<NodeStopped>,
    pub sources: Sources,
}

/// What a node actor's start needs: its event queue, trackers, announce parameters and
/// the peers to dial.
type StartParts = (
    mpsc::Receiver<Event>,
    Vec<String>,
    AnnounceParams,
    Vec<SocketAddr>,
);

/// One torrent's actor.
pub(crate) struct NodeActor {
    info_hash: InfoHash,
    node: Node,
    driver: Driver,
    runtime: NetRuntime,
    /// What [`Actor::started`] starts from: events, trackers, announce params, peers.
    start: Option<StartParts>,
    exit_when_done: bool,
    stop_requested: bool,
    /// Wakes [`Turns`] when a mailbox message changed what it must do.
    turns_waker: Option<Waker>,
    status_tx: watch::Sender<Status>,
    published_at: Instant,
    done: Option<oneshot::Sender<Status>>,
    supervisor: Recipient<NodeStopped>,
    /// Bytes from the origin, told apart from bytes from peers.
    sources: Sources,
    /// A look at the uplink is scheduled ([`NodeActor::schedule_uplink_recheck`]).
    uplink_recheck_pending: bool,
}

impl NodeActor {
    pub(crate) fn new(info_hash: InfoHash, parts: NodeParts) -> Self {
        NodeActor {
            info_hash,
            node: parts.node,
            driver: Driver::default(),
            runtime: parts.runtime,
            start: Some((parts.events, parts.trackers, parts.announce, parts.peers)),
            exit_when_done: parts.exit_when_done,
            stop_requested: false,
            turns_waker: None,
            status_tx: parts.status_tx,
            published_at: Instant::now(),
            done: Some(parts.done),
            supervisor: parts.supervisor,
            sources: parts.sources,
            uplink_recheck_pending: false,
        }
    }

    fn should_stop(&self) -> bool {
        self.stop_requested
            || self.runtime.status.storage_error.is_some()
            || (self.exit_when_done && self.node.is_complete())
    }

    fn feed(&mut self, input: Input) {
        self.sources.observe(&input);
        self.driver.handle(&mut self.node, input, &mut self.runtime);
    }

    fn on_event(&mut self, event: Event) {
        match event {
            Event::Input(input) => self.feed(input),
            Event::Inputs(inputs) => inputs.into_iter().for_each(|input| self.feed(input)),
            Event::Dialed(addr, Ok(stream)) => {
                let (_, input) = self.runtime.open(stream, addr, Direction::Outbound, false);
                self.feed(input);
            }
            Event::Dialed(addr, Err(error)) => {
                tracing::debug!(%addr, %error, "dial failed");
                let addr = to_peer_addr(addr);
                self.feed(Input::ConnectFailed { addr });
            }
            Event::Closed(conn) => {
                if self.runtime.closed(conn) {
                    self.feed(Input::Disconnected { conn });
                }
            }
            Event::Drained(conn) => {
                tracing::trace!(conn = conn.0, "writer drained");
                if let Some(input) = self.runtime.uplink_low() {
                    self.feed(input);
                }
            }
        }
    }

    /// Looks at the uplink again after [`UPLINK_RECHECK`] if the kernel's backlog kept it
    /// from answering a watch.
    fn schedule_uplink_recheck(&mut self, ctx: &mut Context<Self>) {
        if self.runtime.take_uplink_recheck() && !self.uplink_recheck_pending {
            self.uplink_recheck_pending = true;
            ctx.run_later(UPLINK_RECHECK, |act, ctx| {
                act.uplink_recheck_pending = false;
                if let Some(input) = act.runtime.uplink_low() {
                    act.feed(input);
                    act.end_turn();
                }
                act.schedule_uplink_recheck(ctx);
            });
        }
    }

    /// The end of a turn: reads and writes to the disk lanes, the status to watchers.
    fn end_turn(&mut self) {
        self.runtime.release_held();
        self.runtime.flush_io();
        self.publish(false);
    }

    /// Publishes the status when more than the byte counters changed, and when only they
    /// did at most every [`COUNTER_PUBLISH_INTERVAL`] (they change with every block, and
    /// each publication wakes every watcher), unless `force`.
    fn publish(&mut self, force: bool) {
        let stats = self.node.stats();
        let status = &mut self.runtime.status;
        status.verified_pieces = stats.verified_pieces;
        status.uploaded_bytes = stats.uploaded_bytes;
        status.downloaded_bytes = stats.downloaded_bytes;
        status.from_origin_bytes = self.sources.origin_bytes();
        status.connections = stats.connections;
        status.complete = self.node.is_complete();
        let counters_due = force || self.published_at.elapsed() >= COUNTER_PUBLISH_INTERVAL;
        let status = &*status;
        let sent = self.status_tx.send_if_modified(|s| {
            let counters_only = Status {
                uploaded_bytes: s.uploaded_bytes,
                downloaded_bytes: s.downloaded_bytes,
                from_origin_bytes: s.from_origin_bytes,
                ..status.clone()
            } == *s;
            if s == status || (counters_only && !counters_due) {
                return false;
            }
            *s = status.clone();
            true
        });
        if sent {
            self.published_at = Instant::now();
        }
    }

    /// Stops the node: [`Node::shutdown`] through the driver (connections closed, `stopped`
    /// queued after every earlier announce), then waits for the announcer and the disk lanes.
    fn shut_down(&mut self, ctx: &mut Context<Self>) {
        self.driver.shutdown(&mut self.node, &mut self.runtime);
        self.runtime.close_all(); // received blocks are still written
        self.runtime.flush_io();
        self.publish(true);
        let announcer = self.runtime.announcer.take();
        let disk = self.runtime.disk.take();
        let tail = async move {
            if let Some(announcer) = announcer {
                announcer.finish().await;
            }
            if let Some(disk) = disk {
                let _ = tokio::task::spawn_blocking(move || disk.shutdown()).await;
            }
        };
        ctx.spawn(
            fut::wrap_future(tail).map(|(), act: &mut Self, ctx: &mut Context<Self>| {
                if let Some(done) = act.done.take() {
                    let _ = done.send(act.runtime.status.clone());
                }
                ctx.stop();
            }),
        );
    }
}

impl Actor for NodeActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        let Some((events, trackers, params, peers)) = self.start.take() else {
            return;
        };
        let announcer = Announcer::start(trackers, params, self.runtime.events_tx.clone());
        self.runtime.announcer = Some(announcer);
        self.driver.start(&mut self.node, &mut self.runtime);
        if !peers.is_empty() {
            let peers = peers.into_iter().map(to_peer_addr).collect();
            self.feed(Input::AddPeers { peers });
        }
        self.end_turn();
        ctx.spawn(Turns {
            events: Some(events),
            sleep: Box::pin(tokio::time::sleep(Duration::from_secs(3600))),
            armed: None,
        });
    }

    fn stopped(&mut self, _ctx: &mut Context<Self>) {
        self.supervisor.do_send(NodeStopped(self.info_hash));
        Arbiter::current().stop(); // the node's own thread
    }
}

impl Handler<Inbound> for NodeActor {
    type Result = ();

    fn handle(&mut self, msg: Inbound, _ctx: &mut Context<Self>) {
        if self.stop_requested || self.done.is_none() {
            return; // dropping the stream closes it
        }
        let stream = match tokio::net::TcpStream::from_std(msg.stream) {
            Ok(stream) => stream,
            Err(error) => return tracing::debug!(%error, "cannot adopt a connection"),
        };
        let (conn, input) = self
            .runtime
            .open(stream, msg.addr, Direction::Inbound, true);
        self.feed(input);
        let frame = Frame::Handshake(msg.handshake);
        self.feed(Input::Frame { conn, frame });
        self.end_turn();
    }
}

impl Handler<Stop> for NodeActor {
    type Result = ();

    fn handle(&mut self, _: Stop, _ctx: &mut Context<Self>) {
        self.stop_requested = true;
        if let Some(waker) = self.turns_waker.take() {
            waker.wake();
        }
    }
}

/// The node's turns: events and the next deadline, until the node is to stop.
struct Turns {
    events: Option<mpsc::Receiver<Event>>,
    sleep: Pin<Box<tokio::time::Sleep>>,
    armed: Option<Instant>,
}

impl ActorFuture<NodeActor> for Turns {
    type Output = ();

    fn poll(
        mut self: Pin<&mut Self>,
        act: &mut NodeActor,
        ctx: &mut Context<NodeActor>,
        task: &mut std::task::Context<'_>,
    ) -> Poll<()> {
        act.turns_waker = Some(task.waker().clone());
        loop {
            if act.should_stop() {
                self.events = None; // lets disk threads blocked on a full queue finish
                act.shut_down(ctx);
                return Poll::Ready(());
            }
            let mut handled = 0;
            let mut closed = false;
            while handled < EVENT_BATCH {
                let Some(events) = self.events.as_mut() else {
                    break;
                };
                match events.poll_recv(task) {
                    Poll::Ready(Some(event)) => {
                        act.on_event(event);
                        handled += 1;
                    }
                    Poll::Ready(None) => {
                        closed = true;
                        break;
                    }
                    Poll::Pending => break,
                }
            }
            if closed {
                act.stop_requested = true;
            }
            let deadline = act.node.poll_timeout().map(|t| act.runtime.instant(t));
            let mut fired = false;
            if let Some(at) = deadline {
                if self.armed != Some(at) {
                    self.armed = Some(at);
                    self.sleep.as_mut().reset(at.into());
                }
                if self.sleep.as_mut().poll(task).is_ready() {
                    self.armed = None;
                    act.driver.handle_timeout(&mut act.node, &mut act.runtime);
                    fired = true;
                }
            }
            if handled == 0 && !fired && !closed {
                return Poll::Pending;
            }
            act.end_turn();
            act.schedule_uplink_recheck(ctx);
            if handled == EVENT_BATCH {
                task.waker().wake_by_ref(); // more may be waiting: let other actors run first
                return Poll::Pending;
            }
        }
    }
}
