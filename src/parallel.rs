//! Parallel analysis of one input.
//!
//! Most of the work on a line does not depend on the lines before it: decoding, taking the
//! envelope apart, the literal gate, the rules' prefilters, zap's fields and the masked
//! template of an error line ([`Facts`]). Only what follows needs the analysis state: the
//! node's state machine, rules firing, context and templates. So the reading thread cuts
//! the input into batches of whole lines, `workers` threads prepare the batches, and the
//! reading thread applies the prepared lines *in input order*, so the report is the same as
//! the one-thread [`Analyzer::push_line`] gives (a test compares the two on every fixture).
//!
//! A prepared line carries its envelope [`Detached`] from the batch's text, so that it can
//! cross threads without a copy of its strings.
//!
//! Memory stays bounded: at most two batches per worker are in flight, and a batch holds
//! about [`BATCH`] bytes of input (a block of lines, up to the longest line kept, more).
//! What the applying thread is done with goes back to its worker, to be freed or filled
//! again there.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::{Scope, ScopedJoinHandle};

use crate::analyzer::{Analyzer, Facts, repeat};
use crate::error::Error;
use crate::input::decode::Decoded;
use crate::input::lines::{Block, Flow, RawLine};
use crate::input::source::{self, Source};
use crate::kb::Kb;
use crate::parse::envelope::{self, Dialect, Envelope, Level};
use crate::parse::message;
use crate::parse::normalize::normalize;
use crate::parse::time::Stamp;

/// Bytes of input per batch: large enough that handing a batch between threads costs
/// little, small enough that the batches in flight stay well under a megabyte.
pub const BATCH: usize = 32 * 1024;

/// Room for the line that takes a batch past [`BATCH`] (most lines are far shorter).
const BATCH_SLACK: usize = 4096;

/// Whole lines of input, as read.
#[derive(Default)]
struct Batch {
    bytes: Vec<u8>,
    /// Runs of plain lines ([`Block`]s), one after another.
    text: String,
    /// The lines in order: single lines in `bytes`, blocks in `text`.
    pieces: Vec<Piece>,
    /// A prepared batch that was applied, handed back so that the worker frees it (or
    /// reuses its room) instead of the applying thread.
    spent: Option<Prepared>,
}

/// A line of a batch, or a block of them.
#[derive(Clone, Copy)]
enum Piece {
    /// (line number, start, end, truncated) of a line in the batch's `bytes`.
    Line(u64, u32, u32, bool),
    /// (first line number, number of lines, start, end) of a [`Block`] in its `text`.
    Block(u64, u64, u32, u32),
}

impl Batch {
    fn len(&self) -> usize {
        self.bytes.len() + self.text.len()
    }

    /// Empties the batch, keeping its room.
    fn clear(&mut self) {
        self.bytes.clear();
        self.text.clear();
        self.pieces.clear();
    }
}

/// A batch, prepared: the decoded text of its lines and each line's envelope and facts.
#[derive(Default)]
struct Prepared {
    text: String,
    lines: Vec<Line>,
}

struct Line {
    decoded: Decoded,
    /// The line's text lies in its batch's `text` (a line of a [`Block`], taken as it
    /// is), not in the prepared `text`: its `start`, `end` and parts are places there.
    in_batch: bool,
    start: u32,
    end: u32,
    env: Detached,
    facts: Facts,
    /// The line as given when normalising changed it (`text` then holds the normalised one).
    raw: Option<Box<str>>,
    /// The line's message, detached like its envelope: its strings are empty and their
    /// places in the text are in `msg_parts` (see [`message::Message::map_strs`]).
    msg: message::Message<'static>,
    msg_parts: [Part; MSG_PARTS],
}

/// The most strings a message holds (a service line: name, state and text).
const MSG_PARTS: usize = 3;

/// Where the text of a line being prepared lies.
#[derive(Clone, Copy)]
enum At {
    /// `(start, end)` in the batch's `text` (a block's line, not copied).
    Batch(usize, usize),
    /// `(start, end)` in the prepared `text`.
    Own(usize, usize),
}

