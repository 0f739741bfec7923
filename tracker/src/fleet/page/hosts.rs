//! Host rows (one per known host, with its placement in the rollout shown) and the hosts ×
//! releases matrix, as the templates show them. A gone host's row and cells say what it
//! held when it was last heard from, with no rates: it is not seeding anything we know of.

use std::collections::BTreeMap;

use swarm_service::wire::{HostPlacement, PlacementState};

use super::board::{counts_verified, Board};
use super::format;
use crate::fleet::board::PlacementCell;
use crate::fleet::store::HostRow;

/// One host's row.
#[derive(Debug, Clone, PartialEq)]
pub struct HostLine {
    /// Host name.
    pub name: String,
    /// `role=test rack=a`.
    pub labels: String,
    /// Its agent went silent.
    pub gone: bool,
    /// CSS class and filter word: `verified`, `downloading`, `missing`, `failed`,
    /// `deleted`, `untargeted`, or `gone`.
    pub state: &'static str,
    /// What the state column says.
    pub state_text: String,
    /// Verified bytes of the release.
    pub have_bytes: u64,
    /// Fraction held, thousandths (sort key and bar width).
    pub progress_permille: u64,
    /// `53.2 %`.
    pub progress: String,
    /// Receive rate (0 when gone).
    pub down_bps: u64,
    /// Receive rate as text.
    pub down: String,
    /// Send rate (0 when gone).
    pub up_bps: u64,
    /// Send rate as text.
    pub up: String,
    /// Open connections as text.
    pub peers: String,
    /// Milliseconds from the rollout's start to its verification (sort key; −1: not yet).
    pub finish_ms: i64,
    /// `+8.2 s (12:00:08)`.
    pub finish: String,
    /// Why it failed.
    pub error: String,
    /// `2 s ago`.
    pub last_seen: String,
}

/// Every host's row for `board`'s rollout.
pub fn host_lines(board: &Board) -> Vec<HostLine> {
    let placements: BTreeMap<&str, &HostPlacement> = board
        .rollout
        .iter()
        .flat_map(|r| r.hosts.iter())
        .map(|h| (h.host.as_str(), h))
        .collect();
    let (size, started) = board
        .rollout
        .as_ref()
        .map_or((0, 0), |r| (r.size_bytes, r.started_ms));
    board
        .hosts
        .iter()
        .map(|host| {
            line(
                board,
                host,
                placements.get(host.name.as_str()).copied(),
                size,
                started,
            )
        })
        .collect()
}

fn line(
    board: &Board,
    host: &HostRow,
    placement: Option<&HostPlacement>,
    size: u64,
    started_ms: i64,
) -> HostLine {
    let gone = board.is_gone(Some(host.last_seen_ms));
    let have = placement.map_or(0, |p| p.have_bytes);
    let permille = if size == 0 {
        0
    } else {
        (u128::from(have.min(size)) * 1000 / u128::from(size)) as u64
    };
    let state = match placement {
        _ if gone => "gone",
        None => "untargeted",
        Some(p) => state_class(p.state, p.verified_ms),
    };
    let held = placement.map_or("nothing of this release".to_string(), |p| {
        held_text(p.state, p.verified_ms, have, size)
    });
    let state_text = match (gone, placement) {
        (true, _) => format!("gone, held {held}"),
        (false, None) => "not targeted".into(),
        (false, Some(p)) => held_text(p.state, p.verified_ms, have, size),
    };
    let live = |bps: u64| if gone { 0 } else { bps };
    let (down_bps, up_bps) = placement.map_or((0, 0), |p| (live(p.down_bps), live(p.up_bps)));
    let verified_ms = placement.and_then(|p| p.verified_ms);
    let finish_ms = verified_ms.map_or(-1, |v| (v - started_ms).max(0));
    HostLine {
        name: host.name.clone(),
        labels: format::labels(&host.labels, ""),
        gone,
        state,
        state_text,
        have_bytes: have,
        progress_permille: permille,
        progress: placement.map_or_else(String::new, |_| format::percent(have, size)),
        down_bps,
        down: rate_text(gone, placement.is_some(), down_bps),
        up_bps,
        up: rate_text(gone, placement.is_some(), up_bps),
        peers: match placement {
            Some(p) if !gone => p.peers.to_string(),
            _ => String::new(),
        },
        finish_ms,
        finish: verified_ms.map_or_else(String::new, |v| {
            let after = format::duration(finish_ms as f64 / 1000.0);
            format!("+{after} ({})", format::clock(v))
        }),
        error: placement.and_then(|p| p.reason.clone()).unwrap_or_default(),
        last_seen: format!(
            "{} ago",
            format::duration((board.now_ms - host.last_seen_ms).max(0) as f64 / 1000.0)
        ),
    }
}

fn rate_text(gone: bool, placed: bool, bps: u64) -> String {
    match (gone, placed) {
        (true, _) => "—".into(),
        (false, false) => String::new(),
        (false, true) => format::rate(bps),
    }
}

