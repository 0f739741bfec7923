//! `swarm create PATH`: hash a file or directory into a `.torrent`, print its info-hash.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use swarm_engine::units::format_size;
use swarm_net::create::{create_from_content, unix_now, Content, CreateOptions};

use super::progress::Progress;
use super::{hash_config, size_arg, Outcome};

/// Make a .torrent from a file or a directory and print its info-hash.
///
/// A file becomes a single-file torrent; a directory a multi-file torrent holding every
/// file below it (hidden ones too) in path order. Symbolic links are followed; a link
/// loop, a broken link or a special file is an error. The torrent is private (BEP 27)
/// unless --public. The info-hash goes to stdout, a summary to stderr.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The file or directory to share.
    path: PathBuf,
    /// Tracker announce URL; repeat for more (the first is `announce`, each one tier of
    /// `announce-list`).
    #[arg(short = 't', long = "tracker", value_name = "URL")]
    trackers: Vec<String>,
    /// Web seed URL (BEP 19); repeatable.
    #[arg(short = 'w', long = "web-seed", value_name = "URL")]
    web_seeds: Vec<String>,
    /// Piece size, a power of two from 16KiB to 256MiB (e.g. 4MiB). Default: about 1000 to
    /// 2000 pieces, between 256KiB and 16MiB.
    #[arg(short = 'p', long, value_name = "SIZE", value_parser = size_arg)]
    piece_size: Option<u64>,
    /// Leave the private flag off, so peers may also be found through DHT and PEX.
    #[arg(long)]
    public: bool,
    /// Free-text comment stored in the torrent.
    #[arg(short = 'c', long, value_name = "TEXT")]
    comment: Option<String>,
    /// Where to write the torrent [default: NAME.torrent in the current directory].
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: Option<PathBuf>,
    /// Overwrite the output file if it exists.
    #[arg(short = 'f', long)]
    force: bool,
    /// Leave out `creation date`, so the same content and options give the same bytes.
    #[arg(long)]
    no_date: bool,
    /// Hashing threads [default: one per core].
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
}

/// Runs `swarm create`.
pub fn run_create(args: CreateArgs) -> anyhow::Result<Outcome> {
    let content = Content::scan(&args.path)?;
    let output = args
        .output
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("{}.torrent", content.name())));
    // Open the output before hashing, so a refusal to overwrite costs nothing.
    let mut out = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(args.force)
        .create_new(!args.force)
        .open(&output)
        .with_context(|| {
            if output.exists() && !args.force {
                format!("{} exists (use --force to overwrite)", output.display())
            } else {
                format!("cannot write {}", output.display())
            }
        })?;
    let options = CreateOptions {
        trackers: args.trackers,
        web_seeds: args.web_seeds,
        piece_length: args.piece_size,
        private: !args.public,
        comment: args.comment,
        creation_date: if args.no_date { None } else { unix_now() },
        hashing: hash_config(args.threads),
        ..CreateOptions::default()
    };
    let progress = Progress::bytes(content.total_length(), "hashing");
    let created = create_from_content(&content, &options, &|done| progress.set(done));
    progress.finish();
    let created = match created {
        Ok(created) => created,
        Err(error) => {
            drop(out);
            let _ = std::fs::remove_file(&output);
            return Err(error.into());
        }
    };
    out.write_all(&created.bytes)
        .and_then(|()| out.sync_all())
        .with_context(|| format!("cannot write {}", output.display()))?;

    let meta = &created.metainfo;
    eprintln!(
        "wrote {}: {} ({} file{}), {} pieces of {}{}",
        output.display(),
        format_size(meta.total_length()),
        meta.files.len(),
        if meta.files.len() == 1 { "" } else { "s" },
        meta.geometry.piece_count(),
        format_size(u64::from(meta.geometry.piece_length())),
        if meta.private { ", private" } else { "" },
    );
    println!("{}", meta.info_hash);
    Ok(Outcome::Success)
}
