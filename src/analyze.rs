//! The analyzer: lines in, report out.
//!
//! `Analyzer` ties the pipeline together for any number of inputs and nodes: each line is
//! decoded (bytes first, lossy only when needed), its envelope and message parsed, the
//! node's state machine stepped and the rules matched. Nothing of the input is kept but
//! evidence, a little context around it, and bounded per-node counters, so memory does not
//! grow with the log. [`Analyzer::report`] can be called at any time (live `watch`).

use std::borrow::Cow;
use std::collections::HashMap;

use aho_corasick::AhoCorasick;
use regex::Regex;

use crate::fingerprint;
use crate::health::{self, TextSignal};
use crate::input::lines::RawLine;
use crate::kb::Kb;
use crate::kb::matcher::{self, LineCtx, NodeMatcher};
use crate::kb::rule::EventKind;
pub use crate::machine::Progress;
use crate::machine::{Boot, Machine};
use crate::parse::normalize::normalize;
use crate::parse::{envelope, message, message::Message};
use crate::phases::{self, Observed};
use crate::redact::redact;
use crate::report::{
    ContextLine, Evidence, Finding, Mode, NodeReport, Outcome, PhaseReport, Report, SCHEMA_VERSION,
    SequenceReport, Severity, State, Stats, TaskReport, Template, Tool, Unexplained,
};

/// Options of an analysis.
#[derive(Debug, Clone)]
pub struct AnalyzeOptions {
    /// Mask secrets in every text that leaves the analyzer (default on).
    pub redact: bool,
    /// Context lines before and after each evidence line.
    pub context: usize,
}

impl Default for AnalyzeOptions {
    fn default() -> Self {
        AnalyzeOptions { redact: true, context: 2 }
    }
}

/// A finding with its ranking keys: failure-point tier, rule priority, node order, first line.
type Ranked = (Finding, u8, i32, usize, u64);

/// Most distinct error templates kept per node for unexplained failures.
const MAX_TEMPLATES: usize = 64;

#[derive(Debug, Default)]
struct ModeVotes {
    container: u64,
    metal: u64,
    explicit: Option<(Mode, String)>,
    evidence: Vec<String>,
}

#[derive(Debug)]
struct TemplateEntry {
    count: u64,
    first: Evidence,
    last_line: u64,
}

#[derive(Debug)]
struct NodeState {
    machine: Machine,
    matcher: NodeMatcher,
    lines: u64,
    mode: ModeVotes,
    /// The last `context` lines, unredacted; their buffers are reused, so steady-state lines
    /// allocate nothing. Redaction happens when a snapshot becomes evidence.
    ring: std::collections::VecDeque<(u64, String)>,
    after: Vec<(usize, usize, usize)>,
    templates: HashMap<String, TemplateEntry>,
    /// Templates belong to the current boot only.
    boot_of_templates: u32,
    /// First line of this boot that states a failure in Talos' words (see `failure_word`).
    failure_line: Option<u64>,
}

