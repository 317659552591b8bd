//! The analyzer: per-node state and the line loop.
//!
//! `Analyzer` ties the pipeline together for any number of inputs and nodes: each line is
//! decoded ([`crate::input::decode`]), its envelope and message parsed, its text's facts
//! looked up ([`crate::kb::facts`]), the node's state machine stepped and the rules matched.
//! Nothing of the input is kept but evidence, a little context around it, and bounded
//! per-node counters, so memory does not grow with the log. [`Analyzer::report`] hands what
//! was kept to [`crate::diagnosis`] and can be called at any time (live `watch`).

use std::collections::HashMap;

use crate::diagnosis::{Analysis, NodeView, TemplateEntry};
use crate::input::decode::Decoded;
use crate::input::lines::RawLine;
use crate::kb::Kb;
pub(crate) use crate::kb::facts::Facts;
use crate::kb::matcher::{LineCtx, NodeMatcher};
use crate::machine::Machine;
pub use crate::machine::Progress;
use crate::machine::inference::{ModeVotes, vote_mode};
use crate::parse::event::EventKind;
use crate::parse::normalize::normalize;
use crate::parse::{envelope, message, message::Message};
use crate::redact::scrub;
use crate::report::{ContextLine, Evidence, Outcome, Report, State, Stats};

mod kind;
pub(crate) mod repeat;
mod service_info;

