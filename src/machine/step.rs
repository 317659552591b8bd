//! How one line moves the machine: [`Machine::step`] for a parsed message and
//! [`Machine::on_text_signal`] for what its text says about health; new boots, implicit
//! sequences and phases for excerpts, and the failure a failed sequence records.

use super::boot::{Phase, Progress, Sequence, Task};
use super::{
    KEEP_EARLIER_BOOTS, KEEP_FIRST_SEQUENCES, MAX_SEQUENCES, Machine, catalogue, guess_sequence,
};
use crate::health::{SignalKind, TextSignal};
use crate::parse::message::{Message, ServiceLine};
use crate::parse::time::{Stamp, go_duration_ms};
use crate::report::{Failure, State};

/// Sequences in which services are stopped on purpose (reference §2.2–2.3).
const STOP_SEQUENCES: &[&str] = &[
    "shutdown",
    "reboot",
    "reset",
    "upgrade",
    "stageUpgrade",
    "maintenanceUpgrade",
    "emergencyVolumeCleanup",
];

/// `str::contains` builds its searcher on every call; this runs on every service line.
static GOING_TO_RESTART: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
    std::sync::LazyLock::new(|| memchr::memmem::Finder::new("going to restart"));

/// The service runner's message for a passed health check (and nothing else).
const HEALTH_OK: &str = "Health check successful";

/// Up to this many services a service line's entry is found by a scan (see there).
const SCANNED_SERVICES: usize = 16;

/// Distinct tasks kept per phase (Talos' phases have at most a few dozen).
const MAX_TASKS_PER_PHASE: usize = 256;
/// The row that stands for the tasks beyond [`MAX_TASKS_PER_PHASE`].
const MORE_TASKS: &str = "(more tasks)";

/// Two consecutive lines of a node further apart than this in log time are on either side of
/// a clock change, not of a wait: a node that waits logs more often than once a month.
const CLOCK_JUMP_FORWARD_SECS: f64 = 30.0 * 86_400.0;
/// A clock that goes back by more than this between two lines was set back.
const CLOCK_JUMP_BACK_SECS: f64 = 3_600.0;

impl Machine {
    fn new_boot(&mut self, line: u64, out: &mut Vec<Progress>) {
        let old = std::mem::take(&mut self.boot);
        self.earlier.push(old);
        if self.earlier.len() > KEEP_EARLIER_BOOTS {
            self.earlier.remove(0);
            self.dropped_boots += 1;
        }
        self.boot.first_line = line;
        out.push(Progress::Boot { node: self.node.clone(), n: self.boots() });
    }

    /// Adds a sequence to the boot, first dropping one when it holds [`MAX_SEQUENCES`].
    fn push_sequence(&mut self, seq: Sequence) -> usize {
        let seqs = &mut self.boot.sequences;
        if seqs.len() >= MAX_SEQUENCES {
            let done = |s: &Sequence| s.state == State::Done;
            let repeated = (KEEP_FIRST_SEQUENCES..seqs.len()).find(|&i| {
                done(&seqs[i]) && seqs[i + 1..].iter().any(|l| done(l) && l.name == seqs[i].name)
            });
            if let Some(i) = repeated {
                seqs.remove(i);
                self.boot.dropped_sequences += 1;
            }
        }
        self.boot.sequences.push(seq);
        self.boot.sequences.len() - 1
    }

    fn current_seq(&mut self) -> Option<usize> {
        self.boot.sequences.iter().rposition(|s| s.state == State::Running)
    }

    fn ensure_seq(&mut self, name_hint: &str, total: Option<u32>, line: u64) -> usize {
        if let Some(i) = self.current_seq() {
            let s = &mut self.boot.sequences[i];
            if s.name.is_empty() && !name_hint.is_empty() {
                s.name = name_hint.to_owned();
            }
            if s.total.is_none() {
                s.total = total;
            }
            return i;
        }
        let _ = line;
        self.push_sequence(Sequence {
            name: name_hint.to_owned(),
            total,
            state: State::Running,
            duration_ms: None,
            phases: Vec::new(),
            line: None,
        })
    }

