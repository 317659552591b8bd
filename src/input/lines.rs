//! Bytes-first line splitting.
//!
//! Input arrives as chunks of bytes (file reads, Docker log frames); this module turns them
//! into numbered lines without decoding anything. It owns three promises the rest of the
//! pipeline relies on: line numbers are 1-based and count every `\n` of the input as given,
//! no line handed on is longer than [`MAX_LINE`] bytes (longer ones are cut and marked
//! `truncated`, never dropped), and a last line without a newline is still delivered.

use memchr::memchr;

/// The longest line kept, in bytes (ripgrep's default buffer size). Talos' own kmsg writer
/// cuts records at 976 bytes, so only foreign or corrupt input ever reaches this.
pub const MAX_LINE: usize = 64 * 1024;

/// One line of input, borrowed from the splitter's buffer or the caller's chunk.
#[derive(Debug, Clone, Copy)]
pub struct RawLine<'a> {
    /// 1-based line number in its input.
    pub no: u64,
    /// The line without its `\n` and without a trailing `\r`.
    pub bytes: &'a [u8],
    /// The line was longer than [`MAX_LINE`] and was cut.
    pub truncated: bool,
    /// The same bytes as text, when they are known to be valid UTF-8 without NUL or ESC
    /// bytes: the splitter checks a whole chunk at once, which is cheaper than the
    /// per-line checks this lets consumers skip. `None` says nothing about the line.
    pub text: Option<&'a str>,
}

/// What the consumer wants after a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Keep going.
    Continue,
    /// Stop: the verdict is known, or the input is unusable.
    Stop,
}

/// Splits a byte stream, fed in arbitrary chunks, into lines.
#[derive(Debug)]
pub struct LineSplitter {
    partial: Vec<u8>,
    partial_truncated: bool,
    next_no: u64,
    max_line: usize,
}

impl Default for LineSplitter {
    fn default() -> Self {
        Self::new(MAX_LINE)
    }
}

impl LineSplitter {
    /// A splitter that cuts lines at `max_line` bytes.
    pub fn new(max_line: usize) -> Self {
        Self { partial: Vec::new(), partial_truncated: false, next_no: 1, max_line }
    }

    /// Number of lines delivered so far.
    pub fn lines(&self) -> u64 {
        self.next_no - 1
    }

