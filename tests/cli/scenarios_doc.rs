//! `scenarios/README.md`, the scenario format's reference page: its example is a valid
//! scenario, and it documents every key the parser accepts.

use std::fs;
use std::path::Path;

use crate::support::{s, swarm_in};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn page() -> String {
    fs::read_to_string(root().join("scenarios/README.md")).unwrap()
}

#[test]
fn the_reference_example_is_a_valid_scenario() {
    let page = page();
    let example = page
        .split("```toml\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("a toml example");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("example.toml");
    fs::write(&file, example).unwrap();
    let plan = swarm_in(dir.path(), &["sim", s(&file), "--plan"])
        .expect(0)
        .json();
    assert_eq!(plan["name"], "origin-30");
    assert_eq!(plan["seed"], 7);
    assert_eq!(plan["nodes"].as_array().unwrap().len(), 31);
    assert_eq!(plan["faults"][0]["kind"], "peer-crash");
    let late = &plan["nodes"][16];
    let join_s = late["join_s"].as_f64().unwrap();
    assert!((5.0..15.0).contains(&join_s), "{late}");
}

#[test]
fn the_reference_names_every_key_the_parser_accepts() {
    let source = fs::read_to_string(root().join("sim/src/scenario.rs")).unwrap();
    let page = page();
    let mut keys = 0;
    let mut in_raw = false;
    for line in source.lines() {
        if line.contains("struct Raw") {
            in_raw = true;
            continue;
        }
        if in_raw && line.starts_with('}') {
            in_raw = false;
            continue;
        }
        let field = line.trim().trim_start_matches("pub ");
        if let (true, Some((name, _))) = (in_raw, field.split_once(':')) {
            let name = name.trim_start_matches('_'); // `_name` is read as `name`
            if name.chars().all(|c| c.is_ascii_lowercase() || c == '_') && !name.is_empty() {
                keys += 1;
                assert!(
                    page.contains(&format!("`{name}`")),
                    "scenarios/README.md lacks `{name}`"
                );
            }
        }
    }
    assert!(
        keys > 30,
        "found only {keys} keys: has scenario.rs changed shape?"
    );
}