/// The analyzer's own patterns, compiled once per process (clones share them): a
/// `watch --cluster`, `rules test` or a fuzzer creates many analyzers.
static STATIC: std::sync::LazyLock<(Regex, AhoCorasick, Regex)> = std::sync::LazyLock::new(|| {
    (
        // ASCII case folding: the words are ASCII, and Unicode folding tables cost memory.
        Regex::new(&format!("(?i-u){}", ERRORISH.join("|"))).expect("static regex"),
        AhoCorasick::builder().ascii_case_insensitive(true).build(ERRORISH).expect("static literals"),
        Regex::new(r#"(?:"platform": "|platform |"mode": ")([a-z][a-z0-9-]*)"#).expect("static regex"),
    )
});

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
    pub(crate) fn decode<'a>(raw: &RawLine<'a>, scratch: &'a mut Vec<u8>) -> (Cow<'a, str>, Decoded) {
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

/// What can be learnt from a line alone, before the analysis state is consulted: the
/// costly, state-free part of the work on a line (literal scans, rule prefilters, zap
/// fields, the error template). Computing it needs only the knowledge base, so it can be
/// done on another thread than the one that keeps the state.
#[derive(Debug, Clone)]
pub(crate) struct Facts {
    /// What the text alone decides, shared with every other line of the same text.
    text: std::sync::Arc<TextFacts>,
    event: EventKind,
    unparsed: bool,
    /// The masked template of an error-looking line.
    template: Option<String>,
}

impl Facts {
    pub(crate) fn of(kb: &Kb, line: &str, env: &envelope::Envelope<'_>, msg: &Message<'_>) -> Facts {
        let text = TextFacts::of(kb, &env.text);
        let (errorish_word, zap) = (text.errorish_word, text.zap.as_ref());
        let unparsed = !env.talos
            && env.time.is_none()
            && env.node.is_none()
            && !env.dialect.json
            && matches!(msg, Message::Other)
            && !line.trim().is_empty()
            && !envelope::is_bare_timestamp(line);
        let event = match msg {
            Message::TaskFailed { .. } => EventKind::TaskFailed,
            Message::PhaseFailed { .. } => EventKind::PhaseFailed,
            Message::SequenceFailed { .. }
            | Message::SequenceError { .. }
            | Message::FatalSequencer { .. } => EventKind::SequenceFailed,
            Message::Service(s) if s.state == "Failed" => EventKind::ServiceFailed,
            Message::Service(s) if s.text.contains("going to restart") => EventKind::ServiceRestarting,
            Message::Service(s) if s.text.starts_with("Waiting for") => EventKind::ServiceWaiting,
            Message::Service(_) => EventKind::Any,
            _ if zap.as_ref().is_some_and(|z| z.error.is_some() || z.msg.ends_with("failed")) => {
                EventKind::ControllerError
            }
            _ if matches!(text.signal, Some(TextSignal::Trouble(health::SignalKind::ClockJump, _))) => {
                EventKind::ClockJump
            }
            _ if !env.talos && (env.dialect.console || env.facility == Some("kern")) => EventKind::Kernel,
            _ => EventKind::Any,
        };
        let errorish = env.level.is_some_and(|l| l >= envelope::Level::Warn)
            || matches!(
                event,
                EventKind::TaskFailed
                    | EventKind::ServiceFailed
                    | EventKind::ServiceRestarting
                    | EventKind::ControllerError
            )
            || (errorish_word && !matches!(msg, Message::Service(_)));
        let template = (errorish
            && !matches!(
                msg,
                Message::PhaseFailed { .. }
                    | Message::SequenceFailed { .. }
                    | Message::RebootCountdown { .. }
            ))
        .then(|| fingerprint::mask_cached(&env.text));
        Facts { text, event, unparsed, template }
    }
}

/// What a line's text alone decides. Long logs repeat texts (health checks, waits, retry
/// loops print the same message under new timestamps), so the answers are memoised per
/// thread in a small direct-mapped table keyed by the text and the knowledge base.
#[derive(Debug, Clone, PartialEq, Default)]
struct TextFacts {
    /// Rules whose `match` pattern matches the text, ascending.
    matched: Box<[u32]>,
    /// An error word is on the line.
    errorish_word: bool,
    /// Only lines that pass the gate need zap's fields: rules read them (and a rule needs a
    /// literal), and a controller error has an `error` field or a `… failed` message, both
    /// gate words.
    zap: Option<message::Zap>,
    platform: Option<(Mode, String)>,
    /// Some `then` pattern may match the text (see [`Kb::prefilters`]).
    then_may: bool,
    /// Some `absent_after` pattern may match the text.
    absent_may: bool,
    /// What the text says about health (a panic, maintenance mode, …).
    signal: Option<TextSignal>,
    /// A controller's failed reconcile: the controller and its error with ids masked.
    controller_failure: Option<(Box<str>, Box<str>)>,
    /// The text states that something failed (`failed`, `failure`, Docker's `Error response
    /// from daemon`), as opposed to error words in a retry, a warning or a recovery.
    failure_word: bool,
}

/// Slots of the memo of texts the gate lets through (a filled slot holds its text and
/// answers, up to about 700 bytes: under 3 MiB when all are used), for texts of up to
/// [`MEMO_TEXT`] bytes. Since the digit-blind verdicts below turn most texts away first,
/// 4096 slots hit as often as 8192 did before them.
const MEMO_SLOTS: usize = 4096;
const MEMO_TEXT: usize = 512;
/// Slots of the digit-blind gate verdicts: one per distinct text shape, of which a log has
/// far fewer than texts (a slot is its text and a few words: under 2.5 MiB when all are
/// used, as on a log of nothing but distinct 500-byte texts).
const BLIND_SLOTS: usize = 4096;

type MemoSlot = Option<Box<(u64, Box<str>, std::sync::Arc<TextFacts>)>>;

/// A digit-blind text's gate verdict, under the knowledge base of that id, with its hash.
struct BlindSlot {
    kb: u64,
    hash: u64,
    text: Box<[u8]>,
    may: bool,
}

/// The per-thread memo of [`TextFacts::of`].
#[derive(Default)]
struct Memo {
    exact: Vec<MemoSlot>,
    blind: Vec<Option<BlindSlot>>,
    scratch: Vec<u8>,
    /// The facts of a text the gate turns away, shared by all such texts.
    empty: std::sync::Arc<TextFacts>,
}

impl TextFacts {
    fn of(kb: &Kb, text: &str) -> std::sync::Arc<TextFacts> {
        thread_local! {
            static MEMO: std::cell::RefCell<Memo> = std::cell::RefCell::new(Memo::default());
        }
        if text.len() > MEMO_TEXT {
            return std::sync::Arc::new(TextFacts::compute(kb, text));
        }
        MEMO.with(|m| {
            let m = &mut *m.borrow_mut();
            if m.exact.is_empty() {
                m.exact.resize(MEMO_SLOTS, None);
                m.blind.resize_with(BLIND_SLOTS, || None);
            }
            // Most lines of a long log hold nothing the rules or the analyzer's words look
            // for, and many differ from another such line only in their numbers: the gate's
            // digit-blind verdict, kept per text shape, turns them away first.
            crate::kb::digit_blind(text.as_bytes(), &mut m.scratch);
            let hash = fx_hash(&m.scratch);
            let slot = &mut m.blind[(hash as usize) % BLIND_SLOTS];
            let may = match slot {
                Some(b) if b.hash == hash && b.kb == kb.id && *b.text == *m.scratch => b.may,
                _ => {
                    let may = kb.gate.may_match_blind(&m.scratch);
                    *slot = Some(BlindSlot { kb: kb.id, hash, text: m.scratch.as_slice().into(), may });
                    may
                }
            };
            if !may {
                return std::sync::Arc::clone(&m.empty);
            }
            let slot = (fx_hash(text.as_bytes()) as usize) % MEMO_SLOTS;
            match &m.exact[slot] {
                Some(e) if e.0 == kb.id && *e.1 == *text => std::sync::Arc::clone(&e.2),
                _ => {
                    let f = std::sync::Arc::new(TextFacts::compute(kb, text));
                    m.exact[slot] = Some(Box::new((kb.id, text.into(), std::sync::Arc::clone(&f))));
                    f
                }
            }
        })
    }

    fn compute(kb: &Kb, text: &str) -> TextFacts {
        let (errorish_re, errorish_ac, platform_re) = &*STATIC;
        // One literal scan decides whether the word-based work below can find anything.
        let gate = kb.gate.may_match(text);
        if !gate {
            // Nothing the analyzer looks for: the default, as for the gate's digit-blind twin.
            return TextFacts::default();
        }
        let zap = if text.ends_with('}') { message::zap(text) } else { None };
        let controller_failure = zap.as_ref().and_then(|z| {
            let (c, e) = (z.controller.as_deref()?, z.error.as_deref()?);
            // Cancellation is what a stopping node does to every controller.
            (z.msg.ends_with("failed") && !e.contains("context canceled"))
                .then(|| (c.into(), fingerprint::mask_cached(e).into()))
        });
        TextFacts {
            matched: kb.matching(text).into(),
            errorish_word: is_errorish(errorish_ac, errorish_re, text),
            signal: health::classify(text),
            controller_failure,
            failure_word: failure_word(text),
            zap,
            platform: platform_named(text, platform_re),
            then_may: kb.prefilters[0].may_match(text),
            absent_may: kb.prefilters[1].may_match(text),
        }
    }
}

/// FxHash (rustc's hasher) over 8-byte words, in four independent lanes so that the
/// multiplications of a long text overlap instead of waiting on each other: the memo's key,
/// a few nanoseconds per line. Not collision-resistant, and need not be: a collision only
/// costs a recomputation.
fn fx_hash(bytes: &[u8]) -> u64 {
    const K: u64 = 0x517c_c1b7_2722_0a95;
    let word = |c: &[u8]| {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        u64::from_le_bytes(w)
    };
    let mut lanes = [bytes.len() as u64, 1, 2, 3];
    let mut blocks = bytes.chunks_exact(32);
    for b in &mut blocks {
        for (l, c) in lanes.iter_mut().zip(b.chunks_exact(8)) {
            *l = (l.rotate_left(5) ^ word(c)).wrapping_mul(K);
        }
    }
    let mut h = lanes.iter().fold(0u64, |h, &l| (h.rotate_left(5) ^ l).wrapping_mul(K));
    let mut chunks = blocks.remainder().chunks_exact(8);
    for c in &mut chunks {
        h = (h.rotate_left(5) ^ word(c)).wrapping_mul(K);
    }
    for &b in chunks.remainder() {
        h = (h.rotate_left(5) ^ u64::from(b)).wrapping_mul(K);
    }
    // The low bits of a product depend only on the low bits of its factors: fold the well
    // mixed high half down, as the slot index is taken from the low bits.
    h ^ (h >> 32)
}

/// Streaming analysis of one or more inputs.
pub struct Analyzer<'k> {
    kb: &'k Kb,
    opts: AnalyzeOptions,
    nodes: Vec<NodeState>,
    index: HashMap<String, usize>,
    last_node: Option<usize>,
    input: String,
    inputs: Vec<String>,
    default_node: String,
    stats: Stats,
    warnings: Vec<String>,
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

impl<'k> Analyzer<'k> {
    /// A new analysis with the given rules.
    pub fn new(kb: &'k Kb, opts: AnalyzeOptions) -> Self {
        Analyzer {
            kb,
            opts,
            nodes: Vec::new(),
            index: HashMap::new(),
            last_node: None,
            input: "-".into(),
            inputs: Vec::new(),
            default_node: "-".into(),
            stats: Stats::default(),
            warnings: Vec::new(),
        }
    }

    /// Starts a new input: its name (shown with evidence when there are several) and the
    /// node its lines belong to when they carry no node prefix.
    pub fn begin_input(&mut self, name: &str, default_node: Option<&str>) {
        self.input = name.to_owned();
        // Live sources switch back and forth between inputs: list each once.
        if !self.inputs.iter().any(|i| i == name) {
            self.inputs.push(name.to_owned());
        }
        self.default_node = default_node.unwrap_or("-").to_owned();
    }

    /// Records a warning about the input (shown in the report).
    pub fn warn(&mut self, msg: String) {
        self.warnings.push(msg);
    }

    /// The rules in use.
    pub fn kb(&self) -> &'k Kb {
        self.kb
    }

    /// Lines seen so far.
    pub fn lines(&self) -> u64 {
        self.stats.lines
    }

    fn node_index(&mut self, name: &str) -> usize {
        // Consecutive lines mostly come from the same node: skip the hash lookup.
        if let Some(i) = self.last_node.filter(|&i| self.nodes[i].machine.node == name) {
            return i;
        }
        if let Some(&i) = self.index.get(name) {
            self.last_node = Some(i);
            return i;
        }
        self.nodes.push(NodeState {
            machine: Machine::new(name),
            matcher: NodeMatcher::default(),
            lines: 0,
            mode: ModeVotes::default(),
            ring: std::collections::VecDeque::new(),
            after: Vec::new(),
            templates: HashMap::new(),
            boot_of_templates: 1,
            failure_line: None,
        });
        self.index.insert(name.to_owned(), self.nodes.len() - 1);
        self.last_node = Some(self.nodes.len() - 1);
        self.nodes.len() - 1
    }

    /// Feeds one line. Returns the boot progress it caused.
    pub fn push_line(&mut self, raw: RawLine<'_>) -> Vec<Progress> {
        let mut scratch = Vec::new();
        let (text, d) = Decoded::decode(&raw, &mut scratch);
        self.count(d);
        self.step(raw.no, &text)
    }

    fn step(&mut self, no: u64, line: &str) -> Vec<Progress> {
        // Rules and the grammar read the line as machined printed it; evidence shows it as given.
        let norm = normalize(line);
        let env = envelope::parse(&norm);
        let msg = message::parse(&env.text);
        let facts = Facts::of(self.kb, line, &env, &msg);
        self.apply(no, line, &env, &msg, facts)
    }

    /// Feeds one line whose [`Facts`] were worked out elsewhere (another thread, see
    /// [`crate::parallel`]): `decoded` tells how its text came from its bytes.
    pub(crate) fn push_prepared(
        &mut self,
        raw: Decoded,
        line: &str,
        env: &envelope::Envelope<'_>,
        facts: Facts,
    ) -> Vec<Progress> {
        self.count(raw);
        let msg = message::parse(&env.text);
        self.apply(raw.no, line, env, &msg, facts)
    }

    fn count(&mut self, raw: Decoded) {
        self.stats.lines += 1;
        self.stats.bytes += raw.len + 1;
        self.stats.truncated_lines += u64::from(raw.truncated);
        self.stats.ansi_lines += u64::from(raw.ansi);
        self.stats.invalid_utf8_lines += u64::from(raw.invalid_utf8);
    }

    /// Everything that depends on what came before: the node's state machine, rules that
    /// fire, context and templates.
    fn apply(
        &mut self,
        no: u64,
        line: &str,
        env: &envelope::Envelope<'_>,
        msg: &Message<'_>,
        facts: Facts,
    ) -> Vec<Progress> {
        let ni = match env.node {
            Some(n) => self.node_index(n),
            None => {
                let d = std::mem::take(&mut self.default_node);
                let i = self.node_index(&d);
                self.default_node = d;
                i
            }
        };
        let input = &self.input;
        let kb = self.kb;
        let redact_on = self.opts.redact;
        let ctx_n = self.opts.context;
        if facts.unparsed {
            self.stats.unparsed_lines += 1;
        }

        let st = &mut self.nodes[ni];
        st.lines += 1;
        let Facts { text: text_facts, template, .. } = facts;
        let zap = text_facts.zap.as_ref();
        vote_mode(&mut st.mode, env, text_facts.platform.as_ref());
        let task_hint =
            env.task.map(|(n, idx)| (n, idx.split('/').next().and_then(|i| i.parse().ok()).unwrap_or(0)));
        let progress = st.machine.step(no, env.time, msg, task_hint);
        if let Some(sig) = &text_facts.signal {
            let component = zap.and_then(|z| z.controller.as_deref()).or(env.service.as_deref());
            st.machine.on_text_signal(no, sig, component, &env.text);
        }
        if text_facts.failure_word
            && st.failure_line.is_none()
            && facts.event != EventKind::Kernel
            && env.level.is_none_or(|l| l >= envelope::Level::Error)
        {
            st.failure_line = Some(no);
        }
        if let Some((controller, shape)) = &text_facts.controller_failure {
            st.machine.boot.health.on_controller_error(no, controller, shape, &env.text);
        }
        if env.talos
            || !matches!(msg, Message::Other)
            || zap.is_some()
            || !text_facts.matched.is_empty()
            || env.service.is_some()
            || env.dialect.dmesg
            || env.dialect.console
            || env.time.is_some()
            || env.node.is_some()
            || env.dialect.json
            // Only until the first Talos line: after it the answer no longer matters.
            || (self.stats.talos_lines == 0 && (talosctl_progress(&env.text) || talos_vocabulary(&env.text)))
        {
            self.stats.talos_lines += 1;
        }
        if progress.iter().any(|p| matches!(p, Progress::Boot { .. })) {
            st.matcher.new_boot();
            st.templates.clear();
            st.boot_of_templates = st.machine.boots();
            st.failure_line = None;
        }

        let service = match msg {
            Message::Service(s) => Some(s.name),
            _ => None,
        };
        let service = service.or(env.service.as_deref());
        let boot = &st.machine.boot;
        let seq = boot.sequences.iter().rev().find(|s| s.state == State::Running).or(boot.sequences.last());
        let phase =
            seq.and_then(|s| s.phases.iter().rev().find(|p| p.state == State::Running).or(s.phases.last()));
        let task_of_msg = match msg {
            Message::TaskStart { name, .. }
            | Message::TaskDone { name, .. }
            | Message::TaskFailed { name, .. }
            | Message::TaskLog { name, .. } => Some(*name),
            _ => env.task.map(|(n, _)| n),
        };
        let running_task = phase.and_then(|p| {
            let mut it = p.tasks.iter().filter(|t| t.state == State::Running);
            match (it.next(), it.next()) {
                (Some(t), None) => Some(t.name.as_str()),
                _ => None,
            }
        });
        let ctx = LineCtx {
            line: no,
            text: &env.text,
            event: facts.event,
            task: task_of_msg.or(running_task),
            phase: phase.map(|p| p.name.as_str()).filter(|n| !n.is_empty()),
            sequence: seq.map(|s| s.name.as_str()).filter(|n| !n.is_empty()),
            service,
            controller: zap.and_then(|z| z.controller.as_deref()),
            level: env.level.map(|l| l.as_str()),
            matched: &text_facts.matched,
            then_may: text_facts.then_may,
            absent_may: text_facts.absent_may,
        };

        // The line as shown in evidence, built once and only when some evidence needs it.
        let mut shown: Option<String> = None;
        let mut display = || shown.get_or_insert_with(|| scrub(line, redact_on)).clone();
        let ring = &st.ring;
        let mut make_ev = || Evidence {
            line: no,
            text: display(),
            input: Some(input.clone()),
            before: context_of(ring, redact_on),
            after: Vec::new(),
        };
        let touched = st.matcher.on_line(kb, &ctx, &mut make_ev);

        // Context after earlier evidence.
        if !st.after.is_empty() {
            let text = display();
            st.after.retain_mut(|(fi, ei, left)| {
                if let Some(ev) = st.matcher.fired.get_mut(*fi).and_then(|f| f.evidence.get_mut(*ei)) {
                    if ev.line != no {
                        ev.after.push(ContextLine { line: no, text: text.clone() });
                        *left -= 1;
                    }
                }
                *left > 0
            });
        }
        for (fi, ei) in touched {
            if ctx_n > 0 {
                st.after.push((fi, ei, ctx_n));
            }
        }

        // Error-looking lines, for failures no rule explains.
        if let Some(key) = template {
            let full = st.templates.len() >= MAX_TEMPLATES;
            match st.templates.get_mut(&key) {
                Some(t) => {
                    t.count += 1;
                    t.last_line = no;
                }
                None if !full => {
                    let ev = Evidence {
                        line: no,
                        text: display(),
                        input: Some(input.clone()),
                        before: context_of(&st.ring, redact_on),
                        after: Vec::new(),
                    };
                    st.templates.insert(key, TemplateEntry { count: 1, first: ev, last_line: no });
                }
                None => {}
            }
        }

        if ctx_n > 0 {
            // The oldest slot is reused: its allocation holds the next line.
            let mut slot = if st.ring.len() >= ctx_n {
                st.ring.pop_front().unwrap_or_default()
            } else {
                (0, String::new())
            };
            slot.0 = no;
            slot.1.clear();
            slot.1.push_str(line);
            st.ring.push_back(slot);
        }
        progress
    }

    /// Declares the current boot of `node` stalled for a reason only the caller can see
    /// (live `watch`: no progress for the stall timeout, `--timeout`). Rules scoped with
    /// `when_outcome = ["stalled"]` then apply, as they do for stalls read from the log.
    pub fn declare_stall(&mut self, node: &str, reason: String) {
        if let Some(&i) = self.index.get(node) {
            self.nodes[i].machine.boot.declared_stall = Some(reason);
        }
    }

    /// Current outcome of a node (`None`: the anonymous/default node).
    pub fn outcome(&self, node: Option<&str>) -> Outcome {
        let name = node.unwrap_or("-");
        match self.index.get(name) {
            Some(&i) => self.node_report(i).0.outcome,
            None => Outcome::Unknown,
        }
    }

    /// Node names seen, in order of first appearance.
    pub fn node_names(&self) -> Vec<&str> {
        self.nodes.iter().map(|n| n.machine.node.as_str()).collect()
    }

    /// The report as of now.
    pub fn report(&self) -> Report {
        let mut nodes = Vec::new();
        let mut findings = Vec::new();
        let mut unexplained = Vec::new();
        for i in 0..self.nodes.len() {
            let (node, mut f, u) = self.node_report(i);
            nodes.push(node);
            findings.append(&mut f);
            unexplained.extend(u);
        }
        // Most likely root cause first (see rules/SCHEMA.md "Ranking").
        findings.sort_by(|a, b| {
            b.0.severity
                .cmp(&a.0.severity)
                .then(a.1.cmp(&b.1))
                .then(a.2.cmp(&b.2))
                .then(a.3.cmp(&b.3))
                .then(a.4.cmp(&b.4))
        });
        let mut findings: Vec<Finding> = findings.into_iter().map(|f| f.0).collect();
        // Evidence names its input only when there is more than one to tell apart.
        if self.inputs.len() <= 1 {
            for e in findings.iter_mut().flat_map(|f| f.evidence.iter_mut()) {
                e.input = None;
            }
            for e in unexplained.iter_mut().flat_map(|u| u.templates.iter_mut()) {
                e.example.input = None;
            }
        }
        let outcome = nodes.iter().map(|n| n.outcome).max().unwrap_or(Outcome::Unknown);
        Report {
            schema_version: SCHEMA_VERSION,
            tool: Tool::default(),
            outcome: if nodes.is_empty() { Outcome::Unknown } else { outcome },
            nodes,
            findings,
            stats: self.stats.clone(),
            inputs: self.inputs.clone(),
            unexplained,
            warnings: self.warnings.clone(),
        }
    }

    /// The boot to diagnose: the last one, unless it has not got anywhere while an
    /// earlier one failed or stalled (a restart loop caught mid-boot).
    fn diagnosed_boot(m: &Machine) -> (&Boot, Outcome, Option<crate::report::Stall>) {
        let (o, s) = Machine::outcome_of(&m.boot);
        if matches!(o, Outcome::Running | Outcome::Unknown) {
            if let Some(b) = m.earlier.iter().rev().find(|b| Machine::outcome_of(b).0.is_bad()) {
                let (o2, s2) = Machine::outcome_of(b);
                return (b, o2, s2);
            }
        }
        (&m.boot, o, s)
    }

    #[allow(clippy::type_complexity)]
    /// Masks secrets in log-derived text, unless redaction is off.
    fn scrub(&self, text: &str) -> String {
        if self.opts.redact { redact(text).into_owned() } else { text.to_owned() }
    }

    fn node_report(&self, i: usize) -> (NodeReport, Vec<Ranked>, Option<Unexplained>) {
        let st = &self.nodes[i];
        let m = &st.machine;
        let (boot, mut outcome, mut stall) = Self::diagnosed_boot(m);
        if let Some(reason) = m.reboot_loop() {
            if matches!(outcome, Outcome::Running | Outcome::Unknown) {
                outcome = Outcome::Stalled;
                stall = Some(crate::report::Stall {
                    sequence: None,
                    phase: None,
                    task: None,
                    reason,
                    line: Some(m.boot.first_line),
                });
            }
        }
        let (mode, mode_evidence) = decide_mode(&st.mode, boot);
        let (talos_version, version_evidence, names) = infer_version(m, boot, mode);
        let mut sequences: Vec<SequenceReport> = boot
            .sequences
            .iter()
            .map(|s| sequence_report(s, names.get(&s.name), mode == Mode::Container))
            .collect();
        for t in sequences.iter_mut().flat_map(|s| s.phases.iter_mut()).flat_map(|p| p.tasks.iter_mut()) {
            t.error = t.error.as_deref().map(|e| self.scrub(e));
        }
        let failure = Machine::failure(boot).map(|mut f| {
            f.error = f.error.map(|e| self.scrub(&e));
            // Fill the phase index `n/N` for failures known only from the handler line.
            if f.phase_index.as_deref().is_some_and(|p| !p.contains('/')) {
                if let Some(s) = boot.sequences.iter().find(|s| s.name == f.sequence) {
                    let n: u32 = f.phase_index.as_deref().and_then(|p| p.parse().ok()).unwrap_or(0);
                    if let Some(p) = s.phases.iter().find(|p| p.index == n) {
                        f.phase = Some(p.name.clone());
                    } else if let Some(name) = names.get(&s.name).and_then(|v| v.get(n as usize - 1)) {
                        f.phase = Some((*name).to_owned());
                    }
                    f.phase_index = Some(format!("{n}/{}", s.total.unwrap_or(0)));
                }
            }
            f
        });
        let base_outcome = outcome;
        let mut findings = Vec::new();
        let mut vars = std::collections::BTreeMap::new();
        vars.insert("node".to_owned(), m.node.clone());
        vars.insert("talos_version".to_owned(), talos_version.clone().unwrap_or_else(|| "unknown".into()));
        for fired in &st.matcher.fired {
            let rule = &self.kb.rules[fired.rule];
            if let Some(w) = &rule.spec.when_outcome {
                if !w.contains(&base_outcome) {
                    continue;
                }
            }
            let severity = matcher::severity(rule, fired);
            let mut v = vars.clone();
            // Captures are log text: mask secrets in them like in evidence.
            v.extend(fired.captures.iter().map(|(k, c)| (k.clone(), self.scrub(c))));
            let first = fired.evidence.first();
            let on_failure =
                failure.as_ref().is_some_and(|f| fired.evidence.iter().any(|e| e.line == f.line));
            let tier = if on_failure { 0 } else { 1 };
            let finding = Finding {
                id: rule.spec.id.clone(),
                category: rule.spec.category.clone(),
                severity,
                node: m.node.clone(),
                title: matcher::interpolate(&rule.spec.title, &v),
                root_cause: matcher::interpolate(rule.spec.root_cause.trim(), &v),
                remediation: rule.spec.remediation.iter().map(|r| matcher::interpolate(r, &v)).collect(),
                evidence: fired.evidence.clone(),
                references: rule.spec.references.clone(),
                fingerprint: fingerprint::fingerprint(&rule.spec.id, first.map_or("", |e| e.text.as_str())),
                fixed_in: rule.spec.fixed_in.clone(),
                occurrences: fired.occurrences,
                boots: fired.boots,
                recovered: fired.recovered,
            };
            findings.push((finding, tier, rule.spec.priority, i, first.map_or(0, |e| e.line)));
        }
        let explained = findings.iter().any(|f| f.0.severity == Severity::Error);
        // A paste with no boot in view, nothing shown healthy and no rule that knows its lines
        // (not even as benign noise), but error lines: people paste what went wrong.
        let up = boot.health.healthy_at.is_some() || boot.services.values().any(|s| s.state == "Running");
        if outcome == Outcome::Unknown && findings.is_empty() && !up {
            if let Some(l) = st.failure_line {
                outcome = Outcome::Failed;
                stall = Some(crate::report::Stall {
                    sequence: None,
                    phase: None,
                    task: None,
                    reason: format!("line {l} reports a failure and nothing shows the node healthy"),
                    line: Some(l),
                });
            }
        }
        if explained && !outcome.is_bad() {
            // A known failure after (or without) a visible boot: the node is not healthy.
            outcome = Outcome::Failed;
        }
        let unexplained = (outcome.is_bad() && !explained).then(|| {
            let anchor =
                failure.as_ref().map(|f| f.line).or(stall.as_ref().and_then(|s| s.line)).unwrap_or(u64::MAX);
            let mut ts: Vec<(&String, &TemplateEntry)> = st.templates.iter().collect();
            ts.sort_by_key(|(_, t)| {
                (t.first.line.abs_diff(anchor).min(t.last_line.abs_diff(anchor)), t.first.line)
            });
            Unexplained {
                node: m.node.clone(),
                templates: ts
                    .into_iter()
                    .take(8)
                    .map(|(k, t)| Template {
                        template: self.scrub(k),
                        count: t.count,
                        example: t.first.clone(),
                    })
                    .collect(),
            }
        });
        let earlier_boots = m
            .earlier
            .iter()
            .filter(|b| !b.sequences.is_empty() || b.failure.is_some())
            .map(|b| Machine::outcome_of(b).0)
            .collect();
        let node = NodeReport {
            node: m.node.clone(),
            talos_version,
            version_evidence,
            mode,
            mode_evidence,
            outcome,
            boots: m.boots(),
            earlier_boots,
            sequences,
            failure,
            stall,
            health: health_report(boot),
            lines: st.lines,
        };
        (node, findings, unexplained)
    }
}