    /// Index of the running phase of sequence `si`, creating a nameless one if none runs.
    fn ensure_phase(&mut self, si: usize, line: u64) -> usize {
        let seq = &mut self.boot.sequences[si];
        if let Some(pi) = seq.phases.iter().rposition(|p| p.state == State::Running) {
            return pi;
        }
        seq.phases.push(Phase::running(String::new(), 0, line, None));
        seq.phases.len() - 1
    }

    /// Finds (or adopts, or creates) phase `index` of sequence `si` for an end line.
    fn phase_for_end(&mut self, si: usize, name: &str, index: u32, line: u64) -> usize {
        let seq = &mut self.boot.sequences[si];
        if let Some(pi) = seq.phases.iter().rposition(|p| p.index == index && p.name == name) {
            return pi;
        }
        if let Some(pi) = seq.phases.iter().rposition(|p| p.index == 0 && p.state == State::Running)
        {
            let p = &mut seq.phases[pi];
            p.name = name.to_owned();
            p.index = index;
            return pi;
        }
        seq.phases.push(Phase::running(name, index, line, None));
        seq.phases.len() - 1
    }

    fn progress(&mut self, line: u64, time: Option<Stamp>) {
        self.boot.last_progress = time.or(self.boot.last_progress);
        self.boot.last_progress_line = line;
    }

    fn task_mut(&mut self, si: usize, pi: usize, name: &str, index: u32, line: u64) -> &mut Task {
        let tasks = &mut self.boot.sequences[si].phases[pi].tasks;
        let ti = match tasks.iter().position(|t| t.index == index && t.name == name) {
            Some(ti) => ti,
            // Talos phases have a few tasks; a log that names thousands (hostile or garbled)
            // shares one row beyond the cap, so every later line stays a bounded scan.
            None if tasks.len() >= MAX_TASKS_PER_PHASE => {
                match tasks.iter().position(|t| t.index == u32::MAX) {
                    Some(ti) => ti,
                    None => {
                        tasks.push(Task {
                            name: MORE_TASKS.to_owned(),
                            index: u32::MAX,
                            state: State::Running,
                            error: None,
                            line,
                            duration_ms: None,
                            count: 0,
                        });
                        tasks.len() - 1
                    }
                }
            }
            None => {
                tasks.push(Task {
                    name: name.to_owned(),
                    index,
                    state: State::Running,
                    error: None,
                    line,
                    duration_ms: None,
                    count: 0,
                });
                tasks.sort_by_key(|t| t.index);
                tasks.iter().position(|t| t.index == index && t.name == name).unwrap_or(0)
            }
        };
        &mut tasks[ti]
    }

    /// A task's own message (task logger) shows the task running. When an excerpt skipped
    /// its phase start, the phase it belongs to has started and the earlier one finished.
    fn note_task_running(&mut self, name: &str, index: u32, line: u64, time: Option<Stamp>) {
        let Some(si) = self.current_seq() else { return };
        let seq = &mut self.boot.sequences[si];
        let running = seq.phases.iter().rposition(|p| p.state == State::Running);
        if let Some(pi) = running {
            if seq.phases[pi].tasks.iter().any(|t| t.name == name) {
                return;
            }
        }
        let Some(phase) = catalogue::builtin().phase_of_task(name) else { return };
        if let Some(pi) = running {
            let p = &mut seq.phases[pi];
            if p.name == phase || p.name.is_empty() {
                if p.name.is_empty() {
                    p.name = phase.to_owned();
                }
            } else {
                p.state = State::Done;
                seq.phases.push(Phase::running(phase.to_owned(), 0, line, time));
            }
        } else if seq.phases.iter().any(|p| p.name == phase) {
            return;
        } else {
            seq.phases.push(Phase::running(phase.to_owned(), 0, line, time));
        }
        let pi = self.boot.sequences[si].phases.len() - 1;
        let t = self.task_mut(si, pi, name, index, line);
        t.count = t.count.max(1);
    }