use kind::{
    is_continuation, is_multi_error_item, kernel_early_boot, talos_vocabulary,
    talosctl_check_retry, talosctl_progress,
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

/// Nodes analyzed one by one; the lines of further node names are analyzed together as one
/// node ([`OTHER_NODES`]) with a counted warning, so that a log of a million node prefixes
/// stays within the memory cap (a node's state is a few KiB to a few hundred KiB).
pub const MAX_NODES: usize = 1000;
pub use crate::report::OTHER_NODES;

/// Most distinct error templates kept per node for unexplained failures.
const MAX_TEMPLATES: usize = 64;

#[derive(Debug)]
struct NodeState {
    machine: Machine,
    matcher: NodeMatcher,
    lines: u64,
    mode: ModeVotes,
    /// The last `context` lines, unredacted; their buffers are reused, so steady-state lines
    /// allocate nothing. Redaction happens when a snapshot becomes evidence.
    ring: Ring,
    after: Vec<(usize, usize, usize)>,
    templates: HashMap<String, TemplateEntry>,
    /// Templates belong to the current boot only.
    boot_of_templates: u32,
    /// First line of this boot that states a failure in Talos' words (see `failure_word`).
    failure_line: Option<u64>,
    /// Lines of this boot, before a failure line, whose whole text may be an error value a
    /// command exited on (at most [`MAX_ERROR_VALUES`], capped in length): the message
    /// catalogue decides at the end, and only when nothing else judged the node (see
    /// `diagnosis`), so a log that needs no such answer never loads the catalogue.
    error_values: Vec<ErrorValue>,
    /// Secrets that span lines (PEM blocks, a value under its key) in this node's stream.
    redactor: crate::redact::Redactor,
    /// First line of the record the last line belonged to (a record's continuation lines
    /// share it).
    record_head: u64,
    /// Records that ended in `context canceled` (at most [`MAX_CANCELLED`]): see
    /// [`is_continuation`].
    cancelled: Vec<u64>,
    /// Lines of the kernel's own start (see [`kernel_early_boot`]).
    early_kernel: u64,
    /// A `talosctl service` block being read: its events wait for its end
    /// (see [`service_info`]).
    svc_block: Option<Box<service_info::Block>>,
    /// The task a task-logger line last said was running, in a log without its sequence (a
    /// fragment): the lines after it happen during it until it or its phase ends.
    loose_task: Option<String>,
    /// The commands a shell traced in this stream (see [`Trace`]).
    trace: Option<Box<Trace>>,
}

/// A script's commands as its shell traces them (`set -x`: `+ talosctl bootstrap`) or a
/// transcript shows them (`$ talosctl bootstrap`), to tell a failure the script got past: a
/// command that failed, run again (a retry loop) and then followed by another command with no
/// failure in between, succeeded the last time; what its failed runs printed does not state the
/// node's failure.
#[derive(Debug, Default)]
struct Trace {
    /// The command running and the line that started it.
    cmd: String,
    start: u64,
    /// The last line that stated a failure (or may be an error value) while a traced
    /// command ran, whether or not an earlier one already decided the node's failure line.
    failed_at: u64,
    /// The last command that failed, and the line its first failed run started at.
    failed: Option<(String, u64)>,
}

/// The command of a shell's trace line or a transcript's prompt line, if `text` is one.
fn traced_command(text: &str) -> Option<&str> {
    // Under a Markdown quote or list marker as pasted (not `+ `, which is the trace's own).
    let mut t = text.trim_end();
    loop {
        let r = t.trim_start_matches([' ', '\t', '>']);
        let r = r.strip_prefix("- ").or_else(|| r.strip_prefix("* ")).unwrap_or(r);
        let r = r.strip_prefix("\u{2502} ").unwrap_or(r);
        if r.len() == t.len() {
            break;
        }
        t = r;
    }
    let cmd = match t.as_bytes().first()? {
        // bash/sh xtrace: `+ cmd`, nested `++ cmd`.
        b'+' => t.trim_start_matches('+').strip_prefix(' ')?,
        b'$' => t.strip_prefix("$ ")?,
        _ => return None,
    };
    let cmd = cmd.trim();
    (!cmd.is_empty() && cmd.len() <= 512).then_some(cmd)
}

impl NodeState {
    /// A traced command starts at `line` (see [`Trace`]).
    fn on_command(&mut self, line: u64, cmd: &str) {
        let t = self.trace.get_or_insert_with(Box::default);
        if t.start > 0 {
            let since = t.start;
            if t.failed_at > since {
                if t.failed.as_ref().is_none_or(|(c, _)| *c != t.cmd) {
                    t.failed = Some((std::mem::take(&mut t.cmd), since));
                }
            } else if let Some((_, first)) = t.failed.take_if(|(c, _)| *c == t.cmd) {
                // The failed command ran again and the script went on: its failed runs, from
                // the first to this one, are what the script got past.
                let (from, to) = (first, since);
                if self.failure_line.is_some_and(|l| l > from && l < to) {
                    self.failure_line = None;
                }
                self.error_values.retain(|v| v.line <= from || v.line >= to);
            }
        }
        t.cmd.clear();
        t.cmd.push_str(cmd);
        t.start = line;
    }
}

/// Cancelled records remembered per node; a log of nothing else keeps its first ones.
const MAX_CANCELLED: usize = 256;

/// Candidate error values kept per boot, and the longest text kept of one: the first few are
/// what a paste of a failed command holds; a long log has decided by other means.
const MAX_ERROR_VALUES: usize = 8;
/// The first lines of an input, where a paste of a few lines is read for Talos' error values.
pub(crate) const FRAGMENT_LINES: u64 = 6;
const MAX_ERROR_VALUE_TEXT: usize = 1024;

/// A line that may be an error value a command exited on (see `NodeState::error_values`).
#[derive(Debug)]
pub(crate) struct ErrorValue {
    pub(crate) line: u64,
    pub(crate) text: Box<str>,
    /// No error word on the line (`virtual (shared) IP is not allowed on non-controlplane
    /// nodes`, `expected a mapping node`): Talos' validators and decoders state many errors
    /// without one. Such a line counts only when the whole input is a paste of a few lines,
    /// whose every line is there for a reason; in a long log a wordless line is just output.
    pub(crate) quiet: bool,
}

/// Streaming analysis of one or more inputs.
pub struct Analyzer<'k> {
    kb: &'k Kb,
    opts: AnalyzeOptions,
    nodes: Vec<NodeState>,
    index: HashMap<String, usize>,
    last_node: Option<usize>,
    /// The current record is a Go multi-error (`1 error occurred:` then `\t* item` lines,
    /// hashicorp/go-multierror, which Talos' config validator and talosctl use).
    multi_error: bool,
    input: String,
    inputs: Vec<String>,
    /// The same names, to list each once in time independent of how many there are.
    input_set: std::collections::HashSet<String>,
    default_node: String,
    /// The node of `default_node`, once it has one: most lines carry no node name, and
    /// finding it by name cost a string compare on each of them.
    default_index: Option<usize>,
    stats: Stats,
    warnings: Vec<String>,
    /// Lines whose node name came after [`MAX_NODES`] others.
    overflow_lines: u64,
    /// The envelope, message and facts of an empty line, worked out once: they are always
    /// the same, and an input of nothing but blank lines (64 MiB of `\n`) is all such lines.
    blank: Option<(envelope::Envelope<'static>, Message<'static>, Facts)>,
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
            multi_error: false,
            input: "-".into(),
            inputs: Vec::new(),
            input_set: std::collections::HashSet::new(),
            default_node: "-".into(),
            default_index: None,
            stats: Stats::default(),
            warnings: Vec::new(),
            overflow_lines: 0,
            blank: None,
        }
    }

    /// Starts a new input: its name (shown with evidence when there are several) and the
    /// node its lines belong to when they carry no node prefix.
    pub fn begin_input(&mut self, name: &str, default_node: Option<&str>) {
        self.end_input();
        self.input = name.to_owned();
        // Live sources switch back and forth between inputs: list each once.
        if self.input_set.insert(name.to_owned()) {
            self.inputs.push(name.to_owned());
        }
        self.default_node = default_node.unwrap_or("-").to_owned();
        self.default_index = None;
    }

    /// Records a warning about the input (shown in the report).
    pub fn warn(&mut self, msg: String) {
        self.warnings.push(msg);
    }

    /// The warnings so far (printed before a fatal error, which ends the run without a report).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
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
        if self.nodes.len() >= MAX_NODES && name != OTHER_NODES {
            self.overflow_lines += 1;
            return self.node_index(OTHER_NODES);
        }
        self.nodes.push(NodeState {
            machine: Machine::new(name),
            matcher: NodeMatcher::default(),
            lines: 0,
            mode: ModeVotes::default(),
            ring: Ring::default(),
            after: Vec::new(),
            templates: HashMap::new(),
            boot_of_templates: 1,
            failure_line: None,
            error_values: Vec::new(),
            redactor: crate::redact::Redactor::default(),
            record_head: 0,
            cancelled: Vec::new(),
            early_kernel: 0,
            svc_block: None,
            loose_task: None,
            trace: None,
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
        if line.is_empty() {
            let (env, msg, facts) = self.blank.get_or_insert_with(|| blank_line(self.kb)).clone();
            return self.apply(no, line, &env, &msg, &facts);
        }
        let split = repeat::split(line);
        if let Some((time, text)) = split {
            // The memo's own facts, borrowed: a copy cost two atomic counts of its shared part.
            let kb = self.kb;
            let hit = repeat::with(kb, text, |facts, msg| {
                let env = repeat::plain_envelope(time, text);
                self.apply(no, line, &env, msg, facts)
            });
            if let Some(progress) = hit {
                return progress;
            }
        }
        // Rules and the grammar read the line as machined printed it; evidence shows it as given.
        let norm = normalize(line);
        let env = envelope::parse(&norm);
        let msg = message::parse(&env.text);
        let facts = Facts::of(self.kb, line, &env, &msg);
        if let Some(split) = split {
            repeat::put(self.kb, line, split, &norm, &env, &msg, &facts);
        }
        self.apply(no, line, &env, &msg, &facts)
    }

    /// Feeds one line whose envelope, message and [`Facts`] were worked out elsewhere
    /// (another thread, see [`crate::parallel`]): `decoded` tells how its text came from its
    /// bytes.
    pub(crate) fn push_prepared(
        &mut self,
        raw: Decoded,
        line: &str,
        env: &envelope::Envelope<'_>,
        msg: &Message<'_>,
        facts: &Facts,
    ) -> Vec<Progress> {
        self.count(raw);
        self.apply(raw.no, line, env, msg, facts)
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
        facts: &Facts,
    ) -> Vec<Progress> {
        let continuation = is_continuation(line);
        let ni = match (continuation, self.last_node, env.node) {
            (true, Some(i), _) => i,
            (_, _, Some(n)) => self.node_index(n),
            (_, _, None) => match self.default_index {
                Some(i) => {
                    self.last_node = Some(i);
                    i
                }
                None => {
                    let d = std::mem::take(&mut self.default_node);
                    let i = self.node_index(&d);
                    // Only a node of that name: past MAX_NODES each line is counted.
                    if self.nodes[i].machine.node == d {
                        self.default_index = Some(i);
                    }
                    self.default_node = d;
                    i
                }
            },
        };
        // `talosctl service` blocks list their events newest first: hold them until the block
        // ends, then feed them oldest first (see `service_info`).
        let mut block_field = false;
        let mut replayed = Vec::new();
        // Outside a block only an `ID` or `NODE` line matters (a block's start), so a line that
        // starts otherwise, most of them, need not be classified.
        let in_block = self.nodes[ni].svc_block.is_some();
        if in_block
            || (env.node.is_none()
                && (matches!(env.text.as_bytes().first(), Some(b'I' | b'N'))
                    || crate::memo::plain()))
        {
            use service_info::Part;
            let part = service_info::classify(&env.text);
            let block = &mut self.nodes[ni].svc_block;
            match (part, block.as_deref_mut()) {
                (Part::Event(state, msg), Some(b)) if b.events.len() < service_info::MAX_EVENTS => {
                    b.events.push((no, line.to_owned(), format!("{state}): {msg}")));
                    return Vec::new();
                }
                (Part::State(v), Some(b)) => {
                    b.state = Some((v.to_owned(), no, line.to_owned()));
                    block_field = true;
                }
                (Part::Health(v), Some(b)) => {
                    b.health = Some(v.to_owned());
                    block_field = true;
                }
                (Part::HealthMessage(v), Some(b)) => {
                    b.health_message = Some(v.to_owned());
                    block_field = true;
                }
                (Part::Id(id), _) if env.node.is_none() => {
                    replayed = self.flush_block(ni);
                    self.nodes[ni].svc_block = Some(Box::new(service_info::Block {
                        id: id.to_owned(),
                        ..Default::default()
                    }));
                    block_field = true;
                }
                (Part::Node, _) => {
                    replayed = self.flush_block(ni);
                    block_field = true;
                }
                (Part::Event(..), Some(_)) => {}
                (_, Some(_)) => replayed = self.flush_block(ni),
                (_, None) => {}
            }
        }
        let input = &self.input;
        let kb = self.kb;
        let redact_on = self.opts.redact;
        let ctx_n = self.opts.context;
        let early = kernel_early_boot(&env.text);
        if facts.unparsed && !continuation && !early && !block_field {
            self.stats.unparsed_lines += 1;
        }

        // An item of a multi-error states an error of its own: the head only counts them.
        // The marker is read on the line as given or, behind a console or kmsg stamp, on its
        // text; the item on its text (unescaped; a Markdown list marker may already be gone
        // from it). An item under a node is that node's answer to talosctl (`* 10.5.0.2: rpc
        // error: … not supported in container mode`), which a node may give on purpose. The
        // record is text, not a node's: its head and its node's items are on different nodes.
        let marked = self.multi_error
            && (is_multi_error_item(line) || env.text.trim_start().starts_with("* "));
        let item_marker = marked && env.node.is_none();
        if marked && env.node.is_some() {
            // The rest of this multi-error, nested items too, is that node's answer.
            self.multi_error = false;
        }
        if !continuation && !marked {
            let head = env.text.trim_end();
            // A retried error is not a failure yet (`retrying error: 1 error occurred:`).
            self.multi_error = multi_error_head(head) && !head.contains("retrying");
        }
        let st = &mut self.nodes[ni];
        st.lines += 1;
        if !continuation && !item_marker {
            st.record_head = no;
        }
        let multi_item = item_marker.then(|| {
            let t = env.text.trim();
            t.strip_prefix("* ").unwrap_or(t)
        });
        // Go's `context.Canceled` ends the error chain of an operation its caller stopped
        // (a service restarted by bootstrap or a config change, a node shutting down): the
        // record reports the stop, not a cause, wherever in the record it is said.
        if facts.canceled {
            let head = st.record_head;
            for l in [head, no] {
                if !st.cancelled.contains(&l) && st.cancelled.len() < MAX_CANCELLED {
                    st.cancelled.push(l);
                }
            }
            if head != no {
                st.machine.boot.health.withdraw(head);
                if st.failure_line == Some(head) {
                    st.failure_line = None;
                }
            }
        }
        let Facts { text: text_facts, template, redact_quiet, .. } = facts;
        let redact_quiet = *redact_quiet;
        let zap = text_facts.zap.as_ref();
        vote_mode(&mut st.mode, env, text_facts.platform.as_ref());
        let task_hint = env
            .task
            .map(|(n, idx)| (n, idx.split('/').next().and_then(|i| i.parse().ok()).unwrap_or(0)));
        let progress = st.machine.step(no, env.time, msg, task_hint);
        let started = match msg {
            Message::TaskStart { name, .. } | Message::TaskLog { name, .. } => Some(*name),
            Message::TaskDone { .. }
            | Message::TaskFailed { .. }
            | Message::PhaseStart { .. }
            | Message::PhaseDone { .. }
            | Message::PhaseFailed { .. }
            | Message::SequenceStart { .. }
            | Message::SequenceDone { .. }
            | Message::SequenceFailed { .. } => {
                st.loose_task = None;
                None
            }
            _ => env.task.map(|(name, _)| name),
        };
        if let Some(name) = started.filter(|n| st.loose_task.as_deref() != Some(*n)) {
            st.loose_task = Some(name.to_owned());
        }
        if let Some(sig) = &text_facts.signal {
            let component = zap.and_then(|z| z.controller.as_deref()).or(env.service.as_deref());
            st.machine.on_text_signal(no, sig, component, &env.text);
        }
        // Asked once a failure line is known only in a traced script (see `Trace`).
        let states_failure = (st.failure_line.is_none() || st.trace.is_some())
            && !block_field
            && (text_facts.failure_word
                || (text_facts.errorish_word
                    && (crate::health::states_os_error(&env.text)
                        // Not an item under a node of talosctl's multi-error (see there).
                        || (!continuation
                            && env.node.is_none()
                            && crate::health::states_grpc_failure(&env.text))))
                // A command's own exit error (not an item of a multi-error either).
                || (!continuation
                    && env.node.is_none()
                    && crate::health::states_cli_error(&env.text)))
            && (facts.event != EventKind::Kernel || crate::health::states_cobra_error(&env.text))
            && !talosctl_check_retry(&env.text)
            // machined writes all of its output to the kernel's log as `user: warning`, so
            // that level says nothing about the line.
            && (env.level.is_none_or(|l| l >= envelope::Level::Error) || env.facility == Some("user"));
        if st.failure_line.is_none() && states_failure {
            st.failure_line = Some(no);
        } else if let Some(item) = multi_item.filter(|i| {
            // A nested multi-error's head (`* unmount: 1 error(s) occurred:`) is judged by
            // its own items.
            st.failure_line.is_none()
                && !multi_error_head(i)
                && st.error_values.len() < MAX_ERROR_VALUES
                && i.len() <= MAX_ERROR_VALUE_TEXT
        }) {
            // An item states an error by construction (a multi-error holds nothing else);
            // its text tells the catalogue what printed it (the config validator, ...).
            st.failure_line = Some(no);
            st.error_values.push(ErrorValue { line: no, text: item.into(), quiet: false });
        } else if st.failure_line.is_none()
            // A wordless line only in a paste's first lines, and never one of the sequencer's
            // or a service's own lines (`boot sequence: done`): those are no error values, and
            // asking the catalogue about them would load it for every short paste.
            && (text_facts.errorish_word
                || (self.stats.lines <= FRAGMENT_LINES && matches!(msg, Message::Other)))
            && !continuation
            && !block_field
            && facts.event != EventKind::Kernel
            && zap.is_none()
            && env.service.is_none()
            && st.error_values.len() < MAX_ERROR_VALUES
            && env.text.len() <= MAX_ERROR_VALUE_TEXT
            && !talosctl_check_retry(&env.text)
        {
            let quiet = !text_facts.errorish_word;
            st.error_values.push(ErrorValue { line: no, text: env.text.as_ref().into(), quiet });
        }
        // A traced command's run failed if this line states a failure or may be an error value.
        if let Some(t) = st.trace.as_deref_mut() {
            if states_failure || st.error_values.last().is_some_and(|v| v.line == no) {
                t.failed_at = no;
            }
        }
        if let Some((controller, shape)) = &text_facts.controller_failure {
            st.machine.boot.health.on_controller_error(no, controller, shape, &env.text);
        }
        st.early_kernel += u64::from(early);
        if env.talos
            || early
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
            || (self.stats.talos_lines == 0
                && (talosctl_progress(&env.text)
                    || talos_vocabulary(&env.text)
                    // One of Talos' own error values, known to its message catalogue
                    // (`"" is not a valid DNS name`, an item of the validator's multi-error).
                    // Asked only of a paste's first lines that state an error: the catalogue
                    // costs a lookup a line and about 9 MiB once loaded, and a long file of
                    // other text would ask it on every line.
                    || (self.stats.lines <= FRAGMENT_LINES
                        && (multi_item.is_some() || text_facts.errorish_word)
                        && crate::diagnosis::is_error_value(&env.text))))
        {
            self.stats.talos_lines += 1;
        }
        if env.node.is_none() && !continuation {
            // On the line as given too: normalising takes `+ ` for a Markdown list marker.
            if let Some(cmd) = traced_command(line).or_else(|| traced_command(&env.text)) {
                st.on_command(no, cmd);
            }
        }
        if progress.iter().any(|p| matches!(p, Progress::Boot { .. })) {
            st.matcher.new_boot();
            st.templates.clear();
            st.boot_of_templates = st.machine.boots();
            st.failure_line = None;
            st.error_values.clear();
        }

        // Only the rules whose pattern the text hits read the scopes (`applies` and `captures`
        // in the matcher; `fire` does not): for a text that hits none, most lines, the running
        // sequence, phase and task need not be looked up.
        let scoped = !text_facts.matched.is_empty() || crate::memo::plain();
        let mut scopes = Scopes::default();
        if scoped {
            let service = match msg {
                Message::Service(s) => Some(s.name),
                _ => None,
            };
            let service = service.or(env.service.as_deref());
            let boot = &st.machine.boot;
            let seq = boot
                .sequences
                .iter()
                .rev()
                .find(|s| s.state == State::Running)
                .or(boot.sequences.last());
            let phase = seq.and_then(|s| {
                s.phases.iter().rev().find(|p| p.state == State::Running).or(s.phases.last())
            });
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
            scopes = Scopes {
                task: task_of_msg
                    .or(running_task)
                    .or(st.loose_task.as_deref().filter(|_| seq.is_none())),
                phase: phase.map(|p| p.name.as_str()).filter(|n| !n.is_empty()),
                sequence: seq.map(|s| s.name.as_str()).filter(|n| !n.is_empty()),
                service,
                controller: zap.and_then(|z| z.controller.as_deref()),
                level: env.level.map(|l| l.as_str()),
            };
        }
        let ctx = LineCtx {
            line: no,
            text: &env.text,
            event: facts.event,
            task: scopes.task,
            phase: scopes.phase,
            sequence: scopes.sequence,
            service: scopes.service,
            controller: scopes.controller,
            level: scopes.level,
            matched: &text_facts.matched,
            then_hits: &text_facts.then_hits,
            absent_hits: &text_facts.absent_hits,
        };

        // The line as shown in evidence, built once and only when some evidence needs it. A
        // line that is secret as a whole (inside a PEM block, a value under its key) shows as
        // redacted; the check runs on every line because the state spans lines.
        let secret =
            redact_on && !(redact_quiet && st.redactor.idle()) && st.redactor.line(&env.text);
        let mut shown: Option<String> = secret.then(crate::redact::whole_line);
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
                if let Some(ev) =
                    st.matcher.fired.get_mut(*fi).and_then(|f| f.evidence.get_mut(*ei))
                {
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
            match st.templates.get_mut(key) {
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
                    let entry = TemplateEntry { count: 1, first: ev, last_line: no };
                    st.templates.insert(key.clone(), entry);
                }
                None => {}
            }
        }

        if ctx_n > 0 {
            st.ring.push(no, if secret { crate::redact::REDACTED } else { line }, ctx_n);
        }
        if replayed.is_empty() {
            progress
        } else {
            replayed.extend(progress);
            replayed
        }
    }

    /// Feeds the held `talosctl service` block of node `ni`, oldest event first, as the
    /// runner's own lines; evidence shows the lines as given.
    fn flush_block(&mut self, ni: usize) -> Vec<Progress> {
        let Some(block) = self.nodes[ni].svc_block.take() else { return Vec::new() };
        let summary = block.state.as_ref().map(|(_, no, _)| *no);
        let mut out = Vec::new();
        for (no, given, text) in block.replay() {
            let env = envelope::parse(&text);
            let msg = message::parse(&env.text);
            let facts = Facts::of(self.kb, &text, &env, &msg);
            let talos_lines = self.stats.talos_lines;
            out.extend(self.apply(no, &given, &env, &msg, &facts));
            if Some(no) == summary {
                // The state now repeats the `STATE` line, which was counted when it was read.
                let st = &mut self.nodes[ni];
                st.lines = st.lines.saturating_sub(1);
                self.stats.talos_lines = talos_lines;
            }
        }
        out
    }

    /// Ends the current input: what waits for a later line (a `talosctl service` block's
    /// events) is fed now.
    pub fn end_input(&mut self) {
        for ni in 0..self.nodes.len() {
            self.flush_block(ni);
        }
        // A paste of a few lines with no error word and nothing else of Talos' in it
        // (`issuing CA or some accepted CAs are required`) is Talos' text when the message
        // catalogue knows a line as one of its error values; asked only now, of such tiny
        // inputs, since the catalogue is about 9 MiB to load.
        if self.stats.talos_lines == 0 && self.stats.lines <= FRAGMENT_LINES {
            let known = self
                .nodes
                .iter()
                .flat_map(|st| &st.error_values)
                .filter(|v| v.quiet && crate::diagnosis::is_error_value(&v.text))
                .count();
            self.stats.talos_lines += known as u64;
        }
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
            Some(&i) => self.analysis().outcome(i),
            None => Outcome::Unknown,
        }
    }

    /// The report as of now.
    pub fn report(&self) -> Report {
        self.analysis().report()
    }

    /// What diagnosis reads of the analysis so far.
    fn analysis(&self) -> Analysis<'_> {
        Analysis {
            kb: self.kb,
            redact: self.opts.redact,
            nodes: self
                .nodes
                .iter()
                .map(|st| NodeView {
                    machine: &st.machine,
                    fired: &st.matcher.fired,
                    mode: &st.mode,
                    templates: &st.templates,
                    failure_line: st.failure_line,
                    error_values: &st.error_values,
                    cancelled: &st.cancelled,
                    early_kernel: st.early_kernel,
                    lines: st.lines,
                })
                .collect(),
            stats: &self.stats,
            inputs: &self.inputs,
            warnings: &self.warnings,
            overflow: (self.overflow_lines > 0).then_some((self.overflow_lines, MAX_NODES)),
            dropped_sequences: self
                .nodes
                .iter()
                .map(|st| (st.machine.node.as_str(), st.machine.dropped_sequences()))
                .filter(|&(_, n)| n > 0)
                .collect(),
        }
    }

    /// Node names seen, in order of first appearance.
    pub fn node_names(&self) -> Vec<&str> {
        self.nodes.iter().map(|n| n.machine.node.as_str()).collect()
    }
}

