//! The network model: per-node uplink and downlink, per-pair latency, fair sharing.
//!
//! A message serializes on the sender's uplink, propagates for the link's one-way latency,
//! then serializes on the receiver's downlink. Each link direction serves its connections
//! round-robin, one whole message at a time (fair in messages, about fair in bytes when the
//! messages are blocks). Capacities are nominal rates times the goodput factor.
//!
//! The model keeps its own event heap; its keys share the runtime's sequence counter so the
//! runtime can merge both heaps into one total order `(time, seq)`.
//!
//! Arrivals cost no event of their own while the receiving downlink is busy: a unit that
//! finishes its uplink is filed in the receiver's arrival queue, and the downlink takes in
//! everything that has arrived each time it finishes a unit. Only an idle downlink is woken
//! by an event at the next arrival. In a saturated swarm this removes about a third of all
//! events; units still reach the downlink's round-robin in arrival order.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::time::Duration;

use swarm_engine::time::Time;

/// A connection end, as the node that owns it sees it (the runtime's `ConnId`). Ends of
/// one connection are `2k` and `2k + 1`: [`remote`] gives the other one.
pub type End = u64;

/// The other end of `end`'s connection.
pub fn remote(end: End) -> End {
    end ^ 1
}

/// Small messages queued back to back on one connection travel as one unit (as TCP puts
/// them in one segment) while their total stays within this many bytes.
pub const COALESCE_MAX_BYTES: u32 = 1448;

/// What a step of the model produced.
#[derive(Debug)]
pub enum NetOutput {
    /// Nothing the runtime must see (a message moved between stages).
    Nothing,
    /// `node`'s uplink finished sending a unit of `len` bytes on `end`.
    Sent { node: usize, end: End, len: u32 },
    /// `count` messages reached `node` on its connection end `end`: take them with
    /// [`Net::take_delivered`].
    Delivered { node: usize, end: End, count: u32 },
}

const UPLINK_DONE: u64 = 0;
/// Wakes an idle downlink at the next arrival.
const ARRIVE: u64 = 1;
const DOWNLINK_DONE: u64 = 2;

/// Bits of a [`Due`] stage for its sequence number, and for its node (the kind takes 2).
const SEQ_BITS: u32 = 44;
const NODE_BITS: u32 = 18;

/// A stage due, packed into one integer whose order is `(time, seq)`: the time in the high
/// 64 bits, then the sequence number, then the kind and the node (sequence numbers are
/// unique, so these never decide). The heap compares and moves one `u128` instead of a
/// tuple of three words; this is on the path of every event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Due(u128);

impl Due {
    fn new(time: Time, seq: u64, kind: u64, node: usize) -> Reverse<Due> {
        assert!(seq < 1 << SEQ_BITS, "over 2^44 simulator events");
        let low = (seq << (NODE_BITS + 2)) | (kind << NODE_BITS) | node as u64;
        Reverse(Due((u128::from(time.as_nanos()) << 64) | u128::from(low)))
    }

    fn time(self) -> Time {
        Time::from_nanos((self.0 >> 64) as u64)
    }

    fn seq(self) -> u64 {
        (self.0 as u64) >> (NODE_BITS + 2)
    }

    fn kind(self) -> u64 {
        ((self.0 as u64) >> NODE_BITS) & 3
    }

    fn node(self) -> usize {
        (self.0 as u64 & ((1 << NODE_BITS) - 1)) as usize
    }
}

/// Messages that travel together: a count and their total wire length.
#[derive(Debug, Clone, Copy)]
struct Unit {
    count: u32,
    len: u32,
}

/// A unit not yet delivered, with its first message; the others wait in
/// [`EndState::frames`]. A block travels alone, so delivering it reads only this entry,
/// which the downlink has just read anyway.
#[derive(Debug)]
struct Queued<M> {
    unit: Unit,
    first: M,
}

