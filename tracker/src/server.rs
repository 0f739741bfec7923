//! The accept loop with its connection cap and timeouts, shared with the `/metrics`
//! servers of `seed`, `get` and `agent`: it lives in [`swarm_net::http_server`].

pub use swarm_net::http_server::*;
