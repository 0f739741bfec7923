//! A byte progress bar on stderr (bytes, rate, ETA), drawn only when stderr is a terminal.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A progress bar, or nothing when stderr is not a terminal.
#[derive(Debug)]
pub struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    /// A bar for `total_bytes`, labelled `label` (e.g. "hashing").
    pub fn bytes(total_bytes: u64, label: &'static str) -> Self {
        if !std::io::stderr().is_terminal() {
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