    /// Feeds one chunk; calls `sink` for every complete line in it. A line split across
    /// chunks is carried over. Returns [`Flow::Stop`] as soon as the sink asks to stop.
    pub fn push(&mut self, mut chunk: &[u8], sink: &mut dyn FnMut(RawLine<'_>) -> Flow) -> Flow {
        // The chunk's clean prefix: valid UTF-8 up to its first NUL or ESC byte. Lines wholly
        // inside it are handed on as text; `\n` is ASCII, so they start and end on
        // character boundaries of it.
        let clean: &str = {
            let ctl = memchr::memchr2(0, 0x1b, chunk).unwrap_or(chunk.len());
            match std::str::from_utf8(&chunk[..ctl]) {
                Ok(s) => s,
                Err(e) => std::str::from_utf8(&chunk[..e.valid_up_to()]).unwrap_or_default(),
            }
        };
        let mut at = 0;
        while !chunk.is_empty() {
            match memchr(b'\n', chunk) {
                Some(pos) => {
                    let line = &chunk[..pos];
                    chunk = &chunk[pos + 1..];
                    let start = at;
                    at += pos + 1;
                    let flow = if self.partial.is_empty() && !self.partial_truncated {
                        // The common case: the whole line is inside this chunk, no copy.
                        let (bytes, truncated) = cut(line, self.max_line);
                        let bytes = strip_cr(bytes);
                        let no = self.next_no;
                        self.next_no += 1;
                        let text = clean.get(start..start + bytes.len());
                        sink(RawLine { no, bytes, truncated, text })
                    } else {
                        self.append(line);
                        self.flush_partial(sink)
                    };
                    if flow == Flow::Stop {
                        return Flow::Stop;
                    }
                }
                None => {
                    self.append(chunk);
                    break;
                }
            }
        }
        Flow::Continue
    }

    /// Delivers a last line that had no newline. Call once at end of input.
    pub fn finish(&mut self, sink: &mut dyn FnMut(RawLine<'_>) -> Flow) -> Flow {
        if self.partial.is_empty() && !self.partial_truncated {
            return Flow::Continue;
        }
        self.flush_partial(sink)
    }

    fn append(&mut self, bytes: &[u8]) {
        let room = self.max_line.saturating_sub(self.partial.len());
        if bytes.len() > room {
            self.partial.extend_from_slice(&bytes[..room]);
            self.partial_truncated = true;
        } else {
            self.partial.extend_from_slice(bytes);
        }
    }

    fn flush_partial(&mut self, sink: &mut dyn FnMut(RawLine<'_>) -> Flow) -> Flow {
        let no = self.next_no;
        self.next_no += 1;
        let truncated = self.partial_truncated;
        let flow = sink(RawLine { no, bytes: strip_cr(&self.partial), truncated, text: None });
        self.partial.clear();
        // Keep the allocation for the next long line, but not a huge one forever.
        if self.partial.capacity() > 4 * self.max_line.max(1024) {
            self.partial.shrink_to(self.max_line);
        }
        self.partial_truncated = false;
        flow
    }
}

fn cut(line: &[u8], max: usize) -> (&[u8], bool) {
    if line.len() > max { (&line[..max], true) } else { (line, false) }
}

fn strip_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(chunks: &[&[u8]], max: usize) -> Vec<(u64, String, bool)> {
        let mut s = LineSplitter::new(max);
        let mut out = Vec::new();
        let mut sink = |l: RawLine<'_>| {
            out.push((l.no, String::from_utf8_lossy(l.bytes).into_owned(), l.truncated));
            Flow::Continue
        };
        for c in chunks {
            s.push(c, &mut sink);
        }
        s.finish(&mut sink);
        out
    }

    #[test]
    fn table() {
        type Case<'a> = (&'a [&'a [u8]], usize, &'a [(u64, &'a str, bool)]);
        let cases: &[Case<'_>] = &[
            (&[b""], 100, &[]),
            (&[b"a\nb\n"], 100, &[(1, "a", false), (2, "b", false)]),
            (&[b"a\r\nb"], 100, &[(1, "a", false), (2, "b", false)]),
            (&[b"ab", b"c\nd", b"e\n"], 100, &[(1, "abc", false), (2, "de", false)]),
            (&[b"abcdef\nxy\n"], 3, &[(1, "abc", true), (2, "xy", false)]),
            (&[b"abc", b"def", b"g\nz"], 4, &[(1, "abcd", true), (2, "z", false)]),
            (&[b"\n\n"], 100, &[(1, "", false), (2, "", false)]),
            (&[b"x\r"], 100, &[(1, "x", false)]),
        ];
        for (chunks, max, want) in cases {
            let got = split(chunks, *max);
            let want: Vec<_> = want.iter().map(|(n, s, t)| (*n, (*s).to_string(), *t)).collect();
            assert_eq!(got, want, "chunks {chunks:?}");
        }
    }

    #[test]
    fn stop_is_honoured() {
        let mut s = LineSplitter::default();
        let mut seen = 0;
        let flow = s.push(b"a\nb\nc\n", &mut |_| {
            seen += 1;
            Flow::Stop
        });
        assert_eq!(flow, Flow::Stop);
        assert_eq!(seen, 1);
    }

    /// `text` is given only for what is valid UTF-8 without NUL or ESC, and is the line.
    #[test]
    fn text_only_when_checked() {
        type Case<'a> = (&'a [&'a [u8]], usize, &'a [bool]);
        let cases: &[Case<'_>] = &[
            (&[b"a\nb\r\n\xc3\xbc\n"], 100, &[true, true, true]),
            // After the first NUL or ESC of a chunk, nothing is vouched for.
            (&[b"a\nb\x1b[1mc\nd\n"], 100, &[true, false, false]),
            (&[b"a\nb\0c\nd\n", b"e\n"], 100, &[true, false, false, true]),
            (&[b"\xff\nok\n"], 100, &[false, false]),
            (&[b"ok\n\xff\nok\n"], 100, &[true, false, false]),
            // A line carried over between chunks, and one cut inside a character.
            (&[b"ab", b"c\nd\n"], 100, &[false, true]),
            (&[b"a\xc3\xbc\n"], 2, &[false]),
            (&[b"a\xc3\xbc\n"], 3, &[true]),
        ];
        for (chunks, max, want) in cases {
            let mut s = LineSplitter::new(*max);
            let mut got = Vec::new();
            let mut sink = |l: RawLine<'_>| {
                if let Some(t) = l.text {
                    assert_eq!(t.as_bytes(), l.bytes);
                    assert!(!l.bytes.iter().any(|&b| b == 0 || b == 0x1b));
                }
                got.push(l.text.is_some());
                Flow::Continue
            };
            for c in *chunks {
                s.push(c, &mut sink);
            }
            s.finish(&mut sink);
            assert_eq!(got, *want, "chunks {chunks:?}");
        }
    }
}
