//! The `depbadge` binary: parse the command line and run the command (see `depbadge --help`).

use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    depbadge::cli::run(depbadge::cli::Cli::parse()).await
}
