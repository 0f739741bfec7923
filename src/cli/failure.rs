//! How a failed command tells the user: one line on stderr that says each cause once, and,
//! for commands given `--json`, the same as one JSON object on stdout.
//!
//! Many of our error types print their source in their own message (`cannot open X: No such
//! file or directory`) and also return it from `source()`, as thiserror does for a field
//! named `source`. anyhow's `{:#}` appends every source again, so the cause came out twice.
//! [`message`] walks the chain itself and leaves out a cause the text already says.

use std::io::IsTerminal;

use serde_json::json;

/// The error with its causes, each said once: `context: cause: root cause`.
pub fn message(error: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in error.chain() {
        let part = cause.to_string();
        if part.is_empty() || text.contains(&part) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&part);
    }
    text
}

/// The JSON form: `{"event": "error", "error": MESSAGE, "exit_code": CODE}`; `event` lets a
/// script reading `get --json` lines tell it from progress events.
pub fn to_json(message: &str, exit_code: u8) -> serde_json::Value {
    json!({ "event": "error", "error": message, "exit_code": exit_code })
}

/// Reports `error` on stderr, and on stdout as JSON when `json` is set.
pub fn report(error: &anyhow::Error, exit_code: u8, json: bool) {
    let text = message(error);
    finish_terminal_line();
    eprintln!("swarm: error: {text}");
    if json {
        println!("{}", to_json(&text, exit_code));
    }
}

/// Ends a half-drawn progress line so an error message starts on its own line.
pub fn finish_terminal_line() {
    if std::io::stderr().is_terminal() {
        eprintln!();
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("cannot open {path}: {source}")]
    struct Open {
        path: &'static str,
        source: std::io::Error,
    }

    fn not_found() -> std::io::Error {
        std::io::Error::from(std::io::ErrorKind::NotFound)
    }

    #[test]
    fn a_cause_the_message_already_says_is_not_repeated() {
        let error = anyhow::Error::new(Open {
            path: "/x",
            source: not_found(),
        });
        assert_eq!(message(&error), "cannot open /x: entity not found");
    }

    #[test]
    fn context_and_new_causes_are_all_said() {
        let error = anyhow::Error::new(not_found()).context("reading the record");
        assert_eq!(message(&error), "reading the record: entity not found");
        let error = anyhow::Error::new(Open {
            path: "/x",
            source: not_found(),
        })
        .context("cannot start");
        assert_eq!(
            message(&error),
            "cannot start: cannot open /x: entity not found"
        );
    }

    #[test]
    fn the_json_form_keeps_the_exit_code() {
        let value = to_json("boom", 2);
        assert_eq!(value["event"], "error");
        assert_eq!(value["error"], "boom");
        assert_eq!(value["exit_code"], 2);
    }
}
