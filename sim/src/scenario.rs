//! Scenario files, in two stages: raw serde structs as written (strings with human units,
//! each with its span), then a validated [`Scenario`] with plain numbers.
//!
//! ```toml
//! file_size = "10GiB"
//! piece_size = "4MiB"
//! strategy = "bittorrent"          # or "naive", "queued"
//! inter_rack_latency = "1ms"       # added between nodes of different racks
//! [origin]
//! upload = "1Gbps"
//! download = "1Gbps"
//! latency = "0.1ms"                # one way, node to its rack switch
//! [[groups]]
//! name = "peers"
//! count = 30
//! upload = "1Gbps"
//! download = "1Gbps"
//! join_at = "0s"
//! join_spread = "0s"               # joins spread uniformly over this window
//! leave_after_done = false         # stay and seed (default)
//! [bittorrent]                      # engine settings (all optional)
//! upload_slots = 4
//! [[faults]]
//! kind = "peer-crash"              # peer-crash, corrupt-peer, origin-restart,
//! node = "peer-03"                 # tracker-outage, link-degraded
//! at = "20s"
//! ```

use std::collections::BTreeMap;
use std::ops::Range;
use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Deserialize;
use swarm_engine::node::config::{ChokePolicy, NodeConfig};
use swarm_engine::units::{parse_duration, parse_rate, parse_size};
use toml::Spanned;

use crate::seed::{derive_seed, SeedTag};

/// A scenario file that cannot be used; the message names the key and the line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ScenarioError {
    message: String,
}

impl ScenarioError {
    fn at(text: &str, span: Range<usize>, key: &str, problem: impl std::fmt::Display) -> Self {
        let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
        ScenarioError {
            message: format!("line {line}: `{key}`: {problem}"),
        }
    }
    fn plain(message: impl Into<String>) -> Self {
        ScenarioError {
            message: message.into(),
        }
    }
}

impl From<String> for ScenarioError {
    fn from(message: String) -> Self {
        ScenarioError { message }
    }
}

/// How the file reaches the peers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// The engine: peers trade pieces, the origin in origin mode.
    Bittorrent,
    /// Every peer pulls the whole file from the origin at once (one flow each).
    Naive,
    /// One peer at a time pulls the whole file from the origin.
    Queued,
}

