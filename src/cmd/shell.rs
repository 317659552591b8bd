//! `completions` and `man`: the shell completion script and the manual page, generated from
//! the same clap definition as the parser, so they never drift from it.

use std::io::{self, Write};

use clap::CommandFactory;

use super::PipeAware;
use crate::cli::Cli;
use crate::error::Error;

/// Writes `bytes` to stdout; a closed stdout is not an error.
fn emit(bytes: &[u8]) -> Result<u8, Error> {
    let stdout = io::stdout();
    let mut w = PipeAware::new(stdout.lock());
    match w.write_all(bytes).and_then(|()| w.flush()) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe && !w.closed => Err(Error::Output(e)),
        _ => Ok(crate::exit::OK),
    }
}

/// `talos-doctor completions SHELL`.
pub(crate) fn completions(shell: clap_complete::Shell) -> Result<u8, Error> {
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "talos-doctor", &mut buf);
    emit(&buf)
}

/// `talos-doctor man`.
pub(crate) fn man() -> Result<u8, Error> {
    let mut buf = Vec::new();
    clap_mangen::Man::new(Cli::command()).render(&mut buf).map_err(Error::Output)?;
    emit(&buf)
}
