//! The `talos-doctor` binary: parse arguments, run, print a fatal error once.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = talos_doctor::cli::Cli::parse();
    match talos_doctor::run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) if e.is_broken_pipe() => ExitCode::SUCCESS,
        Err(e) => {
            // One line, cause chain included: it is read in CI logs and by scripts.
            let mut msg = format!("talos-doctor: error: {e}");
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                msg.push_str(&format!(": {s}"));
                source = s.source();
            }
            eprintln!("{}", talos_doctor::render::visible(&msg));
            ExitCode::from(talos_doctor::exit::TOOL_ERROR)
        }
    }
}