impl Strategy {
    /// The name used in scenario files and records.
    pub fn name(self) -> &'static str {
        match self {
            Strategy::Bittorrent => "bittorrent",
            Strategy::Naive => "naive",
            Strategy::Queued => "queued",
        }
    }

    /// Parses a strategy name.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "bittorrent" => Some(Strategy::Bittorrent),
            "naive" => Some(Strategy::Naive),
            "queued" => Some(Strategy::Queued),
            _ => None,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    name: Option<String>,
    seed: Option<u64>,
    file_size: Spanned<String>,
    piece_size: Option<Spanned<String>>,
    strategy: Option<Spanned<String>>,
    goodput_factor: Option<Spanned<f64>>,
    inter_rack_latency: Option<Spanned<String>>,
    max_time: Option<Spanned<String>>,
    origin: RawOrigin,
    #[serde(default)]
    groups: Vec<RawGroup>,
    #[serde(default)]
    bittorrent: RawBittorrent,
    #[serde(default)]
    faults: Vec<RawFault>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOrigin {
    upload: Spanned<String>,
    download: Option<Spanned<String>>,
    latency: Option<Spanned<String>>,
    rack: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGroup {
    /// A label for whoever reads the file; peers are named `peer-NN` whatever it says.
    #[serde(rename = "name")]
    _name: Option<String>,
    count: Spanned<u32>,
    upload: Spanned<String>,
    download: Spanned<String>,
    latency: Option<Spanned<String>>,
    rack: Option<String>,
    join_at: Option<Spanned<String>>,
    join_spread: Option<Spanned<String>>,
    #[serde(default)]
    leave_after_done: bool,
}

/// Engine settings as written in the `[bittorrent]` table.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBittorrent {
    /// Regular unchoke slots of peers.
    upload_slots: Option<usize>,
    /// Unchoke slots of the origin.
    origin_upload_slots: Option<usize>,
    /// Peers the origin serves at a time in origin mode.
    origin_slots: Option<usize>,
    /// `tit-for-tat` or `rotation`.
    choke_policy: Option<Spanned<String>>,
    /// Whether the origin runs in origin mode (default true).
    origin_mode: Option<bool>,
    /// Pieces the origin reveals to one peer at a time.
    origin_reveal_per_peer: Option<usize>,
    /// Waiting peers per extra piece's worth in a rotation turn (0: one piece always).
    turn_waiting_per_piece: Option<usize>,
    /// Connections a node keeps at most.
    max_connections: Option<usize>,
    /// Smallest request pipeline, blocks.
    min_pipeline_blocks: Option<u32>,
    /// Largest request pipeline, blocks.
    max_pipeline_blocks: Option<u32>,
    /// Pieces picked at random first.
    random_first_pieces: Option<u32>,
    /// Peers asked of the tracker.
    announce_numwant: Option<u32>,
    /// Rechoke period, e.g. `10s`.
    rechoke_interval: Option<String>,
    /// Tracker announce interval, e.g. `30s`.
    announce_interval: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFault {
    kind: Spanned<String>,
    node: Option<Spanned<String>>,
    at: Option<Spanned<String>>,
    duration: Option<Spanned<String>>,
    upload: Option<Spanned<String>>,
    download: Option<Spanned<String>>,
}

/// Engine settings a scenario may tune, validated (all optional; engine defaults
/// otherwise).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BittorrentSettings {
    /// Regular unchoke slots of peers.
    pub upload_slots: Option<usize>,
    /// Unchoke slots of the origin.
    pub origin_upload_slots: Option<usize>,
    /// Peers the origin serves at a time in origin mode.
    pub origin_slots: Option<usize>,
    /// How peers choose whom to upload to.
    pub choke_policy: Option<ChokePolicy>,
    /// Whether the origin runs in origin mode (default true).
    pub origin_mode: Option<bool>,
    /// Pieces the origin reveals to one peer at a time.
    pub origin_reveal_per_peer: Option<usize>,
    /// Waiting peers per extra piece's worth in a rotation turn (0: one piece always).
    pub turn_waiting_per_piece: Option<usize>,
    /// Connections a node keeps at most.
    pub max_connections: Option<usize>,
    /// Smallest request pipeline, blocks.
    pub min_pipeline_blocks: Option<u32>,
    /// Largest request pipeline, blocks.
    pub max_pipeline_blocks: Option<u32>,
    /// Pieces picked at random first.
    pub random_first_pieces: Option<u32>,
    /// Peers asked of the tracker.
    pub announce_numwant: Option<u32>,
    /// Rechoke period.
    pub rechoke_interval: Option<Duration>,
    /// Tracker announce interval.
    pub announce_interval: Option<Duration>,
}

impl BittorrentSettings {
    /// The engine configuration of node `peer_id`, the origin's when `origin`.
    pub fn node_config(&self, peer_id: [u8; 20], origin: bool) -> NodeConfig {
        let mut config = NodeConfig::new(peer_id);
        if origin {
            config.origin_mode = self.origin_mode.unwrap_or(true);
            set(&mut config.upload_slots, self.origin_upload_slots);
            set(&mut config.origin_slots, self.origin_slots);
            set(
                &mut config.origin_reveal_per_peer,
                self.origin_reveal_per_peer,
            );
        } else {
            set(&mut config.upload_slots, self.upload_slots);
            set(&mut config.choke_policy, self.choke_policy);
        }
        set(
            &mut config.turn_waiting_per_piece,
            self.turn_waiting_per_piece,
        );
        set(&mut config.max_connections, self.max_connections);
        set(&mut config.min_pipeline_blocks, self.min_pipeline_blocks);
        set(&mut config.max_pipeline_blocks, self.max_pipeline_blocks);
        set(&mut config.random_first_pieces, self.random_first_pieces);
        set(&mut config.announce_numwant, self.announce_numwant);
        set(&mut config.rechoke_interval, self.rechoke_interval);
        config
    }

    /// The tracker's announce interval in whole seconds (30 unless set; at least 1).
    pub fn announce_interval_s(&self) -> u32 {
        self.announce_interval
            .map_or(30, |d| d.as_secs().clamp(1, u64::from(u32::MAX)) as u32)
    }
}

fn set<T>(field: &mut T, value: Option<T>) {
    if let Some(v) = value {
        *field = v;
    }
}

