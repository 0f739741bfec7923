//! How the fleet page writes figures: sizes and rates with binary units (as the torrent
//! page and `swarm publish` do), durations, clock times in UTC, labels.

use swarm_engine::units::format_unix_time;
use swarm_service::wire::Labels;

pub use crate::manager::page::human_bytes as bytes;

/// A rate in bytes per second.
pub fn rate(bytes_per_s: u64) -> String {
    format!("{}/s", bytes(bytes_per_s))
}

/// A duration: `850 ms`, `12.3 s`, `4 min 05 s`, `2 h 03 min`.
pub fn duration(seconds: f64) -> String {
    if !seconds.is_finite() || seconds < 0.0 {
        return "?".into();
    }
    if seconds < 1.0 {
        return format!("{:.0} ms", seconds * 1000.0);
    }
    if seconds < 100.0 {
        return format!("{seconds:.1} s");
    }
    let whole = seconds.round() as u64;
    if whole < 3600 {
        format!("{} min {:02} s", whole / 60, whole % 60)
    } else {
        format!("{} h {:02} min", whole / 3600, (whole % 3600) / 60)
    }
}

/// `HH:MM:SS` UTC of a Unix time in ms.
pub fn clock(unix_ms: i64) -> String {
    let seconds = unix_ms.div_euclid(1000).rem_euclid(86_400);
    format!(
        "{:02}:{:02}:{:02}",
        seconds / 3600,
        (seconds % 3600) / 60,
        seconds % 60
    )
}

/// `YYYY-MM-DD HH:MM` UTC of a Unix time in ms.
pub fn date_time(unix_ms: i64) -> String {
    let mut text = format_unix_time(unix_ms.div_euclid(1000));
    text.truncate("YYYY-MM-DD HH:MM".len());
    text
}

/// `role=test rack=a`; `every host` for no labels.
pub fn labels(labels: &Labels, none: &str) -> String {
    if labels.is_empty() {
        return none.to_string();
    }
    let pairs: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    pairs.join(" ")
}

/// A fraction as a percentage with one decimal, never showing 100 % before it is whole.
pub fn percent(have: u64, of: u64) -> String {
    if of == 0 || have >= of {
        return "100 %".into();
    }
    let tenths = (have as u128 * 1000 / of as u128).min(999);
    format!("{}.{} %", tenths / 10, tenths % 10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_read_as_an_operator_expects() {
        assert_eq!(duration(0.25), "250 ms");
        assert_eq!(duration(12.34), "12.3 s");
        assert_eq!(duration(245.0), "4 min 05 s");
        assert_eq!(duration(7380.0), "2 h 03 min");
        assert_eq!(clock(3_723_000), "01:02:03");
        assert_eq!(date_time(0), "1970-01-01 00:00");
        // 2024-02-29 12:34 UTC.
        assert_eq!(date_time(1_709_210_040_000), "2024-02-29 12:34");
        assert_eq!(percent(999_999, 1_000_000), "99.9 %");
        assert_eq!(percent(1, 3), "33.3 %");
        assert_eq!(percent(5, 5), "100 %");
        let l: Labels = [("rack".into(), "a".into()), ("role".into(), "t".into())].into();
        assert_eq!(labels(&l, "-"), "rack=a role=t");
        assert_eq!(labels(&Labels::new(), "every host"), "every host");
        assert_eq!(rate(2048), "2.0 KiB/s");
    }
}
