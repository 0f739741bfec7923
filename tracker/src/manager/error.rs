//! Errors of the manager's JSON API, each with its HTTP status; bodies are
//! `{"error": "<text>"}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::registry::RegistryError;
use super::seed::SeedError;

/// Why an API request failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Not 40 hex digits.
    #[error("{0:?} is not an info-hash of 40 hex digits")]
    BadInfoHash(String),
    /// Neither registered nor tracked.
    #[error("unknown torrent {0}")]
    UnknownTorrent(String),
    /// The request is malformed.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// `POST /api/torrents` with neither multipart nor JSON.
    #[error("send multipart/form-data with a `file` field, or JSON {{\"path\": ...}}")]
    UnsupportedMediaType,
    /// Registration by path is off.
    #[error("registration by path is disabled: start the tracker with an allowed directory")]
    PathRegistrationDisabled,
    /// The path resolves outside the allowed directory.
    #[error("{path} is outside the allowed directory {allowed}")]
    OutsideAllowedDir {
        /// The path as resolved.
        path: String,
        /// The allowed directory as resolved.
        allowed: String,
    },
    /// The path does not exist.
    #[error("no such file: {0}")]
    NoSuchFile(String),
    /// The path is neither a regular file nor a directory.
    #[error("{0} is not a regular file or a directory")]
    NotAFile(String),
    /// Nothing to share.
    #[error("the file is empty")]
    EmptyFile,
    /// The upload broke off or could not be read.
    #[error("upload failed: {0}")]
    Upload(String),
    /// The body is over its route's limit.
    #[error("too large: {0}")]
    TooLarge(String),
    /// The file checked is not the file opened: a link or a component was swapped.
    #[error("{0} changed while it was checked (a link swapped?): refused")]
    Swapped(String),
    /// The content changed while it was hashed.
    #[error("the content changed while it was hashed: {0}")]
    Changed(String),
    /// Seeding could not start.
    #[error(transparent)]
    Seed(#[from] SeedError),
    /// The registry failed.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// Disk or another internal failure.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// The HTTP status for this error.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadInfoHash(_) | ApiError::BadRequest(_) | ApiError::NotAFile(_) => {
                StatusCode::BAD_REQUEST
            }
            ApiError::EmptyFile | ApiError::Upload(_) => StatusCode::BAD_REQUEST,
            ApiError::UnknownTorrent(_) | ApiError::NoSuchFile(_) => StatusCode::NOT_FOUND,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::PathRegistrationDisabled | ApiError::OutsideAllowedDir { .. } => {
                StatusCode::FORBIDDEN
            }
            ApiError::Swapped(_) => StatusCode::FORBIDDEN,
            ApiError::Changed(_) => StatusCode::CONFLICT,
            ApiError::Seed(SeedError::BadTorrent { .. }) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::Seed(SeedError::Unavailable) => StatusCode::NOT_IMPLEMENTED,
            ApiError::Seed(_) => StatusCode::CONFLICT,
            ApiError::Registry(_) | ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub(crate) fn internal(err: impl std::fmt::Display) -> Self {
        ApiError::Internal(err.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status().is_server_error() {
            tracing::error!(error = %self, "manager API");
        }
        (
            self.status(),
            Json(serde_json::json!({ "error": self.to_string() })),
        )
            .into_response()
    }
}