/// talosctl's own progress lines (`cluster create`, `health`, `bootstrap`), which CI logs hold
/// around or instead of a node's log.
fn talosctl_progress(text: &str) -> bool {
    const STARTS: &[&str] = &[
        "waiting for ",
        "validating CIDR",
        "generating PKI",
        "creating network",
        "creating controlplane nodes",
        "creating master nodes",
        "creating worker nodes",
        "creating node",
        "bootstrapping cluster",
        "bootstrap error",
        "renamed talosconfig context",
        "merging kubeconfig",
        "downloading ghcr.io/",
        "downloading docker.io/",
    ];
    let t = text.trim_start_matches(['◰', '◱', '◲', '◳', ' ']);
    STARTS.iter().any(|s| t.starts_with(s))
}

/// A pasted line without any envelope is still Talos' when it names what Talos runs or does.
fn talos_vocabulary(text: &str) -> bool {
    const WORDS: &[&str] = &[
        "talos",
        "kubelet",
        "etcd",
        "containerd",
        "apid",
        "trustd",
        "machined",
        "kube",
        "cri",
        "docker",
        "daemon",
        "cluster",
        "controller",
        "service",
        "image",
        "registry",
        "install",
        "dhcp",
        "ntp",
        "x509",
        "mount",
        "volume",
        "partition",
        "container",
        "snapshot",
        "node",
        "link",
        "route",
    ];
    let lower = text.to_ascii_lowercase();
    WORDS.iter().any(|w| lower.contains(w))
}

