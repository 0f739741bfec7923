//! The tracker process's configuration: what `swarm tracker` flags fill in.

use std::net::SocketAddr;
use std::path::PathBuf;

use crate::core::CoreConfig;
use crate::error::TrackerError;
use swarm_service::http_server::ConnectionLimits;

/// Default [`TrackerConfig::max_upload_bytes`]: 64 GiB, room for the 10-20 GB images the
/// tool is for.
pub const DEFAULT_MAX_UPLOAD_BYTES: u64 = 64 << 30;

/// Everything `swarm tracker` needs to run the tracker and the manager.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackerConfig {
    /// Address to listen on (tracker, manager page, API and metrics share it).
    pub listen: SocketAddr,
    /// Directory for the registry (`registry.sqlite3`) and uploaded files (`files/`).
    pub data_dir: PathBuf,
    /// Track only torrents registered with the manager (announces for others fail).
    pub registered_only: bool,
    /// If not empty, announces and scrapes must go to `/<key>/announce` and `/<key>/scrape`
    /// with one of these keys (letters, digits, `-`, `_`); generated torrents embed the first.
    pub announce_keys: Vec<String>,
    /// Files under this directory may be registered by path (`POST /api/torrents` with JSON
    /// `{"path": ...}`); `None` turns registration by path off.
    pub allowed_dir: Option<PathBuf>,
    /// How often clients announce, seconds; peers silent for twice this are dropped.
    pub interval_s: u32,
    /// Base URL other hosts reach this server at (`http://host:port`); generated torrents
    /// announce to `<public_url>/announce`. Default: derived from the listen address.
    pub public_url: Option<String>,
    /// Take the peer's address from the `ip` parameter when present (BEP 3) instead of the
    /// connection's source address. Off by default: any client could point peers elsewhere.
    pub trust_ip_param: bool,
    /// Most peers returned by one announce.
    pub max_numwant: u32,
    /// Largest upload accepted (`POST /api/torrents` multipart body), bytes.
    pub max_upload_bytes: u64,
    /// Connection cap and timeouts of the HTTP server.
    pub connections: ConnectionLimits,
    /// The fleet token: when set, state-changing calls and agent channels need it
    /// ([`crate::auth`]).
    pub token: Option<swarm_service::token::Token>,
}

impl TrackerConfig {
    /// Defaults for the given listen address and data directory.
    pub fn new(listen: SocketAddr, data_dir: impl Into<PathBuf>) -> Self {
        TrackerConfig {
            listen,
            data_dir: data_dir.into(),
            registered_only: false,
            announce_keys: Vec::new(),
            allowed_dir: None,
            interval_s: 30,
            public_url: None,
            trust_ip_param: false,
            max_numwant: 200,
            max_upload_bytes: DEFAULT_MAX_UPLOAD_BYTES,
            connections: ConnectionLimits::default(),
            token: None,
        }
    }

    /// The core's limits derived from this configuration.
    pub fn core_config(&self) -> CoreConfig {
        let mut core = CoreConfig::with_interval(self.interval_s);
        core.registered_only = self.registered_only;
        core.max_numwant = self.max_numwant;
        core.default_numwant = core.default_numwant.min(self.max_numwant);
        core
    }

    /// Checks what the types cannot say.
    pub fn validate(&self) -> Result<(), TrackerError> {
        for key in &self.announce_keys {
            let ok = !key.is_empty()
                && key.len() <= 128
                && key
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if !ok {
                return Err(TrackerError::Config(format!(
                    "announce key {key:?} must be 1-128 letters, digits, `-` or `_`"
                )));
            }
        }
        if self.interval_s == 0 {
            return Err(TrackerError::Config("interval must be at least 1 s".into()));
        }
        if let Some(url) = &self.public_url {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(TrackerError::Config(format!(
                    "public URL {url:?} must start with http:// or https://"
                )));
            }
        }
        Ok(())
    }
}

impl Default for TrackerConfig {
    fn default() -> Self {
        TrackerConfig::new(SocketAddr::from(([0, 0, 0, 0], 6969)), "swarm-tracker")
    }
}
