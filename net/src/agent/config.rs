//! The agent's configuration: every flag of `swarm agent` can also be set in a TOML file
//! (`--config FILE`); flags override the file.
//!
//! ```toml
//! manager = "http://manager.lan:6969"
//! dir = "/var/lib/swarm-agent"
//! name = "test-07"            # default: the host name
//! token_file = "/etc/swarm/token"
//! listen = "0.0.0.0"
//! port = 6881
//! link_rate = "1Gbit/s"       # optional: lets the manager compute the fluid bound
//! metrics = "127.0.0.1:9469"  # optional: Prometheus text at http://ADDR/metrics
//! on_complete = "/usr/local/bin/image-ready"  # optional: run once per downloaded copy
//! on_complete_timeout = "10m"
//! [labels]
//! rack = "a"
//! role = "test"
//! ```

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use swarm_service::token::{Token, TokenError};
use swarm_service::wire::Labels;

use super::on_complete::{OnComplete, DEFAULT_ON_COMPLETE_TIMEOUT};

/// Largest config file read.
pub const MAX_CONFIG_BYTES: u64 = 1 << 20;
/// Default port peers reach the agent on.
pub const DEFAULT_AGENT_PORT: u16 = 6881;

/// Why the configuration is unusable.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}", path = path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not valid TOML for an agent.
    #[error("config file {path}: {reason}", path = path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A required setting is missing.
    #[error("{0} is required (a flag or a key in the config file)")]
    Missing(&'static str),
    /// The token file is unusable.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// Another setting is invalid.
    #[error("{0}")]
    Invalid(String),
}

/// What a config file or the flags may set; `None`: not set there.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentSettings {
    /// Manager URL (`http://host:port`).
    pub manager: Option<String>,
    /// Download directory.
    pub dir: Option<PathBuf>,
    /// Host name reported to the manager.
    pub name: Option<String>,
    /// Labels (flags add to and override the file's).
    #[serde(default)]
    pub labels: Labels,
    /// File holding the fleet token.
    pub token_file: Option<PathBuf>,
    /// Address to listen on.
    pub listen: Option<IpAddr>,
    /// Port to listen on.
    pub port: Option<u16>,
    /// The host's link rate (`1Gbit/s`), reported for the fluid bound.
    pub link_rate: Option<String>,
    /// Where to serve `/metrics` (none: no metrics server).
    pub metrics: Option<SocketAddr>,
    /// Program run once a downloaded copy is verified under its final name.
    pub on_complete: Option<String>,
    /// Kill that program after this long (`90s`, `10m`).
    pub on_complete_timeout: Option<String>,
}

impl AgentSettings {
    /// Reads a TOML config file.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        use std::io::Read;
        let read = |source| ConfigError::Read {
            path: path.into(),
            source,
        };
        let mut text = String::new();
        std::fs::File::open(path)
            .map_err(read)?
            .take(MAX_CONFIG_BYTES)
            .read_to_string(&mut text)
            .map_err(read)?;
        toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.into(),
            reason: e.to_string(),
        })
    }

    /// These settings with `over`'s set values taking precedence.
    pub fn overridden_by(mut self, over: AgentSettings) -> Self {
        self.manager = over.manager.or(self.manager);
        self.dir = over.dir.or(self.dir);
        self.name = over.name.or(self.name);
        self.labels.extend(over.labels);
        self.token_file = over.token_file.or(self.token_file);
        self.listen = over.listen.or(self.listen);
        self.port = over.port.or(self.port);
        self.link_rate = over.link_rate.or(self.link_rate);
        self.metrics = over.metrics.or(self.metrics);
        self.on_complete = over.on_complete.or(self.on_complete);
        self.on_complete_timeout = over.on_complete_timeout.or(self.on_complete_timeout);
        self
    }

    /// Checks the settings and fills in defaults (`name`: the host name).
    pub fn resolve(self) -> Result<AgentConfig, ConfigError> {
        let manager = self.manager.ok_or(ConfigError::Missing("--manager"))?;
        if !(manager.starts_with("http://") || manager.starts_with("https://")) {
            return Err(ConfigError::Invalid(format!(
                "manager URL {manager:?} must start with http:// or https://"
            )));
        }
        let name = match self.name {
            Some(name) => name,
            None => host_name()?,
        };
        let link_bps = self
            .link_rate
            .map(|r| {
                swarm_engine::units::parse_rate(&r).map_err(|e| ConfigError::Invalid(e.to_string()))
            })
            .transpose()?;
        let on_complete_timeout = match self.on_complete_timeout {
            Some(text) => swarm_engine::units::parse_duration(&text)
                .map_err(|e| ConfigError::Invalid(format!("on_complete_timeout: {e}")))?,
            None => DEFAULT_ON_COMPLETE_TIMEOUT,
        };
        Ok(AgentConfig {
            manager: manager.trim_end_matches('/').to_string(),
            dir: self.dir.ok_or(ConfigError::Missing("--dir"))?,
            name,
            labels: self.labels,
            token: self
                .token_file
                .as_deref()
                .map(Token::from_file)
                .transpose()?,
            listen: self.listen.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
            port: self.port.unwrap_or(DEFAULT_AGENT_PORT),
            link_bps,
            metrics: self.metrics,
            on_complete: self.on_complete.map(|command| OnComplete {
                command,
                timeout: on_complete_timeout,
            }),
        })
    }
}

