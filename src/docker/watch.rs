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
//! * `--timeout`: nodes still booting are reported as stalled, and so is a container that
//!   printed nothing or was never started;
//! * a restart loop: [`RESTART_LOOP`] runs in a row ended before the boot did (silent ones
//!   too), as Docker's restart count shows it;
//! * Ctrl-C: the report so far.
//!
//! In `watch` the container is the node: a talosctl or compose node prefix on its lines
//! (`192.168.77.151: user: …`) is dropped before the analyzer sees them. A stall measured in
//! the log's own time is believed only while the log's clock runs with the wall clock (see
//! [`super::line::Clock`]); after a jump, stalls are measured in wall time.
//!
//! A container that Docker restarts (restart policy) is followed into its next run: the
//! analyzer sees a new boot. Lines older than the container's current run (backlog of earlier
//! runs) are analysed but never end the watch by themselves.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bollard::Docker;
use tokio::sync::mpsc;

use crate::input::lines::RawLine;
use crate::machine::Progress;
use crate::report::{Outcome, Report, State};

use super::facts::ContainerFacts;
use super::follow::{Msg, Start, follow};
use super::line::{Clock, look};
use super::progress::{Display, Row};

/// Default stall timeout in `startEverything`.
pub(crate) const STALL_START_EVERYTHING: Duration = Duration::from_secs(5 * 60);
/// Default stall timeout in any other phase.
pub(crate) const STALL_DEFAULT: Duration = Duration::from_secs(2 * 60);
/// A node whose last line is older than this is caught up with its backlog.
const QUIET: Duration = Duration::from_millis(800);
/// Redraw and check interval.
const TICK: Duration = Duration::from_millis(250);
/// Runs in a row that ended before the boot did: a restart loop, which ends the watch.
pub(crate) const RESTART_LOOP: i64 = 3;
/// The analyzer's words for a stall measured in the log's own time (`machine::verdict`).
pub(crate) const LOG_TIME_STALL: &str = "of log time";

/// The analyzer as `watch` uses it: lines in, progress out, a report at any moment.
pub(crate) trait BootAnalyzer {
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
    /// Why `node` is stalled, when it is.
    fn stall_reason(&self, node: &str) -> Option<String> {
        let report = self.report();
        report.nodes.into_iter().find(|n| n.node == node)?.stall.map(|s| s.reason)
    }
}

/// Settings of one watch.
#[derive(Debug, Clone)]
pub(crate) struct WatchOptions {
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
pub(crate) enum NodeEnd {
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
    /// Docker restarts the container again and again and no run finishes the boot.
    RestartLoop {
        /// Runs that ended before the boot did.
        runs: i64,
        /// Exit code of the last one, when the watch saw it exit.
        code: Option<i64>,
    },
    /// Removed while watched.
    Removed,
    /// The Engine went away.
    Lost(String),
}

/// Why the whole watch ended.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum End {
    /// Every node has an end.
    Done,
    /// `--timeout` passed.
    Timeout,
    /// Ctrl-C.
    Interrupted,
}

/// Result of a watch: the report to print, the exit code, and a one-line message for stderr.
#[derive(Debug)]
pub(crate) struct WatchResult {
    /// Final (or partial) report.
    pub report: Report,
    /// Contract exit code.
    pub exit_code: u8,
    /// Why it ended, for stderr (removed container, lost daemon, timeout, Ctrl-C).
    pub message: Option<String>,
}

pub(crate) struct Node {
    pub(crate) facts: ContainerFacts,
    input: String,
    row: Row,
    run_start: Option<i128>,
    last_progress: i128,
    phase: Option<String>,
    last_line: Instant,
    settle_since: Option<Instant>,
    pub(crate) end: Option<NodeEnd>,
    pub(crate) restarts: u32,
    running: bool,
    /// What the follower said it waits for (`docker start`), until the first run.
    pub(crate) waiting: Option<String>,
    /// The log's clock in the current run.
    pub(crate) clock: Clock,
    /// Exit code of the last run the watch saw end.
    last_exit: Option<(i64, bool)>,
}

impl Node {
    /// The analyzer's outcome, except that a stall measured in the log's time is not
    /// believed after the log's clock jumped: the boot is then still running, and only the
    /// watch's own (wall-clock) stall check can call it stalled.
    pub(crate) fn judged(&self, analyzer: &dyn BootAnalyzer) -> Outcome {
        let o = analyzer.outcome(&self.facts.name);
        if o == Outcome::Stalled && self.log_time_stall(analyzer) { Outcome::Running } else { o }
    }

    /// The analyzer calls the node stalled in the log's time, and the log's clock jumped.
    pub(crate) fn log_time_stall(&self, analyzer: &dyn BootAnalyzer) -> bool {
        self.clock.jump.is_some()
            && analyzer.stall_reason(&self.facts.name).is_some_and(|r| r.contains(LOG_TIME_STALL))
    }
}

fn now_ns() -> i128 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as i128)
}

pub(crate) fn fmt_dur(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 60 && s % 60 == 0 { format!("{}m", s / 60) } else { format!("{s}s") }
}

