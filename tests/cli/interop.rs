//! Interoperability with the reference implementations: libtorrent (Debian's
//! `python3-libtorrent`) and `mktorrent`.
//!
//! - Torrents from `swarm create` load in libtorrent with the same info-hash and the same
//!   piece hashes.
//! - Torrents from `mktorrent` and from libtorrent are read by `swarm inspect` with the
//!   info-hash those tools report, and `swarm verify` accepts the content they were made of.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::support::{
    libtorrent_python, lt_create_script, lt_describe_script, make_tree, mktorrent, python_json, s,
    swarm_in, write_random,
};

/// `(path, length)` pairs of `swarm inspect --json`, with the torrent name in front of
/// multi-file paths as libtorrent prints them.
fn swarm_files(info: &Value) -> Vec<(String, u64)> {
    let name = info["name"].as_str().unwrap();
    let multi = info["multi_file"].as_bool().unwrap();
    info["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let path = f["path"].as_str().unwrap();
            let path = if multi {
                format!("{name}/{path}")
            } else {
                path.to_string()
            };
            (path, f["length"].as_u64().unwrap())
        })
        .collect()
}

fn lt_files(lt: &Value) -> Vec<(String, u64)> {
    lt["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f[0].as_str().unwrap().to_string(), f[1].as_u64().unwrap()))
        .collect()
}

/// Checks `swarm inspect --json` of `torrent` against libtorrent's reading of it.
fn assert_same_as_libtorrent(dir: &Path, torrent: &str, lt: &Value) {
    let info = swarm_in(dir, &["inspect", "--json", torrent])
        .expect(0)
        .json();
    for key in [
        "info_hash",
        "name",
        "total_size",
        "piece_length",
        "piece_count",
        "private",
    ] {
        assert_eq!(info[key], lt[key], "{torrent}: {key}");
    }
    assert_eq!(swarm_files(&info), lt_files(lt), "{torrent}: files");
}

/// What a torrent is made of in `dir`: the tree `tree` when `multi`, else the file `image.raw`
/// of `len` random bytes from `seed`. Returns its name.
fn content_in(dir: &Path, multi: bool, len: usize, seed: u64) -> &'static str {
    if multi {
        make_tree(&dir.join("tree"));
        "tree"
    } else {
        write_random(&dir.join("image.raw"), len, seed);
        "image.raw"
    }
}

fn swarm_torrent_loads_in_libtorrent(multi: bool) {
    let Some(python) = libtorrent_python() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let content = content_in(dir.path(), multi, 1_000_003, 11);
    let hash = swarm_in(
        dir.path(),
        &[
            "create",
            content,
            "-p",
            "32KiB",
            "-t",
            "http://tracker.example/announce",
            "-o",
            "s.torrent",
        ],
    )
    .expect(0)
    .stdout;
    let torrent = dir.path().join("s.torrent");
    let lt = python_json(&python, &lt_describe_script(), &[s(&torrent)]);
    assert_eq!(lt["info_hash"], hash.trim());
    assert_eq!(lt["private"], true);
    assert_eq!(
        lt["trackers"],
        serde_json::json!(["http://tracker.example/announce"])
    );
    assert_same_as_libtorrent(dir.path(), "s.torrent", &lt);

    // Every piece hash, as libtorrent reads them, is the SHA-1 of that piece of content.
    let meta =
        swarm_engine::metainfo::Metainfo::from_bytes(&std::fs::read(&torrent).unwrap()).unwrap();
    let ours: Vec<String> = meta.piece_hashes.iter().map(hex_of).collect();
    assert_eq!(lt["piece_hashes"], serde_json::json!(ours));
    assert!(ours.len() > 3);
}

fn hex_of(bytes: &[u8; 20]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn swarm_single_file_torrent_loads_in_libtorrent() {
    swarm_torrent_loads_in_libtorrent(false);
}

#[test]
fn swarm_multi_file_torrent_loads_in_libtorrent() {
    swarm_torrent_loads_in_libtorrent(true);
}

fn mktorrent_torrent_reads_in_swarm(multi: bool) {
    let (Some(python), Some(mktorrent)) = (libtorrent_python(), mktorrent()) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let content = content_in(dir.path(), multi, 777_777, 12);
    let status = Command::new(mktorrent)
        .current_dir(dir.path())
        .args(["-a", "http://tracker.example/announce", "-l", "15", "-p"])
        .args(["-o", "mk.torrent", content])
        .output()
        .unwrap();
    assert!(status.status.success(), "{status:?}");
    // mktorrent does not print the info-hash: libtorrent tells it.
    let torrent = dir.path().join("mk.torrent");
    let lt = python_json(&python, &lt_describe_script(), &[s(&torrent)]);
    assert_eq!(lt["piece_length"], 32 * 1024);
    assert_same_as_libtorrent(dir.path(), "mk.torrent", &lt);
    swarm_in(dir.path(), &["verify", "mk.torrent", content]).expect(0);
}

#[test]
fn mktorrent_single_file_torrent_reads_in_swarm() {
    mktorrent_torrent_reads_in_swarm(false);
}

#[test]
fn mktorrent_multi_file_torrent_reads_in_swarm() {
    mktorrent_torrent_reads_in_swarm(true);
}

/// libtorrent 2 writes hybrid v1+v2 torrents by default (extra `file tree`, `meta version`
/// and top-level `piece layers` keys, BEP 47 pad files between multi-file entries); the v1
/// info-hash is still the SHA-1 of the whole `info` dictionary.
fn libtorrent_torrent_reads_in_swarm(multi: bool, v1_only: bool) {
    let Some(python) = libtorrent_python() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let content = if multi {
        make_tree(&dir.path().join("tree"));
        dir.path().join("tree")
    } else {
        write_random(&dir.path().join("image.raw"), 654_321, 13);
        dir.path().join("image.raw")
    };
    let torrent = dir.path().join("lt.torrent");
    let flag = if v1_only { "1" } else { "0" };
    let lt = python_json(
        &python,
        &lt_create_script(),
        &[s(&content), s(&torrent), "16384", flag],
    );
    assert_same_as_libtorrent(dir.path(), "lt.torrent", &lt);
    // Pad files (BEP 47) are zeros that are not on disk: the content verifies without them.
    let has_pad_files = lt_files(&lt).iter().any(|(path, _)| path.contains(".pad/"));
    assert_eq!(
        has_pad_files,
        multi && !v1_only,
        "libtorrent 2 pads hybrid multi-file torrents"
    );
    let report = swarm_in(dir.path(), &["verify", "--json", "lt.torrent", s(&content)])
        .expect(0)
        .json();
    assert_eq!(report["file_problems"], serde_json::json!([]));
    assert!(!content.join(".pad").exists());
}

#[test]
fn libtorrent_single_file_torrent_reads_in_swarm() {
    libtorrent_torrent_reads_in_swarm(false, false);
}

#[test]
fn libtorrent_multi_file_torrent_reads_in_swarm() {
    libtorrent_torrent_reads_in_swarm(true, false);
}

#[test]
fn libtorrent_v1_only_multi_file_torrent_reads_in_swarm() {
    libtorrent_torrent_reads_in_swarm(true, true);
}
