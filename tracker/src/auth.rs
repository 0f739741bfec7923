//! The fleet token: when the tracker runs with `--token-file`, every state-changing
//! request (any method but `GET`, `HEAD` and `OPTIONS`) and every agent channel must carry
//! `Authorization: Bearer TOKEN`, or the `swarm_token` cookie a browser got from
//! `POST /api/session`; anything else gets `401` and changes nothing. Announces, scrapes
//! and pages are reads and stay open.
//!
//! Tokens ([`Token`]) are compared in constant time. The cookie
//! is `HttpOnly; SameSite=Strict`, so another site's page cannot make a browser send it.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Query, Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use axum::Form;
use serde::Deserialize;

use swarm_service::token::Token;

use crate::state::AppState;

/// The browser cookie's name.
pub const TOKEN_COOKIE: &str = "swarm_token";

/// Whether the request needs the token.
fn needs_token(method: &Method, path: &str) -> bool {
    let read = matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
    let channel = path.starts_with("/api/fleet/agents/");
    (!read || channel) && path != "/api/session"
}

/// The token a request offers: the bearer header, else the cookie.
fn offered(headers: &HeaderMap) -> Option<&str> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    bearer.or_else(|| {
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(name, _)| *name == TOKEN_COOKIE)
            .map(|(_, value)| value)
    })
}

/// Whether `headers` carry `token` (bearer header or cookie).
pub fn holds_token(headers: &HeaderMap, token: &Token) -> bool {
    offered(headers).is_some_and(|offer| token.matches(offer))
}

fn unauthorized(why: &str) -> Response {
    let body = serde_json::json!({ "error": format!("unauthorized: {why}") }).to_string();
    Response::builder()
        .status(StatusCode::UNAUTHORIZED)
        .header(header::WWW_AUTHENTICATE, "Bearer")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body))
        .unwrap_or_else(|_| StatusCode::UNAUTHORIZED.into_response())
}

/// The middleware: refuses requests that need the token and lack it.
pub(crate) async fn require_token(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let Some(token) = &state.config.token else {
        return next.run(request).await;
    };
    if !needs_token(request.method(), request.uri().path()) {
        return next.run(request).await;
    }
    match offered(request.headers()) {
        Some(offer) if token.matches(offer) => next.run(request).await,
        Some(_) => unauthorized("wrong token"),
        None => unauthorized("send Authorization: Bearer TOKEN (the fleet token)"),
    }
}

/// Form body of `POST /api/session`.
#[derive(Debug, Deserialize)]
pub(crate) struct SessionForm {
    token: String,
    /// Page to go back to (a path on this server).
    next: Option<String>,
}

/// Query of `GET /login`.
#[derive(Debug, Deserialize)]
pub(crate) struct LoginQuery {
    next: Option<String>,
}

/// `next` when it is a path on this server, else `/`.
fn local_path(next: Option<&str>) -> &str {
    match next {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && path.len() <= 200
                && path.bytes().all(|b| b.is_ascii_graphic() && b != b'\\') =>
        {
            path
        }
        _ => "/",
    }
}

/// `GET /login[?next=/fleet]`: a form that trades the token for the cookie.
pub(crate) async fn login_page(Query(query): Query<LoginQuery>) -> Html<String> {
    let next = crate::manager::page::escape(local_path(query.next.as_deref()));
    Html(format!(
        "<!doctype html><meta charset=utf-8><title>swarm: sign in</title>\
         <form method=post action=/api/session><label>Fleet token \
         <input type=password name=token autofocus></label>\
         <input type=hidden name=next value=\"{next}\"> <button>Sign in</button></form>"
    ))
}

/// `POST /api/session` (form `token=...`): sets the `SameSite=Strict` cookie.
pub(crate) async fn session(
    State(state): State<Arc<AppState>>,
    Form(form): Form<SessionForm>,
) -> Response {
    let Some(token) = &state.config.token else {
        return (StatusCode::NO_CONTENT, ()).into_response();
    };
    if !token.matches(form.token.trim()) {
        return unauthorized("wrong token");
    }
    let cookie = format!(
        "{TOKEN_COOKIE}={}; Path=/; HttpOnly; SameSite=Strict",
        token.expose()
    );
    Response::builder()
        .status(StatusCode::SEE_OTHER)
        .header(header::SET_COOKIE, cookie)
        .header(header::LOCATION, local_path(form.next.as_deref()))
        .body(Body::empty())
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn reads_need_no_token_but_channels_and_changes_do() {
        assert!(!needs_token(&Method::GET, "/api/torrents"));
        assert!(!needs_token(&Method::GET, "/announce"));
        assert!(needs_token(&Method::GET, "/api/fleet/agents/a/channel"));
        assert!(needs_token(&Method::POST, "/api/torrents"));
        assert!(needs_token(&Method::DELETE, "/api/torrents/x/seed"));
        assert!(!needs_token(&Method::POST, "/api/session"));
    }

    #[test]
    fn sign_in_goes_back_only_to_our_own_pages() {
        assert_eq!(local_path(Some("/fleet?rollout=2")), "/fleet?rollout=2");
        assert_eq!(local_path(Some("//evil.example/")), "/");
        assert_eq!(local_path(Some("https://evil.example/")), "/");
        assert_eq!(local_path(Some("/\\evil")), "/");
        assert_eq!(local_path(None), "/");
    }

    #[test]
    fn the_cookie_counts_when_there_is_no_header() {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, "a=b; swarm_token=tok".parse().unwrap());
        assert_eq!(offered(&headers), Some("tok"));
        headers.insert(header::AUTHORIZATION, "Bearer other".parse().unwrap());
        assert_eq!(offered(&headers), Some("other"));
    }
}