/// Whether a text states a failure in the words Talos (and the Docker provisioner) use for
/// one. Error words alone are not enough: retries, warnings and recoveries use them too.
fn failure_word(text: &str) -> bool {
    let b = text.as_bytes();
    let has = |w: &[u8]| b.windows(w.len()).any(|x| x.eq_ignore_ascii_case(w));
    (has(b"fail") || has(b"Error response from daemon")) && !has(b"recovered") && !has(b"retrying")
}

/// The boot's signals for the report: open ones first (the verdict's), then recovered ones.
fn health_report(boot: &Boot) -> Vec<crate::report::HealthSignal> {
    let open: Vec<_> = boot.health.open().collect();
    let recovered = boot.health.signals.iter().filter(|s| s.recovered_at.is_some());
    open.iter()
        .copied()
        .map(|s| (s, "open"))
        .chain(recovered.map(|s| (s, "recovered")))
        .map(|(s, state)| crate::report::HealthSignal {
            kind: s.kind.as_str().to_owned(),
            // A controller's signal is keyed by its error's shape too; the name is enough here.
            component: s.component.split_once(": ").map_or(&*s.component, |(n, _)| n).to_owned(),
            line: s.first_line,
            count: s.count,
            state: state.to_owned(),
            reason: s.reason(),
        })
        .collect()
}

