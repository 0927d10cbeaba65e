//! `jkctl`: see `jkctl --help`.

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = jkctl::cli::Cli::parse();
    match jkctl::cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("jkctl: error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
