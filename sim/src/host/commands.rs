//! How the simulator carries out a node's commands (the runtime side of the engine's
//! [`Driver`]): frames go on the network model, disk and hashing answer at once from
//! length-only content, announces go to the tracker core next to the origin.

use std::collections::VecDeque;
use std::time::Duration;

use bytes::Bytes;
use swarm_engine::node::driver::{Driver, Interpret};
use swarm_engine::node::io::{Command, ConnId, Direction, Input, Report};
use swarm_engine::node::Node;
use swarm_engine::time::Time;

use super::{addr_of, index_of, Carried, Host, HostEvent};
use crate::net::remote;

/// Length-only payload: every block the simulator serves points into this.
pub(super) static ZEROS: [u8; 16 * 1024] = [0; 16 * 1024];

/// The host as the runtime of node `i`, while the driver runs that node.
pub(super) struct NodeRuntime<'h, 'a> {
    host: &'h mut Host<'a>,
    i: usize,
}

impl Interpret for NodeRuntime<'_, '_> {
    fn now(&mut self) -> Time {
        self.host.now
    }

    fn execute(&mut self, command: Command, ready: &mut VecDeque<Input>) {
        self.host.execute(self.i, command, ready);
    }

    fn rearm(&mut self, deadline: Option<Time>) {
        let slot = &mut self.host.slots[self.i];
        if deadline != slot.timer_at {
            slot.timer_at = deadline;
            if let Some(t) = deadline {
                let at = t.max(self.host.now);
                self.host.push(at, HostEvent::Timer(self.i, t));
            }
        }
    }
}

impl<'a> Host<'a> {
    /// Runs one driver step on node `i` (nothing if it is down). The node leaves its slot
    /// meanwhile, so the host can interpret its commands.
    pub(super) fn drive(
        &mut self,
        i: usize,
        step: impl FnOnce(&mut Driver, &mut Node, &mut NodeRuntime<'_, 'a>),
    ) {
        let Some(mut node) = self.slots[i].node.take() else {
            return;
        };
        let mut driver = self.driver.take().expect("one node runs at a time");
        step(&mut driver, &mut node, &mut NodeRuntime { host: self, i });
        self.driver = Some(driver);
        self.slots[i].node = Some(node);
    }

    fn execute(&mut self, i: usize, command: Command, ready: &mut VecDeque<Input>) {
        let now = self.now;
        match command {
            Command::Transmit { conn, frame } => {
                let len = frame.wire_len() as u32;
                self.net
                    .send(now, &mut self.seq, conn.0, Carried::new(frame), len);
            }
            Command::Connect { addr } => {
                let target = index_of(&addr)
                    .filter(|&j| j < self.slots.len() && j != i && self.slots[j].node.is_some());
                match target {
                    Some(j) => {
                        let latency = self.scenario.latency(i, j);
                        let (ours, theirs) = self.net.open(i, j, latency);
                        self.input_at(
                            now + latency,
                            j,
                            Input::Connected {
                                conn: ConnId(theirs),
                                addr: addr_of(i),
                                direction: Direction::Inbound,
                            },
                        );
                        self.input_at(
                            now + 2 * latency,
                            i,
                            Input::Connected {
                                conn: ConnId(ours),
                                addr,
                                direction: Direction::Outbound,
                            },
                        );
                    }
                    None => {
                        // Connection refused: the host answers after one round trip.
                        let rtt = 2 * self.scenario.nodes[i].latency;
                        self.input_at(now + rtt, i, Input::ConnectFailed { addr });
                    }
                }
            }
            Command::Close { conn, .. } => {
                if self.net.is_open(conn.0) {
                    let peer = self.net.node_of(remote(conn.0));
                    let latency = self.net.latency(conn.0);
                    self.net.close(conn.0);
                    self.input_at(
                        now + latency,
                        peer,
                        Input::Disconnected {
                            conn: ConnId(remote(conn.0)),
                        },
                    );
                }
            }
            Command::ReadBlock { conn, block } => {
                let data = Bytes::from_static(&ZEROS[..block.length as usize]);
                ready.push_back(Input::BlockRead {
                    conn,
                    block,
                    data: Ok(data),
                });
            }
            Command::WriteBlock { block, .. } => {
                ready.push_back(Input::BlockWritten {
                    block,
                    result: Ok(()),
                });
            }
            Command::HashPiece { piece } => {
                let mut digest = self.spec.piece_hashes[piece.as_usize()];
                if self.slots[i].tainted.remove(&piece.get()) {
                    digest[19] ^= 0xff;
                }
                ready.push_back(Input::PieceHashed {
                    piece,
                    digest: Ok(digest),
                });
            }
            Command::Announce(request) => {
                // The tracker sits next to the origin.
                let rtt = 2 * self.scenario.latency(i, 0).max(Duration::from_micros(1));
                let answer = self.tracker.announce(now, i, &request);
                self.input_at(now + rtt, i, answer);
            }
            Command::Report(Report::Completed) => {
                let slot = &mut self.slots[i];
                if i != 0 && slot.completed.is_none() {
                    slot.completed = Some(now);
                    self.pending_peers -= 1;
                    if self.scenario.nodes[i].leave_after_done {
                        self.push(now, HostEvent::Leave(i));
                    }
                }
            }
            Command::Report(_) => {}
            // Answered once payload sent from now on leaves the uplink with nothing queued.
            Command::WatchUplink => self.slots[i].watch_uplink = Some(false),
        }
    }
}