impl At {
    /// The text the line lies in (the batch's or the prepared one), and the line.
    fn get<'a>(self, batch: &'a str, own: &'a str) -> (&'a str, &'a str) {
        let (base, a, b) = match self {
            At::Batch(a, b) => (batch, a, b),
            At::Own(a, b) => (own, a, b),
        };
        (base, base.get(a..b).unwrap_or(""))
    }

    /// Whether the line lies in its batch, and where (a batch is under 4 GiB: it holds one
    /// line of at most 64 KiB past BATCH).
    fn places(self) -> (bool, u32, u32) {
        match self {
            At::Batch(a, b) => (true, a as u32, b as u32),
            At::Own(a, b) => (false, a as u32, b as u32),
        }
    }
}

/// Prepares `batch` into `into` (emptied first, its room reused).
///
/// Each line takes the path [`Analyzer::step`] takes on one thread, in the same order: a
/// line that repeats but for its stamp is looked up in the memo before anything else
/// (normalising every line first cost a tenth of the work), and a block's line, already
/// text, is read where it lies in the batch instead of being copied.
fn prepare(kb: &Kb, batch: &Batch, into: &mut Prepared) {
    let Prepared { text, lines } = into;
    text.clear();
    lines.clear();
    let mut scratch = Vec::new();
    let mut add = |raw: RawLine<'_>, block: Option<usize>| {
        let (decoded_text, decoded) = Decoded::decode(&raw, &mut scratch);
        // A block's line is a slice of the batch's text; any other line is copied.
        let at = match (block, &decoded_text) {
            (Some(a), Cow::Borrowed(_)) => At::Batch(a, a + decoded_text.len()),
            _ => {
                let a = text.len();
                text.push_str(&decoded_text);
                At::Own(a, text.len())
            }
        };
        let (base, given) = at.get(&batch.text, text);
        let split = repeat::split(given);
        if let Some((time, rest)) = split {
            if let Some((facts, msg)) = repeat::get(kb, rest) {
                let env = repeat::plain_envelope(time, rest);
                let (msg, msg_parts) = detach_msg(base, &msg);
                let env = env.detach(base);
                let (in_batch, start, end) = at.places();
                lines.push(Line {
                    decoded,
                    in_batch,
                    start,
                    end,
                    env,
                    facts,
                    raw: None,
                    msg,
                    msg_parts,
                });
                return;
            }
        }
        // Where the text after the stamp starts, to give the memo below without a second
        // split (`split` borrows the text that normalising may rewrite).
        let split = split.map(|(time, rest)| (time, given.len() - rest.len()));
        // Rules and the grammar read the line as machined printed it; evidence shows it as given.
        let (at, raw) = match normalize(given) {
            Cow::Borrowed(_) => (at, None),
            Cow::Owned(n) => {
                let original = Box::<str>::from(given);
                if let At::Own(a, _) = at {
                    text.truncate(a);
                }
                let a = text.len();
                text.push_str(&n);
                (At::Own(a, text.len()), Some(original))
            }
        };
        let (base, line) = at.get(&batch.text, text);
        let given = raw.as_deref().unwrap_or(line);
        let env = envelope::parse(line);
        let msg = message::parse(&env.text);
        let facts = Facts::of(kb, given, &env, &msg);
        // The memo takes only lines that normalise to themselves (`raw` None: `line` is
        // the line as given, the one `split` was taken of).
        if let (Some((time, Some(rest))), None) = (split.map(|(t, at)| (t, line.get(at..))), &raw) {
            repeat::put(kb, line, (time, rest), line, &env, &msg, &facts);
        }
        let (msg, msg_parts) = detach_msg(base, &msg);
        let env = env.detach(base);
        let (in_batch, start, end) = at.places();
        lines.push(Line { decoded, in_batch, start, end, env, facts, raw, msg, msg_parts });
    };
    for &piece in &batch.pieces {
        match piece {
            Piece::Line(no, a, b, truncated) => add(
                RawLine { no, bytes: &batch.bytes[a as usize..b as usize], truncated, text: None },
                None,
            ),
            Piece::Block(first, n, a, b) => {
                let block = batch.text.get(a as usize..b as usize).unwrap_or("");
                let mut at = a as usize;
                for raw in (Block { first, lines: n, text: block }).raw_lines() {
                    let len = raw.bytes.len();
                    add(raw, Some(at));
                    at += len + 1;
                }
            }
        }
    }
}

/// `msg` with its strings emptied, and their places in `base`.
fn detach_msg(
    base: &str,
    msg: &message::Message<'_>,
) -> (message::Message<'static>, [Part; MSG_PARTS]) {
    let mut parts = [const { Part::Range(0, 0) }; MSG_PARTS];
    let mut n = 0;
    let detached = msg.map_strs(|s| {
        if let Some(slot) = parts.get_mut(n) {
            *slot = Part::of(base, s);
        }
        n += 1;
        ""
    });
    (detached, parts)
}