/// The words the analyzer looks for on every line, for the knowledge base's
/// [`Gate`](crate::kb::Gate): [`ERRORISH`] and what [`vote_mode`] looks for.
pub const GATE_WORDS: &[&[&str]] = &[ERRORISH, &["platform", "\"mode\""], health::SIGNAL_WORDS];

/// Words that make a line look like an error, matched case-insensitively.
const ERRORISH: &[&str] = &[
    "error",
    "fail",
    "panic",
    "fatal",
    "refused",
    "timeout",
    "timed out",
    "denied",
    "unable to",
    "cannot",
    "invalid",
    "no such",
    "not found",
    "unreachable",
    "oom",
];

/// `re` (`(?i)` over [`ERRORISH`]) answers like the ASCII-case-insensitive automaton on ASCII
/// text; only non-ASCII text, where Unicode case folding differs (`ſ` folds to `s`), needs
/// the regex.
fn is_errorish(ascii: &AhoCorasick, re: &Regex, text: &str) -> bool {
    if text.is_ascii() { ascii.is_match(text) } else { re.is_match(text) }
}

/// The text of a line as it leaves the analyzer.
fn scrub(line: &str, redact_on: bool) -> String {
    if redact_on { redact(line).into_owned() } else { line.to_owned() }
}

/// Context lines for evidence, from the ring.
fn context_of(ring: &std::collections::VecDeque<(u64, String)>, redact_on: bool) -> Vec<ContextLine> {
    ring.iter().map(|(line, text)| ContextLine { line: *line, text: scrub(text, redact_on) }).collect()
}

