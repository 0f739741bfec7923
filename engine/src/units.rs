//! Human units for sizes, rates and durations, parsed and printed in one place.
//!
//! - Sizes are bytes: `256KiB`, `16MiB`, `10GiB` (binary), `1GB`, `500kB` (decimal),
//!   `4M` (a bare prefix letter is binary, as `dd` and `ls -h` read it), or plain `1048576`.
//!   Case does not matter for sizes.
//! - Rates are **bits per second**: `1Gbps`, `100Mbps`, `500Mbit`, `10Mbit/s` (bits), or
//!   `125MB/s`, `125MBps`, `50MiB/s` (bytes, times 8). Here `b` is a bit and `B` a byte;
//!   the prefix letter's case does not matter. A rate needs a unit, except `0`.
//! - Unix times print as UTC dates: `2026-12-02 13:56:00 UTC` ([`format_unix_time`]).
//! - Durations: `250us`, `2ms`, `1.5s`, `10m`, `1h`, and sums such as `1m30s`. A duration
//!   needs a unit, except `0`.
//!
//! Numbers may have a decimal fraction (`1.5GiB`); the result is rounded to the nearest
//! byte, bit per second or nanosecond. Spaces between number and unit are allowed.
//! Pure arithmetic on integers (no floating point on the parse path): the same text always
//! gives the same value.

use std::time::Duration;

/// Why a size, rate or duration could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnitsError {
    /// Nothing but whitespace.
    #[error("empty {kind}")]
    Empty { kind: &'static str },
    /// The text does not start with a number.
    #[error("{text:?} is not a {kind}: expected a number such as 1.5 followed by a unit")]
    BadNumber { text: String, kind: &'static str },
    /// The unit is not one of the accepted ones.
    #[error("unknown {kind} unit {unit:?} in {text:?}; expected one of {expected}")]
    UnknownUnit {
        text: String,
        unit: String,
        kind: &'static str,
        expected: &'static str,
    },
    /// A rate or duration without a unit.
    #[error("{text:?} needs a unit, e.g. {example}")]
    MissingUnit { text: String, example: &'static str },
    /// The value does not fit.
    #[error("{text:?} is too large")]
    Overflow { text: String },
}

const SIZE_UNITS: &str = "B, kB, MB, GB, TB, KiB, MiB, GiB, TiB, K, M, G, T";
const RATE_UNITS: &str =
    "bps, kbps, Mbps, Gbps, Tbps, kbit, Mbit, Gbit (optionally /s), B/s, kB/s, MB/s, GB/s, KiB/s, MiB/s, GiB/s";
const DURATION_UNITS: &str = "ns, us, ms, s, m, min, h";

/// Longest run of digits accepted in one number (keeps the arithmetic in `u128`).
const MAX_DIGITS: usize = 30;

/// A decimal number read exactly: `mantissa / 10^scale`.
#[derive(Debug, Clone, Copy)]
struct Decimal {
    mantissa: u128,
    scale: u32,
}

impl Decimal {
    /// `self × factor`, rounded to the nearest integer (halves up).
    fn times(self, factor: u128) -> Option<u128> {
        let product = self.mantissa.checked_mul(factor)?;
        let divisor = 10u128.pow(self.scale);
        Some(product.checked_add(divisor / 2)? / divisor)
    }
}

/// Splits off a leading decimal number; returns it and the rest of the text.
fn split_number(text: &str) -> Option<(Decimal, &str)> {
    let end = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, rest) = text.split_at(end);
    let (whole, fraction) = match number.split_once('.') {
        Some((whole, fraction)) => (whole, fraction),
        None => (number, ""),
    };
    if whole.is_empty() && fraction.is_empty()
        || fraction.contains('.')
        || whole.len() + fraction.len() > MAX_DIGITS
    {
        return None;
    }
    let mut mantissa: u128 = 0;
    for digit in whole.bytes().chain(fraction.bytes()) {
        mantissa = mantissa * 10 + u128::from(digit - b'0');
    }
    let scale = u32::try_from(fraction.len()).ok()?;
    Some((Decimal { mantissa, scale }, rest.trim_start()))
}

impl UnitsError {
    fn bad_number(text: &str, kind: &'static str) -> Self {
        Self::BadNumber {
            text: text.into(),
            kind,
        }
    }

    fn unknown_unit(text: &str, unit: &str, kind: &'static str, expected: &'static str) -> Self {
        Self::UnknownUnit {
            text: text.into(),
            unit: unit.into(),
            kind,
            expected,
        }
    }

    fn overflow(text: &str) -> Self {
        Self::Overflow { text: text.into() }
    }
}

/// Trims `text` and splits it into its leading number and the unit after it: the first
/// step of reading a size or a rate.
fn number_and_unit<'a>(
    text: &'a str,
    kind: &'static str,
) -> Result<(Decimal, &'a str), UnitsError> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(UnitsError::Empty { kind });
    }
    split_number(trimmed).ok_or_else(|| UnitsError::bad_number(text, kind))
}

