//! Following a rollout from `swarm publish`: wait for the origin's agent to take the
//! seeding over (when the manager handed it), poll the manager twice a second, tell it what
//! the in-process origin has sent, show "27/30 verified, 3 downloading, ETA 40 s" (a live line on a
//! terminal, a plain line every few seconds otherwise), and decide: every targeted host
//! verified, or some failed (once the rest are done), or the timeout passed.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use anyhow::Context;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use swarm_engine::units::format_size;
use swarm_net::agent::client::ManagerClient;
use swarm_net::agent::node::NodeHandle;
use swarm_service::wire::{OriginReport, PlacementState, RolloutView};

/// How often the rollout is polled (publish returns within this of the last report).
pub const POLL_INTERVAL: Duration = Duration::from_millis(500);
/// How often a plain progress line is printed when stderr is not a terminal.
pub const PLAIN_LINE_INTERVAL: Duration = Duration::from_secs(5);
/// Polls that may fail in a row (the manager restarting) before publish gives up.
pub const MAX_FAILED_POLLS: u32 = 120;
/// How long the origin's agent has to start seeding before publish seeds from here.
pub const HANDOVER_TIMEOUT: Duration = Duration::from_secs(20);

/// What to follow and how.
#[derive(Debug, Clone)]
pub struct Follow {
    /// The rollout.
    pub rollout_id: i64,
    /// Give up after this long.
    pub timeout: Option<Duration>,
    /// Print the final table as JSON on stdout.
    pub json: bool,
    /// Show progress while waiting.
    pub show_progress: bool,
}

/// Waits until the origin's agent `host` seeds the rollout's release: `true` once it
/// reports it does, `false` (saying why) when it failed or [`HANDOVER_TIMEOUT`] passed.
pub async fn handed_over(
    client: &ManagerClient,
    rollout_id: i64,
    host: &str,
) -> anyhow::Result<bool> {
    let started = Instant::now();
    let path = format!("/api/fleet/rollouts/{rollout_id}");
    while started.elapsed() < HANDOVER_TIMEOUT {
        match client.get_json::<RolloutView>(&path).await {
            Ok(view) => match view.origin.and_then(|o| o.state.map(|s| (s, o.reason))) {
                Some((PlacementState::Verified, _)) => {
                    eprintln!("the agent on {host} seeds it as the origin");
                    return Ok(true);
                }
                Some((PlacementState::Failed, reason)) => {
                    let reason = reason.unwrap_or_default();
                    eprintln!("the agent on {host} cannot seed it ({reason}); seeding from here");
                    return Ok(false);
                }
                _ => {}
            },
            Err(error) => tracing::warn!(%error, "polling the rollout"),
        }
        tokio::time::sleep(POLL_INTERVAL / 2).await;
    }
    eprintln!(
        "the agent on {host} did not start seeding within {} s; seeding from here",
        HANDOVER_TIMEOUT.as_secs()
    );
    Ok(false)
}

/// Follows the rollout until it ends, telling the manager what `seed` (the in-process
/// origin, if any) has sent; `true` when every targeted host holds a verified copy.
pub async fn follow(
    client: &ManagerClient,
    seed: Option<&NodeHandle>,
    plan: &Follow,
) -> anyhow::Result<bool> {
    let started = Instant::now();
    let path = format!("/api/fleet/rollouts/{}", plan.rollout_id);
    let origin_path = format!("{path}/origin");
    let line = Line::new(plan.show_progress);
    let mut failures = 0;
    let mut last: Option<RolloutView> = None;
    let verdict = loop {
        let sent: Result<(), _> = match seed {
            Some(seed) => {
                let uploaded_bytes = seed.status().uploaded_bytes;
                let report = OriginReport { uploaded_bytes };
                client.post_json(&origin_path, &report).await
            }
            None => Ok(()),
        };
        match (sent, client.get_json::<RolloutView>(&path).await) {
            (Ok(()), Ok(view)) => {
                failures = 0;
                line.show(&view);
                let verdict = judge(&view);
                last = Some(view);
                if let Some(verdict) = verdict {
                    break verdict;
                }
            }
            (Err(error), _) | (_, Err(error)) => {
                failures += 1;
                if failures >= MAX_FAILED_POLLS {
                    line.finish();
                    return Err(error).context("the manager stopped answering");
                }
                tracing::warn!(%error, "polling the rollout");
            }
        }
        if plan.timeout.is_some_and(|t| started.elapsed() >= t) {
            break Verdict::TimedOut;
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    };
    line.finish();
    let Some(view) = last else {
        anyhow::bail!("timed out before the manager answered");
    };
    summarize(&view, verdict, started.elapsed());
    if plan.json {
        println!("{}", serde_json::to_string_pretty(&view)?);
    }
    Ok(verdict == Verdict::AllVerified)
}

/// How a rollout ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    AllVerified,
    SomeFailed,
    NoHosts,
    TimedOut,
}