/// One node as the scenario describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeSpec {
    /// `origin` or `peer-NN`.
    pub id: String,
    /// Nominal uplink, bits per second.
    pub upload_bps: u64,
    /// Nominal downlink, bits per second.
    pub download_bps: u64,
    /// One-way latency to its rack switch.
    pub latency: Duration,
    /// Rack name.
    pub rack: String,
    /// Earliest join time (spread added at run time from the seed).
    pub join_at: Duration,
    /// Window over which joins of its group spread.
    pub join_spread: Duration,
    /// Leave once complete.
    pub leave_after_done: bool,
}

/// Faults, named the way operators say them.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// A peer's process dies at `at` and never comes back.
    PeerCrash { node: String, at: Duration },
    /// A peer serves corrupt data (every block it sends fails verification).
    CorruptPeer { node: String },
    /// The origin dies at `at` and comes back after `downtime`.
    OriginRestart { at: Duration, downtime: Duration },
    /// The tracker answers nothing from `at` for `duration`.
    TrackerOutage { at: Duration, duration: Duration },
    /// A node's link drops to the given rates at `at` (for `duration`, or for good).
    LinkDegraded {
        node: String,
        at: Duration,
        duration: Option<Duration>,
        upload_bps: u64,
        download_bps: u64,
    },
}

impl Fault {
    /// The node the fault happens to, for the kinds that name one.
    pub fn node_mut(&mut self) -> Option<&mut String> {
        match self {
            Fault::PeerCrash { node, .. }
            | Fault::CorruptPeer { node }
            | Fault::LinkDegraded { node, .. } => Some(node),
            Fault::OriginRestart { .. } | Fault::TrackerOutage { .. } => None,
        }
    }
}

/// A validated scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// Name for records (file stem unless `name` is given).
    pub name: String,
    /// Default root seed.
    pub seed: u64,
    /// File size, bytes.
    pub file_size_bytes: u64,
    /// Piece size, bytes.
    pub piece_size_bytes: u32,
    /// Strategy.
    pub strategy: Strategy,
    /// Share of the nominal rate a TCP flow gets.
    pub goodput_factor: f64,
    /// Latency added between racks.
    pub inter_rack_latency: Duration,
    /// Simulated time after which the run stops, if set.
    pub max_time: Option<Duration>,
    /// Node 0 is the origin, then the peers in group order.
    pub nodes: Vec<NodeSpec>,
    /// Engine settings.
    pub bittorrent: BittorrentSettings,
    /// Faults.
    pub faults: Vec<Fault>,
}

/// Largest peer count a scenario may ask for.
pub const MAX_PEERS: u32 = 10_000;

impl Scenario {
    /// Parses and validates scenario text; `default_name` names it unless the file does.
    pub fn parse(text: &str, default_name: &str) -> Result<Scenario, ScenarioError> {
        let raw: RawScenario = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
            let msg = e.message().to_string();
            ScenarioError::plain(match line {
                Some(line) => format!("line {line}: {msg}"),
                None => msg,
            })
        })?;
        validate(raw, text, default_name)
    }

    /// The origin.
    pub fn origin(&self) -> &NodeSpec {
        &self.nodes[0]
    }

    /// The peers.
    pub fn peers(&self) -> &[NodeSpec] {
        &self.nodes[1..]
    }

    /// The fluid bound of DESIGN.md, seconds.
    /// When each node joins, in node order: `join_at` plus a seeded uniform draw within its
    /// group's `join_spread`. Every strategy and `netns-run` use the same draws.
    pub fn join_times(&self, seed: u64) -> Vec<Duration> {
        let mut joins = ChaCha8Rng::seed_from_u64(derive_seed(seed, SeedTag::Joins, 0));
        self.nodes
            .iter()
            .map(|node| {
                let spread = node.join_spread.as_nanos() as u64;
                let jitter = if spread > 0 {
                    joins.gen_range(0..spread)
                } else {
                    0
                };
                node.join_at + Duration::from_nanos(jitter)
            })
            .collect()
    }

    pub fn bound_s(&self) -> f64 {
        let peers: Vec<(u64, u64)> = self
            .peers()
            .iter()
            .map(|p| (p.upload_bps, p.download_bps))
            .collect();
        swarm_engine::record::fluid_bound_s(self.file_size_bytes, self.origin().upload_bps, &peers)
    }

    /// One-way latency between nodes `a` and `b`.
    pub fn latency(&self, a: usize, b: usize) -> Duration {
        let (na, nb) = (&self.nodes[a], &self.nodes[b]);
        let mut latency = na.latency + nb.latency;
        if na.rack != nb.rack {
            latency += self.inter_rack_latency;
        }
        latency
    }

    /// Index of the node named `id`.
    pub fn node_index(&self, id: &str) -> Option<usize> {
        self.nodes.iter().position(|n| n.id == id)
    }
}

