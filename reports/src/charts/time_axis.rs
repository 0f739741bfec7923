//! The time axis of the line charts: linear, or logarithmic when one run lasts many times
//! longer than another (naive against bittorrent takes 12x as long on 12 servers, and on a
//! linear axis the short run is squeezed into the first few pixels).

/// When the longest run lasts at least this many times the shortest, time is drawn on a
/// log axis.
pub(crate) const LOG_AXIS_FROM_RATIO: f64 = 5.0;

/// How time is drawn.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum TimeAxis {
    /// From 0 to the end.
    Linear,
    /// From `start_s` (a power of ten at least ten times below the shortest run's end)
    /// to the end; earlier points are drawn at `start_s`.
    Log { start_s: f64 },
}

impl TimeAxis {
    /// The axis for runs that end at `ends_s` (non-positive or non-finite ends ignored).
    pub(crate) fn for_ends(ends_s: impl IntoIterator<Item = f64>) -> TimeAxis {
        let ends: Vec<f64> = ends_s
            .into_iter()
            .filter(|e| e.is_finite() && *e > 0.0)
            .collect();
        let shortest = ends.iter().copied().fold(f64::INFINITY, f64::min);
        let longest = ends.iter().copied().fold(0.0, f64::max);
        if ends.len() < 2 || longest < shortest * LOG_AXIS_FROM_RATIO {
            return TimeAxis::Linear;
        }
        let start_s = 10f64.powf((shortest / 10.0).log10().floor());
        TimeAxis::Log { start_s }
    }

    /// Where the axis starts.
    pub(crate) fn start_s(self) -> f64 {
        match self {
            TimeAxis::Linear => 0.0,
            TimeAxis::Log { start_s } => start_s,
        }
    }

    /// The axis description.
    pub(crate) fn desc(self) -> &'static str {
        match self {
            TimeAxis::Linear => "time since start (s)",
            TimeAxis::Log { .. } => "time since start (s, log scale)",
        }
    }
}

/// A tick label of a log time axis: `0.1`, `2`, `30`, `400`.
pub(crate) fn log_tick(t: &f64) -> String {
    if *t >= 1.0 {
        format!("{t:.0}")
    } else {
        let text = format!("{t:.3}");
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_of_similar_length_keep_a_linear_axis() {
        assert_eq!(TimeAxis::for_ends([9.7, 12.0]), TimeAxis::Linear);
        assert_eq!(TimeAxis::for_ends([9.7]), TimeAxis::Linear);
        assert_eq!(TimeAxis::for_ends([]), TimeAxis::Linear);
        assert_eq!(TimeAxis::for_ends([0.0, f64::NAN, 10.0]), TimeAxis::Linear);
        // Just below the ratio.
        assert_eq!(TimeAxis::for_ends([10.0, 49.9]), TimeAxis::Linear);
    }

    #[test]
    fn a_run_many_times_longer_gets_a_log_axis_starting_below_the_shortest() {
        // bittorrent against naive on 12 servers: 9.7 s and 108 s.
        let axis = TimeAxis::for_ends([9.7, 107.8]);
        assert_eq!(axis, TimeAxis::Log { start_s: 0.1 });
        assert_eq!(
            TimeAxis::for_ends([10.0, 50.0]),
            TimeAxis::Log { start_s: 1.0 }
        );
        assert_eq!(axis.desc(), "time since start (s, log scale)");
    }

    #[test]
    fn log_ticks_are_short() {
        assert_eq!(log_tick(&0.1), "0.1");
        assert_eq!(log_tick(&0.05), "0.05");
        assert_eq!(log_tick(&1.0), "1");
        assert_eq!(log_tick(&300.0), "300");
    }
}