/// Applies a prepared batch to the analyzer, in order; `batch` is the one it was prepared
/// from (its blocks' lines are read there).
fn apply(analyzer: &mut Analyzer<'_>, p: &Prepared, batch: &Batch) {
    for l in &p.lines {
        let base = if l.in_batch { batch.text.as_str() } else { p.text.as_str() };
        let line = match &l.raw {
            Some(r) => r,
            None => base.get(l.start as usize..l.end as usize).unwrap_or(""),
        };
        let env = l.env.attach(base);
        let mut parts = l.msg_parts.iter();
        let msg = l.msg.map_strs(|_| parts.next().map_or("", |part| part.get(base)));
        analyzer.push_prepared(l.decoded, line, &env, &msg, &l.facts);
    }
}

/// The running pipeline of one input. Lines go in with [`Pipeline::push`];
/// [`Pipeline::finish`] applies what is still in flight.
pub struct Pipeline<'scope> {
    to: Vec<SyncSender<Batch>>,
    from: Vec<Receiver<(Prepared, Batch)>>,
    /// Worker of each batch in flight, oldest first.
    in_flight: VecDeque<usize>,
    next: usize,
    batch: Batch,
    /// Emptied batches the workers gave back, to be filled again.
    free: Vec<Batch>,
    /// The last batch applied from each worker, to go back to it with the next batch.
    spent: Vec<Option<Prepared>>,
    _handles: Vec<ScopedJoinHandle<'scope, ()>>,
}

impl<'scope> Pipeline<'scope> {
    /// Starts `workers` (at least one) preparing threads in `scope`.
    pub fn start<'env>(
        scope: &'scope Scope<'scope, 'env>,
        kb: &'env Kb,
        workers: usize,
    ) -> Pipeline<'scope> {
        let mut to = Vec::new();
        let mut from = Vec::new();
        let mut handles = Vec::new();
        for _ in 0..workers.max(1) {
            let (tx, rx) = sync_channel::<Batch>(1);
            let (done_tx, done_rx) = sync_channel::<(Prepared, Batch)>(1);
            handles.push(scope.spawn(move || {
                // Ends when the reading thread drops its sender (or stops listening).
                while let Ok(mut batch) = rx.recv() {
                    // What the applying thread is done with is freed here, or its room reused.
                    let mut p = batch.spent.take().unwrap_or_default();
                    prepare(kb, &batch, &mut p);
                    // The batch goes back whole: the applying thread reads its blocks' lines.
                    if done_tx.send((p, batch)).is_err() {
                        break;
                    }
                }
            }));
            to.push(tx);
            from.push(done_rx);
        }
        let spent = (0..to.len()).map(|_| None).collect();
        Pipeline {
            to,
            from,
            in_flight: VecDeque::new(),
            next: 0,
            batch: Batch::default(),
            free: Vec::new(),
            spent,
            _handles: handles,
        }
    }

    /// Adds one line; a full batch goes to the next worker.
    pub fn push(&mut self, line: RawLine<'_>, analyzer: &mut Analyzer<'_>) {
        let start = self.batch.bytes.len() as u32;
        self.batch.bytes.extend_from_slice(line.bytes);
        let end = self.batch.bytes.len() as u32;
        self.batch.pieces.push(Piece::Line(line.no, start, end, line.truncated));
        if self.batch.len() >= BATCH {
            self.dispatch(analyzer);
        }
    }

    /// Adds a block of lines (see [`Block`]); a full batch goes to the next worker.
    pub fn push_block(&mut self, block: Block<'_>, analyzer: &mut Analyzer<'_>) {
        let start = self.batch.text.len() as u32;
        self.batch.text.push_str(block.text);
        let end = self.batch.text.len() as u32;
        self.batch.pieces.push(Piece::Block(block.first, block.lines, start, end));
        if self.batch.len() >= BATCH {
            self.dispatch(analyzer);
        }
    }

    fn dispatch(&mut self, analyzer: &mut Analyzer<'_>) {
        // Two batches per worker keep every worker busy; more would only hold memory.
        while self.in_flight.len() >= 2 * self.to.len() {
            self.collect_one(analyzer);
        }
        // The next batch starts with the room a batch takes (BATCH and the line that passes
        // it), or the room of one the workers gave back: grown from empty, every batch would
        // copy its bytes over a dozen times on the way to BATCH.
        let room = self.free.pop().unwrap_or_else(|| Batch {
            bytes: Vec::with_capacity(BATCH + BATCH_SLACK),
            text: String::with_capacity(BATCH + BATCH_SLACK),
            pieces: Vec::with_capacity(self.batch.pieces.len()),
            spent: None,
        });
        let mut batch = std::mem::replace(&mut self.batch, room);
        let w = self.next;
        self.next = (self.next + 1) % self.to.len();
        batch.spent = self.spent[w].take();
        match self.to[w].send(batch) {
            Ok(()) => self.in_flight.push_back(w),
            // A worker that is gone has panicked (and the process with it, panic=abort in
            // release); in a test build do the work here rather than lose lines.
            Err(e) => {
                let mut p = Prepared::default();
                prepare(analyzer.kb(), &e.0, &mut p);
                apply(analyzer, &p, &e.0);
            }
        }
    }

    fn collect_one(&mut self, analyzer: &mut Analyzer<'_>) {
        if let Some(w) = self.in_flight.pop_front() {
            if let Ok((p, mut batch)) = self.from[w].recv() {
                apply(analyzer, &p, &batch);
                self.spent[w] = Some(p);
                batch.clear();
                self.free.push(batch);
            }
        }
    }

    /// Sends the last, partial batch and applies everything still in flight.
    pub fn finish(mut self, analyzer: &mut Analyzer<'_>) {
        if !self.batch.pieces.is_empty() {
            self.dispatch(analyzer);
        }
        while !self.in_flight.is_empty() {
            self.collect_one(analyzer);
        }
        // Dropping the senders ends the workers; the scope joins them.
    }
}