fn vote_mode(v: &mut ModeVotes, env: &envelope::Envelope<'_>, platform: Option<&(Mode, String)>) {
    if env.dialect.container_stamp {
        v.container += 1;
    }
    if env.talos && (env.dialect.console || env.dialect.dmesg) {
        v.metal += 1;
    }
    if env.initramfs {
        v.metal += 1;
    }
    if v.explicit.is_none() {
        v.explicit = platform.cloned();
    }
}

/// The platform a line names (`platform container`, `"platform": "metal"`), with the line as
/// evidence.
fn platform_named(text: &str, platform: &Regex) -> Option<(Mode, String)> {
    if !(text.contains("platform") || text.contains("\"mode\"")) {
        return None;
    }
    let c = platform.captures(text)?;
    let p = c.get(1).map_or("", |m| m.as_str());
    let mode = match p {
        "container" => Mode::Container,
        "metal" | "metal-agent" => Mode::Metal,
        "cloud" => Mode::Cloud,
        "information" | "via" | "is" | "config" => return None,
        _ => Mode::Cloud,
    };
    Some((mode, format!("platform `{p}` named in: {}", truncate(text, 120))))
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(n).collect();
        t.push('…');
        t
    }
}

fn decide_mode(v: &ModeVotes, boot: &Boot) -> (Mode, Vec<String>) {
    let mut ev = v.evidence.clone();
    if let Some((m, why)) = &v.explicit {
        ev.push(why.clone());
        return (*m, ev);
    }
    let metal_phase = boot
        .sequences
        .iter()
        .flat_map(|s| s.phases.iter())
        .find(|p| phases::METAL_ONLY_PHASES.contains(&p.name.as_str()));
    if v.container > 0 && v.container >= v.metal && metal_phase.is_none() {
        ev.push(format!(
            "{} lines carry Go's date after `[talos]`, which only container mode prints",
            v.container
        ));
        return (Mode::Container, ev);
    }
    if let Some(p) = metal_phase {
        ev.push(format!("phase `{}` runs only on metal/cloud", p.name));
        return (Mode::Metal, ev);
    }
    if v.metal > 0 {
        ev.push(format!("{} `[talos]` lines came through the kernel log (console/dmesg), which container mode does not use", v.metal));
        return (Mode::Metal, ev);
    }
    (Mode::Unknown, ev)
}

