//! Every committed seed and every pinned crash, through the same checks the fuzzer runs:
//! a crash that `scripts/fuzz` once found (and copied into `fuzz/regressions/TARGET/`)
//! fails this ordinary test until it is fixed.

use std::path::Path;

#[test]
fn every_seed_and_pinned_crash_passes_its_check() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut replayed = 0;
    for (target, check) in swarm_fuzzing::TARGETS {
        for kind in ["seeds", "regressions"] {
            let dir = root.join(kind).join(target);
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries {
                let path = entry.expect("readable directory entry").path();
                let data = std::fs::read(&path).expect("readable input");
                println!("{target}: {}", path.display());
                check(&data);
                replayed += 1;
            }
        }
    }
    assert!(replayed > 0, "no seeds found under {}", root.display());
}

#[test]
fn every_target_has_seeds_and_a_cargo_fuzz_binary() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).expect("fuzz/Cargo.toml");
    for (target, _) in swarm_fuzzing::TARGETS {
        assert!(
            manifest.contains(&format!("name = \"{target}\"")),
            "fuzz/Cargo.toml has no [[bin]] for {target}"
        );
        let seeds = root.join("seeds").join(target);
        let count = std::fs::read_dir(&seeds).map(|d| d.count()).unwrap_or(0);
        assert!(count > 0, "no seeds in {}", seeds.display());
    }
}