#[derive(Debug)]
struct Port {
    ps_per_byte_up: u64,
    ps_per_byte_down: u64,
    /// Own ends with units waiting for the uplink.
    up_ring: VecDeque<End>,
    /// Own ends whose next unit is a control message that passed queued blocks: served
    /// before `up_ring`.
    up_urgent: VecDeque<End>,
    up_current: Option<(End, Unit)>,
    /// Bytes queued on the uplink, not yet on the wire.
    up_queued_bytes: u64,
    /// Own ends whose remote has units arrived here, waiting for the downlink.
    down_ring: VecDeque<End>,
    down_current: Option<End>,
    /// Units on their way to this node, by arrival: `(time, seq, own end)`.
    arrivals: BinaryHeap<Reverse<(Time, u64, End)>>,
    /// When an `ARRIVE` event for this idle downlink is due, if one is.
    wake_at: Option<Time>,
    open_ends: Vec<End>,
}

/// One direction of a connection, kept at its sending end. A unit never overtakes another
/// of the same connection, so one queue holds every unit not yet delivered, oldest first:
/// `[arrived (the first may be on the downlink)] [in flight] [on the uplink] [queued]`.
/// One cache line: every unit sent or delivered reads it, and there are two per connection
/// (the second and later messages of coalesced units wait in [`Net::frames`]).
#[derive(Debug)]
#[repr(align(64))]
struct EndState<M> {
    /// Units sent on this end and not yet delivered, in order, with their first messages.
    units: VecDeque<Queued<M>>,
    /// The one-way latency, in nanoseconds.
    latency_ns: u64,
    node: u32,
    /// Units at the back of `units` waiting for this end's uplink.
    queued: u32,
    /// Units at the front of `units` that reached the remote and wait for its downlink.
    arrived: u32,
    open: bool,
    /// Whether the end is in its port's `up_ring`.
    in_ring: bool,
}

/// Every node's links and every connection's queues.
#[derive(Debug)]
pub struct Net<M> {
    ports: Vec<Port>,
    ends: Vec<EndState<M>>,
    /// By end: the second and later messages of its units, in order.
    frames: Vec<VecDeque<M>>,
    /// The first message of the unit just delivered, until taken.
    delivering: Option<M>,
    heap: BinaryHeap<Reverse<Due>>,
    goodput_factor: f64,
}

/// Picoseconds to serialize one byte (integer arithmetic on the hot path).
fn ps_per_byte(rate_bps: u64, goodput: f64) -> u64 {
    (8e12 / (rate_bps.max(1) as f64 * goodput)).round().max(1.0) as u64
}

fn serialize_ns(len: u32, ps_per_byte: u64) -> u64 {
    (u64::from(len) * ps_per_byte).div_ceil(1000)
}

impl<M> Net<M> {
    /// An empty network; capacities are multiplied by `goodput_factor` (0.956 for TCP/IP).
    pub fn new(goodput_factor: f64) -> Self {
        Net {
            ports: Vec::new(),
            ends: Vec::new(),
            frames: Vec::new(),
            delivering: None,
            heap: BinaryHeap::new(),
            goodput_factor,
        }
    }

    /// Adds a node with nominal capacities in bits per second; returns its index.
    pub fn add_node(&mut self, upload_bps: u64, download_bps: u64) -> usize {
        assert!(self.ports.len() < 1 << NODE_BITS, "over 2^18 nodes");
        self.ports.push(Port {
            ps_per_byte_up: ps_per_byte(upload_bps, self.goodput_factor),
            ps_per_byte_down: ps_per_byte(download_bps, self.goodput_factor),
            up_ring: VecDeque::new(),
            up_urgent: VecDeque::new(),
            up_current: None,
            up_queued_bytes: 0,
            down_ring: VecDeque::new(),
            down_current: None,
            arrivals: BinaryHeap::new(),
            wake_at: None,
            open_ends: Vec::new(),
        });
        self.ports.len() - 1
    }

    /// Changes a node's capacities from now on (a degraded link, or its repair).
    pub fn set_rates(&mut self, node: usize, upload_bps: u64, download_bps: u64) {
        let port = &mut self.ports[node];
        port.ps_per_byte_up = ps_per_byte(upload_bps, self.goodput_factor);
        port.ps_per_byte_down = ps_per_byte(download_bps, self.goodput_factor);
    }

