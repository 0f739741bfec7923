//! `swarm agent`: the long-running fleet agent (one per server; see `packaging/`).

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use swarm_net::agent::{self, AgentSettings};

use super::seed::{interrupted, runtime};
use super::Outcome;

/// Run the fleet agent: register with the manager, fetch every release this host's labels
/// are targeted by into DIR/CHANNEL/FILE, verify and seed it, delete what retention
/// drops, and report each release's state about once a second, until Ctrl-C or SIGTERM.
///
/// Every flag can also be set in a TOML file (--config); flags override it.
#[derive(Debug, Args)]
pub struct AgentArgs {
    /// The manager, e.g. http://manager.lan:6969.
    #[arg(long, value_name = "URL")]
    manager: Option<String>,
    /// Where releases are kept (DIR/CHANNEL/FILE).
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// Name reported to the manager [default: the host name].
    #[arg(long)]
    name: Option<String>,
    /// A label, e.g. rack=a (repeatable).
    #[arg(long = "label", value_name = "KEY=VALUE", value_parser = label_arg)]
    labels: Vec<(String, String)>,
    /// File holding the fleet token.
    #[arg(long, value_name = "FILE")]
    token_file: Option<PathBuf>,
    /// Address to listen on for peers [default: 0.0.0.0].
    #[arg(long, value_name = "ADDR")]
    listen: Option<IpAddr>,
    /// TCP port for peers [default: 6881].
    #[arg(long, value_name = "N")]
    port: Option<u16>,
    /// This host's link rate, e.g. 1Gbit/s (lets the manager compute the fluid bound).
    #[arg(long, value_name = "RATE")]
    link_rate: Option<String>,
    /// Serve Prometheus metrics at http://ADDR/metrics, e.g. 127.0.0.1:9469 [default: off].
    #[arg(long, value_name = "ADDR")]
    metrics: Option<SocketAddr>,
    /// Run PROGRAM with each downloaded release's path once it is verified under its final
    /// name (once per copy: not again after a restart once it succeeded).
    #[arg(long, value_name = "PROGRAM")]
    on_complete: Option<String>,
    /// Kill the --on-complete program after this long [default: 10m].
    #[arg(long, value_name = "DURATION")]
    on_complete_timeout: Option<String>,
    /// TOML file with any of these settings.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
}

/// clap value parser for `KEY=VALUE`.
pub fn label_arg(text: &str) -> Result<(String, String), String> {
    let (key, value) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?}: expected KEY=VALUE"))?;
    if key.is_empty() || value.is_empty() {
        return Err(format!("{text:?}: expected KEY=VALUE"));
    }
    Ok((key.to_string(), value.to_string()))
}

/// Runs `swarm agent`.
pub fn run_agent(args: AgentArgs) -> anyhow::Result<Outcome> {
    let file = match &args.config {
        Some(path) => AgentSettings::from_file(path)?,
        None => AgentSettings::default(),
    };
    let flags = AgentSettings {
        manager: args.manager,
        dir: args.dir,
        name: args.name,
        labels: args.labels.into_iter().collect(),
        token_file: args.token_file,
        listen: args.listen,
        port: args.port,
        link_rate: args.link_rate,
        metrics: args.metrics,
        on_complete: args.on_complete,
        on_complete_timeout: args.on_complete_timeout,
    };
    let config = file.overridden_by(flags).resolve()?;
    runtime()?
        .block_on(async { agent::run(config, interrupted()).await })
        .context("the agent stopped")?;
    Ok(Outcome::Success)
}
