//! Fatal errors: the ones that stop the tool with exit code 2. Per-line problems are not
//! errors; they are counted in the report's stats.

use std::fmt;
use std::io;

/// Something that stops talos-doctor from doing its job.
#[derive(Debug)]
pub enum Error {
    /// An input could not be opened or read.
    Input {
        /// Input description (`file `x``, `standard input`).
        what: String,
        /// Cause.
        source: io::Error,
    },
    /// An input is not a text log.
    NotText {
        /// Input description.
        what: String,
        /// Why.
        why: String,
    },
    /// The input holds no line that is recognisably Talos' (the wrong file handed to CI).
    NoTalosLines {
        /// Input description.
        what: String,
        /// Lines read.
        lines: u64,
    },
    /// A rules file is invalid.
    Rules {
        /// File.
        file: String,
        /// 1-based line, when known.
        line: Option<usize>,
        /// What is wrong.
        msg: String,
    },
    /// Bad usage the argument parser could not catch.
    Usage(String),
    /// Docker failed (connect, stream, no such container): the docker module's own error,
    /// kept whole (boxed, so that this enum does not depend on that module).
    Docker(Box<dyn std::error::Error + Send + Sync>),
    /// Writing output failed (other than a closed pipe).
    Output(io::Error),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Input { what, .. } => write!(f, "failed to read {what}"),
            Error::NotText { what, why } => write!(f, "{what} is not a text log: {why}"),
            Error::NoTalosLines { what, lines } => {
                let s = if *lines == 1 { "" } else { "s" };
                write!(f, "no Talos log lines in {what} ({lines} line{s} read)")
            }
            Error::Rules { file, line: Some(l), msg } => {
                write!(f, "invalid rules file `{file}` at line {l}: {msg}")
            }
            Error::Rules { file, line: None, msg } => {
                write!(f, "invalid rules file `{file}`: {msg}")
            }
            Error::Usage(m) => f.write_str(m),
            Error::Docker(e) => write!(f, "{e}"),
            Error::Output(_) => f.write_str("failed to write output"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Input { source, .. } => Some(source),
            Error::Output(e) => Some(e),
            // Its text already ends with the Engine's words (the deepest cause): printing
            // the chain would say them twice. The typed error, and the bollard error as its
            // source, are in the variant for callers that look.
            Error::Docker(_) => None,
            _ => None,
        }
    }
}

impl Error {
    /// True when the error is only a closed stdout (`talos-doctor … | head`): not a failure.
    pub fn is_broken_pipe(&self) -> bool {
        match self {
            Error::Output(e) => e.kind() == io::ErrorKind::BrokenPipe,
            _ => false,
        }
    }
}