    /// Opens a connection between `a` and `b` with a one-way `latency`; returns the ends
    /// `(a's, b's)`.
    pub fn open(&mut self, a: usize, b: usize, latency: Duration) -> (End, End) {
        let first = self.ends.len() as End;
        let latency_ns = u64::try_from(latency.as_nanos()).expect("a latency under 584 years");
        for node in [a, b] {
            self.ends.push(EndState {
                units: VecDeque::new(),
                latency_ns,
                node: node as u32, // nodes are fewer than 2^18
                queued: 0,
                arrived: 0,
                open: true,
                in_ring: false,
            });
            self.frames.push(VecDeque::new());
        }
        self.ports[a].open_ends.push(first);
        self.ports[b].open_ends.push(first + 1);
        (first, first + 1)
    }

    /// Whether the connection of `end` is open.
    pub fn is_open(&self, end: End) -> bool {
        self.ends.get(end as usize).is_some_and(|e| e.open)
    }

    /// The node owning `end`.
    pub fn node_of(&self, end: End) -> usize {
        self.ends[end as usize].node as usize
    }

    /// The one-way latency of the connection of `end`.
    pub fn latency(&self, end: End) -> Duration {
        Duration::from_nanos(self.ends[end as usize].latency_ns)
    }

    /// The open connection ends of `node`, oldest first.
    pub fn open_ends(&self, node: usize) -> &[End] {
        &self.ports[node].open_ends
    }

    /// Closes the connection of `end` at both sides; queued and in-flight messages are lost
    /// (a unit already on the wire still occupies the link until it is sent).
    pub fn close(&mut self, end: End) {
        for e in [end, remote(end)] {
            let state = &mut self.ends[e as usize];
            if !state.open {
                continue;
            }
            state.open = false;
            let first_queued = state.units.len() - state.queued as usize;
            let unsent: u64 = state
                .units
                .range(first_queued..)
                .map(|q| u64::from(q.unit.len))
                .sum();
            self.ports[state.node as usize].up_queued_bytes -= unsent;
            state.units.clear();
            state.queued = 0;
            state.arrived = 0;
            let node = state.node as usize;
            self.frames[e as usize].clear();
            self.ports[node].open_ends.retain(|&x| x != e);
        }
    }

    /// Queues `msg` of `len_bytes` on `end`'s uplink; ignored if the connection is closed.
    pub fn send(&mut self, now: Time, seq: &mut u64, end: End, msg: M, len_bytes: u32) {
        let state = &mut self.ends[end as usize];
        if !state.open {
            return;
        }
        self.ports[state.node as usize].up_queued_bytes += u64::from(len_bytes);
        let msg = if len_bytes <= COALESCE_MAX_BYTES {
            match self.send_ahead(end, msg, len_bytes) {
                Some(msg) => msg,
                None => return,
            }
        } else {
            msg
        };
        let state = &mut self.ends[end as usize];
        if state.queued > 0 {
            let back = &mut state
                .units
                .back_mut()
                .expect("queued units are in the queue")
                .unit;
            if back.len + len_bytes <= COALESCE_MAX_BYTES {
                back.count += 1;
                back.len += len_bytes;
                self.frames[end as usize].push_back(msg);
                return;
            }
        }
        state.units.push_back(Queued {
            unit: Unit {
                count: 1,
                len: len_bytes,
            },
            first: msg,
        });
        state.queued += 1;
        let node = state.node as usize;
        let port = &mut self.ports[node];
        if !state.in_ring {
            // An end with queued units is in the ring once (maybe also once after its last
            // unit left through the urgent ring: that stale entry is skipped).
            state.in_ring = true;
            if len_bytes <= COALESCE_MAX_BYTES {
                port.up_ring.push_front(end);
            } else {
                port.up_ring.push_back(end);
            }
        }
        if port.up_current.is_none() {
            self.start_uplink(now, seq, node);
        }
    }

