//! `swarm publish PATH --manager URL --channel NAME`: hash a build, register it as a
//! release, make sure the origin seeds it with origin protection — by this host's agent
//! when one runs (the manager hands it the seeding; it seeds the file in place for as long
//! as retention keeps the release), else from here until the rollout ends — and with
//! `--wait` follow the fleet until every targeted host holds a verified copy.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use swarm_engine::bitfield::Bitfield;
use swarm_engine::metainfo::Metainfo;
use swarm_net::agent::client::ManagerClient;
use swarm_net::agent::config::host_name;
use swarm_net::agent::node::{NodeHandle, NodeHost, NodeSpec};
use swarm_net::create::{create_from_content, unix_now, Content, CreateOptions};
use swarm_net::runner::{peer_id, random_seed};
use swarm_net::storage::Storage;
use swarm_net::verify::content_path;
use swarm_service::token::Token;
use swarm_service::wire::peer_id_hex;
use swarm_service::wire::{FleetInfo, OriginAgent, PublishRequest, Published, RolloutView};

use super::agent::label_arg;
use super::progress::Progress;
use super::rollout_wait::{follow, handed_over, Follow};
use super::seed::{rate_arg, runtime};
use super::{hash_config, size_arg, Outcome};

/// Publish a file as a release on a channel and roll it out to the fleet's agents.
///
/// Hashes PATH on all cores, registers the release with the manager, and makes sure it is
/// seeded with origin protection: by this host's agent when one runs here (it then seeds
/// the file in place while retention keeps the release, and publish without --wait
/// returns at once), else from this process until every targeted agent holds a verified
/// copy (or has failed, or --timeout passed). Agents are targeted by --to labels (all must match; none:
/// every agent). With --wait: exit 0 only when every targeted host holds a verified copy;
/// 1 when one failed or the timeout passed, naming the hosts and why.
#[derive(Debug, Args)]
pub struct PublishArgs {
    /// The file (or directory) to publish.
    path: PathBuf,
    /// The manager, e.g. http://manager.lan:6969.
    #[arg(long, value_name = "URL")]
    manager: String,
    /// The release channel, e.g. nightly-iso.
    #[arg(long, value_name = "NAME")]
    channel: String,
    /// Target agents with this label (repeatable; all must match).
    #[arg(long = "to", value_name = "KEY=VALUE", value_parser = label_arg)]
    to: Vec<(String, String)>,
    /// Agents keep the newest N releases of the channel [default: 2, or as set before].
    #[arg(long, value_name = "N")]
    keep: Option<u32>,
    /// Follow the rollout; exit 0 only when every targeted host holds a verified copy.
    #[arg(long)]
    wait: bool,
    /// Give up after this long, e.g. 90s, 20m, 1h.
    #[arg(long, value_name = "DURATION", value_parser = duration_arg)]
    timeout: Option<Duration>,
    /// File holding the fleet token.
    #[arg(long, value_name = "FILE")]
    token_file: Option<PathBuf>,
    /// Print the final per-host table as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// TCP port the origin seeds on (0: any free port).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Cap the origin's upload, e.g. 800Mbit/s.
    #[arg(long, value_name = "RATE", value_parser = rate_arg)]
    max_upload: Option<u64>,
    /// The origin's upload rate, e.g. 200Mbit/s (for the fluid bound).
    #[arg(long, value_name = "RATE", value_parser = rate_arg)]
    origin_rate: Option<u64>,
    /// Piece size [default: chosen from the file size].
    #[arg(long, value_name = "SIZE", value_parser = size_arg)]
    piece_size: Option<u64>,
    /// Hashing threads [default: one per core].
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
    /// The agent on this host that should seed the release [default: this host's name].
    #[arg(long, value_name = "NAME", conflicts_with = "seed_here")]
    origin_agent: Option<String>,
    /// Seed from this process even when an agent runs on this host.
    #[arg(long)]
    seed_here: bool,
}

/// clap value parser for durations: `90`, `90s`, `20m`, `1h`, `500ms`.
pub fn duration_arg(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{text:?}: expected a duration such as 90s, 20m or 1h"))?;
    let seconds = match unit.trim() {
        "" | "s" => value,
        "ms" => value / 1000.0,
        "m" | "min" => value * 60.0,
        "h" => value * 3600.0,
        other => return Err(format!("{text:?}: unknown unit {other:?} (ms, s, m, h)")),
    };
    Duration::try_from_secs_f64(seconds).map_err(|e| format!("{text:?}: {e}"))
}

