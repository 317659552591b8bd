//! Byte decoding: how a line's text comes from its bytes (ANSI escapes removed, invalid
//! UTF-8 replaced), and the record of what was done for the statistics.

use std::borrow::Cow;

use crate::input::lines::RawLine;

/// How a line's text came from its bytes, for the statistics.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Decoded {
    /// Line number in its input.
    pub no: u64,
    /// Bytes of the line, without its newline.
    pub len: u64,
    /// The line was cut at the longest line kept.
    pub truncated: bool,
    /// ANSI escape sequences were removed.
    pub ansi: bool,
    /// Invalid UTF-8 was replaced.
    pub invalid_utf8: bool,
}

impl Decoded {
    /// Decodes `raw` into `scratch` (reused between lines): ANSI escapes removed, invalid
    /// UTF-8 replaced. Returns the text and how it was made.
    pub(crate) fn decode<'a>(
        raw: &RawLine<'a>,
        scratch: &'a mut Vec<u8>,
    ) -> (Cow<'a, str>, Decoded) {
        let mut d = Decoded {
            no: raw.no,
            len: raw.bytes.len() as u64,
            truncated: raw.truncated,
            ..Decoded::default()
        };
        if let Some(text) = raw.text {
            // Checked by the splitter: valid UTF-8 without ESC.
            return (Cow::Borrowed(text), d);
        }
        let mut bytes = raw.bytes;
        if memchr::memchr(0x1b, bytes).is_some() {
            strip_ansi(bytes, scratch);
            d.ansi = true;
            bytes = scratch;
        }
        let text = match std::str::from_utf8(bytes) {
            Ok(s) => Cow::Borrowed(s),
            Err(_) => {
                d.invalid_utf8 = true;
                String::from_utf8_lossy(bytes)
            }
        };
        (text, d)
    }
}

fn strip_ansi(bytes: &[u8], out: &mut Vec<u8>) {
    out.clear();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == 0x1b {
            i += 1;
            if i < bytes.len() && bytes[i] == b'[' {
                i += 1;
                while i < bytes.len() && !(0x40..=0x7e).contains(&bytes[i]) {
                    i += 1;
                }
                i += 1;
            } else if i < bytes.len() && bytes[i] == b']' {
                // OSC: up to BEL or ST.
                while i < bytes.len() && bytes[i] != 0x07 && bytes[i] != 0x1b {
                    i += 1;
                }
                i += 1;
            } else {
                i += 1;
            }
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
}
