//! The rollout panel and the history rows as the templates show them: every figure already
//! written out ([`super::format`]), plus the raw numbers the script sorts and charts by.
//! Host rows and matrix cells are in [`super::hosts`].

use swarm_service::wire::{PlacementState, RolloutView};

use super::board::{counts_verified, Board};
use super::format;
use crate::fleet::board::RolloutSummary;

/// What operators are told when the bound cannot be computed.
pub const NO_BOUND: &str = "bound unknown: give agents --link-rate and publish --origin-rate";

/// The rollout view at the top of the page.
#[derive(Debug, Clone, PartialEq)]
pub struct RolloutPanel {
    /// Rollout id.
    pub id: i64,
    /// It is the newest rollout (the page follows it live).
    pub live: bool,
    /// `channel / file`.
    pub release: String,
    /// Release size.
    pub size: String,
    /// Target labels.
    pub targets: String,
    /// Hosts verified.
    pub verified: usize,
    /// Hosts targeted.
    pub targeted: usize,
    /// `running`, `complete`, `failed`, `waiting`.
    pub state: &'static str,
    /// `2 downloading, 1 pending, 1 gone`.
    pub detail: String,
    /// Bytes verified over every targeted host, and of how many.
    pub have_bytes: u64,
    /// `size × targeted`.
    pub want_bytes: u64,
    /// `have / want` as text.
    pub progress: String,
    /// Time left, or why it is unknown.
    pub eta: String,
    /// `Makespan` once finished, else `Elapsed`.
    pub elapsed_label: &'static str,
    /// Since start (the makespan once finished).
    pub elapsed: String,
    /// The fluid bound.
    pub bound: String,
    /// Makespan ÷ bound (so far, while running).
    pub ratio: String,
    /// What the origin sent, in copies of the release.
    pub origin: String,
    /// What the live hosts receive now.
    pub swarm_rate: String,
    /// `N·F / bound`, the average rate of a rollout that meets the bound.
    pub bound_rate: String,
    /// Start time.
    pub started: String,
    /// When this was rendered (UTC), and in Unix ms.
    pub updated: String,
    /// See `updated`.
    pub now_ms: i64,
}

impl RolloutPanel {
    /// The panel of `board`'s rollout, if it has one.
    pub fn of(board: &Board) -> Option<RolloutPanel> {
        let view = board.rollout.as_ref()?;
        let seen = board.last_seen();
        let gone = |host: &str| board.is_gone(seen.get(host).copied());
        let verified = view
            .hosts
            .iter()
            .filter(|h| counts_verified(h.state, h.verified_ms))
            .count();
        let gone_hosts = view.hosts.iter().filter(|h| gone(&h.host)).count();
        let targeted = view.hosts.len();
        let have_bytes: u64 = view.hosts.iter().map(|h| h.have_bytes).sum();
        let want_bytes = view.size_bytes.saturating_mul(targeted as u64);
        let end_ms = view.finished_ms.unwrap_or(board.now_ms);
        let elapsed_s = (end_ms - view.started_ms).max(0) as f64 / 1000.0;
        let swarm_bps = board.swarm_bps();
        Some(RolloutPanel {
            id: view.id,
            live: board.shows_latest(),
            release: format!("{} / {}", view.channel, view.name),
            size: format::bytes(view.size_bytes),
            targets: format::labels(&view.to, "every host"),
            verified,
            targeted,
            state: state_of(view, verified),
            detail: detail(view, gone_hosts),
            have_bytes,
            want_bytes,
            progress: format::percent(have_bytes, want_bytes),
            eta: eta(board, view),
            elapsed_label: if view.finished_ms.is_some() {
                "Makespan"
            } else {
                "Elapsed"
            },
            elapsed: format::duration(elapsed_s),
            bound: view
                .bound_s
                .map_or_else(|| NO_BOUND.into(), format::duration),
            ratio: ratio(view.bound_s, elapsed_s, view.finished_ms.is_some()),
            origin: format!(
                "{:.2} copies ({})",
                view.origin_copies,
                format::bytes(view.origin_uploaded_bytes)
            ),
            swarm_rate: format::rate(swarm_bps),
            bound_rate: bound_bps(view.size_bytes, targeted, view.bound_s)
                .map_or_else(|| "?".into(), |b| format::rate(b as u64)),
            started: format::date_time(view.started_ms),
            updated: format::clock(board.now_ms),
            now_ms: board.now_ms,
        })
    }
}

/// `N·F / bound`, bytes per second.
pub fn bound_bps(size_bytes: u64, hosts: usize, bound_s: Option<f64>) -> Option<f64> {
    bound_s
        .filter(|&b| b > 0.0 && hosts > 0)
        .map(|b| size_bytes as f64 * hosts as f64 / b)
}

