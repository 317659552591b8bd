//! `watch`: follows one or more containers' logs live through the analyzer and stops as
//! soon as the verdict is known.
//!
//! When it stops, per node:
//! * the boot sequence finished: at once;
//! * the boot failed (or the analyzer calls it stalled): when the container exits, or
//!   [`WatchOptions::settle`] after the failure line, whichever comes first, so the report
//!   holds the error and countdown lines that follow the failure;
//! * the container stopped and Docker does not restart it;
//! * no sequencer progress for the phase's stall timeout: `--stall-timeout`, else 5 minutes
//!   in `startEverything` (services pulling images and waiting for etcd and the API take
//!   minutes) and 2 minutes in any other phase (each takes seconds on a healthy node);
//! * `--timeout`: nodes still booting are reported as stalled;
//! * Ctrl-C: the report so far.
//!
//! A container that Docker restarts (restart policy) is followed into its next run: the
//! analyzer sees a new boot. Lines older than the container's current run (backlog of earlier
//! runs) are analysed but never end the watch by themselves.

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bollard::Docker;
use tokio::sync::mpsc;

use crate::input::lines::RawLine;
use crate::machine::Progress;
use crate::report::{Failure, Outcome, Report, State};

use super::facts::ContainerFacts;
use super::follow::{Msg, Start, follow};
use super::preflight::confirm;
use super::progress::{Display, Row, message_text};

/// Default stall timeout in `startEverything`.
pub const STALL_START_EVERYTHING: Duration = Duration::from_secs(5 * 60);
/// Default stall timeout in any other phase.
pub const STALL_DEFAULT: Duration = Duration::from_secs(2 * 60);
/// A node whose last line is older than this is caught up with its backlog.
const QUIET: Duration = Duration::from_millis(800);
/// Redraw and check interval.
const TICK: Duration = Duration::from_millis(250);

/// The analyzer as `watch` uses it: lines in, progress out, a report at any moment.
pub trait BootAnalyzer {
    /// Declares (or switches to) input `input`, whose lines belong to `node`.
    fn begin_input(&mut self, input: &str, node: &str);
    /// Feeds one line of the current input.
    fn push_line(&mut self, line: RawLine<'_>) -> Vec<Progress>;
    /// Current outcome of `node`.
    fn outcome(&self, node: &str) -> Outcome;
    /// The report so far.
    fn report(&self) -> Report;
    /// Declares `node` stalled (see [`crate::analyzer::Analyzer::declare_stall`]).
    fn declare_stall(&mut self, node: &str, reason: String);
}

/// Settings of one watch.
#[derive(Debug, Clone)]
pub struct WatchOptions {
    /// `--since`, Unix seconds.
    pub since: Option<i64>,
    /// `--tail N`.
    pub tail: Option<String>,
    /// `--timeout`: give up after this long.
    pub timeout: Option<Duration>,
    /// `--stall-timeout`: overrides the per-phase defaults.
    pub stall_timeout: Option<Duration>,
    /// How long to keep reading after a failure line when the container keeps running.
    pub settle: Duration,
    /// Redraw a live table (stderr is a terminal) instead of printing lines.
    pub live: bool,
    /// Terminal width.
    pub width: usize,
}

impl Default for WatchOptions {
    fn default() -> Self {
        WatchOptions {
            since: None,
            tail: None,
            timeout: None,
            stall_timeout: None,
            settle: Duration::from_secs(15),
            live: false,
            width: 100,
        }
    }
}

/// How the watch of a node ended.
#[derive(Debug, Clone, PartialEq)]
pub enum NodeEnd {
    /// The analyzer's verdict (succeeded, failed, stalled).
    Verdict,
    /// The container stopped before a verdict.
    Exited {
        /// Exit code.
        code: i64,
        /// OOM-killed.
        oom: bool,
    },
    /// No progress for too long.
    Stalled(String),
    /// Removed while watched.
    Removed,
    /// The Engine went away.
    Lost(String),
}

/// Why the whole watch ended.
#[derive(Debug, Clone, PartialEq)]
pub enum End {
    /// Every node has an end.
    Done,
    /// `--timeout` passed.
    Timeout,
    /// Ctrl-C.
    Interrupted,
}

/// Result of a watch: the report to print, the exit code, and a one-line message for stderr.
#[derive(Debug)]
pub struct WatchResult {
    /// Final (or partial) report.
    pub report: Report,
    /// Contract exit code.
    pub exit_code: u8,
    /// Why it ended, for stderr (removed container, lost daemon, timeout, Ctrl-C).
    pub message: Option<String>,
    /// Per-node end, in container order.
    pub ends: Vec<(String, Option<NodeEnd>)>,
    /// Docker restarts seen per node.
    pub restarts: BTreeMap<String, u32>,
}

struct Node {
    facts: ContainerFacts,
    input: String,
    row: Row,
    run_start: Option<i128>,
    last_progress: i128,
    phase: Option<String>,
    last_line: Instant,
    settle_since: Option<Instant>,
    end: Option<NodeEnd>,
    restarts: u32,
    running: bool,
}

fn now_ns() -> i128 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as i128)
}

