//! Bytes-first line splitting.
//!
//! Input arrives as chunks of bytes (file reads, Docker log frames); this module turns them
//! into numbered lines without decoding anything. It owns the promises the rest of the
//! pipeline relies on:
//!
//! - a line ends at `\n`, `\r\n` or a lone `\r` (old Mac files, some serial consoles); line
//!   numbers are 1-based and count every line ending of the input as given;
//! - no line handed on is longer than [`MAX_LINE`] bytes: longer ones are cut (at a character
//!   boundary) and marked `truncated`, never dropped;
//! - NUL bytes are dropped and the bytes around them split as usual, so a zero-filled gap in a
//!   log (a crash, `copytruncate`) costs nothing but a count;
//! - a last line without a newline is still delivered;
//! - what was done is counted in [`SplitStats`], for the warnings of the input layer.

use memchr::{memchr, memchr2, memrchr};

/// The longest line kept, in bytes (ripgrep's default buffer size). Talos' own kmsg writer
/// cuts records at 976 bytes, so only foreign or corrupt input ever reaches this.
pub const MAX_LINE: usize = 64 * 1024;

/// One line of input, borrowed from the splitter's buffer or the caller's chunk.
#[derive(Debug, Clone, Copy)]
pub struct RawLine<'a> {
    /// 1-based line number in its input.
    pub no: u64,
    /// The line without its line ending and without NUL bytes.
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

/// What the splitter did to the bytes it was given besides splitting them: every byte that
/// is not in a delivered line is counted here.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SplitStats {
    /// Lone `\r` line endings (a `\r\n` is one ending and is not counted).
    pub lone_cr: u64,
    /// NUL bytes dropped.
    pub nul_bytes: u64,
    /// Lines that held NUL bytes, and the first of them.
    pub nul_lines: u64,
    /// First line that held a NUL byte.
    pub first_nul_line: u64,
    /// Lines cut at the longest line kept.
    pub truncated_lines: u64,
    /// First line that was cut.
    pub first_truncated_line: u64,
    /// Bytes past the cut of those lines, not delivered.
    pub cut_bytes: u64,
    /// Delivered lines that are not valid UTF-8.
    pub invalid_utf8_lines: u64,
    /// First of them.
    pub first_invalid_utf8_line: u64,
}

/// Splits a byte stream, fed in arbitrary chunks, into lines.
#[derive(Debug)]
pub struct LineSplitter {
    partial: Vec<u8>,
    partial_truncated: bool,
    partial_cut: u64,
    /// The last piece ended with `\r`: a `\n` starting the next one belongs to it.
    pending_cr: bool,
    /// NUL bytes since the last other byte.
    nul_run: u64,
    last_nul_line: u64,
    next_no: u64,
    max_line: usize,
    stats: SplitStats,
}

impl Default for LineSplitter {
    fn default() -> Self {
        Self::new(MAX_LINE)
    }
}

impl LineSplitter {
    /// A splitter that cuts lines at `max_line` bytes.
    pub fn new(max_line: usize) -> Self {
        Self {
            partial: Vec::new(),
            partial_truncated: false,
            partial_cut: 0,
            pending_cr: false,
            nul_run: 0,
            last_nul_line: 0,
            next_no: 1,
            max_line,
            stats: SplitStats::default(),
        }
    }

    /// Number of lines delivered so far.
    pub fn lines(&self) -> u64 {
        self.next_no - 1
    }

    /// What was counted so far.
    pub fn stats(&self) -> &SplitStats {
        &self.stats
    }

    /// NUL bytes read since the last other byte: how long the current zero run is.
    pub fn nul_run(&self) -> u64 {
        self.nul_run
    }

