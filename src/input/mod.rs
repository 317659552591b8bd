//! Input: sources (files, stdin, gzip, support bundles), the bytes-first line splitter and
//! byte decoding.
pub mod bundle;
pub(crate) mod decode;
pub mod lines;
pub mod source;

use crate::machine::Progress;
use lines::RawLine;

/// Where input pushes its lines: the analyzer, in the program. Sources and bundles know
/// nothing else of it.
pub trait Sink {
    /// Starts a new input: its name and the node its lines belong to when they name none.
    fn begin_input(&mut self, name: &str, default_node: Option<&str>);
    /// Takes one line; returns the boot progress it caused.
    fn push_line(&mut self, line: RawLine<'_>) -> Vec<Progress>;
    /// Records a warning about the input.
    fn warn(&mut self, msg: String);
    /// Lines taken so far.
    fn lines(&self) -> u64;
}
