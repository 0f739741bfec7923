//! Checks for the files an operator writes: scenario files (TOML).

use swarm_sim::Scenario;

/// A scenario file: never panics; an accepted scenario gives a bound that is a number and
/// one join time per node (the origin's included).
pub fn scenario(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(scenario) = Scenario::parse(text, "fuzz") {
        let bound = scenario.bound_s();
        assert!(!bound.is_nan(), "the bound of an accepted scenario is NaN");
        assert_eq!(scenario.join_times(1).len(), scenario.peers().len() + 1);
    }
}