fn size(text: &str, v: &Spanned<String>, key: &str) -> Result<u64, ScenarioError> {
    parse_size(v.get_ref()).map_err(|e| ScenarioError::at(text, v.span(), key, e))
}
fn rate(text: &str, v: &Spanned<String>, key: &str) -> Result<u64, ScenarioError> {
    let bps = parse_rate(v.get_ref()).map_err(|e| ScenarioError::at(text, v.span(), key, e))?;
    if bps == 0 {
        return Err(ScenarioError::at(text, v.span(), key, "must be positive"));
    }
    Ok(bps)
}
fn dur(text: &str, v: &Spanned<String>, key: &str) -> Result<Duration, ScenarioError> {
    parse_duration(v.get_ref()).map_err(|e| ScenarioError::at(text, v.span(), key, e))
}
fn opt_dur(
    text: &str,
    v: &Option<Spanned<String>>,
    key: &str,
) -> Result<Option<Duration>, ScenarioError> {
    v.as_ref().map(|v| dur(text, v, key)).transpose()
}

fn validate(raw: RawScenario, text: &str, default_name: &str) -> Result<Scenario, ScenarioError> {
    let file_size_bytes = size(text, &raw.file_size, "file_size")?;
    if file_size_bytes == 0 {
        return Err(ScenarioError::at(
            text,
            raw.file_size.span(),
            "file_size",
            "must be positive",
        ));
    }
    let piece_size_bytes = piece_size(text, raw.piece_size.as_ref())?;
    let strategy = strategy(text, raw.strategy.as_ref())?;
    let goodput_factor = match &raw.goodput_factor {
        Some(v) if !(*v.get_ref() > 0.0 && *v.get_ref() <= 1.0) => {
            return Err(ScenarioError::at(
                text,
                v.span(),
                "goodput_factor",
                "must be in (0, 1]",
            ))
        }
        Some(v) => *v.get_ref(),
        None => 0.956,
    };
    let inter_rack_latency =
        opt_dur(text, &raw.inter_rack_latency, "inter_rack_latency")?.unwrap_or_default();
    let max_time = opt_dur(text, &raw.max_time, "max_time")?;
    let mut nodes = vec![origin_node(text, &raw.origin)?];
    peer_nodes(text, &raw.groups, &mut nodes)?;
    let ids: BTreeMap<String, usize> = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.id.clone(), i))
        .collect();
    let faults = raw
        .faults
        .iter()
        .enumerate()
        .map(|(fi, f)| fault(text, fi, f, &nodes, &ids))
        .collect::<Result<Vec<_>, _>>()?;
    let bittorrent = bittorrent_settings(text, raw.bittorrent)?;
    Ok(Scenario {
        name: raw.name.unwrap_or_else(|| default_name.to_string()),
        seed: raw.seed.unwrap_or(1),
        file_size_bytes,
        piece_size_bytes,
        strategy,
        goodput_factor,
        inter_rack_latency,
        max_time,
        nodes,
        bittorrent,
        faults,
    })
}

/// Latency of a node that names none.
const DEFAULT_LATENCY: Duration = Duration::from_micros(100);

/// `piece_size`: a power of two between 16 KiB and 64 MiB (default 4 MiB).
fn piece_size(text: &str, raw: Option<&Spanned<String>>) -> Result<u32, ScenarioError> {
    let Some(v) = raw else {
        return Ok(4 << 20);
    };
    let bytes = size(text, v, "piece_size")?;
    if !(16 * 1024..=(64 << 20)).contains(&bytes) || !bytes.is_power_of_two() {
        return Err(ScenarioError::at(
            text,
            v.span(),
            "piece_size",
            "must be a power of two between 16KiB and 64MiB",
        ));
    }
    Ok(bytes as u32)
}

fn strategy(text: &str, raw: Option<&Spanned<String>>) -> Result<Strategy, ScenarioError> {
    let Some(v) = raw else {
        return Ok(Strategy::Bittorrent);
    };
    Strategy::parse(v.get_ref()).ok_or_else(|| {
        ScenarioError::at(
            text,
            v.span(),
            "strategy",
            format!(
                "unknown strategy {:?} (bittorrent, naive, queued)",
                v.get_ref()
            ),
        )
    })
}

