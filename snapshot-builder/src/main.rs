//! `vane`: build, check, inspect and evaluate Vane snapshots, and publish
//! them to a Vane worker. A thin shell over `vane_snapshot_builder` and
//! `vane_resolver`; see `vane --help`.
#![forbid(unsafe_code)]

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    match cli::run(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("vane: error: {e:#}");
            ExitCode::from(2)
        }
    }
}
