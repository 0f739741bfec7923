//! The core stays sans-IO and deterministic: no clocks, OS randomness, sockets, async
//! runtime or hash-map iteration in `src/core/`.

use std::path::Path;

const BANNED: &[(&str, &str)] = &[
    (
        "HashMap",
        "BTreeMap or a sorted Vec (iteration order must not vary)",
    ),
    ("HashSet", "BTreeSet"),
    ("Instant", "a `now_ms` parameter"),
    ("SystemTime", "a `now_ms` parameter"),
    ("thread_rng", "the RNG passed in"),
    ("from_entropy", "the RNG passed in"),
    ("tokio", "nothing: the runtime lives outside the core"),
    ("std::net::Tcp", "nothing: the runtime does the I/O"),
    ("std::fs", "nothing: the runtime does the I/O"),
];

#[test]
fn the_core_uses_no_clock_randomness_io_or_hash_iteration() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("core/src");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        for (line_number, line) in text.lines().enumerate() {
            if line.trim_start().starts_with("//") {
                continue;
            }
            for (banned, instead) in BANNED {
                assert!(
                    !line.contains(banned),
                    "{}:{}: `{banned}` in the core; use {instead}",
                    path.display(),
                    line_number + 1
                );
            }
        }
        checked += 1;
    }
    assert!(
        checked >= 6,
        "expected the core's files in {}",
        dir.display()
    );
}