    /// Feeds one parsed line; `task_hint` is the task-logger prefix (`task X (n/m): `) of
    /// the line, if any. What other texts say about health arrives through
    /// [`Machine::on_text_signal`].
    pub(crate) fn step(
        &mut self,
        line: u64,
        time: Option<Stamp>,
        msg: &Message<'_>,
        task_hint: Option<(&str, u32)>,
    ) -> Vec<Progress> {
        let mut out = Vec::new();
        let hint = match *msg {
            Message::TaskLog { name, index, .. } => Some((name, index)),
            _ => task_hint,
        };
        if let Some((name, index)) = hint {
            self.note_task_running(name, index, line, time);
        }
        if self.boot.first_line == 0 {
            self.boot.first_line = line;
        }
        if time.is_some() {
            // A clock set at boot (NTP after an RTC years off, a VM resumed) moves the log's
            // time between two lines: a stall is measured in log time only where the clock
            // runs on, so measure it from the jump onward.
            if let (Some(Stamp::Wall(new)), Some(Stamp::Wall(old))) = (time, self.boot.last_time) {
                if (new - old > CLOCK_JUMP_FORWARD_SECS || old - new > CLOCK_JUMP_BACK_SECS)
                    && self.boot.last_progress.is_some()
                {
                    self.boot.last_progress = time;
                }
            }
            self.boot.last_time = time;
        }
        match *msg {
            Message::Booting { version } => {
                if !self.boot.sequences.is_empty() {
                    self.new_boot(line, &mut out);
                }
                self.banner_version = Some((version.to_owned(), line));
            }
            Message::SequenceStart { name, phases } => {
                let restart = match name {
                    "initialize" => !self.boot.sequences.is_empty(),
                    // An excerpt without initialize: a second boot sequence is a new boot.
                    "boot" => self.boot.sequences.iter().any(|s| s.name == "boot"),
                    _ => false,
                };
                if restart {
                    self.new_boot(line, &mut out);
                }
                // A sequence that starts while another is marked running: the earlier one's
                // end line was not in the input; it did not fail (Talos stops on failure).
                if let Some(i) = self.current_seq() {
                    let s = &mut self.boot.sequences[i];
                    if !s.name.is_empty() && s.name != name {
                        s.state = State::Done;
                    }
                }
                self.push_sequence(Sequence {
                    name: name.to_owned(),
                    total: Some(phases),
                    state: State::Running,
                    duration_ms: None,
                    phases: Vec::new(),
                    line: Some(line),
                });
                self.progress(line, time);
                out.push(Progress::SequenceStarted {
                    node: self.node.clone(),
                    name: name.to_owned(),
                    phases,
                });
            }
            Message::SequenceDone { name, .. } | Message::SequenceFailed { name } => {
                let failed = matches!(msg, Message::SequenceFailed { .. });
                let dur = if failed { None } else { go_duration_ms(duration_of(msg)) };
                let si = match self
                    .boot
                    .sequences
                    .iter()
                    .rposition(|s| s.name == name && s.state == State::Running)
                {
                    Some(i) => i,
                    None => self.ensure_seq(name, None, line),
                };
                let seq = &mut self.boot.sequences[si];
                seq.name = name.to_owned();
                seq.state = if failed { State::Failed } else { State::Done };
                seq.duration_ms = dur;
                for p in &mut seq.phases {
                    if p.state == State::Running {
                        p.state = if failed { State::Failed } else { State::Done };
                    }
                }
                // A finished sequence rarely grows again; a long log keeps hundreds of them,
                // so each gives back the room its vectors grew into.
                for p in &mut seq.phases {
                    p.tasks.shrink_to_fit();
                }
                seq.phases.shrink_to_fit();
                let state = seq.state;
                if !failed && name == "boot" {
                    self.boot.health.on_healthy(line);
                }
                if failed && self.boot.failure.is_none() {
                    self.boot.failure = Some(failure_of(seq, line));
                }
                self.progress(line, time);
                out.push(Progress::SequenceFinished {
                    node: self.node.clone(),
                    name: name.to_owned(),
                    state,
                });
            }
            Message::PhaseStart { name, index, total, .. } => {
                let si = self.ensure_seq(guess_sequence(name), Some(total), line);
                let seq = &mut self.boot.sequences[si];
                for p in &mut seq.phases {
                    if p.state == State::Running && p.index != 0 {
                        p.state = State::Done;
                    }
                }
                // Tasks already seen without their phase belong to it.
                let pi = seq.phases.iter().rposition(|p| p.index == 0 && p.state == State::Running);
                match pi {
                    Some(pi) => {
                        let p = &mut seq.phases[pi];
                        p.name = name.to_owned();
                        p.index = index;
                        p.started = time;
                        p.line = Some(line);
                    }
                    None => seq.phases.push(Phase::running(name, index, line, time)),
                }
                let sequence = seq.name.clone();
                self.progress(line, time);
                out.push(Progress::PhaseStarted {
                    node: self.node.clone(),
                    sequence,
                    name: name.to_owned(),
                    index,
                    total,
                });
            }
            Message::PhaseDone { name, index, total, .. }
            | Message::PhaseFailed { name, index, total } => {
                let failed = matches!(msg, Message::PhaseFailed { .. });
                let si = self.ensure_seq(guess_sequence(name), Some(total), line);
                let pi = self.phase_for_end(si, name, index, line);
                let seq = &mut self.boot.sequences[si];
                let p = &mut seq.phases[pi];
                p.state = if failed { State::Failed } else { State::Done };
                if let Message::PhaseDone { duration, .. } = msg {
                    p.duration_ms = go_duration_ms(duration);
                }
                if failed {
                    for t in &mut p.tasks {
                        if t.state == State::Running {
                            // Siblings of a failed task are cancelled (v1.2+ errgroup ctx).
                            t.state = State::Failed;
                            t.error.get_or_insert_with(|| "cancelled".to_owned());
                        }
                    }
                }
                let sequence = seq.name.clone();
                self.progress(line, time);
                out.push(Progress::PhaseFinished {
                    node: self.node.clone(),
                    sequence,
                    name: name.to_owned(),
                    index,
                    total,
                    state: if failed { State::Failed } else { State::Done },
                });
            }
            Message::TaskStart { name, index, .. } => {
                let si = self.ensure_seq("", None, line);
                let pi = self.ensure_phase(si, line);
                let t = self.task_mut(si, pi, name, index, line);
                t.count += 1;
                t.state = State::Running;
                t.line = line;
                self.progress(line, time);
            }
            Message::TaskDone { name, index, duration, .. } => {
                let si = self.ensure_seq("", None, line);
                let pi = self.ensure_phase(si, line);
                let t = self.task_mut(si, pi, name, index, line);
                // A failed task stays failed: two writers interleaving on a console (v0.x
                // printed each record twice) can show its `done` after its `failed`.
                if t.state != State::Failed {
                    t.state = State::Done;
                }
                t.duration_ms = go_duration_ms(duration);
                t.line = line;
                self.progress(line, time);
            }
            Message::TaskFailed { name, index, error, .. } => {
                let si = self.ensure_seq("", None, line);
                let pi = self.ensure_phase(si, line);
                let t = self.task_mut(si, pi, name, index, line);
                t.state = State::Failed;
                t.error = (!error.is_empty()).then(|| error.to_owned());
                t.line = line;
                self.progress(line, time);
            }
            Message::SequenceError { phase, sequence, error } if self.boot.failure.is_none() => {
                // Only the handler's summary survived (an excerpt): `task 1/1: failed, X`.
                let err = error.split_once(": failed, ").map_or(error, |(_, e)| e);
                self.boot.failure = Some(Failure {
                    sequence: sequence.to_owned(),
                    phase: None,
                    phase_index: Some(phase.to_string()),
                    task: None,
                    error: Some(err.to_owned()),
                    line,
                });
            }
            Message::FatalSequencer { sequence, error } if self.boot.failure.is_none() => {
                self.boot.failure = Some(Failure {
                    sequence: sequence.to_owned(),
                    phase: None,
                    phase_index: None,
                    task: None,
                    error: Some(error.to_owned()),
                    line,
                });
            }
            Message::Service(ServiceLine { name, state, text }) => {
                // Service lines are frequent (health checks): no allocation for a known name
                // or an unchanged state.
                let services = &mut self.boot.services;
                // A node runs a dozen services: a scan that compares lengths first finds one
                // with fewer byte compares than the tree's ordered search (the same entry).
                let found = if services.len() <= SCANNED_SERVICES && !crate::memo::plain() {
                    services.iter_mut().find(|(k, _)| k.as_str() == name).map(|(_, s)| s)
                } else {
                    services.get_mut(name)
                };
                let s = match found {
                    Some(s) => s,
                    None => services.entry(name.to_string()).or_default(),
                };
                if s.state != *state {
                    state.clone_into(&mut s.state);
                }
                // The runner's health check, most lines of a long log: that exact text is
                // known to say none of the other things looked for below.
                let health_ok = text == HEALTH_OK && !crate::memo::plain();
                if !health_ok && crate::parse::contains(&GOING_TO_RESTART, text.as_bytes()) {
                    s.restarts += 1;
                    s.last_restart_line = Some(line);
                } else if health_ok
                    || text.starts_with(HEALTH_OK)
                    || (state == "Running" && text.starts_with("Started"))
                {
                    s.restarts = 0;
                }
                if let Some(w) = text.strip_prefix("Waiting for ").filter(|_| !health_ok) {
                    s.waiting_for = Some(w.to_owned());
                }
                if state == "Failed" {
                    s.failed = true;
                }
                let boot = &mut self.boot;
                let (rebooting, failure, sequences) =
                    (boot.rebooting, boot.failure.is_some(), &boot.sequences);
                let stopping = || {
                    rebooting
                        || failure
                        || sequences.iter().any(|s| {
                            s.state == State::Failed
                                || (s.state == State::Running
                                    && STOP_SEQUENCES.contains(&s.name.as_str()))
                        })
                };
                boot.health.on_service(line, name, state, text, stopping);
            }
            Message::RebootCountdown { .. } => self.boot.rebooting = true,
            _ => {}
        }
        out
    }

