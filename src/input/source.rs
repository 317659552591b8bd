//! Input sources: files and standard input, opened once and read in large chunks straight
//! into the line splitter.
//!
//! The first bytes are peeked into a buffer that is then read again as part of the input, so
//! that sniffing costs no byte even on a pipe: gzip (also from a pipe) is decompressed on the
//! fly, other compressions and binary data are refused with a one-line reason, and a zip
//! archive on a stream, which cannot be read without seeking, is saved to an unnamed
//! temporary file (up to [`MAX_SPOOLED_ZIP`]) and read from there. Whatever is decompressed
//! is watched by an [`Inflation`] guard, so that a bomb costs time linear in its compressed
//! size.
//! Every byte read is either in a line or counted in an [`Account`], which [`binary`] turns
//! into warnings (or an error when nothing readable came).

use std::cell::Cell;
use std::fs::File;
use std::io::{self, Cursor, Read};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use crate::error::Error;
use crate::input::lines::{Block, Flow, LineSplitter, MAX_LINE, RawLine, SplitStats, reborrow};
use crate::input::{Sink, visible};
use crate::machine::Progress;

/// Read size: large reads keep syscalls off the profile.
const CHUNK: usize = 256 * 1024;

/// Bytes peeked at the start of an input (after decompression) to tell text from binary.
pub const SNIFF: usize = 8 * 1024;

/// The longest run of NUL bytes read before an input is given up (`/dev/zero`, a disk image):
/// zero-filled gaps in real logs are far shorter, and skipping them costs little.
pub const MAX_NUL_RUN: u64 = 64 * 1024 * 1024;

/// The largest rules file read (`--rules`); the embedded rules are about 200 KiB.
pub const MAX_RULES_FILE: u64 = 16 * 1024 * 1024;

/// How many times its compressed size an input may inflate to before [`BOMB_ALLOWANCE`] is
/// drawn on. Real logs compress 5 to 35 times (a crash loop of one line whose timestamp
/// changes: 31); zeros or one repeated line, the stuff of zip and gzip bombs, 300 to 1000.
pub const BOMB_RATIO: u64 = 64;

/// Inflated bytes beyond [`BOMB_RATIO`] times the compressed bytes behind them that one
/// input (a gzip file, or an archive with all its entries) may take in all; past it, reading
/// an entry or file stops with a counted warning. This keeps the time a bomb costs linear in
/// its size on disk, whatever it inflates to.
pub const BOMB_ALLOWANCE: u64 = 64 * 1024 * 1024;

/// Bytes read through a reader, shared with whoever watches it.
pub(crate) struct Counted<R> {
    inner: R,
    n: Rc<Cell<u64>>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.n.set(self.n.get() + n as u64);
        Ok(n)
    }
}

/// The inflation guard of one input: the compressed bytes read so far (counted below every
/// decompressor) and the [`BOMB_ALLOWANCE`] left, shared by all entries of an archive.
#[derive(Debug, Clone)]
pub(crate) struct Inflation {
    raw: Rc<Cell<u64>>,
    pool: Rc<Cell<u64>>,
}

impl Inflation {
    /// A guard with the whole allowance.
    pub(crate) fn new() -> Inflation {
        Inflation { raw: Rc::default(), pool: Rc::new(Cell::new(BOMB_ALLOWANCE)) }
    }

    /// A guard for one more input drawing on the same allowance (an archive's next entry).
    pub(crate) fn next(&self) -> Inflation {
        Inflation { raw: Rc::default(), pool: Rc::clone(&self.pool) }
    }

    /// `r`, its bytes counted as this input's compressed bytes.
    pub(crate) fn counted<R: Read>(&self, r: R) -> Counted<R> {
        Counted { inner: r, n: Rc::clone(&self.raw) }
    }

    /// Whether `inflated` bytes from the compressed bytes read so far are still within the
    /// ratio or the allowance; `drawn` is what this input took from the allowance already.
    fn allows(&self, inflated: u64, drawn: &mut u64) -> bool {
        let excess = inflated.saturating_sub(self.raw.get().saturating_mul(BOMB_RATIO));
        if excess <= *drawn {
            return true;
        }
        let need = excess - *drawn;
        if self.pool.get() < need {
            return false;
        }
        self.pool.set(self.pool.get() - need);
        *drawn = excess;
        true
    }

