//! # swarm-service: what the long-running services share
//!
//! The pieces the tracker (and manager), `swarm agent`, `swarm publish` and the `/metrics`
//! of `seed` and `get` have in common, kept apart from the runtime (`swarm-net`) and the
//! tracker (`swarm-tracker`) so that neither has to depend on the other:
//!
//! - [`http_server`]: the hardened HTTP/1.1 accept loop (a connection cap and timeouts)
//!   every server here uses.
//! - [`prometheus`]: Prometheus text rendered on a recorder of its own, per scrape.
//! - [`wire`]: the fleet protocol's JSON types, shared by agents, `swarm publish` and the
//!   manager.
//! - [`token`]: the fleet token and its constant-time comparison.

pub mod http_server;
pub mod prometheus;
pub mod token;
pub mod wire;