    /// A control message (`len_bytes` at most [`COALESCE_MAX_BYTES`]) passes the blocks
    /// queued on `end`, behind the control messages that passed them already, as a runtime
    /// with a control lane in its application-level queue sends it; its end goes on the
    /// urgent ring, served before the others. Hands `msg` back when no block is queued on
    /// `end` (it then goes at the back as usual).
    fn send_ahead(&mut self, end: End, msg: M, len_bytes: u32) -> Option<M> {
        let state = &mut self.ends[end as usize];
        let first_queued = state.units.len() - state.queued as usize;
        let at = first_queued
            + state
                .units
                .range(first_queued..)
                .take_while(|q| q.unit.len <= COALESCE_MAX_BYTES)
                .count();
        if at == state.units.len() {
            return Some(msg);
        }
        let joins =
            at > first_queued && state.units[at - 1].unit.len + len_bytes <= COALESCE_MAX_BYTES;
        if joins {
            let behind: u32 = state.units.range(..at).map(|q| q.unit.count - 1).sum();
            self.frames[end as usize].insert(behind as usize, msg);
            let unit = &mut state.units[at - 1].unit;
            unit.count += 1;
            unit.len += len_bytes;
        } else {
            let unit = Unit {
                count: 1,
                len: len_bytes,
            };
            state.units.insert(at, Queued { unit, first: msg });
            state.queued += 1;
            if at == first_queued {
                self.ports[state.node as usize].up_urgent.push_back(end);
            }
        }
        None
    }

    /// Whether `node`'s uplink is sending nothing and has nothing queued.
    pub fn uplink_idle(&self, node: usize) -> bool {
        self.ports[node].up_current.is_none()
    }

    /// Bytes queued on `node`'s uplink behind the unit on the wire.
    pub fn uplink_queued_bytes(&self, node: usize) -> u64 {
        self.ports[node].up_queued_bytes
    }

    /// Units queued on `end`'s uplink, not yet on the wire.
    pub fn queued(&self, end: End) -> usize {
        self.ends[end as usize].queued as usize
    }

    /// The next delivered message on `end` (after [`NetOutput::Delivered`]).
    pub fn take_delivered(&mut self, end: End) -> Option<M> {
        if let Some(first) = self.delivering.take() {
            return Some(first);
        }
        self.frames[remote(end) as usize].pop_front()
    }

    /// When the next stage is due, with its sequence number.
    pub fn peek(&self) -> Option<(Time, u64)> {
        self.heap.peek().map(|Reverse(due)| (due.time(), due.seq()))
    }

    /// Runs the next stage; the caller has set its clock to [`Net::peek`]'s time.
    pub fn step(&mut self, seq: &mut u64) -> NetOutput {
        self.delivering = None; // left over if the last delivery was cut short
        let Some(Reverse(due)) = self.heap.pop() else {
            return NetOutput::Nothing;
        };
        let (now, node) = (due.time(), due.node());
        match due.kind() {
            UPLINK_DONE => {
                let (end, unit) = self.ports[node]
                    .up_current
                    .take()
                    .expect("an uplink stage has a current unit");
                self.start_uplink(now, seq, node);
                let state = &self.ends[end as usize];
                if state.open {
                    let at = now + Duration::from_nanos(state.latency_ns);
                    let receiver = self.ends[remote(end) as usize].node as usize;
                    *seq += 1;
                    self.ports[receiver]
                        .arrivals
                        .push(Reverse((at, *seq, remote(end))));
                    self.wake_if_idle(seq, receiver);
                }
                NetOutput::Sent {
                    node,
                    end,
                    len: unit.len,
                }
            }
            ARRIVE => {
                self.ports[node].wake_at = None;
                if self.ports[node].down_current.is_none() {
                    self.start_downlink(now, seq, node);
                }
                self.wake_if_idle(seq, node);
                NetOutput::Nothing
            }
            _ => {
                let end = self.ports[node]
                    .down_current
                    .take()
                    .expect("a downlink stage has a current unit");
                let delivered = self.ends[remote(end) as usize].units.pop_front();
                self.start_downlink(now, seq, node);
                self.wake_if_idle(seq, node);
                match delivered {
                    Some(Queued { unit, first }) => {
                        self.delivering = Some(first);
                        NetOutput::Delivered {
                            node,
                            end,
                            count: unit.count,
                        }
                    }
                    None => NetOutput::Nothing, // closed meanwhile
                }
            }
        }
    }

    /// Schedules an `ARRIVE` event at the next arrival if `node`'s downlink is idle and
    /// no earlier wake-up is due.
    fn wake_if_idle(&mut self, seq: &mut u64, node: usize) {
        let port = &mut self.ports[node];
        if port.down_current.is_some() {
            return;
        }
        let Some(&Reverse((at, _, _))) = port.arrivals.peek() else {
            return;
        };
        if port.wake_at.is_some_and(|w| w <= at) {
            return;
        }
        port.wake_at = Some(at);
        *seq += 1;
        self.heap.push(Due::new(at, *seq, ARRIVE, node));
    }

