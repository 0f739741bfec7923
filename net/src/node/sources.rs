//! Where a download's bytes came from: the origin or other peers. The node actor shows
//! each input it feeds the engine to [`Sources::observe`]; a connection whose handshake
//! carries the origin's peer id ([`NodeOptions::origin_peer_id`](crate::runner::NodeOptions::origin_peer_id), chosen by `swarm publish`
//! and handed to agents with the release) is the origin's, and the payload of every `piece`
//! it sends counts as from the origin ([`Status::from_origin_bytes`](crate::runner::Status::from_origin_bytes)). The rest of the
//! node's downloaded bytes came from peers.
//!
//! Peer ids can be forged: these are statistics for the rollout record, never a reason to
//! trust data (every piece is hashed whoever sent it).

use std::collections::BTreeSet;

use swarm_engine::node::io::{ConnId, Frame, Input};
use swarm_engine::wire::Message;

/// Counts the payload received from the origin.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    origin: Option<[u8; 20]>,
    origin_conns: BTreeSet<ConnId>,
    from_origin_bytes: u64,
}

impl Sources {
    /// Counts what the peer with `origin` as its peer id sends (`None`: nothing counted).
    pub fn new(origin: Option<[u8; 20]>) -> Self {
        Sources {
            origin,
            ..Sources::default()
        }
    }

    /// Looks at one input before the node handles it.
    pub fn observe(&mut self, input: &Input) {
        let Some(origin) = self.origin else {
            return;
        };
        match input {
            Input::Frame {
                conn,
                frame: Frame::Handshake(handshake),
            } if handshake.peer_id == origin => {
                self.origin_conns.insert(*conn);
            }
            Input::Frame {
                conn,
                frame: Frame::Message(Message::Piece { data, .. }),
            } if self.origin_conns.contains(conn) => {
                self.from_origin_bytes += data.len() as u64;
            }
            Input::Disconnected { conn } => {
                self.origin_conns.remove(conn);
            }
            _ => {}
        }
    }

    /// Payload bytes received from the origin so far.
    pub fn origin_bytes(&self) -> u64 {
        self.from_origin_bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use swarm_engine::metainfo::InfoHash;
    use swarm_engine::wire::Handshake;

    fn handshake(conn: u64, id: u8) -> Input {
        Input::Frame {
            conn: ConnId(conn),
            frame: Frame::Handshake(Handshake::new(InfoHash([0; 20]), [id; 20])),
        }
    }

    fn piece(conn: u64, len: usize) -> Input {
        Input::Frame {
            conn: ConnId(conn),
            frame: Frame::Message(Message::Piece {
                index: 0,
                begin: 0,
                data: Bytes::from(vec![0; len]),
            }),
        }
    }

    #[test]
    fn only_the_origins_pieces_count_and_a_reused_conn_id_is_forgotten() {
        let mut sources = Sources::new(Some([7; 20]));
        for input in [
            handshake(1, 7),
            handshake(2, 8),
            piece(1, 100),
            piece(2, 50),
        ] {
            sources.observe(&input);
        }
        assert_eq!(sources.origin_bytes(), 100);
        sources.observe(&Input::Disconnected { conn: ConnId(1) });
        sources.observe(&piece(1, 100));
        assert_eq!(sources.origin_bytes(), 100);
        let mut blind = Sources::new(None);
        blind.observe(&handshake(1, 7));
        blind.observe(&piece(1, 100));
        assert_eq!(blind.origin_bytes(), 0);
    }
}