fn state_of(view: &RolloutView, verified: usize) -> &'static str {
    if view.hosts.is_empty() {
        "waiting"
    } else if verified == view.hosts.len() {
        "complete"
    } else if view.counts.failed > 0 {
        "failed"
    } else {
        "running"
    }
}

fn detail(view: &RolloutView, gone: usize) -> String {
    let c = view.counts;
    let parts: Vec<String> = [
        (c.downloading, "downloading"),
        (c.pending, "missing"),
        (c.failed, "failed"),
        (c.deleted, "deleted"),
        (u32::try_from(gone).unwrap_or(u32::MAX), "gone"),
    ]
    .into_iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, what)| format!("{n} {what}"))
    .collect();
    if view.hosts.is_empty() {
        "no host matches its labels yet".into()
    } else {
        parts.join(", ")
    }
}

/// As `swarm publish` says it: bytes left over the live active hosts ÷ their rate.
fn eta(board: &Board, view: &RolloutView) -> String {
    if view.finished_ms.is_some() {
        return "done".into();
    }
    let active = |state| matches!(state, PlacementState::Downloading | PlacementState::Pending);
    let seen = board.last_seen();
    let stuck = view
        .hosts
        .iter()
        .filter(|h| active(h.state) && board.is_gone(seen.get(h.host.as_str()).copied()))
        .count();
    let (left, rate) = board
        .live_placements()
        .into_iter()
        .filter(|h| active(h.state))
        .fold((0u64, 0u64), |(left, rate), h| {
            (
                left + view.size_bytes.saturating_sub(h.have_bytes),
                rate + h.down_bps,
            )
        });
    match (stuck, left, rate) {
        (0, 0, _) => "—".into(),
        (0, _, 0) => "unknown (no data moving)".into(),
        (0, left, rate) => format::duration(left as f64 / rate as f64),
        (stuck, _, _) => format!("never: waiting on {stuck} gone host(s)"),
    }
}

fn ratio(bound_s: Option<f64>, elapsed_s: f64, finished: bool) -> String {
    match bound_s.filter(|&b| b > 0.0) {
        None => "?".into(),
        Some(bound) if finished => format!("{:.2}×", elapsed_s / bound),
        Some(bound) => format!("{:.2}× so far", elapsed_s / bound),
    }
}

/// One past (or running) rollout in the history.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryLine {
    /// Rollout id.
    pub id: i64,
    /// `channel / file`.
    pub release: String,
    /// Release size.
    pub size: String,
    /// Target labels.
    pub targets: String,
    /// Start.
    pub started: String,
    /// `3/3`.
    pub verified: String,
    /// Hosts failed.
    pub failed: u32,
    /// Makespan, or `running`.
    pub makespan: String,
    /// The bound.
    pub bound: String,
    /// Makespan ÷ bound.
    pub ratio: String,
    /// Origin upload in copies.
    pub copies: String,
    /// `complete`, `failed`, `running`.
    pub state: &'static str,
}

impl HistoryLine {
    /// The line of one summary.
    pub fn of(summary: &RolloutSummary) -> HistoryLine {
        let makespan = summary.makespan_s();
        let state = if makespan.is_some() {
            "complete"
        } else if summary.failed > 0 {
            "failed"
        } else {
            "running"
        };
        HistoryLine {
            id: summary.id,
            release: format!("{} / {}", summary.channel, summary.name),
            size: format::bytes(summary.size_bytes),
            targets: format::labels(&summary.to, "every host"),
            started: format::date_time(summary.started_ms),
            verified: format!("{}/{}", summary.verified, summary.targeted),
            failed: summary.failed,
            makespan: makespan.map_or_else(|| "—".into(), format::duration),
            bound: summary.bound_s.map_or_else(|| "?".into(), format::duration),
            ratio: makespan
                .zip(summary.bound_s)
                .map_or_else(|| "?".into(), |(m, b)| format!("{:.2}×", m / b)),
            copies: format!("{:.2}", summary.origin_copies()),
            state,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_say_whether_the_rollout_is_over() {
        assert_eq!(ratio(Some(10.0), 15.0, true), "1.50×");
        assert_eq!(ratio(Some(10.0), 5.0, false), "0.50× so far");
        assert_eq!(ratio(None, 5.0, false), "?");
        assert_eq!(bound_bps(100, 3, Some(2.0)), Some(150.0));
        assert_eq!(bound_bps(100, 0, Some(2.0)), None);
    }
}
