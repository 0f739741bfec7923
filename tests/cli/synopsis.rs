//! The README's command synopsis matches `swarm help`: the same commands, and for each the
//! same flags (long or short form), so that neither drifts from the other.

use std::collections::BTreeSet;
use std::fs;

use crate::support::swarm_in;

/// The README's synopsis: each `swarm COMMAND ...` entry with its continuation lines.
fn readme_synopsis() -> Vec<(String, String)> {
    let readme = fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let block = readme
        .split("## Commands\n\n```\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("README has a ## Commands code block");
    let mut entries: Vec<(String, String)> = Vec::new();
    for line in block.lines() {
        if let Some(rest) = line.strip_prefix("swarm ") {
            let name = rest.split_whitespace().next().unwrap().to_string();
            entries.push((name, rest.to_string()));
        } else if let Some((_, text)) = entries.last_mut() {
            text.push(' ');
            text.push_str(line.trim());
        }
    }
    entries
}

/// The subcommands `swarm help` lists (but `help`).
fn help_commands() -> BTreeSet<String> {
    let dir = tempfile::tempdir().unwrap();
    let help = swarm_in(dir.path(), &["help"]).expect(0).stdout;
    help.split("Commands:\n")
        .nth(1)
        .unwrap()
        .lines()
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_string)
        .collect()
}

/// A command's flags from `swarm COMMAND --help`: (short, long), without help and the
/// global --log-format.
fn help_flags(command: &str) -> Vec<(Option<String>, String)> {
    let dir = tempfile::tempdir().unwrap();
    let help = swarm_in(dir.path(), &[command, "--help"]).expect(0).stdout;
    help.lines()
        .map(str::trim_start)
        .filter(|l| l.starts_with('-'))
        .filter_map(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            let short = words[0]
                .strip_suffix(',')
                .filter(|w| w.len() == 2)
                .map(str::to_string);
            let long = words.iter().find(|w| w.starts_with("--"))?;
            Some((short, long.to_string()))
        })
        .filter(|(_, long)| long != "--help" && long != "--log-format")
        .collect()
}

#[test]
fn readme_synopsis_lists_every_command_and_flag_of_swarm_help() {
    let entries = readme_synopsis();
    let listed: BTreeSet<String> = entries.iter().map(|(name, _)| name.clone()).collect();
    assert_eq!(listed, help_commands(), "commands in README vs swarm help");
    for (command, text) in &entries {
        let words: BTreeSet<&str> = text
            .split(|c: char| c.is_whitespace() || c == '[' || c == ']')
            .filter(|w| w.starts_with('-'))
            .collect();
        let flags = help_flags(command);
        for (short, long) in &flags {
            let shown = words.contains(long.as_str())
                || short.as_deref().is_some_and(|s| words.contains(s));
            assert!(shown, "README's `swarm {command}` lacks {long}: {text}");
        }
        for word in &words {
            let known = flags
                .iter()
                .any(|(short, long)| long == word || short.as_deref() == Some(*word));
            assert!(
                known,
                "README's `swarm {command}` has {word}, unknown to its --help"
            );
        }
    }
}
