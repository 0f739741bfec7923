//! `swarm create`: output file, info-hash on stdout, options, piece size, errors.

use std::fs;

use crate::support::{make_tree, s, swarm_in, write_random};

#[test]
fn prints_the_info_hash_and_writes_name_torrent_in_the_current_directory() {
    let dir = tempfile::tempdir().unwrap();
    write_random(&dir.path().join("image.raw"), 300_000, 7);
    let run = swarm_in(dir.path(), &["create", "image.raw"]).expect(0);
    let hash = run.stdout.trim();
    assert_eq!(hash.len(), 40, "{hash}");
    assert!(hash.bytes().all(|b| b.is_ascii_hexdigit()));
    assert!(run.stderr.contains("image.raw.torrent"), "{}", run.stderr);

    let info = swarm_in(dir.path(), &["inspect", "--json", "image.raw.torrent"])
        .expect(0)
        .json();
    assert_eq!(info["info_hash"], hash);
    assert_eq!(info["name"], "image.raw");
    assert_eq!(info["total_size"], 300_000);
    assert_eq!(info["private"], true, "private unless --public");
    assert!(info["creation_date"].is_i64());
    assert_eq!(
        info["piece_length"],
        256 * 1024,
        "smallest automatic piece size"
    );
    assert_eq!(info["piece_count"], 2);
}

#[test]
fn options_reach_the_torrent() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("release");
    make_tree(&root);
    let args = [
        "create",
        "release",
        "--tracker",
        "http://t1.example/announce",
        "-t",
        "http://t2.example/announce",
        "--web-seed",
        "http://seed.example/release/",
        "--piece-size",
        "32KiB",
        "--public",
        "--comment",
        "build 42",
        "-o",
        "out/r.torrent",
    ];
    fs::create_dir(dir.path().join("out")).unwrap();
    swarm_in(dir.path(), &args).expect(0);
    let info = swarm_in(dir.path(), &["inspect", "--json", "out/r.torrent"])
        .expect(0)
        .json();
    assert_eq!(info["private"], false);
    assert_eq!(info["piece_length"], 32 * 1024);
    assert_eq!(
        info["trackers"],
        serde_json::json!(["http://t1.example/announce", "http://t2.example/announce"])
    );
    assert_eq!(
        info["web_seeds"],
        serde_json::json!(["http://seed.example/release/"])
    );
    assert_eq!(info["comment"], "build 42");
    assert!(info["created_by"].as_str().unwrap().starts_with("swarm"));
    let files: Vec<(String, u64)> = info["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["length"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        files,
        vec![
            ("a.bin".to_string(), 70_000),
            ("empty".to_string(), 0),
            ("sub/b.bin".to_string(), 33_333),
            ("sub/deeper/c.bin".to_string(), 100_001),
        ]
    );
}

#[test]
fn no_date_makes_identical_bytes() {
    let dir = tempfile::tempdir().unwrap();
    make_tree(&dir.path().join("t"));
    swarm_in(dir.path(), &["create", "t", "--no-date", "-o", "1.torrent"]).expect(0);
    swarm_in(dir.path(), &["create", "t", "--no-date", "-o", "2.torrent"]).expect(0);
    let one = fs::read(dir.path().join("1.torrent")).unwrap();
    assert_eq!(one, fs::read(dir.path().join("2.torrent")).unwrap());
    let info = swarm_in(dir.path(), &["inspect", "--json", "1.torrent"])
        .expect(0)
        .json();
    assert!(info["creation_date"].is_null());
}

#[test]
fn automatic_piece_size_targets_1000_to_2000_pieces() {
    let dir = tempfile::tempdir().unwrap();
    // Sparse: 600 MiB of zeros costs no disk and hashes in about a second.
    let file = fs::File::create(dir.path().join("big.img")).unwrap();
    file.set_len(600 << 20).unwrap();
    swarm_in(dir.path(), &["create", "big.img"]).expect(0);
    let info = swarm_in(dir.path(), &["inspect", "--json", "big.img.torrent"])
        .expect(0)
        .json();
    assert_eq!(info["piece_length"], 512 * 1024);
    assert_eq!(info["piece_count"], 1200);
}

#[test]
fn refuses_to_overwrite_without_force() {
    let dir = tempfile::tempdir().unwrap();
    write_random(&dir.path().join("f"), 1000, 1);
    fs::write(dir.path().join("f.torrent"), b"keep me").unwrap();
    let run = swarm_in(dir.path(), &["create", "f"]).expect(2);
    assert!(run.stderr.contains("--force"), "{}", run.stderr);
    assert_eq!(fs::read(dir.path().join("f.torrent")).unwrap(), b"keep me");
    swarm_in(dir.path(), &["create", "f", "--force"]).expect(0);
    swarm_in(dir.path(), &["inspect", "f.torrent"]).expect(0);
}

#[test]
fn bad_input_exits_2_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    write_random(&dir.path().join("f"), 1000, 1);
    fs::create_dir(dir.path().join("hollow")).unwrap();
    let cases: &[(&[&str], &str)] = &[
        (&["create", "no-such-file"], "no-such-file"),
        (&["create", "f", "--piece-size", "3000"], "power of two"),
        (&["create", "f", "--piece-size", "12 parsecs"], "parsecs"),
        (&["create", "hollow"], "no data"),
        (&["create"], "PATH"),
    ];
    for (args, expected) in cases {
        let run = swarm_in(dir.path(), args).expect(2);
        assert!(
            run.stderr.contains(expected),
            "{args:?}: {expected:?} not in {}",
            run.stderr
        );
    }
    // A failed create leaves no half-written torrent behind.
    assert!(!dir.path().join("f.torrent").exists());
    assert!(!dir.path().join("hollow.torrent").exists());
}

#[test]
fn absolute_paths_and_dot_are_named_after_the_directory() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("named");
    make_tree(&root);
    swarm_in(&root, &["create", ".", "-o", "../dot.torrent"]).expect(0);
    let info = swarm_in(dir.path(), &["inspect", "--json", "dot.torrent"])
        .expect(0)
        .json();
    assert_eq!(info["name"], "named");
    let abs = swarm_in(
        dir.path(),
        &["create", s(&root), "-o", "abs.torrent", "--no-date"],
    )
    .expect(0);
    assert_eq!(abs.stdout.trim().len(), 40);
}
