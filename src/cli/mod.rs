//! The command line: one subcommand per variant of [`Command`], each run by `run_*` in its
//! own file. `anyhow` lives here at the edge; the crates return typed errors.

mod agent;
mod create;
mod demo;
mod demo_record;
pub mod failure;
mod get;
mod get_json;
mod inspect;
mod logging;
mod progress;
mod publish;
mod report;
mod rollout_wait;
mod seed;
mod sim;
mod status;
mod sweep;
mod tracker;
mod tracker_seed;
mod verify;

use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use swarm_engine::metainfo::Metainfo;
use swarm_engine::units::parse_size;

/// Exit code when the work was done but the answer is "no" (e.g. `verify` found the copy
/// incomplete or corrupt).
pub const EXIT_INCOMPLETE: u8 = 1;
/// Exit code for usage errors and unusable input (clap uses it for bad arguments too).
pub const EXIT_ERROR: u8 = 2;

/// Exit code of `get` when its `--on-complete` command failed (the copy is verified).
pub const EXIT_HOOK_FAILED: u8 = 3;

const EXIT_CODES: &str = "\
Exit status: 0 on success; 1 when the work ran but the answer is no (`verify` finds the
copy incomplete or corrupt, `get` or `demo` stopped before every piece was verified, `sim`
has peers that never finished); 2 for usage errors and unusable input (a missing file, a
malformed torrent); 3 when `get --on-complete` ran and failed. With --json, an error is
also printed on stdout as {\"event\": \"error\", \"error\": ..., \"exit_code\": ...}.
Logs go to stderr: info for seed, get, tracker and demo, warnings otherwise; RUST_LOG
(e.g. RUST_LOG=debug) overrides.";

/// `0.1.0 (commit 1a2b3c4d5e6f)`: the crate version and the git commit it was built from.
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("SWARM_GIT_COMMIT"),
    ")"
);

/// Sync very large files from one origin to many servers, BitTorrent style.
#[derive(Debug, Parser)]
#[command(name = "swarm", version = VERSION, about, after_help = EXIT_CODES)]
pub struct Cli {
    /// Log lines on stderr as text or JSON (one object per line).
    #[arg(
        long,
        global = true,
        value_enum,
        default_value_t,
        value_name = "FORMAT"
    )]
    log_format: logging::LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    Create(create::CreateArgs),
    Inspect(inspect::InspectArgs),
    Verify(verify::VerifyArgs),
    Seed(seed::SeedArgs),
    Get(get::GetArgs),
    Demo(demo::DemoArgs),
    Sim(sim::SimArgs),
    Tracker(tracker::TrackerArgs),
    Agent(agent::AgentArgs),
    Publish(publish::PublishArgs),
    Report(report::ReportArgs),
}

impl Cli {
    /// Whether the command was given `--json`: its errors are then reported as JSON too.
    pub fn wants_json(&self) -> bool {
        match &self.command {
            Command::Inspect(args) => args.json,
            Command::Verify(args) => args.json,
            Command::Get(args) => args.json,
            Command::Sim(args) => args.json,
            Command::Report(args) => args.json,
            Command::Publish(args) => args.json,
            Command::Create(_)
            | Command::Agent(_)
            | Command::Seed(_)
            | Command::Demo(_)
            | Command::Tracker(_) => false,
        }
    }

    /// Installs logging for this command (see [`logging`]).
    pub fn init_logging(&self) {
        let long_running = matches!(
            self.command,
            Command::Seed(_)
                | Command::Get(_)
                | Command::Tracker(_)
                | Command::Demo(_)
                | Command::Agent(_)
                | Command::Publish(_)
        );
        let filter = if long_running {
            logging::LONG_RUNNING_FILTER
        } else {
            logging::SHORT_FILTER
        };
        logging::init(self.log_format, filter);
    }
}

/// How a command that ran to its end turned out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Exit 0.
    Success,
    /// Exit 1: the check ran and failed.
    Incomplete,
    /// Exit 3: `get --on-complete` ran and failed.
    HookFailed,
}

impl Outcome {
    /// The process exit code.
    pub fn exit_code(self) -> ExitCode {
        match self {
            Outcome::Success => ExitCode::SUCCESS,
            Outcome::Incomplete => ExitCode::from(EXIT_INCOMPLETE),
            Outcome::HookFailed => ExitCode::from(EXIT_HOOK_FAILED),
        }
    }
}

/// Runs the parsed command.
pub fn run(cli: Cli) -> anyhow::Result<Outcome> {
    match cli.command {
        Command::Create(args) => create::run_create(args),
        Command::Inspect(args) => inspect::run_inspect(args),
        Command::Verify(args) => verify::run_verify(args),
        Command::Seed(args) => seed::run_seed(args),
        Command::Get(args) => get::run_get(args),
        Command::Demo(args) => demo::run_demo(args),
        Command::Sim(args) => sim::run_sim(args),
        Command::Tracker(args) => tracker::run_tracker(args),
        Command::Agent(args) => agent::run_agent(args),
        Command::Publish(args) => publish::run_publish(args),
        Command::Report(args) => report::run_report(args),
    }
}

/// clap value parser for sizes such as `256KiB`, `16MiB` or `1048576`.
pub fn size_arg(text: &str) -> Result<u64, String> {
    parse_size(text).map_err(|e| e.to_string())
}

/// Largest `.torrent` file read (a 20 GiB file in 16 KiB pieces needs about 26 MB).
const MAX_TORRENT_BYTES: u64 = 128 << 20;

/// Reads and validates a `.torrent` file.
pub fn read_torrent(path: &Path) -> anyhow::Result<Metainfo> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut bytes = Vec::new();
    file.take(MAX_TORRENT_BYTES + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read {}", path.display()))?;
    if bytes.len() as u64 > MAX_TORRENT_BYTES {
        bail!(
            "{} is larger than {} MiB: not a torrent file",
            path.display(),
            MAX_TORRENT_BYTES >> 20
        );
    }
    Metainfo::from_bytes(&bytes)
        .with_context(|| format!("{} is not a valid torrent", path.display()))
}

/// Hashing threads: `--threads` or one per core.
pub fn hash_config(threads: Option<usize>) -> swarm_net::hashing::HashConfig {
    let mut config = swarm_net::hashing::HashConfig::for_this_machine();
    if let Some(threads) = threads {
        config.workers = threads.max(1);
    }
    config
}