fn to_u64(value: Option<u128>, text: &str) -> Result<u64, UnitsError> {
    value
        .and_then(|v| u64::try_from(v).ok())
        .ok_or_else(|| UnitsError::overflow(text))
}

/// Reads a size in bytes: `256KiB`, `16MiB`, `10GiB`, `1GB`, `4M`, `1048576`.
pub fn parse_size(text: &str) -> Result<u64, UnitsError> {
    let (number, unit) = number_and_unit(text, "size")?;
    let factor: u128 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "tb" => 1_000_000_000_000,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        "t" | "tib" => 1 << 40,
        _ => return Err(UnitsError::unknown_unit(text, unit, "size", SIZE_UNITS)),
    };
    to_u64(number.times(factor), text)
}

/// Prints a size with binary units and one decimal: `512 B`, `1.5 KiB`, `10.0 GiB`.
pub fn format_size(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut unit = 0;
    let mut scaled = bytes as f64 / 1024.0;
    while scaled >= 1024.0 && unit + 1 < UNITS.len() {
        scaled /= 1024.0;
        unit += 1;
    }
    format!("{scaled:.1} {}", UNITS[unit])
}

/// Reads a rate in bits per second: `1Gbps`, `100Mbps`, `500Mbit`, `125MB/s`, `0`.
pub fn parse_rate(text: &str) -> Result<u64, UnitsError> {
    let (number, unit) = number_and_unit(text, "rate")?;
    if unit.is_empty() {
        if number.mantissa == 0 {
            return Ok(0);
        }
        return Err(UnitsError::MissingUnit {
            text: text.into(),
            example: "100Mbps or 125MB/s",
        });
    }
    let unknown = || UnitsError::unknown_unit(text, unit, "rate", RATE_UNITS);
    let (prefix, base) = split_rate_prefix(unit);
    let binary = base.starts_with("iB") || base.starts_with("ib");
    let base = if binary { &base[1..] } else { base };
    let bits_per_unit: u128 = match base {
        "bps" | "bit" | "bit/s" | "b/s" | "bits" | "bits/s" => 1,
        "B/s" | "Bps" => 8,
        _ => return Err(unknown()),
    };
    if binary && bits_per_unit != 8 {
        return Err(unknown());
    }
    let multiplier: u128 = match (prefix.to_ascii_lowercase().as_str(), binary) {
        ("", false) => 1,
        ("k", false) => 1_000,
        ("m", false) => 1_000_000,
        ("g", false) => 1_000_000_000,
        ("t", false) => 1_000_000_000_000,
        ("k", true) => 1 << 10,
        ("m", true) => 1 << 20,
        ("g", true) => 1 << 30,
        _ => return Err(unknown()),
    };
    to_u64(number.times(multiplier * bits_per_unit), text)
}

/// Splits a rate unit into its SI prefix letter (if any) and the rest.
fn split_rate_prefix(unit: &str) -> (&str, &str) {
    match unit.chars().next() {
        Some('k' | 'K' | 'm' | 'M' | 'g' | 'G' | 't' | 'T') => unit.split_at(1),
        _ => ("", unit),
    }
}

/// Prints a rate in bits per second with decimal units: `1 Gbps`, `95.6 Mbps`, `0 bps`.
pub fn format_rate(bits_per_second: u64) -> String {
    const UNITS: [(u64, &str); 4] = [
        (1_000_000_000_000, "Tbps"),
        (1_000_000_000, "Gbps"),
        (1_000_000, "Mbps"),
        (1_000, "kbps"),
    ];
    for (scale, name) in UNITS {
        if bits_per_second >= scale {
            return format!(
                "{} {name}",
                trim_decimal(bits_per_second as f64 / scale as f64)
            );
        }
    }
    format!("{bits_per_second} bps")
}

