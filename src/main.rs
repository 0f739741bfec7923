//! The `swarm` binary: parse the command line, run the command, turn the outcome into an
//! exit code. Everything else lives in the crates; the commands' glue is in [`cli`].

// The argument structs' doc comments are clap's `--help` text (`<scenario>`, bare URLs),
// written for a terminal rather than for rustdoc.
#![allow(rustdoc::invalid_html_tags, rustdoc::bare_urls)]

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = match cli::Cli::try_parse() {
        Ok(args) => args,
        Err(error) => {
            // A usage error of a `--json` command is reported as JSON too; help and
            // --version are not errors.
            if error.use_stderr() && std::env::args().any(|a| a == "--json") {
                let text = error.kind().to_string();
                println!("{}", cli::failure::to_json(&text, cli::EXIT_ERROR));
            }
            error.exit()
        }
    };
    args.init_logging();
    let json = args.wants_json();
    match cli::run(args) {
        Ok(outcome) => outcome.exit_code(),
        Err(error) => {
            cli::failure::report(&error, cli::EXIT_ERROR, json);
            ExitCode::from(cli::EXIT_ERROR)
        }
    }
}