    /// Compressed bytes read so far.
    pub(crate) fn raw(&self) -> u64 {
        self.raw.get()
    }
}

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

    /// Used in every message about this input (control characters made visible).
    pub fn description(&self) -> String {
        match self {
            Source::File(p) => format!("file `{}`", visible(&p.display().to_string())),
            Source::Stdin => "standard input".to_owned(),
        }
    }

    /// Short name for reports (control characters made visible).
    pub fn name(&self) -> String {
        match self {
            Source::File(p) => visible(&p.display().to_string()).into_owned(),
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

/// What reading one input found besides its lines: with the lines delivered, every byte
/// read is accounted for.
#[derive(Debug, Default)]
pub struct Account {
    /// What the splitter counted (NUL bytes, cut lines, lone CRs, invalid UTF-8).
    pub split: SplitStats,
    /// The input was refused before any line, and why (binary data, a zip on a pipe).
    pub refused: Option<String>,
    /// Reading stopped at a run of more than [`MAX_NUL_RUN`] NUL bytes starting on this line.
    pub zero_run_at: Option<u64>,
    /// Reading stopped at this many bytes (the cap of an archive entry), with more to come.
    pub capped_at: Option<u64>,
    /// Reading stopped here: this many bytes inflated from that many compressed ones, past
    /// [`BOMB_RATIO`] and the [`BOMB_ALLOWANCE`].
    pub bomb: Option<(u64, u64)>,
    /// A zip archive came on a stream: it was saved to this temporary file, to be read as
    /// the archive of this name; with the cap it was cut at when it was larger than
    /// [`MAX_SPOOLED_ZIP`].
    pub spooled_zip: Option<(File, String, Option<u64>)>,
    /// Bytes read, after decompression.
    pub bytes: u64,
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
    let (flow, account) = read_lines(source, &mut |line| {
        let progress = analyzer.push_line(line);
        if progress.is_empty() { Flow::Continue } else { on_progress(analyzer, &progress) }
    })?;
    analyzer.end_input();
    binary(analyzer, what, start_lines, account).map(|()| flow)
}

/// Turns what reading `what` found into warnings, and into an error when nothing readable
/// came from it (binary data, only NUL bytes). The name is historical: binary data is the
/// one case that fails.
pub(crate) fn binary(
    analyzer: &mut dyn Sink,
    what: String,
    start_lines: u64,
    mut account: Account,
) -> Result<(), Error> {
    if let Some((file, name, cut)) = account.spooled_zip.take() {
        return match cut {
            None => crate::input::bundle::feed_zip_spooled(file, &name, analyzer).map(|_| ()),
            Some(cap) => {
                crate::input::bundle::feed_zip_cut(file, &name, &what, cap, analyzer);
                Ok(())
            }
        };
    }
    match report(analyzer, &what, start_lines, &account) {
        Some(why) => Err(Error::NotText { what, why }),
        None => Ok(()),
    }
}

/// Warns about everything in `account`; returns why the input is unusable when it gave no
/// line at all and was refused (the caller decides whether that is an error or a warning).
pub(crate) fn report(
    analyzer: &mut dyn Sink,
    what: &str,
    start_lines: u64,
    account: &Account,
) -> Option<String> {
    let nothing = analyzer.lines() == start_lines;
    if let Some(why) = &account.refused {
        return Some(why.clone());
    }
    if let Some(no) = account.zero_run_at {
        if nothing {
            return Some(format!("it holds only NUL bytes (more than {} read)", size(MAX_NUL_RUN)));
        }
        analyzer.warn(format!(
            "{what} holds more than {} of NUL bytes from line {no} on: the rest of it was \
             not read",
            size(MAX_NUL_RUN)
        ));
    }
    let s = &account.split;
    if s.nul_bytes > 0 {
        analyzer.warn(format!(
            "{what}: {} NUL byte{} on {} line{} dropped (first on line {}); the rest of each \
             line was read",
            s.nul_bytes,
            plural(s.nul_bytes),
            s.nul_lines,
            plural(s.nul_lines),
            s.first_nul_line
        ));
    }
    if s.truncated_lines > 0 {
        analyzer.warn(format!(
            "{what}: {} line{} longer than {} cut (first on line {}); {} byte{} past the cut \
             not analyzed",
            s.truncated_lines,
            plural(s.truncated_lines),
            size(MAX_LINE as u64),
            s.first_truncated_line,
            s.cut_bytes,
            plural(s.cut_bytes)
        ));
    }
    if s.invalid_utf8_lines > 0 {
        analyzer.warn(format!(
            "{what}: {} line{} with invalid UTF-8 (first on line {}); the bad bytes read as \
             U+FFFD",
            s.invalid_utf8_lines,
            plural(s.invalid_utf8_lines),
            s.first_invalid_utf8_line
        ));
    }
    if s.lone_cr > 0 {
        analyzer.warn(format!(
            "{what}: {} lone CR line ending{} (old Mac or serial console) read as line \
             breaks; line numbers count them",
            s.lone_cr,
            plural(s.lone_cr)
        ));
    }
    if let Some((inflated, raw)) = account.bomb {
        analyzer.warn(format!(
            "{what}: reading stopped after {} inflated from {} compressed: it inflates more \
             than {BOMB_RATIO} times its size, like a zip or gzip bomb; the rest was not read",
            approx(inflated),
            approx(raw)
        ));
    }
    if let Some(cap) = account.capped_at {
        analyzer.warn(format!(
            "{what}: only its first {} inflated were read (the caps: {} per archive entry, {} \
             per archive)",
            size(cap),
            size(crate::input::bundle::MAX_ENTRY_BYTES),
            size(crate::input::bundle::MAX_ARCHIVE_BYTES)
        ));
    }
    None
}

fn plural(n: u64) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// `1.5 GiB`, `12.0 MiB`, `300 KiB`, `100 bytes`: a size that need not be round.
pub(crate) fn approx(n: u64) -> String {
    #[expect(clippy::cast_precision_loss, reason = "a size shown to one decimal")]
    let f = n as f64;
    match n {
        n if n >= 1 << 30 => format!("{:.1} GiB", f / f64::from(1u32 << 30)),
        n if n >= 1 << 20 => format!("{:.1} MiB", f / f64::from(1u32 << 20)),
        n if n >= 1 << 10 => format!("{} KiB", n >> 10),
        n => format!("{n} bytes"),
    }
}

/// `64 MiB`, `512 KiB`, `100 bytes`.
pub(crate) fn size(n: u64) -> String {
    const KIB: u64 = 1024;
    match n {
        n if n >= KIB * KIB * KIB && n % (KIB * KIB * KIB) == 0 => format!("{} GiB", n >> 30),
        n if n >= KIB * KIB && n % (KIB * KIB) == 0 => format!("{} MiB", n >> 20),
        n if n >= KIB && n % KIB == 0 => format!("{} KiB", n >> 10),
        n => format!("{n} bytes"),
    }
}

/// Reads `source` line by line into `sink` until its end or [`Flow::Stop`] from the sink;
/// says what else it found.
pub(crate) fn read_lines(
    source: &Source,
    sink: &mut dyn FnMut(RawLine<'_>) -> Flow,
) -> Result<(Flow, Account), Error> {
    let zip_name = source.name();
    let stream =
        Stream { what: &source.description(), spool_zip: Some(&zip_name), ..Stream::default() };
    read_stream(source.open()?, &stream, sink)
}

/// The largest zip archive saved from a stream (`cat bundle.zip | talos-doctor analyze`) to
/// a temporary file, to be read from there: a zip's directory is at its end.
pub const MAX_SPOOLED_ZIP: u64 = 1 << 30;

/// How to read one stream: see [`read_stream`].
#[derive(Default)]
pub(crate) struct Stream<'a> {
    /// Description, for messages.
    pub what: &'a str,
    /// Stop after this many bytes (after decompression).
    pub cap: Option<u64>,
    /// The inflation guard when the stream is inflated already (an archive entry); without
    /// one, the stream gets its own (for gzip).
    pub inflation: Option<&'a Inflation>,
    /// A zip archive on the stream is saved to a temporary file to be read as the archive of
    /// this name; without a name it is refused.
    pub spool_zip: Option<&'a str>,
}

/// Saves `head` and the rest of `reader` to an unnamed temporary file, up to `cap` bytes
/// ([`MAX_SPOOLED_ZIP`]; a parameter so that a test can reach it), and says whether the
/// archive went on past the cap (then the file holds its first `cap` bytes, and at most one
/// more byte was read: a pipe that never ends does not hang the run); says why not when it
/// cannot save it.
pub(crate) fn spool(head: &[u8], reader: &mut dyn Read, cap: u64) -> Result<(File, bool), String> {
    use std::io::{Seek, Write};
    let mut file = tempfile::tempfile()
        .map_err(|e| format!("it is a zip archive, and no temporary file to save it in: {e}"))?;
    let failed = |e: io::Error| format!("saving the zip archive failed: {e}");
    let head = &head[..head.len().min(usize::try_from(cap).unwrap_or(usize::MAX))];
    file.write_all(head).map_err(failed)?;
    let left = cap.saturating_sub(head.len() as u64);
    io::copy(&mut reader.take(left), &mut file).map_err(failed)?;
    let mut one = [0u8; 1];
    let cut = loop {
        match reader.read(&mut one) {
            Ok(n) => break n > 0,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(failed(e)),
        }
    };
    file.rewind().map_err(failed)?;
    Ok((file, cut))
}

/// What the first bytes of an input say it is.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Sniff {
    /// Text (or nothing yet).
    Text,
    /// gzip: decompress and look again.
    Gzip,
    /// A zip archive.
    Zip,
    /// Not a log; why, as a sentence fragment.
    Binary(String),
}

impl Sniff {
    /// Looks at the start of an input (up to [`SNIFF`] bytes).
    pub(crate) fn of(head: &[u8]) -> Sniff {
        if head.starts_with(&[0x1f, 0x8b]) {
            return Sniff::Gzip;
        }
        if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
            return Sniff::Zip;
        }
        let compressed: &[(&[u8], &str, &str)] = &[
            (&[0x28, 0xb5, 0x2f, 0xfd], "zstd", "zstd -d"),
            (&[0xfd, b'7', b'z', b'X', b'Z', 0], "xz", "xz -d"),
            (b"BZh", "bzip2", "bzip2 -d"),
            (&[b'7', b'z', 0xbc, 0xaf, 0x27, 0x1c], "7-Zip", "7z x"),
        ];
        for (magic, name, cmd) in compressed {
            if head.starts_with(magic) {
                return Sniff::Binary(format!(
                    "it is compressed with {name}; decompress it first (`{cmd}`)"
                ));
            }
        }
        let nul = head.iter().filter(|&&b| b == 0).count();
        let text = head.len() - nul;
        if text == 0 {
            // Only NUL bytes so far: a zero-filled start, or `/dev/zero`; the zero-run cap
            // tells them apart.
            return Sniff::Text;
        }
        let control =
            head.iter().filter(|&&b| matches!(b, 1..=8 | 0x0e..=0x1a | 0x1c..=0x1f | 0x7f)).count();
        let invalid: usize = head.utf8_chunks().map(|c| c.invalid().len()).sum();
        let bad = control + invalid;
        // With NUL bytes, a tenth of bad bytes is binary; without, text in a legacy encoding
        // can reach that, so a third.
        let limit = if nul > 0 { text / 10 } else { text / 3 };
        if bad > limit && bad > 8 {
            return Sniff::Binary(format!(
                "it holds binary data ({} of its first {} bytes are NUL, control bytes or \
                 invalid UTF-8)",
                bad + nul,
                head.len()
            ));
        }
        Sniff::Text
    }
}

