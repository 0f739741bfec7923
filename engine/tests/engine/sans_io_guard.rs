//! Guard: the engine stays sans-IO. It fails, naming the file, line and replacement, if
//! `engine` depends on an async runtime or socket crate, or its code reaches for the
//! network, the file system, the OS clock, threads or OS randomness.

use std::fs;
use std::path::Path;

const FORBIDDEN_CRATES: &[&str] = &["tokio", "actix", "actix-rt", "mio", "socket2", "async-std"];

const FORBIDDEN_APIS: &[(&str, &str)] = &[
    (
        "std::net",
        "node::addr::PeerAddr, and Command::Connect / Transmit",
    ),
    ("std::fs", "Command::ReadBlock / WriteBlock / HashPiece"),
    ("std::thread", "the runtime's workers"),
    ("SystemTime", "the `now: Time` passed with every input"),
    ("Instant::now", "the `now: Time` passed with every input"),
    ("thread_rng", "the node's seeded ChaCha8Rng (Ctx::rng)"),
    ("OsRng", "the node's seeded ChaCha8Rng (Ctx::rng)"),
    ("from_entropy", "the node's seeded ChaCha8Rng (Ctx::rng)"),
    ("tokio::", "nothing: the engine is driven by its runtime"),
    ("actix", "nothing: the engine is driven by its runtime"),
];

#[test]
fn engine_manifest_has_no_io_crates() {
    let manifest =
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml")).unwrap();
    let dependencies = manifest.split("[dependencies]").nth(1).unwrap_or("");
    let dependencies = dependencies.split("\n[").next().unwrap_or("");
    for line in dependencies.lines() {
        let name = line.split(['=', '.']).next().unwrap_or("").trim();
        assert!(
            !FORBIDDEN_CRATES.contains(&name),
            "engine must not depend on `{name}`"
        );
    }
}

#[test]
fn engine_sources_use_no_io_apis() {
    let mut violations = Vec::new();
    scan(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut violations,
    );
    assert!(
        violations.is_empty(),
        "sans-IO violations:\n{}",
        violations.join("\n")
    );
}

fn scan(dir: &Path, violations: &mut Vec<String>) {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .expect("engine sources are readable")
        .map(|e| e.expect("engine sources are readable").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            scan(&path, violations);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = fs::read_to_string(&path).expect("engine sources are readable");
            for (number, line) in text.lines().enumerate() {
                let code = line.trim_start();
                if code.starts_with("//") {
                    continue;
                }
                for (api, instead) in FORBIDDEN_APIS {
                    if code.contains(api) {
                        violations.push(format!(
                            "{}:{}: `{api}`; use {instead}",
                            path.display(),
                            number + 1
                        ));
                    }
                }
            }
        }
    }
}