fn fmt_dur(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 60 && s % 60 == 0 { format!("{}m", s / 60) } else { format!("{s}s") }
}

/// Stall timeout for a phase.
pub fn stall_timeout(phase: Option<&str>, overridden: Option<Duration>) -> Duration {
    overridden.unwrap_or(match phase {
        Some("startEverything") => STALL_START_EVERYTHING,
        _ => STALL_DEFAULT,
    })
}

/// Watches `containers` until each has a verdict (or the watch is cut short).
pub async fn watch(
    docker: &Docker,
    containers: Vec<ContainerFacts>,
    opts: &WatchOptions,
    analyzer: &mut dyn BootAnalyzer,
    progress_out: &mut dyn std::io::Write,
) -> WatchResult {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let start = Start { since: opts.since, tail: opts.tail.clone() };
    let mut nodes: Vec<Node> = Vec::new();
    let mut tasks = Vec::new();
    for (idx, facts) in containers.into_iter().enumerate() {
        tasks.push(tokio::spawn(follow(
            docker.clone(),
            idx,
            facts.clone(),
            start.clone(),
            tx.clone(),
        )));
        nodes.push(Node {
            input: format!("docker:{}", facts.name),
            row: Row {
                node: facts.name.clone(),
                phase: "waiting for logs".into(),
                ..Row::default()
            },
            run_start: None,
            last_progress: now_ns(),
            phase: None,
            last_line: Instant::now(),
            settle_since: None,
            end: None,
            restarts: 0,
            running: facts.running,
            facts,
        });
    }
    drop(tx);
    for n in &nodes {
        analyzer.begin_input(&n.input, &n.facts.name);
    }
    let mut current_input: Option<usize> = None;
    let mut display = Display::new(progress_out, opts.live, opts.width);
    let started = Instant::now();
    let deadline = opts.timeout.map(|t| tokio::time::Instant::now() + t);
    let mut tick = tokio::time::interval(TICK);
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let rows = |nodes: &[Node]| -> Vec<Row> { nodes.iter().map(|n| n.row.clone()).collect() };
    let end = loop {
        if nodes.iter().all(|n| n.end.is_some()) {
            break End::Done;
        }
        tokio::select! {
            msg = rx.recv() => {
                let Some(msg) = msg else {
                    // Every follower is gone; nodes without an end stopped silently.
                    for n in nodes.iter_mut().filter(|n| n.end.is_none()) {
                        n.end = Some(NodeEnd::Exited { code: n.facts.exit_code, oom: false });
                    }
                    continue;
                };
                handle(msg, &mut nodes, analyzer, &mut current_input, &mut display);
            }
            _ = tick.tick() => {
                check(&mut nodes, analyzer, opts);
                for n in nodes.iter_mut() {
                    if let Some(s) = n.run_start && n.end.is_none() {
                        let el = (now_ns() - s).max(0) as u64;
                        n.row.elapsed = Duration::from_nanos(el);
                    }
                }
                display.draw(&rows(&nodes));
            }
            _ = async { match deadline { Some(d) => tokio::time::sleep_until(d).await, None => std::future::pending().await } } => {
                break End::Timeout;
            }
            _ = &mut ctrl_c => break End::Interrupted,
        }
    };
    for t in &tasks {
        t.abort();
    }
    for n in nodes.iter_mut() {
        if n.end.is_some() {
            n.row.verdict = Some(verdict_word(analyzer.outcome(&n.facts.name), n.end.as_ref()));
        }
    }
    display.draw(&rows(&nodes));
    finish(nodes, analyzer, end, started.elapsed(), opts)
}

