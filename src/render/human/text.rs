//! Text layout for the terminal: display width, prose wrapping and log lines cut to fit.

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// Formats milliseconds the way Go would print them, rounded for reading.
pub(crate) fn duration(ms: f64) -> String {
    if ms < 1.0 {
        format!("{:.0}µs", ms * 1000.0)
    } else if ms < 1000.0 {
        format!("{ms:.1}ms")
    } else if ms < 60_000.0 {
        format!("{:.2}s", ms / 1000.0)
    } else {
        let s = (ms / 1000.0).round() as u64;
        format!("{}m{}s", s / 60, s % 60)
    }
}

/// Display width: what a terminal gives the text (wide CJK characters count 2, combining
/// marks 0), not its count of chars.
pub(super) fn cols(s: &str) -> usize {
    UnicodeWidthStr::width(s)
}

/// Prose wrapped at `width` columns, each line prefixed with `indent`; `\n\n` starts a
/// paragraph.
pub(crate) fn wrap(text: &str, width: usize, indent: &str) -> String {
    let mut out = String::new();
    let max = width.saturating_sub(cols(indent)).max(30);
    for para in text.split("\n\n") {
        let mut line = String::new();
        for word in para.split_whitespace() {
            if !line.is_empty() && cols(&line) + 1 + cols(word) > max {
                out.push_str(indent);
                out.push_str(&line);
                out.push('\n');
                line.clear();
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
        out.push_str(indent);
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// A log line cut into pieces of at most `max` columns, nothing left out but the one space
/// a piece ends at: the last space that fits when there is one in the second half of the
/// piece, else exactly at `max` (log lines hold long words: paths, JSON, base64).
pub(super) fn split_line(text: &str, max: usize) -> Vec<&str> {
    let max = max.max(10);
    let mut pieces = Vec::new();
    let mut rest = text;
    while cols(rest) > max {
        let (mut used, mut cut, mut space) = (0, 0, None);
        for (i, c) in rest.char_indices() {
            let w = UnicodeWidthChar::width(c).unwrap_or(0);
            if used + w > max {
                break;
            }
            used += w;
            cut = i + c.len_utf8();
            if c == ' ' && used > max / 2 {
                space = Some(cut);
            }
        }
        if cut == 0 {
            // One character wider than the room: take it anyway.
            cut = rest.chars().next().map_or(rest.len(), char::len_utf8);
        }
        match space {
            // The space ends the piece; the next one starts with the next word.
            Some(at) => {
                pieces.push(&rest[..at - 1]);
                rest = &rest[at..];
            }
            None => {
                pieces.push(&rest[..cut]);
                rest = &rest[cut..];
            }
        }
    }
    pieces.push(rest);
    pieces
}
