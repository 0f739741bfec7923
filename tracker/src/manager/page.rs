//! The manager's web page: server-rendered HTML from the askama template
//! `assets/index.html` on the pages' shared `assets/base.html` (the torrent list is in the
//! page itself, so it reads without JavaScript), plus a small vanilla script and stylesheet embedded in
//! the binary. The script follows `/api/events` to keep the tables and the load chart live.
//! Nothing is fetched from outside.

use std::fmt::Write as _;
use std::sync::Arc;

use askama::Template;
use axum::extract::State;
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};

use super::api::summaries;
use super::error::ApiError;
use super::seed::SeedPhase;
use super::view::TorrentSummary;
use crate::state::AppState;

const SCRIPT: &str = include_str!("../../assets/app.js");
const STYLE: &str = include_str!("../../assets/style.css");

#[derive(Template)]
#[template(path = "index.html")]
struct IndexHtml<'a> {
    announce_url: &'a str,
    mode: &'a str,
    /// HTML.
    path_form: &'a str,
    /// HTML.
    rows: &'a str,
}

/// `GET /`.
pub(crate) async fn index(State(state): State<Arc<AppState>>) -> Result<Html<String>, ApiError> {
    let torrents = summaries(&state).await?;
    let path_form = match &state.config.allowed_dir {
        Some(dir) => format!(
            "<form id=\"path-form\"><label>Register a file or directory under <code>{}</code>: \
             <input name=\"path\" required placeholder=\"image.raw\"></label> \
             <button>Register</button></form>",
            escape(&dir.display().to_string())
        ),
        None => String::from(
            "<p class=\"muted\">Registration by path is off (start the tracker with an allowed directory).</p>",
        ),
    };
    let page = IndexHtml {
        announce_url: &state.announce_url,
        mode: if state.config.registered_only {
            "registered torrents only"
        } else {
            "any torrent"
        },
        path_form: &path_form,
        rows: &rows(&torrents),
    };
    Ok(Html(page.render().map_err(ApiError::internal)?))
}

/// `GET /assets/app.js`.
pub(crate) async fn script() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        SCRIPT,
    )
        .into_response()
}

/// `GET /assets/style.css`.
pub(crate) async fn style() -> Response {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], STYLE).into_response()
}

/// The list's rows as the script would draw them.
fn rows(torrents: &[TorrentSummary]) -> String {
    if torrents.is_empty() {
        return "<tr><td colspan=\"9\" class=\"muted\">No torrents yet.</td></tr>".into();
    }
    let mut out = String::new();
    for t in torrents {
        let hash = t.info_hash.to_string();
        let name = t.name.clone().unwrap_or_else(|| "(unregistered)".into());
        let size = t.size_bytes.map(human_bytes).unwrap_or_else(|| "?".into());
        let copies = t
            .origin_upload_copies
            .map_or_else(|| "?".into(), |c| format!("{c:.2}"));
        let link = match &t.torrent_url {
            Some(url) => format!("<a href=\"{}\">.torrent</a>", escape(url)),
            None => String::new(),
        };
        let _ = write!(
            out,
            "<tr data-hash=\"{hash}\"><td>{}</td><td><code>{hash}</code></td><td>{size}</td>\
             <td>{}</td><td>{}</td><td>{}</td><td>{copies}</td>{}<td>{link}</td></tr>",
            escape(&name),
            t.seeds,
            t.leechers,
            t.completed,
            seed_cell(t),
        );
    }
    out
}

/// The origin seed's cell as the script draws it: state and a start or stop button.
fn seed_cell(t: &TorrentSummary) -> String {
    let Some(seed) = &t.seeding else {
        return "<td></td>".into();
    };
    let text = match (seed.state, seed.port) {
        (SeedPhase::Failed, _) => format!("failed: {}", seed.error.as_deref().unwrap_or("")),
        (SeedPhase::Stopped, _) | (_, None) => seed.state.as_str().to_string(),
        (state, Some(port)) => format!("{} on port {port}", state.as_str()),
    };
    let (action, label) = if seed.state.is_running() {
        ("stop", "Stop seeding")
    } else {
        ("start", "Start seeding")
    };
    let class = if seed.state == SeedPhase::Failed {
        " class=\"seed-failed\""
    } else {
        ""
    };
    format!(
        "<td{class}>{}<button type=\"button\" data-seed=\"{}\" data-action=\"{action}\">{label}</button></td>",
        escape(&text),
        t.info_hash,
    )
}

/// Bytes with a binary unit, as the script shows them.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// Escapes text for HTML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_sizes() {
        assert_eq!(
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(3 * 1024 * 1024 * 1024), "3.0 GiB");
    }
}