fn verdict_word(o: Outcome, end: Option<&NodeEnd>) -> String {
    match end {
        Some(NodeEnd::Removed) => "removed".into(),
        Some(NodeEnd::Lost(_)) => "daemon lost".into(),
        Some(NodeEnd::Stalled(_)) => "stalled".into(),
        Some(NodeEnd::Exited { .. }) if !matches!(o, Outcome::Succeeded | Outcome::Failed) => {
            "exited".into()
        }
        _ => o.as_str().into(),
    }
}

fn handle(
    msg: Msg,
    nodes: &mut [Node],
    analyzer: &mut dyn BootAnalyzer,
    current_input: &mut Option<usize>,
    display: &mut Display<'_>,
) {
    match msg {
        Msg::Line { idx, ts, no, bytes, truncated, current } => {
            if nodes[idx].end.is_some() {
                return;
            }
            if *current_input != Some(idx) {
                analyzer.begin_input(&nodes[idx].input, &nodes[idx].facts.name);
                *current_input = Some(idx);
            }
            let progress = analyzer.push_line(RawLine { no, bytes: &bytes, truncated, text: None });
            let n = &mut nodes[idx];
            n.last_line = Instant::now();
            let text = String::from_utf8_lossy(&bytes);
            n.row.last = crate::redact::redact(&message_text(&text)).into_owned();
            // A sequence that ends in failure is decisive: Talos stops there, so the verdict
            // needs no settle window (only reboot noise follows).
            let sequence_failed = progress
                .iter()
                .any(|p| matches!(p, Progress::SequenceFinished { state: State::Failed, .. }));
            for p in progress {
                on_progress(n, &p, ts, display);
            }
            if !current {
                return;
            }
            match analyzer.outcome(&n.facts.name) {
                Outcome::Succeeded => n.end = Some(NodeEnd::Verdict),
                Outcome::Failed if sequence_failed => n.end = Some(NodeEnd::Verdict),
                Outcome::Failed | Outcome::Stalled => {
                    n.settle_since.get_or_insert_with(Instant::now);
                }
                Outcome::Running | Outcome::Unknown => n.settle_since = None,
            }
        }
        Msg::Attached { idx, started_at } => {
            let n = &mut nodes[idx];
            n.run_start = started_at;
            n.running = true;
            if let Some(s) = started_at {
                n.last_progress = n.last_progress.max(s);
            }
        }
        Msg::Exited { idx, code, oom, restarting } => {
            let n = &mut nodes[idx];
            n.running = false;
            let how = if oom {
                format!("exited with code {code} (OOM-killed)")
            } else {
                format!("exited with code {code}")
            };
            let then = if restarting { "; Docker restarts it" } else { "" };
            let note = format!("container {how}{then}");
            n.row.phase = note.clone();
            let bad_or_done = matches!(
                analyzer.outcome(&n.facts.name),
                Outcome::Failed | Outcome::Stalled | Outcome::Succeeded
            );
            if bad_or_done {
                n.end = Some(NodeEnd::Verdict);
            } else if !restarting {
                n.end = Some(NodeEnd::Exited { code, oom });
            }
            let rows: Vec<Row> = nodes.iter().map(|n| n.row.clone()).collect();
            display.note(&nodes[idx].facts.name, &note, &rows);
        }
        Msg::Restarted { idx, restart_count } => {
            let n = &mut nodes[idx];
            n.restarts += 1;
            n.running = true;
            n.phase = None;
            n.settle_since = None;
            n.last_progress = now_ns();
            n.row.phase = "restarted".into();
            let note = format!(
                "container restarted by Docker (restart count {restart_count}): following the new boot"
            );
            let rows: Vec<Row> = nodes.iter().map(|n| n.row.clone()).collect();
            display.note(&nodes[idx].facts.name, &note, &rows);
        }
        Msg::Stopped { idx } => {
            let n = &mut nodes[idx];
            n.running = false;
            if n.end.is_none() {
                n.end = Some(match analyzer.outcome(&n.facts.name) {
                    Outcome::Failed | Outcome::Stalled | Outcome::Succeeded => NodeEnd::Verdict,
                    _ => NodeEnd::Exited { code: n.facts.exit_code, oom: false },
                });
            }
        }
        Msg::Removed { idx } => {
            let n = &mut nodes[idx];
            if n.end.is_none() || n.running {
                n.end = Some(NodeEnd::Removed);
            }
            let rows: Vec<Row> = nodes.iter().map(|n| n.row.clone()).collect();
            display.note(
                &nodes[idx].facts.name,
                "container was removed while being watched",
                &rows,
            );
        }
        Msg::Lost { idx, reason } => {
            let n = &mut nodes[idx];
            n.end = Some(NodeEnd::Lost(reason));
        }
    }
}