/// Runs `swarm publish`.
pub fn run_publish(args: PublishArgs) -> anyhow::Result<Outcome> {
    let token = args
        .token_file
        .as_deref()
        .map(Token::from_file)
        .transpose()?;
    let client = ManagerClient::new(&args.manager, token)?;
    let runtime = runtime()?;
    let info: FleetInfo = runtime
        .block_on(client.get_json("/api/fleet"))
        .context("cannot reach the manager")?;
    let content = Content::scan(&args.path)?;
    let options = CreateOptions {
        trackers: vec![info.announce_url.clone()],
        piece_length: args.piece_size,
        creation_date: unix_now(),
        hashing: hash_config(args.threads),
        ..CreateOptions::default()
    };
    let progress = Progress::bytes(content.total_length(), "hashing");
    let created = create_from_content(&content, &options, &|done| progress.set(done));
    progress.finish();
    let created = created?;
    let origin_peer_id = peer_id(random_seed());
    let request = PublishRequest {
        channel: args.channel.clone(),
        keep: args.keep,
        to: args.to.iter().cloned().collect(),
        torrent_hex: hex::encode(&created.bytes),
        origin_bps: args.origin_rate,
        origin_peer_id: Some(peer_id_hex(&origin_peer_id)),
        origin_agent: origin_agent(&args)?,
    };
    let meta = created.metainfo;
    runtime.block_on(async move {
        let published: Published = client
            .post_json("/api/fleet/releases", &request)
            .await
            .context("cannot register the release")?;
        eprintln!(
            "published {} on {} as release {} (rollout {}), {} host{} targeted",
            meta.name,
            args.channel,
            published.release_id,
            published.rollout_id,
            published.hosts.len(),
            if published.hosts.len() == 1 { "" } else { "s" }
        );
        let plan = Follow {
            rollout_id: published.rollout_id,
            timeout: args.timeout,
            json: args.json,
            show_progress: args.wait,
        };
        let handed = match &published.seeded_by {
            Some(host) => handed_over(&client, published.rollout_id, host).await?,
            None => false,
        };
        let ok = if handed {
            if !args.wait {
                if args.json {
                    let path = format!("/api/fleet/rollouts/{}", published.rollout_id);
                    let view: RolloutView = client.get_json(&path).await?;
                    println!("{}", serde_json::to_string_pretty(&view)?);
                }
                return Ok(Outcome::Success); // the origin's agent seeds on
            }
            follow(&client, None, &plan).await?
        } else {
            let spec = NodeSpec {
                trackers: vec![info.announce_url],
                origin: true,
                max_upload_bytes_per_s: args.max_upload.map(|bps| bps / 8),
                peer_id: Some(origin_peer_id),
                origin_peer_id: None,
            };
            let (host, seed) = seed_here(&meta, &args.path, args.port, &spec).await?;
            let result = follow(&client, Some(&seed), &plan).await;
            seed.stop().await;
            drop(host);
            result?
        };
        // Without --wait the rollout's result is reported, not the exit status.
        Ok(if ok || !args.wait {
            Outcome::Success
        } else {
            Outcome::Incomplete
        })
    })
}

/// Who should seed: the agent named by --origin-agent (default: this host's name), with
/// the published file's absolute path; `None` with --seed-here.
fn origin_agent(args: &PublishArgs) -> anyhow::Result<Option<OriginAgent>> {
    if args.seed_here {
        return Ok(None);
    }
    let host = match &args.origin_agent {
        Some(host) => host.clone(),
        None => match host_name() {
            Ok(host) => host,
            Err(_) => return Ok(None),
        },
    };
    let path = std::fs::canonicalize(&args.path)
        .with_context(|| format!("cannot resolve {}", args.path.display()))?;
    let path = path
        .to_str()
        .with_context(|| format!("{} is not UTF-8", path.display()))?;
    Ok(Some(OriginAgent {
        host,
        path: path.to_string(),
    }))
}

/// Starts the in-process origin seed on `port` (any free port when it is taken); the
/// host must outlive the seed.
async fn seed_here(
    meta: &Metainfo,
    path: &std::path::Path,
    port: u16,
    spec: &NodeSpec,
) -> anyhow::Result<(NodeHost, NodeHandle)> {
    let root = content_path(meta, path)?;
    let storage = Storage::open(meta, &root, false)?;
    let any = std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED);
    let host = NodeHost::bind(any, port)
        .await
        .with_context(|| format!("cannot seed on port {port}"))?;
    let full = Bitfield::full(meta.geometry.piece_count());
    let seed = NodeHandle::start(&host, meta, storage, full, spec)
        .await
        .with_context(|| format!("cannot seed on port {port}"))?;
    eprintln!("origin seeding on port {}", seed.local_addr().port());
    Ok((host, seed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_units() {
        assert_eq!(duration_arg("90"), Ok(Duration::from_secs(90)));
        assert_eq!(duration_arg("20m"), Ok(Duration::from_secs(1200)));
        assert_eq!(duration_arg("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(duration_arg("500ms"), Ok(Duration::from_millis(500)));
        assert!(duration_arg("5 parsecs").is_err());
        assert!(duration_arg("").is_err());
    }
}
