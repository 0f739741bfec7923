//! `swarm verify`: exit codes, bad and missing pieces, which PATH is accepted.

use std::fs;

use crate::support::{flip_byte, make_tree, s, swarm_in, write_random};

#[test]
fn complete_copy_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    write_random(&dir.path().join("img"), 200_000, 5);
    swarm_in(dir.path(), &["create", "img", "-p", "16KiB"]).expect(0);
    let run = swarm_in(dir.path(), &["verify", "img.torrent", "img"]).expect(0);
    assert!(run.stdout.contains("complete"), "{}", run.stdout);
    let json = swarm_in(dir.path(), &["verify", "--json", "img.torrent", "img"])
        .expect(0)
        .json();
    assert_eq!(json["complete"], true);
    assert_eq!(json["good_pieces"], 13);
    assert_eq!(json["bad_pieces"], serde_json::json!([]));
    assert_eq!(json["missing_pieces"], serde_json::json!([]));
}

#[test]
fn flipped_byte_marks_its_piece_bad_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    write_random(&dir.path().join("img"), 200_000, 5);
    swarm_in(dir.path(), &["create", "img", "-p", "16KiB"]).expect(0);
    flip_byte(&dir.path().join("img"), 5 * 16384 + 77);
    let json = swarm_in(dir.path(), &["verify", "--json", "img.torrent", "img"])
        .expect(1)
        .json();
    assert_eq!(json["complete"], false);
    assert_eq!(json["bad_pieces"], serde_json::json!([5]));
    assert_eq!(json["missing_pieces"], serde_json::json!([]));
    let text = swarm_in(dir.path(), &["verify", "img.torrent", "img"])
        .expect(1)
        .stdout;
    assert!(text.contains("bad pieces: 5"), "{text}");
}

#[test]
fn truncated_file_has_missing_pieces() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("img");
    write_random(&file, 200_000, 5);
    swarm_in(dir.path(), &["create", "img", "-p", "16KiB"]).expect(0);
    fs::OpenOptions::new()
        .write(true)
        .open(&file)
        .unwrap()
        .set_len(10 * 16384 + 1)
        .unwrap();
    let json = swarm_in(dir.path(), &["verify", "--json", "img.torrent", "img"])
        .expect(1)
        .json();
    assert_eq!(json["bad_pieces"], serde_json::json!([]));
    assert_eq!(json["missing_pieces"], serde_json::json!([10, 11, 12]));
    assert_eq!(json["file_problems"][0]["problem"], "too_short");
    assert_eq!(json["file_problems"][0]["found_length"], 10 * 16384 + 1);
}

#[test]
fn single_file_path_is_the_file_or_a_directory_holding_it() {
    let dir = tempfile::tempdir().unwrap();
    write_random(&dir.path().join("src/img"), 50_000, 9);
    swarm_in(dir.path(), &["create", "src/img", "-o", "img.torrent"]).expect(0);
    swarm_in(dir.path(), &["verify", "img.torrent", "src/img"]).expect(0);
    swarm_in(dir.path(), &["verify", "img.torrent", "src"]).expect(0);
    // A renamed copy verifies when named explicitly.
    fs::copy(dir.path().join("src/img"), dir.path().join("copy.bin")).unwrap();
    swarm_in(dir.path(), &["verify", "img.torrent", "copy.bin"]).expect(0);
    // A directory without the file: everything is missing.
    fs::create_dir(dir.path().join("elsewhere")).unwrap();
    let json = swarm_in(
        dir.path(),
        &["verify", "--json", "img.torrent", "elsewhere"],
    )
    .expect(1)
    .json();
    assert_eq!(json["file_problems"][0]["problem"], "missing");
    assert_eq!(json["missing_pieces"], serde_json::json!([0]));
}

