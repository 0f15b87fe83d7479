//! Command-line interface: argument parsing and one module per subcommand.
//!
//! Exit codes: 0 success; 1 `vane check` found errors (or `vane build` refused
//! the rules); 2 unusable input (unreadable file, bad JSON, bad snapshot).

mod build;
mod check;
mod diff;
mod eval;
mod explain;
mod exposures;
mod inspect;
mod keys;
mod publish;
mod resolve;
mod source;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Vane: compile flag rules into snapshots and evaluate them like the edge does.
#[derive(Debug, Parser)]
#[command(name = "vane", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Compile rules (Vane YAML, flagd JSON or a Confidence state) into a CBOR snapshot.
    Build(build::BuildArgs),
    /// Validate rules and print every diagnostic; exit 1 when there are errors.
    Check(check::CheckArgs),
    /// Write a new Ed25519 publisher key to FILE (mode 0600); print its public key.
    Keygen(keys::KeygenArgs),
    /// Print a snapshot's envelope facts as JSON.
    Inspect(inspect::InspectArgs),
    /// Show per-flag changes between two snapshots or rule files and the share
    /// of units whose variant changes; exit 1 on a reshuffle.
    Diff(diff::DiffArgs),
    /// Evaluate flags of a snapshot (or of rules) for a context; prints OFREP JSON.
    Eval(eval::EvalArgs),
    /// Resolve flags like Confidence's `flags:resolve` (prints its response body).
    Resolve(resolve::ResolveArgs),
    /// Publish a snapshot to a Vane worker through its admin API.
    Publish(publish::PublishArgs),
    /// Make an earlier snapshot of a tenant current again.
    Rollback(publish::RollbackArgs),
    /// Show a tenant's current snapshot and history on a Vane worker.
    Status(publish::StatusArgs),
    /// Summarise a tenant's exposures on a Vane worker: counts, shares, SRM.
    Exposures(exposures::ExposuresArgs),
}

/// Runs one command.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Build(a) => build::run(a),
        Command::Check(a) => check::run(a),
        Command::Keygen(a) => keys::keygen(a),
        Command::Inspect(a) => inspect::run(a),
        Command::Diff(a) => diff::run(a),
        Command::Eval(a) => eval::run(a),
        Command::Resolve(a) => resolve::run(a),
        Command::Publish(a) => publish::publish(a),
        Command::Rollback(a) => publish::rollback(a),
        Command::Status(a) => publish::status(a),
        Command::Exposures(a) => exposures::run(a),
    }
}

/// Writes `text` to stdout. A reader that closed the pipe early
/// (`vane inspect S | head -3`) is not an error: it had what it wanted, so
/// the command ends as if the whole text was written (where `println!`
/// would panic).
fn print_out(text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        written => written,
    }
}

/// `n` and the noun, plural unless `n` is 1: `counted(1, "error")` is
/// `"1 error"`, `counted(2, "flag")` is `"2 flags"`.
fn counted(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}
