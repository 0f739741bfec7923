//! Sweeps: one scenario at several values of one setting, to answer "how does my rollout
//! scale?". `peers=6,12,24` sets the number of peers (keeping the groups' shares: peer `j`
//! of `n` is shaped like peer `j·m/n` of the `m` written), `size=256MiB,1GiB` the file size.
//! Faults keep naming the same nodes by position; a fault on a peer a point does not have
//! is an error.

use swarm_engine::units::parse_size;

use crate::scenario::{NodeSpec, Scenario, ScenarioError, MAX_PEERS};

/// What a sweep varies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SweepAxis {
    /// The number of peers.
    Peers,
    /// The file size, bytes.
    FileSize,
}

impl SweepAxis {
    /// The name used on the command line and in tables.
    pub fn name(self) -> &'static str {
        match self {
            SweepAxis::Peers => "peers",
            SweepAxis::FileSize => "size",
        }
    }

    /// What the values are, for a chart's axis.
    pub fn description(self) -> &'static str {
        match self {
            SweepAxis::Peers => "peers",
            SweepAxis::FileSize => "file size (MiB)",
        }
    }

    /// A value in the unit of [`SweepAxis::description`].
    pub fn chart_value(self, value: u64) -> f64 {
        match self {
            SweepAxis::Peers => value as f64,
            SweepAxis::FileSize => value as f64 / f64::from(1 << 20),
        }
    }
}

/// A parsed `--sweep AXIS=V1,V2,...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sweep {
    /// What varies.
    pub axis: SweepAxis,
    /// Each value as written, and as a number (peers or bytes).
    pub values: Vec<(String, u64)>,
}

/// Most points one sweep may ask for.
pub const MAX_SWEEP_POINTS: usize = 32;

impl Sweep {
    /// Parses `peers=6,12,24` or `size=256MiB,1GiB`.
    pub fn parse(text: &str) -> Result<Sweep, ScenarioError> {
        let bad = |why: String| ScenarioError::from(format!("--sweep {text:?}: {why}"));
        let (axis, list) = text
            .split_once('=')
            .ok_or_else(|| bad("expected AXIS=V1,V2,... (peers or size)".into()))?;
        let axis = match axis.trim() {
            "peers" => SweepAxis::Peers,
            "size" | "file_size" => SweepAxis::FileSize,
            other => return Err(bad(format!("unknown axis {other:?} (peers, size)"))),
        };
        let mut values = Vec::new();
        for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let value = match axis {
                SweepAxis::Peers => item
                    .parse::<u64>()
                    .ok()
                    .filter(|&n| (1..=u64::from(MAX_PEERS)).contains(&n))
                    .ok_or_else(|| {
                        bad(format!("{item:?} is not a peer count in 1..={MAX_PEERS}"))
                    })?,
                SweepAxis::FileSize => parse_size(item)
                    .ok()
                    .filter(|&n| n > 0)
                    .ok_or_else(|| bad(format!("{item:?} is not a positive size")))?,
            };
            values.push((item.to_string(), value));
        }
        if values.is_empty() {
            return Err(bad("no values".into()));
        }
        if values.len() > MAX_SWEEP_POINTS {
            return Err(bad(format!(
                "{} values; at most {MAX_SWEEP_POINTS}",
                values.len()
            )));
        }
        Ok(Sweep { axis, values })
    }

    /// The scenario at each value, named `NAME-AXIS-VALUE`.
    pub fn scenarios(&self, base: &Scenario) -> Result<Vec<Scenario>, ScenarioError> {
        self.values
            .iter()
            .map(|(label, value)| {
                let mut s = match self.axis {
                    SweepAxis::Peers => with_peers(base, *value as usize)?,
                    SweepAxis::FileSize => Scenario {
                        file_size_bytes: *value,
                        ..base.clone()
                    },
                };
                s.name = format!("{}-{}-{label}", base.name, self.axis.name());
                Ok(s)
            })
            .collect()
    }
}

/// `base` with `n` peers, shaped like the written ones in proportion.
fn with_peers(base: &Scenario, n: usize) -> Result<Scenario, ScenarioError> {
    let written = base.peers();
    let width = n.to_string().len().max(2);
    let id = |i: usize| format!("peer-{i:0width$}");
    let mut nodes = vec![base.origin().clone()];
    nodes.extend((0..n).map(|j| NodeSpec {
        id: id(j + 1),
        ..written[j * written.len() / n].clone()
    }));
    let rename = |node: &str| -> Result<String, ScenarioError> {
        match base.node_index(node) {
            Some(0) => Ok(node.to_string()),
            Some(i) if i <= n => Ok(id(i)),
            _ => Err(ScenarioError::from(format!(
                "a fault names {node}, and the sweep point with {n} peers has no such peer"
            ))),
        }
    };
    let faults = base
        .faults
        .iter()
        .map(|f| {
            let mut fault = f.clone();
            if let Some(node) = fault.node_mut() {
                *node = rename(node)?;
            }
            Ok(fault)
        })
        .collect::<Result<_, ScenarioError>>()?;
    Ok(Scenario {
        nodes,
        faults,
        ..base.clone()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Fault;

    const TWO_RACKS: &str = r#"
file_size = "64MiB"
piece_size = "1MiB"
[origin]
upload = "1Gbps"
[[groups]]
count = 2
upload = "1Gbps"
download = "1Gbps"
rack = "a"
[[groups]]
count = 2
upload = "100Mbps"
download = "100Mbps"
rack = "b"
[[faults]]
kind = "peer-crash"
node = "peer-03"
at = "1s"
"#;

    #[test]
    fn peers_keep_the_groups_shares_and_faults_follow_their_node() {
        let base = Scenario::parse(TWO_RACKS, "racks").expect("test value");
        let sweep = Sweep::parse("peers=8,120").expect("test value");
        let points = sweep.scenarios(&base).expect("test value");
        let racks = |s: &Scenario| s.peers().iter().filter(|p| p.rack == "a").count();
        assert_eq!((points[0].peers().len(), racks(&points[0])), (8, 4));
        assert_eq!((points[1].peers().len(), racks(&points[1])), (120, 60));
        assert_eq!(points[1].name, "racks-peers-120");
        assert_eq!(points[1].peers()[119].id, "peer-120");
        assert_eq!(
            points[1].faults,
            vec![Fault::PeerCrash {
                node: "peer-003".into(),
                at: std::time::Duration::from_secs(1)
            }]
        );
        let err = Sweep::parse("peers=2")
            .expect("test value")
            .scenarios(&base);
        assert!(err
            .expect_err("peer-03 is gone")
            .to_string()
            .contains("peer-03"));
    }

    #[test]
    fn sizes_parse_and_bad_specs_say_why() {
        let sweep = Sweep::parse("size=256MiB, 1GiB").expect("test value");
        assert_eq!(
            sweep.values,
            vec![("256MiB".into(), 256 << 20), ("1GiB".into(), 1 << 30)]
        );
        for bad in ["peers", "colour=1", "peers=0", "peers=", "size=big"] {
            assert!(Sweep::parse(bad).is_err(), "{bad}");
        }
        let many = format!("peers={}", vec!["2"; MAX_SWEEP_POINTS + 1].join(","));
        assert!(Sweep::parse(&many).is_err());
    }
}
