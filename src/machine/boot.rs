//! The records the machine keeps per boot: sequences, phases, tasks, services, and the
//! [`Progress`] changes it reports live. The machine fills them; the verdict and the
//! report read them.

use std::collections::BTreeMap;

use crate::health::Health;
use crate::parse::time::Stamp;
use crate::report::{Failure, State};

/// A task within a phase.
#[derive(Debug, Clone)]
pub(crate) struct Task {
    /// Name.
    pub(crate) name: String,
    /// Index within the phase.
    pub(crate) index: u32,
    /// State.
    pub(crate) state: State,
    /// Error of a failed task.
    pub(crate) error: Option<String>,
    /// Line of the last event.
    pub(crate) line: u64,
    /// Duration.
    pub(crate) duration_ms: Option<f64>,
    /// Starts seen.
    pub(crate) count: u32,
}

/// A phase of a sequence.
#[derive(Debug, Clone)]
pub(crate) struct Phase {
    /// Name; empty while only its tasks have been seen.
    pub(crate) name: String,
    /// 1-based index; 0 while unknown.
    pub(crate) index: u32,
    /// State.
    pub(crate) state: State,
    /// Duration.
    pub(crate) duration_ms: Option<f64>,
    /// Tasks by index.
    pub(crate) tasks: Vec<Task>,
    /// Line of the phase start.
    pub(crate) line: Option<u64>,
    /// Time it started.
    pub(crate) started: Option<Stamp>,
}

impl Phase {
    /// A phase that has just been seen running.
    pub(super) fn running(
        name: impl Into<String>,
        index: u32,
        line: u64,
        started: Option<Stamp>,
    ) -> Phase {
        Phase {
            name: name.into(),
            index,
            state: State::Running,
            duration_ms: None,
            tasks: Vec::new(),
            line: Some(line),
            started,
        }
    }
}

/// A sequence run.
#[derive(Debug, Clone)]
pub(crate) struct Sequence {
    /// Name; empty while only its phases or tasks have been seen.
    pub(crate) name: String,
    /// Announced phase count.
    pub(crate) total: Option<u32>,
    /// State.
    pub(crate) state: State,
    /// Duration.
    pub(crate) duration_ms: Option<f64>,
    /// Phases in the order they started.
    pub(crate) phases: Vec<Phase>,
    /// Line of the start line.
    pub(crate) line: Option<u64>,
}

/// What a service did.
#[derive(Debug, Clone, Default)]
pub(crate) struct ServiceTrack {
    /// Last state.
    pub(crate) state: String,
    /// `going to restart` lines since the service was last healthy.
    pub(crate) restarts: u32,
    /// Line of the last restart message.
    pub(crate) last_restart_line: Option<u64>,
    /// Last `Waiting for …` text.
    pub(crate) waiting_for: Option<String>,
    /// Entered state Failed.
    pub(crate) failed: bool,
}

/// One boot of a node.
#[derive(Debug, Clone, Default)]
pub(crate) struct Boot {
    /// Sequences in the order they started.
    pub(crate) sequences: Vec<Sequence>,
    /// First line of the boot.
    pub(crate) first_line: u64,
    /// Where it failed.
    pub(crate) failure: Option<Failure>,
    /// Services.
    pub(crate) services: BTreeMap<String, ServiceTrack>,
    /// In maintenance mode (no config yet), and since which line.
    pub(crate) maintenance: Option<u64>,
    /// Log time of the last sequencer progress.
    pub(crate) last_progress: Option<Stamp>,
    /// Line of the last sequencer progress.
    pub(crate) last_progress_line: u64,
    /// Last time seen on any line.
    pub(crate) last_time: Option<Stamp>,
    /// A reboot countdown was seen (the machine is going down).
    pub(crate) rebooting: bool,
    /// A stall decided outside the log (live `watch`: no progress for its stall timeout).
    pub(crate) declared_stall: Option<String>,
    /// Failure signals outside the sequencer (services, panics, controllers, clock).
    pub(crate) health: Health,
    /// Finished sequences not kept, past [`super::MAX_SEQUENCES`].
    pub(crate) dropped_sequences: u64,
}

/// A change worth showing live.
#[derive(Debug, Clone, PartialEq)]
pub enum Progress {
    /// A new boot of a node began (restart loops).
    Boot {
        /// Node.
        node: String,
        /// Boot number, 1-based.
        n: u32,
    },
    /// A sequence started.
    SequenceStarted {
        /// Node.
        node: String,
        /// Sequence name.
        name: String,
        /// Announced phases.
        phases: u32,
    },
    /// A phase started.
    PhaseStarted {
        /// Node.
        node: String,
        /// Sequence name.
        sequence: String,
        /// Phase name.
        name: String,
        /// Index.
        index: u32,
        /// Total.
        total: u32,
    },
    /// A phase ended.
    PhaseFinished {
        /// Node.
        node: String,
        /// Sequence name.
        sequence: String,
        /// Phase name.
        name: String,
        /// Index.
        index: u32,
        /// Total.
        total: u32,
        /// Done or failed.
        state: State,
    },
    /// A sequence ended.
    SequenceFinished {
        /// Node.
        node: String,
        /// Sequence name.
        name: String,
        /// Done or failed.
        state: State,
    },
}