fn origin_node(text: &str, origin: &RawOrigin) -> Result<NodeSpec, ScenarioError> {
    let upload_bps = rate(text, &origin.upload, "origin.upload")?;
    Ok(NodeSpec {
        id: "origin".into(),
        upload_bps,
        download_bps: match &origin.download {
            Some(v) => rate(text, v, "origin.download")?,
            None => upload_bps,
        },
        latency: opt_dur(text, &origin.latency, "origin.latency")?.unwrap_or(DEFAULT_LATENCY),
        rack: origin.rack.clone().unwrap_or_else(|| "default".into()),
        join_at: Duration::ZERO,
        join_spread: Duration::ZERO,
        leave_after_done: false,
    })
}

/// Appends every group's peers (`peer-01`, `peer-02`, …) to `nodes`.
fn peer_nodes(
    text: &str,
    groups: &[RawGroup],
    nodes: &mut Vec<NodeSpec>,
) -> Result<(), ScenarioError> {
    let total: u32 = groups.iter().map(|g| *g.count.get_ref()).sum();
    if total == 0 {
        return Err(ScenarioError::plain(
            "`groups`: a scenario needs at least one peer ([[groups]] with count > 0)",
        ));
    }
    if total > MAX_PEERS {
        return Err(ScenarioError::plain(format!(
            "`groups`: {total} peers in all; at most {MAX_PEERS}"
        )));
    }
    let width = total.to_string().len().max(2);
    for (gi, g) in groups.iter().enumerate() {
        let key = |k: &str| format!("groups[{gi}].{k}");
        let upload_bps = rate(text, &g.upload, &key("upload"))?;
        let download_bps = rate(text, &g.download, &key("download"))?;
        let latency = opt_dur(text, &g.latency, &key("latency"))?.unwrap_or(DEFAULT_LATENCY);
        let join_at = opt_dur(text, &g.join_at, &key("join_at"))?.unwrap_or_default();
        let join_spread = opt_dur(text, &g.join_spread, &key("join_spread"))?.unwrap_or_default();
        for _ in 0..*g.count.get_ref() {
            let n = nodes.len();
            nodes.push(NodeSpec {
                id: format!("peer-{n:0width$}"),
                upload_bps,
                download_bps,
                latency,
                rack: g.rack.clone().unwrap_or_else(|| "default".into()),
                join_at,
                join_spread,
                leave_after_done: g.leave_after_done,
            });
        }
    }
    Ok(())
}

/// Fault number `fi` of the scenario, checked against its nodes.
fn fault(
    text: &str,
    fi: usize,
    f: &RawFault,
    nodes: &[NodeSpec],
    ids: &BTreeMap<String, usize>,
) -> Result<Fault, ScenarioError> {
    let key = |k: &str| format!("faults[{fi}].{k}");
    let need_node = |only_peers: bool| -> Result<String, ScenarioError> {
        let Some(v) = &f.node else {
            return Err(ScenarioError::at(
                text,
                f.kind.span(),
                &key("node"),
                "missing (e.g. node = \"peer-03\")",
            ));
        };
        match ids.get(v.get_ref()) {
            Some(&i) if !(only_peers && i == 0) => Ok(v.get_ref().clone()),
            _ => Err(ScenarioError::at(
                text,
                v.span(),
                &key("node"),
                format!("no peer named {:?}", v.get_ref()),
            )),
        }
    };
    let need_at = || -> Result<Duration, ScenarioError> {
        opt_dur(text, &f.at, &key("at"))?.ok_or_else(|| {
            ScenarioError::at(
                text,
                f.kind.span(),
                &key("at"),
                "missing (e.g. at = \"20s\")",
            )
        })
    };
    let duration = opt_dur(text, &f.duration, &key("duration"))?;
    Ok(match f.kind.get_ref().as_str() {
        "peer-crash" => Fault::PeerCrash {
            node: need_node(true)?,
            at: need_at()?,
        },
        "corrupt-peer" => Fault::CorruptPeer {
            node: need_node(true)?,
        },
        "origin-restart" => Fault::OriginRestart {
            at: need_at()?,
            downtime: duration.unwrap_or(Duration::from_secs(5)),
        },
        "tracker-outage" => Fault::TrackerOutage {
            at: need_at()?,
            duration: duration.unwrap_or(Duration::from_secs(60)),
        },
        "link-degraded" => {
            let node = need_node(false)?;
            let spec = &nodes[ids[&node]];
            Fault::LinkDegraded {
                at: need_at()?,
                duration,
                upload_bps: match &f.upload {
                    Some(v) => rate(text, v, &key("upload"))?,
                    None => spec.upload_bps,
                },
                download_bps: match &f.download {
                    Some(v) => rate(text, v, &key("download"))?,
                    None => spec.download_bps,
                },
                node,
            }
        }
        other => {
            return Err(ScenarioError::at(
                text,
                f.kind.span(),
                &key("kind"),
                format!(
                    "unknown fault {other:?} (peer-crash, corrupt-peer, origin-restart, \
                     tracker-outage, link-degraded)"
                ),
            ))
        }
    })
}