type Names = HashMap<String, Vec<&'static str>>;

/// A version ordering key `(major, minor, patch)`.
type Key = (u32, u32, u32);

fn infer_version(m: &Machine, boot: &Boot, mode: Mode) -> (Option<String>, Vec<String>, Names) {
    let mut evidence = Vec::new();
    let mut names: Names = HashMap::new();
    let list_mode = match mode {
        Mode::Container => Some(Mode::Container),
        Mode::Metal | Mode::Cloud => Some(Mode::Metal),
        Mode::Unknown => None,
    };
    let mut span: Option<(Key, Key)> = None;
    for s in &boot.sequences {
        if s.name.is_empty() {
            continue;
        }
        let total = s.total.or_else(|| s.phases.iter().find(|p| p.index > 0).and(None));
        let obs = Observed {
            sequence: &s.name,
            total,
            seen: s
                .phases
                .iter()
                .filter(|p| p.index > 0 && !p.name.is_empty())
                .map(|p| (p.index, p.name.as_str()))
                .collect(),
        };
        if obs.total.is_none() && obs.seen.is_empty() {
            continue;
        }
        let cands = phases::candidates(&obs, list_mode);
        if let Some(n) = total.and_then(|t| phases::expected_names(&cands, t)) {
            names.insert(s.name.clone(), n);
        }
        let Some(r) = phases::range(&cands) else { continue };
        let from = cands.iter().map(|l| l.from).min().unwrap_or_default();
        let to = cands.iter().map(|l| l.to).max().unwrap_or_default();
        let first = obs
            .seen
            .iter()
            .min_by_key(|(i, _)| *i)
            .map(|(i, n)| format!(", phase {i} `{n}`"))
            .unwrap_or_default();
        evidence.push(format!(
            "{} sequence: {} phases{first} → {r}",
            s.name,
            total.map_or("?".into(), |t| t.to_string())
        ));
        span = Some(match span {
            None => (from, to),
            Some((f, t)) if from.max(f) <= to.min(t) => (from.max(f), to.min(t)),
            Some(prev) => prev,
        });
    }
    // Tasks that exist only in some releases narrow the range further.
    for s in &boot.sequences {
        for p in &s.phases {
            for t in &p.tasks {
                let Some((_, from, to)) = phases::TASK_VERSIONS.iter().find(|(n, _, _)| *n == t.name) else {
                    continue;
                };
                let Some((f, tt)) = span else { continue };
                let (nf, nt) = (f.max(*from), tt.min(*to));
                if nf <= nt && (nf, nt) != (f, tt) {
                    span = Some((nf, nt));
                    let l = phases::PhaseList {
                        versions: "",
                        from: *from,
                        to: *to,
                        mode: Mode::Unknown,
                        sequence: "",
                        phases: &[],
                        count: 0,
                    };
                    evidence.push(format!(
                        "task `{}` exists only in {}",
                        t.name,
                        phases::range(&[&l]).unwrap_or_default()
                    ));
                }
            }
        }
    }
    if let Some((v, line)) = &m.banner_version {
        evidence.insert(0, format!("initramfs banner `booting Talos {v}` at line {line}"));
        return (Some(v.clone()), evidence, names);
    }
    let version = span.map(|(from, to)| {
        let l = phases::PhaseList {
            versions: "",
            from,
            to,
            mode: Mode::Unknown,
            sequence: "",
            phases: &[],
            count: 0,
        };
        phases::range(&[&l]).unwrap_or_default()
    });
    (version, evidence, names)
}

