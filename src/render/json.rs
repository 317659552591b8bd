//! `--format json`: the report exactly as diagnosis-contract.md defines it, one document
//! ending with a newline, never coloured.

use std::io::{self, Write};

use super::RenderOptions;
use crate::report::Report;

/// Writes the report as pretty-printed JSON. The document is built in memory first, so a
/// write error reaches the caller as the `io::Error` it is (a closed stdout stays a
/// `BrokenPipe`; serde_json would turn it into its own error kind).
pub fn render(report: &Report, _opts: &RenderOptions, w: &mut dyn Write) -> io::Result<()> {
    let mut doc = serde_json::to_vec_pretty(report).map_err(io::Error::other)?;
    doc.push(b'\n');
    w.write_all(&doc)
}