#[test]
fn multi_file_path_is_the_top_directory_whatever_its_name() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("release");
    make_tree(&root);
    swarm_in(dir.path(), &["create", "release", "-p", "16KiB"]).expect(0);
    swarm_in(dir.path(), &["verify", "release.torrent", "release"]).expect(0);
    swarm_in(dir.path(), &["verify", "release.torrent", s(&root)]).expect(0);
    fs::rename(&root, dir.path().join("renamed")).unwrap();
    swarm_in(dir.path(), &["verify", "release.torrent", "renamed"]).expect(0);

    // The parent directory is not the content: a hint points at the right one.
    fs::rename(dir.path().join("renamed"), &root).unwrap();
    let run = swarm_in(dir.path(), &["verify", "release.torrent", "."]).expect(1);
    assert!(run.stderr.contains("release"), "{}", run.stderr);
    // A file where a directory is needed is an input error.
    let run = swarm_in(dir.path(), &["verify", "release.torrent", "release/a.bin"]).expect(2);
    assert!(run.stderr.contains("not a directory"), "{}", run.stderr);
}

#[test]
fn missing_and_extra_long_files_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("release");
    make_tree(&root);
    swarm_in(dir.path(), &["create", "release", "-p", "16KiB"]).expect(0);

    // Content order: a.bin [0, 70000), empty, sub/b.bin [70000, 103333), sub/deeper/c.bin.
    fs::remove_file(root.join("sub/b.bin")).unwrap();
    let json = swarm_in(
        dir.path(),
        &["verify", "--json", "release.torrent", "release"],
    )
    .expect(1)
    .json();
    assert_eq!(json["missing_pieces"], serde_json::json!([4, 5, 6]));
    assert_eq!(json["file_problems"][0]["path"], "sub/b.bin");
    assert_eq!(json["file_problems"][0]["problem"], "missing");

    write_random(&root.join("sub/b.bin"), 33_333, 2);
    fs::remove_file(root.join("empty")).unwrap();
    let json = swarm_in(
        dir.path(),
        &["verify", "--json", "release.torrent", "release"],
    )
    .expect(1)
    .json();
    assert_eq!(json["missing_pieces"], serde_json::json!([]));
    assert_eq!(json["file_problems"][0]["path"], "empty");

    fs::write(root.join("empty"), b"surplus").unwrap();
    let json = swarm_in(
        dir.path(),
        &["verify", "--json", "release.torrent", "release"],
    )
    .expect(1)
    .json();
    assert_eq!(json["bad_pieces"], serde_json::json!([]));
    assert_eq!(json["file_problems"][0]["problem"], "too_long");
}

#[test]
fn unusable_input_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    write_random(&dir.path().join("img"), 1000, 1);
    swarm_in(dir.path(), &["create", "img"]).expect(0);
    fs::write(dir.path().join("bad.torrent"), b"not bencode").unwrap();
    swarm_in(dir.path(), &["verify", "bad.torrent", "img"]).expect(2);
    let run = swarm_in(dir.path(), &["verify", "img.torrent", "nowhere"]).expect(2);
    assert!(run.stderr.contains("nowhere"), "{}", run.stderr);
    swarm_in(dir.path(), &["verify", "img.torrent"]).expect(2);
}

/// Regression: BEP 47 pad files (`attr` `p`), as libtorrent 2 writes them, were reported
/// missing. They are zeros that are never on disk.
#[test]
fn pad_files_need_not_be_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("set");
    fs::create_dir_all(&root).unwrap();
    write_random(&root.join("1"), 10, 3);
    fs::write(root.join("2pad"), vec![0u8; 16_374]).unwrap();
    write_random(&root.join("3"), 5000, 4);
    swarm_in(
        dir.path(),
        &["create", "set", "-p", "16KiB", "-o", "plain.torrent"],
    )
    .expect(0);
    // The same torrent with `2pad` flagged as a pad file.
    let plain = fs::read(dir.path().join("plain.torrent")).unwrap();
    let entry: &[u8] = b"d6:lengthi16374e4:pathl4:2padee";
    let at = plain.windows(entry.len()).position(|w| w == entry).unwrap();
    let mut padded = plain[..at].to_vec();
    padded.extend_from_slice(b"d4:attr1:p");
    padded.extend_from_slice(&plain[at + 1..]);
    fs::write(dir.path().join("padded.torrent"), padded).unwrap();

    fs::remove_file(root.join("2pad")).unwrap();
    swarm_in(dir.path(), &["verify", "plain.torrent", "set"]).expect(1);
    let json = swarm_in(dir.path(), &["verify", "--json", "padded.torrent", "set"])
        .expect(0)
        .json();
    assert_eq!(json["good_pieces"], 2);
    assert_eq!(json["file_problems"], serde_json::json!([]));
}