fn sequence_report(
    s: &crate::machine::Sequence,
    names: Option<&Vec<&'static str>>,
    container: bool,
) -> SequenceReport {
    let mut phases: Vec<PhaseReport> = s
        .phases
        .iter()
        .map(|p| PhaseReport {
            name: if p.name.is_empty() { "(unnamed)".into() } else { p.name.clone() },
            index: p.index,
            state: p.state,
            duration_ms: p.duration_ms,
            tasks: p
                .tasks
                .iter()
                .map(|t| TaskReport {
                    name: t.name.clone(),
                    index: t.index,
                    count: t.count.max(1),
                    state: t.state,
                    error: t.error.clone(),
                    line: Some(t.line),
                    duration_ms: t.duration_ms,
                })
                .collect(),
            line: p.line,
            inferred: false,
        })
        .collect();
    if let Some(names) = names {
        for p in phases.iter_mut().filter(|p| p.index == 0) {
            if let Some(i) = names.iter().position(|n| *n == p.name) {
                p.index = i as u32 + 1;
            }
        }
    }
    if let Some(total) = s.total {
        let max_seen = phases.iter().map(|p| p.index).max().unwrap_or(0);
        let stopped = matches!(s.state, State::Failed | State::Running);
        for idx in 1..=total {
            if phases.iter().any(|p| p.index == idx) {
                continue;
            }
            let name = names.and_then(|n| n.get(idx as usize - 1)).map(|n| (*n).to_owned());
            // Only metal initialize has deferred phases that really skip (reference §1.1);
            // elsewhere a gap below a later phase is an excerpt: the phase ran.
            let state = if idx < max_seen && s.name == "initialize" && !container {
                State::Skipped
            } else if idx < max_seen {
                State::Done
            } else if stopped || s.state == State::Done {
                State::Pending
            } else {
                continue;
            };
            // Phases never reached are listed only when their names are known.
            if let Some(name) = name {
                phases.push(PhaseReport {
                    name,
                    index: idx,
                    state,
                    duration_ms: None,
                    tasks: Vec::new(),
                    line: None,
                    inferred: state == State::Done,
                });
            }
        }
    }
    phases.sort_by_key(|p| p.index);
    SequenceReport {
        name: s.name.clone(),
        state: s.state,
        phase_count: s.total,
        duration_ms: s.duration_ms,
        phases,
        line: s.line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The memo answers as the computation does, per knowledge base, also when texts
    /// collide in a slot and evict each other.
    #[test]
    fn memoised_text_facts_equal_computed_ones() {
        let full = Kb::builtin();
        let one = full.only(&["TD-CTR-001"]);
        let mut texts = Vec::new();
        for line in crate::test_support::fixture_lines() {
            let text = envelope::parse(&line).text.into_owned();
            // Texts that differ only in their digits share a digit-blind verdict: each
            // variant must still get its own answers (`k8s` is a literal, `k3s` is not).
            let shifted = crate::test_support::with_digits(&text, |d| (d + 3) % 10);
            let sevens = crate::test_support::with_digits(&text, |_| 7);
            texts.extend([text, shifted, sevens]);
        }
        // Rule literals with digits (`x509: `, `ext4-fs error`), after a text of the same
        // digit-blind shape that holds none.
        for t in
            ["x123: certificate signed by unknown authority", "x509: certificate signed by unknown authority"]
        {
            texts.push(t.into());
        }
        for t in ["EXT2-fs error (device sda1): bad block", "EXT4-fs error (device sda1): bad block"] {
            texts.push(t.into());
        }
        assert!(texts.len() > 1000);
        for round in 0..2 {
            for kb in [&full, &one] {
                for t in &texts {
                    assert_eq!(*TextFacts::of(kb, t), TextFacts::compute(kb, t), "round {round}: {t}");
                }
            }
        }
    }

    /// Literal candidates then each candidate's regex give what the whole set gives, on
    /// every fixture line, ASCII or not.
    #[test]
    fn candidate_rules_equal_the_set() {
        let kb = Kb::builtin();
        let set = regex::RegexSet::new(kb.rules.iter().map(|r| r.spec.pattern.as_str())).expect("set");
        let (mut n, mut then, mut absent) = (0, 0, 0);
        for line in crate::test_support::fixture_lines() {
            let text = envelope::parse(&line).text.into_owned();
            // Also a Unicode case variant: `ſ` folds to `s` under `(?i)`.
            for t in [text.clone(), text.replace('s', "ſ")] {
                let want: Vec<u32> = set.matches(&t).iter().map(|i| i as u32).collect();
                assert_eq!(kb.matching(&t), want, "{t}");
                n += usize::from(!want.is_empty());
                // The `then`/`absent_after` sets run only where the text's facts allow.
                let facts = TextFacts::compute(&kb, &t);
                if kb.then_set.is_match(&t) {
                    assert!(facts.then_may, "then: {t}");
                    then += 1;
                }
                if kb.absent_set.is_match(&t) {
                    assert!(facts.absent_may, "absent_after: {t}");
                    absent += 1;
                }
            }
        }
        assert!(n > 50, "only {n} matching lines");
        assert!(then > 0 && absent > 0, "then {then}, absent_after {absent}: the fixtures test nothing");
    }
}