/// What [`Analyzer::step`] works out for an empty line, before any state is consulted.
pub(super) fn blank_line(kb: &Kb) -> (envelope::Envelope<'static>, Message<'static>, Facts) {
    // Normalising leaves an empty line empty (a test compares with the full computation), so
    // the envelope can borrow the literal.
    let env = envelope::parse("");
    let msg = message::parse("");
    let facts = Facts::of(kb, "", &env, &msg);
    (env, msg, facts)
}

/// The scopes of a line for the rules ([`LineCtx`]'s), where they are looked up.
#[derive(Default)]
struct Scopes<'a> {
    task: Option<&'a str>,
    phase: Option<&'a str>,
    sequence: Option<&'a str>,
    service: Option<&'a str>,
    controller: Option<&'a str>,
    level: Option<&'a str>,
}

/// The head of a Go multi-error (`1 error occurred:`, `2 errors occurred:`); one suffix test
/// first, as every record's first line asks.
fn multi_error_head(head: &str) -> bool {
    // go-multierror before v1.1 wrote `1 error(s) occurred:`.
    head.ends_with("occurred:")
        && (head.ends_with("error occurred:")
            || head.ends_with("errors occurred:")
            || head.ends_with("error(s) occurred:"))
}

/// The last lines of a node, oldest first, in at most `cap` slots that are overwritten in
/// turn once all are there: each line's text is copied into the buffer of the line it
/// replaces (a double-ended queue moved the slot out and back in on every line).
#[derive(Debug, Default)]
struct Ring {
    slots: Vec<(u64, String)>,
    /// The oldest slot once all are there (0 before).
    start: usize,
}

