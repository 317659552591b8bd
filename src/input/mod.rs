//! Input: sources (files, stdin, gzip, support bundles), the bytes-first line splitter and
//! byte decoding.
pub mod bundle;
pub(crate) mod decode;
pub mod lines;
pub mod source;

use std::borrow::Cow;
use std::fmt::Write;

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
    /// The input ended: lines held for a later one are taken now.
    fn end_input(&mut self) {}
}

/// A name from the input (a file name, a zip entry's name) safe to print: control characters
/// (`\x1b`, `\x07`, C1 codes) and the bidirectional overrides that reorder what a terminal
/// shows are written as escapes, so no name can drive the terminal.
pub fn visible(name: &str) -> Cow<'_, str> {
    let hidden = |c: char| {
        c.is_control()
            || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    if !name.chars().any(hidden) {
        return Cow::Borrowed(name);
    }
    let mut out = String::with_capacity(name.len() + 8);
    for c in name.chars() {
        let n = u32::from(c);
        if !hidden(c) {
            out.push(c);
        } else if n < 0x100 {
            let _ = write!(out, "\\x{n:02x}");
        } else {
            let _ = write!(out, "\\u{{{n:x}}}");
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::visible;

    #[test]
    fn names_are_made_visible() {
        let cases = [
            ("logs/cp1.log", "logs/cp1.log"),
            ("a\x1b[2Jb.log", "a\\x1b[2Jb.log"),
            ("bell\x07\n.log", "bell\\x07\\x0a.log"),
            ("c1\u{9b}31m", "c1\\x9b31m"),
            ("evil\u{202e}gol.txt", "evil\\u{202e}gol.txt"),
            ("über.log", "über.log"),
        ];
        for (name, want) in cases {
            assert_eq!(visible(name), want);
        }
    }
}