/// The verdict once there is one: every host verified, or every host verified or failed.
fn judge(view: &RolloutView) -> Option<Verdict> {
    if view.hosts.is_empty() {
        return Some(Verdict::NoHosts);
    }
    let verified = |h: &&swarm_service::wire::HostPlacement| {
        h.state == PlacementState::Verified
            || (h.state == PlacementState::Deleted && h.verified_ms.is_some())
    };
    let done = view.hosts.iter().filter(verified).count();
    let failed = view
        .hosts
        .iter()
        .filter(|h| h.state == PlacementState::Failed)
        .count();
    if done == view.hosts.len() {
        Some(Verdict::AllVerified)
    } else if done + failed == view.hosts.len() {
        Some(Verdict::SomeFailed)
    } else {
        None
    }
}

/// "27/30 verified, 3 downloading, ETA 40 s".
fn progress_text(view: &RolloutView) -> String {
    let c = view.counts;
    let mut text = format!("{}/{} verified", c.verified, view.hosts.len());
    for (count, what) in [
        (c.downloading, "downloading"),
        (c.pending, "pending"),
        (c.failed, "failed"),
    ] {
        if count > 0 {
            text.push_str(&format!(", {count} {what}"));
        }
    }
    let active = view.hosts.iter().filter(|h| {
        matches!(
            h.state,
            PlacementState::Downloading | PlacementState::Pending
        )
    });
    let (left, rate) = active.fold((0u64, 0u64), |(left, rate), h| {
        (
            left + view.size_bytes.saturating_sub(h.have_bytes),
            rate + h.down_bps,
        )
    });
    if left > 0 && rate > 0 {
        text.push_str(&format!(", ETA {} s", left.div_ceil(rate)));
    }
    text
}

fn summarize(view: &RolloutView, verdict: Verdict, elapsed: Duration) {
    let text = progress_text(view);
    match verdict {
        Verdict::AllVerified => eprintln!(
            "rollout {} complete: {text} in {:.1} s; origin sent {:.2} copies",
            view.id,
            elapsed.as_secs_f64(),
            view.origin_copies
        ),
        Verdict::NoHosts => eprintln!(
            "rollout {}: no registered agent matches its labels",
            view.id
        ),
        Verdict::SomeFailed | Verdict::TimedOut => {
            let why = if verdict == Verdict::TimedOut {
                "timed out"
            } else {
                "failed"
            };
            eprintln!("rollout {} {why}: {text}", view.id);
            for host in &view.hosts {
                if host.state == PlacementState::Verified {
                    continue;
                }
                let detail = match (&host.reason, host.reported_ms) {
                    (Some(reason), _) => reason.clone(),
                    (None, None) => "never reported".into(),
                    (None, Some(_)) => format!(
                        "{} of {}",
                        format_size(host.have_bytes),
                        format_size(view.size_bytes)
                    ),
                };
                eprintln!("  {}: {}: {detail}", host.host, host.state.as_str());
            }
        }
    }
}

/// A live line on a terminal, plain lines otherwise, nothing when not asked.
struct Line {
    bar: Option<ProgressBar>,
    plain: bool,
    last: std::cell::Cell<Option<Instant>>,
}

impl Line {
    fn new(show: bool) -> Self {
        let terminal = std::io::stderr().is_terminal();
        let bar = (show && terminal).then(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template("{spinner} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar
        });
        Line {
            bar,
            plain: show && !terminal,
            last: std::cell::Cell::new(None),
        }
    }

    fn show(&self, view: &RolloutView) {
        if let Some(bar) = &self.bar {
            bar.set_message(progress_text(view));
            bar.tick();
        } else if self.plain
            && self
                .last
                .get()
                .is_none_or(|t| t.elapsed() >= PLAIN_LINE_INTERVAL)
        {
            self.last.set(Some(Instant::now()));
            eprintln!("{}", progress_text(view));
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
