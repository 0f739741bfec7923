//! The fleet page's HTML, from askama templates in `tracker/assets/fleet/` (compiled into
//! the binary, values escaped): four fragments (the rollout panel, the host rows, the
//! matrix and the history) that the page is made of and that the live stream sends again
//! as they change, plus the chart's figures as JSON.

use askama::Template;

use super::board::Board;
use super::format;
use super::hosts::{host_lines, matrix, HostLine, MatrixColumn, MatrixRow};
use super::model::{HistoryLine, RolloutPanel};
use super::series::Chart;

/// The page's parts, rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fragments {
    /// `#rollout`'s content.
    pub rollout: String,
    /// `#host-rows`'s content.
    pub hosts: String,
    /// `#matrix`'s content.
    pub matrix: String,
    /// `#history`'s content.
    pub history: String,
    /// The chart's JSON ([`Chart`]).
    pub series: String,
}

#[derive(Template)]
#[template(path = "fleet/rollout.html")]
struct RolloutHtml<'a> {
    panel: &'a Option<RolloutPanel>,
    now_ms: i64,
    updated: String,
}

#[derive(Template)]
#[template(path = "fleet/hosts.html")]
struct HostsHtml<'a> {
    hosts: &'a [HostLine],
    hidden: usize,
}

#[derive(Template)]
#[template(path = "fleet/matrix.html")]
struct MatrixHtml<'a> {
    columns: &'a [MatrixColumn],
    rows: &'a [MatrixRow],
}

#[derive(Template)]
#[template(path = "fleet/history.html")]
struct HistoryHtml<'a> {
    lines: &'a [HistoryLine],
}

#[derive(Template)]
#[template(path = "fleet/page.html")]
struct PageHtml<'a> {
    live: bool,
    session: &'a str,
    rollout: &'a str,
    hosts: &'a str,
    matrix: &'a str,
    history: &'a str,
    series: &'a str,
}

/// Renders `board`'s fragments with `chart`.
pub fn fragments(board: &Board, chart: &Chart) -> Result<Fragments, askama::Error> {
    let panel = RolloutPanel::of(board);
    let rollout = RolloutHtml {
        panel: &panel,
        now_ms: board.now_ms,
        updated: format::clock(board.now_ms),
    }
    .render()?;
    let lines = host_lines(board);
    let hosts = HostsHtml {
        hosts: &lines,
        hidden: board.hosts_hidden,
    }
    .render()?;
    let (columns, rows) = matrix(board);
    let matrix = MatrixHtml {
        columns: &columns,
        rows: &rows,
    }
    .render()?;
    let history_lines: Vec<HistoryLine> = board.history.iter().map(HistoryLine::of).collect();
    let history = HistoryHtml {
        lines: &history_lines,
    }
    .render()?;
    Ok(Fragments {
        rollout,
        hosts,
        matrix,
        history,
        series: script_json(chart),
    })
}

/// Who is looking, as the header says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Session {
    /// The tracker has no `--token-file`: everything is open.
    Open,
    /// The browser holds the fleet token.
    SignedIn,
    /// It does not.
    Anonymous,
}

impl Session {
    fn html(self) -> &'static str {
        match self {
            Session::Open => "<span class=\"muted\">open (no fleet token set)</span>",
            Session::SignedIn => "<span class=\"muted\">signed in with the fleet token</span>",
            Session::Anonymous => "<a href=\"/login\">sign in</a>",
        }
    }
}

/// The whole page around `fragments`; `live` pages follow the event stream.
pub fn page(fragments: &Fragments, live: bool, session: Session) -> Result<String, askama::Error> {
    PageHtml {
        live,
        session: session.html(),
        rollout: &fragments.rollout,
        hosts: &fragments.hosts,
        matrix: &fragments.matrix,
        history: &fragments.history,
        series: &fragments.series,
    }
    .render()
}

/// JSON safe inside `<script>` (no `</` that could close it).
fn script_json(chart: &Chart) -> String {
    serde_json::to_string(chart)
        .unwrap_or_else(|_| "null".into())
        .replace("</", "<\\/")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::fleet::store::HostRow;

    fn board_with_host(name: &str) -> Board {
        Board {
            now_ms: 10_000,
            rollout: None,
            latest_id: None,
            hosts: vec![HostRow {
                name: name.into(),
                labels: [("role".to_string(), "<b>".to_string())].into(),
                listen: None,
                free_disk_bytes: None,
                link_bps: None,
                last_seen_ms: 9_500,
            }],
            hosts_hidden: 0,
            columns: vec![],
            cells: vec![],
            history: vec![],
        }
    }

    #[test]
    fn fragments_escape_what_agents_send_and_the_page_holds_them() {
        let board = board_with_host("web-1");
        let chart = Chart {
            rollout_id: 0,
            points: vec![],
            bound_bps: None,
        };
        let parts = fragments(&board, &chart).unwrap();
        assert!(
            parts.hosts.contains("data-name=\"web-1\""),
            "{}",
            parts.hosts
        );
        assert!(parts.hosts.contains("role=&#60;b&#62;") || parts.hosts.contains("role=&lt;b&gt;"));
        assert!(!parts.hosts.contains("<b>"));
        assert!(parts.rollout.contains("No rollout yet"));
        let html = page(&parts, true, Session::Anonymous).unwrap();
        assert!(html.contains("data-live=\"true\""));
        assert!(html.contains("<a href=\"/login\">sign in</a>"));
        assert!(html.contains(&parts.hosts));
        let sneaky = Chart {
            rollout_id: 1,
            points: vec![],
            bound_bps: None,
        };
        assert!(!script_json(&sneaky).contains("</"));
    }
}