fn bittorrent_settings(
    text: &str,
    raw: RawBittorrent,
) -> Result<BittorrentSettings, ScenarioError> {
    let interval = |v: Option<String>, key: &str| {
        v.map(|v| parse_duration(&v))
            .transpose()
            .map_err(|e| ScenarioError::plain(format!("`bittorrent.{key}`: {e}")))
    };
    Ok(BittorrentSettings {
        upload_slots: raw.upload_slots,
        origin_upload_slots: raw.origin_upload_slots,
        origin_slots: raw.origin_slots,
        choke_policy: raw
            .choke_policy
            .map(|v| {
                ChokePolicy::parse(v.get_ref()).ok_or_else(|| {
                    let names = "tit-for-tat, rotation";
                    let why = format!("unknown choke policy {:?} ({names})", v.get_ref());
                    ScenarioError::at(text, v.span(), "bittorrent.choke_policy", why)
                })
            })
            .transpose()?,
        origin_mode: raw.origin_mode,
        origin_reveal_per_peer: raw.origin_reveal_per_peer,
        turn_waiting_per_piece: raw.turn_waiting_per_piece,
        max_connections: raw.max_connections,
        min_pipeline_blocks: raw.min_pipeline_blocks,
        max_pipeline_blocks: raw.max_pipeline_blocks,
        random_first_pieces: raw.random_first_pieces,
        announce_numwant: raw.announce_numwant,
        rechoke_interval: interval(raw.rechoke_interval, "rechoke_interval")?,
        announce_interval: interval(raw.announce_interval, "announce_interval")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
file_size = "64MiB"
piece_size = "1MiB"
[origin]
upload = "1Gbps"
[[groups]]
count = 4
upload = "1Gbps"
download = "1Gbps"
"#;

    #[test]
    fn parses_units_and_names_peers() {
        let s = Scenario::parse(GOOD, "smoke").expect("test value");
        assert_eq!(s.file_size_bytes, 64 << 20);
        assert_eq!(s.piece_size_bytes, 1 << 20);
        assert_eq!(s.nodes.len(), 5);
        assert_eq!(s.nodes[4].id, "peer-04");
        assert_eq!(s.origin().upload_bps, 1_000_000_000);
        assert!((s.bound_s() - 64.0 * 8.0 * 1.048576 / 1000.0 * 1.0).abs() < 1e-6);
    }

    #[test]
    fn a_bad_unit_names_the_key_and_line() {
        let bad = GOOD.replace("download = \"1Gbps\"", "download = \"1 Gigabit\"");
        let err = Scenario::parse(&bad, "x")
            .expect_err("must fail")
            .to_string();
        assert!(err.contains("line 9"), "{err}");
        assert!(err.contains("groups[0].download"), "{err}");
    }

    #[test]
    fn an_unknown_key_names_the_line() {
        let bad = GOOD.replace("count = 4", "count = 4\nuplaod = \"1Gbps\"");
        let err = Scenario::parse(&bad, "x")
            .expect_err("must fail")
            .to_string();
        assert!(err.contains("line 8"), "{err}");
        assert!(err.contains("uplaod"), "{err}");
    }

    #[test]
    fn faults_name_existing_peers() {
        let bad =
            format!("{GOOD}\n[[faults]]\nkind = \"peer-crash\"\nnode = \"peer-09\"\nat = \"1s\"\n");
        let err = Scenario::parse(&bad, "x")
            .expect_err("must fail")
            .to_string();
        assert!(
            err.contains("faults[0].node") && err.contains("peer-09"),
            "{err}"
        );
        let ok = bad.replace("peer-09", "peer-02");
        let s = Scenario::parse(&ok, "x").expect("test value");
        assert_eq!(
            s.faults,
            vec![Fault::PeerCrash {
                node: "peer-02".into(),
                at: Duration::from_secs(1)
            }]
        );
    }
}