/// Up to two decimals, without trailing zeros: `1`, `95.6`, `1.25`.
fn trim_decimal(value: f64) -> String {
    let text = format!("{value:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// Reads a duration: `2ms`, `1.5s`, `10m`, `1h`, `1m30s`, `0`.
pub fn parse_duration(text: &str) -> Result<Duration, UnitsError> {
    const KIND: &str = "duration";
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err(UnitsError::Empty { kind: KIND });
    }
    if rest == "0" {
        return Ok(Duration::ZERO);
    }
    let mut total_ns: u128 = 0;
    while !rest.is_empty() {
        let (number, after) =
            split_number(rest).ok_or_else(|| UnitsError::bad_number(text, KIND))?;
        let unit_end = after
            .find(|c: char| c.is_ascii_digit() || c == '.' || c.is_whitespace())
            .unwrap_or(after.len());
        let (unit, next) = after.split_at(unit_end);
        let ns_per_unit: u128 = match unit {
            "" => {
                return Err(UnitsError::MissingUnit {
                    text: text.into(),
                    example: "1.5s or 250ms",
                })
            }
            "ns" => 1,
            "us" | "µs" => 1_000,
            "ms" => 1_000_000,
            "s" | "sec" => 1_000_000_000,
            "m" | "min" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => return Err(UnitsError::unknown_unit(text, unit, KIND, DURATION_UNITS)),
        };
        total_ns = number
            .times(ns_per_unit)
            .and_then(|part| total_ns.checked_add(part))
            .ok_or_else(|| UnitsError::overflow(text))?;
        rest = next.trim_start();
    }
    let secs = to_u64(Some(total_ns / 1_000_000_000), text)?;
    Ok(Duration::new(secs, (total_ns % 1_000_000_000) as u32))
}

/// Prints a duration compactly: `250 µs`, `12.5 ms`, `1.5 s`, `2 min 5 s`, `1 h 3 min`.
pub fn format_duration(duration: Duration) -> String {
    let secs = duration.as_secs();
    if secs >= 3600 {
        return format!("{} h {} min", secs / 3600, secs % 3600 / 60);
    }
    if secs >= 60 {
        return format!("{} min {} s", secs / 60, secs % 60);
    }
    let ns = duration.as_nanos() as f64;
    if secs >= 1 {
        format!("{} s", trim_decimal(ns / 1e9))
    } else if ns >= 1e6 {
        format!("{} ms", trim_decimal(ns / 1e6))
    } else if ns >= 1e3 {
        format!("{} µs", trim_decimal(ns / 1e3))
    } else {
        format!("{ns} ns")
    }
}

/// `seconds` since the Unix epoch as `YYYY-MM-DD HH:MM:SS UTC`.
pub fn format_unix_time(seconds: i64) -> String {
    let days = seconds.div_euclid(86_400);
    let of_day = seconds.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        let cases = [
            ("0", 0),
            ("1048576", 1 << 20),
            ("256KiB", 256 << 10),
            ("16MiB", 16 << 20),
            ("10GiB", 10 << 30),
            ("1GB", 1_000_000_000),
            ("500kB", 500_000),
            ("4M", 4 << 20),
            ("1.5 GiB", 3 << 29),
            ("2tib", 2 << 40),
            ("  7 b ", 7),
            (".5KiB", 512),
        ];
        for (text, bytes) in cases {
            assert_eq!(parse_size(text), Ok(bytes), "{text}");
        }
    }

    #[test]
    fn bad_sizes_name_the_problem() {
        assert!(matches!(parse_size(""), Err(UnitsError::Empty { .. })));
        assert!(matches!(
            parse_size("GiB"),
            Err(UnitsError::BadNumber { .. })
        ));
        assert!(matches!(parse_size("."), Err(UnitsError::BadNumber { .. })));
        assert!(matches!(
            parse_size("1.2.3MiB"),
            Err(UnitsError::BadNumber { .. })
        ));
        assert!(matches!(
            parse_size("-1"),
            Err(UnitsError::BadNumber { .. })
        ));
        let err = parse_size("5 parsecs").unwrap_err();
        assert!(err.to_string().contains("parsecs"), "{err}");
        assert!(matches!(
            parse_size("99999999999TiB"),
            Err(UnitsError::Overflow { .. })
        ));
        assert!(matches!(
            parse_size(&"9".repeat(200)),
            Err(UnitsError::BadNumber { .. })
        ));
    }

    #[test]
    fn size_formatting() {
        assert_eq!(format_size(0), "0 B");
        assert_eq!(format_size(1023), "1023 B");
        assert_eq!(format_size(1536), "1.5 KiB");
        assert_eq!(format_size(10 << 30), "10.0 GiB");
        assert_eq!(format_size(u64::MAX), "16.0 EiB");
    }

    #[test]
    fn rates_are_bits_per_second() {
        let cases = [
            ("0", 0),
            ("1Gbps", 1_000_000_000),
            ("100Mbps", 100_000_000),
            ("100 mbps", 100_000_000),
            ("500Mbit", 500_000_000),
            ("10Mbit/s", 10_000_000),
            ("125MB/s", 1_000_000_000),
            ("125MBps", 1_000_000_000),
            ("1MiB/s", 8 << 20),
            ("2.5Gbps", 2_500_000_000),
            ("64kbps", 64_000),
            ("300bps", 300),
        ];
        for (text, bps) in cases {
            assert_eq!(parse_rate(text), Ok(bps), "{text}");
        }
    }

    #[test]
    fn bad_rates() {
        assert!(matches!(
            parse_rate("100"),
            Err(UnitsError::MissingUnit { .. })
        ));
        for text in ["1GiBit", "5 furlongs", "1Mibps", "3xbps"] {
            assert!(
                matches!(parse_rate(text), Err(UnitsError::UnknownUnit { .. })),
                "{text}"
            );
        }
        assert!(matches!(
            parse_rate("99999999999Tbps"),
            Err(UnitsError::Overflow { .. })
        ));
    }

    #[test]
    fn rate_formatting() {
        assert_eq!(format_rate(0), "0 bps");
        assert_eq!(format_rate(1_000_000_000), "1 Gbps");
        assert_eq!(format_rate(95_600_000), "95.6 Mbps");
        assert_eq!(format_rate(1_250), "1.25 kbps");
        assert_eq!(parse_rate(&format_rate(2_500_000_000)), Ok(2_500_000_000));
    }

    #[test]
    fn durations() {
        let cases = [
            ("0", Duration::ZERO),
            ("2ms", Duration::from_millis(2)),
            ("1.5s", Duration::from_millis(1500)),
            ("10m", Duration::from_secs(600)),
            ("1h", Duration::from_secs(3600)),
            ("1m30s", Duration::from_secs(90)),
            ("1m 30s", Duration::from_secs(90)),
            ("250us", Duration::from_micros(250)),
            ("7ns", Duration::from_nanos(7)),
            ("0.5 min", Duration::from_secs(30)),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_duration(text), Ok(expected), "{text}");
        }
        assert!(matches!(
            parse_duration("5"),
            Err(UnitsError::MissingUnit { .. })
        ));
        assert!(matches!(
            parse_duration("5 fortnights"),
            Err(UnitsError::UnknownUnit { .. })
        ));
        assert!(matches!(
            parse_duration("s"),
            Err(UnitsError::BadNumber { .. })
        ));
    }

    #[test]
    fn duration_formatting() {
        assert_eq!(format_duration(Duration::from_nanos(500)), "500 ns");
        assert_eq!(format_duration(Duration::from_micros(250)), "250 µs");
        assert_eq!(format_duration(Duration::from_micros(12_500)), "12.5 ms");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1.5 s");
        assert_eq!(format_duration(Duration::from_secs(125)), "2 min 5 s");
        assert_eq!(format_duration(Duration::from_secs(3780)), "1 h 3 min");
    }

    #[test]
    fn unix_times_print_as_utc_dates() {
        assert_eq!(format_unix_time(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(format_unix_time(1_700_000_000), "2023-11-14 22:13:20 UTC");
        assert_eq!(format_unix_time(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(format_unix_time(-1), "1969-12-31 23:59:59 UTC");
        // Far out of range must not panic.
        let _ = format_unix_time(i64::MAX / 2);
    }
}
