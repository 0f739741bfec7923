//! Errors that stop the tracker process (request-level errors have their own enums).

use crate::manager::registry::RegistryError;

/// Why the tracker could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum TrackerError {
    /// The configuration is inconsistent.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// Binding, serving or creating the data directory failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The registry could not be opened.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// The fleet tables could not be opened.
    #[error(transparent)]
    Fleet(#[from] crate::fleet::StoreError),
}

impl TrackerError {
    pub(crate) fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> Self {
        let context = context.into();
        move |source| TrackerError::Io { context, source }
    }
}
