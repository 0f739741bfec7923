//! One torrent on its own host: what `swarm seed`, `swarm get` and the tracker's seeding
//! task run. [`start`] binds the port, starts a [`Host`] and adds the torrent; the handle it
//! returns owns the host, which stops with the torrent.

use swarm_engine::bitfield::Bitfield;
use swarm_engine::metainfo::Metainfo;

pub use crate::host::{Host, HostError, Running};
pub use crate::node::commands::HIGH_WATER_BYTES;
pub use crate::node::options::{peer_id, random_seed, NodeOptions, Status};

use crate::storage::Storage;

/// Binds `options.listen` and starts the torrent on a host of its own.
pub async fn start(
    metainfo: &Metainfo,
    storage: Storage,
    verified: Bitfield,
    options: NodeOptions,
) -> std::io::Result<Running> {
    let host = Host::bind(options.listen).await?;
    let running = host
        .add(metainfo, storage, verified, options)
        .await
        .map_err(std::io::Error::other)?;
    Ok(running.owning(host))
}
