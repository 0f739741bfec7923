//! The browser guard on state-changing calls: what another web site can make a visitor's
//! browser send must change nothing (issue 15 item 6: `POST .../seed` with
//! `Content-Type: text/plain` from another origin returned 202).
//!
//! A `POST`, `PUT`, `PATCH` or `DELETE` is refused with `403` when
//! - its `Origin` is not this server's (`null` included), or, without `Origin`, its
//!   `Referer` is another origin's, or `Sec-Fetch-Site` says `cross-site`;
//!
//! and a `POST`, `PUT` or `PATCH` with `415` unless its `Content-Type` is
//! `application/json` (or `multipart/form-data` on the upload route, or a form on the
//! sign-in route, which changes nothing without the token itself): a cross-site form
//! can only send `text/plain`, `application/x-www-form-urlencoded` and multipart without
//! a CORS preflight, which this server never grants. This server's origin is the request's
//! own `Host` (http or https) or the configured public URL's. Clients that are not browsers
//! send no `Origin` and pass; the fleet token (another layer) is what authenticates them.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::state::AppState;

/// The one route that takes `multipart/form-data` (uploads).
pub const UPLOAD_ROUTE: &str = "/api/torrents";
/// The one route that takes a form (`application/x-www-form-urlencoded`): signing in.
pub const SESSION_ROUTE: &str = "/api/session";

/// Why the guard refused a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GuardError {
    /// The request comes from a page of another origin.
    #[error("cross-origin request refused (from {0})")]
    CrossOrigin(String),
    /// A state-changing call without a JSON body type.
    #[error("send Content-Type: application/json (got {0:?})")]
    NotJson(String),
}

