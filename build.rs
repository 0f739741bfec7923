//! Gives the binary the git commit it was built from, for `swarm --version`, as the
//! environment variable `SWARM_GIT_COMMIT`: the short hash of HEAD, or `unknown` when there
//! is no git or no repository (a source tarball, `cargo install` from a copy). Uncommitted
//! changes are not flagged: build.rs does not rerun on every edit, so a flag would go stale.

use std::path::PathBuf;
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let output = Command::new("git").args(args).output().ok()?;
    if !output.status.success() {
        return None;
    }
    let text = String::from_utf8(output.stdout).ok()?;
    Some(text.trim().to_string()).filter(|t| !t.is_empty())
}

fn main() {
    let commit = git(&["rev-parse", "--short=12", "HEAD"]);
    let text = commit.clone().unwrap_or_else(|| "unknown".to_string());
    println!("cargo:rustc-env=SWARM_GIT_COMMIT={text}");
    // Rerun when HEAD moves (a commit, a checkout); paths as git gives them, which also
    // works in a worktree whose `.git` is a file.
    if commit.is_some() {
        if let Some(path) = git(&["rev-parse", "--git-path", "HEAD"]) {
            println!("cargo:rerun-if-changed={}", PathBuf::from(path).display());
        }
        if let Some(reference) = git(&["symbolic-ref", "-q", "HEAD"]) {
            if let Some(path) = git(&["rev-parse", "--git-path", &reference]) {
                println!("cargo:rerun-if-changed={path}");
            }
        }
    }
    println!("cargo:rerun-if-changed=build.rs");
}