    /// What the text of a line says about health (see [`health::classify`]).
    pub(crate) fn on_text_signal(
        &mut self,
        line: u64,
        signal: &TextSignal,
        component: Option<&str>,
        text: &str,
    ) {
        match signal {
            TextSignal::Trouble(kind, named) => {
                let comp = named.as_deref().or(component).unwrap_or(match kind {
                    SignalKind::Panic => "machined",
                    _ => "talos",
                });
                if *kind == SignalKind::Maintenance {
                    self.boot.maintenance.get_or_insert(line);
                }
                self.boot.health.on_signal(line, *kind, comp, text);
            }
            TextSignal::ConfigLoaded => {
                self.boot.maintenance = None;
                self.boot.health.on_config_loaded(line);
            }
            TextSignal::Healthy => self.boot.health.on_healthy(line),
        }
    }
}

fn duration_of<'a>(msg: &Message<'a>) -> &'a str {
    match *msg {
        Message::SequenceDone { duration, .. } => duration,
        _ => "",
    }
}

fn failure_of(seq: &Sequence, line: u64) -> Failure {
    let phase = seq.phases.iter().rev().find(|p| p.state == State::Failed);
    let task = phase.and_then(|p| {
        p.tasks
            .iter()
            .filter(|t| t.state == State::Failed && t.error.as_deref() != Some("cancelled"))
            .min_by_key(|t| t.line)
    });
    Failure {
        sequence: seq.name.clone(),
        phase: phase.map(|p| p.name.clone()).filter(|n| !n.is_empty()),
        phase_index: phase
            .filter(|p| p.index > 0)
            .map(|p| format!("{}/{}", p.index, seq.total.unwrap_or(0))),
        task: task.map(|t| t.name.clone()),
        error: task.and_then(|t| t.error.clone()),
        line: task.map_or(line, |t| t.line),
    }
}
