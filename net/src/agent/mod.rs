//! `swarm agent`: one long-running process per server. It registers with the manager
//! under its host name and labels, keeps one live channel to it, fetches every release its
//! labels are targeted by into `DIR/CHANNEL/FILE` (a `.part` until verified), seeds what it
//! holds while it is wanted, deletes what retention drops, and reports each release's state
//! about once a second. After a restart (`kill -9` included) it resumes from what is on
//! disk: [`crate::download::prepare`] keeps every verified piece of a `.part`. The
//! protocol's JSON types and the fleet token are shared with the manager and `swarm publish`
//! in [`swarm_service::wire`] and [`swarm_service::token`].
//!
//! - [`client`]: the HTTP client (reqwest, rustls) and the live channel.
//! - [`config`]: flags and the TOML config file.
//! - [`daemon`]: the main loop.
//! - [`release`]: one release's life.
//! - [`origin`]: seeding a release in place on the host it was published from.
//! - [`node`]: the one file that knows the runtime's API.
//! - [`disk`]: paths, free space, deleting.
//! - [`memory`]: giving what a finished transfer freed back to the system.
//! - [`on_complete`]: `--on-complete PROGRAM`, once per downloaded copy.
//! - [`metrics`](mod@metrics): the agent's `/metrics`.

pub mod client;
pub mod config;
pub mod daemon;
pub mod disk;
pub mod memory;
pub mod metrics;
pub mod node;
pub mod on_complete;
pub mod origin;
pub mod release;

pub use config::{AgentConfig, AgentSettings, ConfigError};
pub use daemon::{run, AgentError};
