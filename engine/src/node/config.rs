//! A node's tunables, with the defaults of a datacenter swarm.

use std::time::Duration;

/// How a node chooses the peers it uploads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ChokePolicy {
    /// Cohen's tit-for-tat: rank by rate every rechoke, one optimistic unchoke.
    TitForTat,
    /// A trusted fleet: `upload_slots` peers are served a piece's worth each (more while
    /// many wait, see `turn_waiting_per_piece`), then the longest-waiting interested peer
    /// takes the slot.
    #[default]
    Rotation,
}

impl ChokePolicy {
    /// Parses `tit-for-tat` or `rotation`.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "tit-for-tat" => Some(ChokePolicy::TitForTat),
            "rotation" => Some(ChokePolicy::Rotation),
            _ => None,
        }
    }
}

/// Settings of one node. Every limit has a unit in its name or its doc.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeConfig {
    /// Our 20-byte peer id.
    pub peer_id: [u8; 20],
    /// Regular unchoke slots (Cohen's N); one optimistic slot comes on top. The default
    /// unchokes every interested peer up to `max_connections`, as a private cooperative
    /// swarm should (the simulator measured 1.10 × the bound this way against 1.54 with 8
    /// slots on 30 peers); set 4 for the classic internet behaviour.
    pub upload_slots: usize,
    /// Who gets the upload slots.
    pub choke_policy: ChokePolicy,
    /// Origin protection: reveal distinct pieces to different peers (super-seeding style)
    /// so the origin sends each piece about once while unsent pieces remain.
    pub origin_mode: bool,
    /// Origin mode: peers served at a time. The origin shows each of them
    /// `origin_reveal_per_peer` pieces, and gives the turn to the next waiting peer once they
    /// hold them (see `actors/reveal.rs`).
    pub origin_slots: usize,
    /// Pieces revealed to one peer per turn in origin mode.
    pub origin_reveal_per_peer: usize,
    /// A turn, a rotating peer's upload slot or the origin's reveal turn, lasts one piece's
    /// worth sent, plus one more for every `turn_waiting_per_piece` peers waiting for one
    /// when it would end (0: always one; an origin turn also ends when the peer holds what
    /// it was shown). 30 by default, so it acts only in swarms of more than 30 peers
    /// (simulator records of smaller ones are unchanged): there 96 peers ran at 1.221
    /// against 1.257 × the bound (mean of seven seeds, every seed better), 48 peers at
    /// 1.196 against 1.214 (ten seeds), 300 peers at 1.255 against 1.298, with the origin
    /// sending fewer copies (1.08-1.11 against 1.10-1.14 at 96). Fewer turn ends in the
    /// middle of a run: the swarm's uplinks 0.93 busy against 0.91.
    pub turn_waiting_per_piece: usize,
    /// Upload cap in bytes per second, if any.
    pub max_upload_bytes_per_s: Option<u64>,
    /// Connections to keep open at most: a node dials while it has fewer (inbound ones
    /// count too). 80 by default: in the simulator a 300-peer swarm ran as well as with
    /// 200 (a full mesh up to 200 peers), 1.298 against 1.300 × the bound, in half the
    /// events and wall time, and 96 peers did a little better (1.248–1.259 against
    /// 1.260–1.277 × over four seeds).
    pub max_connections: usize,
    /// How often the choker re-ranks peers.
    pub rechoke_interval: Duration,
    /// How often the optimistic unchoke rotates.
    pub optimistic_interval: Duration,
    /// A peer that sent us no block for this long while we wanted data is snubbed.
    pub snub_timeout: Duration,
    /// Outstanding requests to a peer that sends nothing for this long are given back.
    pub request_timeout: Duration,
    /// Pieces picked at random before switching to rarest first.
    pub random_first_pieces: u32,
    /// Lower bound of the request pipeline per connection, in blocks; the pipeline adds the
    /// measured bandwidth-delay product (rate × smallest round trip) on top.
    pub min_pipeline_blocks: u32,
    /// Upper bound of the request pipeline per connection, in blocks. The default keeps it at
    /// 8 (128 KiB, a LAN's bandwidth-delay product many times over): in the simulator any
    /// deeper pipeline let one source hoard a piece's blocks and cost 15–30 % of makespan on
    /// 30 peers. Raise it for high-latency links.
    pub max_pipeline_blocks: u32,
    /// Held pieces not yet checked in this run that are hashed ahead of their first
    /// request, once serving has begun (0: each only when first asked for). The real
    /// runtime sets 4; the simulator keeps 0, so its records are those of a lazy check.
    pub check_ahead_pieces: usize,
    /// Requests from one peer we queue for serving; more are rejected or dropped.
    pub max_served_queue: usize,
    /// Hash failures a peer may contribute to before it is banned.
    pub ban_after_failures: u32,
    /// Peers asked of the tracker per announce.
    pub announce_numwant: u32,
    /// Period of the housekeeping tick (timeouts, keep-alives, reconnects).
    pub tick_interval: Duration,
    /// Tracker interval used until the tracker says otherwise, and retry backoff base.
    pub default_announce_interval: Duration,
    /// Our listening port, sent as `p` in the extended handshake (BEP 10) so that a peer
    /// which accepted our connection knows where we listen and does not dial us again;
    /// `None` when we do not listen (the simulator, whose inbound connections come from
    /// the listening address already).
    pub listen_port: Option<u16>,
}

impl NodeConfig {
    /// Defaults for a node with this peer id.
    pub fn new(peer_id: [u8; 20]) -> Self {
        NodeConfig {
            peer_id,
            upload_slots: 50,
            choke_policy: ChokePolicy::Rotation,
            origin_mode: false,
            origin_slots: 64,
            origin_reveal_per_peer: 1,
            turn_waiting_per_piece: 30,
            max_upload_bytes_per_s: None,
            max_connections: 80,
            rechoke_interval: Duration::from_secs(10),
            optimistic_interval: Duration::from_secs(30),
            snub_timeout: Duration::from_secs(60),
            request_timeout: Duration::from_secs(30),
            random_first_pieces: 4,
            min_pipeline_blocks: 8,
            max_pipeline_blocks: 8,
            check_ahead_pieces: 0,
            max_served_queue: 1024,
            ban_after_failures: 2,
            announce_numwant: 200,
            tick_interval: Duration::from_secs(1),
            default_announce_interval: Duration::from_secs(30),
            listen_port: None,
        }
    }
}