/// [`source::feed`] for a whole input whose progress nobody watches (`analyze`), with
/// `workers` threads preparing lines; 0 is [`source::feed`] on this thread. Runs of plain
/// lines reach the batches whole ([`Block`]): the reading thread neither splits them
/// into lines nor copies them one by one, the workers do.
pub fn feed(
    source: &Source,
    default_node: Option<&str>,
    analyzer: &mut Analyzer<'_>,
    workers: usize,
) -> Result<Flow, Error> {
    if workers == 0 {
        return source::feed(source, default_node, analyzer, &mut |_, _| Flow::Continue);
    }
    let what = source.description();
    analyzer.begin_input(&source.name(), default_node);
    let start_lines = analyzer.lines();
    let kb = analyzer.kb();
    let read = std::thread::scope(|scope| {
        let pipe = Pipeline::start(scope, kb, workers);
        // Both sinks feed the one pipeline, in input order.
        let both = std::cell::RefCell::new((pipe, &mut *analyzer));
        let read = source::read_lines_blocks(
            source,
            &mut |line| {
                let (pipe, analyzer) = &mut *both.borrow_mut();
                pipe.push(line, analyzer);
                Flow::Continue
            },
            &mut |block| {
                let (pipe, analyzer) = &mut *both.borrow_mut();
                pipe.push_block(block, analyzer);
                Flow::Continue
            },
        );
        let (pipe, analyzer) = both.into_inner();
        // Lines read before an error or a NUL byte are analysed, as on one thread.
        pipe.finish(analyzer);
        analyzer.end_input();
        read
    });
    let (flow, binary_at) = read?;
    source::binary(analyzer, what, start_lines, binary_at).map(|()| flow)
}

/// A string of a [`Detached`] envelope: a byte range of the text it was parsed from, or its
/// own copy when it was built (JSON-shipped and zap development lines).
#[derive(Debug, Clone)]
enum Part {
    Range(u32, u32),
    Owned(Box<str>),
}

impl Part {
    fn of(base: &str, s: &str) -> Part {
        // Where `s` lies in `base`, from the addresses alone (no unsafe code): a part the
        // parser built, or a `'static` literal, is not inside and is copied.
        let off = (s.as_ptr() as usize).wrapping_sub(base.as_ptr() as usize);
        match (u32::try_from(off), u32::try_from(s.len())) {
            (Ok(o), Ok(n)) if off.checked_add(s.len()).is_some_and(|end| end <= base.len()) => {
                Part::Range(o, o + n)
            }
            _ => Part::Owned(s.into()),
        }
    }

