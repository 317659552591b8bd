//! The report: the one model every renderer reads, shaped exactly like the JSON of
//! `../shared/diagnosis-contract.md` (schema_version 1). Fields beyond the contract are
//! allowed and marked as such; none of the contract's fields may change meaning.

use serde::{Deserialize, Serialize};

/// The node that stands for the node names beyond the analyzer's cap
/// ([`crate::analyzer::MAX_NODES`]): their lines are analyzed together under this name.
pub const OTHER_NODES: &str = "(other nodes)";

/// JSON schema version of [`Report`].
pub const SCHEMA_VERSION: u32 = 1;

/// Outcome of a node or of the whole run (worst over nodes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// The boot sequence finished.
    Succeeded,
    /// Still booting, healthy so far.
    Running,
    /// Nothing tells how the boot went.
    Unknown,
    /// No progress: waiting forever, restart loops, maintenance mode.
    Stalled,
    /// A sequence failed, or a known failure was seen.
    Failed,
}

impl Outcome {
    /// The contract's word.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Succeeded => "succeeded",
            Outcome::Running => "running",
            Outcome::Unknown => "unknown",
            Outcome::Stalled => "stalled",
            Outcome::Failed => "failed",
        }
    }

    /// Failed or stalled: the cases that need an explanation.
    pub fn is_bad(self) -> bool {
        matches!(self, Outcome::Failed | Outcome::Stalled)
    }
}

/// State of a sequence, phase or task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Finished without error.
    Done,
    /// Returned an error.
    Failed,
    /// Started, never ended.
    Running,
    /// Announced but never started.
    Pending,
    /// Skipped (deferred-check phases, gaps in `n/N`).
    Skipped,
}

/// Node mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// `PLATFORM=container` (Docker, Kubernetes).
    Container,
    /// Bare metal or a VM booted from ISO/PXE with the metal platform.
    Metal,
    /// A cloud or hypervisor platform (aws, vmware, nocloud, …).
    Cloud,
    /// Not enough evidence.
    #[default]
    Unknown,
}

/// Severity of a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Known-benign noise or context.
    Info,
    /// A problem that recovered or does not stop the boot.
    Warning,
    /// A cause of failure.
    Error,
}

impl Severity {
    /// The contract's word.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// The whole report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    /// Always [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The tool that wrote it.
    pub tool: Tool,
    /// Worst outcome over nodes.
    pub outcome: Outcome,
    /// One entry per node seen.
    pub nodes: Vec<NodeReport>,
    /// Most likely root cause first.
    pub findings: Vec<Finding>,
    /// Input statistics.
    pub stats: Stats,
    /// Extension: inputs read, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inputs: Vec<String>,
    /// Extension: when a failure or stall has no known cause, what the tool could see.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unexplained: Vec<Unexplained>,
    /// Extension: warnings about the input (binary data cut, unreadable parts).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// Name and version of the tool.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Tool {
    /// `talos-doctor`.
    pub name: String,
    /// Crate version.
    pub version: String,
}

impl Default for Tool {
    fn default() -> Self {
        Tool { name: "talos-doctor".into(), version: env!("CARGO_PKG_VERSION").into() }
    }
}

/// One node.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NodeReport {
    /// Container name, talosctl node prefix, input name, or `-`.
    pub node: String,
    /// Inferred Talos version (range), if any.
    pub talos_version: Option<String>,
    /// How the version was inferred.
    pub version_evidence: Vec<String>,
    /// Inferred mode.
    pub mode: Mode,
    /// Extension: how the mode was inferred.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mode_evidence: Vec<String>,
    /// Outcome of the diagnosed boot.
    pub outcome: Outcome,
    /// Boots seen.
    pub boots: u32,
    /// Extension: outcomes of earlier boots, oldest first (restart loops).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub earlier_boots: Vec<Outcome>,
    /// Sequences of the diagnosed boot in the order they ran.
    pub sequences: Vec<SequenceReport>,
    /// Where the boot failed.
    pub failure: Option<Failure>,
    /// Extension: where the boot stalled and why the tool thinks so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stall: Option<Stall>,
    /// Extension: failure signals outside the sequencer, open ones first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub health: Vec<HealthSignal>,
    /// Extension: lines attributed to this node.
    #[serde(default)]
    pub lines: u64,
}

/// A sequence.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SequenceReport {
    /// `boot`, `initialize`, …
    pub name: String,
    /// State.
    pub state: State,
    /// `N` from `N phase(s)`, when seen.
    pub phase_count: Option<u32>,
    /// Duration from `done: …`.
    pub duration_ms: Option<f64>,
    /// Phases, in index order, including pending and skipped ones.
    pub phases: Vec<PhaseReport>,
    /// Extension: line of the `sequence: N phase(s)` line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
}

