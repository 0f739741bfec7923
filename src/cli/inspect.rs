//! `swarm inspect TORRENT`: show what a torrent holds, for people or (`--json`) scripts.

use std::path::PathBuf;

use clap::Args;
use serde_json::json;
use swarm_engine::metainfo::Metainfo;
use swarm_engine::units::{format_size, format_unix_time};

use super::{read_torrent, Outcome};

/// Show a torrent's name, info-hash, sizes, trackers and files.
///
/// The JSON form has: info_hash, name, total_size, piece_length, piece_count, private,
/// multi_file, trackers, announce_list, web_seeds, comment, created_by, creation_date,
/// files [{path, length, offset}].
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The .torrent file.
    torrent: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    pub(super) json: bool,
}

/// Runs `swarm inspect`.
pub fn run_inspect(args: InspectArgs) -> anyhow::Result<Outcome> {
    let meta = read_torrent(&args.torrent)?;
    if args.json {
        println!("{:#}", to_json(&meta));
    } else {
        print!("{}", to_text(&meta));
    }
    Ok(Outcome::Success)
}

fn to_json(meta: &Metainfo) -> serde_json::Value {
    let files: Vec<_> = meta
        .files
        .iter()
        .map(|f| json!({ "path": f.display_path(), "length": f.length, "offset": f.offset }))
        .collect();
    json!({
        "info_hash": meta.info_hash.to_string(),
        "name": meta.name,
        "total_size": meta.total_length(),
        "piece_length": meta.geometry.piece_length(),
        "piece_count": meta.geometry.piece_count(),
        "private": meta.private,
        "multi_file": meta.multi_file,
        "trackers": meta.trackers(),
        "announce_list": meta.announce_list,
        "web_seeds": meta.web_seeds,
        "comment": meta.comment,
        "created_by": meta.created_by,
        "creation_date": meta.creation_date,
        "files": files,
    })
}

/// The layout of `transmission-show`.
fn to_text(meta: &Metainfo) -> String {
    let mut out = String::new();
    let mut line = |text: String| {
        out.push_str(&text);
        out.push('\n');
    };
    line(format!("Name: {}", meta.name));
    line(format!("Hash: {}", meta.info_hash));
    if let Some(by) = &meta.created_by {
        line(format!("Created by: {by}"));
    }
    if let Some(date) = meta.creation_date {
        line(format!("Created on: {}", format_unix_time(date)));
    }
    if let Some(comment) = &meta.comment {
        line(format!("Comment: {comment}"));
    }
    line(format!("Piece Count: {}", meta.geometry.piece_count()));
    line(format!(
        "Piece Size: {}",
        format_size(u64::from(meta.geometry.piece_length()))
    ));
    line(format!(
        "Total Size: {} ({} bytes)",
        format_size(meta.total_length()),
        meta.total_length()
    ));
    line(format!(
        "Privacy: {}",
        if meta.private {
            "Private torrent"
        } else {
            "Public torrent"
        }
    ));
    line(String::new());
    line("TRACKERS".into());
    let tiers: Vec<Vec<String>> = if meta.announce_list.is_empty() {
        meta.announce.iter().map(|url| vec![url.clone()]).collect()
    } else {
        meta.announce_list.clone()
    };
    for (number, tier) in tiers.iter().enumerate() {
        line(format!("  Tier #{}", number + 1));
        for url in tier {
            line(format!("  {url}"));
        }
    }
    if !meta.web_seeds.is_empty() {
        line(String::new());
        line("WEBSEEDS".into());
        for url in &meta.web_seeds {
            line(format!("  {url}"));
        }
    }
    line(String::new());
    line("FILES".into());
    for file in &meta.files {
        let path = if meta.multi_file {
            format!("{}/{}", meta.name, file.display_path())
        } else {
            file.display_path()
        };
        line(format!("  {path} ({})", format_size(file.length)));
    }
    out
}