    /// Feeds one chunk; calls `sink` for every complete line in it. A line split across
    /// chunks is carried over. Returns [`Flow::Stop`] as soon as the sink asks to stop.
    pub fn push(&mut self, chunk: &[u8], sink: &mut dyn FnMut(RawLine<'_>) -> Flow) -> Flow {
        self.push_blocks(chunk, sink, None)
    }

    /// [`LineSplitter::push`], handing runs of plain lines to `blocks` whole, when given: a
    /// [`Block`] holds consecutive lines that are valid UTF-8 without NUL, ESC or `\r`
    /// bytes, none longer than the longest line kept, so that splitting it at `\n` gives
    /// exactly the lines `sink` would have been given (a test compares the two). The line
    /// numbers go on as if they had been.
    pub fn push_blocks(
        &mut self,
        chunk: &[u8],
        sink: &mut dyn FnMut(RawLine<'_>) -> Flow,
        mut blocks: Option<&mut dyn FnMut(Block<'_>) -> Flow>,
    ) -> Flow {
        if memchr(0, chunk).is_none() {
            if !chunk.is_empty() {
                self.nul_run = 0;
            }
            return self.push_clean(chunk, sink, blocks);
        }
        let mut rest = chunk;
        while !rest.is_empty() {
            let text = memchr(0, rest).unwrap_or(rest.len());
            if text > 0 {
                self.nul_run = 0;
                if self.push_clean(&rest[..text], sink, reborrow(&mut blocks)) == Flow::Stop {
                    return Flow::Stop;
                }
            }
            rest = &rest[text..];
            let run = zeros(rest);
            if run > 0 {
                self.note_nul(run as u64);
            }
            rest = &rest[run..];
        }
        Flow::Continue
    }

    fn note_nul(&mut self, run: u64) {
        self.nul_run += run;
        self.stats.nul_bytes += run;
        if self.last_nul_line != self.next_no {
            self.last_nul_line = self.next_no;
            self.stats.nul_lines += 1;
            if self.stats.first_nul_line == 0 {
                self.stats.first_nul_line = self.next_no;
            }
        }
    }

    /// [`LineSplitter::push`] for a piece without NUL bytes.
    fn push_clean(
        &mut self,
        mut chunk: &[u8],
        sink: &mut dyn FnMut(RawLine<'_>) -> Flow,
        mut blocks: Option<&mut dyn FnMut(Block<'_>) -> Flow>,
    ) -> Flow {
        if self.pending_cr && !chunk.is_empty() {
            self.pending_cr = false;
            match chunk.strip_prefix(b"\n") {
                Some(rest) => chunk = rest,
                None => self.stats.lone_cr += 1,
            }
        }
        // The chunk's clean prefix: valid UTF-8 up to its first ESC byte. Lines wholly
        // inside it are handed on as text; line endings are ASCII, so they start and end on
        // character boundaries of it.
        let clean: &str = {
            let ctl = memchr(0x1b, chunk).unwrap_or(chunk.len());
            match std::str::from_utf8(&chunk[..ctl]) {
                Ok(s) => s,
                Err(e) => std::str::from_utf8(&chunk[..e.valid_up_to()]).unwrap_or_default(),
            }
        };
        let mut at = 0;
        while !chunk.is_empty() {
            if let Some(blocks) = reborrow(&mut blocks) {
                if self.partial.is_empty() && !self.partial_truncated {
                    if let Some((text, lines)) =
                        plain_run(clean.get(at..).unwrap_or(""), self.max_line)
                    {
                        let first = self.next_no;
                        self.next_no += lines;
                        chunk = &chunk[text.len() + 1..];
                        at += text.len() + 1;
                        if blocks(Block { first, lines, text }) == Flow::Stop {
                            return Flow::Stop;
                        }
                        continue;
                    }
                }
            }
            let Some(pos) = memchr2(b'\n', b'\r', chunk) else {
                self.append(chunk);
                break;
            };
            let line = &chunk[..pos];
            let mut end = pos + 1;
            if chunk[pos] == b'\r' {
                match chunk.get(pos + 1) {
                    Some(b'\n') => end += 1,
                    Some(_) => self.stats.lone_cr += 1,
                    None => self.pending_cr = true,
                }
            }
            chunk = &chunk[end..];
            let start = at;
            at += end;
            let flow = if self.partial.is_empty() && !self.partial_truncated {
                // The common case: the whole line is inside this chunk, no copy.
                let (bytes, truncated) = cut(line, self.max_line);
                let no = self.next_no;
                self.next_no += 1;
                let text = clean.get(start..start + bytes.len());
                if truncated {
                    note_cut(&mut self.stats, no, (line.len() - bytes.len()) as u64);
                }
                note_utf8(&mut self.stats, no, bytes, text.is_some());
                sink(RawLine { no, bytes, truncated, text })
            } else {
                self.append(line);
                self.flush_partial(sink)
            };
            if flow == Flow::Stop {
                return Flow::Stop;
            }
        }
        Flow::Continue
    }

    /// Delivers a last line that had no newline. Call once at end of input.
    pub fn finish(&mut self, sink: &mut dyn FnMut(RawLine<'_>) -> Flow) -> Flow {
        self.pending_cr = false;
        if self.partial.is_empty() && !self.partial_truncated {
            return Flow::Continue;
        }
        self.flush_partial(sink)
    }

    fn append(&mut self, bytes: &[u8]) {
        if self.partial_truncated {
            self.partial_cut += bytes.len() as u64;
            return;
        }
        let room = self.max_line.saturating_sub(self.partial.len());
        if bytes.len() > room {
            let keep = boundary(bytes, room);
            self.partial.extend_from_slice(&bytes[..keep]);
            self.partial_truncated = true;
            self.partial_cut += (bytes.len() - keep) as u64;
        } else {
            self.partial.extend_from_slice(bytes);
        }
    }

    fn flush_partial(&mut self, sink: &mut dyn FnMut(RawLine<'_>) -> Flow) -> Flow {
        let no = self.next_no;
        self.next_no += 1;
        let truncated = self.partial_truncated;
        if truncated {
            note_cut(&mut self.stats, no, self.partial_cut);
        }
        note_utf8(&mut self.stats, no, &self.partial, false);
        let flow = sink(RawLine { no, bytes: &self.partial, truncated, text: None });
        self.partial.clear();
        // Keep the allocation for the next long line, but not a huge one forever.
        if self.partial.capacity() > 4 * self.max_line.max(1024) {
            self.partial.shrink_to(self.max_line);
        }
        self.partial_truncated = false;
        self.partial_cut = 0;
        flow
    }
}

/// The block sink again, for one call (an `Option` does not shorten the sink's lifetime).
pub(crate) fn reborrow<'s>(
    blocks: &'s mut Option<&mut dyn FnMut(Block<'_>) -> Flow>,
) -> Option<&'s mut dyn FnMut(Block<'_>) -> Flow> {
    match blocks {
        Some(f) => Some(&mut **f),
        None => None,
    }
}

/// Consecutive whole lines, each of which the splitter would hand on as text untouched:
/// `text` is the lines joined by `\n` (the last one's `\n` left off), `lines` of them, the
/// first numbered `first`.
#[derive(Debug, Clone, Copy)]
pub struct Block<'a> {
    /// Number of the first line.
    pub first: u64,
    /// How many lines (`\n`-separated pieces of `text`).
    pub lines: u64,
    /// The lines, separated by `\n`.
    pub text: &'a str,
}

impl<'a> Block<'a> {
    /// The block's lines as the splitter would have handed them on one by one.
    pub fn raw_lines(&self) -> impl Iterator<Item = RawLine<'a>> + use<'a> {
        // memchr finds the breaks a vector at a time; `str::split` went byte by byte and cost
        // a twentieth of the parallel run's work.
        let text = self.text;
        let ends = memchr::memchr_iter(b'\n', text.as_bytes()).chain(std::iter::once(text.len()));
        let mut start = 0;
        ends.zip(self.first..).map(move |(end, no)| {
            // Both ends are at a `\n` or the text's end: char boundaries.
            let line = text.get(start..end).unwrap_or("");
            start = end + 1;
            RawLine { no, bytes: line.as_bytes(), truncated: false, text: Some(line) }
        })
    }
}

/// The longest run of whole lines at the start of `clean` (a clean prefix: valid UTF-8 without
/// NUL or ESC) with no `\r` and none longer than `max_line`, without its last `\n`, and how
/// many lines it holds; `None` when it would hold none. Looks at no more than `max_line` + 1
/// bytes, so a line that is too long, or a `\r`, leaves the first line to the line by line
/// path.
fn plain_run(clean: &str, max_line: usize) -> Option<(&str, u64)> {
    let b = clean.as_bytes();
    let window = &b[..b.len().min(max_line.saturating_add(1))];
    let window = &window[..memchr(b'\r', window).unwrap_or(window.len())];
    let end = memrchr(b'\n', window)?;
    let text = clean.get(..end)?;
    // Every line in the window is at most `max_line` bytes: the window is one byte longer.
    // memchr counts a vector at a time; a byte-by-byte count cost five instructions a byte.
    let lines = 1 + memchr::memchr_iter(b'\n', text.as_bytes()).count() as u64;
    Some((text, lines))
}

fn note_cut(stats: &mut SplitStats, no: u64, bytes: u64) {
    stats.truncated_lines += 1;
    stats.cut_bytes += bytes;
    if stats.first_truncated_line == 0 {
        stats.first_truncated_line = no;
    }
}

fn note_utf8(stats: &mut SplitStats, no: u64, bytes: &[u8], known_text: bool) {
    if !known_text && std::str::from_utf8(bytes).is_err() {
        stats.invalid_utf8_lines += 1;
        if stats.first_invalid_utf8_line == 0 {
            stats.first_invalid_utf8_line = no;
        }
    }
}

/// How many bytes at the start of `b` are NUL.
fn zeros(b: &[u8]) -> usize {
    let mut n = 0;
    // Sixteen at a time: a long zero run (`/dev/zero`, a zero-filled gap) is skipped fast.
    for c in b.chunks_exact(16) {
        if c.iter().any(|&x| x != 0) {
            break;
        }
        n += 16;
    }
    n + b[n..].iter().position(|&x| x != 0).unwrap_or(b.len() - n)
}

/// The longest prefix of `b` of at most `max` bytes that does not end inside a UTF-8
/// character (when `b` is UTF-8 there; otherwise `max`).
fn boundary(b: &[u8], max: usize) -> usize {
    let max = max.min(b.len());
    if max == b.len() {
        return max;
    }
    // `b[max]` starts the part cut off: back up over at most three continuation bytes.
    let mut i = max;
    while i > 0 && max - i < 3 && (b[i] & 0xc0) == 0x80 {
        i -= 1;
    }
    if i < max && b[i] >= 0xc0 { i } else { max }
}

fn cut(line: &[u8], max: usize) -> (&[u8], bool) {
    if line.len() > max { (&line[..boundary(line, max)], true) } else { (line, false) }
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
            // Lone CR ends a line; CRLF is one ending, also across chunks.
            (
                &[b"a\rb\r\nc\r", b"\nd\r", b"e"],
                100,
                &[
                    (1, "a", false),
                    (2, "b", false),
                    (3, "c", false),
                    (4, "d", false),
                    (5, "e", false),
                ],
            ),
            (&[b"a\r\rb"], 100, &[(1, "a", false), (2, "", false), (3, "b", false)]),
            // NUL bytes are dropped, the bytes around them kept, lines numbered as given.
            (
                &[b"a\0b\n\0\0\0", b"\0c\nd\n"],
                100,
                &[(1, "ab", false), (2, "c", false), (3, "d", false)],
            ),
            (&[b"x\r\0\ny\n"], 100, &[(1, "x", false), (2, "y", false)]),
            // A cut never splits a character.
            (&[b"ab\xc3\xbcd\n"], 3, &[(1, "ab", true)]),
        ];
        for (chunks, max, want) in cases {
            let got = split(chunks, *max);
            let want: Vec<_> = want.iter().map(|(n, s, t)| (*n, (*s).to_string(), *t)).collect();
            assert_eq!(got, want, "chunks {chunks:?}");
        }
    }

    #[test]
    fn stats_count_what_was_not_delivered() {
        let mut s = LineSplitter::new(4);
        let mut sink = |_: RawLine<'_>| Flow::Continue;
        for c in [&b"ok\na\0\0b\n\xff\n"[..], b"abcdefgh", b"ij\nx\ry\r", b"\nlast\0"] {
            s.push(c, &mut sink);
        }
        s.finish(&mut sink);
        let want = SplitStats {
            lone_cr: 1,
            nul_bytes: 3,
            nul_lines: 2,
            first_nul_line: 2,
            truncated_lines: 1,
            first_truncated_line: 4,
            cut_bytes: 6,
            invalid_utf8_lines: 1,
            first_invalid_utf8_line: 3,
        };
        assert_eq!(*s.stats(), want);
        assert_eq!(s.lines(), 7);
    }

    #[test]
    fn a_zero_run_is_measured() {
        let mut s = LineSplitter::default();
        let mut sink = |_: RawLine<'_>| Flow::Continue;
        s.push(b"a\n", &mut sink);
        s.push(&[0u8; 1000], &mut sink);
        s.push(&[0u8; 37], &mut sink);
        assert_eq!(s.nul_run(), 1037);
        s.push(b"\0b", &mut sink);
        assert_eq!(s.nul_run(), 0);
        assert_eq!(zeros(&[0u8; 40]), 40);
        assert_eq!(zeros(b"\0\0x"), 2);
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
            // After the first ESC of a chunk, nothing is vouched for; NUL bytes are dropped
            // and the pieces between them checked on their own.
            (&[b"a\nb\x1b[1mc\nd\n"], 100, &[true, false, false]),
            (&[b"a\nb\0c\nd\n", b"e\n"], 100, &[true, false, true, true]),
            (&[b"\xff\nok\n"], 100, &[false, false]),
            (&[b"ok\n\xff\nok\n"], 100, &[true, false, false]),
            // A line carried over between chunks, and one cut inside a character.
            (&[b"ab", b"c\nd\n"], 100, &[false, true]),
            (&[b"a\xc3\xbc\n"], 2, &[true]),
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

    /// Lines handed on in blocks are the lines handed on one by one: the same numbers,
    /// bytes, texts and cut marks, and the same counts, for inputs with every kind of line
    /// ending, NUL, ESC, invalid UTF-8 and long lines, cut into chunks of many sizes.
    #[test]
    fn blocks_equal_lines() {
        type Got = (u64, Vec<u8>, bool, Option<String>);
        let mut inputs: Vec<Vec<u8>> = vec![
            crate::test_support::fixture_lines()
                .into_iter()
                .take(3000)
                .collect::<Vec<_>>()
                .join("\n")
                .into_bytes(),
            b"a\r\nb\rc\n\nd\r\r\ne\x1b[1mf\ng\0h\n\xff\xfei\n\xc3\xbc\nlast".to_vec(),
            b"\n\n\n".to_vec(),
            b"abcdefghij\nab\nabcdefghijklmnop\nabc\r\nx".to_vec(),
        ];
        let mixed: Vec<u8> = inputs.concat();
        inputs.push(mixed);
        for input in &inputs {
            for max in [4, 9, 64, MAX_LINE] {
                for size in [1, 2, 3, 7, 64, 1000, 1 << 20] {
                    let run = |blocks: bool| {
                        let mut s = LineSplitter::new(max);
                        let got = std::cell::RefCell::new(Vec::<Got>::new());
                        let mut sink = |l: RawLine<'_>| {
                            let text = l.text.map(str::to_owned);
                            got.borrow_mut().push((l.no, l.bytes.to_vec(), l.truncated, text));
                            Flow::Continue
                        };
                        let mut block_sink = |b: Block<'_>| {
                            assert_eq!(b.raw_lines().count() as u64, b.lines);
                            for l in b.raw_lines() {
                                let text = l.text.map(str::to_owned);
                                got.borrow_mut().push((l.no, l.bytes.to_vec(), l.truncated, text));
                            }
                            Flow::Continue
                        };
                        for c in input.chunks(size) {
                            let b: Option<&mut dyn FnMut(Block<'_>) -> Flow> =
                                if blocks { Some(&mut block_sink) } else { None };
                            s.push_blocks(c, &mut sink, b);
                        }
                        s.finish(&mut sink);
                        (got.into_inner(), *s.stats(), s.lines())
                    };
                    assert_eq!(run(true), run(false), "max {max}, chunks of {size}");
                }
            }
        }
        // The fixtures do go through blocks.
        let mut s = LineSplitter::default();
        let mut n = 0;
        s.push_blocks(
            &inputs[0],
            &mut |_| Flow::Continue,
            Some(&mut |b: Block<'_>| {
                n += b.lines;
                Flow::Continue
            }),
        );
        assert!(n > 1000, "{n}");
    }
}