fn on_progress(n: &mut Node, p: &Progress, ts: Option<i128>, display: &mut Display<'_>) {
    let at = ts.unwrap_or_else(now_ns);
    let node = n.facts.name.clone();
    match p {
        Progress::Boot { n: boot, .. } => {
            n.row.boots = *boot;
            display.event(&node, &format!("boot #{boot} begins"));
        }
        Progress::SequenceStarted { name, phases, .. } => {
            n.row.phase = format!("{name} 0/{phases}");
            n.last_progress = at;
        }
        Progress::PhaseStarted { sequence, name, index, total, .. } => {
            n.row.phase = format!("{sequence} {index}/{total} {name}");
            n.phase = Some(name.clone());
            n.last_progress = at;
        }
        Progress::PhaseFinished { sequence, name, index, total, state, .. } => {
            n.phase = None;
            n.last_progress = at;
            display
                .event(&node, &format!("{sequence} {index}/{total} {name} {}", state_word(*state)));
        }
        Progress::SequenceFinished { name, state, .. } => {
            n.last_progress = at;
            n.row.phase = format!("{name} {}", state_word(*state));
            display.event(&node, &format!("{name} sequence {}", state_word(*state)));
        }
    }
}

fn state_word(s: State) -> &'static str {
    match s {
        State::Done => "done",
        State::Failed => "failed",
        State::Running => "running",
        State::Pending => "pending",
        State::Skipped => "skipped",
    }
}

/// Periodic checks: settle windows and stalls.
fn check(nodes: &mut [Node], analyzer: &dyn BootAnalyzer, opts: &WatchOptions) {
    for n in nodes.iter_mut().filter(|n| n.end.is_none()) {
        if let Some(since) = n.settle_since {
            if since.elapsed() >= opts.settle
                && matches!(analyzer.outcome(&n.facts.name), Outcome::Failed | Outcome::Stalled)
            {
                n.end = Some(NodeEnd::Verdict);
            }
            continue;
        }
        if !n.running || n.last_line.elapsed() < QUIET {
            continue;
        }
        let limit = stall_timeout(n.phase.as_deref(), opts.stall_timeout);
        let idle = Duration::from_nanos((now_ns() - n.last_progress).max(0) as u64);
        if idle >= limit {
            let where_ = match &n.phase {
                Some(p) => format!("in phase {p}"),
                None => "between phases".into(),
            };
            n.end = Some(NodeEnd::Stalled(format!(
                "no boot progress for {} {where_} (stall timeout {})",
                fmt_dur(idle),
                fmt_dur(limit)
            )));
        }
    }
}

