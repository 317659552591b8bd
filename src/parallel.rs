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
//! Memory stays bounded: at most two batches per worker are in flight, and a batch holds
//! about [`BATCH`] bytes of input.

use std::collections::VecDeque;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::{Scope, ScopedJoinHandle};

use crate::analyzer::{Analyzer, Facts};
use crate::input::decode::Decoded;
use crate::input::lines::RawLine;
use crate::kb::Kb;
use crate::parse::envelope::{self, Detached};
use crate::parse::message;
use crate::parse::normalize::normalize;

/// Bytes of input per batch: large enough that handing a batch between threads costs
/// little, small enough that the batches in flight stay well under a megabyte.
pub const BATCH: usize = 32 * 1024;

/// Whole lines of input, as read.
#[derive(Default)]
struct Batch {
    bytes: Vec<u8>,
    /// (line number, start, end, truncated) of each line in `bytes`.
    lines: Vec<(u64, u32, u32, bool)>,
}

/// A batch, prepared: the decoded text of its lines and each line's envelope and facts.
struct Prepared {
    text: String,
    lines: Vec<Line>,
}

struct Line {
    decoded: Decoded,
    start: u32,
    end: u32,
    env: Detached,
    facts: Facts,
    /// The line as given when normalising changed it (`text` then holds the normalised one).
    raw: Option<Box<str>>,
}

fn prepare(kb: &Kb, batch: &Batch) -> Prepared {
    let mut text = String::with_capacity(batch.bytes.len());
    let mut scratch = Vec::new();
    let mut spans = Vec::with_capacity(batch.lines.len());
    for &(no, a, b, truncated) in &batch.lines {
        let raw = RawLine { no, bytes: &batch.bytes[a as usize..b as usize], truncated, text: None };
        let (decoded_text, decoded) = Decoded::decode(&raw, &mut scratch);
        let start = text.len();
        let original = match normalize(&decoded_text) {
            std::borrow::Cow::Borrowed(_) => {
                text.push_str(&decoded_text);
                None
            }
            std::borrow::Cow::Owned(n) => {
                text.push_str(&n);
                Some(Box::from(&*decoded_text))
            }
        };
        spans.push((decoded, start, text.len(), original));
    }
    let lines = spans
        .into_iter()
        .map(|(decoded, a, b, raw)| {
            let line = &text[a..b];
            let env = envelope::parse(line);
            let msg = message::parse(&env.text);
            let facts = Facts::of(kb, raw.as_deref().unwrap_or(line), &env, &msg);
            // `text` is under 4 GiB: a batch holds one line of at most 64 KiB past BATCH.
            Line { decoded, start: a as u32, end: b as u32, env: env.detach(&text), facts, raw }
        })
        .collect();
    Prepared { text, lines }
}

/// Applies a prepared batch to the analyzer, in order.
fn apply(analyzer: &mut Analyzer<'_>, p: Prepared) {
    for l in p.lines {
        let line = match &l.raw {
            Some(r) => r,
            None => p.text.get(l.start as usize..l.end as usize).unwrap_or(""),
        };
        let env = l.env.attach(&p.text);
        analyzer.push_prepared(l.decoded, line, &env, l.facts);
    }
}

/// The running pipeline of one input. Lines go in with [`Pipeline::push`];
/// [`Pipeline::finish`] applies what is still in flight.
pub struct Pipeline<'scope> {
    to: Vec<SyncSender<Batch>>,
    from: Vec<Receiver<Prepared>>,
    /// Worker of each batch in flight, oldest first.
    in_flight: VecDeque<usize>,
    next: usize,
    batch: Batch,
    _handles: Vec<ScopedJoinHandle<'scope, ()>>,
}

impl<'scope> Pipeline<'scope> {
    /// Starts `workers` (at least one) preparing threads in `scope`.
    pub fn start<'env>(scope: &'scope Scope<'scope, 'env>, kb: &'env Kb, workers: usize) -> Pipeline<'scope> {
        let mut to = Vec::new();
        let mut from = Vec::new();
        let mut handles = Vec::new();
        for _ in 0..workers.max(1) {
            let (tx, rx) = sync_channel::<Batch>(1);
            let (done_tx, done_rx) = sync_channel::<Prepared>(1);
            handles.push(scope.spawn(move || {
                // Ends when the reading thread drops its sender (or stops listening).
                while let Ok(batch) = rx.recv() {
                    if done_tx.send(prepare(kb, &batch)).is_err() {
                        break;
                    }
                }
            }));
            to.push(tx);
            from.push(done_rx);
        }
        Pipeline { to, from, in_flight: VecDeque::new(), next: 0, batch: Batch::default(), _handles: handles }
    }

    /// Adds one line; a full batch goes to the next worker.
    pub fn push(&mut self, line: RawLine<'_>, analyzer: &mut Analyzer<'_>) {
        let start = self.batch.bytes.len() as u32;
        self.batch.bytes.extend_from_slice(line.bytes);
        self.batch.lines.push((line.no, start, self.batch.bytes.len() as u32, line.truncated));
        if self.batch.bytes.len() >= BATCH {
            self.dispatch(analyzer);
        }
    }

    fn dispatch(&mut self, analyzer: &mut Analyzer<'_>) {
        // Two batches per worker keep every worker busy; more would only hold memory.
        while self.in_flight.len() >= 2 * self.to.len() {
            self.collect_one(analyzer);
        }
        let batch = std::mem::take(&mut self.batch);
        let w = self.next;
        self.next = (self.next + 1) % self.to.len();
        match self.to[w].send(batch) {
            Ok(()) => self.in_flight.push_back(w),
            // A worker that is gone has panicked (and the process with it, panic=abort in
            // release); in a test build do the work here rather than lose lines.
            Err(e) => apply(analyzer, prepare(analyzer.kb(), &e.0)),
        }
    }

    fn collect_one(&mut self, analyzer: &mut Analyzer<'_>) {
        if let Some(w) = self.in_flight.pop_front() {
            if let Ok(p) = self.from[w].recv() {
                apply(analyzer, p);
            }
        }
    }

    /// Sends the last, partial batch and applies everything still in flight.
    pub fn finish(mut self, analyzer: &mut Analyzer<'_>) {
        if !self.batch.lines.is_empty() {
            self.dispatch(analyzer);
        }
        while !self.in_flight.is_empty() {
            self.collect_one(analyzer);
        }
        // Dropping the senders ends the workers; the scope joins them.
    }
}