    /// Files every unit that has reached `node` by `now` with the downlink, in arrival
    /// order.
    fn take_arrivals(&mut self, now: Time, node: usize) {
        let port = &mut self.ports[node];
        while let Some(&Reverse((at, _, end))) = port.arrivals.peek() {
            if at > now {
                break;
            }
            port.arrivals.pop();
            let sender = &mut self.ends[remote(end) as usize];
            if !sender.open {
                continue; // closed meanwhile
            }
            sender.arrived += 1;
            if sender.arrived == 1 {
                if sender.units[0].unit.len <= COALESCE_MAX_BYTES {
                    port.down_ring.push_front(end);
                } else {
                    port.down_ring.push_back(end);
                }
            }
        }
    }

    fn start_uplink(&mut self, now: Time, seq: &mut u64, node: usize) {
        let port = &mut self.ports[node];
        loop {
            let end = if let Some(end) = port.up_urgent.pop_front() {
                let state = &self.ends[end as usize];
                let next = state.units.len() - state.queued as usize;
                if state.queued == 0 || state.units[next].unit.len > COALESCE_MAX_BYTES {
                    continue; // closed, or its control units already left
                }
                end
            } else if let Some(end) = port.up_ring.pop_front() {
                let state = &mut self.ends[end as usize];
                state.in_ring = false;
                if state.queued == 0 {
                    continue; // closed meanwhile, or emptied through the urgent ring
                }
                end
            } else {
                return;
            };
            let state = &mut self.ends[end as usize];
            let unit = state.units[state.units.len() - state.queued as usize].unit;
            state.queued -= 1;
            port.up_queued_bytes -= u64::from(unit.len);
            if state.queued > 0 && !state.in_ring {
                state.in_ring = true;
                port.up_ring.push_back(end);
            }
            let ns = serialize_ns(unit.len, port.ps_per_byte_up);
            port.up_current = Some((end, unit));
            *seq += 1;
            self.heap.push(Due::new(
                now + Duration::from_nanos(ns),
                *seq,
                UPLINK_DONE,
                node,
            ));
            return;
        }
    }

