//! `swarm verify TORRENT PATH`: re-hash a local copy; exit 0 only when it is complete.

use std::fmt::Write;
use std::path::PathBuf;

use clap::Args;
use swarm_engine::units::format_size;
use swarm_net::verify::{verify_with, FileProblemKind, VerifyReport};

use super::progress::Progress;
use super::{hash_config, read_torrent, Outcome};

/// Check a local copy against a torrent, piece by piece.
///
/// PATH is the content itself, as given to `swarm create`: the file of a single-file
/// torrent, or the top directory of a multi-file torrent (its own name does not matter).
/// For a single-file torrent PATH may also be a directory holding a file named after the
/// torrent. A piece is missing when some of its bytes are not on disk, bad when they are
/// but the hash differs. Exit 0 only when every piece matches and every file has its
/// exact length; 1 when the copy is incomplete or corrupt; 2 when it cannot be checked.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The .torrent file.
    torrent: PathBuf,
    /// The copy: a file or the torrent's top directory (see above).
    path: PathBuf,
    /// Print JSON (complete, bad_pieces, missing_pieces, file_problems, ...) instead of text.
    #[arg(long)]
    pub(super) json: bool,
    /// Hashing threads [default: one per core].
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
}

/// Runs `swarm verify`.
pub fn run_verify(args: VerifyArgs) -> anyhow::Result<Outcome> {
    let meta = read_torrent(&args.torrent)?;
    let progress = Progress::bytes(meta.total_length(), "verifying");
    let report = verify_with(&meta, &args.path, hash_config(args.threads), &|done| {
        progress.set(done)
    });
    progress.finish();
    let report = report?;
    let nested = args.path.join(&meta.name);
    if meta.multi_file && report.good_pieces == 0 && report.piece_count > 0 && nested.is_dir() {
        eprintln!(
            "hint: nothing matched in {}, but {} exists: PATH is the torrent's top directory itself",
            args.path.display(),
            nested.display()
        );
    }
    if args.json {
        let mut value = serde_json::to_value(&report)?;
        if let Some(object) = value.as_object_mut() {
            object.insert("info_hash".into(), meta.info_hash.to_string().into());
            object.insert("name".into(), meta.name.clone().into());
        }
        println!("{value:#}");
    } else {
        print!("{}", to_text(&report, meta.total_length()));
    }
    Ok(if report.complete {
        Outcome::Success
    } else {
        Outcome::Incomplete
    })
}

fn to_text(report: &VerifyReport, total_length: u64) -> String {
    let mut out = String::new();
    let path = report.content_path.display();
    if report.complete {
        let _ = writeln!(
            out,
            "complete: all {} pieces match ({}) in {path}",
            report.piece_count,
            format_size(total_length)
        );
        return out;
    }
    let _ = writeln!(
        out,
        "INCOMPLETE: {path}: {} of {} pieces good, {} bad, {} missing",
        report.good_pieces,
        report.piece_count,
        report.bad_pieces.len(),
        report.missing_pieces.len()
    );
    if !report.bad_pieces.is_empty() {
        let _ = writeln!(out, "bad pieces: {}", ranges(&report.bad_pieces));
    }
    if !report.missing_pieces.is_empty() {
        let _ = writeln!(out, "missing pieces: {}", ranges(&report.missing_pieces));
    }
    for file in &report.file_problems {
        let what = match (file.problem, file.found_length) {
            (FileProblemKind::Missing, _) => "missing".to_string(),
            (FileProblemKind::NotAFile, _) => "not a regular file".to_string(),
            (_, Some(found)) => format!("{found} bytes, expected {}", file.expected_length),
            (_, None) => "unreadable".to_string(),
        };
        let _ = writeln!(out, "file {}: {what}", file.path);
    }
    out
}

/// `[1, 2, 3, 7, 9, 10]` as `1-3, 7, 9-10`.
fn ranges(indices: &[u32]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut iter = indices.iter().copied().peekable();
    while let Some(start) = iter.next() {
        let mut end = start;
        while iter.peek() == Some(&(end + 1)) {
            end += 1;
            iter.next();
        }
        parts.push(if start == end {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
    }
    parts.join(", ")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::ranges;

    #[test]
    fn piece_lists_print_as_ranges() {
        assert_eq!(ranges(&[]), "");
        assert_eq!(ranges(&[4]), "4");
        assert_eq!(ranges(&[1, 2, 3, 7, 9, 10]), "1-3, 7, 9-10");
    }
}
