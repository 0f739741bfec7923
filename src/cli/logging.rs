//! Logs on stderr through `tracing`: what level by default, plain or JSON lines, colours only
//! on a terminal. `RUST_LOG` overrides the level whatever the command.

use std::io::IsTerminal;

use clap::ValueEnum;
use tracing_subscriber::EnvFilter;

/// How log lines are written (`--log-format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum LogFormat {
    /// One human line per event: time, level, where, message and fields.
    #[default]
    Text,
    /// One JSON object per event: `timestamp`, `level`, `target`, `fields.message`, fields.
    Json,
}

/// Long-running commands (`seed`, `get`, `tracker`, `demo`) log at info: listening
/// addresses, registrations, unreachable trackers, peers, bans, completion. Our crates only:
/// libraries stay at warn.
pub const LONG_RUNNING_FILTER: &str =
    "warn,swarm=info,swarm_net=info,swarm_service=info,swarm_tracker=info";

/// The other commands log warnings and errors only.
pub const SHORT_FILTER: &str = "warn";

/// Installs the subscriber: `RUST_LOG` if set, else `default_filter`.
pub fn init(format: LogFormat, default_filter: &str) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.with_ansi(std::io::stderr().is_terminal()).init(),
        LogFormat::Json => builder.json().with_ansi(false).init(),
    }
}