    fn get<'a>(&'a self, base: &'a str) -> &'a str {
        match self {
            // `get` rather than indexing: a base that does not fit gives "" instead of a panic.
            Part::Range(a, b) => base.get(*a as usize..*b as usize).unwrap_or(""),
            Part::Owned(s) => s,
        }
    }
}

/// An [`Envelope`] without the borrow of its line, so that a line can be parsed on one
/// thread and analysed on another: its strings are byte ranges of
/// the text it was parsed from. [`Detached::attach`] to the same text gives the envelope
/// back, equal to the original.
#[derive(Debug, Clone)]
pub struct Detached {
    node: Option<Part>,
    time: Option<Stamp>,
    level: Option<Level>,
    facility: Option<Part>,
    talos: bool,
    initramfs: bool,
    task: Option<(Part, Part)>,
    service: Option<Part>,
    dialect: Dialect,
    text: Part,
}

impl<'a> Envelope<'a> {
    /// Detaches the envelope from `base`, the text its line is part of.
    pub fn detach(&self, base: &str) -> Detached {
        let part = |s: &str| Part::of(base, s);
        Detached {
            node: self.node.map(part),
            time: self.time,
            level: self.level,
            facility: self.facility.map(part),
            talos: self.talos,
            initramfs: self.initramfs,
            task: self.task.map(|(n, i)| (part(n), part(i))),
            service: self.service.as_deref().map(part),
            dialect: self.dialect,
            text: part(&self.text),
        }
    }
}

impl Detached {
    /// The envelope again, its strings borrowed from `base` (the text given to `detach`).
    pub fn attach<'a>(&'a self, base: &'a str) -> Envelope<'a> {
        Envelope {
            node: self.node.as_ref().map(|p| p.get(base)),
            time: self.time,
            level: self.level,
            facility: self.facility.as_ref().map(|p| p.get(base)),
            talos: self.talos,
            initramfs: self.initramfs,
            task: self.task.as_ref().map(|(n, i)| (n.get(base), i.get(base))),
            service: self.service.as_ref().map(|p| Cow::Borrowed(p.get(base))),
            dialect: self.dialect,
            text: Cow::Borrowed(self.text.get(base)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A message detached from its batch's text and attached again is the parsed one, for
    /// every fixture line inside a larger text.
    #[test]
    fn detached_messages_attach_equal() {
        let lines = crate::test_support::fixture_lines();
        let base = lines.join("\n");
        let (mut at, mut some) = (0, 0);
        for l in &lines {
            let line = &base[at..at + l.len()];
            at += l.len() + 1;
            let env = envelope::parse(line);
            let msg = message::parse(&env.text);
            let mut parts = Vec::new();
            let detached = msg.map_strs(|s| {
                parts.push(Part::of(&base, s));
                ""
            });
            let mut it = parts.iter();
            let attached = detached.map_strs(|_| it.next().map_or("", |p| p.get(&base)));
            assert!(parts.len() <= MSG_PARTS, "{l}");
            assert_eq!(attached, msg, "{l}");
            some += usize::from(!matches!(msg, message::Message::Other));
        }
        assert!(some > 100, "{some}");
    }

    #[test]
    fn detached_envelopes_attach_equal() {
        let lines = [
            "cp-1: 2024/06/10 10:32:11.123456 [talos] 2024/06/10 10:32:11 phase env (4/10): 1 tasks(s)",
            "192.168.77.20: user: warning: [2022-11-19T01:40:11.202824078Z]: [talos] boot sequence: done: 1s",
            "[talos] task diskSizeCheck (1/1): 2024/10/09 12:53:26 skipping disk size check",
            r#"{"msg":"[talos] 2024/10/09 12:53:26 task x (1/1): failed: y","talos-level":"info","talos-service":"machined","talos-time":"2024-10-09T12:53:26.5Z"}"#,
            "2024-06-10T10:32:11.123Z\tERROR\tcontroller failed\t{\"controller\": \"a.B\"}",
            "[talos]",
            "",
            "plain text ü",
        ];
        // Each line inside a larger text, as in a batch.
        let base = lines.join("\n");
        let mut at = 0;
        for l in lines {
            let line = &base[at..at + l.len()];
            at += l.len() + 1;
            let env = envelope::parse(line);
            let d = env.detach(&base);
            assert_eq!(d.attach(&base), env, "{l}");
        }
    }
}