fn finish(
    nodes: Vec<Node>,
    analyzer: &mut dyn BootAnalyzer,
    end: End,
    elapsed: Duration,
    opts: &WatchOptions,
) -> WatchResult {
    // Stalls only the watch can see go to the analyzer first, so that rules scoped to
    // stalled boots apply; the report below then shows them like any other stall.
    for n in &nodes {
        let reason = match (&n.end, &end) {
            (Some(NodeEnd::Stalled(reason)), _) => Some(reason.clone()),
            (None, End::Timeout) => {
                Some(format!("boot did not finish within --timeout {}", fmt_dur(elapsed)))
            }
            _ => None,
        };
        if let Some(reason) = reason {
            if matches!(analyzer.outcome(&n.facts.name), Outcome::Running | Outcome::Unknown) {
                analyzer.declare_stall(&n.facts.name, reason);
            }
        }
    }
    let mut report = analyzer.report();
    // `begin_input` runs at every switch between containers: list each input once.
    let mut seen = std::collections::HashSet::new();
    report.inputs.retain(|i| seen.insert(i.clone()));
    let mut message = None;
    let mut tool_error = false;
    for n in &nodes {
        let name = n.facts.name.as_str();
        let Some(nr) = report.nodes.iter_mut().find(|r| r.node == name) else { continue };
        let open = matches!(nr.outcome, Outcome::Running | Outcome::Unknown);
        let current_phase = || {
            nr.sequences.iter().rev().find(|s| s.state == State::Running).map(|s| {
                let p = s.phases.iter().rev().find(|p| p.state == State::Running);
                (
                    s.name.clone(),
                    p.map(|p| p.name.clone()),
                    p.map(|p| format!("{}/{}", p.index, s.phase_count.unwrap_or(0))),
                )
            })
        };
        match (&n.end, &end) {
            // Stalls (stall timeout, --timeout) were declared to the analyzer above and are
            // already in the report.
            (Some(NodeEnd::Exited { code, oom }), _) if open => {
                let cur = current_phase();
                let error = if *oom {
                    format!(
                        "container exited with code {code} (OOM-killed) before the boot finished"
                    )
                } else {
                    format!("container exited with code {code} before the boot finished")
                };
                nr.outcome = Outcome::Failed;
                if nr.failure.is_none() {
                    nr.failure = Some(Failure {
                        sequence: cur.as_ref().map_or_else(String::new, |c| c.0.clone()),
                        phase: cur.as_ref().and_then(|c| c.1.clone()),
                        phase_index: cur.and_then(|c| c.2),
                        task: None,
                        error: Some(error.clone()),
                        line: nr.lines,
                    });
                }
                report.warnings.push(format!("{name}: {error}"));
            }
            (Some(NodeEnd::Removed), _) => {
                tool_error = true;
                let m = format!("container `{name}` was removed while it was being watched");
                report.warnings.push(m.clone());
                message = Some(format!("{m}; the report is partial"));
            }
            (Some(NodeEnd::Lost(reason)), _) => {
                tool_error = true;
                let m = format!("lost the Docker Engine while watching `{name}`: {reason}");
                report.warnings.push(m.clone());
                message = Some(format!("{m}; the report is partial"));
            }
            _ => {}
        }
        if nr.outcome == Outcome::Failed && n.facts.restart_policy != "no" {
            report.warnings.push(format!(
                "{name}: restart policy `{}`: Docker restarts the container after a failed boot, \
                 so the failure repeats as a restart loop",
                n.facts.restart_policy
            ));
        }
        if n.restarts > 0 {
            report.warnings.push(format!(
                "{name}: Docker restarted the container {} time(s) while watched",
                n.restarts
            ));
        }
        confirm(&mut report, name, &n.facts);
    }
    report.outcome = report.nodes.iter().map(|n| n.outcome).max().unwrap_or(Outcome::Unknown);
    match end {
        End::Timeout => {
            let m = format!("stopped after --timeout {}", fmt_dur(opts.timeout.unwrap_or(elapsed)));
            report.warnings.push(m.clone());
            message.get_or_insert(m);
        }
        End::Interrupted => {
            report.warnings.push("interrupted: the report is partial".into());
            message.get_or_insert_with(|| "interrupted: the report is partial".into());
        }
        End::Done => {}
    }
    let exit_code = crate::exit::code_for_watch(&report, tool_error, end == End::Timeout);
    let restarts = nodes.iter().map(|n| (n.facts.name.clone(), n.restarts)).collect();
    let ends = nodes.into_iter().map(|n| (n.facts.name, n.end)).collect();
    WatchResult { report, exit_code, message, ends, restarts }
}

impl BootAnalyzer for crate::analyzer::Analyzer<'_> {
    fn begin_input(&mut self, input: &str, node: &str) {
        crate::analyzer::Analyzer::begin_input(self, input, Some(node));
    }

    fn push_line(&mut self, line: RawLine<'_>) -> Vec<Progress> {
        crate::analyzer::Analyzer::push_line(self, line)
    }

    fn outcome(&self, node: &str) -> Outcome {
        crate::analyzer::Analyzer::outcome(self, Some(node))
    }

    fn report(&self) -> Report {
        crate::analyzer::Analyzer::report(self)
    }

    fn declare_stall(&mut self, node: &str, reason: String) {
        crate::analyzer::Analyzer::declare_stall(self, node, reason);
    }
}