/// A phase.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PhaseReport {
    /// Phase name.
    pub name: String,
    /// 1-based index `n` of `n/N`.
    pub index: u32,
    /// State.
    pub state: State,
    /// Duration from `done, …`.
    pub duration_ms: Option<f64>,
    /// Tasks, in index order.
    pub tasks: Vec<TaskReport>,
    /// Extension: line of the phase start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// Extension: the phase has no line in the input; its state is inferred from the
    /// phases around it (an excerpt).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub inferred: bool,
}

/// A task.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TaskReport {
    /// Task name.
    pub name: String,
    /// 1-based index within the phase.
    pub index: u32,
    /// Times it started in this phase run.
    pub count: u32,
    /// State.
    pub state: State,
    /// Error text of a failed task.
    pub error: Option<String>,
    /// Line of its last event.
    pub line: Option<u64>,
    /// Extension: duration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<f64>,
}

/// Where a boot failed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Failure {
    /// Sequence name.
    pub sequence: String,
    /// Phase name, when known.
    pub phase: Option<String>,
    /// `n/N`.
    pub phase_index: Option<String>,
    /// Failed task.
    pub task: Option<String>,
    /// Error text.
    pub error: Option<String>,
    /// Line of the decisive line.
    pub line: u64,
}

/// Where a boot stalled.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Stall {
    /// Sequence, phase and task that never finished.
    pub sequence: Option<String>,
    /// Phase.
    pub phase: Option<String>,
    /// Task.
    pub task: Option<String>,
    /// Why the tool calls it a stall.
    pub reason: String,
    /// Line where the stalled step started.
    pub line: Option<u64>,
}

impl Stall {
    /// A stall (or failure) known from a signal outside the sequencer: no step to point at.
    pub fn outside_sequence(reason: String, line: u64) -> Stall {
        Stall { sequence: None, phase: None, task: None, reason, line: Some(line) }
    }
}

/// A failure signal outside the sequencer (see `health`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct HealthSignal {
    /// Kind: `service_failed`, `service_restarting`, `panic`, …
    pub kind: String,
    /// Service, controller or other component.
    pub component: String,
    /// First line that reported it.
    pub line: u64,
    /// How many lines reported it.
    pub count: u32,
    /// `open`, or `recovered` when the component was seen healthy again.
    pub state: String,
    /// One sentence.
    pub reason: String,
}

/// One evidence line.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Evidence {
    /// 1-based line number in its input.
    pub line: u64,
    /// The line as given (secrets redacted, escape codes removed).
    pub text: String,
    /// Extension: the input it came from, when there are several.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<String>,
    /// Extension: up to two lines before it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub before: Vec<ContextLine>,
    /// Extension: up to two lines after it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub after: Vec<ContextLine>,
}

/// A context line around evidence.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ContextLine {
    /// Line number.
    pub line: u64,
    /// Text.
    pub text: String,
}

/// A diagnosis.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Finding {
    /// Stable rule id.
    pub id: String,
    /// Taxonomy category.
    pub category: String,
    /// Severity.
    pub severity: Severity,
    /// Node it concerns.
    pub node: String,
    /// One-line title.
    pub title: String,
    /// Why it happened.
    pub root_cause: String,
    /// What to do, in order.
    pub remediation: Vec<String>,
    /// The lines that prove it.
    pub evidence: Vec<Evidence>,
    /// Sources, issues, fixes.
    pub references: Vec<String>,
    /// Stable across runs: rule id plus the masked first evidence line.
    pub fingerprint: String,
    /// Extension: the Talos release that fixed the bug behind it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixed_in: Option<String>,
    /// Extension: how many matching lines were seen in all.
    #[serde(default)]
    pub occurrences: u64,
    /// Extension: in how many boots of the node the rule fired.
    #[serde(default)]
    pub boots: u32,
    /// Extension: the severity was lowered because a later line showed recovery.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub recovered: bool,
}

/// A failure with no matching rule: what the tool can still show.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Unexplained {
    /// Node.
    pub node: String,
    /// Error-looking lines grouped by template, most frequent first.
    pub templates: Vec<Template>,
}

/// Lines that look alike once numbers, ids, addresses and times are masked.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Template {
    /// The masked text.
    pub template: String,
    /// How many lines.
    pub count: u64,
    /// The first such line, with context.
    pub example: Evidence,
    /// Extension: the Talos component and source line that print this message, from the
    /// message catalogue (`kb::messages`), when Talos printed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// Input statistics.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Stats {
    /// Lines read.
    pub lines: u64,
    /// Lines that matched no known envelope or Talos message shape.
    pub unparsed_lines: u64,
    /// Lines that were not valid UTF-8 (decoded lossily).
    pub invalid_utf8_lines: u64,
    /// Lines longer than the limit, cut.
    pub truncated_lines: u64,
    /// Extension: lines with ANSI escape codes (removed).
    #[serde(default)]
    pub ansi_lines: u64,
    /// Extension: bytes read.
    #[serde(default)]
    pub bytes: u64,
    /// Extension: lines recognisably from Talos (its prefix, grammar, fields or a rule).
    #[serde(default)]
    pub talos_lines: u64,
}