/// Reads up to `n` bytes (fewer only at the end of input), to look at them before the input
/// is read.
fn peek(r: &mut dyn Read, n: usize) -> io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(n);
    r.take(n as u64).read_to_end(&mut head)?;
    Ok(head)
}

/// Reads one input: sniffs its start (decompressing gzip, up to two layers), refuses what is
/// not text, splits the rest into `sink`. `how.cap` stops reading after that many bytes
/// (after decompression), noted in the account when there was more; so does inflating past
/// what [`Inflation`] allows.
pub(crate) fn read_stream<'r>(
    reader: Box<dyn Read + 'r>,
    how: &Stream<'_>,
    sink: &mut dyn FnMut(RawLine<'_>) -> Flow,
) -> Result<(Flow, Account), Error> {
    read_stream_blocks(reader, how, sink, None)
}

/// [`read_lines`], with runs of plain lines handed to `blocks` whole (see
/// [`LineSplitter::push_blocks`]).
pub(crate) fn read_lines_blocks(
    source: &Source,
    sink: &mut dyn FnMut(RawLine<'_>) -> Flow,
    blocks: &mut dyn FnMut(Block<'_>) -> Flow,
) -> Result<(Flow, Account), Error> {
    let zip_name = source.name();
    let stream =
        Stream { what: &source.description(), spool_zip: Some(&zip_name), ..Stream::default() };
    read_stream_blocks(source.open()?, &stream, sink, Some(blocks))
}

/// [`read_stream`], with runs of plain lines handed to `blocks` whole when given.
fn read_stream_blocks<'r>(
    reader: Box<dyn Read + 'r>,
    how: &Stream<'_>,
    sink: &mut dyn FnMut(RawLine<'_>) -> Flow,
    mut blocks: Option<&mut dyn FnMut(Block<'_>) -> Flow>,
) -> Result<(Flow, Account), Error> {
    let (what, cap) = (how.what, how.cap);
    let own;
    let (inflation, mut reader): (&Inflation, Box<dyn Read + 'r>) = match how.inflation {
        Some(i) => (i, reader),
        None => {
            own = Inflation::new();
            let counted = own.counted(reader);
            (&own, Box::new(counted))
        }
    };
    let mut drawn = 0;
    let mut account = Account::default();
    let mut gz = false;
    let err = |gz: bool, source| {
        let what = if gz { format!("{what} (gzip)") } else { what.to_owned() };
        Error::Input { what, source }
    };
    let mut layers = 0;
    let head = loop {
        let head = peek(&mut reader, SNIFF).map_err(|e| err(gz, e))?;
        match Sniff::of(&head) {
            Sniff::Gzip if layers < 2 => {
                layers += 1;
                gz = true;
                reader =
                    Box::new(flate2::read::MultiGzDecoder::new(Cursor::new(head).chain(reader)));
            }
            Sniff::Gzip => {
                account.refused = Some("it is gzip nested more than twice".into());
                return Ok((Flow::Continue, account));
            }
            Sniff::Zip if how.spool_zip.is_some() && !gz => {
                match spool(&head, &mut reader, MAX_SPOOLED_ZIP) {
                    Ok((file, cut)) => {
                        let name = how.spool_zip.unwrap_or_default().to_owned();
                        account.spooled_zip = Some((file, name, cut.then_some(MAX_SPOOLED_ZIP)));
                    }
                    Err(why) => account.refused = Some(why),
                }
                return Ok((Flow::Continue, account));
            }
            Sniff::Zip => {
                account.refused = Some(if gz {
                    "it is a zip archive inside gzip; decompress it first (`gunzip`)".into()
                } else {
                    "it is a zip archive inside an archive, not named `*.zip`; only those \
                     are read as archives"
                        .into()
                });
                return Ok((Flow::Continue, account));
            }
            Sniff::Binary(why) => {
                account.refused = Some(why);
                return Ok((Flow::Continue, account));
            }
            Sniff::Text => break head,
        }
    };
    let mut splitter = LineSplitter::default();
    let mut flow = Flow::Continue;
    if (head.len() as u64) < cap.unwrap_or(u64::MAX).min(SNIFF as u64) {
        // The whole input was peeked: no read buffer (many small files stay cheap).
        account.bytes = head.len() as u64;
        flow = splitter.push_blocks(&head, sink, reborrow(&mut blocks));
        if splitter.nul_run() > MAX_NUL_RUN {
            account.zero_run_at = Some(splitter.lines() + 1);
        }
        if flow == Flow::Continue {
            flow = splitter.finish(sink);
        }
        account.split = *splitter.stats();
        return Ok((flow, account));
    }
    let mut reader = Cursor::new(head).chain(reader);
    let mut buf = vec![0u8; CHUNK];
    loop {
        let room = cap.map_or(CHUNK as u64, |c| c.saturating_sub(account.bytes)).min(CHUNK as u64);
        if room == 0 {
            // At the cap: is there more?
            let more = reader.read(&mut buf[..1]).map_err(|e| err(gz, e))?;
            if more > 0 {
                account.capped_at = cap;
            }
            break;
        }
        let n = match reader.read(&mut buf[..room as usize]) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(err(gz, e)),
        };
        account.bytes += n as u64;
        if splitter.push_blocks(&buf[..n], sink, reborrow(&mut blocks)) == Flow::Stop {
            flow = Flow::Stop;
            break;
        }
        if splitter.nul_run() > MAX_NUL_RUN {
            account.zero_run_at = Some(splitter.lines() + 1);
            break;
        }
        if !inflation.allows(account.bytes, &mut drawn) {
            account.bomb = Some((account.bytes, inflation.raw()));
            break;
        }
    }
    if flow == Flow::Continue {
        flow = splitter.finish(sink);
    }
    account.split = *splitter.stats();
    Ok((flow, account))
}

/// Reads a rules file of at most [`MAX_RULES_FILE`] bytes as UTF-8; a bigger one (or a
/// device that never ends, `/dev/zero`) is an error, not a hang.
pub fn read_rules_file(path: &Path) -> io::Result<String> {
    let mut bytes = Vec::new();
    File::open(path)?.take(MAX_RULES_FILE + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_RULES_FILE {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("it is larger than {}, the cap for a rules file", size(MAX_RULES_FILE)),
        ));
    }
    String::from_utf8(bytes)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "it is not valid UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniff_table() {
        // This test's own executable: a real binary.
        let exe = File::open(std::env::current_exe().expect("exe")).expect("open exe");
        let elf = peek(&mut exe.take(SNIFF as u64), SNIFF).expect("read exe");
        let utf16: Vec<u8> =
            "[talos] hello\r\n".encode_utf16().flat_map(u16::to_le_bytes).collect();
        let cases: &[(&[u8], &str)] = &[
            (b"", "text"),
            (b"[talos] boot\n", "text"),
            (&[0u8; 100], "text"),
            (b"\x1f\x8b\x08\0", "gzip"),
            (b"PK\x03\x04rest", "zip"),
            (b"(\xb5/\xfdxx", "binary"),
            (&elf, "binary"),
            (&utf16, "text"),
            (b"caf\xe9 cr\xe8me br\xfbl\xe9e, na\xefve d\xe9j\xe0 vu\n", "text"),
        ];
        for (head, want) in cases {
            let got = match Sniff::of(head) {
                Sniff::Text => "text",
                Sniff::Gzip => "gzip",
                Sniff::Zip => "zip",
                Sniff::Binary(_) => "binary",
            };
            assert_eq!(got, *want, "{head:?}");
        }
    }

    #[test]
    fn inflation_beyond_the_ratio_draws_on_one_allowance() {
        let first = Inflation::new();
        let mut drawn = 0;
        first.raw.set(1 << 20);
        // Within the ratio: nothing drawn.
        assert!(first.allows(BOMB_RATIO << 20, &mut drawn));
        assert_eq!(drawn, 0);
        // Beyond it: drawn until the allowance is spent.
        assert!(first.allows((BOMB_RATIO << 20) + BOMB_ALLOWANCE, &mut drawn));
        assert!(!first.allows((BOMB_RATIO << 20) + BOMB_ALLOWANCE + 1, &mut drawn));
        // The next entry of the archive shares what is left (nothing), but a log within the
        // ratio is still read.
        let next = first.next();
        let mut drawn = 0;
        next.raw.set(1000);
        assert!(next.allows(1000 * 30, &mut drawn));
        assert!(!next.allows(1000 * BOMB_RATIO + 1, &mut drawn));
        // A file of its own has its own allowance.
        assert!(Inflation::new().allows(BOMB_ALLOWANCE, &mut 0));
    }

    /// Issue #14: the cap on a zip saved from a pipe, scaled down from 1 GiB to 4 KiB. A zip up
    /// to the cap is saved whole; of one past it the first 4 KiB are saved and the cut is
    /// said, after reading at most one byte past it (a pipe that never ends does not hang
    /// the run). What is read of a cut archive: `bundle::tests`.
    #[test]
    fn r14_the_spool_cap_keeps_the_start_of_a_larger_zip() {
        use std::io::Read as _;
        let zip = |n: usize| {
            let mut b = b"PK\x03\x04".to_vec();
            b.resize(n, b'z');
            b
        };
        let whole = zip(4096);
        let (head, rest) = whole.split_at(100);
        let (mut file, cut) = spool(head, &mut Cursor::new(rest), 4096).expect("at the cap");
        assert!(!cut);
        let mut back = Vec::new();
        file.read_to_end(&mut back).expect("read back");
        assert_eq!(back, whole);

        let over = zip(4097);
        let (head, rest) = over.split_at(100);
        let (mut file, cut) = spool(head, &mut Cursor::new(rest), 4096).expect("past the cap");
        assert!(cut);
        let mut back = Vec::new();
        file.read_to_end(&mut back).expect("read back");
        assert_eq!(back, over[..4096]);
        let mut endless = io::repeat(b'z');
        let (_, cut) = spool(head, &mut endless, 4096).expect("an endless pipe");
        assert!(cut);
    }

    #[test]
    fn sizes() {
        assert_eq!(size(64 * 1024 * 1024), "64 MiB");
        assert_eq!(size(1 << 30), "1 GiB");
        assert_eq!(size(65536), "64 KiB");
        assert_eq!(size(1000), "1000 bytes");
        assert_eq!(approx(80 * 1024 * 1024 + 200 * 1024), "80.2 MiB");
        assert_eq!(approx(3 << 30), "3.0 GiB");
        assert_eq!(approx(5000), "4 KiB");
    }
}
