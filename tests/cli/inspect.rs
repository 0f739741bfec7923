//! `swarm inspect`: text and JSON, raw-bytes info-hash, rejection of bad torrents.

use std::fs;

use swarm_engine::metainfo::InfoHash;

use crate::support::{make_tree, swarm_in};

#[test]
fn text_output_shows_the_essentials() {
    let dir = tempfile::tempdir().unwrap();
    make_tree(&dir.path().join("tree"));
    let hash = swarm_in(
        dir.path(),
        &[
            "create",
            "tree",
            "-t",
            "http://t.example/announce",
            "-c",
            "hi",
        ],
    )
    .expect(0)
    .stdout;
    let text = swarm_in(dir.path(), &["inspect", "tree.torrent"])
        .expect(0)
        .stdout;
    for expected in [
        "Name: tree",
        &format!("Hash: {}", hash.trim()),
        "Comment: hi",
        "Privacy: Private torrent",
        "http://t.example/announce",
        "tree/sub/deeper/c.bin",
        "Total Size: 198.6 KiB (203334 bytes)",
    ] {
        assert!(text.contains(expected), "{expected:?} not in\n{text}");
    }
}

/// A torrent written by hand with an unknown key and keys out of canonical order: the
/// info-hash must be the SHA-1 of the `info` bytes exactly as they are in the file.
#[test]
fn info_hash_comes_from_the_raw_info_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let info: &[u8] =
        b"d6:lengthi5e4:name1:x12:piece lengthi16384e6:pieces20:AAAAAAAAAAAAAAAAAAAA1:zi1ee";
    let mut torrent = b"d8:announce9:http://t/4:info".to_vec();
    torrent.extend_from_slice(info);
    torrent.extend_from_slice(b"7:unknownli1ei2eee");
    fs::write(dir.path().join("odd.torrent"), &torrent).unwrap();
    let json = swarm_in(dir.path(), &["inspect", "--json", "odd.torrent"])
        .expect(0)
        .json();
    assert_eq!(json["info_hash"], InfoHash::of_info_bytes(info).to_string());
    assert_eq!(json["name"], "x");
    assert_eq!(json["total_size"], 5);
    assert_eq!(json["trackers"], serde_json::json!(["http://t/"]));
}

#[test]
fn bad_torrents_exit_2_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let cases: &[(&str, &[u8], &str)] = &[
        ("truncated.torrent", b"d4:infod4:name", "byte"),
        ("garbage.torrent", b"hello world", "malformed"),
        (
            "escape.torrent",
            b"d4:infod5:filesld6:lengthi1e4:pathl2:..1:xeee4:name1:d12:piece lengthi16384e6:pieces20:AAAAAAAAAAAAAAAAAAAAee",
            "..",
        ),
        (
            "pieces.torrent",
            b"d4:infod6:lengthi99999e4:name1:x12:piece lengthi16384e6:pieces20:AAAAAAAAAAAAAAAAAAAAee",
            "expected 7",
        ),
    ];
    for (name, bytes, expected) in cases {
        fs::write(dir.path().join(name), bytes).unwrap();
        let run = swarm_in(dir.path(), &["inspect", name]).expect(2);
        assert!(
            run.stderr.contains(expected) && run.stderr.contains(name),
            "{name}: {expected:?} not in {}",
            run.stderr
        );
    }
    let run = swarm_in(dir.path(), &["inspect", "absent.torrent"]).expect(2);
    assert!(run.stderr.contains("absent.torrent"), "{}", run.stderr);
}
