//! The `swarm` binary: parse the command line, run the command, turn the outcome into an
//! exit code. Everything else lives in the crates; the commands' glue is in [`cli`].

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