/// Stall timeout for a phase.
pub(crate) fn stall_timeout(phase: Option<&str>, overridden: Option<Duration>) -> Duration {
    overridden.unwrap_or(match phase {
        Some("startEverything") => STALL_START_EVERYTHING,
        _ => STALL_DEFAULT,
    })
}

/// Watches `containers` until each has a verdict (or the watch is cut short).
pub(crate) async fn watch(
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
            waiting: None,
            clock: Clock::default(),
            last_exit: None,
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
                check(&mut nodes, &*analyzer, opts);
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
            n.row.verdict = Some(verdict_word(n.judged(&*analyzer), n.end.as_ref()));
        }
    }
    display.draw(&rows(&nodes));
    super::conclude::finish(nodes, analyzer, end, started.elapsed(), opts)
}

fn verdict_word(o: Outcome, end: Option<&NodeEnd>) -> String {
    match end {
        Some(NodeEnd::Removed) => "removed".into(),
        Some(NodeEnd::Lost(_)) => "daemon lost".into(),
        Some(NodeEnd::Stalled(_)) => "stalled".into(),
        Some(NodeEnd::RestartLoop { .. }) => "restart loop".into(),
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
            // In watch the container is the node: a node prefix on its lines is dropped.
            let seen = look(&bytes);
            let body = RawLine { no, bytes: &bytes[seen.prefix..], truncated, text: None };
            let progress = analyzer.push_line(body);
            let n = &mut nodes[idx];
            n.last_line = Instant::now();
            n.row.last = crate::redact::redact(&seen.message).into_owned();
            if let (Some(log), Some(wall)) = (seen.log_time, ts) {
                n.clock.observe(log, wall, no);
            }
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
            match n.judged(&*analyzer) {
                Outcome::Succeeded => n.end = Some(NodeEnd::Verdict),
                Outcome::Failed if sequence_failed => n.end = Some(NodeEnd::Verdict),
                Outcome::Failed | Outcome::Stalled => {
                    n.settle_since.get_or_insert_with(Instant::now);
                }
                Outcome::Running | Outcome::Unknown => n.settle_since = None,
            }
        }
        Msg::Waiting { idx, what } => {
            let n = &mut nodes[idx];
            n.row.phase = "waiting for docker start".into();
            n.waiting = Some(what.clone());
            let rows: Vec<Row> = nodes.iter().map(|n| n.row.clone()).collect();
            display.note(&nodes[idx].facts.name, &what, &rows);
        }
        Msg::Attached { idx, started_at } => {
            let n = &mut nodes[idx];
            n.run_start = started_at;
            n.running = true;
            n.waiting = None;
            if let Some(s) = started_at {
                n.last_progress = n.last_progress.max(s);
            }
        }
        Msg::Exited { idx, code, oom, restarting, restart_count } => {
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
                n.judged(&*analyzer),
                Outcome::Failed | Outcome::Stalled | Outcome::Succeeded
            );
            // Docker counts a restart once it decided on it: with `restarting`, the count is
            // the number of runs that ended so far (earlier ones before the watch included).
            let runs = restart_count.max(i64::from(n.restarts) + 1);
            if bad_or_done {
                n.end = Some(NodeEnd::Verdict);
            } else if !restarting && n.facts.restart_policy == "no" && !matches!(code, 137 | 143) {
                // With a restart policy, Docker may not show `restarting` yet: the follower
                // says `Stopped` once the container stayed down. A container killed by a
                // signal (137 SIGKILL, 143 SIGTERM) waits for that too: `docker rm -f` kills
                // before it removes, and the removal (the follower's `Removed`) is the end.
                n.end = Some(NodeEnd::Exited { code, oom });
            } else if runs >= RESTART_LOOP {
                n.end = Some(NodeEnd::RestartLoop { runs, code: Some(code) });
            }
            n.last_exit = Some((code, oom));
            let rows: Vec<Row> = nodes.iter().map(|n| n.row.clone()).collect();
            display.note(&nodes[idx].facts.name, &note, &rows);
        }
        Msg::Restarted { idx, restart_count } => {
            let n = &mut nodes[idx];
            // A quick loop is seen as restarts only (the follower finds the next run already
            // started): the run that ended did not finish the boot, or the watch had ended.
            let runs = restart_count.max(i64::from(n.restarts) + 1);
            if runs >= RESTART_LOOP && n.end.is_none() {
                n.end = Some(NodeEnd::RestartLoop { runs, code: n.last_exit.map(|e| e.0) });
            }
            n.restarts += 1;
            n.running = true;
            n.phase = None;
            n.settle_since = None;
            n.last_progress = now_ns();
            n.clock = Clock::default();
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
                n.end = Some(match n.judged(&*analyzer) {
                    Outcome::Failed | Outcome::Stalled | Outcome::Succeeded => NodeEnd::Verdict,
                    _ => {
                        let (code, oom) = n.last_exit.unwrap_or((n.facts.exit_code, false));
                        NodeEnd::Exited { code, oom }
                    }
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
                && matches!(n.judged(analyzer), Outcome::Failed | Outcome::Stalled)
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