impl Ring {
    /// Adds a line, dropping the oldest when `cap` are kept (`cap` is the same on every call).
    fn push(&mut self, no: u64, text: &str, cap: usize) {
        if self.slots.len() < cap {
            self.slots.push((no, text.to_owned()));
            return;
        }
        let Some(slot) = self.slots.get_mut(self.start) else { return };
        slot.0 = no;
        slot.1.clear();
        slot.1.push_str(text);
        self.start = if self.start + 1 == self.slots.len() { 0 } else { self.start + 1 };
    }

    /// The lines kept, oldest first.
    fn iter(&self) -> impl Iterator<Item = &(u64, String)> {
        let (newer, older) = self.slots.split_at(self.start);
        older.iter().chain(newer)
    }
}

/// Context lines for evidence, from the ring.
fn context_of(ring: &Ring, redact_on: bool) -> Vec<ContextLine> {
    ring.iter()
        .map(|(line, text)| ContextLine { line: *line, text: scrub(text, redact_on) })
        .collect()
}

/// A whole text analyzed as one input (`-`) under `kb`: the report (`rules test`, tests).
pub fn analyze_text(kb: &Kb, text: &str) -> Report {
    use crate::input::lines::{Flow, LineSplitter};
    let mut a = Analyzer::new(kb, AnalyzeOptions::default());
    a.begin_input("-", None);
    let mut s = LineSplitter::default();
    let mut sink = |l: RawLine<'_>| {
        a.push_line(l);
        Flow::Continue
    };
    s.push(text.as_bytes(), &mut sink);
    s.finish(&mut sink);
    a.end_input();
    a.report()
}

impl crate::input::Sink for Analyzer<'_> {
    fn begin_input(&mut self, name: &str, default_node: Option<&str>) {
        Analyzer::begin_input(self, name, default_node);
    }

    fn push_line(&mut self, line: RawLine<'_>) -> Vec<Progress> {
        Analyzer::push_line(self, line)
    }

    fn warn(&mut self, msg: String) {
        Analyzer::warn(self, msg);
    }

    fn lines(&self) -> u64 {
        Analyzer::lines(self)
    }

    fn end_input(&mut self) {
        Analyzer::end_input(self);
    }
}

#[cfg(test)]
mod tests;