/// A checked agent configuration.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    /// Manager URL, no trailing slash.
    pub manager: String,
    /// Releases go to `dir/CHANNEL/FILE`.
    pub dir: PathBuf,
    /// Host name.
    pub name: String,
    /// Labels.
    pub labels: Labels,
    /// The fleet token.
    pub token: Option<Token>,
    /// Address to listen on.
    pub listen: IpAddr,
    /// Port to listen on.
    pub port: u16,
    /// Link rate, bits per second.
    pub link_bps: Option<u64>,
    /// Where `/metrics` is served. Off unless set: the agent runs on every server, and a
    /// port opened by default would show release names to anyone who can reach it and
    /// collide between agents sharing a host.
    pub metrics: Option<SocketAddr>,
    /// Run once each downloaded release is verified under its final name.
    pub on_complete: Option<OnComplete>,
}

/// This machine's host name (`/proc/sys/kernel/hostname`, else `$HOSTNAME`).
pub fn host_name() -> Result<String, ConfigError> {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty());
    name.ok_or(ConfigError::Missing("--name (the host name is unknown)"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn flags_override_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("agent.toml");
        std::fs::write(
            &path,
            "manager = \"http://m:1\"\ndir = \"/d\"\nname = \"a\"\nport = 7\n\
             link_rate = \"200Mbit/s\"\nmetrics = \"127.0.0.1:9469\"\n\
             on_complete = \"/bin/true\"\non_complete_timeout = \"90s\"\n[labels]\nrack = \"a\"\nrole = \"test\"\n",
        )
        .unwrap();
        let file = AgentSettings::from_file(&path).unwrap();
        let flags = AgentSettings {
            name: Some("b".into()),
            labels: [("rack".to_string(), "b".to_string())].into(),
            ..AgentSettings::default()
        };
        let config = file.overridden_by(flags).resolve().unwrap();
        assert_eq!(config.name, "b");
        assert_eq!(config.port, 7);
        assert_eq!(config.manager, "http://m:1");
        assert_eq!(config.link_bps, Some(200_000_000));
        assert_eq!(config.metrics, Some("127.0.0.1:9469".parse().unwrap()));
        assert_eq!(config.labels["rack"], "b");
        assert_eq!(config.labels["role"], "test");
        let hook = config.on_complete.unwrap();
        assert_eq!(hook.command, "/bin/true");
        assert_eq!(hook.timeout, std::time::Duration::from_secs(90));
    }

    #[test]
    fn the_packaged_config_parses_and_resolves() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../packaging/agent.toml");
        let settings = AgentSettings::from_file(&path).unwrap();
        assert_eq!(settings.manager.as_deref(), Some("http://manager.lan:6969"));
        assert_eq!(settings.labels["role"], "test");
        // Everything but the token file (which is the host's own) resolves.
        let local = AgentSettings {
            token_file: None,
            ..settings
        };
        assert_eq!(local.resolve().unwrap().port, 6881);
    }

    #[test]
    fn unknown_keys_and_missing_settings_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("agent.toml");
        std::fs::write(&path, "manger = \"x\"\n").unwrap();
        assert!(matches!(
            AgentSettings::from_file(&path),
            Err(ConfigError::Parse { .. })
        ));
        let missing = AgentSettings::default().resolve();
        assert!(matches!(missing, Err(ConfigError::Missing("--manager"))));
    }
}