    fn start_downlink(&mut self, now: Time, seq: &mut u64, node: usize) {
        self.take_arrivals(now, node);
        let port = &mut self.ports[node];
        while let Some(end) = port.down_ring.pop_front() {
            let sender = &mut self.ends[remote(end) as usize];
            if sender.arrived == 0 {
                continue; // closed meanwhile
            }
            let unit = sender.units[0].unit;
            sender.arrived -= 1;
            if sender.arrived > 0 {
                port.down_ring.push_back(end);
            }
            let ns = serialize_ns(unit.len, port.ps_per_byte_down);
            port.down_current = Some(end);
            *seq += 1;
            self.heap.push(Due::new(
                now + Duration::from_nanos(ns),
                *seq,
                DOWNLINK_DONE,
                node,
            ));
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GBPS: u64 = 1_000_000_000;

    /// Runs the model to the end; returns (time, node, end, tag) of every delivery.
    fn run(net: &mut Net<u32>, seq: &mut u64) -> Vec<(Time, usize, End, u32)> {
        let mut out = Vec::new();
        while let Some((t, _)) = net.peek() {
            if let NetOutput::Delivered { node, end, count } = net.step(seq) {
                for _ in 0..count {
                    let msg = net.take_delivered(end).expect("test value");
                    out.push((t, node, end, msg));
                }
            }
        }
        out
    }

    #[test]
    fn one_message_costs_two_serializations_and_the_latency() {
        let mut net = Net::new(1.0);
        let a = net.add_node(GBPS, GBPS);
        let b = net.add_node(GBPS, GBPS);
        let (ea, eb) = net.open(a, b, Duration::from_millis(1));
        let mut seq = 0;
        net.send(Time::ZERO, &mut seq, ea, 7, 125_000); // 1 ms at 1 Gbps
        let got = run(&mut net, &mut seq);
        assert_eq!(got, vec![(Time::from_nanos(3_000_000), b, eb, 7)]);
    }

    #[test]
    fn two_flows_on_one_uplink_share_it_fairly() {
        let mut net = Net::new(1.0);
        let a = net.add_node(GBPS, GBPS);
        let b = net.add_node(GBPS, 10 * GBPS);
        let c = net.add_node(GBPS, 10 * GBPS);
        let (ab, _) = net.open(a, b, Duration::ZERO);
        let (ac, _) = net.open(a, c, Duration::ZERO);
        let mut seq = 0;
        for i in 0..100 {
            net.send(Time::ZERO, &mut seq, ab, i, 12_500);
            net.send(Time::ZERO, &mut seq, ac, i, 12_500);
        }
        let got = run(&mut net, &mut seq);
        let last_b = got
            .iter()
            .filter(|d| d.1 == b)
            .map(|d| d.0)
            .max()
            .expect("test value");
        let last_c = got
            .iter()
            .filter(|d| d.1 == c)
            .map(|d| d.0)
            .max()
            .expect("test value");
        // 200 messages of 100 µs each on a's uplink: both flows end near 20 ms.
        let ms = |t: Time| t.as_secs_f64() * 1e3;
        assert!((ms(last_b) - 20.0).abs() < 0.2, "{}", ms(last_b));
        assert!((ms(last_c) - 20.0).abs() < 0.2, "{}", ms(last_c));
    }

    #[test]
    fn downlink_limits_a_fast_sender() {
        let mut net = Net::new(1.0);
        let a = net.add_node(10 * GBPS, GBPS);
        let b = net.add_node(GBPS, GBPS / 10); // 100 Mbps down
        let (ab, _) = net.open(a, b, Duration::ZERO);
        let mut seq = 0;
        for i in 0..10 {
            net.send(Time::ZERO, &mut seq, ab, i, 125_000); // 10 ms each at 100 Mbps
        }
        let got = run(&mut net, &mut seq);
        let last = got.last().expect("test value").0.as_secs_f64();
        assert!((last - 0.1001).abs() < 0.001, "{last}");
        let tags: Vec<u32> = got.iter().map(|d| d.3).collect();
        assert_eq!(
            tags,
            (0..10).collect::<Vec<_>>(),
            "order per connection is kept"
        );
    }

    #[test]
    fn goodput_factor_slows_links() {
        let mut net = Net::new(0.5);
        let a = net.add_node(GBPS, GBPS);
        let b = net.add_node(GBPS, GBPS);
        let (ab, _) = net.open(a, b, Duration::ZERO);
        let mut seq = 0;
        net.send(Time::ZERO, &mut seq, ab, 1, 125_000);
        let got = run(&mut net, &mut seq);
        assert_eq!(got[0].0, Time::from_nanos(4_000_000));
    }

    #[test]
    fn small_messages_queued_together_travel_as_one_unit() {
        let mut net = Net::new(1.0);
        let a = net.add_node(GBPS, GBPS);
        let b = net.add_node(GBPS, GBPS);
        let c = net.add_node(GBPS, GBPS);
        let (ab, _) = net.open(a, b, Duration::ZERO);
        let (ac, _) = net.open(a, c, Duration::ZERO);
        let mut seq = 0;
        net.send(Time::ZERO, &mut seq, ab, 0, 125_000); // occupies a's uplink for 1 ms
        for i in 1..=3 {
            net.send(Time::ZERO, &mut seq, ac, i, 17);
        }
        assert_eq!(net.queued(ac), 1);
        let got = run(&mut net, &mut seq);
        let to_c: Vec<_> = got.iter().filter(|d| d.1 == c).collect();
        assert_eq!(to_c.len(), 3);
        assert!(to_c.iter().all(|d| d.0 == to_c[0].0), "delivered together");
    }

    #[test]
    fn closed_connections_drop_their_messages() {
        let mut net = Net::new(1.0);
        let a = net.add_node(GBPS, GBPS);
        let b = net.add_node(GBPS, GBPS);
        let (ab, _) = net.open(a, b, Duration::from_millis(1));
        let mut seq = 0;
        for i in 0..5 {
            net.send(Time::ZERO, &mut seq, ab, i, 1000);
        }
        net.close(ab);
        assert!(run(&mut net, &mut seq).is_empty());
        assert!(net.open_ends(a).is_empty());
    }
}
