//! Progress on stderr: byte bars (bytes, rate, ETA) drawn only when stderr is a terminal,
//! and the download's display, which falls back to a plain line every few seconds.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use swarm_engine::units::format_size;

/// A progress bar, or nothing when stderr is not a terminal.
#[derive(Debug)]
pub struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    /// A bar for `total_bytes`, labelled `label` (e.g. "hashing").
    pub fn bytes(total_bytes: u64, label: &'static str) -> Self {
        Self::bytes_unless(total_bytes, label, false)
    }

    /// As [`Progress::bytes`], or nothing when `quiet` (`--json`).
    pub fn bytes_unless(total_bytes: u64, label: &'static str, quiet: bool) -> Self {
        if quiet || !std::io::stderr().is_terminal() {
            return Progress { bar: None };
        }
        let style = ProgressStyle::with_template(
            "{msg} [{bar:40}] {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
        let bar = ProgressBar::with_draw_target(Some(total_bytes), ProgressDrawTarget::stderr())
            .with_style(style)
            .with_message(label);
        Progress { bar: Some(bar) }
    }

    /// Moves the bar to `done_bytes`.
    pub fn set(&self, done_bytes: u64) {
        if let Some(bar) = &self.bar {
            bar.set_position(done_bytes);
        }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// The download's progress: a bar on a terminal, a plain line every few seconds otherwise,
/// nothing at all with `--json` (the JSON lines say it).
#[derive(Debug)]
pub struct DownloadDisplay {
    bar: Option<ProgressBar>,
    plain: bool,
    last_line: std::cell::Cell<Instant>,
}

/// Time between two plain progress lines when stderr is not a terminal.
const PLAIN_LINE_PERIOD: Duration = Duration::from_secs(5);

impl DownloadDisplay {
    /// A display for `total` bytes; `quiet` draws nothing.
    pub fn new(total: u64, quiet: bool) -> Self {
        let terminal = std::io::stderr().is_terminal();
        let bar = (terminal && !quiet).then(|| {
            let style = ProgressStyle::with_template(
                "{msg} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
            ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr())
                .with_style(style)
        });
        DownloadDisplay {
            bar,
            plain: !terminal && !quiet,
            last_line: std::cell::Cell::new(Instant::now()),
        }
    }

    /// Shows `done` of `total` bytes verified, at `rate` bytes per second, with `peers`.
    pub fn show(&self, done: u64, total: u64, rate: u64, peers: usize) {
        if let Some(bar) = &self.bar {
            bar.set_position(done);
            bar.set_message(format!("{peers} peers"));
        } else if self.plain && self.last_line.get().elapsed() >= PLAIN_LINE_PERIOD {
            self.last_line.set(Instant::now());
            eprintln!(
                "{} / {} ({:.1} %), {}/s, {peers} peers",
                format_size(done),
                format_size(total),
                done as f64 * 100.0 / total.max(1) as f64,
                format_size(rate),
            );
        }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
