//! `--format json`: the report exactly as diagnosis-contract.md defines it, one document
//! ending with a newline, never coloured.

use std::io::{self, Write};

use super::RenderOptions;
use crate::report::Report;

/// Writes the report as pretty-printed JSON, streamed: a report of a long log is megabytes,
/// and building it in memory first would be most of the peak memory. serde_json wraps a
/// write error in its own kind; the caller's writer remembers a `BrokenPipe` itself
/// (`cmd::PipeAware`), so a closed stdout still ends quietly.
pub fn render(report: &Report, _opts: &RenderOptions, w: &mut dyn Write) -> io::Result<()> {
    let mut w = io::BufWriter::with_capacity(64 * 1024, w);
    serde_json::to_writer_pretty(&mut w, report).map_err(|e| match e.io_error_kind() {
        Some(kind) => io::Error::new(kind, e),
        None => io::Error::other(e),
    })?;
    w.write_all(b"\n")?;
    w.flush()
}
