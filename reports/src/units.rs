//! Units for chart axes: picks Mbit/s or Gbit/s for a set of rates so tick labels stay short.

/// A unit for bit rates on an axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RateUnit {
    /// 10^6 bits per second.
    Mbit,
    /// 10^9 bits per second.
    Gbit,
}

impl RateUnit {
    /// The unit that keeps the largest value between 1 and 1000 where possible.
    pub(crate) fn for_max(max_bps: f64) -> Self {
        if max_bps.is_finite() && max_bps >= 1e9 {
            RateUnit::Gbit
        } else {
            RateUnit::Mbit
        }
    }

    /// Bits per second in one unit.
    pub(crate) fn bps(self) -> f64 {
        match self {
            RateUnit::Mbit => 1e6,
            RateUnit::Gbit => 1e9,
        }
    }

    /// A rate in this unit.
    pub(crate) fn scale(self, bps: f64) -> f64 {
        bps / self.bps()
    }

    /// The unit's symbol for axis labels.
    pub(crate) fn symbol(self) -> &'static str {
        match self {
            RateUnit::Mbit => "Mbit/s",
            RateUnit::Gbit => "Gbit/s",
        }
    }
}

/// Formats a rate with its unit picked for that value alone, e.g. `9.8 Gbit/s`.
pub(crate) fn format_rate(bps: f64) -> String {
    let unit = RateUnit::for_max(bps);
    format!("{:.2} {}", unit.scale(bps), unit.symbol())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_follows_the_largest_value() {
        assert_eq!(RateUnit::for_max(0.0), RateUnit::Mbit);
        assert_eq!(RateUnit::for_max(999e6), RateUnit::Mbit);
        assert_eq!(RateUnit::for_max(1e9), RateUnit::Gbit);
        assert_eq!(RateUnit::for_max(f64::NAN), RateUnit::Mbit);
        assert_eq!(RateUnit::Gbit.scale(2.5e9), 2.5);
        assert_eq!(format_rate(250e6), "250.00 Mbit/s");
        assert_eq!(format_rate(8e9), "8.00 Gbit/s");
    }
}
