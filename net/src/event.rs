//! What reaches a node actor from the tasks and threads that work for it: connection
//! readers and writers, disk and hashing threads, diallers, the announcer and the caller's
//! handle. One bounded queue per node carries them (its capacity is
//! [`EVENT_QUEUE`](crate::node::EVENT_QUEUE)), so a slow node slows its feeders down.

use std::net::SocketAddr;

use swarm_engine::node::io::{ConnId, Input};
use tokio::net::TcpStream;

/// One event for a node.
#[derive(Debug)]
pub(crate) enum Event {
    /// One input for the engine.
    Input(Input),
    /// Several inputs, fed in order (a reader's decoded frames, a disk batch's answers).
    Inputs(Vec<Input>),
    /// A dial finished.
    Dialed(SocketAddr, std::io::Result<TcpStream>),
    /// A connection's reader ended.
    Closed(ConnId),
    /// A connection's writer fell under its low-water mark.
    Drained(ConnId),
}
