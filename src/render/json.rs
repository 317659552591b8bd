//! `--format json`: the report exactly as diagnosis-contract.md defines it, one document
//! ending with a newline, never coloured.

use std::io::{self, Write};

use super::RenderOptions;
use crate::report::Report;

/// Writes the report as pretty-printed JSON.
pub fn render(report: &Report, _opts: &RenderOptions, w: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *w, report).map_err(io::Error::other)?;
    w.write_all(b"\n")
}
