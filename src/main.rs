//! The `corral` binary: parses the command line and hands it to
//! [`corral::cli::dispatch`].

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = match corral::cli::Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    corral::cli::dispatch(cli)
}
