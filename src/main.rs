//! The `swarm` binary: parse the command line, run the command, turn the outcome into an
//! exit code. Everything else lives in the crates; the commands' glue is in [`cli`].

// The argument structs' doc comments are clap's `--help` text (`<scenario>`, bare URLs),
// written for a terminal rather than for rustdoc.
#![allow(rustdoc::invalid_html_tags, rustdoc::bare_urls)]

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    cli::init_logging();
    match cli::run(args) {
        Ok(outcome) => outcome.exit_code(),
        Err(error) => {
            cli::finish_terminal_line();
            eprintln!("swarm: error: {error:#}");
            ExitCode::from(cli::EXIT_ERROR)
        }
    }
}