impl IntoResponse for GuardError {
    fn into_response(self) -> Response {
        let status = match self {
            GuardError::CrossOrigin(_) => StatusCode::FORBIDDEN,
            GuardError::NotJson(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        };
        (
            status,
            Json(serde_json::json!({ "error": self.to_string() })),
        )
            .into_response()
    }
}

/// The middleware: checks, then passes the request on.
pub(crate) async fn browser_guard(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    match check(
        &state.public_url,
        request.method(),
        request.uri().path(),
        request.headers(),
    ) {
        Ok(()) => next.run(request).await,
        Err(refused) => {
            tracing::info!(error = %refused, path = request.uri().path(), "browser guard");
            refused.into_response()
        }
    }
}

/// The rules of the module documentation.
pub fn check(
    public_url: &str,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
) -> Result<(), GuardError> {
    let changes_state = matches!(
        *method,
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    );
    if !changes_state {
        return Ok(());
    }
    let text = |name: &str| headers.get(name).map(|v| v.to_str().unwrap_or("\u{fffd}"));
    let host = text("host").unwrap_or("");
    let ours = |origin: &str| {
        let origin = origin.trim_end_matches('/').to_ascii_lowercase();
        let host = host.to_ascii_lowercase();
        origin == format!("http://{host}")
            || origin == format!("https://{host}")
            || origin == origin_of(public_url).to_ascii_lowercase()
    };
    if let Some(origin) = text("origin") {
        if !ours(origin) {
            return Err(GuardError::CrossOrigin(origin.chars().take(200).collect()));
        }
    } else if let Some(referer) = text("referer") {
        if !ours(origin_of(referer)) {
            let from = origin_of(referer).chars().take(200).collect();
            return Err(GuardError::CrossOrigin(from));
        }
    }
    if text("sec-fetch-site") == Some("cross-site") {
        return Err(GuardError::CrossOrigin("a cross-site page".into()));
    }
    if *method == Method::DELETE {
        return Ok(());
    }
    let content_type = text("content-type").unwrap_or("").to_ascii_lowercase();
    let essence = content_type.split(';').next().unwrap_or("").trim();
    let multipart_ok = path == UPLOAD_ROUTE && essence == "multipart/form-data";
    // The sign-in form: a plain HTML form can only post this type. A cross-site page
    // could post it too (the origin checks above stop browsers that say where they come
    // from), and it still needs the token itself.
    let form_ok = path == SESSION_ROUTE && essence == "application/x-www-form-urlencoded";
    if essence == "application/json" || multipart_ok || form_ok {
        Ok(())
    } else {
        Err(GuardError::NotJson(
            content_type.chars().take(100).collect(),
        ))
    }
}

/// `scheme://host[:port]` of a URL (the whole text when it has no path).
fn origin_of(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    match url[after_scheme..].find(['/', '?', '#']) {
        Some(end) => &url[..after_scheme + end],
        None => url,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().unwrap());
        }
        map
    }

    const PUBLIC: &str = "http://tracker.lan:6969";
    const JSON: (&str, &str) = ("content-type", "application/json");

    #[test]
    fn reads_pass_and_same_origin_json_passes() {
        let cross = headers(&[("host", "t:1"), ("origin", "http://evil.example")]);
        assert!(check(PUBLIC, &Method::GET, "/api/torrents", &cross).is_ok());
        for origin in ["http://t:1", "https://t:1", "http://tracker.lan:6969"] {
            let h = headers(&[("host", "t:1"), ("origin", origin), JSON]);
            assert!(
                check(PUBLIC, &Method::POST, "/api/x", &h).is_ok(),
                "{origin}"
            );
        }
        let no_browser = headers(&[("host", "t:1"), JSON]);
        assert!(check(PUBLIC, &Method::POST, "/api/x", &no_browser).is_ok());
    }

    #[test]
    fn other_origins_are_refused() {
        for pairs in [
            &[("host", "t:1"), ("origin", "http://evil.example"), JSON][..],
            &[("host", "t:1"), ("origin", "null"), JSON],
            &[
                ("host", "t:1"),
                ("referer", "http://evil.example/page"),
                JSON,
            ],
            &[("host", "t:1"), ("sec-fetch-site", "cross-site"), JSON],
            &[("host", "t:1"), ("origin", "http://t:1.evil.example"), JSON],
        ] {
            let err = check(PUBLIC, &Method::POST, "/api/x", &headers(pairs)).unwrap_err();
            assert!(matches!(err, GuardError::CrossOrigin(_)), "{pairs:?}");
            let delete = check(PUBLIC, &Method::DELETE, "/api/x", &headers(pairs));
            assert!(delete.is_err(), "{pairs:?}");
        }
        let same_referer = headers(&[("host", "t:1"), ("referer", "http://t:1/?poll"), JSON]);
        assert!(check(PUBLIC, &Method::POST, "/api/x", &same_referer).is_ok());
    }

    #[test]
    fn state_changes_need_json_and_multipart_only_uploads() {
        for content_type in ["text/plain", "application/x-www-form-urlencoded", ""] {
            let h = headers(&[("host", "t:1"), ("content-type", content_type)]);
            let err = check(PUBLIC, &Method::POST, "/api/x", &h).unwrap_err();
            assert!(matches!(err, GuardError::NotJson(_)), "{content_type}");
        }
        let multipart = headers(&[("content-type", "multipart/form-data; boundary=x")]);
        assert!(check(PUBLIC, &Method::POST, UPLOAD_ROUTE, &multipart).is_ok());
        assert!(check(PUBLIC, &Method::POST, "/api/torrents/a/seed", &multipart).is_err());
        // The sign-in form posts a form, from this server's own login page only.
        let form = |origin| {
            headers(&[
                ("host", "t:1"),
                ("origin", origin),
                ("content-type", "application/x-www-form-urlencoded"),
            ])
        };
        assert!(check(PUBLIC, &Method::POST, SESSION_ROUTE, &form("http://t:1")).is_ok());
        assert!(check(PUBLIC, &Method::POST, SESSION_ROUTE, &form("http://evil")).is_err());
        assert!(check(PUBLIC, &Method::POST, "/api/torrents", &form("http://t:1")).is_err());
        let charset = headers(&[("content-type", "application/json; charset=utf-8")]);
        assert!(check(PUBLIC, &Method::POST, "/api/x", &charset).is_ok());
        assert!(check(PUBLIC, &Method::DELETE, "/api/x", &HeaderMap::new()).is_ok());
    }
}
