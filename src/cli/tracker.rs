//! `swarm tracker`: the internal HTTP tracker and the manager (page, API, metrics).

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use swarm_tracker::TrackerConfig;

use super::Outcome;

/// Run the internal tracker (/announce, /scrape), the manager page and JSON API (/, /api/)
/// and Prometheus metrics (/metrics) on one address, until Ctrl-C.
#[derive(Debug, Args)]
pub struct TrackerArgs {
    /// Address to listen on.
    #[arg(long, default_value = "0.0.0.0:6969", value_name = "ADDR")]
    listen: SocketAddr,
    /// Directory for the registry (SQLite) and uploaded files.
    #[arg(long, default_value = "swarm-tracker-data", value_name = "DIR")]
    data: PathBuf,
    /// Track only torrents registered with the manager.
    #[arg(long)]
    registered_only: bool,
    /// Require this key in announce URLs (`/<key>/announce`); repeatable.
    #[arg(long = "announce-key", value_name = "KEY")]
    announce_keys: Vec<String>,
    /// Allow registering files by path under this directory.
    #[arg(long, value_name = "DIR")]
    allowed_dir: Option<PathBuf>,
    /// Announce interval in seconds.
    #[arg(long, default_value_t = 30, value_name = "SECONDS")]
    interval: u32,
    /// Base URL other hosts reach this server at, e.g. http://tracker.lan:6969.
    #[arg(long, value_name = "URL")]
    public_url: Option<String>,
    /// File holding the fleet token: agents, publish and every state-changing call must
    /// send it (Authorization: Bearer TOKEN), or get 401.
    #[arg(long, value_name = "FILE")]
    token_file: Option<PathBuf>,
}

/// Runs `swarm tracker`.
pub fn run_tracker(args: TrackerArgs) -> anyhow::Result<Outcome> {
    let mut config = TrackerConfig::new(args.listen, args.data);
    config.registered_only = args.registered_only;
    config.announce_keys = args.announce_keys;
    config.allowed_dir = args.allowed_dir;
    config.interval_s = args.interval;
    config.public_url = args.public_url;
    config.token = args
        .token_file
        .as_deref()
        .map(swarm_service::token::Token::from_file)
        .transpose()?;
    super::seed::runtime()?
        .block_on(async {
            let seeder = std::sync::Arc::new(super::tracker_seed::NetSeeder);
            swarm_tracker::run(config, Some(seeder), super::seed::interrupted()).await
        })
        .context("the tracker stopped")?;
    Ok(Outcome::Success)
}
