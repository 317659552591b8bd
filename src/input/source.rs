//! Input sources: files and standard input, read in large chunks straight into the line
//! splitter. gzip input is decompressed on the fly; binary input (a NUL byte) stops that
//! input with a warning, or an error when nothing readable came before it.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::PathBuf;

use crate::error::Error;
use crate::input::Sink;
use crate::input::lines::{Flow, LineSplitter, RawLine};
use crate::machine::Progress;

/// Read size: large reads keep syscalls off the profile.
const CHUNK: usize = 256 * 1024;

/// Where lines come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A file path.
    File(PathBuf),
    /// Standard input (`-` or no argument).
    Stdin,
}

impl Source {
    /// From a command-line argument.
    pub fn from_arg(arg: &str) -> Source {
        if arg == "-" { Source::Stdin } else { Source::File(PathBuf::from(arg)) }
    }

    /// Used in every message about this input.
    pub fn description(&self) -> String {
        match self {
            Source::File(p) => format!("file `{}`", p.display()),
            Source::Stdin => "standard input".to_owned(),
        }
    }

    /// Short name for reports.
    pub fn name(&self) -> String {
        match self {
            Source::File(p) => p.display().to_string(),
            Source::Stdin => "-".to_owned(),
        }
    }

    fn open(&self) -> Result<Box<dyn Read>, Error> {
        let err = |source| Error::Input { what: self.description(), source };
        match self {
            Source::Stdin => Ok(Box::new(io::stdin().lock())),
            Source::File(p) => {
                let meta = std::fs::metadata(p).map_err(err)?;
                if meta.is_dir() {
                    return Err(Error::NotText {
                        what: self.description(),
                        why: "it is a directory".into(),
                    });
                }
                Ok(Box::new(File::open(p).map_err(err)?))
            }
        }
    }
}

/// Reads `source` to the end (or until `on_progress` stops it), feeding `analyzer`.
/// `default_node` names lines without a node prefix.
pub fn feed<S: Sink>(
    source: &Source,
    default_node: Option<&str>,
    analyzer: &mut S,
    on_progress: &mut dyn FnMut(&S, &[Progress]) -> Flow,
) -> Result<Flow, Error> {
    let what = source.description();
    analyzer.begin_input(&source.name(), default_node);
    let start_lines = analyzer.lines();
    let (flow, binary_at) = read_lines(source, &mut |line| {
        let progress = analyzer.push_line(line);
        if progress.is_empty() { Flow::Continue } else { on_progress(analyzer, &progress) }
    })?;
    binary(analyzer, what, start_lines, binary_at).map(|()| flow)
}

/// A NUL byte on line `binary_at`: an error when nothing came before it, else a warning.
pub(crate) fn binary(
    analyzer: &mut dyn Sink,
    what: String,
    start_lines: u64,
    binary_at: Option<u64>,
) -> Result<(), Error> {
    if let Some(no) = binary_at {
        if analyzer.lines() == start_lines {
            return Err(Error::NotText {
                what,
                why: format!("it holds binary data (a NUL byte on line {no})"),
            });
        }
        analyzer.warn(format!(
            "{what} holds binary data (a NUL byte on line {no}); the rest of it was not read"
        ));
    }
    Ok(())
}

/// Reads `source` line by line into `sink` until its end, a NUL byte (its line number is
/// returned) or [`Flow::Stop`] from the sink.
pub(crate) fn read_lines(
    source: &Source,
    sink: &mut dyn FnMut(RawLine<'_>) -> Flow,
) -> Result<(Flow, Option<u64>), Error> {
    let what = source.description();
    // A small buffer only to sniff the gzip magic: reads of CHUNK bytes bypass it, so the
    // input is not held twice.
    let mut reader = BufReader::with_capacity(8 * 1024, source.open()?);
    let gz = {
        let head = reader.fill_buf().map_err(|e| Error::Input { what: what.clone(), source: e })?;
        head.starts_with(&[0x1f, 0x8b])
    };
    let mut reader: Box<dyn Read> =
        if gz { Box::new(flate2::read::MultiGzDecoder::new(reader)) } else { Box::new(reader) };
    let mut splitter = LineSplitter::default();
    let mut buf = vec![0u8; CHUNK];
    let mut binary_at: Option<u64> = None;
    let mut sink = |line: RawLine<'_>| -> Flow {
        // A line known to be text holds no NUL.
        if line.text.is_none() && memchr::memchr(0, line.bytes).is_some() {
            binary_at = Some(line.no);
            return Flow::Stop;
        }
        sink(line)
    };
    let mut flow = Flow::Continue;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                let why = if gz { format!("{what} (gzip)") } else { what.clone() };
                return Err(Error::Input { what: why, source: e });
            }
        };
        if splitter.push(&buf[..n], &mut sink) == Flow::Stop {
            flow = Flow::Stop;
            break;
        }
    }
    if flow == Flow::Continue {
        flow = splitter.finish(&mut sink);
    }
    Ok((flow, binary_at))
}