/// The state's CSS class (and filter word).
fn state_class(state: PlacementState, verified_ms: Option<i64>) -> &'static str {
    match state {
        PlacementState::Pending => "missing",
        PlacementState::Downloading => "downloading",
        PlacementState::Verified => "verified",
        PlacementState::Failed => "failed",
        PlacementState::Deleted if verified_ms.is_some() => "deleted",
        PlacementState::Deleted => "missing",
    }
}

/// `verified`, `downloading 45.0 %`, `failed`, `missing`, `deleted (was verified)`.
fn held_text(state: PlacementState, verified_ms: Option<i64>, have: u64, size: u64) -> String {
    match state {
        PlacementState::Verified => "verified".into(),
        PlacementState::Downloading => format!("downloading {}", format::percent(have, size)),
        PlacementState::Pending if have > 0 => {
            format!("missing ({} checked)", format::percent(have, size))
        }
        PlacementState::Pending => "missing".into(),
        PlacementState::Failed => "failed".into(),
        PlacementState::Deleted if counts_verified(state, verified_ms) => {
            "deleted (was verified)".into()
        }
        PlacementState::Deleted => "deleted".into(),
    }
}

/// A release column of the matrix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatrixColumn {
    /// `#3`.
    pub id: i64,
    /// The file name (the header, cut short by CSS).
    pub name: String,
    /// `nightly / v1.img, 20 GiB` (the header's tooltip).
    pub title: String,
}

/// A host's row of the matrix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatrixRow {
    /// Host name.
    pub host: String,
    /// Its agent went silent.
    pub gone: bool,
    /// One cell per column.
    pub cells: Vec<MatrixCell>,
}

/// One (host, release) cell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatrixCell {
    /// CSS class: a state class, or `untargeted`.
    pub state: &'static str,
    /// `verified`, `45.0 %`, `failed`, `missing`, or empty.
    pub text: String,
    /// The whole story (reason of a failure, held by a gone host).
    pub title: String,
}

/// The matrix: columns and one row per host.
pub fn matrix(board: &Board) -> (Vec<MatrixColumn>, Vec<MatrixRow>) {
    let columns = board
        .columns
        .iter()
        .map(|c| MatrixColumn {
            id: c.id,
            name: c.name.clone(),
            title: format!(
                "{} / {}, {}",
                c.channel,
                c.name,
                format::bytes(c.size_bytes)
            ),
        })
        .collect();
    let cells: BTreeMap<(&str, i64), &PlacementCell> = board
        .cells
        .iter()
        .map(|c| ((c.host.as_str(), c.release_id), c))
        .collect();
    let rows = board
        .hosts
        .iter()
        .map(|host| {
            let gone = board.is_gone(Some(host.last_seen_ms));
            let cells = board
                .columns
                .iter()
                .map(|column| {
                    let cell = cells.get(&(host.name.as_str(), column.id)).copied();
                    matrix_cell(cell, column.size_bytes, gone)
                })
                .collect();
            MatrixRow {
                host: host.name.clone(),
                gone,
                cells,
            }
        })
        .collect();
    (columns, rows)
}

fn matrix_cell(cell: Option<&PlacementCell>, size: u64, gone: bool) -> MatrixCell {
    let Some(cell) = cell else {
        return MatrixCell {
            state: "untargeted",
            text: String::new(),
            title: "not targeted".into(),
        };
    };
    let verified_ms = cell.was_verified.then_some(0);
    let state = state_class(cell.state, verified_ms);
    let text = match cell.state {
        PlacementState::Downloading => format::percent(cell.have_bytes, size),
        PlacementState::Failed => format!(
            "failed: {}",
            cell.reason.as_deref().unwrap_or("no reason given")
        ),
        _ => state.to_string(),
    };
    let mut title = held_text(cell.state, verified_ms, cell.have_bytes, size);
    if let Some(reason) = &cell.reason {
        title = format!("{title}: {reason}");
    }
    if gone {
        title = format!("host gone; when last heard from: {title}");
    }
    MatrixCell { state, text, title }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn cells_say_state_percent_and_reason() {
        let cell = |state, have, reason: Option<&str>| PlacementCell {
            host: "h".into(),
            release_id: 1,
            state,
            have_bytes: have,
            reason: reason.map(str::to_string),
            was_verified: state == PlacementState::Verified,
        };
        let c = matrix_cell(
            Some(&cell(PlacementState::Downloading, 450, None)),
            1000,
            false,
        );
        assert_eq!((c.state, c.text.as_str()), ("downloading", "45.0 %"));
        let c = matrix_cell(
            Some(&cell(PlacementState::Failed, 0, Some("disk full"))),
            1000,
            false,
        );
        assert_eq!(c.text, "failed: disk full");
        let c = matrix_cell(
            Some(&cell(PlacementState::Verified, 1000, None)),
            1000,
            true,
        );
        assert_eq!(c.text, "verified");
        assert!(c.title.starts_with("host gone"), "{}", c.title);
        let c = matrix_cell(Some(&cell(PlacementState::Pending, 0, None)), 1000, false);
        assert_eq!(c.text, "missing");
        assert_eq!(matrix_cell(None, 1000, false).state, "untargeted");
    }
}
